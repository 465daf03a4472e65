"""Duplicate-question cache for FAQ-style answers, kept in the shared Store (memory or Redis).

Only general answers are cached (the model marked them `general_answer`, no personal placeholders, no
tools other than knowledge search), so a hit can never leak one customer's data to another. Keys are
scoped by a fingerprint of the prompt inputs (persona, policies, FAQ), so editing the pack invalidates
old answers. Exact duplicates are found by key after normalisation (case, spacing, punctuation);
near-duplicates by character-bigram Jaccard similarity against a bounded index of recent questions,
and only when their digit and Latin tokens (sizes, model names, order ids) are identical: "55인치" and
"65인치" questions are a few bigrams apart but want different answers.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import msgspec

from core.store.base import Store

_INDEX_SIZE = 200
_MIN_CHARS = 4  # "네", "환불?" are too short to be sure what was asked
_STRIP_RE = re.compile(r"[\s\W_]+", re.UNICODE)
_EXACT_TOKEN_RE = re.compile(r"[0-9]+|[a-z]+")


class CachedAnswer(msgspec.Struct, kw_only=True):
    reply: str
    intent: str
    issue_type: str | None
    summary: str


def normalize_question(text: str) -> str:
    return _STRIP_RE.sub("", unicodedata.normalize("NFKC", text).lower())


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def exact_tokens(normalized: str) -> list[str]:
    """Digit and Latin runs, in order: the parts of a question a near match must not change."""
    return _EXACT_TOKEN_RE.findall(normalized)


def similarity(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y)


class AnswerCache:
    def __init__(self, store: Store, namespace: str, ttl_s: float, min_similarity: float) -> None:
        self._store = store
        self._prefix = f"brain:answer:{namespace}:"
        self._index_key = f"brain:answer-index:{namespace}"
        self._ttl_s = ttl_s
        self._min_similarity = min_similarity

    def _key(self, normalized: str) -> str:
        return self._prefix + hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]

    async def get(self, question: str) -> CachedAnswer | None:
        normalized = normalize_question(question)
        if len(normalized) < _MIN_CHARS:
            return None
        found = await self._load(self._key(normalized))
        if found is not None or self._min_similarity >= 1.0:
            return found
        best, best_score = None, self._min_similarity
        tokens = exact_tokens(normalized)
        for candidate in await self._index():
            if exact_tokens(candidate) != tokens:
                continue
            score = similarity(normalized, candidate)
            if score >= best_score:
                best, best_score = candidate, score
        return None if best is None else await self._load(self._key(best))

    async def put(self, question: str, answer: CachedAnswer) -> None:
        normalized = normalize_question(question)
        if len(normalized) < _MIN_CHARS:
            return
        await self._store.put(self._key(normalized), msgspec.json.encode(answer), self._ttl_s)
        index = [q for q in await self._index() if q != normalized]
        index.append(normalized)
        # Best effort across processes: a lost index update only costs a near-duplicate miss.
        await self._store.put(self._index_key, msgspec.json.encode(index[-_INDEX_SIZE:]), self._ttl_s)

    async def _load(self, key: str) -> CachedAnswer | None:
        raw = await self._store.get(key)
        if raw is None:
            return None
        try:
            return msgspec.json.decode(raw, type=CachedAnswer)
        except msgspec.DecodeError:
            return None

    async def _index(self) -> list[str]:
        raw = await self._store.get(self._index_key)
        if raw is None:
            return []
        try:
            return msgspec.json.decode(raw, type=list[str])
        except msgspec.DecodeError:
            return []
