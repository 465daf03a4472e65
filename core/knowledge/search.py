"""FAQ search: which knowledge-base entry answers a customer's question.

Features are character 2-4-grams of the normalised, spacing-removed text (as in the intent
classifier), after the pack's lexicon, so "와이파이비번변경" finds "와이파이 비밀번호는 어떻게 바꾸나요?" and
"리모콘" finds "리모컨". Generic request endings ("어떻게 하나요", "알려주세요", "방법") are removed first
(core.nlu.normalize.strip_question_endings): every FAQ question has them, so they would otherwise
decide between entries.

Scorers (`METHODS`, compared by bench/nlu_methods.py --knowledge, table in docs/nlu.md):
- "tfidf": the mean of two cosines, the entry's closest question (question + alt_questions) and its
  answer text (+ categories), which names the things customers ask about even when no question is
  phrased like theirs;
- "vote" (default): "tfidf" mixed with a vote of the query's nearest example questions;
- "bm25": the same two fields scored with BM25 over the n-grams.
Raw scores are mapped to 0..1 by a piecewise-linear calibration (unrelated questions stay below 0.3,
clear paraphrases above 0.55). Entries tagged only with products the query does not name are left out.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter, defaultdict

import msgspec

from core.nlu.features import char_ngrams
from core.nlu.lexicon import GENERIC_LEXICON, TextLexicon
from core.nlu.normalize import normalize, strip_question_endings
from core.nlu.vectorize import Featurizer, TfidfVectorizer
from core.pack.schema import FaqEntry

UNSEEN_WEIGHT = 1.0  # unknown query n-grams count fully in its norm (see TfidfVectorizer)
SEARCH_CACHE_SIZE = 4096
DEFAULT_METHOD = "vote"  # chosen by bench/nlu_methods.py --knowledge (docs/nlu.md)
VOTE_K = 5  # "vote": nearest example questions that vote
VOTE_WEIGHT = 0.3  # "vote": share of the score that comes from the vote
BM25_K1, BM25_B = 1.2, 0.75
# Scorers and their calibration knots (raw -> score), linear between them, clipped to 0..1.
METHODS: dict[str, tuple[tuple[float, float], ...]] = {
    "tfidf": ((0.0, 0.0), (0.08, 0.3), (0.16, 0.55), (0.6, 1.0)),
    "vote": ((0.0, 0.0), (0.08, 0.3), (0.16, 0.55), (0.6, 1.0)),
    "bm25": ((0.0, 0.0), (0.08, 0.3), (0.16, 0.55), (0.6, 1.0)),
}


def make_featurizer(lexicon: TextLexicon = GENERIC_LEXICON) -> Featurizer:
    """Character 2-4-grams of the normalised text, synonyms applied, generic request endings removed."""

    def featurize(text: str) -> Counter[str]:
        # Unigrams are left out: single syllables (요, 어, 해) match almost every FAQ entry.
        return char_ngrams(lexicon.expand(strip_question_endings(normalize(text))), n_min=2, n_max=4)

    return featurize


def calibrate(raw: float, method: str = DEFAULT_METHOD) -> float:
    """Map a raw score to the 0..1 scale of bot.yaml's knowledge thresholds (0.3 suggest, 0.55 answer)."""
    for (x0, y0), (x1, y1) in itertools.pairwise(METHODS[method]):
        if raw <= x1:
            return max(0.0, y0 + (raw - x0) * (y1 - y0) / (x1 - x0))
    return 1.0


class KnowledgeHit(msgspec.Struct, frozen=True):
    entry: FaqEntry
    score: float  # 0..1; >= 0.55 a clear match, < 0.3 unrelated


