"""FAQ search: which knowledge-base entry answers a customer's question.

Features are character 2-4-grams of the normalised, spacing-removed text (as in the intent
classifier), so "와이파이비번변경" finds "와이파이 비밀번호는 어떻게 바꾸나요?". Generic request endings
("어떻게 하나요", "알려주세요", "방법") are removed first: every FAQ question has them, so they
would otherwise decide between entries.

An entry's raw score is the mean of two cosines: its closest question (question + alt_questions)
and its answer text (+ categories), which names the things customers ask about even when no
question is phrased like theirs. The raw score is mapped to 0..1 by a piecewise-linear calibration
measured on the demo FAQ with hand-written paraphrases and unrelated questions: unrelated ones
stayed at or below a raw 0.072 and most clear paraphrases above 0.16.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict

import msgspec

from core.nlu.features import char_ngrams
from core.nlu.lexicon import expand_synonyms
from core.nlu.normalize import normalize
from core.nlu.vectorize import TfidfVectorizer
from core.pack.schema import FaqEntry

UNSEEN_WEIGHT = 1.0  # unknown query n-grams count fully in its norm (see TfidfVectorizer)
# Calibration knots (raw -> score), linear between them, clipped to 0..1.
_KNOTS = ((0.0, 0.0), (0.08, 0.3), (0.16, 0.55), (0.6, 1.0))

_GENERIC_ENDINGS = [
    "어떻게 하면 되나요",
    "어떻게 하나요",
    "어떻게 해요",
    "어떻게 돼요",
    "어떻게 되나요",
    "어떻게 되요",
    "할 수 있나요",
    "수 있나요",
    "하고 싶어요",
    "하고 싶은데요",
    "싶어요",
    "알려 주세요",
    "알려주세요",
    "하는 법",
    "방법",
    "하려면",
    "해 주나요",
    "되나요",
    "돼요",
    "있나요",
    "있어요",
    "가능한가요",
    "가능해요",
    "뭐예요",
    "뭔가요",
    "인가요",
    "하나요",
    "나요",
    "주세요",
    "궁금해요",
    "어떻게",
    "좀",
    "문의",
    "하는",
    "해요",
    "할래요",
]
# Each ending matches with or without spaces inside it, only at the end of a word.
_GENERIC = re.compile(
    "(?:{})(?= |$)".format(
        "|".join(
            " ?".join(map(re.escape, ending.replace(" ", "")))
            for ending in sorted(_GENERIC_ENDINGS, key=len, reverse=True)
        )
    )
)


def _featurize(text: str) -> Counter[str]:
    # Unigrams are left out: single syllables (요, 어, 해) match almost every FAQ entry.
    text = normalize(text)
    for _ in range(3):  # "리셋하는 방법": stripping "방법" exposes "하는"
        stripped = " ".join(_GENERIC.sub(" ", text).split())
        if stripped == text:
            break
        text = stripped
    return char_ngrams(expand_synonyms(text), n_min=2, n_max=4)


def calibrate(raw: float) -> float:
    """Map a raw score to the 0..1 scale of bot.yaml's knowledge thresholds (0.3 suggest, 0.55 answer)."""
    for (x0, y0), (x1, y1) in itertools.pairwise(_KNOTS):
        if raw <= x1:
            return max(0.0, y0 + (raw - x0) * (y1 - y0) / (x1 - x0))
    return 1.0


class KnowledgeHit(msgspec.Struct, frozen=True):
    entry: FaqEntry
    score: float  # 0..1; >= 0.55 a clear match, < 0.3 unrelated


class KnowledgeIndex:
    """Built once per bot pack; `search` is synchronous, pure CPU and fast."""

    def __init__(self, entries: list[FaqEntry]) -> None:
        self._entries = list(entries)
        questions = [
            (entry_id, question)
            for entry_id, entry in enumerate(self._entries)
            for question in [entry.question, *entry.alt_questions]
        ]
        bodies = [" ".join([entry.answer, *entry.categories]) for entry in self._entries]
        self._vectorizer = TfidfVectorizer(
            _featurize, [*(q for _, q in questions), *bodies], unseen_weight=UNSEEN_WEIGHT
        )
        self._question_entry: list[int] = []
        self._question_index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for question_id, (entry_id, question) in enumerate(questions):
            self._question_entry.append(entry_id)
            for feature, weight in self._vectorizer.transform(question).items():
                self._question_index[feature].append((question_id, weight))
        self._body_index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for entry_id, body in enumerate(bodies):
            for feature, weight in self._vectorizer.transform(body).items():
                self._body_index[feature].append((entry_id, weight))

    def raw_scores(self, query: str) -> dict[int, float]:
        """Entry position -> raw score (0..1) for entries sharing any feature with the query."""
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
        return {
            entry_id: (closest.get(entry_id, 0.0) + per_body.get(entry_id, 0.0)) / 2.0
            for entry_id in closest.keys() | per_body.keys()
        }

    def search(self, query: str, limit: int = 3) -> list[KnowledgeHit]:
        """Best entries first, at most `limit`; empty when nothing in the query is known."""
        if limit <= 0:
            return []
        ranked = sorted(self.raw_scores(query).items(), key=lambda pair: (-pair[1], pair[0]))
        return [
            KnowledgeHit(entry=self._entries[entry_id], score=round(calibrate(raw), 4))
            for entry_id, raw in ranked[:limit]
        ]
