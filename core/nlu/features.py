"""Character n-gram features for Korean text.

Korean words carry particles and endings (안켜져요 / 안 켜지네요 / 안켜짐), and customers space
inconsistently, so whole-word tokens match poorly. Character n-grams over the Hangul with spaces
removed are spacing-insensitive and share stems across endings; a word-start gram per spaced word
adds back what spacing tells us when it is there.

Latin letters and digits are different: "as" inside "asdf" must not look like "AS" (after-sales),
so Latin/digit runs give whole-token features plus a shape ("e101" -> "a000") that lets unseen
error codes and order numbers match the ones in the examples.
"""

from __future__ import annotations

import re
from collections import Counter

# A letter run optionally followed by digits (separator removed: "e 101" -> "e101"), or a digit run.
_LATIN_TOKEN = re.compile(r"[a-z]+(?: ?[0-9]+)?|[0-9]+")
_SHAPE_MAX = 12


def _shape(token: str) -> str:
    return "".join("0" if char.isdigit() else "a" for char in token[:_SHAPE_MAX])


def char_ngrams(normalized: str, n_min: int = 1, n_max: int = 4, boundaries: bool = True) -> Counter[str]:
    """Feature counts of an already normalised text.

    Kinds never collide: bare strings are Hangul (and other non-Latin) n-grams of the spacing-removed
    text, "^" word-start grams, "#" Latin/digit tokens, "%" their shapes.
    """
    grams: Counter[str] = Counter()
    for match in _LATIN_TOKEN.finditer(normalized):
        token = match.group().replace(" ", "")
        grams["#" + token] += 1
        if any(ch.isdigit() for ch in token):
            # Shapes generalise codes ("E101" ~ "E205"); for plain words ("test", "usb") they would
            # make every short English word look alike.
            grams["%" + _shape(token)] += 1
    rest = _LATIN_TOKEN.sub(" ", normalized)
    compact = rest.replace(" ", "")
    for n in range(n_min, n_max + 1):
        for start in range(len(compact) - n + 1):
            grams[compact[start : start + n]] += 1
    if boundaries:
        for word in rest.split():
            if len(word) >= 2:
                grams["^" + word[:2]] += 1
    return grams
