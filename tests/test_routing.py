"""Routing of first messages through the real engine and the demo pack (issue 11).

Each bug report is a case here: the specific FAQ answer over a broad scenario, no answer about the wrong
product, hours questions are not agent requests, bare numbers and contact details are not questions,
out-of-scope topics start nothing, close candidates get one clarifying question, and every routing
decision is logged with its candidates (never the text).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from core.assembly import build_engine
from core.engine import Engine
from core.logging import configure_logging
from core.messages import Button, Inbound, QuickReplies, Text, Turn
from core.pack.loader import load_pack
from core.pack.schema import BotPack, FaqEntry
from core.routing_eval import routed_to
from core.settings import DEMO_BOT
from core.store.memory import MemoryStore


@pytest.fixture(scope="module")
def pack() -> BotPack:
    return load_pack(DEMO_BOT)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def engine(pack: BotPack, http: httpx.AsyncClient) -> Engine:
    return build_engine(pack, MemoryStore(), http=http)


def msg(key: str, text: str = "", payload: str | None = None) -> Inbound:
    return Inbound(channel="test", conversation_key=key, user_id=key, text=text, payload=payload)


def said(turn: Turn) -> str:
    return " ".join(p.text for p in turn.parts if isinstance(p, Text))


def buttons(turn: Turn) -> list[Button]:
    return [b for p in turn.parts if isinstance(p, QuickReplies) for b in p.options]


def faq_products(pack: BotPack) -> dict[str, set[str]]:
    return {entry.id: set(entry.products) for entry in pack.faq}


# --- the bug reports ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AS 받으면 돈 내야 하나요", "faq:as-cost"),
        ("공유기 관리 페이지 주소 좀", "faq:router-admin-login"),
        ("상담 가능 시간 알려주세요", "faq:as-center"),
    ],
)
async def test_specific_questions_get_their_faq_answer(engine: Engine, text: str, expected: str) -> None:
    turn = await engine.handle(msg(f"bug-{expected}", text))
    assert turn.handoff is None
    assert routed_to(turn) == expected


async def test_hours_question_is_not_an_agent_request(engine: Engine) -> None:
    turn = await engine.handle(msg("hours", "상담 가능 시간 알려주세요"))
    assert turn.handoff is None and turn.result.next_action != "handoff"


async def test_a_person_asked_for_is_still_handed_off(engine: Engine) -> None:
    turn = await engine.handle(msg("person", "상담원이랑 직접 얘기하고 싶어요"))
    assert turn.handoff is not None


@pytest.mark.parametrize(
    "text", ["사운드바 소리가 안 나요", "사운드바에서 소리가 아예 안나와요", "누리사운드 소리가 안 나와요"]
)
async def test_soundbar_question_never_gets_a_tv_only_answer(pack: BotPack, engine: Engine, text: str) -> None:
    turn = await engine.handle(msg(f"soundbar-{text}", text))
    products = faq_products(pack)
    answered = [e.data["faq"] for e in turn.events if e.name == "knowledge_answer" and "faq" in e.data]
    offered = [b.value.removeprefix("kb:") for b in buttons(turn) if b.value.startswith("kb:")]
    for entry_id in answered + offered:
        tags = products[entry_id]
        assert not tags or "soundbar" in tags, f"{entry_id} ({tags}) offered for {text!r}"
    assert "faq:tv-no-sound" != routed_to(turn)


async def test_bare_number_after_a_ticket_is_not_a_question(engine: Engine) -> None:
    steps = [
        "AS 접수하고 싶어요",
        "누리비전 QLED 55",
        "화면에 세로줄이 생겨요",
        "내일",
        "네, 접수할게요",
        "010-1234-5678",
    ]
    shown: list[Button] = []
    turn = None
    for text in steps:
        pressed = next((b for b in shown if b.label == text), None)
        turn = await engine.handle(msg("ticket-5", text, payload=pressed.value if pressed else None))
        shown = buttons(turn)
    assert turn is not None and any(e.name == "scenario_end" and e.data["state"] == "ticket" for e in turn.events)
    five = await engine.handle(msg("ticket-5", "5"))
    assert routed_to(five) != "faq:router-band"
    assert not any(e.name in {"knowledge_answer", "csat", "fallback"} for e in five.events)
    assert said(five) == engine.persona.ask_what
    rating_like = await engine.handle(msg("ticket-5", "3점"))
    assert said(rating_like) == engine.persona.ask_what


async def test_a_rating_question_still_takes_the_number(engine: Engine) -> None:
    # The CSAT question after a resolved scenario is the one place a bare number is an answer.
    key = "csat-5"
    for text in ["인터넷이 안돼요", "인터넷이 안 돼요", "초록색이에요", "해결됐어요"]:
        await engine.handle(msg(key, text))
    turn = await engine.handle(msg(key, "5"))
    assert any(e.name == "csat" and e.data["score"] == 5 for e in turn.events)


# --- PII-only messages ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["010-1234-5678", "hong@example.com"])
async def test_contact_only_gets_one_short_reply(engine: Engine, text: str) -> None:
    turn = await engine.handle(msg(f"contact-{text}", text))
    assert said(turn) == engine.persona.contact_only
    assert engine.persona.fallback not in said(turn)
    assert not any(e.name == "fallback" for e in turn.events)


async def test_rrn_only_gets_the_warning_alone(engine: Engine) -> None:
    turn = await engine.handle(msg("rrn-only", "900101-1234567"))
    assert said(turn) == engine.persona.pii_refused
    assert not buttons(turn)


# --- greetings, thanks, out of scope ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("ㄱㅅㄱㅅ", "thanks"),
        ("ㄳㄳ", "thanks"),
        ("thank you", "thanks"),
        ("감사합니다", "thanks"),
        ("hello", "greeting"),
        ("안녕하세요", "greeting"),
    ],
)
async def test_greetings_and_thanks(engine: Engine, text: str, intent: str) -> None:
    turn = await engine.handle(msg(f"small-{text}", text))
    assert routed_to(turn) == f"intent:{intent}"


@pytest.mark.parametrize(
    "text",
    [
        "파이썬 리스트 정렬 어떻게 해요",
        "아이폰 15 액정 깨졌는데 애플 수리비 얼마 나와요",
        "로또 번호 추천해줘",
        "비트코인 지금 사도 될까요",
        "엘지 냉장고 성에 끼는데요",
        "엑셀 함수 알려줘",  # no off-topic word: too little of the pack's vocabulary (domain_coverage)
    ],
)
async def test_unrelated_requests_start_nothing(engine: Engine, text: str) -> None:
    turn = await engine.handle(msg(f"oos-{text}", text))
    assert routed_to(turn) == "intent:out_of_scope"
    assert not [b for b in buttons(turn) if b.value.startswith("kb:")]  # no FAQ guesses either


async def test_a_long_complaint_is_not_thanks(engine: Engine) -> None:
    turn = await engine.handle(msg("complaint", "이거 완전 사기 치는거 아니에요? 변호사랑 상의하겠습니다"))
    assert routed_to(turn) != "intent:thanks"


@pytest.mark.parametrize(
    ("text", "scenario"),
    [
        ("인터넷이 안돼요", "network_issue"),
        ("티비가 안 켜져요", "power_issue"),
        ("AS 접수하고 싶어요", "repair_request"),
        ("환불하고 싶어요", "refund_request"),
        ("공유기 반품 신청할게요", "refund_request"),
        ("배송 언제 와요 주문번호 ORD-20261120-0077", "order_status"),
    ],
)
async def test_broad_requests_still_start_their_scenario(engine: Engine, text: str, scenario: str) -> None:
    turn = await engine.handle(msg(f"broad-{text}", text))
    assert routed_to(turn) == f"scenario:{scenario}"


# --- clarifying question ----------------------------------------------------------------------------


def _twin_faq_pack(pack: BotPack) -> BotPack:
    """The demo pack plus two entries that any question about them matches equally."""
    twins = [FaqEntry(id=f"remote-battery-{n}", question="리모컨 배터리 교체 방법", answer=f"답변 {n}") for n in (1, 2)]
    return msgspec.structs.replace(pack, faq=[*pack.faq, *twins])


async def test_close_faq_candidates_ask_which_one(pack: BotPack, http: httpx.AsyncClient) -> None:
    engine = build_engine(_twin_faq_pack(pack), MemoryStore(), http=http)
    turn = await engine.handle(msg("twins", "리모컨 배터리 교체 방법"))
    assert routed_to(turn) == "clarify"
    assert said(turn) == engine.persona.clarify == "혹시 이 중에 찾으시는 내용이 있나요?"
    values = [b.value for b in buttons(turn)]
    assert {"kb:remote-battery-1", "kb:remote-battery-2"} <= set(values) and len(values) <= 3
    answer = await engine.handle(msg("twins", "리모컨 배터리 교체 방법", payload="kb:remote-battery-2"))
    assert routed_to(answer) == "faq:remote-battery-2"


async def test_faq_and_scenario_close_offer_both(pack: BotPack, http: httpx.AsyncClient) -> None:
    # Thresholds that make every scenario message with an FAQ candidate a close call.
    thresholds = msgspec.structs.replace(
        pack.bot.thresholds, knowledge_answer=0.99, knowledge_clarify=0.0, intent_over_knowledge=1.0
    )
    bot = msgspec.structs.replace(pack.bot, thresholds=thresholds)
    engine = build_engine(msgspec.structs.replace(pack, bot=bot), MemoryStore(), http=http)
    turn = await engine.handle(msg("close", "티비 화면이 계속 깜빡깜빡 거려요"))
    assert routed_to(turn) == "clarify"
    values = [b.value for b in buttons(turn)]
    starts = [v for v in values if v.startswith("start:")]
    assert len(starts) == 1 and any(v.startswith("kb:") for v in values) and 2 <= len(values) <= 3
    started = await engine.handle(msg("close", "", payload=starts[0]))
    assert routed_to(started) == f"scenario:{starts[0].removeprefix('start:')}"
    assert started.result.next_action in {"ask", "answer", "resolve"}


async def test_unknown_start_payload_is_ignored(engine: Engine) -> None:
    turn = await engine.handle(msg("bad-start", "", payload="start:no_such_scenario"))
    assert not any(e.name == "scenario_start" for e in turn.events)


# --- the routing log -------------------------------------------------------------------------------


async def test_every_routing_decision_is_logged_without_the_text(pack: BotPack, http: httpx.AsyncClient) -> None:
    logs = io.StringIO()
    configure_logging("INFO", json=True, stream=logs)
    engine = build_engine(pack, MemoryStore(), http=http)
    texts = ["공유기 관리 페이지 주소 좀", "인터넷이 안돼요", "파이썬 리스트 정렬 어떻게 해요"]
    for n, text in enumerate(texts):
        await engine.handle(msg(f"log-{n}", text))
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.strip()]
    routes = [line for line in lines if line.get("event") == "turn"]
    assert len(routes) == len(texts) == len(lines)  # one line per turn, the routing details in it
    for line in routes:
        assert {"intents", "faq", "route", "similarity"} <= line.keys()
        assert len(line["intents"]) <= 3 and len(line["faq"]) <= 3
    assert [line["route"] for line in routes] == ["faq", "scenario", "fallback"]
    assert routes[0]["route_target"] == "router-admin-login"
    for text in texts:
        assert text not in logs.getvalue()
