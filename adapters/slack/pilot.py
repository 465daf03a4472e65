"""The pilot: staff talk to the bot in Slack threads, one thread = one conversation.

Conversation key: "<team>:<channel>:<thread root ts>" (store key "slack:<team>:<channel>:<ts>").
A mention, a DM or a message in a pilot channel starts a conversation in the thread of that message;
replies in that thread continue it. Buttons (block_actions) come back as postbacks of the same
conversation. Every bot message is checked against the conversation's owner right before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import structlog

from adapters.slack.config import SlackConfig
from adapters.slack.mrkdwn import escape, to_plain
from adapters.slack.poster import SlackPoster
from adapters.slack.records import SlackRecords
from adapters.slack.render import ButtonValue, render
from adapters.slack.wire import BlockAction, BlockActionsPayload, MessageEvent
from core.engine import Engine
from core.jsondepth import too_deep
from core.messages import Inbound, ReplyPart, Text

CHANNEL = "slack"

_log = structlog.get_logger("sangdam.slack.pilot")


@dataclass(frozen=True, slots=True)
class ThreadRef:
    team: str
    channel: str
    ts: str  # thread root

    @property
    def conversation_key(self) -> str:
        return f"{self.team}:{self.channel}:{self.ts}"

    @classmethod
    def parse(cls, conversation_key: str) -> ThreadRef | None:
        parts = conversation_key.split(":")
        return cls(parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else None


class Pilot:
    def __init__(self, *, config: SlackConfig, engine: Engine, records: SlackRecords, poster: SlackPoster) -> None:
        self._config = config
        self._engine = engine
        self._records = records
        self._poster = poster

    async def on_message(
        self, event: MessageEvent, *, team: str, event_id: str | None, bot_user_id: str | None
    ) -> None:
        thread = ThreadRef(team, event.channel, event.thread_root)
        await self._records.remember_pilot_thread(thread.channel, thread.ts)
        inbound = Inbound(
            channel=CHANNEL,
            conversation_key=thread.conversation_key,
            user_id=event.user or "",
            text=to_plain(event.text, bot_user_id),
            platform_ids={"team": team, "slack_channel": event.channel},
            idempotency_key=f"{event.channel}:{event.ts}" if event.ts else event_id,  # one per message
            channel_data={"thread_ts": thread.ts, "ts": event.ts},
        )
        await self._turn(inbound, thread)

    async def on_button(self, payload: BlockActionsPayload, action: BlockAction) -> None:
        team = payload.team.id if payload.team is not None else (payload.user.team_id or "")
        thread = ThreadRef(team, payload.channel_id, payload.thread_root)
        raw = action.value or ""
        try:
            if too_deep(raw):
                raise msgspec.DecodeError("nested too deep")
            value = msgspec.json.decode(raw, type=ButtonValue)
        except msgspec.DecodeError:
            _log.warning("slack_button_value_invalid", action_id=action.action_id)
            return
        label = action.text.text if action.text is not None else value.v
        await self._mark_chosen(payload, action, label)
        if value.k == "message":
            text, postback = value.v or label, None
        elif value.k == "handoff":
            text, postback = self._config.handoff_request_text, None
        else:
            text, postback = label, value.v
        inbound = Inbound(
            channel=CHANNEL,
            conversation_key=thread.conversation_key,
            user_id=payload.user.id,
            text=text,
            payload=postback,
            platform_ids={"team": team, "slack_channel": thread.channel},
            idempotency_key=f"act:{payload.trigger_id or action.action_ts}",
            channel_data={"thread_ts": thread.ts},
        )
        await self._turn(inbound, thread)

    async def deliver(self, conversation_key: str, parts: list[ReplyPart]) -> bool:
        """Messages for a pilot thread from outside a turn (an agent's reply): not owner-guarded."""
        thread = ThreadRef.parse(conversation_key)
        if thread is None:
            return False
        sent = True
        for message in render(parts):
            ts = await self._poster.post(thread.channel, text=message.text, blocks=message.blocks, thread_ts=thread.ts)
            sent = sent and ts is not None
        return sent

    async def _turn(self, inbound: Inbound, thread: ThreadRef) -> None:
        try:
            turn = await self._engine.handle(inbound)
        except Exception as exc:  # a failed turn still gets a polite answer, never silence
            _log.exception("slack_turn_failed", error=type(exc).__name__)
            await self._send(inbound, thread, [Text(text=self._config.error_text)])
            return
        if turn.duplicate or not turn.parts:
            return
        await self._send(inbound, thread, turn.parts)

    async def _send(self, inbound: Inbound, thread: ThreadRef, parts: list[ReplyPart]) -> None:
        key = inbound.key

        async def bot_may_speak() -> bool:
            return await self._engine.owner_of(key) == "bot"

        for message in render(parts):
            await self._poster.post(
                thread.channel, text=message.text, blocks=message.blocks, thread_ts=thread.ts, guard=bot_may_speak
            )

    async def _mark_chosen(self, payload: BlockActionsPayload, action: BlockAction, label: str) -> None:
        """Replace the pressed buttons with what was chosen, so the thread reads like a conversation
        and an old choice is not pressed twice."""
        message = payload.message
        if message is None or not message.blocks or not action.block_id:
            return
        text = f":point_right: <@{payload.user.id}> 님의 선택: *{escape(label)}*"
        chosen = {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
        blocks = [chosen if b.get("block_id") == action.block_id else b for b in message.blocks]
        await self._poster.update(payload.channel_id, message.ts, text=message.text or label, blocks=blocks)
