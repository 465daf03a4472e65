"""Korean PII detection and reversible masking.

Every customer message is masked before it is stored, logged or sent to an LLM. Findings are replaced
by typed placeholders ("<PHONE_1>"); the originals stay in memory for the current turn only, so a reply
can be restored where the customer's own data must be shown back.

Detection is pattern based and tuned for Korean support chats:

- RRN (주민등록번호) / FRN (외국인등록번호): YYMMDD that is a real calendar date for the century
  given by the 7th digit, then a gender digit 1-4 (RRN) or 5-8 (FRN). The old checksum is NOT checked:
  numbers issued since October 2020 have random trailing digits and would fail it.
- Card: 13-19 digits (unbroken or in 4-4-4-4(-3) / 4-6-5 / 4-8-4 groups) that pass Luhn and start
  like an issuer number (2-6 or 9; 9 covers Korean domestic cards).
- Phone: mobile 01X, +82 forms, landlines 02/0XX, 070/080/050X, 15XX/16XX/18XX-XXXX.
- Account: known bank groupings (e.g. 3-3-6, 4-2-7, 6-2-6) joined by dashes unless labelled as a
  tracking/order number, or an unbroken 10-14 digit run with a bank/transfer word nearby.
- E-mail.

Matching runs on a normalised probe of the text (_normalise): NFKC; every Unicode decimal digit
(Arabic-Indic, Devanagari, mathematical, full-width ...) as ASCII; dash/minus look-alikes as "-",
middle dots as ".", Unicode spaces (NBSP, U+2000-200A, U+3000) as " "; zero-width characters
(U+200B-200D, U+2060, U+FEFF, soft hyphen) dropped; digits typed one by one ("0 1 0 1 2 ...") joined.
Between digit groups the patterns accept "-", ".", "/", "~", "," (with up to two spaces around) or
one or two spaces. Findings are mapped back to the original offsets, so the masked text keeps the
customer's own characters and a zero-width space inside a number is masked with it.

Digit patterns only match whole tokens: a run glued to another digit group, or (for the weaker shapes:
accounts, 15XX numbers) to letters, '@', '.', '+' or '-', is left alone: order ids
"ORD-20261101-0001", tickets "AS-20261121-0001", error codes "E101", dates, prices "1,290,000원".
The strong shapes (RRN with a real birth date, Luhn-valid card, 0-prefixed phone) are found behind a
glued prefix too ("rrn850106-...", "tel:010-...", "card4111..."). Overlaps are resolved by precedence
RRN/FRN > CARD > PHONE > ACCOUNT > EMAIL.

Masking time is linear in the length of the text (bench/pii_mask.py): no pattern backtracks more than
a bounded amount, overlaps are resolved by bisection, and the work per finding is small.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum

import msgspec


class PiiKind(StrEnum):
    # The string's own hash, in C: Enum.__hash__ is Python code (hash of the name, here the same value)
    # and the masker looks kinds up in dicts per finding.
    __hash__ = str.__hash__

    RRN = "RRN"
    FRN = "FRN"
    CARD = "CARD"
    PHONE = "PHONE"
    ACCOUNT = "ACCOUNT"
    EMAIL = "EMAIL"


REFUSED_KINDS: frozenset[PiiKind] = frozenset({PiiKind.RRN, PiiKind.FRN, PiiKind.CARD})


class PiiFinding(msgspec.Struct, frozen=True, gc=False):  # scalars only: no cycles, no GC tracking
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
#
# The patterns run on the normalised probe (see _normalise), where every digit is ASCII, so they use
# [0-9], never \d. Each digit pattern starts with a plain character ("[0-9]", "0", "1", "+", "(") and
# checks what precedes that character with a two-character lookbehind placed after it: a pattern that
# starts with a lookbehind makes the regex engine try every position of the text, while a leading
# character class lets it skip straight to the digits (5-10x faster on Korean prose).

# Weak start: a digit token must not be glued to an identifier: letters, '@', '.', '_', '+', '-' before
# it, or a digit group and a comma ("1,290,000"). Korean text around it is fine ("번호는01012345678").
# Used for the shapes that are common in identifiers: accounts, 15XX numbers.
_WEAK_START = r"(?<![0-9A-Za-z@._+\-].)(?<![0-9],.)"
# Strong start: for shapes unlikely to be anything but PII (RRN with a real birth date, Luhn-valid card,
# 0-prefixed phone), a glued prefix does not protect the number ("rrn850106-...", "tel:010-...",
# "주민번호-850106-...", "card4111..."). Only a digit group right before it (the number would be the
# tail of a longer one) or an '@' (e-mail) does.
_STRONG_START = r"(?<![0-9@].)(?<![0-9][-.,:+/~].)"
_END = r"(?![0-9A-Za-z@])(?![-.,/~][0-9])"
# Between digit groups: dash, dot, slash, tilde or comma with up to two spaces either side, or one or
# two spaces ("850106/2178898", "850106  2178898", "010 - 1234 - 5678"). Look-alikes are folded first.
# Spaces are ASCII only: the fold turned every Unicode space into " ".
_SP = r"[ \t\r\n]"
_SEP_REQ = rf"(?:{_SP}{{0,2}}[-./~,]{_SP}{{0,2}}|{_SP}{{1,2}})"
_SEP = _SEP_REQ + "?"
_SEP_NARROW = rf"(?:{_SP}?[-.]{_SP}?|{_SP})?"  # 15XX numbers only: "1500~1800" is an opening-hours range

# The three long-number shapes, each after a shared first digit (see _NUMBER_RE). Group names are
# unique across them: the same names serve the combined pattern and the single ones.
_RRN_BODY = rf"[0-9]{{5}}{_SEP}(?P<rrn_g>[1-8])[0-9]{{6}}"  # YYMMDD, gender digit, 6 digits
_CARD_BODY = (
    rf"(?P<card>[0-9]{{3}}(?:{_SEP_REQ}[0-9]{{4}}){{3}}(?P<card_tail>[- ][0-9]{{1,3}})?"  # 4-4-4-4(-1..3)
    + rf"|[0-9]{{3}}{_SEP_REQ}[0-9]{{6}}{_SEP_REQ}[0-9]{{4,5}}"  # AMEX / Diners 4-6-5, 4-6-4
    + rf"|[0-9]{{3}}{_SEP_REQ}[0-9]{{8}}{_SEP_REQ}[0-9]{{4}}"  # 4-8-4
    + r"|(?P<card_run>[0-9]{12,18}))"  # 13-19 digits unbroken
)

_AREA = r"(?:1[016789]|2|[3-6][1-5]|70)"
# One pattern for all phone shapes; the alternatives start with different characters ("0", "+", "(",
# "1"), so at most one of them can match at a position and one pass finds them all.
_PHONE_RE = re.compile(
    # mobile 01X, landline 02/0XX, VoIP 070, toll-free 080, 050X
    r"(?:0" + _STRONG_START + rf"(?:1[016789]|2|[3-6][1-5]|70|80|50[2-8]){_SEP}[0-9]{{3,4}}{_SEP}[0-9]{{4}}"
    + r"|\+" + _STRONG_START + rf"82[-. ]?(?:\(0\){_SP}?)?{_AREA}{_SEP}[0-9]{{3,4}}{_SEP}[0-9]{{4}}"
    # "(02) 3456-7890", "(010)1234-5678"
    + r"|\(" + _STRONG_START + rf"0(?:1[016789]|2|[3-6][1-5]|70)\){_SP}?[0-9]{{3,4}}{_SEP}[0-9]{{4}}"
    # 15XX/16XX/18XX business numbers: 8 digits, so only as a whole token
    + r"|1" + _WEAK_START + rf"[568][0-9]{{2}}{_SEP_NARROW}[0-9]{{4}})"
    + _END
    + rf"(?!{_SP}?원)"  # "16000000원" is a price
)  # fmt: skip

# Dash-joined groupings used by Korean banks (KB 6-2-6, 하나 3-6-5, IBK 3-6-2-3, 우리 4-3-6,
# 농협 3-4-4-2, 카카오뱅크 4-2-7, 신한/케이뱅크 3-3-6, 토스뱅크 4-4-4, 3-2-4-3, SC 3-2-6).
# 3-2-5 is left out: it is the 사업자등록번호 shape, which is public.
_ACCOUNT_GROUPINGS = (
    (6, 2, 6), (3, 6, 5), (3, 6, 2, 3), (4, 3, 6), (3, 4, 4, 2), (4, 2, 7),
    (3, 3, 6), (3, 2, 4, 3), (4, 4, 4), (3, 2, 6),
)  # fmt: skip


def _trie(groupings: tuple[tuple[int, ...], ...]) -> str:
    """A regex for dash-joined digit groups, sharing common prefixes: one branch per first group
    length instead of one per grouping, so a failed attempt costs a few steps, not ten."""
    branches: dict[int, list[tuple[int, ...]]] = {}
    for first, *rest in groupings:
        branches.setdefault(first, []).append(tuple(rest))
    parts = []
    for first, rests in branches.items():
        longer = tuple(rest for rest in rests if rest)
        tail = f"-{_trie(longer)}" if longer else ""
        parts.append(f"[0-9]{{{first}}}" + (f"(?:{tail})?" if tail and () in rests else tail))
    return "(?:" + "|".join(parts) + ")"


# Accounts: the dash groupings, or an unbroken run of 10-14 digits that needs a bank word nearby and is
# not a price ("원" after it). The first digit is shared (see _NUMBER_RE), hence the "- 1".
_ACCOUNT_BODY = (
    "(?P<acct_grouped>"
    + _trie(tuple((first - 1, *rest) for first, *rest in _ACCOUNT_GROUPINGS))
    + rf")|(?P<acct_run>[0-9]{{9,13}}(?![0-9])(?!{_SP}?원))"
)

# RRN/FRN, cards and accounts in one pass: each costs the regex engine an attempt at every digit of
# the text, and digit-dense text is what an attacker sends. The alternatives are tried in precedence
# order at each start; a shape that then fails its check (birth date, Luhn, context) is retried as the
# next shapes with the single patterns below. No shape can start inside another's match (there a digit
# follows a digit, or a digit group and a separator, which the start rules refuse, or it begins a group
# too short to be a shape), so finditer going on after the first shape loses nothing.
_NUMBER_RE = re.compile(
    r"[0-9](?<![0-9].)(?:"  # both start rules exclude a digit before: most digits are rejected at once
    + f"{_STRONG_START}(?:{_RRN_BODY}){_END}"
    + f"|{_STRONG_START}(?:{_CARD_BODY}){_END}"
    + f"|{_WEAK_START}(?:{_ACCOUNT_BODY}){_END}"
    + ")"
)
_CARD_RE = re.compile(f"[0-9]{_STRONG_START}(?:{_CARD_BODY}){_END}")
_ACCOUNT_RE = re.compile(f"[0-9]{_WEAK_START}(?:{_ACCOUNT_BODY}){_END}")
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
# Most candidates have no cue nearby; two quick searches settle them: the Korean cue words (a plain
# alternation of literals, which the regex engine scans for by their first characters, unlike an
# IGNORECASE pattern, 6x slower) and any ASCII letter (English cues, whatever their case).
_KOREAN_CUES_RE = re.compile(
    "|".join(
        sorted(
            {
                word
                for cue in (_ACCOUNT_CUE_RE, _NOT_ACCOUNT_CUE_RE, _CARD_CUE_RE, _TRACKING_CUE_RE)
                for word in cue.pattern.split("|")
                if not word[0].isascii()
            }
        )
    )
)
_ASCII_LETTER_RE = re.compile("[A-Za-z]")
_CUE_BEFORE = 20
_CUE_AFTER = 12

# The first local-part character leads (see above), the lookbehind then rejects a start inside a run.
_EMAIL_LOCAL = r"[A-Za-z0-9._%+\-]"
_EMAIL_RE = re.compile(
    _EMAIL_LOCAL
    + rf"(?<!{_EMAIL_LOCAL}.){_EMAIL_LOCAL}*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{{2,}}"
    + r"(?![A-Za-z0-9])"
)

_PLACEHOLDER_OPEN = {kind: f"<{kind.value}_" for kind in PiiKind}  # "<PHONE_"; Enum.value is slow per call
_PLACEHOLDER_RE = re.compile(r"<(?:RRN|FRN|CARD|PHONE|ACCOUNT|EMAIL)_\d+>")

# --- validators ----------------------------------------------------------------------------------


def _digits(value: str) -> str:
    """The decimal digits of `value` as ASCII ("𝟎𝟏𝟎-１２３４" -> "0101234")."""
    return "".join(str(unicodedata.decimal(ch)) for ch in value if ch.isdecimal())


# Card candidates are checked as ASCII bytes, with slicing, translate and sum doing the work in C:
# dense hostile text holds one candidate every 20 characters.
_PROBE_SEPARATORS = b" \t\r\n-./~,"  # all a card match can hold besides digits
# Luhn doubles every second digit from the right; b"0".."9" -> the digit sum of their double.
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", bytes([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]))
_ISSUER_FIRST = frozenset(b"234569")  # 9 covers Korean domestic cards


def _card_ok(candidate: str) -> bool:
    """13-19 digits, an issuer's first digit, and Luhn; `candidate` is probe text (ASCII)."""
    digits = candidate.encode("ascii").translate(None, _PROBE_SEPARATORS)
    if not (13 <= len(digits) <= 19 and digits[0] in _ISSUER_FIRST):
        return False
    reverse = digits[::-1]
    kept = reverse[0::2]  # as bytes: 48 ("0") too much per digit
    return (sum(kept) - 48 * len(kept) + sum(reverse[1::2].translate(_LUHN_DOUBLED))) % 10 == 0


