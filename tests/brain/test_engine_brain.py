"""The brain inside the real engine (core.assembly wiring): off without a key, on with a base URL."""

from __future__ import annotations

import httpx

from core.assembly import build_engine
from core.brain.memory import MEMORY_KEY
from core.messages import Inbound, Text
from core.pack.schema import BotPack
from core.store.memory import MemoryStore

from .conftest import decision
from .openai_standin import OpenAIStandIn, Reply

OFF_TOPIC = "다음 주 서울 날씨 어때요? 제 번호는 010-4444-5555예요"


def inbound(text: str) -> Inbound:
    return Inbound(channel="web", conversation_key="s1", user_id="u1", text=text)


async def test_engine_runs_without_a_key(pack: BotPack) -> None:
    async with httpx.AsyncClient() as http:
        engine = build_engine(pack, MemoryStore(), http=http, env={}, brain_config={})
        assert engine.brain is None
        turn = await engine.handle(inbound(OFF_TOPIC))
    assert turn.parts  # the local engine answered (its fallback), no error


async def test_engine_asks_the_brain_for_the_long_tail(pack: BotPack, standin: OpenAIStandIn) -> None:
    refusal = "죄송해요, 날씨는 제가 도와드리기 어려워요. 누리전자 제품이나 주문 문의는 언제든 도와드릴게요."
    standin.add(Reply(content=decision(refusal, intent="out_of_scope", summary="날씨 문의")))
    store = MemoryStore()
    async with httpx.AsyncClient() as http:
        env = {"SANGDAM_LLM_BASE_URL": standin.base_url}
        engine = build_engine(pack, store, http=http, env=env, brain_config={"max_retries": 0})
        assert engine.brain is not None
        streamed: list[str] = []

        async def sink(delta: str) -> None:
            streamed.append(delta)

        turn = await engine.handle(inbound(OFF_TOPIC), on_text=sink)

    assert [p.text for p in turn.parts if isinstance(p, Text)] == [refusal]
    assert "".join(streamed) == refusal
    assert any(e.name == "llm_turn" for e in turn.events)
    body = standin.raw_bodies[0]
    assert "010-4444-5555" not in body and "<PHONE_1>" in body
    saved = await store.load("web:s1")
    assert saved is not None and saved.memory[MEMORY_KEY]["usage"]["turns"] == 1