class KnowledgeIndex:
    """Built once per bot pack; `search` is synchronous, pure CPU and fast.

    `lexicon` (the pack's words) is applied to entries and queries alike, and names the products a
    query is about: entries tagged only with other products are never returned for it. `method`
    selects the scorer (see `METHODS`; bench/nlu_methods.py compares them).
    """

    def __init__(
        self,
        entries: list[FaqEntry],
        lexicon: TextLexicon | None = None,
        *,
        method: str = DEFAULT_METHOD,
        featurize: Featurizer | None = None,  # another tokenisation, for the comparison bench
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown knowledge search method {method!r}; one of {sorted(METHODS)}")
        self._entries = list(entries)
        self._lexicon = lexicon or GENERIC_LEXICON
        self._method = method
        self._cached_search = functools.lru_cache(maxsize=SEARCH_CACHE_SIZE)(self._search)
        self.products_in = functools.lru_cache(maxsize=SEARCH_CACHE_SIZE)(self._products_in)  # type: ignore[method-assign]
        self._products = _entry_products(self._entries, self._lexicon)
        featurize = featurize or make_featurizer(self._lexicon)
        questions = [
            (entry_id, question)
            for entry_id, entry in enumerate(self._entries)
            for question in [entry.question, *entry.alt_questions]
        ]
        bodies = [" ".join([entry.answer, *entry.categories]) for entry in self._entries]
        self._vectorizer = TfidfVectorizer(
            featurize, [*(q for _, q in questions), *bodies], unseen_weight=UNSEEN_WEIGHT
        )
        self._question_entry: list[int] = []
        self._question_index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._body_index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        if method == "bm25":
            self._bm25_build(featurize, questions, bodies)
            return
        for question_id, (entry_id, question) in enumerate(questions):
            self._question_entry.append(entry_id)
            for feature, weight in self._vectorizer.transform(question).items():
                self._question_index[feature].append((question_id, weight))
        for entry_id, body in enumerate(bodies):
            for feature, weight in self._vectorizer.transform(body).items():
                self._body_index[feature].append((entry_id, weight))

    # --- scoring ---------------------------------------------------------------------------------

    def raw_scores(self, query: str) -> dict[int, float]:
        """Entry position -> raw score (0..1) for entries sharing any feature with the query."""
        if self._method == "bm25":
            return self._bm25_scores(query)
        per_question: dict[int, float] = defaultdict(float)
        per_body: dict[int, float] = defaultdict(float)
        for feature, weight in self._vectorizer.transform(query).items():
            for question_id, question_weight in self._question_index.get(feature, ()):
                per_question[question_id] += weight * question_weight
            for entry_id, body_weight in self._body_index.get(feature, ()):
                per_body[entry_id] += weight * body_weight
        closest: dict[int, float] = {}
        for question_id, similarity in per_question.items():
            entry_id = self._question_entry[question_id]
            closest[entry_id] = max(closest.get(entry_id, 0.0), similarity)
        raw = {
            entry_id: (closest.get(entry_id, 0.0) + per_body.get(entry_id, 0.0)) / 2.0
            for entry_id in closest.keys() | per_body.keys()
        }
        if self._method == "vote":
            # The nearest example questions vote for their entry: an entry that owns several of the
            # query's nearest neighbours is more likely than one whose single question is as close.
            nearest = sorted(per_question.items(), key=lambda pair: -pair[1])[:VOTE_K]
            total = sum(similarity for _, similarity in nearest)
            if total > 0.0:
                votes: dict[int, float] = defaultdict(float)
                for question_id, similarity in nearest:
                    votes[self._question_entry[question_id]] += similarity / total
                top = nearest[0][1]
                for entry_id in raw:
                    raw[entry_id] = (1.0 - VOTE_WEIGHT) * raw[entry_id] + VOTE_WEIGHT * top * votes.get(entry_id, 0.0)
        return raw

    def _bm25_build(self, featurize: Featurizer, questions: list[tuple[int, str]], bodies: list[str]) -> None:
        """BM25 postings (term frequency, document length) over the same n-grams, per question and per body."""
        self._featurize = featurize
        self._bm25_docs: list[dict[str, list[tuple[int, float]]]] = []
        self._bm25_idf: list[dict[str, float]] = []
        for documents in ([q for _, q in questions], bodies):
            counts = [featurize(document) for document in documents]
            average = sum(sum(c.values()) for c in counts) / max(1, len(counts))
            doc_freq: Counter[str] = Counter()
            for c in counts:
                doc_freq.update(c.keys())
            n = len(counts)
            idf = {f: math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for f, df in doc_freq.items()}
            postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
            for doc_id, c in enumerate(counts):
                norm = BM25_K1 * (1.0 - BM25_B + BM25_B * sum(c.values()) / max(average, 1e-9))
                for feature, tf in c.items():
                    postings[feature].append((doc_id, tf * (BM25_K1 + 1.0) / (tf + norm)))
            self._bm25_docs.append(postings)
            self._bm25_idf.append(idf)
        self._question_entry = [entry_id for entry_id, _ in questions]

    def _bm25_scores(self, query: str) -> dict[int, float]:
        """Per field, BM25 divided by the query's best possible score (all its n-grams matched), 0..1."""
        features = self._featurize(query)
        fields: list[dict[int, float]] = []
        for postings, idf in zip(self._bm25_docs, self._bm25_idf, strict=True):
            unseen = max(idf.values(), default=1.0)
            ideal = sum(idf.get(f, unseen) * (BM25_K1 + 1.0) for f in features) or 1.0
            scores: dict[int, float] = defaultdict(float)
            for feature in features:
                weight = idf.get(feature)
                if weight is None:
                    continue
                for doc_id, saturated in postings.get(feature, ()):
                    scores[doc_id] += weight * saturated
            fields.append({doc_id: score / ideal for doc_id, score in scores.items()})
        closest: dict[int, float] = {}
        for question_id, score in fields[0].items():
            entry_id = self._question_entry[question_id]
            closest[entry_id] = max(closest.get(entry_id, 0.0), score)
        return {
            entry_id: (closest.get(entry_id, 0.0) + fields[1].get(entry_id, 0.0)) / 2.0
            for entry_id in closest.keys() | fields[1].keys()
        }

    # --- search ----------------------------------------------------------------------------------

    @property
    def lexicon(self) -> TextLexicon:
        return self._lexicon

    def products_in(self, query: str) -> frozenset[str]:
        """Product ids (lexicon.products) the query names (cached per query, see __init__)."""
        return self._products_in(query)

    def _products_in(self, query: str) -> frozenset[str]:
        return self._lexicon.products_in(self._lexicon.featurize_text(query))

    def search(self, query: str, limit: int = 3) -> list[KnowledgeHit]:
        """Best entries first, at most `limit`; empty when nothing in the query is known.

        An entry tagged only with products other than the ones the query names is left out ("사운드바
        소리가 안 나요" never gets the TV's no-sound answer); a query naming no product filters nothing.
        Results are cached per (query, limit): chat traffic repeats itself, and a search is pure.
        """
        if limit <= 0:
            return []
        return list(self._cached_search(query, limit))

    def _search(self, query: str, limit: int) -> tuple[KnowledgeHit, ...]:
        raw = self.raw_scores(query)
        named = self.products_in(query) if self._products else frozenset()
        ranked = sorted(
            (
                (entry_id, score)
                for entry_id, score in raw.items()
                if not named or not self._products[entry_id] or self._products[entry_id] & named
            ),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return tuple(
            KnowledgeHit(entry=self._entries[entry_id], score=round(calibrate(raw_score, self._method), 4))
            for entry_id, raw_score in ranked[:limit]
        )


def _entry_products(entries: list[FaqEntry], lexicon: TextLexicon) -> list[frozenset[str]]:
    """Each entry's products: its `products:` tags; in a pack that tags none, the products its
    question and categories name (so the filter works before the tags are written)."""
    if any(entry.products for entry in entries):
        return [frozenset(entry.products) for entry in entries]
    if not lexicon.products:
        return []
    return [
        lexicon.products_in(lexicon.featurize_text(" ".join([entry.question, *entry.categories]))) for entry in entries
    ]