# _cards_ok checks every card candidate of a text at once, in C: each candidate's digits are padded
# with zeros to _LUHN_WIDTH (which leaves its Luhn sum as it was and lines every candidate's digits up
# from the right), the digits take their Luhn values (doubled ones by _LUHN_DOUBLED), and one big-int
# product with 0x0101...01 adds up every _LUHN_WIDTH consecutive bytes: at most 9 * 20 = 180, so no
# byte carries, and each candidate's sum lands in its own byte. A check per candidate cost 0.5 us.
_LUHN_WIDTH = 20  # more than the 19 digits a card match can hold
_DIGIT_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))
_ADD_WINDOW = int.from_bytes(b"\x01" * _LUHN_WIDTH, "big")
_CARD_LENGTHS = range(13, 20)


def _cards_ok(candidates: list[str]) -> list[bool]:
    """[_card_ok(candidate) for candidate in candidates], computed for all of them at once."""
    if not candidates:
        return []
    runs = "|".join(candidates).encode("ascii").translate(None, _PROBE_SEPARATORS).split(b"|")
    padded = b"".join(map(bytes.zfill, runs, itertools.repeat(_LUHN_WIDTH)))
    if len(padded) != _LUHN_WIDTH * len(runs):  # a run longer than the width: not a card match
        return list(map(_card_ok, candidates))
    values = bytearray(padded.translate(_DIGIT_VALUES))
    values[0::2] = padded[0::2].translate(_LUHN_DOUBLED)  # even offsets: an odd distance from the right end
    window_sums = (int.from_bytes(values, "big") * _ADD_WINDOW).to_bytes(len(values) + _LUHN_WIDTH, "big")
    sums = window_sums[_LUHN_WIDTH::_LUHN_WIDTH]  # the sum of candidate k is byte (k + 1) * width
    length_ok = map(_CARD_LENGTHS.__contains__, map(len, runs))
    issuer_ok = map(_ISSUER_FIRST.__contains__, map(operator.itemgetter(0), runs))
    luhn_ok = map((0).__eq__, map(operator.mod, sums, itertools.repeat(10)))
    return list(map(all, zip(length_ok, issuer_ok, luhn_ok, strict=True)))


