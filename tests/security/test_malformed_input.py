"""Regression tests for issue 10, defect 7 (and the Slack logging part of 4), on the running gateway.

Reported: JSON nested >= 1,000 deep in free-form fields was an HTTP 500 (RecursionError) on Kakao and
web; unauthenticated Slack requests were a 500 for a non-JSON or array body with a JSON content type,
`payload=notjson`, deep nesting and `X-Slack-Request-Timestamp: abc`; bolt logged a refused request's
whole raw body. The depth guard itself (core/jsondepth.py) is checked against a reference depth.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from core.jsondepth import MAX_DEPTH, too_deep
from core.logging import configure_logging
from tests.kakao.conftest import skill_payload
from tests.security.test_fuzz_endpoints import API, KAKAO_SECRET, ORIGIN, Answer, Req, Target, fuzz_gateway, send
from tests.slack.conftest import event_body, signed_headers

# --- the depth guard ------------------------------------------------------------------------------


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_TRICKY_TEXT = st.text(alphabet=st.sampled_from('ab"\\[]{}한\x00'), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_TRICKY_TEXT, children, max_size=3),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(value=_JSON, limit=st.integers(min_value=0, max_value=8), ascii_only=st.booleans())
def test_too_deep_agrees_with_the_decoded_depth(value: Any, limit: int, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert too_deep(text, limit) == (_depth(value) > limit)
    assert too_deep(text.encode(), limit) == (_depth(value) > limit)


@pytest.mark.parametrize(
    ("raw", "deep"),
    [
        (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, False),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), True),
        (b"[" * 5000, True),  # unterminated
        (b'["' + b"[" * 5000 + b'"]', False),  # brackets inside a string
        (b'["\\"' + b"[" * 5000 + b'"]', False),  # ... after an escaped quote
        (b'["\\\\"' + b"[" * 5000, True),  # an escaped backslash closes the string: these count
        (b'"' + b"[" * 5000, False),  # an unterminated string runs to the end
        (b"]" * 5000 + b"[" * 10, False),  # stray closers: a decoder stops at the first one
        (b'{"a":' * 100 + b"1" + b"}" * 100, True),
    ],
)
def test_too_deep_edge_cases(raw: bytes, deep: bool) -> None:
    assert too_deep(raw) is deep


def test_too_deep_is_linear() -> None:
    wide = b"[" + b'{"a":"b"},' * 100_000 + b"1]"  # 1 MB of shallow brackets and strings
    quotes = b'"' + b'\\"' * 500_000  # 1 MB of escaped quotes in one unterminated string
    started = time.perf_counter()
    assert not too_deep(wide)
    assert not too_deep(quotes)
    assert too_deep(b"[" * 1_000_000)
    assert time.perf_counter() - started < 1.0  # ~40 ms measured; quadratic would be minutes


# --- Kakao and web ---------------------------------------------------------------------------------


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _json_reason(answer: Answer) -> dict[str, Any]:
    assert answer.headers[b"content-type"].startswith(b"application/json"), answer
    doc: dict[str, Any] = json.loads(answer.body)
    return doc


def _kakao(body: bytes) -> Req:
    headers = [(b"content-type", b"application/json"), (b"x-sangdam-secret", KAKAO_SECRET.encode())]
    return Req("POST", "/kakao/skill", headers, body)


def _web_message(target: Target, body: bytes) -> Req:
    headers = [
        (b"content-type", b"application/json"),
        (b"origin", ORIGIN.encode()),
        (b"authorization", b"Bearer " + target.tokens[0].encode()),
    ]
    return Req("POST", f"{API}/messages", headers, body)


async def test_deep_nesting_is_a_400_on_kakao_and_web() -> None:
    async with fuzz_gateway() as target:
        for field in ("params", "clientExtra"):
            for depth in (1000, 5000):
                payload = skill_payload("안녕하세요", user="deep-user")
                if field == "params":
                    payload["userRequest"]["params"] = {"media": "__deep__"}
                else:
                    payload["action"]["clientExtra"] = {"sangdam": "__deep__"}
                raw = json.dumps(payload).replace('"__deep__"', _deep(depth)).encode()
                answer = await send(target, _kakao(raw))
                assert answer.status == 400, (field, depth, answer)
                reason = _json_reason(answer)
                assert reason["error"] == "bad_request" and "nested more than 64 levels" in reason["detail"]

        for depth in (1000, 5000):
            raw = b'{"id": "msg-deep-0001", "text": "hi", "unknown": ' + _deep(depth).encode() + b"}"
            answer = await send(target, _web_message(target, raw))
            assert answer.status == 400, (depth, answer)
            reason = _json_reason(answer)
            assert reason["error"] == "bad_request" and "more than 64 levels" in reason["detail"]

        # Realistic nesting still works on both.
        payload = skill_payload("안녕하세요", user="shallow-user", client_extra={"a": [[[{"b": 1}]]]})
        assert (await send(target, _kakao(json.dumps(payload).encode()))).status == 200
        shallow = b'{"id": "msg-deep-0002", "text": "hi", "unknown": ' + _deep(20).encode() + b"}"
        assert (await send(target, _web_message(target, shallow))).status == 200


# --- Slack ------------------------------------------------------------------------------------------


def _slack(body: bytes, content_type: bytes, headers: dict[str, str] | None = None) -> Req:
    sent = [(b"content-type", content_type)]
    sent += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return Req("POST", "/slack/events", sent, body)


_UNSIGNED = {"X-Slack-Request-Timestamp": "0", "X-Slack-Signature": "v0=" + "0" * 64}  # unsigned


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "reason"),
    [
        pytest.param(b"not json", b"application/json", _UNSIGNED, "the body is not valid JSON", id="non-json"),
        pytest.param(b'[{"type": "event_callback"}]', b"application/json", _UNSIGNED, "got an array", id="array"),
        pytest.param(
            b"payload=notjson",
            b"application/x-www-form-urlencoded",
            _UNSIGNED,
            "the form field `payload` is not valid JSON",
            id="payload-notjson",
        ),
        pytest.param(
            ('{"type": "event_callback", "event": ' + _deep(5000) + "}").encode(),
            b"application/json",
            _UNSIGNED,
            "nests JSON more than 64 levels deep",
            id="deep",
        ),
        pytest.param(
            b'{"type": "url_verification", "challenge": "x"}',
            b"application/json",
            {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64},
            "X-Slack-Request-Timestamp must be",
            id="timestamp-abc",
        ),
    ],
)
async def test_malformed_slack_requests_are_a_400_with_the_reason(
    body: bytes, content_type: bytes, headers: dict[str, str], reason: str
) -> None:
    signed_variant = {**signed_headers(body), **({"X-Slack-Request-Timestamp": "abc"} if "Timestamp" in reason else {})}
    async with fuzz_gateway() as target:
        answer = await send(target, _slack(body, content_type, headers))
        signed = await send(target, _slack(body, content_type, signed_variant))
    for response in (answer, signed):
        assert response.status == 400, response
        doc = _json_reason(response)
        assert doc["error"] == "bad_request" and reason in doc["detail"], doc


async def test_a_bad_signature_on_a_well_formed_request_is_still_401() -> None:
    body = json.dumps(event_body({"type": "app_mention", "text": "hi", "channel": "C1", "ts": "1.1"}, "Ev1"))
    async with fuzz_gateway() as target:
        forged = await send(
            target, _slack(body.encode(), b"application/json", signed_headers(body.encode(), secret="x"))
        )
        good = await send(
            target,
            _slack(
                b'{"type": "url_verification", "challenge": "c-123", "token": "t"}',
                b"application/json",
                signed_headers(b'{"type": "url_verification", "challenge": "c-123", "token": "t"}'),
            ),
        )
    assert forged.status == 401
    assert _json_reason(forged)["error"] == "invalid_signature"
    assert good.status == 200 and b"c-123" in good.body


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Leave the process's logging as it was for the other test files."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "litestar"]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in map(logging.getLogger, names)]
    yield
    structlog.reset_defaults()
    for lg, handlers, level, propagate, disabled in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate, lg.disabled = propagate, disabled


@pytest.mark.usefixtures("restore_logging")
async def test_a_refused_slack_request_is_logged_in_one_short_line_without_its_body() -> None:
    marker = "CUSTOMER-SECRET-MARKER"
    event = {"type": "message", "text": f"{marker} 제 번호는 010-2345-6789", "channel": "C1", "ts": "1.1"}
    body = json.dumps(event_body(event, "EvLog") | {"filler": "z" * 200_000}).encode()
    form = urlencode({"payload": json.dumps({"type": "block_actions", "note": marker})}).encode()
    log_stream = io.StringIO()
    async with fuzz_gateway() as target:
        # Configured here: the stand-in Slack API (a Litestar app with its default logging) resets the root.
        configure_logging("INFO", stream=log_stream)
        forged = await send(target, _slack(body, b"application/json", signed_headers(body, secret="not-it")))
        forged_form = await send(target, _slack(form, b"application/x-www-form-urlencoded", _UNSIGNED))
    assert forged.status == 401 and forged_form.status == 401
    output = log_stream.getvalue()
    assert marker not in output and "zzzzzzzzzz" not in output
    refused = [json.loads(line) for line in output.splitlines() if "slack_request_refused" in line]
    assert len(refused) == 2, output[-2000:]
    assert all(len(json.dumps(line)) < 600 for line in refused)
    assert f"{len(body)} characters of body not logged" in refused[0]["event"]
