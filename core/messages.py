"""Channel-neutral messages: what adapters hand to the engine and what the engine hands back.

Adapters map their wire formats to `Inbound` and render `ReplyPart`s back; nothing in here knows a
platform. `channel_data` is the escape hatch for platform specifics the core passes through untouched.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, Literal

import msgspec

# --- inbound ------------------------------------------------------------------------------------


class KnowledgeMatch(msgspec.Struct, frozen=True, kw_only=True):
    """A knowledge answer matched outside the core (e.g. Kakao's 지식+), offered to the engine."""

    question: str
    answer: str
    landing_url: str | None = None
    image_url: str | None = None
    categories: list[str] = []
    score: float | None = None


class Inbound(msgspec.Struct, frozen=True, kw_only=True):
    """One customer message from any channel."""

    channel: str  # "kakao", "slack", "web", "whatsapp", "cli", ...
    conversation_key: str  # unique within the channel (Kakao botUserKey, Slack thread, web session)
    user_id: str
    text: str = ""
    payload: str | None = None  # postback payload of a pressed button / quick reply
    locale: str = "ko"
    platform_ids: dict[str, str] = {}  # secondary ids (plusfriendUserKey, appUserId, team id...)
    idempotency_key: str | None = None  # platform event/message id; duplicates are dropped
    knowledge: list[KnowledgeMatch] = []  # matches the platform found for us, best first
    channel_data: dict[str, Any] = {}
    received_at: float = msgspec.field(default_factory=time.time)

    @property
    def key(self) -> str:
        """Store key of the conversation: channel-scoped so two channels never collide."""
        return f"{self.channel}:{self.conversation_key}"


# --- reply parts --------------------------------------------------------------------------------

ButtonKind = Literal["message", "url", "phone", "postback", "handoff"]


class Button(msgspec.Struct, frozen=True, kw_only=True):
    """A button or quick reply.

    kind: message  -> the customer "says" `value` (label shown if value empty)
          url      -> open `value` (https URL)
          phone    -> call `value`
          postback -> send `value` as a payload; `label` is echoed as the customer's message
          handoff  -> ask for a human agent (Kakao renders its operator button)
    """

    label: str
    kind: ButtonKind = "postback"
    value: str = ""


class Text(msgspec.Struct, frozen=True, kw_only=True, tag="text"):
    text: str


class Image(msgspec.Struct, frozen=True, kw_only=True, tag="image"):
    url: str
    alt: str = ""


class Card(msgspec.Struct, frozen=True, kw_only=True, tag="card"):
    title: str = ""
    text: str = ""
    image_url: str | None = None
    link_url: str | None = None
    buttons: list[Button] = []
    # Commerce-style cards (price in KRW) render as Kakao commerceCard where possible.
    price: int | None = None
    discount: int | None = None


class Carousel(msgspec.Struct, frozen=True, kw_only=True, tag="carousel"):
    cards: list[Card]


class ListItem(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    description: str = ""
    image_url: str | None = None
    action: Button | None = None


class ListPart(msgspec.Struct, frozen=True, kw_only=True, tag="list"):
    header: str
    items: list[ListItem]
    buttons: list[Button] = []


class QuickReplies(msgspec.Struct, frozen=True, kw_only=True, tag="quick_replies"):
    """Suggestion chips shown under the last message."""

    options: list[Button]


class HandoffNotice(msgspec.Struct, frozen=True, kw_only=True, tag="handoff"):
    """Tells the customer a person will take over; renderers add the channel's agent affordance."""

    text: str
    reason: str = ""


ReplyPart = Text | Image | Card | Carousel | ListPart | QuickReplies | HandoffNotice


# --- structured result (seed 001's schema) -------------------------------------------------------

NextAction = Literal["answer", "ask", "resolve", "create_ticket", "handoff", "fallback"]


class TurnResult(msgspec.Struct, kw_only=True):
    intent: str
    customer_id: str | None = None
    order_id: str | None = None
    issue_type: str | None = None
    summary: str = ""
    next_action: NextAction = "answer"
    confidence: float = 0.0


# --- handoff -------------------------------------------------------------------------------------


class HandoffReason(StrEnum):
    AGENT_REQUEST = "agent_request"
    PROFANITY = "profanity"
    REFUND_DISPUTE = "refund_dispute"
    REPEATED_FALLBACK = "repeated_fallback"
    TOOL_FAILURE = "tool_failure"
    VALIDATION_FAILED = "validation_failed"  # slot filling gave up after repeated bad answers
    SCENARIO = "scenario"  # a scenario ended in a handoff by design
    FORMAT = "format"  # LLM output failed validation twice
    SENSITIVE = "sensitive"


Priority = Literal["low", "normal", "high", "urgent"]


class TranscriptEntry(msgspec.Struct, frozen=True, kw_only=True):
    role: Literal["customer", "bot", "agent", "system"]
    text: str  # always PII-masked
    at: float = msgspec.field(default_factory=time.time)


class Handoff(msgspec.Struct, kw_only=True):
    reason: HandoffReason
    summary: str
    transcript: list[TranscriptEntry]
    collected_fields: dict[str, str] = {}
    intent: str | None = None
    scenario_step: str | None = None  # "scenario_id/step_id"
    tools_tried: list[str] = []
    priority: Priority = "normal"
    conversation_key: str = ""
    channel: str = ""
    user_id: str = ""  # the customer's id on the channel (agents' console shows it masked)
    created_at: float = msgspec.field(default_factory=time.time)


# --- engine output -------------------------------------------------------------------------------


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A metrics/audit event emitted by a turn (never carries unmasked PII)."""

    name: str  # e.g. "intent", "scenario_start", "scenario_end", "tool_call", "handoff", "fallback"
    data: dict[str, Any] = {}


class Turn(msgspec.Struct, kw_only=True):
    parts: list[ReplyPart]
    result: TurnResult
    events: list[Event] = []
    handoff: Handoff | None = None
    duplicate: bool = False  # the inbound's idempotency key was seen before; parts are empty