# Every MMDD of a leap year: a set lookup per candidate, then 29 February needs a leap year.
_MONTH_DAYS = frozenset(
    f"{month:02d}{day:02d}"
    for month, days in enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), start=1)
    for day in range(1, days + 1)
)


def _birth_date_ok(ymd: str, gender: str) -> bool:
    """A real calendar date in the century the gender digit gives (1900s for 1/2/5/6, 2000s for 3/4/7/8)."""
    month_day = ymd[2:]
    if month_day not in _MONTH_DAYS:
        return False
    if month_day != "0229":
        return True
    year = (1900 if gender in "1256" else 2000) + int(ymd[:2])
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _no_cue_near(text: str, start: int, end: int) -> bool:
    window_start, window_end = max(0, start - _CUE_BEFORE), end + _CUE_AFTER
    return (
        _KOREAN_CUES_RE.search(text, window_start, window_end) is None
        and _ASCII_LETTER_RE.search(text, window_start, window_end) is None
    )


def _has_cue(text: str, start: int, end: int, cue: re.Pattern[str]) -> bool:
    window = text[max(0, start - _CUE_BEFORE) : end + _CUE_AFTER]
    return cue.search(window) is not None


def _nearest_before(text: str, start: int, cue: re.Pattern[str]) -> int | None:
    last = cue.search(text, max(0, start - _CUE_BEFORE), start)  # mostly None: one search settles it
    if last is None:
        return None
    for m in cue.finditer(text, last.end(), start):  # in order: the last one is the nearest
        last = m
    return start - last.end()


