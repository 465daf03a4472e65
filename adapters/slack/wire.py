"""Slack payloads as msgspec Structs, with Slack's own field names (fixtures: shared/fixtures/slack/).

Only the fields the adapter reads are declared; unknown fields are ignored, so new Slack fields never
break parsing. Bolt has already verified and parsed the request; these Structs give the dicts it hands
to listeners a checked shape.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec


class InnerMessage(msgspec.Struct, kw_only=True):
    """The `message` / `previous_message` of a message_changed event."""

    type: str = "message"
    text: str = ""
    user: str | None = None
    bot_id: str | None = None
    ts: str | None = None
    thread_ts: str | None = None


class MessageEvent(msgspec.Struct, kw_only=True):
    """`message` and `app_mention` events (the `event` of an event_callback)."""

    type: str
    channel: str = ""
    user: str | None = None
    text: str = ""
    ts: str = ""
    thread_ts: str | None = None
    subtype: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    client_msg_id: str | None = None
    channel_type: str | None = None  # channel, group, im, mpim
    team: str | None = None
    parent_user_id: str | None = None
    hidden: bool = False
    message: InnerMessage | None = None  # message_changed
    previous_message: InnerMessage | None = None  # message_changed, message_deleted
    deleted_ts: str | None = None
    files: list[dict[str, Any]] = []  # attachments (file_share); their content is not forwarded

    @property
    def thread_root(self) -> str:
        """The ts of the thread this message belongs to (its own ts for a top-level message)."""
        return self.thread_ts or self.ts

    @property
    def is_thread_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


class EventCallback(msgspec.Struct, kw_only=True):
    """The Events API envelope (same in Socket Mode's `payload`)."""

    type: str
    team_id: str = ""
    api_app_id: str | None = None
    event_id: str | None = None
    event_time: int | None = None


class ActionUser(msgspec.Struct, kw_only=True):
    id: str
    username: str | None = None
    name: str | None = None
    team_id: str | None = None


class ActionText(msgspec.Struct, kw_only=True):
    type: str = "plain_text"
    text: str = ""


class BlockAction(msgspec.Struct, kw_only=True):
    action_id: str
    block_id: str = ""
    type: str = "button"
    value: str | None = None
    text: ActionText | None = None
    action_ts: str = ""


class Container(msgspec.Struct, kw_only=True):
    type: str
    message_ts: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    is_ephemeral: bool = False


class Team(msgspec.Struct, kw_only=True):
    id: str
    domain: str | None = None


class ChannelRef(msgspec.Struct, kw_only=True):
    id: str
    name: str | None = None


class ActionMessage(msgspec.Struct, kw_only=True):
    """The message whose button was pressed (present for buttons in messages)."""

    ts: str
    thread_ts: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = []


class BlockActionsPayload(msgspec.Struct, kw_only=True):
    """An interactivity payload of type block_actions (fixture 09)."""

    type: str
    user: ActionUser
    actions: list[BlockAction]
    container: Container
    trigger_id: str | None = None
    team: Team | None = None
    channel: ChannelRef | None = None
    message: ActionMessage | None = None
    response_url: str | None = None

    @property
    def channel_id(self) -> str:
        return self.container.channel_id or (self.channel.id if self.channel else "")

    @property
    def message_ts(self) -> str:
        return self.container.message_ts or (self.message.ts if self.message else "")

    @property
    def thread_root(self) -> str:
        """The thread the pressed message sits in (the bot posts its replies in threads)."""
        if self.message is not None and self.message.thread_ts:
            return self.message.thread_ts
        return self.container.thread_ts or self.message_ts


T = TypeVar("T")


def parse(data: Any, kind: type[T]) -> T:
    """A bolt-parsed dict as a Struct; raises msgspec.ValidationError naming the bad field."""
    return msgspec.convert(data, kind, strict=False)
