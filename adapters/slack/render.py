"""Reply parts -> Slack messages (fallback `text` + Block Kit `blocks`), within the limits in limits.py.

Text       -> section (mrkdwn, escaped), split above 3,000 characters
Image      -> image block (http(s) only)
Card       -> section "*title*\\ntext" (+ price), image block, actions block for its buttons
Carousel   -> its cards, divided
ListPart   -> header, one section per item (its button as the accessory), actions for the buttons
QuickReplies -> actions block(s) of buttons
HandoffNotice -> section + context line

Buttons: postback/message/handoff become buttons whose action feeds the core (`REPLY_ACTION` +
an index, value = JSON {k: kind, v: value}); url becomes a link button; phone becomes a text line
(Slack buttons only open web URLs). One turn's parts go into as few messages as the limits allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog

from adapters.slack import limits
from adapters.slack.mrkdwn import escape
from core.messages import (
    Button,
    Card,
    Carousel,
    HandoffNotice,
    Image,
    ListPart,
    QuickReplies,
    ReplyPart,
    Text,
)

REPLY_ACTION = "sangdam.reply."  # + index; pressed -> an Inbound for the core
LINK_ACTION = "sangdam.link."  # + index; URL buttons (Slack still sends an action; we only ack it)

_log = structlog.get_logger("sangdam.slack.render")


class ButtonValue(msgspec.Struct, frozen=True):
    """What a reply button carries back to us."""

    k: str  # Button.kind
    v: str  # Button.value


@dataclass
class SlackMessage:
    text: str  # notification fallback (plain)
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Builder:
    blocks: list[dict[str, Any]] = field(default_factory=list)
    fallback: list[str] = field(default_factory=list)
    buttons: int = 0  # action ids must be unique within a message

    def section(self, text: str) -> None:
        for piece in limits.split_text(text, limits.SECTION_TEXT_MAX):
            if piece.strip():
                self.blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": piece}})

    def context(self, text: str) -> None:
        text = limits.truncate(text, limits.SECTION_TEXT_MAX)
        self.blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})

    def image(self, url: str, alt: str) -> None:
        if not limits.is_http_url(url):
            _log.warning("slack.render.image_dropped", reason="not an http(s) URL")
            return
        alt = limits.truncate(alt.strip() or "이미지", limits.IMAGE_ALT_MAX)
        self.blocks.append({"type": "image", "image_url": url, "alt_text": alt})

    def button(self, button: Button) -> dict[str, Any] | None:
        label = limits.truncate(" ".join(button.label.split()), limits.BUTTON_TEXT_MAX)
        if button.kind == "url":
            if not label or not limits.is_http_url(button.value):
                _log.warning("slack.render.button_dropped", reason="not an http(s) URL", kind=button.kind)
                return None
            self.buttons += 1
            return {
                "type": "button",
                "action_id": f"{LINK_ACTION}{self.buttons}",
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "url": button.value,
            }
        if button.kind == "phone":
            return None  # rendered as a text line by the caller
        value = msgspec.json.encode(ButtonValue(k=button.kind, v=button.value)).decode()
        if len(value) > limits.BUTTON_VALUE_MAX or not label:
            _log.warning("slack.render.button_dropped", reason="value too long or empty label", kind=button.kind)
            return None
        self.buttons += 1
        return {
            "type": "button",
            "action_id": f"{REPLY_ACTION}{self.buttons}",
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": value,
        }

    def actions(self, buttons: list[Button]) -> None:
        phones = [b for b in buttons if b.kind == "phone" and b.value.strip()]
        elements = [e for e in (self.button(b) for b in buttons) if e is not None]
        for start in range(0, len(elements), limits.ACTIONS_ELEMENTS_MAX):
            # An explicit block_id lets a pressed block be replaced by the choice made (chat.update).
            block_id = f"sangdam.actions.{sum(1 for b in self.blocks if b['type'] == 'actions') + 1}"
            chunk = elements[start : start + limits.ACTIONS_ELEMENTS_MAX]
            self.blocks.append({"type": "actions", "block_id": block_id, "elements": chunk})
        for phone in phones:
            self.context(f":telephone_receiver: {escape(phone.label)}: {escape(phone.value.strip())}")

    def card(self, card: Card) -> None:
        lines = []
        if card.title:
            lines.append(f"*{escape(card.title)}*")
        if card.text:
            lines.append(escape(card.text))
        if card.price is not None:
            lines.append(_price(card.price, card.discount))
        if card.link_url and limits.is_http_url(card.link_url):
            lines.append(f"<{card.link_url}|자세히 보기>")
        if lines:
            self.section("\n".join(lines))
        if card.image_url:
            self.image(card.image_url, card.title or card.text)
        self.actions(list(card.buttons))
        self.fallback.append(card.title or card.text)

    def list_part(self, part: ListPart) -> None:
        if part.header:
            header = limits.truncate(part.header, limits.HEADER_TEXT_MAX)
            self.blocks.append({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}})
            self.fallback.append(part.header)
        for item in part.items:
            text = f"*{escape(item.title)}*" + (f"\n{escape(item.description)}" if item.description else "")
            block: dict[str, Any] = {
                "type": "section",
                "text": {"type": "mrkdwn", "text": limits.truncate(text, limits.SECTION_TEXT_MAX)},
            }
            accessory = self.button(item.action) if item.action is not None else None
            if accessory is not None:
                block["accessory"] = accessory
            elif item.image_url and limits.is_http_url(item.image_url):
                alt = limits.truncate(item.title or "이미지", limits.IMAGE_ALT_MAX)
                block["accessory"] = {"type": "image", "image_url": item.image_url, "alt_text": alt}
            self.blocks.append(block)
        self.actions(list(part.buttons))


def _price(price: int, discount: int | None) -> str:
    if discount:
        return f"~{price:,}원~ *{max(price - discount, 0):,}원*"
    return f"*{price:,}원*"


def _add(builder: _Builder, part: ReplyPart) -> None:
    if isinstance(part, Text):
        builder.section(escape(part.text))
        builder.fallback.append(part.text)
    elif isinstance(part, Image):
        builder.image(part.url, part.alt)
    elif isinstance(part, Card):
        builder.card(part)
    elif isinstance(part, Carousel):
        for index, card in enumerate(part.cards):
            if index:
                builder.blocks.append({"type": "divider"})
            builder.card(card)
    elif isinstance(part, ListPart):
        builder.list_part(part)
    elif isinstance(part, QuickReplies):
        builder.actions(list(part.options))
    elif isinstance(part, HandoffNotice):
        builder.section(escape(part.text))
        builder.context(":bust_in_silhouette: 상담직원 연결 대기 중")
        builder.fallback.append(part.text)


def render(parts: list[ReplyPart]) -> list[SlackMessage]:
    """One turn's parts as Slack messages, split so that each one is within the message limits."""
    builder = _Builder()
    for part in parts:
        _add(builder, part)
    return _split(builder.blocks, " ".join(t for t in builder.fallback if t))


def _split(blocks: list[dict[str, Any]], fallback: str) -> list[SlackMessage]:
    messages: list[SlackMessage] = []
    current: list[dict[str, Any]] = []
    chars = 0
    for block in blocks:
        size = limits.block_chars(block)
        full = len(current) >= limits.BLOCKS_PER_MESSAGE or chars + size > limits.BLOCK_CHARS_PER_MESSAGE
        if current and full:
            messages.append(SlackMessage(text="", blocks=current))
            current, chars = [], 0
        current.append(block)
        chars += size
    if current or not messages:
        messages.append(SlackMessage(text="", blocks=current))
    # Every message needs a notification text; the first one carries the turn's gist.
    gist = limits.truncate(" ".join(fallback.split()), limits.FALLBACK_TEXT_MAX) or "새 메시지가 있어요."
    for index, message in enumerate(messages):
        message.text = gist if index == 0 else limits.truncate(gist, 200)
    return messages


def mrkdwn_messages(text: str, fallback: str) -> list[SlackMessage]:
    """Messages of sections for an mrkdwn text the adapter wrote itself (relays, transcripts)."""
    builder = _Builder()
    builder.section(text)
    return _split(builder.blocks, fallback)
