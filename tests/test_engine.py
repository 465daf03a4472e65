"""The turn engine's cross-cutting behaviour: PII, idempotency, locking, escalation, tool failure."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from core.assembly import build_engine
from core.handoff import StoreSink
from core.logging import configure_logging
from core.messages import HandoffNotice, HandoffReason, Inbound, QuickReplies, Text
from core.pack.loader import load_pack
from core.pack.schema import BotPack
from core.settings import DEMO_BOT
from core.store.memory import MemoryStore
from core.store.redis import RedisStore
from tests.conftest import free_port

RRN = "900101-1234567"
CARD = "4111 1111 1111 1111"


@pytest.fixture(scope="module")
def pack() -> BotPack:
    return load_pack(DEMO_BOT)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def msg(key: str, text: str = "", payload: str | None = None, idem: str | None = None) -> Inbound:
    return Inbound(channel="test", conversation_key=key, user_id=key, text=text, payload=payload, idempotency_key=idem)


def texts(parts: list) -> str:
    return " ".join(getattr(p, "text", "") for p in parts)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_rrn_and_card_appear_nowhere_in_logs_or_store(
    backend: str, pack: BotPack, http: httpx.AsyncClient, redis_url: str, key_prefix: str
) -> None:
    logs = io.StringIO()
    configure_logging("DEBUG", json=True, stream=logs)
    raw_client = aioredis.from_url(redis_url)
    store = MemoryStore() if backend == "memory" else RedisStore(raw_client, prefix=key_prefix)
    engine = build_engine(pack, store, http=http, sinks=[StoreSink(store)])
    try:
        turn = await engine.handle(msg("pii", f"제 주민번호 {RRN} 이고 카드번호는 {CARD} 예요. 환불해 주세요"))
        # The customer is warned and the numbers are not used.
        assert "주민등록번호" in texts(turn.parts) or "카드" in texts(turn.parts)
        assert turn.events[0].name == "pii_refused"
        assert turn.result.intent == "refund_request"  # the rest of the message was still answered
        # Make something else get stored and logged too: an agent handoff with the transcript.
        handoff_turn = await engine.handle(msg("pii", f"상담원 연결해 주세요 {RRN.replace('-', '')}"))
        assert handoff_turn.handoff is not None
        stored: list[bytes] = []
        if backend == "memory":
            conv = await store.load("test:pii")
            stored.append(msgspec.json.encode(conv))
            stored.append(await store.get("handoff:1") or b"")
        else:
            async for key in raw_client.scan_iter(match=f"{key_prefix}*"):
                value = await raw_client.get(key)
                if isinstance(value, bytes):
                    stored.append(value)
        blob = b"\n".join(stored).decode("utf-8", errors="replace")
        assert "<RRN_1>" in blob and "<CARD_1>" in blob  # the masked forms were kept
        for secret in (RRN, RRN.replace("-", ""), CARD, CARD.replace(" ", ""), "1234567"):
            assert secret not in blob
            assert secret not in logs.getvalue()
        lines = [json.loads(line) for line in logs.getvalue().splitlines()]
        turn_lines = [line for line in lines if line["event"] == "turn"]
        assert turn_lines and all(line["conversation_id"] == "test:pii" for line in turn_lines)
    finally:
        await raw_client.aclose()
        configure_logging("WARNING")


async def test_duplicate_idempotency_key_is_answered_once(pack: BotPack, http: httpx.AsyncClient) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    first = await engine.handle(msg("dup", "안녕하세요", idem="evt-1"))
    second = await engine.handle(msg("dup", "안녕하세요", idem="evt-1"))
    assert first.parts and not first.duplicate
    assert second.duplicate and second.parts == []
    conv = await engine.store.load("test:dup")
    assert conv is not None and [e.role for e in conv.transcript].count("customer") == 1


async def test_two_messages_of_one_customer_never_interleave(
    pack: BotPack, http: httpx.AsyncClient, redis_url: str, key_prefix: str
) -> None:
    # Redis makes every load/save a real network round trip, so without the lock both turns would
    # load the same empty conversation and the later save would lose the other message.
    client = aioredis.from_url(redis_url)
    engine = build_engine(pack, RedisStore(client, prefix=key_prefix), http=http)
    try:
        await asyncio.gather(*(engine.handle(msg("race", f"안녕하세요 {i}")) for i in range(8)))
        conv = await engine.store.load("test:race")
        assert conv is not None
        roles = [e.role for e in conv.transcript]
        assert roles.count("customer") == 8
        # Each customer line is directly followed by the bot's answer to it.
        for i, role in enumerate(roles):
            if role == "customer":
                assert roles[i + 1] == "bot"
    finally:
        await client.aclose()


async def test_repeated_fallbacks_hand_off_with_packet(pack: BotPack, http: httpx.AsyncClient) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    first = await engine.handle(msg("fb", "오늘 저녁 메뉴 추천해줘"))
    assert first.result.next_action == "fallback"
    assert any(isinstance(p, QuickReplies) for p in first.parts)  # suggestions
    second = await engine.handle(msg("fb", "로또 번호 알려줘"))
    assert second.handoff is not None
    assert second.handoff.reason == HandoffReason.REPEATED_FALLBACK
    assert [e.role for e in second.handoff.transcript][:2] == ["customer", "bot"]
    assert any(isinstance(p, HandoffNotice) for p in second.parts)
    # While the handoff is open and unclaimed the bot does not run turns; it offers to come back.
    waiting = await engine.handle(msg("fb", "전원이 안 켜져요"))
    assert waiting.result.next_action == "handoff" and waiting.handoff is None
    resumed = await engine.handle(msg("fb", "챗봇과 계속 대화", payload="resume"))
    assert resumed.parts and (await engine.store.load("test:fb")).handed_off is False  # type: ignore[union-attr]


async def test_profanity_hands_off_with_high_priority(pack: BotPack, http: httpx.AsyncClient) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    turn = await engine.handle(msg("swear", "아 씨발 왜 또 안돼"))
    assert turn.handoff is not None
    assert turn.handoff.reason == HandoffReason.PROFANITY
    assert turn.handoff.priority == "high"


async def test_side_question_inside_a_scenario_is_answered_and_the_step_waits(
    pack: BotPack, http: httpx.AsyncClient
) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    await engine.handle(msg("side", "티비 전원이 안 켜져요"))
    turn = await engine.handle(msg("side", "무상 보증 기간은 얼마나 되나요?"))
    assert any(e.name == "knowledge_answer" for e in turn.events)
    assert isinstance(turn.parts[-1], QuickReplies)  # the product question is shown again
    conv = await engine.store.load("test:side")
    assert conv is not None and conv.scenario is not None and conv.scenario.scenario_id == "power_issue"


async def test_turn_result_carries_seed_001_fields(pack: BotPack, http: httpx.AsyncClient) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    turn = await engine.handle(msg("res", "주문번호 ORD-20261101-0001 배송 어디쯤이에요"))
    result = turn.result
    assert result.intent == "order_status"
    assert result.order_id == "ORD-20261101-0001"
    assert result.issue_type
    assert result.summary
    assert 0.0 < result.confidence <= 1.0


@pytest.fixture
async def failing_api() -> AsyncIterator[tuple[str, list[str]]]:
    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.path)
        return web.Response(status=500, text="boom")

    app = web.Application()
    app.router.add_get("/warranty/{serial}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}", calls
    finally:
        await runner.cleanup()


async def test_tool_failure_gives_safe_reply_then_handoff(
    tmp_path: Path, http: httpx.AsyncClient, failing_api: tuple[str, list[str]]
) -> None:
    base, calls = failing_api
    root = tmp_path / "pack"
    shutil.copytree(DEMO_BOT, root)
    tools = (root / "tools.yaml").read_text(encoding="utf-8")
    (root / "tools.yaml").write_text(tools.replace("https://api.nuri.example", base), encoding="utf-8")
    (root / "scenarios" / "warranty.yaml").write_text(
        """id: warranty
