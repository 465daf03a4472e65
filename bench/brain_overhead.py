"""Per-turn overhead of the brain machinery, excluding model latency.

Runs `Brain.respond` against the tests' stand-in OpenAI-compatible server (real HTTP on loopback, zero
scripted latency) with the demo pack and its real tools. For each turn:

    total     wall time of Brain.respond
    model     time spent awaiting the model client (SDK + loopback HTTP + the stand-in's handler)
    overhead  total - model: prompt building, PII masking/restoring, schema validation, the tool
              adapter and real tool calls, memory, cache (streaming decode runs inside the model
              wait, so the streamed row slightly overstates "model" and understates overhead)

Usage:  .venv/bin/python bench/brain_overhead.py [turns]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.assembly import build_tools  # noqa: E402
from core.brain.brain import Brain, BrainRequest, build_brain  # noqa: E402
from core.conversation import Conversation  # noqa: E402
from core.knowledge.search import KnowledgeIndex  # noqa: E402
from core.messages import TranscriptEntry  # noqa: E402
from core.nlu.classifier import IntentPrediction  # noqa: E402
from core.pack.loader import load_pack  # noqa: E402
from core.store.memory import MemoryStore  # noqa: E402
from tests.brain.conftest import decision, tool_messages  # noqa: E402
from tests.brain.openai_standin import OpenAIStandIn, Reply  # noqa: E402

ORDER_ID = "ORD-20261101-0001"


def _conversation() -> Conversation:
    conv = Conversation(key="web:bench", channel="web", user_id="u1", slots={"product": "누리링크 AX3000"})
    for i in range(5):
        conv.transcript.append(TranscriptEntry(role="customer", text=f"공유기 질문 {i} <PHONE_1>", at=1.0 + 2 * i))
        conv.transcript.append(TranscriptEntry(role="bot", text=f"답변 {i}: 공유기를 재부팅해 보세요.", at=2.0 + 2 * i))
    return conv


def _order_answer(body: dict[str, Any]) -> Reply:
    return Reply(content=decision(tool_messages(body)[0]["status_detail"], order_id=ORDER_ID))


SCENARIOS: dict[str, Callable[[], list[Reply | Callable[[dict[str, Any]], Reply]]]] = {
    "answer (1 call)": lambda: [Reply(content=decision("공유기 뒷면 RESET 구멍을 10초 이상 눌러 주세요."))],
    "answer, streamed": lambda: [
        Reply(content=decision("공유기 뒷면 RESET 구멍을 10초 이상 눌러 주세요. 확인은 <PHONE_1>로 보내 드려요."))
    ],
    "get_order round trip (2 calls)": lambda: [
        Reply(tool_calls=[("get_order", {"order_id": ORDER_ID})]),
        _order_answer,
    ],
}


async def _run(brain: Brain, server: OpenAIStandIn, knowledge: KnowledgeIndex, name: str, turns: int) -> None:
    totals, model = [], []
    stream = "streamed" in name
    prediction = IntentPrediction("settings_help", 0.42, [("settings_help", 0.42)])
    hits = knowledge.search("공유기 초기화 방법", 3)

    async def sink(_: str) -> None:
        return None

    for i in range(turns + 10):
        server.add(*SCENARIOS[name]())
        req = BrainRequest(
            conversation=_conversation(),
            masked_text=f"공유기 초기화는 어떻게 해요? {i} <PHONE_1>",  # the placeholder keeps the cache out
            pii_originals={"<PHONE_1>": "010-1234-5678"},
            prediction=prediction,
            knowledge=hits,
            on_text=sink if stream else None,
        )
        before = brain.client.stats.seconds
        started = time.perf_counter()
        reply = await brain.respond(req)
        elapsed = time.perf_counter() - started
        assert reply.result.next_action != "fallback", reply
        if i >= 10:  # warm-up turns excluded
            totals.append(elapsed)
            model.append(brain.client.stats.seconds - before)
    _print(name, totals, model)


async def _run_cache_hits(brain: Brain, server: OpenAIStandIn, turns: int) -> None:
    server.add(Reply(content=decision("단순 변심은 7일 이내 미개봉이면 환불돼요.", general_answer=True)))
    await brain.respond(_plain_request("단순 변심 환불 기간이 어떻게 되나요?"))
    totals = []
    for _ in range(turns):
        started = time.perf_counter()
        reply = await brain.respond(_plain_request("단순변심 환불 기간이 어떻게 되나요"))
        totals.append(time.perf_counter() - started)
        assert reply.usage["cached"] == 1
    _print("duplicate-question cache hit (0 calls)", totals, [0.0] * len(totals))


def _plain_request(text: str) -> BrainRequest:
    return BrainRequest(conversation=_conversation(), masked_text=text, pii_originals={}, prediction=None, knowledge=[])


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _print(name: str, totals: list[float], model: list[float]) -> None:
    overhead = [t - m for t, m in zip(totals, model, strict=True)]
    print(
        f"{name:<40} total p50 {_ms(totals, 0.5):6.2f} ms | model+HTTP p50 {_ms(model, 0.5):6.2f} ms | "
        f"brain overhead p50 {_ms(overhead, 0.5):5.2f} ms  p95 {_ms(overhead, 0.95):5.2f} ms  "
        f"mean {1000 * statistics.fmean(overhead):5.2f} ms"
    )


async def main(turns: int) -> None:
    pack = load_pack(ROOT / "bots" / "demo")
    store = MemoryStore()
    knowledge = KnowledgeIndex(pack.faq)
    server = OpenAIStandIn()
    await server.start()
    try:
        async with httpx.AsyncClient() as http:
            tools = build_tools(pack, store, knowledge, http, {})
            env = {"SANGDAM_LLM_BASE_URL": server.base_url}
            brain = build_brain({"max_retries": 0, "cache_ttl_s": 600}, pack, tools, store, env)
            assert brain is not None
            print(f"Brain overhead per turn over {turns} turns (stand-in on loopback, no scripted latency)")
            for name in SCENARIOS:
                await _run(brain, server, knowledge, name, turns)
            await _run_cache_hits(brain, server, turns)
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
