"""Text normalisation shared by the intent classifier and the knowledge search.

Customers type with emoticons, stray spacing and repeated punctuation; none of that carries the
meaning we classify on, so it is removed before features are built.
"""

from __future__ import annotations

import re
import unicodedata

# Runs of the jamo customers use as emoticons (ㅋㅋ ㅎㅎ ㅠㅠ ㅜㅜ ㅡㅡ), in both the compatibility block
# they are typed in and the conjoining block NFKC maps them to. Other lone jamo (ㄳ, ㄱㄱ, ㅇㅇ) are
# abbreviations with meaning and are kept.
_EMOTICON_JAMO = re.compile("[ㅋㅎㅠㅜㅡ\u110f\u1112\u1172\u116e\u1173]+")
_SPACES = re.compile(r"\s+")
# NFKC would turn compatibility jamo (ㄳ, ㄱㄱ) into conjoining jamo that render oddly and no longer
# match what people type in lexicons, so those runs are left out of NFKC.
_COMPAT_JAMO_RUN = re.compile("([\u3131-\u318e]+)")


def _keep(char: str) -> bool:
    return char.isalnum() and not _is_symbol_like(char)


def _is_symbol_like(char: str) -> bool:
    # isalnum() is true for some circled/superscript forms NFKC did not fold; treat those as symbols.
    return unicodedata.category(char) not in {"Lu", "Ll", "Lo", "Lt", "Lm", "Nd"}


def normalize(text: str) -> str:
    """NFKC, lower-case Latin, drop emoticons/emoji/punctuation, collapse whitespace.

    Keeps Hangul (syllables and meaningful jamo), Latin letters, digits and other letters; every
    other character becomes a space so "E-101" and "e 101" normalise alike.
    """
    text = _EMOTICON_JAMO.sub(" ", text)
    text = "".join(
        part if _COMPAT_JAMO_RUN.fullmatch(part) else unicodedata.normalize("NFKC", part)
        for part in _COMPAT_JAMO_RUN.split(text)
    ).lower()
    text = _EMOTICON_JAMO.sub(" ", text)
    kept = "".join(char if _keep(char) else " " for char in text)
    return _SPACES.sub(" ", kept).strip()
