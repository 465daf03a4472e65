"""Korean particles after filled-in words: 이에요/예요, 을/를, 이/가, 은/는, 과/와, 으로/로.

Which form follows a word depends on how its last syllable is read: with a final consonant (받침)
"누리전자는", "상담봇은"; without one "상담이는"; and 으로/로 also takes 로 after ㄹ ("서울로").

    read_final("상담봇")            -> "other"   (a final consonant)
    attach("상담이", "이에요")       -> "상담이예요"
    fill("{name}을(를) 불러 주세요", {"name": "상담봇"}) -> "상담봇을 불러 주세요"

Templates may write a particle in either form, both forms (`{name}(이)에요`, `{brand}을(를)`,
`{name}이(가)`, `{product}(으)로`), or the common misspelling `{name}이예요`; `fill` writes the form
that fits the value. A plain one-syllable particle counts only when a non-Hangul character (or the
end) follows it, so "{brand}이벤트" is left alone.

Non-Hangul endings are read as a Korean speaker says them: digits by their Korean reading (3 삼,
7 칠, 10 십, 3000 삼천), short upper-case acronyms by their letter names (TV 티브이, QLED 큐엘이디,
URL 유알엘), other Latin words by their last letters (Sangdam 상담, Google 구글, Kakao 카카오,
Router 라우터). A value whose ending cannot be read (empty, emoji) keeps both forms, "을(를)".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal

Final = Literal["none", "rieul", "other"]  # no final consonant; ㄹ; any other final consonant

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # jongseong index of ㄹ

# Digits by their Korean reading (일 and 칠 and 팔 end in ㄹ); trailing zeros read 십/백/천/만.
_DIGIT: dict[str, Final] = {
    "0": "other",  # 영
    "1": "rieul",  # 일
    "2": "none",  # 이
    "3": "other",  # 삼
    "4": "none",  # 사
    "5": "none",  # 오
    "6": "other",  # 육
    "7": "rieul",  # 칠
    "8": "rieul",  # 팔
    "9": "none",  # 구
}
# Letter names: 엘, 엠, 엔, 알 end in a consonant; 에이, 비, 씨 ... 엑스, 제트 do not.
_LETTER_NAME: dict[str, Final] = {"L": "rieul", "R": "rieul", "M": "other", "N": "other"}
_ACRONYM = re.compile(r"(?:^|[^A-Za-z])([A-Z]{1,5})$")

# (form after a final consonant, form after none); 으로/로 is handled apart (ㄹ takes 로).
_PAIRS: dict[str, tuple[str, str]] = {
    "이에요": ("이에요", "예요"),
    "을": ("을", "를"),
    "이": ("이", "가"),
    "은": ("은", "는"),
    "과": ("과", "와"),
    "으로": ("으로", "로"),
}
_KIND_OF: dict[str, str] = {}
for _kind, (_with, _without) in _PAIRS.items():
    _KIND_OF[_with] = _kind
    _KIND_OF[_without] = _kind
_KIND_OF.update({"이예요": "이에요", "에요": "이에요"})  # misspellings of the copula

_EXPLICIT = {
    "(이)에요": "이에요",
    "(이)예요": "이에요",
    "이에요(예요)": "이에요",
    "예요(이에요)": "이에요",
    "을(를)": "을",
    "를(을)": "을",
    "이(가)": "이",
    "가(이)": "이",
    "은(는)": "은",
    "는(은)": "은",
    "과(와)": "과",
    "와(과)": "과",
    "(으)로": "으로",
    "으로(로)": "으로",
    "로(으로)": "으로",
}
_NOT_HANGUL = r"(?![가-힣])"
_PARTICLE = (
    "(?P<particle>"
    + "|".join(re.escape(form) for form in sorted(_EXPLICIT, key=len, reverse=True))
    + "|이에요|이예요|예요|에요"
    + rf"|(?:으로|로)(?=서|써|부터|는|도|의|{_NOT_HANGUL})"
    + rf"|[과와](?=는|도|의|{_NOT_HANGUL})"
    + rf"|[은는](?=요|{_NOT_HANGUL})"
    + rf"|[을를이가]{_NOT_HANGUL}"
    + ")"
)
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}" + _PARTICLE + "?")
_TRAILING = re.compile(r"(?:\s*\([^()]*\)|[\s\"'”’»)\]}.,!?~·…-])+$")


def read_final(word: str) -> Final | None:
    """How the last syllable of `word` ends when read aloud; None when it cannot be told."""
    word = _TRAILING.sub("", word)
    if not word:
        return None
    last = word[-1]
    code = ord(last)
    if _HANGUL_FIRST <= code <= _HANGUL_LAST:
        jong = (code - _HANGUL_FIRST) % 28
        return "none" if jong == 0 else "rieul" if jong == _RIEUL else "other"
    if last.isdigit() and last.isascii():
        digits = re.search(r"\d+$", word)
        assert digits is not None
        number = digits.group().lstrip("0")
        if number and number.endswith("0"):
            return "other"  # 십, 백, 천, 만
        return _DIGIT[number[-1]] if number else "other"  # all zeros: 영
    if not (last.isascii() and last.isalpha()):
        return None
    acronym = _ACRONYM.search(word)
    if acronym is not None:  # TV, QLED, "Model X": letter names
        return _LETTER_NAME.get(acronym.group(1)[-1], "none")
    return _english_final(word.lower())


def _english_final(word: str) -> Final:
    """A Latin word by how its loanword spelling usually ends (Google 구글, Slack 슬랙, Router 라우터)."""
    if len(word) > 2 and word.endswith("e") and word[-2] not in "aeiouy":  # a silent e: phone 폰, note 노트
        if word[-2] == "l":
            return "rieul"  # google 구글, file 파일
        return "other" if word[-2] in "mn" else "none"
    if word.endswith("l"):
        return "rieul"
    if word.endswith(("m", "n", "ng", "ck", "k", "p", "ic")):
        return "other"
    if word.endswith("t") and not word.endswith(("th", "tt")):
        return "other"  # chat 챗, bot 봇
    return "none"  # vowels, r, s, x, z, f, v, d, b, g, h, th: 라우터, 박스, 버그


def choose(word: str, particle: str) -> str:
    """The form of `particle` (written in either form, both forms or misspelt) that fits `word`."""
    kind = _EXPLICIT.get(particle) or _KIND_OF.get(particle)
    if kind is None:
        return particle
    final = read_final(word)
    with_final, without = _PAIRS[kind]
    if final is None:
        if kind == "이에요":
            return "(이)에요"
        if kind == "으로":
            return "(으)로"
        return f"{with_final}({without})"
    if kind == "으로":
        return "으로" if final == "other" else "로"
    return with_final if final != "none" else without


def attach(word: str, particle: str) -> str:
    """`word` followed by the form of `particle` that fits it."""
    return word + choose(word, particle)


def fill(
    template: str,
    values: Mapping[str, str],
    *,
    missing: str | None = "",
    escape: Callable[[str], str] | None = None,
) -> str:
    """Fill `{key}` placeholders from `values`, each followed by the particle form that fits its value.

    An unknown key becomes `missing`; with `missing=None` it is left as written (particle included).
    `escape` (e.g. html.escape) is applied to the values written; particles are chosen on the raw value.
    """

    def one(match: re.Match[str]) -> str:
        key, particle = match.group(1), match.group("particle")
        if key not in values:
            return match.group() if missing is None else missing + (particle or "")
        value = values[key]
        written = escape(value) if escape is not None else value
        return written + choose(value, particle) if particle else written

    return _PLACEHOLDER.sub(one, template)
