"""Sparse TF-IDF vectors as plain dicts: small vocabularies, no numpy needed."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

SparseVector = dict[str, float]
Featurizer = Callable[[str], Counter[str]]


class TfidfVectorizer:
    """Sublinear TF x smoothed IDF, L2-normalised.

    Features unseen in training get the highest IDF and count in the norm before being dropped: a
    query made mostly of unknown n-grams ("asdf", "배고파") must not look like a perfect match to
    the one known n-gram it shares with the training data. `unseen_weight` scales that
    penalty; 0 gives plain TF-IDF.
    """

    def __init__(self, featurize: Featurizer, documents: Iterable[str], unseen_weight: float = 1.0) -> None:
        self._featurize = featurize
        self._unseen_weight = unseen_weight
        doc_freq: Counter[str] = Counter()
        count = 0
        for document in documents:
            doc_freq.update(featurize(document).keys())
            count += 1
        self.idf: dict[str, float] = {
            feature: math.log((1 + count) / (1 + df)) + 1.0 for feature, df in doc_freq.items()
        }
        self.unseen_idf = math.log(1 + count) + 1.0

    def transform(self, text: str) -> SparseVector:
        weights: SparseVector = {}
        norm_sq = 0.0
        for feature, tf in self._featurize(text).items():
            idf = self.idf.get(feature)
            if idf is None:
                norm_sq += ((1.0 + math.log(tf)) * self.unseen_idf * self._unseen_weight) ** 2
                continue
            weight = (1.0 + math.log(tf)) * idf
            norm_sq += weight * weight
            weights[feature] = weight
        if not weights:
            return {}
        norm = math.sqrt(norm_sq)
        return {feature: weight / norm for feature, weight in weights.items()}


def l2_normalize(vector: SparseVector) -> SparseVector:
    norm = math.sqrt(sum(value * value for value in vector.values()))
    if norm == 0.0:
        return {}
    return {feature: value / norm for feature, value in vector.items()}


def dot(a: SparseVector, b: SparseVector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(value * b.get(feature, 0.0) for feature, value in a.items())
