"""Korean PII detection and reversible masking.

Every customer message is masked before it is stored, logged or sent to an LLM. Findings are replaced
by typed placeholders ("<PHONE_1>"); the originals stay in memory for the current turn only, so a reply
can be restored where the customer's own data must be shown back.

Detection is pattern based and tuned for Korean support chats:

- RRN (주민등록번호) / FRN (외국인등록번호): YYMMDD that is a real calendar date for the century
  given by the 7th digit, then a gender digit 1-4 (RRN) or 5-8 (FRN). The old checksum is NOT checked:
  numbers issued since October 2020 have random trailing digits and would fail it.
- Card: 13-19 digits (unbroken or in 4-4-4-4(-3) / 4-6-5 groups) that pass Luhn and start like an
  issuer number (2-6 or 9; 9 covers Korean domestic cards).
- Phone: mobile 01X, +82 forms, landlines 02/0XX, 070/080/050X, 15XX/16XX/18XX-XXXX.
- Account: known bank groupings (e.g. 3-3-6, 4-2-7, 6-2-6) joined by dashes, or an unbroken
  10-14 digit run with a bank/transfer word nearby.
- E-mail.

Digit patterns only match whole tokens: a run glued to letters, '@', '-' or another digit group
(order ids "ORD-20261101-0001", tickets "AS-20261121-0001", error codes "E101", dates, prices
"1,290,000원") is left alone. Overlaps are resolved by precedence RRN/FRN > CARD > PHONE > ACCOUNT
> EMAIL.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from enum import StrEnum

import msgspec


class PiiKind(StrEnum):
    RRN = "RRN"
    FRN = "FRN"
    CARD = "CARD"
    PHONE = "PHONE"
    ACCOUNT = "ACCOUNT"
    EMAIL = "EMAIL"


REFUSED_KINDS: frozenset[PiiKind] = frozenset({PiiKind.RRN, PiiKind.FRN, PiiKind.CARD})


class PiiFinding(msgspec.Struct, frozen=True):
    """One detected value; start/end index the original (unmasked) text."""

    kind: PiiKind
    start: int
    end: int
    placeholder: str  # "<PHONE_1>"


class MaskResult(msgspec.Struct, frozen=True):
    text: str  # input with every finding replaced by its placeholder
    findings: list[PiiFinding]
    originals: dict[str, str]  # placeholder -> original text; in memory for the turn only, never stored

    @property
    def refused(self) -> bool:
        """True when the customer sent something we never use (RRN, FRN, card number)."""
        return any(finding.kind in REFUSED_KINDS for finding in self.findings)


# --- patterns ------------------------------------------------------------------------------------

# A digit token must not be glued to an identifier: letters, '@', '.', '_', '+', '-' before it, or
# letters/'@'/another digit group after it. Korean text around it is fine ("번호는01012345678이에요").
_START = r"(?<![0-9A-Za-z@._+\-])(?<!\d,)"
_END = r"(?![0-9A-Za-z@])(?![-.,]\d)"
_SEP = r"(?:\s?[-.]\s?|\s)?"  # "010-1234-5678", "010 1234 5678", "010 - 1234 - 5678"

_RRN_RE = re.compile(_START + r"(?P<ymd>\d{6})(?:\s?[-–.]\s?|\s)?(?P<g>[1-8])\d{6}" + _END)

_CARD_RE = re.compile(
    _START
    + r"(?:(?P<grouped>(?P<main>\d{4}(?:[- ./]\d{4}){3})(?:[- ](?P<tail>\d{1,3}))?)"
    + r"|(?P<amex>\d{4}[- ]\d{6}[- ]\d{4,5})"
    + r"|(?P<run>\d{13,19}))"
    + _END
)

_PHONE_BODY = "|".join(
    (
        r"\+82[-. ]?(?:\(0\)\s?)?(?:1[016789]|2|[3-6][1-5]|70){sep}\d{{3,4}}{sep}\d{{4}}",
        r"01[016789]{sep}\d{{3,4}}{sep}\d{{4}}",  # mobile
        r"0(?:2|[3-6][1-5]|70|80|50[2-8]){sep}\d{{3,4}}{sep}\d{{4}}",  # landline, VoIP, toll-free, 050X
        r"\(0(?:1[016789]|2|[3-6][1-5]|70)\)\s?\d{{3,4}}{sep}\d{{4}}",  # "(02) 3456-7890", "(010)1234-5678"
        r"1[568]\d{{2}}{sep}\d{{4}}",  # 15XX/16XX/18XX business numbers
    )
).format(sep=_SEP)
_PHONE_RE = re.compile(_START + f"(?:{_PHONE_BODY})" + _END + r"(?!\s?원)")  # "16000000원" is a price

# Dash-joined groupings used by Korean banks (KB 6-2-6, 하나 3-6-5, IBK 3-6-2-3, 우리 4-3-6,
# 농협 3-4-4-2, 카카오뱅크 4-2-7, 신한/케이뱅크 3-3-6, 토스뱅크 4-4-4, 3-2-4-3, SC 3-2-6).
# 3-2-5 is left out: it is the 사업자등록번호 shape, which is public.
_ACCOUNT_GROUPINGS = (
    (6, 2, 6), (3, 6, 5), (3, 6, 2, 3), (4, 3, 6), (3, 4, 4, 2), (4, 2, 7),
    (3, 3, 6), (3, 2, 4, 3), (4, 4, 4), (3, 2, 6),
)  # fmt: skip
_ACCOUNT_GROUPED_RE = re.compile(
    _START + "(?:" + "|".join("-".join(rf"\d{{{n}}}" for n in grouping) for grouping in _ACCOUNT_GROUPINGS) + ")" + _END
)
# Unbroken runs need context; "원" after the run makes it a price.
_DIGIT_RUN_RE = re.compile(_START + r"\d{10,14}" + _END + r"(?!\s?원)")
_ACCOUNT_CUE_RE = re.compile(
    r"계좌|입금|송금|이체|예금주|은행|뱅크|농협|국민|신한|우리|하나|기업|새마을|신협|수협|씨티|"
    r"SC제일|토스|카카오|케이뱅크|account|bank",
    re.IGNORECASE,
)
# Courier tracking numbers and other shops' order numbers are unbroken digit runs too; they are not
# personal data and the bot needs them. The closest label decides (see _account_context).
_TRACKING_CUE_RE = re.compile(r"운송장|송장|택배|배송|tracking", re.IGNORECASE)
_NOT_ACCOUNT_CUE_RE = re.compile(r"운송장|송장|택배|배송|주문|tracking|order", re.IGNORECASE)
_CARD_CUE_RE = re.compile(r"카드|card|결제", re.IGNORECASE)
_CUE_BEFORE = 20
_CUE_AFTER = 12

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
    r"(?![A-Za-z0-9])"
)

_PLACEHOLDER_RE = re.compile(r"<(?:RRN|FRN|CARD|PHONE|ACCOUNT|EMAIL)_\d+>")

_PRECEDENCE = {
    PiiKind.RRN: 0,
    PiiKind.FRN: 0,
    PiiKind.CARD: 1,
    PiiKind.PHONE: 2,
    PiiKind.ACCOUNT: 3,
    PiiKind.EMAIL: 4,
}


# --- validators ----------------------------------------------------------------------------------


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_ok(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in "234569" and _luhn_ok(digits)


def _birth_date_ok(ymd: str, gender: str) -> bool:
    century = 1900 if gender in "1256" else 2000
    try:
        datetime.date(century + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:6]))
    except ValueError:
        return False
    return True


def _has_cue(text: str, start: int, end: int, cue: re.Pattern[str]) -> bool:
    window = text[max(0, start - _CUE_BEFORE) : end + _CUE_AFTER]
    return cue.search(window) is not None


def _nearest_before(text: str, start: int, cue: re.Pattern[str]) -> int | None:
    return min((start - m.end() for m in cue.finditer(text, max(0, start - _CUE_BEFORE), start)), default=None)


def _nearest_after(text: str, end: int, cue: re.Pattern[str]) -> int | None:
    return min((m.start() - end for m in cue.finditer(text, end, end + _CUE_AFTER)), default=None)


def _closer(account: int | None, other: int | None) -> bool:
    return account is not None and (other is None or account < other)


def _account_context(text: str, start: int, end: int) -> bool:
    """An unbroken run is an account when a bank word is the closest cue.

    Korean puts the label before the value ("계좌번호 110..."), so words before the run decide when
    there are any; words after it ("... 로 입금했어요") only when nothing labels it before.
    """
    before_account = _nearest_before(text, start, _ACCOUNT_CUE_RE)
    before_other = _nearest_before(text, start, _NOT_ACCOUNT_CUE_RE)
    if before_account is not None or before_other is not None:
        return _closer(before_account, before_other)
    return _closer(_nearest_after(text, end, _ACCOUNT_CUE_RE), _nearest_after(text, end, _NOT_ACCOUNT_CUE_RE))


def _labelled_not_card(text: str, start: int, end: int) -> bool:
    """A short unbroken run that is a tracking number, or labelled as an order number, not a card."""
    if _has_cue(text, start, end, _TRACKING_CUE_RE):
        return True
    return _closer(_nearest_before(text, start, _NOT_ACCOUNT_CUE_RE), _nearest_before(text, start, _CARD_CUE_RE))


# --- candidate finders ---------------------------------------------------------------------------

_Candidate = tuple[PiiKind, int, int]


def _find_ids(text: str) -> Iterator[_Candidate]:
    for m in _RRN_RE.finditer(text):
        if _birth_date_ok(m.group("ymd"), m.group("g")):
            kind = PiiKind.RRN if m.group("g") in "1234" else PiiKind.FRN
            yield kind, m.start(), m.end()


def _find_cards(text: str) -> Iterator[_Candidate]:
    for m in _CARD_RE.finditer(text):
        if m.group("run") and len(m.group()) <= 14 and _labelled_not_card(text, m.start(), m.end()):
            continue
        if _card_ok(_digits(m.group())):
            yield PiiKind.CARD, m.start(), m.end()
        elif m.group("tail") and _card_ok(_digits(m.group("main"))):
            # "4111 1111 1111 1111 2개": the trailing group was a quantity, not part of the card.
            yield PiiKind.CARD, m.start("main"), m.end("main")


def _find_phones(text: str) -> Iterator[_Candidate]:
    for m in _PHONE_RE.finditer(text):
        yield PiiKind.PHONE, m.start(), m.end()


def _find_accounts(text: str) -> Iterator[_Candidate]:
    for m in _ACCOUNT_GROUPED_RE.finditer(text):
        yield PiiKind.ACCOUNT, m.start(), m.end()
    for m in _DIGIT_RUN_RE.finditer(text):
        if _account_context(text, m.start(), m.end()):
            yield PiiKind.ACCOUNT, m.start(), m.end()


def _find_emails(text: str) -> Iterator[_Candidate]:
    for m in _EMAIL_RE.finditer(text):
        yield PiiKind.EMAIL, m.start(), m.end()


_FINDERS: tuple[Callable[[str], Iterator[_Candidate]], ...] = (
    _find_ids,
    _find_cards,
    _find_phones,
    _find_accounts,
    _find_emails,
)


def _select(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep the highest-precedence candidates that do not overlap, in text order."""
    chosen: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: (_PRECEDENCE[c[0]], c[1], -(c[2] - c[1]))):
        if all(cand[2] <= start or cand[1] >= end for _, start, end in chosen):
            chosen.append(cand)
    return sorted(chosen, key=lambda c: c[1])


