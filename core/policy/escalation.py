"""When a conversation goes to a person: profanity, explicit agent requests, refund disputes and
repeated fallbacks.

The word lists come from the bot pack (escalation.yaml); this module only decides how text is matched.
Input text is already PII-masked.

Profanity matching works on a normalised form so disguised spellings still match the pack's stems:
- spacing: "씨 발", "ㅅ ㅂ", "씨 발놈" - a token is joined to its neighbours when it is a single letter
  (people split swear words letter by letter); two ordinary words are never joined ("아씨 발로");
- symbols, digits and emoji inside a word are dropped ("씨~발", "시1발");
- repeated letters collapse ("ㅅㅅㅂ", "씨씨발") and vowel elongation is removed ("시이발");
- jamo variants: syllables are decomposed and tense/aspirated initials and look-alike vowels folded
  (씨/쒸/싀 -> 시, 빨/팔 -> 발). ㅔ/ㅐ are deliberately not folded, or "계세요" would read "개새".
  Letters typed alone (compatibility jamo) stay distinct from decomposed syllables, so "옷바지" never
  contains "ㅅㅂ".

False-positive traps, decided on purpose: "시발점"/"시발역" (starting point/station) and "시"/"씨" that
end an hour or a word ("몇 시 발송", "다시 발급", "아저씨 발송", "몇 시 팔아요", "다시 빨리",
"다시 바로", "다시 파일"), "시바견", "새끼손가락"/"새끼 고양이", "2개 새 제품" and "졸라서" (begged) are
broken up before matching (_BENIGN_RES). The cost: someone swearing with exactly those spellings is not
caught; other variants ("씨발점", "시발 발송") still are. The pack's own stems decide the rest: a stem such
as "새끼" still flags "이 개 새끼" (a dog's puppy).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from core.conversation import Conversation
from core.messages import HandoffReason, Priority
from core.pack.schema import Escalation
from core.policy.pii import strip_placeholders

# Kept: Hangul syllables, jamo, Latin letters; everything else is noise inside a word. NFKC turns a
# letter typed alone (compatibility jamo "ㅅ") into a conjoining initial with no vowel after it, which no
# decomposed syllable produces, so "ㅅㅂ" typed stays distinct from the 옷바지 in "옷바지".
_NOISE_RE = re.compile(r"[^\uac00-\ud7a3\u1100-\u11ff\u3131-\u318ea-z\x00]")
_BREAK = "\x00"  # inserted where a benign word was; no stem contains it, so nothing matches across it

# Benign readings of letters that also spell a stem. Each regex marks the letter to break; the
# lookahead may cross spaces because single letters are joined across them. "시" is often an hour or the
# end of "다시", "씨" the end of "아저씨"/"날씨"; what follows them here is an ordinary word.
_BENIGN_RES = (
    re.compile(r"시(?=\s*발(?:점|역))"),  # 시발점/시발역: starting point/station
    re.compile(r"[시씨](?=\s*발(?:송|표|행|급|생|견|매|주|신|열|전|동|사|령|효|부|착|권|달|명|언|단))"),
    re.compile(r"[시씨](?=\s*빨(?:래|리|간|강|대))"),  # 빨래, 빨리, 빨간
    re.compile(r"[시씨](?=\s*팔(?:아|았|려|리|고|면|지|기|까|수|릴|린|는|렸|로|월))"),  # 팔다: to sell
    re.compile(
        r"시(?=\s*[바빠파](?:견|이누|이러스|로|르|른|꿔|꾸|뀌|닥|다|람|지|깥|코드|구니|빠|보|일|운|울))"
    ),  # 시바견, 다시 바로/바꿔, 다시 빠르게, 다시 파일
    re.compile(r"새(?=\s*끼\s*(?:손가락|발가락|고양이|강아지|돼지|오리|새|줄|손|발))"),  # young animals
    re.compile(r"개(?=\s*새\s*(?:제품|상품|거|걸|것|물건|기계|부품|로|상자|박스|폰|모델))"),  # "2개 새 제품"
    re.compile(r"졸(?=라(?:서|대|댔))"),  # 졸라서: "begged", from 조르다
)

# Tense/aspirated initials and look-alike vowels folded onto one spelling (conjoining jamo).
_FOLD = str.maketrans(
    {
        "\u110a": "\u1109",  # ㅆ -> ㅅ (initial)
        "\u1108": "\u1107",  # ㅃ -> ㅂ
        "\u1111": "\u1107",  # ㅍ -> ㅂ  (시팔 -> 시발)
        "\u1174": "\u1175",  # ㅢ -> ㅣ  (싀발)
        "\u1171": "\u1175",  # ㅟ -> ㅣ  (쒸발)
        "\u11bb": "\u11ba",  # final ㅆ -> ㅅ
    }
)
# A vowel repeated as 이/아/... right after itself ("시이발", "씨이이발"): ᄋ + the same vowel.
_ELONGATION_RE = re.compile(r"([\u1161-\u1175])\u110b\1(?![\u11a8-\u11c2])")
_REPEAT_RE = re.compile(r"(.)\1+")

# Text about refunds/exchanges: only then can a complaint be a refund dispute.
_REFUND_CUES = ("환불", "환급", "교환", "반품", "반송", "취소", "refund", "return")
_REFUND_INTENTS = frozenset({"refund_request", "exchange_request", "return_request"})
_AGENT_GAP = ".{0,2}?"
# "상담원 연결은 안 해도 돼요": a keyword followed by one of these is not a request.
_NEGATION_RE = re.compile(r"^.{0,6}?(?:안해도|안하셔도|말고|필요없|필요는없|괜찮|하지마|싫어|원하지않)")


def _squash(text: str) -> str:
    """Lowercase, NFKC, placeholders removed, no whitespace: for phrase lists."""
    text = strip_placeholders(unicodedata.normalize("NFKC", text)).lower()
    return "".join(text.split())


def _keyword_re(words: tuple[str, ...]) -> re.Pattern[str]:
    """A multi-word agent keyword matched on squashed text, allowing a short particle between words
    ("사람 연결" also matches "사람 좀 연결", "상담원이랑 연결")."""
    return re.compile(_AGENT_GAP.join(re.escape(_squash(word)) for word in words))


def _join_tokens(text: str) -> list[str]:
    """Clean tokens, then join neighbours when either is a single letter ("씨 발", "ㅅ ㅂ", "씨 발놈").

    Digits count towards a token's length here, so "2개 새 제품" is not read as "개새".
    """
    segments: list[str] = []
    previous_single = False
    for raw in text.split():
        token = _NOISE_RE.sub("", raw)
        if not token:
            continue
        single = len(token.replace(_BREAK, "")) + sum(ch.isdigit() for ch in raw) == 1
        if segments and (previous_single or single):
            segments[-1] += token
        else:
            segments.append(token)
        previous_single = single
    return segments


def _fold(segment: str) -> str:
    segment = _REPEAT_RE.sub(r"\1", segment)
    jamo = unicodedata.normalize("NFD", segment).translate(_FOLD)
    while True:
        shorter = _ELONGATION_RE.sub(r"\1", jamo)
        if shorter == jamo:
            return jamo
        jamo = shorter


def _profanity_segments(text: str) -> list[str]:
    text = strip_placeholders(unicodedata.normalize("NFKC", text)).lower()
    for benign in _BENIGN_RES:
        text = benign.sub(_BREAK, text)
    return [_fold(segment) for segment in _join_tokens(text)]


def _stem(word: str) -> str:
    """A pack stem in the same normalised form as the text."""
    cleaned = _NOISE_RE.sub("", unicodedata.normalize("NFKC", word).lower())
    return _fold(cleaned)


class EscalationPolicy:
    """Decides whether a customer message should go to a person, from the pack's rules."""

    def __init__(self, rules: Escalation) -> None:
        self._rules = rules
        self._profanity = tuple(stem for stem in {_stem(word) for word in rules.profanity} if stem)
        self._agent_keywords = tuple(
            _keyword_re(words) for words in {tuple(w.split()) for w in rules.agent_keywords} if words
        )
        self._disputes = tuple(p for p in {_squash(w) for w in rules.refund_dispute} if p)
        # Repeated texts (button labels, greetings) are checked once; the checks are pure.
        self._cached_is_profane = functools.lru_cache(maxsize=4096)(self._is_profane)
        self._cached_wants_agent = functools.lru_cache(maxsize=4096)(self._wants_agent)

    def is_profane(self, text: str) -> bool:
        return self._cached_is_profane(text)

    def _is_profane(self, text: str) -> bool:
        return any(stem in segment for segment in _profanity_segments(text) for stem in self._profanity)

    def wants_agent(self, text: str) -> bool:
        return self._cached_wants_agent(text)

    def _wants_agent(self, text: str) -> bool:
        squashed = _squash(text)
        return any(
            not _NEGATION_RE.match(squashed[match.end() :])
            for keyword in self._agent_keywords
            for match in keyword.finditer(squashed)
        )

    def is_refund_dispute(self, text: str) -> bool:
        squashed = _squash(text)
        return any(phrase in squashed for phrase in self._disputes)

    def priority(self, reason: HandoffReason) -> Priority:
        return self._rules.priorities.get(reason.value, "normal")

    def check(self, text: str, conversation: Conversation) -> HandoffReason | None:
        """The first reason to hand off, in order of severity; None to let the bot answer."""
        if self.is_profane(text):
            return HandoffReason.PROFANITY
        if self.wants_agent(text):
            return HandoffReason.AGENT_REQUEST
        if self._about_refund(text, conversation) and self.is_refund_dispute(text):
            return HandoffReason.REFUND_DISPUTE
        if conversation.fallback_count >= self._rules.fallback_limit:
            return HandoffReason.REPEATED_FALLBACK
        return None

    @staticmethod
    def _about_refund(text: str, conversation: Conversation) -> bool:
        squashed = _squash(text)
        return conversation.last_intent in _REFUND_INTENTS or any(cue in squashed for cue in _REFUND_CUES)
