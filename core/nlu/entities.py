"""Entities customers type inside messages: order ids, error codes, phone numbers and dates.

Each kind is found with a tolerant pattern and returned in one canonical spelling, so scenario
slots and tools see "ORD-20261101-0001" however it was typed ("ord 20261101 0001").

Patterns:
- order id: "ORD" + 8-digit date + 4-digit serial; any case; spaces, dashes, underscores or nothing
  between the parts. Canonical "ORD-YYYYMMDD-NNNN".
- error code: one letter of ERROR_CODE_LETTERS + 2-4 digits, optionally split by a space or dash
  ("e101", "E-101", "E 101"), not glued to other letters or digits. Canonical upper case, no dash.
  The letters are E, F, W, C (error / fault / warning / communication) plus R and S, which the demo
  pack uses for its router and soundbar codes.
- phone: Korean mobile (010/011/016/017/018/019), Seoul 02, area codes 031-064, 070, and
  15xx/16xx/18xx business numbers; "+82 10 ..." is read as "010 ...". Canonical dashed form.
- date: "2026-11-25", "2026.11.25", "2026/11/25", "2026년 11월 25일", "11월 25일", "11/25",
  "오늘", "내일", "모레", "어제", "그제/그저께", "이번 주 X요일", "다음 주 X요일", "X요일" (the next
  one, today included); relative to `today`. Dates without a year take today's year. ISO output.

Order ids are taken out of the text before phones and dates are searched, so their digits are
never read as a phone number or a date.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import msgspec

ERROR_CODE_LETTERS = "EFWCRS"

_ORDER_ID = re.compile(r"(?<![A-Za-z0-9])ORD[\s_-]*(\d{8})[\s_-]*(\d{4})(?!\d)", re.IGNORECASE)
_ERROR_CODE = re.compile(rf"(?<![A-Za-z0-9])([{ERROR_CODE_LETTERS}])[ -]?(\d{{2,4}})(?![A-Za-z0-9])", re.IGNORECASE)
_SEP = r"[\s.-]?"
_PHONE = re.compile(
    r"(?<![\d+])(?:\+82[\s-]?|0)"  # +82 replaces the leading 0
    rf"(1[016789]|2|[3-6][1-5]|70){_SEP}(\d{{3,4}}){_SEP}(\d{{4}})(?!\d)"
    rf"|(?<!\d)(1[568]\d\d){_SEP}(\d{{4}})(?!\d)"
)
_ISO_DATE = re.compile(r"(?<!\d)(20\d\d)\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})\s*일?(?!\d)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*월\s*(\d{1,2})\s*일")
_SLASH_DATE = re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,2})(?![\d/])")
_WEEKDAYS = "월화수목금토일"
_WEEKDAY = re.compile(rf"(이번\s*주|다음\s*주|담주)?\s*([{_WEEKDAYS}])요일")
_RELATIVE_DAYS = {"그저께": -2, "그제": -2, "어제": -1, "오늘": 0, "내일": 1, "모레": 2, "글피": 3}
_RELATIVE = re.compile("|".join(_RELATIVE_DAYS))


class Entities(msgspec.Struct, frozen=True):
    order_ids: list[str] = []  # "ORD-YYYYMMDD-NNNN"
    error_codes: list[str] = []  # "E101"
    phones: list[str] = []  # "010-1234-5678"
    dates: list[str] = []  # "2026-11-25"


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]


def _phone(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return f"0{match.group(1)}-{match.group(2)}-{match.group(3)}"
    return f"{match.group(4)}-{match.group(5)}"


def _date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _weekday_date(today: dt.date, week: str | None, weekday_char: str) -> str:
    weekday = _WEEKDAYS.index(weekday_char)
    if week is None:  # the next such day, today included
        return (today + dt.timedelta(days=(weekday - today.weekday()) % 7)).isoformat()
    monday = today - dt.timedelta(days=today.weekday())
    if not week.startswith("이번"):
        monday += dt.timedelta(days=7)
    return (monday + dt.timedelta(days=weekday)).isoformat()


def _dates(text: str, today: dt.date) -> list[str]:
    found: list[tuple[int, str]] = []
    for match in _ISO_DATE.finditer(text):
        iso = _date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if iso:
            found.append((match.start(), iso))
        text = _blank(text, match)
    for pattern in (_MONTH_DAY, _SLASH_DATE):
        for match in pattern.finditer(text):
            iso = _date(today.year, int(match.group(1)), int(match.group(2)))
            if iso and iso < today.isoformat():  # no year given: a day already past means next year's
                iso = _date(today.year + 1, int(match.group(1)), int(match.group(2)))
            if iso:
                found.append((match.start(), iso))
            text = _blank(text, match)
    for match in _WEEKDAY.finditer(text):
        found.append((match.start(), _weekday_date(today, match.group(1), match.group(2))))
    for match in _RELATIVE.finditer(text):
        found.append((match.start(), (today + dt.timedelta(days=_RELATIVE_DAYS[match.group()])).isoformat()))
    return [iso for _, iso in sorted(found, key=lambda pair: pair[0])]


def find_order_ids(text: str) -> list[str]:
    """Only the order ids of `text` (canonical, de-duplicated): cheaper than extract_entities."""
    return _unique([f"ORD-{m.group(1)}-{m.group(2)}" for m in _ORDER_ID.finditer(unicodedata.normalize("NFKC", text))])


def has_ids(text: str) -> bool:
    """An order id or an error code is in `text`: something a scenario can look up."""
    text = unicodedata.normalize("NFKC", text)
    return bool(_ORDER_ID.search(text) or _ERROR_CODE.search(text))


def extract_entities(text: str, today: dt.date | None = None) -> Entities:
    """All entities in `text`, canonical and de-duplicated, in order of appearance per kind.

    `today` anchors relative dates ("내일"); pass it explicitly in tests and per conversation
    time zone in production (defaults to the machine's local date).
    """
    today = today or dt.date.today()
    text = unicodedata.normalize("NFKC", text)
    order_ids: list[str] = []
    for match in _ORDER_ID.finditer(text):
        order_ids.append(f"ORD-{match.group(1)}-{match.group(2)}")
        text = _blank(text, match)
    error_codes = [f"{m.group(1).upper()}{m.group(2)}" for m in _ERROR_CODE.finditer(text)]
    phones: list[str] = []
    for match in _PHONE.finditer(text):
        phones.append(_phone(match))
        text = _blank(text, match)
    return Entities(
        order_ids=_unique(order_ids),
        error_codes=_unique(error_codes),
        phones=_unique(phones),
        dates=_unique(_dates(text, today)),
    )