def _nearest_after(text: str, end: int, cue: re.Pattern[str]) -> int | None:
    first = cue.search(text, end, end + _CUE_AFTER)  # the first match is the nearest
    return None if first is None else first.start() - end


def _closer(account: int | None, other: int | None) -> bool:
    return account is not None and (other is None or account < other)


def _account_context(text: str, start: int, end: int) -> bool:
    """An unbroken run is an account when a bank word is the closest cue.

    Korean puts the label before the value ("계좌번호 110..."), so words before the run decide when
    there are any; words after it ("... 로 입금했어요") only when nothing labels it before.
    """
    if _no_cue_near(text, start, end):
        return False
    before_account = _nearest_before(text, start, _ACCOUNT_CUE_RE)
    before_other = _nearest_before(text, start, _NOT_ACCOUNT_CUE_RE)
    if before_account is not None or before_other is not None:
        return _closer(before_account, before_other)
    return _closer(_nearest_after(text, end, _ACCOUNT_CUE_RE), _nearest_after(text, end, _NOT_ACCOUNT_CUE_RE))


def _labelled_not_account(text: str, start: int) -> bool:
    """A bank grouping labelled as something else ("운송장번호 6012-3456-7890" is CJ's 4-4-4)."""
    # No _no_cue_near first: its two searches cost more than this one where the text has cue words.
    other = _nearest_before(text, start, _NOT_ACCOUNT_CUE_RE)
    if other is None:  # nothing else labels it: the bank words before it need no search
        return False
    return _closer(other, _nearest_before(text, start, _ACCOUNT_CUE_RE))


def _labelled_not_card(text: str, start: int, end: int) -> bool:
    """A short unbroken run that is a tracking number, or labelled as an order number, not a card."""
    if _no_cue_near(text, start, end):
        return False
    if _has_cue(text, start, end, _TRACKING_CUE_RE):
        return True
    return _closer(_nearest_before(text, start, _NOT_ACCOUNT_CUE_RE), _nearest_before(text, start, _CARD_CUE_RE))


# --- normalisation -------------------------------------------------------------------------------
#
# Customers (and people probing the masker) spell numbers in many ways. The finders run on a probe:
# the text with look-alikes folded to the ASCII the patterns expect. Findings are mapped back to the
# original offsets, so the masked text keeps the customer's own characters and a zero-width space
# inside a number is masked with it.

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"  # ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen
_DOT_LIKE = "\u00b7\u2027\u2219\u30fb\uff65"  # middle dots written between digit groups
_MINUS_LIKE = "\u2212\ufe63\uff0d"  # minus signs: category Sm, not Pd
# Characters every text is likely to hold whose fold is the character itself (or irrelevant to the
# patterns): a text made only of these skips the per-character fold.
_NEEDS_FOLD_RE = re.compile(r"[^\x00-\x7f\uac00-\ud7a3\u3131-\u318e\u2018-\u201d\u2026]")
_FOLD_CACHE_MAX = 4096  # distinct characters remembered; hostile text must not grow the table unboundedly


def _fold_char(ch: str) -> str | None:
    """The probe form of one character: None deletes it, anything else replaces it one for one."""
    if ch in _ZERO_WIDTH:
        return None
    if not ch.isdecimal():
        compat = unicodedata.normalize("NFKC", ch)  # full-width ASCII, circled/super-script digits, ＠
        if len(compat) == 1:
            ch = compat
        # A multi-character form ("…", "㈜", "½") is not how a number is written: it stays as typed.
    if ch.isdecimal():  # Arabic-Indic, Devanagari, mathematical, full-width ... digits
        return str(unicodedata.decimal(ch))
    if ch in _DOT_LIKE:
        return "."
    category = unicodedata.category(ch)
    if category == "Pd" or ch in _MINUS_LIKE:
        return "-"
    if category == "Zs":  # NBSP, U+2000-200A, ideographic space ...
        return " "
    return ch


class _FoldTable(dict[int, str | None]):
    """str.translate table filled on first use: the fold of a character is computed once."""

    def __missing__(self, code: int) -> str | None:
        folded = _fold_char(chr(code))
        if len(self) < _FOLD_CACHE_MAX:
            self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()

# Digits written one by one ("0 1 0 1 2 3 4 5 6 7 8", "8 5 0 1 0 6 - 2 1 7 ..."): eight or more single
# digits, each followed by a separator. They are joined before matching. Every repetition ends on a
# digit that is not followed by another one, so the regex never backtracks more than one step.
_SPACED_SEPARATORS = ("[ ]", "[ ]{2}", "[-./~,]", "[ ][-./~,]", "[-./~,][ ]", "[ ][-./~,][ ]")
_SPACED_DIGITS_RE = re.compile(  # one group, the whole run: re.split then returns the runs too
    r"([0-9](?![0-9])(?<![0-9].)"  # a single digit (the cheapest test first: most digits are in groups)
    # not the middle of a run: "1 2 3 ... " is tried once, from its first digit, not from each digit
    + "".join(f"(?<![0-9]{sep}.)" for sep in _SPACED_SEPARATORS)
    + r"(?:(?: {1,2}| ?[-./~,] ?)[0-9](?![0-9])){7,18}"
    + r"(?!(?: {1,2}| ?[-./~,] ?)[0-9]))"  # 8-19 digits: a longer list of single digits is no one number
)
_SPACED_RUN_SEPARATORS = b" -./~,"
# Such a run holds a single digit with a separator character on both sides. Finding one is a byte
# search over the text's character classes (UTF-8 bytes: digit "d", separator "s", anything else
# "x"), made by encode and translate in C: much cheaper than the regex trying every digit, and most
# digit-dense text ("010-1234-5678") has no single digits at all.
_DIGIT_SEPARATOR_CLASSES = bytes(
    ord("d") if byte in b"0123456789" else ord("s") if byte in b" -./~," else ord("x") for byte in range(256)
)


