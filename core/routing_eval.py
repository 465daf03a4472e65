"""Where does a bot pack send free-form messages? Each one as the first message of a new conversation.

A row of the TSV file (`text<TAB>expected`) names what the bot should do with the message:
`faq:<id>` (answer that FAQ entry), `scenario:<id>` (start that scenario), `intent:<id>` (the intent's
fixed reply; `intent:out_of_scope` for the polite fallback) or `handoff` (hand the customer to a person).
The turn runs through the whole engine (PII guard, escalation, NLU, knowledge, scenarios), so what is
measured is what a customer would get.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from core.engine import OUT_OF_SCOPE, Engine
from core.messages import Inbound, Turn
from core.nlu.evaluate import classification_report, read_tsv
from core.policy.pii import mask_pii, strip_placeholders

ROUTING_HEADER = ["text", "expected"]
HANDOFF = "handoff"
CLARIFY = "clarify"


def read_routing_tsv(path: str | Path) -> list[tuple[str, str]]:
    return read_tsv(path, header=ROUTING_HEADER)


def routed_to(turn: Turn) -> str:
    """What the bot did with a first message, in the labels of a routing file."""
    if turn.handoff is not None:
        return HANDOFF
    for event in turn.events:
        if event.name == "scenario_start":
            return f"scenario:{event.data['scenario']}"
        if event.name == "knowledge_answer" and "faq" in event.data:
            return f"faq:{event.data['faq']}"
        if event.name == CLARIFY:
            return CLARIFY
    return f"intent:{turn.result.intent or OUT_OF_SCOPE}"


def candidates(engine: Engine, text: str) -> dict[str, list[tuple[str, float]]]:
    """The NLU's and the FAQ index's top candidates for `text`, as the engine sees it (masked)."""
    seen = strip_placeholders(mask_pii(text).text)
    prediction = engine.nlu.predict(seen)
    hits = engine.knowledge.search(seen, limit=3)
    return {
        "intents": [(intent, round(score, 3)) for intent, score in prediction.ranking],
        "faq": [(hit.entry.id, round(hit.score, 3)) for hit in hits],
    }


async def evaluate_routing(engine: Engine, rows: list[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall, confusion, errors with candidates, turn latency p50/p99."""
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    errors: list[dict[str, Any]] = []
    latencies: list[float] = []
    for text, expected in rows:
        key = f"eval:{uuid.uuid4().hex}"
        inbound = Inbound(channel="eval", conversation_key=key, user_id=key, text=text)
        started = time.perf_counter()
        turn = await engine.handle(inbound)
        latencies.append((time.perf_counter() - started) * 1000.0)
        got = routed_to(turn)
        confusion[expected][got] += 1
        if got != expected:
            errors.append({"text": text, "expected": expected, "got": got, "candidates": candidates(engine, text)})
    report = classification_report(confusion, latencies)
    return {
        "rows": len(rows),
        "accuracy": report["accuracy"],
        "per_class": report["per_class"],
        "confusion": report["confusion"],
        "errors": errors,
        "latency_ms": report["latency_ms"],
    }
