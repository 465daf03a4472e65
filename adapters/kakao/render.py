"""Core reply parts -> Kakao SkillResponse, planned to stay inside Kakao's counts and lengths.

Mapping:
    Text          -> simpleText bubbles (Markdown stripped, split at sentence boundaries)
    Image         -> simpleImage (altText always sent)
    Card          -> commerceCard (price and image), basicCard (image), textCard (no image)
    Carousel      -> carousel of one card type; 1 card -> that card alone; more than 10 -> first 10
    ListPart      -> listCard (items and buttons capped)
    QuickReplies  -> template.quickReplies for message/postback options (max 10). url/phone/handoff
                     options cannot be quick replies: they become buttons on the last card (or turn the
                     last short text into a textCard, or get a small textCard of their own while an
                     output slot is free); otherwise they are dropped and logged.
    HandoffNotice -> textCard with an `operator` button (Kakao's 상담직원 연결)

At most 3 outputs: extra text is merged into the previous text (and truncated); if that is not enough
the lowest-priority outputs are dropped (first text and handoff notice are kept first, then cards and
lists, then images). The result always passes `limits.validate`; if it ever did not, that is a bug: it
is logged and a single simpleText goes out instead.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger as Logger

from adapters.kakao import limits
from adapters.kakao.payload import POSTBACK_KEY
from adapters.kakao.response import (
    VERSION,
    BasicCard,
    Carousel,
    CarouselCard,
    CommerceCard,
    Component,
    ContextControl,
    ContextValue,
    Link,
    ListCard,
    ListItem,
    Output,
    QuickReply,
    SimpleImage,
    SimpleText,
    SkillResponse,
    SkillTemplate,
    TextCard,
    Thumbnail,
)
from adapters.kakao.response import Button as KakaoButton
from core import messages as m

_log = structlog.get_logger(__name__)

# Customer-facing fallbacks (Korean, 해요체).
FALLBACK_TEXT = "죄송해요, 지금은 답변을 보여 드리기 어려워요. 잠시 후 다시 말씀해 주세요."
CHOOSE_TEXT = "아래에서 원하시는 항목을 선택해 주세요."
BUTTONS_TEXT = "아래 버튼을 눌러 주세요."
HANDOFF_TEXT = "상담직원을 연결해 드릴게요."
DETAILS_LABEL = "자세히 보기"
SHARE_LABEL = "공유하기"
LIST_HEADER = "안내"
IMAGE_ALT = "이미지"
OPERATOR_LABEL = "상담직원 연결"

# Output priorities when more than 3 outputs are planned: lower is kept first.
_KEEP = 0  # the first text, the handoff notice
_CARD = 1
_IMAGE = 2
_EXTRA_TEXT = 3


@dataclass
class _Slot:
    component: Component
    priority: int
    source: int = -1  # index of the reply part it came from (texts of different parts merge differently)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _plain(text: str) -> str:
    return limits.strip_markdown(unicodedata.normalize("NFC", text))


# --- buttons -------------------------------------------------------------------------------------


def _button(button: m.Button, operator_label: str, log: Logger) -> KakaoButton | None:
    label = limits.truncate(_one_line(button.label), limits.BUTTON_LABEL_MAX)
    if button.kind == "handoff":
        return KakaoButton(label=label or limits.truncate(operator_label, limits.BUTTON_LABEL_MAX), action="operator")
    if not label:
        log.warning("kakao.render.button_dropped", reason="empty label", kind=button.kind)
        return None
    if button.kind == "url":
        if not limits.is_http_url(button.value):
            log.warning("kakao.render.button_dropped", reason="not an http(s) URL", kind=button.kind)
            return None
        return KakaoButton(label=label, action="webLink", webLinkUrl=button.value)
    if button.kind == "phone":
        if not button.value.strip():
            log.warning("kakao.render.button_dropped", reason="no phone number", kind=button.kind)
            return None
        return KakaoButton(label=label, action="phone", phoneNumber=button.value.strip())
    if button.kind == "message":
        return KakaoButton(label=label, action="message", messageText=button.value or button.label)
    # postback: the label is echoed as the customer's message, the value travels in `extra`.
    return KakaoButton(label=label, action="message", messageText=button.label, extra={POSTBACK_KEY: button.value})


def _buttons(buttons: list[m.Button], cap: int, operator_label: str, log: Logger) -> list[KakaoButton]:
    converted = [b for b in (_button(x, operator_label, log) for x in buttons) if b is not None]
    if len(converted) > cap:
        log.warning("kakao.render.buttons_capped", given=len(converted), kept=cap)
    return converted[:cap]


def _quick_reply(option: m.Button) -> QuickReply | None:
    label = limits.truncate(_one_line(option.label), limits.QUICK_REPLY_LABEL_MAX)
    if not label:
        return None
    if option.kind == "message":
        return QuickReply(label=label, action="message", messageText=option.value or option.label)
    return QuickReply(label=label, action="message", messageText=option.label, extra={POSTBACK_KEY: option.value})


# --- cards ---------------------------------------------------------------------------------------


def _card_kind(card: m.Card) -> str:
    has_image = limits.is_http_url(card.image_url)
    if has_image and card.price is not None:
        return "commerce"
    return "basic" if has_image else "text"


def _price_line(card: m.Card) -> str:
    if card.price is None:
        return ""
    line = f"가격: {card.price:,}원"
    if card.discount:
        line += f" (할인가 {max(card.price - card.discount, 0):,}원)"
    return line


def _with_last_line(text: str, last: str, max_lines: int, size: int) -> str:
    """`text` fitted to `max_lines` and `size`, with `last` (if any) kept whole as its final line."""
    if not last:
        return limits.truncate(limits.collapse_lines(text, max_lines), size)
    room = size - limits.kakao_len(last) - 1
    if max_lines < 2 or room < 2 or not text.strip():
        return limits.truncate(last, size)
    head = limits.truncate(limits.collapse_lines(text, max_lines - 1), room)
    return f"{head}\n{last}"


def _card(
    card: m.Card, kind: str, in_carousel: bool, operator_label: str, log: Logger
) -> TextCard | BasicCard | CommerceCard | None:
    title = card.title.strip()
    if in_carousel:  # no line breaks in carousel titles
        title = limits.collapse_lines(_one_line(title), limits.SAFE_CAROUSEL_CARD_TITLE_LINES)
    text = _plain(card.text)
    link = Link(web=card.link_url) if limits.is_http_url(card.link_url) else None
    buttons = _buttons(card.buttons, limits.MAX_BUTTONS_VERTICAL, operator_label, log)
    if kind == "commerce":
        if len(buttons) < limits.SAFE_MIN_COMMERCE_BUTTONS:  # SF-prev required one
            buttons = [
                KakaoButton(label=DETAILS_LABEL, action="webLink", webLinkUrl=card.link_url)
                if link is not None
                else KakaoButton(label=SHARE_LABEL, action="share")
            ]
        return CommerceCard(
            title=limits.truncate(title, limits.COMMERCE_TITLE_MAX) or None,
            description=limits.truncate(_one_line(text), limits.COMMERCE_DESCRIPTION_MAX) or None,
            price=card.price or 0,
            currency="won",
            discount=card.discount or None,
            thumbnails=[Thumbnail(imageUrl=card.image_url or "", link=link)],
            buttons=buttons,
        )
    if kind == "basic":
        if in_carousel:
            lines, size = limits.CAROUSEL_CARD_DESCRIPTION_LINES, limits.SAFE_BASIC_CARD_DESCRIPTION_CAROUSEL_MAX
        else:
            lines, size = limits.BASIC_CARD_DESCRIPTION_LINES, limits.BASIC_CARD_DESCRIPTION_MAX
        # A priced card shown as a basicCard (a carousel mixing priced and unpriced cards) keeps its
        # price as the description's last line, never cut.
        description = _with_last_line(text, _price_line(card), lines, size)
        return BasicCard(
            title=limits.truncate(title, limits.BASIC_CARD_TITLE_MAX) or None,
            description=description or None,
            thumbnail=Thumbnail(imageUrl=card.image_url or "", link=link),
            buttons=buttons,
        )
    # textCard: no image. A price is written out; the card link becomes a button while there is room.
    price = _price_line(card)
    text = f"{text}\n{price}".strip() if price else text
    if link is not None and len(buttons) < limits.MAX_BUTTONS_VERTICAL:
        buttons.append(KakaoButton(label=DETAILS_LABEL, action="webLink", webLinkUrl=card.link_url))
    title = limits.truncate(title, limits.TEXT_CARD_TITLE_MAX)
    if in_carousel:
        description = limits.truncate(text, limits.TEXT_CARD_DESCRIPTION_CAROUSEL_MAX)
    else:
        description = limits.truncate(text, limits.TEXT_CARD_TOTAL_MAX - limits.kakao_len(title))
    if not title and not description:
        if not buttons:
            log.warning("kakao.render.card_dropped", reason="no title, text, image or buttons")
            return None
        description = BUTTONS_TEXT
    return TextCard(title=title or None, description=description or None, buttons=buttons)


def _carousel(part: m.Carousel, operator_label: str, log: Logger) -> Component | None:
    cards = list(part.cards)
    if len(cards) > limits.MAX_CAROUSEL_ITEMS:
        log.warning("kakao.render.carousel_capped", given=len(cards), kept=limits.MAX_CAROUSEL_ITEMS)
        cards = cards[: limits.MAX_CAROUSEL_ITEMS]
    if len(cards) == 1:
        return _card(cards[0], _card_kind(cards[0]), False, operator_label, log)
    kinds = {_card_kind(card) for card in cards}
    # One card type per carousel (and one image ratio: we never set fixedRatio, so all are 2:1).
    kind = "commerce" if kinds == {"commerce"} else "basic" if "text" not in kinds else "text"
    if kind == "text" and kinds != {"text"}:
        log.info("kakao.render.carousel_images_dropped", reason="not every card has an image")
    items: list[CarouselCard] = [
        c for c in (_card(card, kind, True, operator_label, log) for card in cards) if c is not None
    ]
    if not items:
        return None
    if len(items) == 1:
        return _card(cards[0], kind, False, operator_label, log)
    carousel_type = {"commerce": CommerceCard.KEY, "basic": BasicCard.KEY, "text": TextCard.KEY}[kind]
    return Carousel(type=carousel_type, items=items)


def _list_item(item: m.ListItem, log: Logger) -> ListItem | None:
    title = _one_line(item.title)
    if not title:
        return None
    entry = ListItem(
        title=title,
        description=_one_line(_plain(item.description)) or None,
        imageUrl=item.image_url if limits.is_http_url(item.image_url) else None,
    )
    action = item.action
    if action is None:
        return entry
    if action.kind == "postback":
        entry.action, entry.messageText, entry.extra = "message", title, {POSTBACK_KEY: action.value}
    elif action.kind == "message":
        entry.action, entry.messageText = "message", action.value or action.label or title
    elif action.kind == "url" and limits.is_http_url(action.value):
        entry.link = Link(web=action.value)
    else:
        log.warning("kakao.render.list_action_dropped", kind=action.kind)
    return entry


def _list_card(part: m.ListPart, operator_label: str, log: Logger) -> Component:
    header = _one_line(part.header) or LIST_HEADER
    buttons = _buttons(part.buttons, limits.SAFE_MAX_LIST_BUTTONS, operator_label, log)
    items = [i for i in (_list_item(item, log) for item in part.items) if i is not None]
    if len(items) > limits.MAX_LIST_ITEMS:
        log.warning("kakao.render.list_capped", given=len(items), kept=limits.MAX_LIST_ITEMS)
        items = items[: limits.MAX_LIST_ITEMS]
    if not items:  # a listCard needs items: say the header, keep the buttons
        title = limits.truncate(header, limits.TEXT_CARD_TITLE_MAX)
        return TextCard(title=title, buttons=buttons) if buttons else SimpleText(text=header)
    return ListCard(header=ListItem(title=header), items=items, buttons=buttons)


def _handoff(part: m.HandoffNotice, operator_label: str) -> TextCard:
    text = limits.truncate(_plain(part.text), limits.TEXT_CARD_TOTAL_MAX) or HANDOFF_TEXT
    label = limits.truncate(_one_line(operator_label), limits.BUTTON_LABEL_MAX)
    return TextCard(description=text, buttons=[KakaoButton(label=label, action="operator")])


# --- planning ------------------------------------------------------------------------------------


def _plan(parts: list[m.ReplyPart], operator_label: str, log: Logger) -> tuple[list[_Slot], list[m.Button]]:
    """Outputs in reply order with their priorities, and every quick-reply option."""
    slots: list[_Slot] = []
    options: list[m.Button] = []
    first_text = True
    for index, part in enumerate(parts):
        if isinstance(part, m.Text):
            for chunk in limits.split_text(part.text):
                slots.append(_Slot(SimpleText(text=chunk), _KEEP if first_text else _EXTRA_TEXT, index))
                first_text = False
        elif isinstance(part, m.Image):
            if not limits.is_http_url(part.url):
                log.warning("kakao.render.image_dropped", reason="not an http(s) URL")
                continue
            alt = limits.truncate(_one_line(part.alt), limits.SIMPLE_IMAGE_ALT_MAX) or IMAGE_ALT
            slots.append(_Slot(SimpleImage(imageUrl=part.url, altText=alt), _IMAGE))
        elif isinstance(part, m.Card):
            card = _card(part, _card_kind(part), False, operator_label, log)
            if card is not None:
                slots.append(_Slot(card, _CARD))
        elif isinstance(part, m.Carousel):
            carousel = _carousel(part, operator_label, log)
            if carousel is not None:
                slots.append(_Slot(carousel, _CARD))
        elif isinstance(part, m.ListPart):
            slots.append(_Slot(_list_card(part, operator_label, log), _CARD))
        elif isinstance(part, m.QuickReplies):
            options.extend(part.options)
        elif isinstance(part, m.HandoffNotice):
            slots.append(_Slot(_handoff(part, operator_label), _KEEP))
    return slots, options


def _merge_texts(first: _Slot, second: _Slot, log: Logger) -> _Slot:
    """Two text bubbles as one. Within one part the end is cut; across parts the later part (e.g. a new
    answer after a stashed one) is kept whole and the earlier one is cut to the room left."""
    a, b = first.component, second.component
    if not (isinstance(a, SimpleText) and isinstance(b, SimpleText)):
        raise TypeError("only simpleText bubbles are merged")
    joined = f"{a.text}\n\n{b.text}"
    priority = min(first.priority, second.priority)
    if first.source == second.source or limits.kakao_len(joined) <= limits.SIMPLE_TEXT_CHUNK:
        return _Slot(SimpleText(text=limits.truncate(joined, limits.SIMPLE_TEXT_CHUNK)), priority, second.source)
    room = limits.SIMPLE_TEXT_CHUNK - limits.kakao_len(b.text) - 2
    if room < 20:  # too little left to say anything useful
        log.warning("kakao.render.output_dropped", component=SimpleText.KEY, reason="no room before a later part")
        return _Slot(b, priority, second.source)
    return _Slot(SimpleText(text=f"{limits.truncate(a.text, room)}\n\n{b.text}"), priority, second.source)


def _fit_outputs(slots: list[_Slot], log: Logger) -> list[_Slot]:
    """At most MAX_OUTPUTS: merge extra text into earlier text, then drop by priority.

    Texts of different parts are merged first (the later kept whole), then the last two texts.
    """
    slots = list(slots)
    while len(slots) > limits.MAX_OUTPUTS:
        texts = [i for i, slot in enumerate(slots) if isinstance(slot.component, SimpleText)]
        if len(texts) >= 2:
            pairs = list(pairwise(texts))
            prev, last = next(((i, j) for i, j in pairs if slots[i].source != slots[j].source), pairs[-1])
            slots[prev] = _merge_texts(slots[prev], slots[last], log)
            del slots[last]
            continue
        victim = max(range(len(slots)), key=lambda i: (slots[i].priority, i))
        log.warning("kakao.render.output_dropped", component=slots[victim].component.KEY)
        del slots[victim]
    return slots


def _attach_buttons(slots: list[_Slot], buttons: list[KakaoButton], log: Logger) -> None:
    """Put url/phone/operator options (which cannot be quick replies) on a card."""
    for button in buttons:
        last = slots[-1].component if slots else None
        if isinstance(last, TextCard | BasicCard | CommerceCard) and len(last.buttons) < limits.MAX_BUTTONS_VERTICAL:
            last.buttons.append(button)
        elif isinstance(last, SimpleText) and limits.kakao_len(last.text) <= limits.TEXT_CARD_TOTAL_MAX:
            slots[-1] = _Slot(TextCard(description=last.text, buttons=[button]), slots[-1].priority)
        elif len(slots) < limits.MAX_OUTPUTS:
            slots.append(_Slot(TextCard(description=BUTTONS_TEXT, buttons=[button]), _CARD))
        else:
            log.warning("kakao.render.option_dropped", reason="no room for a button", action=button.action)


def _quick_replies(
    options: list[m.Button], operator_label: str, log: Logger
) -> tuple[list[QuickReply], list[KakaoButton]]:
    replies: list[QuickReply] = []
    as_buttons: list[KakaoButton] = []
    seen: set[tuple[str, str, str]] = set()
    for option in options:
        key = (option.kind, option.label, option.value)
        if key in seen:
            continue
        seen.add(key)
        if option.kind in ("message", "postback"):
            reply = _quick_reply(option)
            if reply is not None:
                replies.append(reply)
        else:
            button = _button(option, operator_label, log)
            if button is not None:
                as_buttons.append(button)
    if len(replies) > limits.MAX_QUICK_REPLIES:
        log.warning("kakao.render.quick_replies_capped", given=len(replies), kept=limits.MAX_QUICK_REPLIES)
    return replies[: limits.MAX_QUICK_REPLIES], as_buttons


def _fallback(parts: list[m.ReplyPart], context: ContextControl | None, data: dict[str, Any] | None) -> SkillResponse:
    text = next((p.text for p in parts if isinstance(p, m.Text | m.HandoffNotice) and p.text.strip()), "")
    bubble = limits.truncate(_plain(text), limits.SIMPLE_TEXT_CHUNK) or FALLBACK_TEXT
    return SkillResponse(
        version=VERSION,
        template=SkillTemplate(outputs=[Output.of(SimpleText(text=bubble))]),
        context=context,
        data=data,
    )


def render(
    parts: list[m.ReplyPart],
    *,
    context: list[ContextValue] | None = None,
    data: dict[str, Any] | None = None,
    operator_label: str = OPERATOR_LABEL,
    log: Logger | None = None,
) -> SkillResponse:
    """A SkillResponse for the reply parts, always valid per `limits.validate`."""
    log = log or _log
    operator_label = _one_line(operator_label) or OPERATOR_LABEL  # an empty label would be rejected
    slots, options = _plan(parts, operator_label, log)
    replies, extra_buttons = _quick_replies(options, operator_label, log)
    slots = _fit_outputs(slots, log)
    _attach_buttons(slots, extra_buttons, log)
    if not slots:
        slots = [_Slot(SimpleText(text=CHOOSE_TEXT if replies else FALLBACK_TEXT), _KEEP)]
    control = ContextControl(values=list(context)) if context else None
    resp = SkillResponse(
        version=VERSION,
        template=SkillTemplate(outputs=[Output.of(slot.component) for slot in slots], quickReplies=replies),
        context=control,
        data=data,
    )
    resp = limits.fit_lengths(resp)  # safety net: every string inside its limit
    problems = limits.validate(resp)
    if problems:
        log.error("kakao.render.invalid_response", problems=problems)
        return _fallback(parts, control, data)
    return resp


def render_text(text: str) -> SkillResponse:
    """One text answer as simpleText bubbles (split rules apply)."""
    return render([m.Text(text=text)])


def callback_ack(text: str) -> dict[str, Any]:
    """The useCallback acknowledgement; `text` fills the block's waiting bubble via {{#webhook.text}}."""
    return {
        "version": VERSION,
        "useCallback": True,
        "data": {"text": limits.truncate(_plain(text), limits.CALLBACK_WAIT_TEXT_MAX)},
    }