class _Edits:
    """Maps probe offsets back to the text the probe was made from.

    Edit i replaced source[old_starts[i]:old_ends[i]] by the probe's [new_starts[i]:new_ends[i]]:
    the digits of that span (joined single digits; deleted zero-width characters are mapped back by
    _Deletions). Outside the edits the two texts are the same, shifted. Parallel lists of ints, not a
    list of tuples: hostile text can hold an edit every few characters.
    """

    __slots__ = ("_new_ends", "_new_starts", "_old_ends", "_old_starts")

    def __init__(self, new_starts: list[int], new_ends: list[int], old_starts: list[int], old_ends: list[int]) -> None:
        self._new_starts, self._new_ends = new_starts, new_ends
        self._old_starts, self._old_ends = old_starts, old_ends

    def __bool__(self) -> bool:
        return bool(self._new_starts)

    def to_source(self, index: int, source: str) -> int:
        """The source offset of probe character `index`."""
        at = bisect.bisect_right(self._new_starts, index) - 1
        if at < 0:
            return index
        new_end, old_end = self._new_ends[at], self._old_ends[at]
        if index >= new_end:
            return old_end + (index - new_end)
        wanted = index - self._new_starts[at]  # the wanted-th digit of the joined span
        for position in range(self._old_starts[at], old_end):
            if source[position].isdecimal():
                if wanted == 0:
                    return position
                wanted -= 1
        return old_end - 1  # not reached: a joined run holds exactly the digits of its span


_NO_EDITS = _Edits([], [], [], [])


class _Deletions:
    """Maps offsets of a text with characters deleted back to the text they were deleted from.

    `kept_before[k]` counts the characters kept before the k-th deleted one (so it is sorted): kept
    character i had i + (deletions with kept_before <= i) characters before it. Hostile text can hold
    a deletion every other character, hence one flat list and bisection done by map, in C.
    """

    __slots__ = ("_kept_before",)

    def __init__(self, kept_before: list[int]) -> None:
        self._kept_before = kept_before

    def __bool__(self) -> bool:
        return bool(self._kept_before)

    def to_source(self, firsts: list[int], lasts: list[int]) -> tuple[list[int], list[int]]:
        """The source offsets of the first and last characters of sorted, non-overlapping spans."""
        kept_before = self._kept_before
        at_first = list(map(bisect.bisect_right, itertools.repeat(kept_before), firsts))
        # A span's last character lies between its first and the next span's first: its bisection
        # only searches the deletions between those two, a few steps instead of log2(all) of them.
        at_next = [*at_first[1:], len(kept_before)]
        at_last = map(bisect.bisect_right, itertools.repeat(kept_before), lasts, at_first, at_next)
        return list(map(operator.add, firsts, at_first)), list(map(operator.add, lasts, at_last))


_NO_DELETIONS = _Deletions([])


def _drop_zero_width(text: str) -> tuple[str, _Deletions]:
    """`text` without its zero-width characters, and the map back. Done with replace and split, in C:
    "0\u200b1\u200b0..." holds one every other character."""
    present = [ch for ch in _ZERO_WIDTH if ch in text]
    if not present:
        return text, _NO_DELETIONS
    for ch in present[1:]:  # one zero-width character left, then a split on it finds them all
        text = text.replace(ch, present[0])
    parts = text.split(present[0])
    return "".join(parts), _Deletions(list(itertools.accumulate(map(len, parts[:-1]))))


# Mathematical digits (U+1D7CE-1D7FF: bold, double-struck, sans-serif, sans-serif bold and monospace 0-9)
# are outside the BMP, where str.translate looks every character up in the fold table one by one (an int
# made, a dict lookup: 35 ms per MB). Text that holds no other non-ASCII character is folded in C
# instead: in UTF-32 each such digit is the low byte 0xCE + 10 * block + digit (the high bytes 01 D7
# 00), and every ASCII character is its own fold, so one translate of the low bytes is the probe.
_NOT_ASCII_OR_MATH_DIGIT_RE = re.compile("[^\x00-\x7f\U0001d7ce-\U0001d7ff]")
_MATH_DIGIT_LOW_BYTES = bytes(range(0x80)) + bytes(0xCE - 0x80) + bytes(b"0123456789" * 5)


def _fold_math_digits(text: str) -> str:
    """The fold of `text`, which holds only ASCII characters and mathematical digits."""
    return text.encode("utf-32-le")[0::4].translate(_MATH_DIGIT_LOW_BYTES).decode("ascii")


def _may_hold_spaced_digits(text: str) -> bool:
    """False when `text` surely has no run for _SPACED_DIGITS_RE (see _DIGIT_SEPARATOR_CLASSES)."""
    return b"sds" in text.encode("utf-8", "surrogatepass").translate(_DIGIT_SEPARATOR_CLASSES)


def _join_spaced_digits(probe: str) -> tuple[str, _Edits]:
    """The probe with each run of single digits joined, and the edits that did it. One split finds the
    runs, and the offsets come from the lengths of the parts (accumulate, in C): dense text holds a
    run every few dozen characters."""
    if not _may_hold_spaced_digits(probe):
        return probe, _NO_EDITS
    parts = _SPACED_DIGITS_RE.split(probe)  # kept, run, kept, run, ..., kept
    if len(parts) == 1:
        return probe, _NO_EDITS
    old_bounds = list(itertools.accumulate(map(len, parts)))  # where each part ends in `probe`
    # A run is ASCII: bytes.translate drops its separators far faster than str.translate.
    parts[1::2] = [run.encode("ascii").translate(None, _SPACED_RUN_SEPARATORS).decode("ascii") for run in parts[1::2]]
    new_bounds = list(itertools.accumulate(map(len, parts)))  # where each part ends in the joined probe
    edits = _Edits(new_bounds[0:-1:2], new_bounds[1::2], old_bounds[0:-1:2], old_bounds[1::2])
    return "".join(parts), edits


