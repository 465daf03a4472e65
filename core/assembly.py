"""Builds an Engine and its parts from a bot pack: the one place the core's pieces are wired."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import httpx
import msgspec

from core.engine import Engine
from core.flows.engine import FlowEngine
from core.handoff import HandoffSink
from core.knowledge.search import KnowledgeIndex
from core.metrics import Metrics
from core.nlu.classifier import IntentClassifier, lexicon_featurizer
from core.nlu.lexicon import TextLexicon
from core.pack.media import resolve_media
from core.pack.schema import BotPack
from core.particles import fill as fill_particles
from core.policy.escalation import EscalationPolicy
from core.store.base import Store
from core.tools.builtin import KST, builtin_tools
from core.tools.http import http_tool
from core.tools.registry import ToolRegistry


def build_tools(
    pack: BotPack, store: Store, knowledge: KnowledgeIndex, http: httpx.AsyncClient, env: Mapping[str, str]
) -> ToolRegistry:
    def search(query: str, limit: int) -> list[dict[str, Any]]:
        return [
            {
                "id": h.entry.id,
                "question": h.entry.question,
                "answer": h.entry.answer,
                "landing_url": h.entry.landing_url or "",
                "score": round(h.score, 3),
            }
            for h in knowledge.search(query, limit)
        ]

    registry = ToolRegistry()
    for tool in builtin_tools(pack, store, search).values():
        registry.register(tool)
    for spec in pack.tools:
        if spec.http is not None:
            registry.register(http_tool(spec, http, env))
    return registry


def build_engine(
    pack: BotPack,
    store: Store,
    *,
    http: httpx.AsyncClient,
    env: Mapping[str, str] | None = None,
    sinks: Sequence[HandoffSink] = (),
    brain_config: Mapping[str, Any] | None = None,
    metrics: Metrics | None = None,
    today: Callable[[], date] = lambda: datetime.now(KST).date(),  # customers' "내일" is Korean time
    public_url: str | None = None,
) -> Engine:
    """`public_url` (the gateway's address) turns the pack's own images (`media/x.png`) into absolute URLs."""
    env = env or {}
    pack = _with_names(pack)
    if public_url:
        pack = resolve_media(pack, public_url)
    lexicon = pack_lexicon(pack)
    knowledge = KnowledgeIndex(pack.faq, lexicon)
    tools = build_tools(pack, store, knowledge, http, env)
    brain = None
    if brain_config is not None:
        from core.brain.brain import build_brain  # optional part: imported only when configured

        brain = build_brain(dict(brain_config), pack, tools, store, env)
    return Engine(
        pack=pack,
        store=store,
        nlu=train_classifier(pack, lexicon),
        knowledge=knowledge,
        flows=FlowEngine(pack, tools, today),
        tools=tools,
        escalation=EscalationPolicy(pack.escalation),
        sinks=sinks,
        brain=brain,
        metrics=metrics,
    )


def pack_lexicon(pack: BotPack) -> TextLexicon:
    """The pack's own words (lexicon.yaml): read the same way by the intent classifier and the FAQ index."""
    return TextLexicon(pack.lexicon.synonyms, pack.lexicon.products)


def train_classifier(pack: BotPack, lexicon: TextLexicon | None = None) -> IntentClassifier:
    """The intent classifier of a pack, as the engine uses it (`sangdam eval nlu` measures this one)."""
    featurize = lexicon_featurizer(lexicon or pack_lexicon(pack))
    return IntentClassifier.train(pack.intents, threshold=pack.bot.thresholds.nlu, featurize=featurize)


def _with_names(pack: BotPack) -> BotPack:
    """FAQ texts with {brand}/{name} filled (particles fitted), so every channel and the search see them."""
    names = {"brand": pack.bot.brand, "name": pack.bot.name}

    def fill(text: str) -> str:
        return fill_particles(text, names, missing=None) if "{" in text else text

    faq = [
        msgspec.structs.replace(
            entry,
            question=fill(entry.question),
            answer=fill(entry.answer),
            alt_questions=[fill(q) for q in entry.alt_questions],
        )
        for entry in pack.faq
    ]
    return msgspec.structs.replace(pack, faq=faq)