title: 보증 확인
start: ask
steps:
  ask:
    say: 보증 기간을 확인할까요?
    choices:
      - label: 확인해 주세요
        goto: call
  call:
    tool:
      name: warranty_check
      args: {serial: "NV55Q2026A00123"}
      save_as: warranty
      next: done
  done:
    say: "보증 기간은 {warranty.warranty_until}까지예요."
    end: info
""",
        encoding="utf-8",
    )
    engine = build_engine(load_pack(root), MemoryStore(), http=http, env={"SANGDAM_WARRANTY_TOKEN": "t0k"})
    turn = await engine.handle(msg("tool", "확인해 주세요", payload="flow:warranty:ask:0"))
    assert calls, "the connector really called the API"
    assert turn.handoff is not None and turn.handoff.reason == HandoffReason.TOOL_FAILURE
    assert turn.handoff.tools_tried == ["warranty_check"]
    said = texts(turn.parts)
    assert engine.pack.bot.persona.tool_failure in said
    assert "Traceback" not in said and "500" not in said
    assert isinstance(turn.parts[0], Text)


class RecordingSink:
    """A handoff sink that keeps what it is given (the test's own sink, like a helpdesk would be)."""

    def __init__(self) -> None:
        self.handoffs: list[object] = []
        self.relayed: list[tuple[str, str]] = []

    async def publish(self, handoff: object) -> None:
        self.handoffs.append(handoff)

    async def relay(self, conversation_key: str, text: str) -> None:
        self.relayed.append((conversation_key, text))


async def test_agent_owns_then_releases_the_conversation(pack: BotPack, http: httpx.AsyncClient) -> None:
    sink = RecordingSink()
    engine = build_engine(pack, MemoryStore(), http=http, sinks=[sink])
    await engine.handle(msg("own", "상담원 연결해 주세요"))
    assert len(sink.handoffs) == 1
    assert await engine.claim("test:own", agent="김상담")
    assert await engine.owner_of("test:own") == "agent"
    # While owned: no bot reply, the (masked) message goes to the agent, "resume" cannot take it back.
    quiet = await engine.handle(msg("own", "제 번호는 010-2222-3333 이에요"))
    assert quiet.parts == []
    assert sink.relayed == [("test:own", "제 번호는 <PHONE_1> 이에요")]
    assert (await engine.handle(msg("own", "챗봇과 계속 대화", payload="resume"))).parts == []
    await engine.record_agent_message("test:own", "확인했어요. 010-2222-3333으로 연락드릴게요.")
    await engine.release("test:own")
    assert await engine.owner_of("test:own") == "bot"
    back = await engine.handle(msg("own", "티비 전원이 안 켜져요"))
    assert any(e.name == "scenario_start" for e in back.events)
    conv = await engine.store.load("test:own")
    assert conv is not None
    roles = [e.role for e in conv.transcript]
    assert "agent" in roles and "system" in roles
    assert "010-2222-3333" not in msgspec.json.encode(conv).decode()


async def test_a_failed_turn_does_not_use_up_its_idempotency_key(pack: BotPack, http: httpx.AsyncClient) -> None:
    store = MemoryStore(lock_timeout_s=0.05)
    engine = build_engine(pack, store, http=http)
    async with store.lock("test:retry"):  # another turn holds the conversation: this one times out
        with pytest.raises(TimeoutError):
            await engine.handle(msg("retry", "안녕하세요", idem="m-1"))
    retried = await engine.handle(msg("retry", "안녕하세요", idem="m-1"))
    assert not retried.duplicate and retried.parts
    assert (await engine.handle(msg("retry", "안녕하세요", idem="m-1"))).duplicate


async def test_scenario_button_decides_before_the_escalation_words_in_its_label(
    pack: BotPack, http: httpx.AsyncClient
) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    first = await engine.handle(msg("dispute", "환불하고 싶어요"))
    button = next(b for p in first.parts if isinstance(p, QuickReplies) for b in p.options if "동의" in b.label)
    turn = await engine.handle(msg("dispute", button.label, payload=button.value))
    assert turn.handoff is not None and turn.handoff.reason == HandoffReason.REFUND_DISPUTE
    assert turn.handoff.scenario_step and turn.handoff.scenario_step.startswith("refund_request/")
    assert turn.handoff.priority == "high"


async def test_an_old_button_re_asks_the_phone_instead_of_reusing_a_masked_one(
    pack: BotPack, http: httpx.AsyncClient
) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    steps = ["AS 접수하고 싶어요", "누리비전 QLED 55", "화면에 세로줄이 생겨요", "내일", "네, 접수할게요"]
    buttons: list = []
    confirm = None
    for text in steps:
        pressed = next((b for b in buttons if b.label == text), None)
        turn = await engine.handle(msg("old", text, payload=pressed.value if pressed else None))
        buttons = [b for p in turn.parts if isinstance(p, QuickReplies) for b in p.options]
        confirm = pressed or confirm
    done = await engine.handle(msg("old", "010-1234-5678"))
    assert "AS-" in texts(done.parts)
    assert confirm is not None
    again = await engine.handle(msg("old", confirm.label, payload=confirm.value))  # the old button
    assert "AS-" not in texts(again.parts)
    assert again.result.next_action == "ask"  # the phone is asked for again


async def test_messages_made_only_of_personal_numbers(pack: BotPack, http: httpx.AsyncClient) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    only_rrn = await engine.handle(msg("only", "900101-1234567"))
    assert [e.name for e in only_rrn.events] == ["pii_refused"] and len(only_rrn.parts) == 1
    only_phone = await engine.handle(msg("only", "010-1234-5678"))
    assert only_phone.result.next_action == "answer"
    assert not any(e.name in ("knowledge_answer", "fallback") for e in only_phone.events)
    conv = await engine.store.load("test:only")
    assert conv is not None and conv.fallback_count == 0


async def test_leaving_and_restarting_a_scenario(pack: BotPack, http: httpx.AsyncClient) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    shown = await engine.handle(msg("leave", "주문번호 ORD-20261101-0001 배송 어디쯤이에요"))
    assert "612345678901" in texts(shown.parts)
    other = await engine.handle(msg("leave", "ORD-20261101-0002 도 알려주세요"))
    assert "배송완료" in texts(other.parts) and other.result.customer_id == "C-1002"
    left = await engine.handle(msg("leave", "그만할래요"))
    assert any(e.name == "scenario_left" for e in left.events)
    assert (await engine.store.load("test:leave")).scenario is None  # type: ignore[union-attr]


async def test_bad_rating_payload_and_fast_reply_while_handed_off(pack: BotPack, http: httpx.AsyncClient) -> None:
    engine = build_engine(pack, MemoryStore(), http=http)
    await engine.handle(msg("csat", "E101 오류가 떠요"))
    await engine.handle(msg("csat", "해결됐어요"))
    odd = await engine.handle(msg("csat", "csat", payload="csat:abc"))
    assert not any(e.name == "csat" for e in odd.events)
    await engine.handle(msg("csat", "상담원 연결해 주세요"))
    assert await engine.fast_reply(msg("csat", "배송 기간이 얼마나 걸려요?")) == []
    assert await engine.fast_reply(msg("someone-else", "배송 기간이 얼마나 걸려요?"))


async def test_persona_texts_name_the_brand(pack: BotPack, http: httpx.AsyncClient, tmp_path: Path) -> None:
    root = tmp_path / "pack"
    shutil.copytree(DEMO_BOT, root)
    bot = (root / "bot.yaml").read_text(encoding="utf-8")
    bot = bot.replace("  handoff: |-", "  handoff: |-\n    {brand} 상담직원을 연결해 드릴게요.", 1)
    (root / "bot.yaml").write_text(bot, encoding="utf-8")
    engine = build_engine(load_pack(root), MemoryStore(), http=http)
    assert "누리전자 상담직원을 연결해 드릴게요." in engine.persona.handoff
    turn = await engine.handle(msg("brand", "상담원 연결해 주세요"))
    assert "{brand}" not in texts(turn.parts) and "누리전자 상담직원" in texts(turn.parts)