def _normalise(text: str) -> tuple[str, _Edits, str, _Deletions]:
    """The probe the finders run on, and the two edit maps back to `text`.

    1. Per character (NFKC, then folds): any Unicode decimal digit -> ASCII; full-width forms ->
       ASCII; dash and minus look-alikes -> "-"; middle dots -> "."; Unicode spaces (NBSP,
       U+2000-200A, U+3000) -> " "; zero-width characters (U+200B-200D, U+2060, U+FEFF, U+00AD)
       deleted. Slash, tilde and comma between digit groups are accepted by the patterns themselves.
    2. Runs of single digits with a separator after each are joined into one number.

    Returns (probe, joined_edits, folded, fold_edits): probe offsets map to `folded` through
    joined_edits, and `folded` offsets map to `text` through fold_edits.
    """
    if text.isascii() or _NEEDS_FOLD_RE.search(text) is None:
        folded, fold_edits = text, _NO_DELETIONS
    else:
        # Zero-width characters are the only ones the fold deletes: dropping them first (in C) keeps
        # the map back simple, and text that only had them needs no per-character translate.
        kept, fold_edits = _drop_zero_width(text)
        if kept.isascii() or _NEEDS_FOLD_RE.search(kept) is None:
            folded = kept
        elif _NOT_ASCII_OR_MATH_DIGIT_RE.search(kept) is None:
            folded = _fold_math_digits(kept)
        else:
            folded = kept.translate(_FOLD_TABLE)
    probe, joined_edits = _join_spaced_digits(folded)
    return probe, joined_edits, folded, fold_edits


# --- candidate finders ---------------------------------------------------------------------------
#
# Each finder returns the spans (probe offsets) of one kind, from one finditer pass: sorted and not
# overlapping each other. Dense PII text yields a match every few characters, so the finders keep the
# per-match Python work small.

_Span = tuple[int, int]


def _card_span(text: str, m: re.Match[str]) -> _Span | None:
    """The card in a card-shaped match, if it is one (issuer digit, Luhn, not a labelled order number)."""
    if m.group("card_run") and m.end() - m.start() <= 14 and _labelled_not_card(text, m.start(), m.end()):
        return None
    if _card_ok(m.group()):
        return m.span()
    if m.group("card_tail") and _card_ok(text[m.start() : m.start("card_tail")]):
        # "4111 1111 1111 1111 2개": the trailing group was a quantity, not part of the card.
        return m.start(), m.start("card_tail")
    return None


def _is_account(text: str, m: re.Match[str], cue_free: bool) -> bool:
    """`cue_free`: the whole text is known to have no cue word, so no label decides (two searches per
    candidate saved: digits typed one by one, once joined, make a run every few dozen characters)."""
    if m.group("acct_grouped"):
        return cue_free or not _labelled_not_account(text, m.start())
    return not cue_free and _account_context(text, m.start(), m.end())


_CANDIDATES_BEFORE_CUE_SCAN = 64


def _find_numbers(text: str) -> list[tuple[PiiKind, list[_Span]]]:
    """RRN, FRN, card and account spans (see _NUMBER_RE)."""
    rrns: list[_Span] = []
    frns: list[_Span] = []
    cards: list[_Span] = []
    # Card shapes are checked all at once after the pass (see _cards_ok). Their text and span are kept,
    # not the match: 10^5 live match objects would make each garbage-collector pass expensive.
    card_texts: list[str] = []
    card_text_spans: list[_Span] = []
    account_shapes: list[re.Match[str]] = []  # checked after the cards (see _account_spans)
    for m in _NUMBER_RE.finditer(text):
        shape = m.lastgroup  # the outermost group of the alternative that matched
        if shape == "card":
            card_texts.append(m.group())
            card_text_spans.append(m.span())
            continue
        if shape == "rrn_g":
            start = m.start()
            gender = m.group("rrn_g")
            if _birth_date_ok(text[start : start + 6], gender):
                (rrns if gender in "1234" else frns).append(m.span())
                continue
            card_shape = _CARD_RE.match(text, start)  # not a birth date: maybe the same digits are a card
            card = None if card_shape is None else _card_span(text, card_shape)
            if card is not None:
                cards.append(card)
                continue
            account_shape = _ACCOUNT_RE.match(text, start)
            if account_shape is not None:
                account_shapes.append(account_shape)
        else:
            account_shapes.append(m)
    checked_cards: list[_Span] = []
    late_accounts: list[re.Match[str]] = []  # card shapes that are no card but may be an account
    for span, candidate, ok in zip(card_text_spans, card_texts, _cards_ok(card_texts), strict=True):
        # An unbroken run (all digits: the grouped shapes have separators) may be labelled as no card.
        if ok and not candidate.isdigit():  # what _card_span finds, without the call
            checked_cards.append(span)
            continue
        card_shape = _CARD_RE.match(text, span[0])  # the same match: _NUMBER_RE's card alternative
        card = None if card_shape is None else _card_span(text, card_shape)
        if card is not None:
            checked_cards.append(card)
            continue
        account_shape = _ACCOUNT_RE.match(text, span[0])
        if account_shape is not None:
            late_accounts.append(account_shape)
    # Each list is in text order; two runs are merged by one sort (linear for Timsort).
    cards = sorted(cards + checked_cards) if cards else checked_cards
    if late_accounts:
        account_shapes = sorted(account_shapes + late_accounts, key=re.Match.start)
    accounts = _account_spans(text, account_shapes)
    return [(PiiKind.RRN, rrns), (PiiKind.FRN, frns), (PiiKind.CARD, cards), (PiiKind.ACCOUNT, accounts)]


