"""Fixtures for the brain tests: the stand-in OpenAI-compatible server, the demo pack and its real tools."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.assembly import build_tools
from core.brain.brain import Brain, BrainRequest, build_brain
from core.conversation import Conversation
from core.knowledge.search import KnowledgeIndex
from core.messages import TranscriptEntry
from core.pack.loader import load_pack
from core.pack.schema import BotPack
from core.policy.pii import mask_pii
from core.store.memory import MemoryStore
from core.tools.registry import ToolRegistry

from .openai_standin import OpenAIStandIn

DEMO = Path(__file__).resolve().parents[2] / "bots" / "demo"


@pytest.fixture(scope="session")
def pack() -> BotPack:
    return load_pack(DEMO)


@pytest.fixture
async def standin() -> AsyncIterator[OpenAIStandIn]:
    """The stand-in server. After every test: no request it received held detectable PII."""
    server = OpenAIStandIn()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    leaks = [
        (finding.kind.value, text[finding.start : finding.end])
        for body in server.requests
        for text in _strings(body)
        for finding in mask_pii(text).findings
    ]
    assert leaks == [], f"unmasked personal data reached the model: {leaks}"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def knowledge(pack: BotPack) -> KnowledgeIndex:
    return KnowledgeIndex(pack.faq)


@pytest.fixture
async def registry(pack: BotPack, store: MemoryStore, knowledge: KnowledgeIndex) -> AsyncIterator[ToolRegistry]:
    """The demo pack's real tools (get_order, create_ticket, kb_search, the HTTP connector)."""
    async with httpx.AsyncClient() as http:
        yield build_tools(pack, store, knowledge, http, {})


BrainFactory = Callable[..., Brain]


@pytest.fixture
def make_brain(pack: BotPack, registry: ToolRegistry, store: MemoryStore, standin: OpenAIStandIn) -> BrainFactory:
    def make(registry_override: ToolRegistry | None = None, **config: Any) -> Brain:
        settings: dict[str, Any] = {"max_retries": 0, "timeout_s": 5.0, "model": "cheap-model", **config}
        brain = build_brain(
            settings, pack, registry_override or registry, store, {"SANGDAM_LLM_BASE_URL": standin.base_url}
        )
        assert brain is not None
        return brain

    return make


def conversation(*lines: tuple[str, str], slots: dict[str, str] | None = None) -> Conversation:
    """A conversation whose transcript holds `lines` as (role, text), oldest first."""
    conv = Conversation(key="web:test", channel="web", user_id="u1", slots=dict(slots or {}))
    for i, (role, text) in enumerate(lines):
        conv.transcript.append(TranscriptEntry(role=role, text=text, at=1_000_000.0 + i))  # type: ignore[arg-type]
    return conv


def request(text: str, conv: Conversation | None = None, **kw: Any) -> BrainRequest:
    fields: dict[str, Any] = {"pii_originals": {}, "prediction": None, "knowledge": []}
    fields.update(kw)
    return BrainRequest(conversation=conv or conversation(), masked_text=text, **fields)


def decision(reply: str, action: str = "answer", **fields: Any) -> str:
    """A final structured answer as the model would write it."""
    body: dict[str, Any] = {
        "reply": reply,
        "action": action,
        "handoff_reason": None,
        "intent": "other",
        "customer_id": None,
        "order_id": None,
        "issue_type": None,
        "summary": "",
        "general_answer": False,
    }
    body.update(fields)
    return json.dumps(body, ensure_ascii=False)


def tool_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results the client sent back, parsed."""
    return [json.loads(m["content"]) for m in body["messages"] if m["role"] == "tool"]
