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
# Chat abbreviations typed as initial consonants, some with the letters above that otherwise are
# emoticons (ㅎ), so they are read before emoticons are dropped. A run repeating one of them
# ("ㄱㅅㄱㅅ", "ㄳㄳ") reads as the abbreviation. General chat vocabulary, not one bot's words.
_CHOSUNG_WORDS = {
    "ㄳ": "감사",
    "ㄱㅅ": "감사",
    "ㄱㅅㅎㄴㄷ": "감사합니다",
    "ㄱㅅㄹㅇ": "감사",
    "ㅎㅇ": "하이",
    "ㅇㄴㅎㅅㅇ": "안녕하세요",
    "ㅂㅇ": "바이",
    "ㅂㅂ": "바이",
    "ㅈㅅ": "죄송",
    "ㅇㅋ": "오케이",
    "ㄱㄷ": "기다려",
    "ㄴㄴ": "아니",
}
_JAMO_TOKEN = re.compile("(?<![\u3131-\u318e\uac00-\ud7a3])([\u3131-\u318e]+)(?![\u3131-\u318e\uac00-\ud7a3])")
_REPEATED = re.compile(r"(.{1,5}?)\1+")
# Endings every FAQ question and many requests share ("어떻게 하나요", "알려주세요", "방법"): they say
# that something is asked, not what. Removed at the end of a word, with or without spaces inside.
QUESTION_ENDINGS = (
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
)
_ENDINGS_RE = re.compile(
    "(?:{})(?= |$)".format(
        "|".join(
            " ?".join(map(re.escape, ending.replace(" ", "")))
            for ending in sorted(QUESTION_ENDINGS, key=len, reverse=True)
        )
    )
)


def _chosung_word(match: re.Match[str]) -> str:
    run = match.group()
    repeated = _REPEATED.fullmatch(run)
    unit = repeated.group(1) if repeated is not None else run
    word = _CHOSUNG_WORDS.get(unit) or _CHOSUNG_WORDS.get(run)
    return f" {word} " if word is not None else run


def strip_question_endings(normalized: str) -> str:
    """Normalised text without the generic request endings ("리셋하는 방법" -> "리셋")."""
    text = normalized
    for _ in range(3):  # "리셋하는 방법": stripping "방법" exposes "하는"
        stripped = " ".join(_ENDINGS_RE.sub(" ", text).split())
        if stripped == text:
            break
        text = stripped
    return text


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
    text = _JAMO_TOKEN.sub(_chosung_word, text)
    text = _EMOTICON_JAMO.sub(" ", text)
    text = "".join(
        part if _COMPAT_JAMO_RUN.fullmatch(part) else unicodedata.normalize("NFKC", part)
        for part in _COMPAT_JAMO_RUN.split(text)
    ).lower()
    text = _EMOTICON_JAMO.sub(" ", text)
    kept = "".join(char if _keep(char) else " " for char in text)
    return _SPACES.sub(" ", kept).strip()
