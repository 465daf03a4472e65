"""Every demo scenario driven to each of its end states through the real engine (buttons pressed as
postbacks), and one path per scenario through `sangdam chat` with typed text, as a person would."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest

from core.assembly import build_engine
from core.engine import Engine
from core.messages import Button, Card, HandoffReason, Inbound, QuickReplies, Turn
from core.pack.loader import load_pack
from core.pack.schema import BotPack
from core.settings import DEMO_BOT
from core.store.memory import MemoryStore

ROOT = Path(__file__).resolve().parent.parent

# (scenario, first message, then button labels / typed answers, expected end, expected handoff reason)
PATHS: list[tuple[str, list[str], str, str | None]] = [
    ("power_issue", ["티비 전원이 안 켜져요", "누리비전 TV", "아예 안 켜져요", "해결됐어요"], "resolved", None),
    (
        "power_issue",
        [
            "티비 전원이 안 켜져요",
            "누리링크 공유기",
            "아직 안 돼요",
            "아직 안 돼요",
            "모두 꺼져 있어요",
            "AS 접수할게요",
            "내일",
            "010-1234-5678",
        ],
        "ticket",
        None,
    ),
    (
        "power_issue",
        ["티비 전원이 안 켜져요", "사운드바", "아직 안 돼요", "아직 안 돼요", "상담직원 연결"],
        "handoff",
        "agent_request",
    ),
    ("network_issue", ["인터넷이 안돼요", "인터넷이 안 돼요", "초록색이에요", "해결됐어요"], "resolved", None),
    (
        "network_issue",
        [
            "인터넷이 안돼요",
            "인터넷이 안 돼요",
            "꺼져 있어요",
            "아직 안 돼요",
            "아직 안 돼요",
            "직접 연결은 돼요",
            "AS 접수할게요",
            "내일",
            "010-1234-5678",
        ],
        "ticket",
        None,
    ),
    ("network_issue", ["인터넷이 안돼요", "TV만 연결 안 돼요", "아직 안 돼요", "아직 안 돼요"], "handoff", "scenario"),
    (
        "network_issue",
        ["인터넷이 안돼요", "인터넷이 안 돼요", "주황색이에요", "아직 안 돼요", "직접 연결도 안 돼요"],
        "info",
        None,
    ),
    ("error_code", ["에러코드 확인 부탁드려요", "E101", "해결됐어요"], "resolved", None),
    (
        "error_code",
        ["에러코드 확인 부탁드려요", "R202", "아직 안 돼요", "AS 접수할게요", "내일", "010-1234-5678"],
        "ticket",
        None,
    ),
    ("error_code", ["에러코드 확인 부탁드려요", "E999", "상담직원 연결"], "handoff", "agent_request"),
    ("error_code", ["에러코드 확인 부탁드려요", "E999", "다시 입력할게요", "E102", "해결됐어요"], "resolved", None),
    (
        "settings_help",
        ["와이파이 비밀번호 바꾸는 법 알려주세요", "와이파이 비밀번호", "로그인했어요", "잘 됐어요"],
        "resolved",
        None,
    ),
    ("settings_help", ["와이파이 비밀번호 바꾸는 법 알려주세요", "TV 자막", "자막이 안 나와요"], "handoff", "scenario"),
    ("usage_help", ["리모컨 사용법 알려주세요", "화면 미러링", "도움이 됐어요"], "resolved", None),
    ("usage_help", ["리모컨 사용법 알려주세요", "사운드바 연결", "상담직원 연결"], "handoff", "agent_request"),
    ("order_status", ["배송 조회 하고 싶어요", "ORD-20261101-0001", "확인했어요"], "resolved", None),
    (
        "order_status",
        ["배송 조회 하고 싶어요", "ORD-20261102-0003", "배송이 늦어요", "조금 더 기다릴게요"],
        "info",
        None,
    ),
    (
        "order_status",
        ["배송 조회 하고 싶어요", "주문번호를 모르겠어요", "잘 몰라요", "글쎄요"],
        "handoff",
        "validation_failed",
    ),
    (
        "order_status",
        ["배송 조회 하고 싶어요", "ORD-20261101-0001", "다른 주문 조회", "ORD-20261101-0002", "확인했어요"],
        "resolved",
        None,
    ),
    (
        "repair_request",
        ["AS 접수하고 싶어요", "누리비전 QLED 55", "화면에 세로줄이 생겨요", "내일", "네, 접수할게요", "010-1234-5678"],
        "ticket",
        None,
    ),
    (
        "repair_request",
        ["AS 접수하고 싶어요", "누리링크 AX3000", "와이파이가 자주 끊겨요", "내일", "상담직원 연결"],
        "handoff",
        "agent_request",
    ),
    ("refund_request", ["환불하고 싶어요", "정책 확인했어요"], "resolved", None),
    ("refund_request", ["환불하고 싶어요", "동의할 수 없어요"], "handoff", "refund_dispute"),
    (
        "refund_request",
        [
            "환불하고 싶어요",
            "교환/환불 신청",
            "제품 불량",
            "교환",
            "ORD-20261101-0002",
            "맞아요",
            "다음 주 화요일",
            "010-1234-5678",
        ],
        "ticket",
        None,
    ),
    (
        "refund_request",
        ["환불하고 싶어요", "교환/환불 신청", "단순 변심", "환불", "ORD-20261102-0003", "아직 못 받았어요"],
        "info",
        None,
    ),
]


@pytest.fixture(scope="module")
def pack() -> BotPack:
    return load_pack(DEMO_BOT)


@pytest.fixture
async def engine(pack: BotPack) -> AsyncIterator[Engine]:
    async with httpx.AsyncClient() as http:
        yield build_engine(pack, MemoryStore(), http=http)


def _buttons(turn: Turn) -> list[Button]:
    found: list[Button] = []
    for part in turn.parts:
        if isinstance(part, QuickReplies):
            found.extend(part.options)
        elif isinstance(part, Card):
            found.extend(part.buttons)
    return found


async def converse(engine: Engine, key: str, messages: list[str]) -> list[Turn]:
    """Send messages in order; a message equal to a shown postback button's label presses it."""
    turns: list[Turn] = []
    buttons: list[Button] = []
    for message in messages:
        pressed = next((b for b in buttons if b.label == message and b.kind == "postback"), None)
        inbound = Inbound(
            channel="test", conversation_key=key, user_id=key, text=message, payload=pressed.value if pressed else None
        )
        turn = await engine.handle(inbound)
        turns.append(turn)
        buttons = _buttons(turn)
    return turns


