"""Every Kakao limit in one place: the numbers, text measuring/splitting, and the final validator.

Policy (docs/kakao.md §1): structure and count violations are **rejected** (`validate` returns them;
the renderer never produces one). Lengths are display limits that Kakao's own examples break, so they
are **truncated** (`truncate`, `fit_lengths`) and only **warned** about (`length_warnings`), never
rejected. Line limits ("max 2 lines") are device-dependent: `fit_lengths` collapses explicit newlines
beyond them and nothing checks them.

Numbers are the current response-format page (SF). Where the older revision (seed 003) is stricter and
it costs nothing, the renderer uses the `SAFE_*` numbers; the validator enforces the SF ones.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msgspec

from adapters.kakao.response import (
    CAROUSEL_ITEM_TYPES,
    VERSION,
    BasicCard,
    Button,
    Carousel,
    CarouselHeader,
    CommerceCard,
    ItemCard,
    ListCard,
    ListItem,
    Output,
    QuickReply,
    SimpleImage,
    SimpleText,
    SkillResponse,
    TextCard,
    Thumbnail,
)

# --- counts (rejected when exceeded) -------------------------------------------------------------
MIN_OUTPUTS = 1
MAX_OUTPUTS = 3
MAX_QUICK_REPLIES = 10
MAX_CAROUSEL_ITEMS = 10
MAX_CAROUSEL_LIST_CARDS = 5  # a listCard carousel holds at most 5 cards
MAX_LIST_ITEMS = 5
MAX_LIST_ITEMS_IN_CAROUSEL = 4
MAX_ITEM_LIST = 10  # itemCard itemList rows
MAX_ITEM_LIST_IN_CAROUSEL = 5
MAX_BUTTONS_VERTICAL = 3
MAX_BUTTONS_HORIZONTAL = 2  # also when a basic/commerce thumbnail has fixedRatio (1:1)
COMMERCE_THUMBNAILS = 1  # "현재 1개만 가능": exactly one
SAFE_MAX_LIST_BUTTONS = 2  # SF-prev allowed 2 listCard buttons; the renderer stays inside both
SAFE_MIN_COMMERCE_BUTTONS = 1  # SF-prev/OLD required at least one commerceCard button

# --- lengths in kakao_len() units (truncated, warned about) --------------------------------------
SIMPLE_TEXT_MAX = 1000
SIMPLE_TEXT_CHUNK = 900  # renderer's per-bubble budget for long text (headroom under 1000)
SIMPLE_IMAGE_ALT_MAX = 50
TEXT_CARD_TITLE_MAX = 50
TEXT_CARD_TOTAL_MAX = 400  # title + description together, single card
TEXT_CARD_DESCRIPTION_CAROUSEL_MAX = 128
BASIC_CARD_TITLE_MAX = 50
BASIC_CARD_DESCRIPTION_MAX = 230
SAFE_BASIC_CARD_DESCRIPTION_CAROUSEL_MAX = 76  # SF-prev's carousel limit; renderer uses it
COMMERCE_TITLE_MAX = 30
COMMERCE_DESCRIPTION_MAX = 40
THUMBNAIL_ALT_MAX = 50
BUTTON_LABEL_MAX = 14
BUTTON_LABEL_HORIZONTAL_MAX = 8  # two buttons side by side
QUICK_REPLY_LABEL_MAX = 14  # undocumented; the value third-party SDKs use
ITEM_LIST_TITLE_MAX = 6
ITEM_LIST_SUMMARY_TITLE_MAX = 6
ITEM_LIST_SUMMARY_DESCRIPTION_MAX = 14  # a formatted amount; omitted (not truncated) when too long
ITEM_CARD_TEXT_MAX = 200  # itemCard title + description, single
ITEM_CARD_TEXT_CAROUSEL_MAX = 100
ITEM_PROFILE_TITLE_MAX = 15
CALLBACK_WAIT_TEXT_MAX = TEXT_CARD_TOTAL_MAX  # data.text fills the waiting textCard via {{#webhook.text}}

# --- lines (collapsed by fit_lengths; not validated) ---------------------------------------------
CAROUSEL_CARD_TITLE_LINES = 2  # basicCard title in a carousel
SAFE_CAROUSEL_CARD_TITLE_LINES = 1  # "no \n in carousel"
CAROUSEL_CARD_DESCRIPTION_LINES = 2
BASIC_CARD_DESCRIPTION_LINES = 4  # single card (SF-prev)
CAROUSEL_HEADER_TITLE_LINES = 2
CAROUSEL_HEADER_DESCRIPTION_LINES = 3
ITEM_LIST_DESCRIPTION_LINES = 2
ITEM_HEAD_TITLE_LINES = 1
ITEM_IMAGE_TITLE_LINES = 2
ITEM_IMAGE_DESCRIPTION_LINES = 1
ITEM_CARD_TEXT_LINES = 12

# --- enumerations --------------------------------------------------------------------------------
BUTTON_ACTIONS = frozenset({"webLink", "message", "phone", "block", "share", "operator"})
QUICK_REPLY_ACTIONS = frozenset({"message", "block"})
LIST_ITEM_ACTIONS = frozenset({"message", "block"})
BUTTON_LAYOUTS = frozenset({"vertical", "horizontal"})
ITEM_LIST_ALIGNMENTS = frozenset({"left", "right"})
CURRENCIES = frozenset({"won"})
NO_CAROUSEL_HEADER = frozenset({"textCard", "listCard"})

ELLIPSIS = "…"


class LimitViolation(ValueError):
    """A response that breaks Kakao's structure or count rules."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --- measuring -----------------------------------------------------------------------------------