# --- public API ----------------------------------------------------------------------------------

_MAY_HOLD_PII = re.compile(r"[\d@＠]")
# One character for one character: full-width ASCII (U+FF01-FF5E) and dash look-alikes.
_ASCII_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {
    ord(dash): "-" for dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"
}


def mask_pii(text: str) -> MaskResult:
    """Replace every finding with a typed placeholder, numbered per kind in order of appearance.

    The same value twice gets the same placeholder, so an LLM or agent can tell they are one number.
    """
    if _MAY_HOLD_PII.search(text) is None:  # every kind needs a digit or an "@": most texts skip the finders
        return MaskResult(text=text, findings=[], originals={})
    # Finders run on an ASCII-folded copy of the same length, so full-width digits and unusual dashes
    # are caught while offsets (and the customer's own text around the findings) stay as typed.
    probe = text.translate(_ASCII_FOLD)
    candidates = [cand for finder in _FINDERS for cand in finder(probe)]
    counters: dict[PiiKind, int] = {}
    by_value: dict[tuple[PiiKind, str], str] = {}
    findings: list[PiiFinding] = []
    originals: dict[str, str] = {}
    pieces: list[str] = []
    cursor = 0
    for kind, start, end in _select(candidates):
        value = text[start:end]
        placeholder = by_value.get((kind, value))
        if placeholder is None:
            counters[kind] = counters.get(kind, 0) + 1
            placeholder = f"<{kind.value}_{counters[kind]}>"
            by_value[(kind, value)] = placeholder
            originals[placeholder] = value
        findings.append(PiiFinding(kind=kind, start=start, end=end, placeholder=placeholder))
        pieces.append(text[cursor:start])
        pieces.append(placeholder)
        cursor = end
    pieces.append(text[cursor:])
    return MaskResult(text="".join(pieces), findings=findings, originals=originals)


