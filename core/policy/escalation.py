"""When a conversation goes to a person: profanity, explicit agent requests, refund disputes and
repeated fallbacks.

The word lists come from the bot pack (escalation.yaml); this module only decides how text is matched.
Input text is already PII-masked.

Profanity matching works on a normalised form so disguised spellings still match the pack's stems:
- spacing: "씨 발", "ㅅ ㅂ" - tokens are joined across a space when either side is a single character
  (people split swear words letter by letter), but two ordinary words are never joined, so
  "아씨 발로" stays clean;
- symbols, digits and emoji inside a word are dropped ("씨~발", "시1발");
- repeated letters collapse ("ㅅㅅㅂ", "씨씨발") and vowel elongation is removed ("시이발");
- jamo variants: syllables are decomposed and tense/aspirated initials and look-alike vowels are
  folded (씨/쒸/싀 -> 시, 빨/팔 -> 발, 세 -> 새), while letters typed alone as compatibility jamo stay
  distinct from decomposed syllables, so "옷바지" never contains "ㅅㅂ".

False-positive traps, decided on purpose: "시발점"/"시발역" (starting point/station), an hour "시"
followed by a 발-word ("몇 시 발송", "다시 발급"), "시바견", "다시 바로", "새끼손가락"/"새끼 고양이" and
"졸라서" (begged) are masked out before matching. The cost is that someone writing exactly those
spellings as a swear word is not caught; other variants ("씨발점") still are.
"""

from __future__ import annotations

import re
import unicodedata

from core.conversation import Conversation
from core.messages import HandoffReason, Priority
from core.pack.schema import Escalation

_PLACEHOLDER_RE = re.compile(r"<(?:RRN|FRN|CARD|PHONE|ACCOUNT|EMAIL)_\d+>")
# Kept: Hangul syllables, jamo, Latin letters; everything else is noise inside a word. NFKC turns a
# letter typed alone (compatibility jamo "ㅅ") into a conjoining initial with no vowel after it, which no
# decomposed syllable produces, so "ㅅㅂ" typed stays distinct from the 옷바지 in "옷바지".
_NOISE_RE = re.compile(r"[^\uac00-\ud7a3\u1100-\u11ff\u3131-\u318ea-z\x00]")
_BREAK = "\x00"  # inserted where a benign word was; no stem contains it, so nothing matches across it

# Benign readings of letters that also spell a stem. Each regex marks the letter(s) to break.
_BENIGN_RES = (
    # 시발점/시발역 (starting point/station).
    re.compile(r"시(?=\s*발(?:점|역))"),
    # An hour or "다시"/"아저씨" followed by a Sino-Korean 발-word (발송, 발급, 발생 ...).
    re.compile(r"[시씨](?=\s*발(?:송|표|행|급|생|견|매|주|신|열|전|동|사|령|효|부|착|권|달|명|언|단))"),
    # 시바견/시바이누, and an hour or "다시" followed by 바로/바꿔/바닥/...
    re.compile(r"시(?=\s*바(?:견|이누|로|꿔|꾸|뀌|닥|다|람|지|깥|코드|구니|빠|보))"),
    # 새끼손가락, 새끼 고양이 (young animals), 새끼줄.
    re.compile(r"새(?=끼\s*(?:손가락|발가락|고양이|강아지|돼지|오리|새|줄|손|발))"),
    # 졸라서 / 졸라대다: "begged", from 조르다.
    re.compile(r"졸(?=라(?:서|대|댔))"),
)

# Tense/aspirated initials and look-alike vowels folded onto one spelling (conjoining jamo).
_FOLD = str.maketrans(
    {
        "\u110a": "\u1109",  # ㅆ -> ㅅ (initial)
        "\u1108": "\u1107",  # ㅃ -> ㅂ
        "\u1111": "\u1107",  # ㅍ -> ㅂ  (시팔 -> 시발)
        "\u1174": "\u1175",  # ㅢ -> ㅣ  (싀발)
        "\u1171": "\u1175",  # ㅟ -> ㅣ  (쒸발)
        "\u1166": "\u1162",  # ㅔ -> ㅐ  (개세끼)
        "\u1164": "\u1162",  # ㅒ -> ㅐ
        "\u1168": "\u1162",  # ㅖ -> ㅐ
        "\u11bb": "\u11ba",  # final ㅆ -> ㅅ
    }
)
# A vowel repeated as 이/아/... right after itself ("시이발", "씨이이발"): ᄋ + the same vowel.
_ELONGATION_RE = re.compile(r"([\u1161-\u1175])\u110b\1(?![\u11a8-\u11c2])")
_REPEAT_RE = re.compile(r"(.)\1+")

# Text about refunds/exchanges: only then can a complaint be a refund dispute.
_REFUND_CUES = ("환불", "환급", "교환", "반품", "반송", "취소", "refund", "return")
_REFUND_INTENTS = frozenset({"refund_request", "exchange_request", "return_request"})
# "상담원 연결은 안 해도 돼요": a keyword followed by one of these is not a request.
_NEGATION_RE = re.compile(r"^.{0,6}?(?:안해도|안하셔도|말고|필요없|필요는없|괜찮|하지마|싫어|원하지않)")


def _squash(text: str) -> str:
    """Lowercase, NFKC, placeholders removed, no whitespace: for phrase lists."""
    text = _PLACEHOLDER_RE.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return "".join(text.split())


def _join_tokens(text: str) -> list[str]:
    """Clean tokens, then join neighbours when either is a single character ("씨 발", "ㅅ ㅂ")."""
    segments: list[str] = []
    previous = ""
    for raw in text.split():
        token = _NOISE_RE.sub("", raw)
        if not token:
            continue
        if segments and (len(previous) == 1 or len(token) == 1):
            segments[-1] += token
        else:
            segments.append(token)
        previous = token
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
    text = _PLACEHOLDER_RE.sub(" ", unicodedata.normalize("NFKC", text).lower())
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
        self._agent_keywords = tuple(k for k in {_squash(w) for w in rules.agent_keywords} if k)
        self._disputes = tuple(p for p in {_squash(w) for w in rules.refund_dispute} if p)

    def is_profane(self, text: str) -> bool:
        return any(stem in segment for segment in _profanity_segments(text) for stem in self._profanity)

    def wants_agent(self, text: str) -> bool:
        squashed = _squash(text)
        for keyword in self._agent_keywords:
            start = squashed.find(keyword)
            while start != -1:
                if not _NEGATION_RE.match(squashed[start + len(keyword) :]):
                    return True
                start = squashed.find(keyword, start + 1)
        return False

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
