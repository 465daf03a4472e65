"""Fuzzing the running gateway: every endpoint gets thousands of hostile requests and never answers 5xx.

The real composition root (Kakao, web and Slack channels; Slack against the stand-in Web API of
tests/slack/conftest.py) is served by uvicorn on loopback. A seeded generator sends each endpoint
REQUESTS_PER_ENDPOINT requests: odd methods and content types, valid-looking payloads with fields
mutated to wrong types, JSON nested up to 5,000 deep, huge strings, invalid UTF-8, NUL bytes, arrays,
numbers, empty bodies, and odd headers (bad timestamps, signatures, secrets, tokens and origins; a good
share of requests carry valid credentials so that the parsers behind them are reached too).

Every answer must come within REQUEST_TIMEOUT_S, be below 500, and a 4xx must say what is wrong (a JSON
object with `detail` or `error`; the Slack route may answer plain text). At the end /healthz still
answers. Requests go over raw HTTP/1.1 connections (16 at a time): a client library refuses or rewrites
part of what an attacker sends, and httpx took ~3 s per 2,000 requests here against ~0.6 s.

Set SANGDAM_FUZZ_SEED to replay another sequence; the seed is in the failure message.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from adapters.web.token import TokenSigner
from core.settings import DEMO_BOT, Settings
from sangdam.app import Gateway, build_app, build_gateway
from tests.asgi_server import serve
from tests.kakao.conftest import skill_payload
from tests.slack.conftest import (
    APP_TOKEN,
    BOT_TOKEN,
    PILOT,
    SIGNING_SECRET,
    TEAM,
    SlackApiStandIn,
    event_body,
)

REQUESTS_PER_ENDPOINT = 2000
CONCURRENCY = 16
REQUEST_TIMEOUT_S = 5.0
EXPECT_CONTINUE_BYTES = 64 * 1024
SEED = int(os.environ.get("SANGDAM_FUZZ_SEED", "20261207"))

KAKAO_SECRET_ENV = "SANGDAM_KAKAO_SECRET_FOR_FUZZ"
KAKAO_SECRET = "kakao-fuzz-secret"
WEB_SECRET_ENV = "SANGDAM_WEB_SECRET_FOR_FUZZ"
WEB_SECRET = "fuzz-web-secret-0123456789-abcdefghijklmnop"
ORIGIN = "https://shop.example"
API = "/web/api"


# --- the gateway under test -----------------------------------------------------------------------


@dataclass
class Target:
    gateway: Gateway
    host: str
    port: int
    tokens: list[str] = field(default_factory=list)  # valid visitor tokens


@asynccontextmanager
async def fuzz_gateway() -> AsyncIterator[Target]:
    """Kakao (with a secret), web (with an origin allow-list) and Slack (HTTP mode) in one gateway."""
    standin = SlackApiStandIn()
    async with serve(standin.app()) as api_url:
        standin.base_url = api_url
        raw: dict[str, Any] = {
            "bot": DEMO_BOT,
            "channels": {
                "kakao": {
                    "enabled": True,
                    "secret_env": KAKAO_SECRET_ENV,
                    "callback_allow_hosts": ["callback.fuzz.invalid"],  # never a real host
                },
                "web": {
                    "enabled": True,
                    "secret_env": WEB_SECRET_ENV,
                    "allowed_origins": [ORIGIN],
                    "rate_limit": 1_000_000,  # let messages reach the parser and the engine
                    "sessions_per_ip": 1_000_000,
                },
                "slack": {
                    "enabled": True,
                    "api_base_url": standin.api_url,
                    "pilot_channels": [PILOT],
                    "post_rate_per_s": 1000.0,
                    "post_burst": 100,
                },
            },
        }
        env = {
            KAKAO_SECRET_ENV: KAKAO_SECRET,
            WEB_SECRET_ENV: WEB_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": APP_TOKEN,
        }
        gateway = build_gateway(msgspec.convert(raw, Settings), env)
        async with serve(build_app(gateway)) as url:
            host, port = url.removeprefix("http://").rsplit(":", 1)
            target = Target(gateway, host, int(port))
            for _ in range(3):
                answer = await send(target, Req("POST", f"{API}/sessions", [(b"origin", ORIGIN.encode())], b"{}"))
                assert answer.status == 201, answer
                target.tokens.append(json.loads(answer.body)["token"])
            yield target


# --- a raw HTTP/1.1 client ------------------------------------------------------------------------


@dataclass
class Req:
    method: str
    path: str
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def describe(self) -> str:
        headers = {k.decode("latin-1"): v[:80].decode("latin-1") for k, v in self.headers}
        return f"{self.method} {self.path[:120]} headers={headers} body[{len(self.body)}]={self.body[:160]!r}"


@dataclass
class Answer:
    status: int
    headers: dict[bytes, bytes]
    body: bytes


async def send(target: Target, req: Req) -> Answer:
    """One request on its own connection (Connection: close); an event stream is closed after its head."""
    async with asyncio.timeout(REQUEST_TIMEOUT_S):
        reader, writer = await asyncio.open_connection(target.host, target.port, limit=1 << 20)
        try:
            lines = [f"{req.method} {req.path} HTTP/1.1".encode(), b"host: 127.0.0.1", b"connection: close"]
            lines.append(b"content-length: %d" % len(req.body))
            lines.extend(name + b": " + value for name, value in req.headers)
            # A large body waits for "100 Continue": a server refusing it early (413, 401, 405) would
            # otherwise close while it is still being sent, and the reset would swallow its answer.
            large = len(req.body) > EXPECT_CONTINUE_BYTES
            if large:
                lines.append(b"expect: 100-continue")
            writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if large else req.body))
            head = await reader.readuntil(b"\r\n\r\n")
            if large and head.startswith(b"HTTP/1.1 100"):
                writer.write(req.body)
                head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers: dict[bytes, bytes] = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower().encode("latin-1")] = value.strip().encode("latin-1")
            if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                return Answer(int(status_line.split()[1]), headers, b"")
            body = await reader.read()
            if headers.get(b"transfer-encoding") == b"chunked":
                body = _dechunk(body)
            return Answer(int(status_line.split()[1]), headers, body)
        finally:
            writer.close()


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


# --- hostile values --------------------------------------------------------------------------------

_DEPTHS = (2, 10, 63, 64, 65, 100, 999, 1000, 1001, 2500, 5000)
_UNICODE = (
    "안녕하세요",
    "\x00",
    "a\x00b",
    "\u202eevil",
    "😀" * 50,
    "\ufeff",
    "\u0000\u0001\u001f",
    "١٢٣",
    "ｆｕｌｌ",
    "\ud800",  # a lone surrogate: json.dumps writes it as an escape
    "'; DROP TABLE x; --",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "%s%s%n",
    "010-1234-5678",
)
_CONTENT_TYPES = (
    b"application/json",
    b"application/json; charset=utf-8",
    b"Application/JSON",
    b"application/x-www-form-urlencoded",
    b"text/plain",
    b"text/plain; charset=latin-1",
    b"multipart/form-data; boundary=fuzzfuzz",
    b"multipart/form-data",
    b"application/octet-stream",
    b"*/*",
    b";;;",
    b"application/json; charset=\xff\xfe",
    b"x" * 600,
)
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FUZZ", "PROPFIND")


def _deep_text(rnd: random.Random, depth: int) -> str:
    opener, closer = rnd.choice((("[", "]"), ('{"a":', "}"), ('[{"k":', "}]")))
    if opener == '[{"k":':
        depth = max(depth // 2, 1)
    if rnd.random() < 0.2:
        return opener * depth  # unterminated
    return opener * depth + "0" + closer * depth


class Values:
    """Odd JSON values; deep nesting is spliced into the encoded text (json.dumps would recurse)."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.deep: dict[str, str] = {}

    def odd(self) -> Any:
        rnd = self.rnd
        kind = rnd.randrange(14)
        if kind == 0:
            return rnd.choice([None, True, False])
        if kind == 1:
            return rnd.choice([0, -1, 2**31, 2**63, -(2**64), 10**30, 1.5, -0.0, 1e308])
        if kind == 2:
            return rnd.choice(_UNICODE)
        if kind == 3:
            return "".join(chr(rnd.randrange(1, 0x10000)) for _ in range(rnd.randrange(1, 40)))
        if kind == 4:
            return "x" * rnd.choice((1000, 5000, 20_000, 100_000))
        if kind == 5:
            return [self.odd() for _ in range(rnd.randrange(4))]
        if kind == 6:
            return {rnd.choice(["a", "", "\x00", "🔑", "id"]): self.odd() for _ in range(rnd.randrange(3))}
        if kind in (7, 8, 9):
            marker = f"__deep_{len(self.deep)}__"
            self.deep[marker] = _deep_text(rnd, rnd.choice(_DEPTHS))
            return marker
        if kind == 10:
            return []
        if kind == 11:
            return {}
        if kind == 12:
            return ""
        return rnd.choice(["1", "true", "null", "{}", "[]", '{"a": 1}'])

    def encode(self, value: Any) -> bytes:
        text = json.dumps(value, ensure_ascii=self.rnd.random() < 0.5)
        for marker, deep in self.deep.items():
            text = text.replace(json.dumps(marker), deep)
        self.deep.clear()
        return text.encode("utf-8", "surrogatepass")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def mutate(values: Values, base: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with 1-3 fields set to odd values, removed, or added."""
    doc = copy.deepcopy(base)
    rnd = values.rnd
    for _ in range(rnd.randrange(1, 4)):
        paths = list(_paths(doc))
        if not paths:
            doc[rnd.choice(["x", "userRequest", "type"])] = values.odd()
            continue
        path = rnd.choice(paths)
        parent: Any = doc
        for step in path[:-1]:
            parent = parent[step]
        action = rnd.random()
        if action < 0.65:
            parent[path[-1]] = values.odd()
        elif action < 0.85 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rnd.choice(["unknown", "extra_field", "🙂", "__proto__"])] = values.odd()
    return doc


def _junk_body(rnd: random.Random, values: Values, limit: int) -> bytes:
    kind = rnd.randrange(12)
    if kind == 0:
        return b""
    if kind == 1:
        return rnd.choice([b"null", b"[]", b"1", b'"x"', b"true", b"{", b"}", b"{}", b'{"a":}', b"[1,]", b"NaN"])
    if kind == 2:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 600)))
    if kind == 3:
        return b"\xff\xfe\xfd" + b"{}"
    if kind == 4:
        return b'{"a": "\x00\x00"}' + b"\x00" * rnd.randrange(1, 50)
    if kind == 5:
        return _deep_text(rnd, rnd.choice(_DEPTHS)).encode()
    if kind == 6:
        return values.encode([values.odd() for _ in range(rnd.randrange(1, 5))])
    if kind == 7:
        return values.encode(values.odd())
    if kind == 8 and rnd.random() < 0.15:
        return b'{"a": "' + b"y" * (limit + 10) + b'"}'  # just over the body limit (kept rare: costly)
    if kind == 9:
        return b"payload=notjson&x=1"
    if kind == 10:
        return b'{"a": "\\ud800", "b": "\\"' + b"[" * 200 + b'"}'  # escapes and brackets inside strings
    return "text with 한글 and \U0001f600".encode()


def _multipart(rnd: random.Random, content: bytes) -> bytes:
    return (
        b'--fuzzfuzz\r\nContent-Disposition: form-data; name="payload"\r\n\r\n'
        + content
        + b"\r\n--fuzzfuzz"
        + rnd.choice([b"--\r\n", b"\r\n", b""])
    )


def _header_junk(rnd: random.Random) -> bytes:
    """A header value HTTP allows (visible ASCII, spaces inside, obs-text) but nobody should send."""
    kind = rnd.randrange(6)
    if kind == 0:
        return b""
    if kind == 1:
        return bytes(rnd.choice(range(0x80, 0x100)) for _ in range(rnd.randrange(1, 20)))
    if kind == 2:
        return b"a" * rnd.choice((100, 4000))
    if kind == 3:
        return "한글".encode()
    if kind == 4:
        return b"x y\tz"
    return bytes(rnd.choice(range(0x21, 0x7F)) for _ in range(rnd.randrange(1, 30)))


# --- per-endpoint request generators --------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    make: Callable[[random.Random, Values, Target], Req]
    text_ok: bool = False  # a 4xx may be plain text (the Slack route, from bolt)


def _method(rnd: random.Random, right: str) -> str:
    return right if rnd.random() < 0.65 else rnd.choice(_METHODS)


def _body_and_type(
    rnd: random.Random, values: Values, payload: Callable[[], dict[str, Any]], limit: int
) -> tuple[bytes, bytes | None]:
    kind = rnd.random()
    if kind < 0.1:
        body = values.encode(payload())
    elif kind < 0.55:
        body = values.encode(mutate(values, payload()))
    elif kind < 0.75:
        body = _junk_body(rnd, values, limit)
    elif kind < 0.85:
        inner = values.encode(mutate(values, payload())) if rnd.random() < 0.5 else _junk_body(rnd, values, limit)
        form = {"payload": inner.decode("utf-8", "replace")}
        if rnd.random() < 0.3:
            form[rnd.choice(["x", "token", "ssl_check"])] = rnd.choice(["1", "", "\x00"])
        body = urlencode(form).encode()
    elif kind < 0.9:
        body = _multipart(rnd, values.encode(payload()))
    else:
        body = values.encode(values.odd())
    right = b"application/json"
    content_type = right if rnd.random() < 0.5 else rnd.choice((*_CONTENT_TYPES, None))
    return body, content_type


def _common_headers(rnd: random.Random, content_type: bytes | None) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if rnd.random() < 0.2:
        headers.append((b"x-request-id", _header_junk(rnd)))
    if rnd.random() < 0.1:
        headers.append((b"accept", _header_junk(rnd)))
    if rnd.random() < 0.05:
        headers.append((b"content-encoding", rnd.choice([b"gzip", b"br", b"identity", b"x"])))
    return headers


def _query(rnd: random.Random) -> str:
    if rnd.random() < 0.7:
        return ""
    junk = rnd.choice(["-1", "0", "99999999999999999999", "١", "%ff%fe", "a" * 3000, "1e5", "", "%00", "[]"])
    key = rnd.choice(["after", "token", "x", "after[]", "%ff"])
    return f"?{key}={quote(junk, safe='%')}" + ("&after=1&after=2" if rnd.random() < 0.2 else "")


def make_kakao(rnd: random.Random, values: Values, target: Target) -> Req:
    def payload() -> dict[str, Any]:
        extra = {"sangdam": rnd.choice(["faq:hours", "x", ""])} if rnd.random() < 0.3 else None
        return skill_payload(
            rnd.choice(["안녕하세요", "배송 조회", "상담원 연결", "환불", ""]),
            user=f"fuzz-{rnd.randrange(50)}",
            client_extra=extra,
        )

    body, content_type = _body_and_type(rnd, values, payload, 256 * 1024)
    headers = _common_headers(rnd, content_type)
    secret = rnd.random()
    if secret < 0.75:
        headers.append((b"x-sangdam-secret", KAKAO_SECRET.encode()))
    elif secret < 0.9:
        headers.append((b"x-sangdam-secret", _header_junk(rnd)))
    return Req(_method(rnd, "POST"), "/kakao/skill" + _query(rnd), headers, body)


def _web_auth(rnd: random.Random, target: Target) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    origin = rnd.random()
    if origin < 0.6:
        headers.append((b"origin", ORIGIN.encode()))
    elif origin < 0.8:
        headers.append((b"origin", rnd.choice([b"https://evil.example", b"null", b"http://shop.example", b"*"])))
    elif origin < 0.9:
        headers.append((b"origin", _header_junk(rnd)))
    auth = rnd.random()
    if auth < 0.6:
        token = rnd.choice(target.tokens)
    elif auth < 0.7:
        token, _ = TokenSigner(WEB_SECRET.encode(), 60, clock=lambda: 1_000_000).issue("A" * 22)  # expired
    elif auth < 0.8:
        token = rnd.choice(target.tokens)[:-3] + "abc"  # tampered
    else:
        token = ""
    if token or rnd.random() < 0.5:
        scheme = b"Bearer " if rnd.random() < 0.9 else rnd.choice([b"Basic ", b"bearer", b"Bearer  ", b""])
        value = scheme + (token.encode() if rnd.random() < 0.9 else _header_junk(rnd))
        headers.append((b"authorization", value))
    if rnd.random() < 0.2:
        headers.append((b"last-event-id", _header_junk(rnd) if rnd.random() < 0.7 else b"5"))
    return headers


def make_web(route: str, right_method: str) -> Callable[[random.Random, Values, Target], Req]:
    def make(rnd: random.Random, values: Values, target: Target) -> Req:
        def payload() -> dict[str, Any]:
            message: dict[str, Any] = {"id": f"msg-fuzz-{rnd.randrange(10**8):08d}", "text": "배송 조회"}
            if rnd.random() < 0.3:
                message["payload"] = "faq:hours"
            return message

        if right_method == "POST" or rnd.random() < 0.3:
            body, content_type = _body_and_type(rnd, values, payload, 16 * 1024)
        else:
            body, content_type = b"", None
        headers = _common_headers(rnd, content_type) + _web_auth(rnd, target)
        return Req(_method(rnd, right_method), f"{API}/{route}" + _query(rnd), headers, body)

    return make


def _slack_payload(rnd: random.Random) -> dict[str, Any]:
    n = rnd.randrange(10**9)
    if rnd.random() < 0.6:
        event = {
            "type": rnd.choice(["app_mention", "message"]),
            "user": "W111",
            "text": "<@UBOT> 영업시간 알려주세요",
            "ts": f"1700000000.{n % 10**6:06d}",
            "channel": rnd.choice([PILOT, "CGENERAL"]),
            "event_ts": f"1700000000.{n % 10**6:06d}",
            "client_msg_id": f"cm-{n}",
        }
        return event_body(event, f"Ev{n}")
    return {
        "type": "block_actions",
        "user": {"id": "UAGENT", "username": "agent", "name": "agent", "team_id": TEAM},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": PILOT, "is_ephemeral": False},
        "trigger_id": f"{n}.trigger",
        "team": {"id": TEAM, "domain": "test"},
        "channel": {"id": PILOT, "name": "channel"},
        "message": {"type": "message", "ts": "1.1", "text": "x", "blocks": []},
        "actions": [
            {
                "action_id": rnd.choice(["sangdam.claim", "sangdam.resolve", "sangdam.reply:0", "other"]),
                "block_id": "b",
                "type": "button",
                "value": rnd.choice(['{"k":"postback","v":"faq:hours"}', "x", ""]),
                "action_ts": "1.2",
            }
        ],
    }


def _slack_sign(body: bytes, timestamp: bytes) -> bytes:
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp + b":" + body, hashlib.sha256).hexdigest()
    return b"v0=" + digest.encode()


def make_slack(rnd: random.Random, values: Values, target: Target) -> Req:
    as_form = rnd.random() < 0.3

    def payload() -> dict[str, Any]:
        return _slack_payload(rnd)

    body, content_type = _body_and_type(rnd, values, payload, 1024 * 1024)
    if as_form and body.startswith(b"{"):
        body = urlencode({"payload": body.decode("utf-8", "replace")}).encode()
        content_type = b"application/x-www-form-urlencoded"
    headers = _common_headers(rnd, content_type)
    now = str(int(time.time())).encode()
    stamp = rnd.random()
    if stamp < 0.7:
        timestamp: bytes | None = now
    elif stamp < 0.8:
        timestamp = rnd.choice([b"abc", b"", b"-1", b"1e9", "١٢٣".encode(), b"9" * 40, b" 12", b"0", b"1.5"])
    elif stamp < 0.9:
        timestamp = _header_junk(rnd)
    else:
        timestamp = None
    if timestamp is not None:
        headers.append((b"x-slack-request-timestamp", timestamp))
    signature = rnd.random()
    if signature < 0.5:
        headers.append((b"x-slack-signature", _slack_sign(body, timestamp or b"")))
    elif signature < 0.7:
        headers.append((b"x-slack-signature", b"v0=" + bytes(rnd.choice(b"0123456789abcdef") for _ in range(64))))
    elif signature < 0.9:
        headers.append((b"x-slack-signature", _header_junk(rnd)))
    if rnd.random() < 0.05:
        headers.append((b"x-slack-retry-num", _header_junk(rnd)))
    if rnd.random() < 0.03:
        headers.append((b"x-slack-bolt-lazy-only", b"1"))
    return Req(_method(rnd, "POST"), "/slack/events" + _query(rnd), headers, body)


def make_plain(path: str) -> Callable[[random.Random, Values, Target], Req]:
    def make(rnd: random.Random, values: Values, target: Target) -> Req:
        body = b"" if rnd.random() < 0.5 else _junk_body(rnd, values, 64 * 1024)
        content_type = rnd.choice((*_CONTENT_TYPES, None))
        return Req(_method(rnd, "GET"), path + _query(rnd), _common_headers(rnd, content_type), body)

    return make


ENDPOINTS = [
    Endpoint("kakao skill", make_kakao),
    Endpoint("web config", make_web("config", "GET")),
    Endpoint("web sessions", make_web("sessions", "POST")),
    Endpoint("web messages", make_web("messages", "POST")),
    Endpoint("web history", make_web("history", "GET")),
    Endpoint("web stream", make_web("stream", "GET")),
    Endpoint("slack events", make_slack, text_ok=True),
    Endpoint("healthz", make_plain("/healthz")),
    Endpoint("readyz", make_plain("/readyz")),
    Endpoint("metrics", make_plain("/metrics")),
]


# --- checking answers ------------------------------------------------------------------------------


# uvicorn's own answer to a request its HTTP parser refuses (an unknown method such as FUZZ): the app
# never sees it. Counted apart; any other plain-text 4xx outside the Slack route is a failure.
SERVER_REFUSAL = b"Invalid HTTP request received."


def problem_with(endpoint: Endpoint, req: Req, answer: Answer) -> str | None:
    """Why this answer is not acceptable (None if it is)."""
    if answer.status >= 500:
        return f"HTTP {answer.status}: {answer.body[:200]!r}"
    if answer.status < 400 or req.method == "HEAD":
        return None
    if answer.status == 400 and answer.body == SERVER_REFUSAL:
        return None
    content_type = answer.headers.get(b"content-type", b"")
    if content_type.startswith(b"application/json"):
        try:
            doc = json.loads(answer.body)
        except ValueError:
            return f"HTTP {answer.status} with a body that is not JSON: {answer.body[:200]!r}"
        reason = doc.get("detail") or doc.get("error") if isinstance(doc, dict) else None
        if not isinstance(reason, str) or not reason.strip():
            return f"HTTP {answer.status} without a reason: {answer.body[:200]!r}"
        return None
    if endpoint.text_ok and content_type.startswith(b"text/plain") and answer.body.strip():
        return None
    return f"HTTP {answer.status} {content_type!r} is not a JSON reason: {answer.body[:200]!r}"


@dataclass
class Tally:
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    unanswered: Counter[str] = field(default_factory=Counter)
    server_refusals: int = 0  # SERVER_REFUSAL answers (uvicorn's parser), included in `statuses`
    sent: int = 0


async def fuzz(target: Target, endpoints: list[Endpoint], per_endpoint: int, seed: int) -> Tally:
    """Send every endpoint `per_endpoint` generated requests, CONCURRENCY at a time, interleaved."""
    rnd = random.Random(seed)
    values = Values(rnd)
    tally = Tally(statuses={e.name: Counter() for e in endpoints})

    def requests() -> Iterator[tuple[Endpoint, Req]]:
        for _ in range(per_endpoint):
            for endpoint in endpoints:
                yield endpoint, endpoint.make(rnd, values, target)

    queue = requests()

    async def worker() -> None:
        for endpoint, req in queue:  # one shared generator: the sequence does not depend on timing
            tally.sent += 1
            try:
                answer = await send(target, req)
            except TimeoutError:
                tally.unanswered[endpoint.name] += 1
                tally.failures.append(f"{endpoint.name}: no answer within {REQUEST_TIMEOUT_S} s to {req.describe()}")
                continue
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                tally.unanswered[endpoint.name] += 1
                tally.failures.append(f"{endpoint.name}: connection dropped ({exc!r}) on {req.describe()}")
                continue
            tally.statuses[endpoint.name][answer.status] += 1
            tally.server_refusals += answer.body == SERVER_REFUSAL
            problem = problem_with(endpoint, req, answer)
            if problem is not None:
                tally.failures.append(f"{endpoint.name}: {problem} for {req.describe()}")

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return tally


async def test_no_endpoint_answers_5xx_to_hostile_requests() -> None:
    started = time.monotonic()
    async with fuzz_gateway() as target:
        tally = await fuzz(target, ENDPOINTS, REQUESTS_PER_ENDPOINT, SEED)
        health = await send(target, Req("GET", "/healthz", [], b""))
    elapsed = time.monotonic() - started
    summary = "\n".join(f"  {name}: {dict(sorted(counts.items()))}" for name, counts in tally.statuses.items())
    print(f"\n{tally.sent} requests in {elapsed:.1f} s (seed {SEED}), {tally.server_refusals} refused by uvicorn:")
    print(summary)
    assert tally.sent == REQUESTS_PER_ENDPOINT * len(ENDPOINTS)
    for name, counts in tally.statuses.items():
        assert counts.total() + tally.unanswered[name] == REQUESTS_PER_ENDPOINT
    first = "\n".join(failure[:700] for failure in tally.failures[:15])
    assert not tally.failures, f"{len(tally.failures)} bad answers (seed {SEED}); first ones:\n{first}"
    assert health.status == 200 and json.loads(health.body) == {"status": "ok"}