def kakao_len(text: str) -> int:
    """Conservative length: NFC, then the larger of code points and UTF-16 code units."""
    nfc = unicodedata.normalize("NFC", text)
    return max(len(nfc), len(nfc.encode("utf-16-le")) // 2)


def _is_extender(ch: str) -> bool:
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or cp == 0x200D  # ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (flags of regions)
    )


def _hangul_kind(ch: str) -> str:
    cp = ord(ch)
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97F:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return ""


_HANGUL_JOINS = {
    ("L", "L"),
    ("L", "V"),
    ("L", "LV"),
    ("L", "LVT"),
    ("LV", "V"),
    ("V", "V"),
    ("LV", "T"),
    ("V", "T"),
    ("LVT", "T"),
    ("T", "T"),
}


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def graphemes(text: str) -> list[str]:
    """User-perceived characters (a practical subset of UAX #29): never splits ZWJ emoji sequences,
    skin tones, flags, combining marks, CR LF or conjoining Hangul jamo."""
    clusters: list[str] = []
    for ch in text:
        if clusters:
            last = clusters[-1]
            prev = last[-1]
            joins = (
                _is_extender(ch)
                or prev == "\u200d"
                or (prev == "\r" and ch == "\n")
                or (_hangul_kind(prev), _hangul_kind(ch)) in _HANGUL_JOINS
                or (_is_regional(ch) and _is_regional(prev) and sum(1 for c in last if _is_regional(c)) % 2 == 1)
            )
            if joins:
                clusters[-1] = last + ch
                continue
        clusters.append(ch)
    return clusters