def partial_mask(kind: PiiKind, value: str) -> str:
    """Display form for agents: enough to recognise the value, not enough to reuse it."""
    if kind is PiiKind.EMAIL:
        local, _, domain = value.partition("@")
        keep = 2 if len(local) > 2 else 1
        return f"{local[:keep]}***@{domain}"
    digits = _digits(value)
    if kind is PiiKind.PHONE:
        return _partial_phone(value, digits)
    if kind is PiiKind.ACCOUNT:
        return f"***-***-{digits[-4:]}"
    if kind is PiiKind.CARD:
        return f"****-****-****-{digits[-4:]}"
    return "******-*******"  # RRN / FRN are never shown, not even in part


def _partial_phone(value: str, digits: str) -> str:
    last = digits[-4:]
    if value.startswith("+82"):
        national = digits[2:]
        head_len = 2 if national.startswith("1") or national.startswith("70") else 1
        middle = len(national) - head_len - 4
        return f"+82 {national[:head_len]}-{'*' * middle}-{last}"
    if len(digits) == 8 and digits[0] == "1":  # 15XX-XXXX
        return f"****-{last}"
    head_len = 2 if digits.startswith("02") else 3
    if digits.startswith("050"):
        head_len = 4
    middle = len(digits) - head_len - 4
    return f"{digits[:head_len]}-{'*' * middle}-{last}"


def restore(text: str, originals: dict[str, str]) -> str:
    """Put the originals back into their placeholders; unknown placeholders are left as they are."""
    return _PLACEHOLDER_RE.sub(lambda m: originals.get(m.group(), m.group()), text)


def strip_placeholders(text: str) -> str:
    """The text without its PII placeholders (for intent and FAQ matching, which must not see them)."""
    return _PLACEHOLDER_RE.sub(" ", text).strip()


def mask_for_log(text: str) -> str:
    """The masked text only: what the logging processor writes."""
    return mask_pii(text).text
