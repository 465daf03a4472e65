"""Character n-gram features for Korean text.

Korean words carry particles and endings (안켜져요 / 안 켜지네요 / 안켜짐), and customers space
inconsistently, so whole-word tokens match poorly. Character n-grams over the text with spaces
removed are spacing-insensitive and share stems across endings; a few boundary grams from the
spaced text add back word-start information where spacing is present.
"""

from __future__ import annotations

from collections import Counter


def char_ngrams(normalized: str, n_min: int = 1, n_max: int = 4, boundaries: bool = True) -> Counter[str]:
    """Counts of character n-grams of an already normalised text.

    Grams from the spacing-removed text are bare strings; boundary grams (from the spaced text, one
    per word start) are prefixed with "^" so the two kinds never collide.
    """
    grams: Counter[str] = Counter()
    compact = normalized.replace(" ", "")
    for n in range(n_min, n_max + 1):
        for start in range(len(compact) - n + 1):
            grams[compact[start : start + n]] += 1
    if boundaries:
        for word in normalized.split(" "):
            if len(word) >= 2:
                grams["^" + word[:2]] += 1
    return grams