def end_state(turns: list[Turn]) -> tuple[str | None, str | None]:
    last = turns[-1]
    if last.handoff is not None:
        return "handoff", last.handoff.reason.value
    ends = [e.data["state"] for e in last.events if e.name == "scenario_end"]
    return (ends[-1] if ends else None), None


@pytest.mark.parametrize(("scenario", "messages", "expected_end", "expected_reason"), PATHS)
async def test_scenario_reaches_end_state(
    engine: Engine, scenario: str, messages: list[str], expected_end: str, expected_reason: str | None
) -> None:
    turns = await converse(engine, f"{scenario}-{expected_end}", messages)
    starts = [e.data["scenario"] for t in turns for e in t.events if e.name == "scenario_start"]
    assert starts[:1] == [scenario], f"first message started {starts}"
    assert end_state(turns) == (expected_end, expected_reason)
    last = turns[-1]
    if expected_end == "resolved":  # CSAT follows a resolved scenario
        assert any(isinstance(p, QuickReplies) and p.options[0].value == "csat:1" for p in last.parts)
    if expected_end == "ticket":
        said = " ".join(getattr(p, "text", "") for p in last.parts)
        assert re.search(r"AS-\d{8}-\d{4}", said), said
        assert last.result.next_action == "create_ticket"
    if expected_end == "handoff":
        assert last.handoff is not None and last.handoff.transcript
        assert last.result.next_action == "handoff"


async def test_ticket_record_keeps_phone_but_conversation_does_not(engine: Engine) -> None:
    messages = [
        "AS 접수하고 싶어요",
        "누리비전 QLED 55",
        "화면에 세로줄이 생겨요",
        "내일",
        "네, 접수할게요",
        "010-1234-5678",
    ]
    turns = await converse(engine, "ticket-phone", messages)
    said = " ".join(getattr(p, "text", "") for p in turns[-1].parts)
    ticket_id = re.search(r"AS-\d{8}-\d{4}", said).group(0)  # type: ignore[union-attr]
    record = msgspec.json.decode(await engine.store.get(f"ticket:{ticket_id}") or b"{}")
    assert record["phone"] == "010-1234-5678"
    conv = await engine.store.load("test:ticket-phone")
    assert conv is not None
    assert "010-1234-5678" not in msgspec.json.encode(conv).decode()
    assert conv.slots["phone"] == "010-****-5678"


async def test_bad_answers_re_ask_then_hand_off(engine: Engine) -> None:
    turns = await converse(
        engine,
        "bad-date",
        ["AS 접수하고 싶어요", "누리비전 QLED 55", "화면이 안 나와요", "아무때나요", "몰라요", "글쎄"],
    )
    assert [t.result.next_action for t in turns[-3:]] == ["ask", "ask", "handoff"]
    assert turns[-1].handoff is not None
    assert turns[-1].handoff.reason == HandoffReason.VALIDATION_FAILED
    assert turns[-1].handoff.collected_fields.get("symptom") == "화면이 안 나와요"


CHAT_PATHS = [
    (["티비 전원이 안 켜져요", "1", "아예 안 켜져요", "해결됐어요", "5"], "오늘 상담은 어떠셨나요"),
    (["에러코드 E101이 떠요", "해결됐어요"], "오늘 상담은 어떠셨나요"),
    (
        ["AS 접수하고 싶어요", "누리비전 QLED 55", "화면에 세로줄이 생겨요", "내일", "네, 접수할게요", "010-1234-5678"],
        "AS-",
    ),
    (["환불하고 싶어요", "동의할 수 없어요"], "(상담직원 연결 대기 중)"),
    (["주문번호 ORD-20261101-0001 배송 어디쯤이에요"], "612345678901"),
]


@pytest.mark.parametrize(("lines", "expected"), CHAT_PATHS)
def test_sangdam_chat_script(lines: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sangdam", "chat"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout, done.stdout
    assert done.stdout.count("고객> ") == len(lines)
