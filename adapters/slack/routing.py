"""Which message events the adapter acts on, decided from the event alone (no I/O).

Rules (shared docs/slack.md §4):
- bots: anything with `bot_id` (modern app messages have it *without* a subtype), `subtype: bot_message`,
  no `user`, or our own bot user -> ignored. Relayed customer messages we post come back this way.
- edits: `message_changed` matters only for a person's thread reply in the agents' channel whose text
  changed (the agent is told edits are not re-sent); deletions and other subtypes are ignored.
- agents' channel: a person's thread reply -> agent reply (if the thread is a handoff; checked later).
- pilot: app_mention anywhere, DMs, any message in a pilot channel, and replies in threads the bot
  already holds a conversation in (checked later against the store).
"""

from __future__ import annotations

from enum import StrEnum

from adapters.slack.config import SlackConfig
from adapters.slack.wire import MessageEvent

ACCEPTED_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


class Route(StrEnum):
    IGNORE = "ignore"
    PILOT = "pilot"  # a new or continued pilot conversation
    PILOT_IF_KNOWN_THREAD = "pilot_if_known_thread"  # a thread reply elsewhere: ours only if we hold it
    AGENT_REPLY = "agent_reply"
    AGENT_EDIT = "agent_edit"


def is_from_bot(event: MessageEvent, bot_user_id: str | None) -> bool:
    return (
        event.bot_id is not None
        or event.subtype == "bot_message"
        or event.user is None
        or (bot_user_id is not None and event.user == bot_user_id)
    )


def route_message(event: MessageEvent, config: SlackConfig, bot_user_id: str | None) -> Route:
    if event.subtype == "message_changed":
        return _route_edit(event, config, bot_user_id)
    if event.subtype not in ACCEPTED_SUBTYPES or is_from_bot(event, bot_user_id):
        return Route.IGNORE
    if config.agents_channel is not None and event.channel == config.agents_channel:
        return Route.AGENT_REPLY if event.is_thread_reply else Route.IGNORE
    if event.type == "app_mention":
        return Route.PILOT
    if event.channel_type == "im":
        return Route.PILOT if config.answer_dms else Route.IGNORE
    if event.channel in config.pilot_channels:
        return Route.PILOT
    if event.is_thread_reply:
        return Route.PILOT_IF_KNOWN_THREAD
    return Route.IGNORE


def _route_edit(event: MessageEvent, config: SlackConfig, bot_user_id: str | None) -> Route:
    new, old = event.message, event.previous_message
    if config.agents_channel is None or event.channel != config.agents_channel or new is None:
        return Route.IGNORE
    from_person = new.user is not None and new.bot_id is None and new.user != bot_user_id
    in_thread = new.thread_ts is not None and new.thread_ts != new.ts
    changed = old is None or old.text != new.text
    return Route.AGENT_EDIT if from_person and in_thread and changed else Route.IGNORE
