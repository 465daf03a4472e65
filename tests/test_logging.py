"""Structured logging (core/logging.py): JSON lines, bound context, PII masked everywhere."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from core.logging import bind_context, clear_context, configure_logging, get_logger
from core.policy.pii import LOG_VALUE_LIMIT

RRN = "900101-1234568"
CARD = "4111-1111-1111-1111"
PHONE = "010-2345-6789"
RAW_DIGITS = ("9001011234568", "4111111111111111", "01023456789")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Leave the process's logging as it was for the other test files."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "litestar"]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in map(logging.getLogger, names)]
    yield
    clear_context()
    structlog.reset_defaults()
    for lg, handlers, level, propagate, disabled in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate, lg.disabled = propagate, disabled


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _assert_no_raw_pii(output: str) -> None:
    for raw in (RRN, CARD, PHONE):
        assert raw not in output
    digits_only = "".join(ch for ch in output if ch.isdigit())
    for raw in RAW_DIGITS:
        assert raw not in digits_only


def test_json_lines_with_context_and_masked_pii() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    bind_context(conversation_id="kakao:u-42", request_id="req-7")
    log = get_logger("sangdam.engine")

    log.info(
        f"customer wrote {RRN} and card {CARD}, call {PHONE}",
        inbound={"text": f"번호 {PHONE}", "parts": [f"카드 {CARD}", {"rrn": f"주민 {RRN}"}]},
        order_id="ORD-20261101-0001",
    )
    log.warning("positional %s", PHONE)

    lines = _lines(stream)
    assert len(lines) == 2
    first, second = lines
    assert first["event"] == "customer wrote <RRN_1> and card <CARD_1>, call <PHONE_1>"
    assert first["inbound"] == {"text": "번호 <PHONE_1>", "parts": ["카드 <CARD_1>", {"rrn": "주민 <RRN_1>"}]}
    assert first["order_id"] == "ORD-20261101-0001"  # not PII, left alone
    assert second["event"] == "positional <PHONE_1>"
    for line in lines:
        assert line["conversation_id"] == "kakao:u-42"
        assert line["request_id"] == "req-7"
        assert line["logger"] == "sangdam.engine"
        assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]
    assert [line["level"] for line in lines] == ["info", "warning"]
    _assert_no_raw_pii(stream.getvalue())


def test_stdlib_loggers_are_json_and_masked_too() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    bind_context(conversation_id="web:s-1")

    logging.getLogger("uvicorn.error").info("client sent %s", f"{PHONE} / {RRN}")
    logging.getLogger("litestar").error("payload %s", {"card": CARD})

    lines = _lines(stream)
    assert [line["logger"] for line in lines] == ["uvicorn.error", "litestar"]
    assert lines[0]["event"] == "client sent <PHONE_1> / <RRN_1>"
    assert "<CARD_1>" in lines[1]["event"]
    assert all(line["conversation_id"] == "web:s-1" for line in lines)
    _assert_no_raw_pii(stream.getvalue())


def test_exception_tracebacks_are_masked() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        raise ValueError(f"bad card {CARD}")
    except ValueError:
        get_logger().exception("tool failed")
    (line,) = _lines(stream)
    assert "ValueError: bad card <CARD_1>" in line["exception"]
    _assert_no_raw_pii(stream.getvalue())


def test_configure_twice_does_not_duplicate_lines_and_honours_level() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("DEBUG", stream=first)
    log = get_logger("sangdam.test")  # created before the second configuration
    configure_logging("WARNING", stream=second)

    log.info("dropped below the level")
    log.warning("kept")

    assert first.getvalue() == ""
    assert [line["event"] for line in _lines(second)] == ["kept"]


def test_clear_context_removes_bound_values() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    bind_context(conversation_id="slack:T1:C1:123.4")
    clear_context()
    get_logger().info("after clear")
    (line,) = _lines(stream)
    assert "conversation_id" not in line


def test_console_mode_is_masked_as_well() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=False, stream=stream)
    get_logger().info(f"call {PHONE}", card=CARD)
    output = stream.getvalue()
    assert "<PHONE_1>" in output and "<CARD_1>" in output
    _assert_no_raw_pii(output)


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging("LOUD", stream=io.StringIO())


def test_objects_logged_as_values_are_masked_when_rendered() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    get_logger().info("tool failed", error=ValueError(f"card {CARD}"), attempts=2, ok=False)
    (line,) = _lines(stream)
    assert line["error"] == "card <CARD_1>"
    assert line["attempts"] == 2 and line["ok"] is False
    _assert_no_raw_pii(stream.getvalue())


def test_long_values_are_cut_before_masking_and_never_leak_a_cut_number() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    filler = "가" * (LOG_VALUE_LIMIT - 8)
    # The phone number straddles the cut: its first digits are inside the limit, the rest beyond it.
    get_logger().info("payload", body=f"{filler} {PHONE} {PHONE}" + "나" * 100_000)
    (line,) = _lines(stream)
    assert len(line["body"]) < LOG_VALUE_LIMIT + 40
    assert line["body"].startswith(filler)
    assert line["body"].endswith(" chars)")
    assert "…(+" in line["body"]
    assert not any(ch.isdigit() for ch in line["body"].split("…(+")[0])  # no half number before the marker
    _assert_no_raw_pii(stream.getvalue())


def test_long_tracebacks_keep_their_end_and_are_masked() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        raise ValueError("x" * 50_000 + f" 마지막으로 카드 {CARD} 실패")
    except ValueError:
        get_logger().exception("tool failed")
    (line,) = _lines(stream)
    assert len(line["exception"]) < 5 * LOG_VALUE_LIMIT
    assert line["exception"].startswith("Traceback")
    assert line["exception"].endswith("마지막으로 카드 <CARD_1> 실패")
    _assert_no_raw_pii(stream.getvalue())


def test_math_digit_user_id_shaped_like_a_phone_is_masked() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    user_id = "𝟎𝟏𝟎𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"  # a Kakao user.id in mathematical digits: 01023456789
    get_logger().info("kakao turn", user={"id": user_id}, event_text=f"id {user_id}")
    (line,) = _lines(stream)
    assert line["user"] == {"id": "<PHONE_1>"}
    assert line["event_text"] == "id <PHONE_1>"
    assert user_id not in stream.getvalue()
    _assert_no_raw_pii(stream.getvalue())


def test_dict_keys_and_huge_collections_are_masked_and_capped() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    get_logger().info("lookup", by_phone={PHONE: "홍길동"}, phones=[PHONE] * 10_000)
    (line,) = _lines(stream)
    assert line["by_phone"] == {"<PHONE_1>": "홍길동"}
    assert len(line["phones"]) < 300 and line["phones"][-1].startswith("…(+")
    _assert_no_raw_pii(stream.getvalue())