def truncate(text: str, limit: int) -> str:
    """Cut `text` to `limit` kakao_len units on a grapheme boundary, "…" included in the budget.

    Text that already fits is returned unchanged.
    """
    if kakao_len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    budget = limit - kakao_len(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for cluster in graphemes(unicodedata.normalize("NFC", text)):
        size = kakao_len(cluster)
        if used + size > budget:
            break
        kept.append(cluster)
        used += size
    return "".join(kept).rstrip() + ELLIPSIS


def collapse_lines(text: str, max_lines: int) -> str:
    """Join explicit lines beyond `max_lines` into the last allowed line."""
    lines = text.split("\n")
    if len(lines) <= max_lines:
        return text
    head, tail = lines[: max_lines - 1], lines[max_lines - 1 :]
    return "\n".join([*head, " ".join(part.strip() for part in tail if part.strip())])


# --- Markdown and splitting ----------------------------------------------------------------------

# Line-anchored patterns use [ \t], never \s, so that they cannot eat the newlines around a line.
_FENCE = re.compile(r"^[ \t]*(```|~~~).*$\n?", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.MULTILINE)
_RULE = re.compile(r"^[ \t]{0,3}([-*_])([ \t]*\1){2,}[ \t]*$", re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
_TABLE_SEPARATOR = re.compile(r"^(?=[^\n]*\|)(?=[^\n]*--)[ \t|:-]+$\n?", re.MULTILINE)  # |---|:--:|
_TABLE_ROW = re.compile(r"^[ \t]*\|(.*)\|[ \t]*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![_\w])_(?=\S)([^_\n]+?)(?<=\S)_(?![_\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_CODE = re.compile(r"`([^`\n]+)`")
_BLANK_LINES = re.compile(r"\n{3,}")


def _link_text(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2)
    return url if label == url else f"{label} ({url})"


def _table_row(match: re.Match[str]) -> str:
    cells = [cell.strip() for cell in match.group(1).split("|")]
    return " · ".join(cell for cell in cells if cell)


def strip_markdown(text: str) -> str:
    """simpleText is plain text: drop Markdown marks, bullets -> "• ", links -> "text (url)"."""
    out = text.replace("\r\n", "\n")
    out = _FENCE.sub("", out)
    out = _TABLE_SEPARATOR.sub("", out)
    out = _TABLE_ROW.sub(_table_row, out)
    out = _HEADING.sub(r"\1", out)
    out = _RULE.sub("", out)
    out = _QUOTE.sub("", out)
    out = _BULLET.sub(r"\1• ", out)
    out = _IMAGE.sub(lambda m: m.group(1).strip() or m.group(2), out)
    out = _LINK.sub(_link_text, out)
    out = _BOLD.sub(r"\2", out)
    out = _STRIKE.sub(r"\1", out)
    out = _ITALIC_STAR.sub(r"\1", out)
    out = _ITALIC_UNDERSCORE.sub(r"\1", out)
    out = _CODE.sub(r"\1", out)
    out = _BLANK_LINES.sub("\n\n", out)
    return out.strip()


# Boundaries, best first: paragraph, line, sentence end (incl. Korean "요." "다." and "…", "~").
_BOUNDARY = re.compile(r"(\n{2,}|\n|(?<=[.!?。！？…~])[ \t]+)")


def _hard_split(piece: str, size: int) -> list[str]:
    """Split a run longer than `size` at spaces, else at grapheme boundaries."""
    parts: list[str] = []
    current = ""
    for word in re.split(r"(?<=\s)", piece):
        if kakao_len(current + word) <= size:
            current += word
            continue
        if current:
            parts.append(current)
            current = ""
        while kakao_len(word) > size:
            head = ""
            for cluster in graphemes(word):
                if kakao_len(head + cluster) > size:
                    break
                head += cluster
            parts.append(head)
            word = word[len(head) :]
        current = word
    if current:
        parts.append(current)
    return parts


def _segments(text: str, size: int) -> list[str]:
    """Sentence-sized pieces, each ending with its separator and each within `size`."""
    tokens = _BOUNDARY.split(text)
    segments: list[str] = []
    for i in range(0, len(tokens), 2):
        piece = tokens[i]
        separator = tokens[i + 1] if i + 1 < len(tokens) else ""
        if kakao_len(piece) > size:
            *whole, last = _hard_split(piece, size)
            segments.extend(whole)
            piece = last
        segments.append(piece + separator)
    return [s for s in segments if s]


def split_text(text: str, per_bubble: int = SIMPLE_TEXT_CHUNK, max_bubbles: int = MAX_OUTPUTS) -> list[str]:
    """Plain-text bubbles of at most `per_bubble`, cut at paragraph/sentence boundaries.

    Markdown is stripped first. When more than `max_bubbles` would be needed, the rest goes into the
    last bubble, truncated with "…". Empty text gives no bubbles.
    """
    if per_bubble < 2 or max_bubbles < 1:
        raise ValueError("per_bubble must be >= 2 and max_bubbles >= 1")
    clean = strip_markdown(unicodedata.normalize("NFC", text))
    if not clean:
        return []
    bubbles: list[str] = []
    current = ""
    for segment in _segments(clean, per_bubble):
        if not current.strip() or kakao_len((current + segment).rstrip()) <= per_bubble:
            current += segment
            continue
        # Prefer ending the bubble at a paragraph break when that leaves it at least half full.
        head, sep, tail = current.rstrip().rpartition("\n\n")
        if sep and kakao_len(head) >= per_bubble // 2 and kakao_len((tail + "\n\n" + segment).rstrip()) <= per_bubble:
            bubbles.append(head.strip())
            current = tail + "\n\n" + segment
        else:
            bubbles.append(current.strip())
            current = segment
    if current.strip():
        bubbles.append(current.strip())
    if len(bubbles) > max_bubbles:
        rest = "\n".join(bubbles[max_bubbles - 1 :])
        bubbles = [*bubbles[: max_bubbles - 1], truncate(rest, per_bubble)]
    return bubbles


# --- validation ----------------------------------------------------------------------------------


def is_http_url(value: str | None) -> bool:
    if not value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "https://[x]": not a URL a customer could open
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _horizontal(layout: str | None, thumbnail: Thumbnail | None) -> bool:
    if layout is not None:
        return layout == "horizontal"
    return bool(thumbnail is not None and thumbnail.fixedRatio)


def _card_thumbnail(card: Any) -> Thumbnail | None:
    if isinstance(card, BasicCard):
        return card.thumbnail
    if isinstance(card, CommerceCard) and card.thumbnails:
        return card.thumbnails[0]
    return None


def _check_button(path: str, button: Button) -> list[str]:
    problems: list[str] = []
    if not button.label.strip():
        problems.append(f"{path}.label: required")
    action = button.action
    if action not in BUTTON_ACTIONS:
        problems.append(f"{path}.action: unknown action {action!r}")
    elif action == "webLink" and not is_http_url(button.webLinkUrl):
        problems.append(f"{path}.webLinkUrl: an http(s) URL is required for webLink")
    elif action == "message" and not button.messageText:
        problems.append(f"{path}.messageText: required for message")
    elif action == "phone" and not button.phoneNumber:
        problems.append(f"{path}.phoneNumber: required for phone")
    elif action == "block" and not button.blockId:
        problems.append(f"{path}.blockId: required for block")
    return problems


def _check_buttons(path: str, buttons: list[Button], layout: str | None, thumbnail: Thumbnail | None) -> list[str]:
    problems: list[str] = []
    if layout is not None and layout not in BUTTON_LAYOUTS:
        problems.append(f"{path}.buttonLayout: must be vertical or horizontal, got {layout!r}")
    cap = MAX_BUTTONS_HORIZONTAL if _horizontal(layout, thumbnail) else MAX_BUTTONS_VERTICAL
    if len(buttons) > cap:
        problems.append(f"{path}.buttons: {len(buttons)} buttons, at most {cap} in this layout")
    for i, button in enumerate(buttons):
        problems += _check_button(f"{path}.buttons[{i}]", button)
    return problems


def _check_thumbnail(path: str, thumbnail: Thumbnail | None) -> list[str]:
    if thumbnail is None:
        return [f"{path}: required"]
    if not is_http_url(thumbnail.imageUrl):
        return [f"{path}.imageUrl: an http(s) URL is required"]
    return []


def _check_list_item(path: str, item: ListItem) -> list[str]:
    problems: list[str] = []
    if not item.title.strip():
        problems.append(f"{path}.title: required")
    if item.action is not None:
        if item.action not in LIST_ITEM_ACTIONS:
            problems.append(f"{path}.action: must be block or message, got {item.action!r}")
        elif item.action == "block" and not item.blockId:
            problems.append(f"{path}.blockId: required for block")
        elif item.action == "message" and not item.messageText:
            problems.append(f"{path}.messageText: required for message")
    return problems


def _check_card(path: str, card: Any, in_carousel: bool) -> list[str]:
    problems: list[str] = []
    if isinstance(card, SimpleText):
        if not card.text.strip():
            problems.append(f"{path}.text: required")
    elif isinstance(card, SimpleImage):
        if not is_http_url(card.imageUrl):
            problems.append(f"{path}.imageUrl: an http(s) URL is required")
    elif isinstance(card, TextCard):
        if not (card.title or card.description):
            problems.append(f"{path}: title or description is required")
        problems += _check_buttons(path, card.buttons, card.buttonLayout, None)
    elif isinstance(card, BasicCard):
        problems += _check_thumbnail(f"{path}.thumbnail", card.thumbnail)
        problems += _check_buttons(path, card.buttons, card.buttonLayout, card.thumbnail)
    elif isinstance(card, CommerceCard):
        if len(card.thumbnails) != COMMERCE_THUMBNAILS:
            problems.append(f"{path}.thumbnails: exactly {COMMERCE_THUMBNAILS} required, got {len(card.thumbnails)}")
        for i, thumbnail in enumerate(card.thumbnails):
            problems += _check_thumbnail(f"{path}.thumbnails[{i}]", thumbnail)
        if card.currency is not None and card.currency not in CURRENCIES:
            problems.append(f"{path}.currency: only 'won' is supported, got {card.currency!r}")
        if card.discountRate is not None and card.discountedPrice is None:
            problems.append(f"{path}.discountedPrice: required with discountRate")
        problems += _check_buttons(path, card.buttons, card.buttonLayout, _card_thumbnail(card))
    elif isinstance(card, ListCard):
        if card.header is None:
            problems.append(f"{path}.header: required")
        elif not card.header.title.strip():
            problems.append(f"{path}.header.title: required")
        cap = MAX_LIST_ITEMS_IN_CAROUSEL if in_carousel else MAX_LIST_ITEMS
        if not card.items:
            problems.append(f"{path}.items: at least one item is required")
        elif len(card.items) > cap:
            problems.append(f"{path}.items: {len(card.items)} items, at most {cap}")
        for i, item in enumerate(card.items):
            problems += _check_list_item(f"{path}.items[{i}]", item)
        problems += _check_buttons(path, card.buttons, card.buttonLayout, None)
    elif isinstance(card, ItemCard):
        problems += _check_item_card(path, card, in_carousel)
    else:
        problems.append(f"{path}: unknown component {type(card).__name__}")
    return problems


def _check_item_card(path: str, card: ItemCard, in_carousel: bool) -> list[str]:
    problems: list[str] = []
    cap = MAX_ITEM_LIST_IN_CAROUSEL if in_carousel else MAX_ITEM_LIST
    if not card.itemList:
        problems.append(f"{path}.itemList: required")
    elif len(card.itemList) > cap:
        problems.append(f"{path}.itemList: {len(card.itemList)} rows, at most {cap}")
    if card.head is not None and card.profile is not None:
        problems.append(f"{path}: head and profile are mutually exclusive")
    if card.itemListAlignment is not None and card.itemListAlignment not in ITEM_LIST_ALIGNMENTS:
        problems.append(f"{path}.itemListAlignment: must be left or right, got {card.itemListAlignment!r}")
    if card.description and not card.title:
        problems.append(f"{path}.title: required when description is set")
    if card.thumbnail is not None:
        problems += _check_thumbnail(f"{path}.thumbnail", card.thumbnail)
        t = card.thumbnail
        if in_carousel and t.width and t.height and t.width != 2 * t.height:
            problems.append(f"{path}.thumbnail: itemCard carousels allow 2:1 images only")
    problems += _check_buttons(path, card.buttons, card.buttonLayout, None)
    return problems


def _image_ratio(card: Any) -> str | None:
    """'1:1' / '2:1' for cards that show an image, None for cards without one."""
    if isinstance(card, BasicCard | CommerceCard):
        thumbnail = _card_thumbnail(card)
        if thumbnail is None:
            return None
        return "1:1" if thumbnail.fixedRatio else "2:1"
    if isinstance(card, ItemCard) and card.thumbnail is not None:
        t = card.thumbnail
        if not (t.width and t.height):
            return "1:1"  # no width/height -> shown 1:1
        return "1:1" if t.width == t.height else f"{t.width}:{t.height}"
    return None


def _check_carousel(path: str, carousel: Carousel) -> list[str]:
    problems: list[str] = []
    item_type = CAROUSEL_ITEM_TYPES.get(carousel.type)
    if item_type is None:
        return [f"{path}.type: unknown carousel type {carousel.type!r}"]
    cap = MAX_CAROUSEL_LIST_CARDS if carousel.type == "listCard" else MAX_CAROUSEL_ITEMS
    if not carousel.items:
        problems.append(f"{path}.items: at least one item is required")
    elif len(carousel.items) > cap:
        problems.append(f"{path}.items: {len(carousel.items)} cards, at most {cap}")
    for i, item in enumerate(carousel.items):
        if not isinstance(item, item_type):
            problems.append(f"{path}.items[{i}]: {type(item).__name__} in a {carousel.type} carousel (mixed types)")
            continue
        problems += _check_card(f"{path}.items[{i}]", item, in_carousel=True)
    ratios = {r for r in (_image_ratio(item) for item in carousel.items) if r is not None}
    if len(ratios) > 1:
        problems.append(f"{path}.items: images must all be 1:1 or all 2:1, got {sorted(ratios)}")
    if carousel.type == "itemCard":
        cards = [item for item in carousel.items if isinstance(item, ItemCard)]
        for field in ("thumbnail", "head", "profile", "imageTitle"):
            present = {getattr(card, field) is not None for card in cards}
            if len(present) > 1:
                problems.append(f"{path}.items: itemCard {field} must be on all cards or none")
    if carousel.header is not None:
        problems += _check_carousel_header(f"{path}.header", carousel.type, carousel.header)
    return problems


def _check_carousel_header(path: str, carousel_type: str, header: CarouselHeader) -> list[str]:
    if carousel_type in NO_CAROUSEL_HEADER:
        return [f"{path}: not allowed on a {carousel_type} carousel"]
    problems: list[str] = []
    if not header.title.strip():
        problems.append(f"{path}.title: required")
    if not header.description.strip():
        problems.append(f"{path}.description: required")
    problems += _check_thumbnail(f"{path}.thumbnail", header.thumbnail)
    return problems


def _check_output(path: str, output: Output) -> list[str]:
    components = output.components()
    if len(components) != 1:
        return [f"{path}: exactly one component per output, got {len(components)}"]
    component = components[0]
    path = f"{path}.{component.KEY}"
    if isinstance(component, Carousel):
        return _check_carousel(path, component)
    return _check_card(path, component, in_carousel=False)


def _check_quick_reply(path: str, reply: QuickReply) -> list[str]:
    problems: list[str] = []
    if not reply.label.strip():
        problems.append(f"{path}.label: required")
    if reply.action not in QUICK_REPLY_ACTIONS:
        problems.append(f"{path}.action: must be message or block, got {reply.action!r}")
    elif reply.action == "message" and not reply.messageText:
        problems.append(f"{path}.messageText: required for message")
    elif reply.action == "block" and not reply.blockId:
        problems.append(f"{path}.blockId: required for block")
    return problems


def validate(resp: SkillResponse) -> list[str]:
    """Structure and count violations (each "path: problem"); [] when Kakao will accept the response.

    Lengths are not checked here: see `length_warnings` (warn) and `fit_lengths` (fix).
    """
    problems: list[str] = []
    if resp.version != VERSION:
        problems.append(f"version: must be {VERSION!r}, got {resp.version!r}")
    if resp.context is not None:
        for i, value in enumerate(resp.context.values):
            if not value.name.strip():
                problems.append(f"context.values[{i}].name: required")
            if value.lifeSpan < 0:
                problems.append(f"context.values[{i}].lifeSpan: must be >= 0")
    if resp.useCallback:
        return problems  # an acknowledgement: Kakao ignores the template
    template = resp.template
    if template is None:
        if resp.data is None and resp.context is None:
            problems.append("template: required unless the response carries only data/context")
        return problems
    if not MIN_OUTPUTS <= len(template.outputs) <= MAX_OUTPUTS:
        problems.append(f"template.outputs: {MIN_OUTPUTS}-{MAX_OUTPUTS} outputs required, got {len(template.outputs)}")
    for i, output in enumerate(template.outputs):
        problems += _check_output(f"template.outputs[{i}]", output)
    if len(template.quickReplies) > MAX_QUICK_REPLIES:
        problems.append(f"template.quickReplies: {len(template.quickReplies)}, at most {MAX_QUICK_REPLIES}")
    for i, reply in enumerate(template.quickReplies):
        problems += _check_quick_reply(f"template.quickReplies[{i}]", reply)
    return problems


def ensure_valid(resp: SkillResponse) -> SkillResponse:
    """`resp` unchanged, or LimitViolation listing every structure/count problem."""
    problems = validate(resp)
    if problems:
        raise LimitViolation(problems)
    return resp


# --- lengths -------------------------------------------------------------------------------------


@dataclass
class _TextField:
    path: str
    owner: Any  # the Struct holding the string
    attr: str
    limit: int | None  # kakao_len units; None = lines only
    lines: int | None = None
    omit_if_long: bool = False  # formatted values (amounts) are dropped, not cut


def _button_fields(
    path: str, buttons: list[Button], layout: str | None, thumbnail: Thumbnail | None
) -> Iterator[_TextField]:
    limit = BUTTON_LABEL_HORIZONTAL_MAX if _horizontal(layout, thumbnail) else BUTTON_LABEL_MAX
    for i, button in enumerate(buttons):
        yield _TextField(f"{path}.buttons[{i}].label", button, "label", limit)


def _thumbnail_fields(path: str, thumbnail: Thumbnail | None) -> Iterator[_TextField]:
    if thumbnail is not None and thumbnail.altText is not None:
        yield _TextField(f"{path}.altText", thumbnail, "altText", THUMBNAIL_ALT_MAX)


def _remaining(total: int, used: str | None) -> int:
    return max(0, total - kakao_len(used or ""))


def _card_fields(path: str, card: Any, in_carousel: bool) -> Iterator[_TextField]:
    if isinstance(card, SimpleText):
        yield _TextField(f"{path}.text", card, "text", SIMPLE_TEXT_MAX)
    elif isinstance(card, SimpleImage):
        yield _TextField(f"{path}.altText", card, "altText", SIMPLE_IMAGE_ALT_MAX)
    elif isinstance(card, TextCard):
        yield _TextField(f"{path}.title", card, "title", TEXT_CARD_TITLE_MAX)
        # Lazy: the title above may have been shortened by the time this limit is computed.
        limit = TEXT_CARD_DESCRIPTION_CAROUSEL_MAX if in_carousel else _remaining(TEXT_CARD_TOTAL_MAX, card.title)
        yield _TextField(f"{path}.description", card, "description", limit)
        yield from _button_fields(path, card.buttons, card.buttonLayout, None)
    elif isinstance(card, BasicCard):
        lines = CAROUSEL_CARD_TITLE_LINES if in_carousel else None
        yield _TextField(f"{path}.title", card, "title", BASIC_CARD_TITLE_MAX, lines)
        lines = CAROUSEL_CARD_DESCRIPTION_LINES if in_carousel else BASIC_CARD_DESCRIPTION_LINES
        yield _TextField(f"{path}.description", card, "description", BASIC_CARD_DESCRIPTION_MAX, lines)
        yield from _thumbnail_fields(f"{path}.thumbnail", card.thumbnail)
        yield from _button_fields(path, card.buttons, card.buttonLayout, card.thumbnail)
    elif isinstance(card, CommerceCard):
        yield _TextField(f"{path}.title", card, "title", COMMERCE_TITLE_MAX)
        yield _TextField(f"{path}.description", card, "description", COMMERCE_DESCRIPTION_MAX)
        for i, thumbnail in enumerate(card.thumbnails):
            yield from _thumbnail_fields(f"{path}.thumbnails[{i}]", thumbnail)
        yield from _button_fields(path, card.buttons, card.buttonLayout, _card_thumbnail(card))
    elif isinstance(card, ListCard):
        yield from _button_fields(path, card.buttons, card.buttonLayout, None)
    elif isinstance(card, ItemCard):
        yield from _item_card_fields(path, card, in_carousel)


def _item_card_fields(path: str, card: ItemCard, in_carousel: bool) -> Iterator[_TextField]:
    yield from _thumbnail_fields(f"{path}.thumbnail", card.thumbnail)
    if card.head is not None:
        yield _TextField(f"{path}.head.title", card.head, "title", None, ITEM_HEAD_TITLE_LINES)
    if card.profile is not None:
        yield _TextField(f"{path}.profile.title", card.profile, "title", ITEM_PROFILE_TITLE_MAX)
    if card.imageTitle is not None:
        yield _TextField(f"{path}.imageTitle.title", card.imageTitle, "title", None, ITEM_IMAGE_TITLE_LINES)
        yield _TextField(
            f"{path}.imageTitle.description",
            card.imageTitle,
            "description",
            None,
            ITEM_IMAGE_DESCRIPTION_LINES,
        )
    for i, row in enumerate(card.itemList):
        yield _TextField(f"{path}.itemList[{i}].title", row, "title", ITEM_LIST_TITLE_MAX)
        yield _TextField(f"{path}.itemList[{i}].description", row, "description", None, ITEM_LIST_DESCRIPTION_LINES)
    if card.itemListSummary is not None:
        summary = card.itemListSummary
        yield _TextField(f"{path}.itemListSummary.title", summary, "title", ITEM_LIST_SUMMARY_TITLE_MAX)
        yield _TextField(
            f"{path}.itemListSummary.description",
            summary,
            "description",
            ITEM_LIST_SUMMARY_DESCRIPTION_MAX,
            omit_if_long=True,
        )
    total = ITEM_CARD_TEXT_CAROUSEL_MAX if in_carousel else ITEM_CARD_TEXT_MAX
    yield _TextField(f"{path}.title", card, "title", total, ITEM_CARD_TEXT_LINES)
    yield _TextField(f"{path}.description", card, "description", _remaining(total, card.title), ITEM_CARD_TEXT_LINES)
    yield from _button_fields(path, card.buttons, card.buttonLayout, None)


def _text_fields(resp: SkillResponse) -> Iterator[_TextField]:
    template = resp.template
    if template is None or resp.useCallback:
        return
    for i, output in enumerate(template.outputs):
        component = output.component
        path = f"template.outputs[{i}].{component.KEY}" if component is not None else f"template.outputs[{i}]"
        if isinstance(component, Carousel):
            if component.header is not None:
                header = component.header
                yield _TextField(f"{path}.header.title", header, "title", None, CAROUSEL_HEADER_TITLE_LINES)
                yield _TextField(
                    f"{path}.header.description",
                    header,
                    "description",
                    None,
                    CAROUSEL_HEADER_DESCRIPTION_LINES,
                )
            for j, item in enumerate(component.items):
                yield from _card_fields(f"{path}.items[{j}]", item, in_carousel=True)
        elif component is not None:
            yield from _card_fields(path, component, in_carousel=False)
    for i, reply in enumerate(template.quickReplies):
        yield _TextField(f"template.quickReplies[{i}].label", reply, "label", QUICK_REPLY_LABEL_MAX)


def length_warnings(resp: SkillResponse) -> list[str]:
    """Strings longer than Kakao's display limits (warn + metric; never a reason to reject)."""
    warnings: list[str] = []
    for field in _text_fields(resp):
        value = getattr(field.owner, field.attr)
        if value is None or field.limit is None:
            continue
        size = kakao_len(value)
        if size > field.limit:
            warnings.append(f"{field.path}: {size} characters, limit {field.limit}")
    return warnings


def fit_lengths(resp: SkillResponse) -> SkillResponse:
    """A copy of `resp` with every string cut to its limit and explicit lines collapsed.

    Formatted values that cannot be cut (itemListSummary's amount) are omitted instead.
    """
    copy = msgspec.json.decode(msgspec.json.encode(resp), type=SkillResponse)
    for field in _text_fields(copy):
        value = getattr(field.owner, field.attr)
        if value is None:
            continue
        if field.lines is not None:
            value = collapse_lines(value, field.lines)
        if field.limit is not None and kakao_len(value) > field.limit:
            if field.omit_if_long:
                _omit_summary(copy, field.owner)
                continue
            value = truncate(value, field.limit)
        setattr(field.owner, field.attr, value)
    return copy


def _omit_summary(resp: SkillResponse, summary: Any) -> None:
    if resp.template is None:
        return
    for output in resp.template.outputs:
        component = output.component
        cards = component.items if isinstance(component, Carousel) else [component]
        for card in cards:
            if isinstance(card, ItemCard) and card.itemListSummary is summary:
                card.itemListSummary = None