def _account_spans(text: str, account_shapes: list[re.Match[str]]) -> list[_Span]:
    """The account-shaped matches that are accounts (see _is_account)."""
    accounts: list[_Span] = []
    # Whether the whole text has no cue word: looked up (two scans of the text) once there are enough
    # account candidates to pay for it; until then each candidate checks its own window. Either way
    # the answer is the same, so the order the candidates come in does not matter.
    cue_free = False
    unchecked = _CANDIDATES_BEFORE_CUE_SCAN
    for account_shape in account_shapes:
        unchecked -= 1
        if unchecked == 0:
            cue_free = _no_cue_near(text, 0, len(text))
        if _is_account(text, account_shape, cue_free):
            accounts.append(account_shape.span())
    return accounts


def _find_phone_spans(text: str) -> tuple[PiiKind, list[_Span]]:
    return PiiKind.PHONE, list(map(re.Match.span, _PHONE_RE.finditer(text)))


def _find_emails(text: str) -> list[tuple[PiiKind, list[_Span]]]:
    if "@" not in text:  # a C-speed scan saves the pattern's pass over every letter and digit
        return []
    return [(PiiKind.EMAIL, list(map(re.Match.span, _EMAIL_RE.finditer(text))))]


def _find_all(text: str) -> list[tuple[PiiKind, list[_Span]]]:
    """Every candidate, by kind, in precedence order: where candidates overlap, the earlier kind wins
    (RRN/FRN > CARD > PHONE > ACCOUNT > EMAIL). RRN and FRN never overlap each other."""
    rrns, frns, cards, accounts = _find_numbers(text)
    return [rrns, frns, cards, _find_phone_spans(text), accounts, *_find_emails(text)]


_AFTER_ALL = 1 << 62  # a start after any text: the right-hand sentinel of _free_of


def _free_of(starts: list[int], ends: list[int], spans: list[_Span]) -> list[_Span]:
    """The spans that overlap none of the chosen ones (`starts`/`ends`: sorted, non-overlapping).

    Only a span's two neighbours among the chosen can overlap it, found by bisection. The bisections
    and comparisons run as map() passes, in C: dense text has a span every few characters. Sentinels
    give every span two neighbours: bisect_right(bounded_starts, start) is at least 1 and at most
    len(starts) + 1, where bounded_starts[at] is the next chosen start and prev_ends[at] the end of
    the previous chosen span (-1: none).
    """
    if not starts:
        return spans
    bounded_starts = [-1, *starts, _AFTER_ALL]
    prev_ends = [-1, -1, *ends]
    span_starts = list(map(operator.itemgetter(0), spans))
    span_ends = map(operator.itemgetter(1), spans)
    at = list(map(bisect.bisect_right, itertools.repeat(bounded_starts), span_starts))
    clear_before = map(operator.le, map(prev_ends.__getitem__, at), span_starts)
    clear_after = map(operator.ge, map(bounded_starts.__getitem__, at), span_ends)
    return list(itertools.compress(spans, map(operator.and_, clear_before, clear_after)))


def _select(levels: list[tuple[PiiKind, list[_Span]]]) -> tuple[list[_Span], list[PiiKind]]:
    """Keep the highest-precedence spans that do not overlap, in text order (spans, kind of each).

    `levels` is in precedence order; each level's spans are sorted and do not overlap each other.
    Each span is checked against the kept spans of every higher level by bisection (see _free_of) and
    the kept spans are sorted once: O(n log n) in all, where checking every span against every chosen
    one was quadratic.
    """
    filled = [(kind, spans) for kind, spans in levels if spans]
    if len(filled) == 1:  # the common case: one kind, nothing to resolve
        kind, spans = filled[0]
        return spans, [kind] * len(spans)
    starts: list[int] = []  # of the kept spans, sorted; they never overlap, so their ends sort alike
    ends: list[int] = []
    kind_of: dict[_Span, PiiKind] = {}  # kept span -> kind; kept spans never overlap, so they differ
    for kind, spans in filled:
        free = _free_of(starts, ends, spans)
        # Plain ints, two sorted runs each: Timsort merges them faster than tuples of (start, end, kind).
        starts = sorted([*starts, *map(operator.itemgetter(0), free)])
        ends = sorted([*ends, *map(operator.itemgetter(1), free)])
        kind_of.update(dict.fromkeys(free, kind))
    chosen = sorted(kind_of)  # a few sorted runs, merged by Timsort
    return chosen, list(map(kind_of.__getitem__, chosen))


# --- public API ----------------------------------------------------------------------------------

# Every kind needs a digit or an "@" (including the look-alikes the fold turns into one).
_MAY_HOLD_PII = re.compile(r"[\d@\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u24ea\ufe6b\uff20]")


def _source_bounds(
    spans: list[_Span], text: str, probe_edits: _Edits, folded: str, fold_edits: _Deletions
) -> tuple[list[int], list[int]]:
    """Probe spans -> (starts, ends) in `text`: a span covers the source of its first to its last
    character. Two lists of ints: where the offsets are mapped back, zipping them into 10^5 new
    (start, end) tuples cost more than _replace reading the lists directly."""
    firsts = list(map(operator.itemgetter(0), spans))
    if not probe_edits and not fold_edits:
        return firsts, list(map(operator.itemgetter(1), spans))
    lasts = list(map((-1).__add__, map(operator.itemgetter(1), spans)))  # map passes, in C
    if probe_edits:
        firsts = [probe_edits.to_source(first, folded) for first in firsts]
        lasts = [probe_edits.to_source(last, folded) for last in lasts]
    if fold_edits:
        firsts, lasts = fold_edits.to_source(firsts, lasts)
    return firsts, list(map((1).__add__, lasts))


def mask_pii(text: str) -> MaskResult:
    """Replace every finding with a typed placeholder, numbered per kind in order of appearance.

    The same value twice gets the same placeholder, so an LLM or agent can tell they are one number.
    Matching runs on a normalised copy of the text (see _normalise: NFKC, every Unicode digit to
    ASCII, look-alike dashes/dots/spaces folded, zero-width characters dropped, digits typed one by one
    joined); the findings index the original text and the masked text keeps the customer's own
    characters around the placeholders. Time is linear in the length of the text.
    """
    if _MAY_HOLD_PII.search(text) is None:  # most texts skip the finders
        return MaskResult(text=text, findings=[], originals={})
    probe, probe_edits, folded, fold_edits = _normalise(text)
    spans, kinds = _select(_find_all(probe))
    if not spans:
        return MaskResult(text=text, findings=[], originals={})
    return _replace(text, *_source_bounds(spans, text, probe_edits, folded, fold_edits), kinds)


def _replace(text: str, starts: list[int], ends: list[int], kinds: list[PiiKind]) -> MaskResult:
    """The result for findings at starts[i]:ends[i] of `text` (sorted, not overlapping).

    Dense text has a finding every few characters: the placeholders are numbered by dict and map
    passes (in C), and one plain loop, which measured fastest for it, cuts the text between them.
    """
    values = [text[start:end] for start, end in zip(starts, ends, strict=True)]
    placeholders, originals = _placeholders(kinds, values)
    pieces: list[str] = []
    add_piece = pieces.append  # bound once: this loop is the hot one
    cursor = 0
    for start, end, placeholder in zip(starts, ends, placeholders, strict=True):
        add_piece(text[cursor:start])
        add_piece(placeholder)
        cursor = end
    pieces.append(text[cursor:])
    findings = list(map(PiiFinding, kinds, starts, ends, placeholders))
    return MaskResult(text="".join(pieces), findings=findings, originals=originals)


def _placeholders(kinds: list[PiiKind], values: list[str]) -> tuple[list[str], dict[str, str]]:
    """The placeholder of each finding, numbered per kind in order of first appearance (the same value,
    the same placeholder), and the originals: placeholder -> value, in order of first appearance."""
    if not kinds:
        return [], {}
    kind = kinds[0]
    if kinds.count(kind) == len(kinds):  # one kind, the common case: the value alone is the key
        first_seen = dict.fromkeys(values)
        if len(first_seen) == len(values):  # no value repeats: the placeholders are numbered in order
            placeholders = _placeholder_names(kind, len(values))
            return placeholders, dict(zip(placeholders, values, strict=True))
        names = dict(zip(first_seen, _placeholder_names(kind, len(first_seen)), strict=True))
        return list(map(names.__getitem__, values)), dict(zip(names.values(), names, strict=True))
    present = [kind for kind in PiiKind if kind in kinds]
    if len(set(values)) == len(values):  # no value repeats: each kind's placeholders are numbered in order
        names = {}
        for kind in present:
            kind_values = list(itertools.compress(values, map(operator.is_, kinds, itertools.repeat(kind))))
            names.update(zip(kind_values, _placeholder_names(kind, len(kind_values)), strict=True))
        placeholders = list(map(names.__getitem__, values))
        return placeholders, dict(zip(placeholders, values, strict=True))
    keys = list(map(operator.add, kinds, values))  # "PHONE010-...": no kind's name starts another's
    names = {}
    for kind in present:
        same_kind = itertools.compress(keys, map(operator.is_, kinds, itertools.repeat(kind)))
        names.update(_numbered(kind, same_kind))
    placeholders = list(map(names.__getitem__, keys))
    return placeholders, dict(zip(placeholders, values, strict=True))  # a repeat stores the same value again


def _numbered(kind: PiiKind, keys: Iterable[str]) -> dict[str, str]:
    """key -> "<KIND_n>", n counting the distinct keys in order of first appearance."""
    first_seen = dict.fromkeys(keys)
    return dict(zip(first_seen, _placeholder_names(kind, len(first_seen)), strict=True))


def _placeholder_names(kind: PiiKind, count: int) -> list[str]:
    """["<KIND_1>", ..., "<KIND_count>"]."""
    opener = _PLACEHOLDER_OPEN[kind]
    return [f"{opener}{n}>" for n in range(1, count + 1)]


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


# Log values are capped: a log line is no place for a 1 MB payload, and masking it would stall the event
# loop. The cut comes BEFORE masking, so the masker never scans more than the cap.
LOG_VALUE_LIMIT = 4096
# Applied to the kept part, read from the cut outwards: the word the cut went through ("010-1234-56",
# "hong.gil") and then every digit, space and punctuation mark up to the next letter, so no part of a
# number (or e-mail address) split by the cut is written unmasked. Greedy and anchored: linear.
_CUT_EDGE_RE = re.compile(r"\S*[\W\d_]*")


def _cut_edge(text: str) -> int:
    """How many characters at the start of `text` (read from a cut) go with the cut."""
    m = _CUT_EDGE_RE.match(text)
    return m.end() if m else 0  # always a match (it can be empty); the test is for the type checker


def _trim_cut_end(head: str) -> str:
    """`head` without the partial word (and the digits or separators before it) at its cut end."""
    return head[: len(head) - _cut_edge(head[::-1])]


def _trim_cut_start(tail: str) -> str:
    return tail[_cut_edge(tail) :]


def mask_for_log(text: str, *, limit: int = LOG_VALUE_LIMIT, keep_tail: int = 0) -> str:
    """The masked text only: what the logging processor writes.

    A text longer than `limit` is cut first and masked after: the first `limit - keep_tail` characters
    and the last `keep_tail` (tracebacks end with the error) are kept, each trimmed back from the cut
    to a letter (see _CUT_EDGE_RE), and what is dropped becomes "…(+N chars)".
    """
    if len(text) <= limit:
        return mask_pii(text).text
    head = _trim_cut_end(text[: limit - keep_tail])
    tail = _trim_cut_start(text[len(text) - keep_tail :]) if keep_tail > 0 else ""
    # Masked as one text so one value keeps one placeholder; the marker cannot join a number: the kept
    # parts end and start with a letter, and its "+" blocks a phone number.
    marker = f"…(+{len(text) - len(head) - len(tail)} chars)"
    return mask_pii(head + marker + tail).text
