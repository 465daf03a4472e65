"""The agents' console: a Slack channel where handoffs from every channel arrive and are worked.

publish  -> a card (reason, summary, collected fields, channel, masked customer id) with 담당하기 /
            상담 종료 buttons; the masked transcript goes into the card's thread; a timer turns an
            unclaimed handoff into a ticket after `handoff_timeout_s`.
relay    -> the customer's new (masked) messages are posted into the thread.
            Both return at once: the engine awaits them inside the customer's turn (a web request, a
            Kakao callback budget), so the posting runs in a background job, one FIFO lane per
            conversation keeping card -> transcript -> relayed messages in order.
claim    -> the engine hands the conversation to the agent (the bot goes silent for it).
reply    -> an agent's thread reply is delivered to the customer through the origin channel.
resolve  -> the engine takes the conversation back; later thread replies are not delivered.

Every state change runs under a store lock per conversation, so two agents pressing 담당하기 at once,
or a claim racing the timeout, end with exactly one winner, across gateway processes.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import structlog

from adapters.slack import cards
from adapters.slack.config import SlackConfig
from adapters.slack.jobs import Jobs
from adapters.slack.mrkdwn import escape, to_plain
from adapters.slack.poster import SlackPoster
from adapters.slack.records import HandoffRecord, SlackRecords
from adapters.slack.render import mrkdwn_messages
from adapters.slack.wire import MessageEvent
from core.channels import ChannelDirectory
from core.engine import Engine
from core.messages import Handoff, Text
from core.metrics import Metrics
from core.tools.registry import ToolError, ToolRegistry

_log = structlog.get_logger("sangdam.slack.console")

TIMER_JOB = "handoff-timeout"
PUBLISH_JOB = "handoff-publish"
RELAY_JOB = "handoff-relay"
SINK_LANE = "handoff"  # + conversation key: card, transcript and relayed messages, in that order

FILES_ONLY_NOTE = ":warning: 파일은 고객에게 전달되지 않아요. 전할 내용을 글로 답글에 적어 주세요."
FILES_DROPPED_NOTE = "글은 전달했지만 첨부한 파일은 고객에게 전달되지 않았어요."
NEWER_CARD_NOTE = (
    ":warning: 이 고객이 그 뒤에 다시 상담을 요청해서 이 답글은 전달하지 않았어요. "
    "최신 카드의 스레드에 답글을 달아 주세요."
)
EXPIRED_NOTE = ":warning: 상담 기록이 만료되어 이 답글은 고객에게 전달하지 않았어요."


class AgentsConsole:
    def __init__(
        self,
        *,
        config: SlackConfig,
        engine: Engine,
        records: SlackRecords,
        poster: SlackPoster,
        directory: ChannelDirectory,
        tools: ToolRegistry,
        jobs: Jobs,
        metrics: Metrics,
    ) -> None:
        self._config = config
        self._engine = engine
        self._records = records
        self._poster = poster
        self._directory = directory
        self._tools = tools
        self._jobs = jobs
        self._metrics = metrics

    @property
    def channel(self) -> str | None:
        return self._config.agents_channel

    # --- HandoffSink -----------------------------------------------------------------------------

    async def publish(self, handoff: Handoff) -> None:
        """Queue the card and the transcript; returns at once so no other channel's turn waits on Slack."""
        if self._config.agents_channel is None:
            return
        channel, key = self._config.agents_channel, handoff.conversation_key
        self._jobs.spawn_in_lane(f"{SINK_LANE}:{key}", self._post_card(handoff, channel), f"{PUBLISH_JOB}:{key}")

    async def relay(self, conversation_key: str, text: str) -> None:
        """Queue the customer's message behind its conversation's card, transcript and earlier messages."""
        if self._config.agents_channel is None:
            return
        lane = f"{SINK_LANE}:{conversation_key}"
        self._jobs.spawn_in_lane(lane, self._post_relay(conversation_key, text), f"{RELAY_JOB}:{conversation_key}")

    async def _post_card(self, handoff: Handoff, channel: str) -> None:
        """Post the card and the transcript; start the unclaimed-handoff timer."""
        record = HandoffRecord(conversation_key=handoff.conversation_key, channel=channel, ts="")
        record.card = cards.card_body(handoff, self._config.kakao_note)
        blocks = cards.card_blocks(record.card, record, self._config.handoff_timeout_s)
        ts = await self._poster.post(channel, text=cards.card_fallback(handoff), blocks=blocks)
        if ts is None:
            # Logged here; the StoreSink still holds the packet.
            _log.error("slack_handoff_card_failed", conversation=handoff.conversation_key)
            self._metrics.incr("slack_handoff_card_failed")
            return
        record.ts = ts
        async with self._records.handoff_lock(handoff.conversation_key):
            await self._records.save_handoff(record)
        self._metrics.incr("slack_handoff_published")
        await self._post_mrkdwn(channel, ts, cards.transcript_text(handoff.transcript), "대화 기록")
        self._jobs.spawn(self._expire_later(handoff, ts), f"{TIMER_JOB}:{ts}")

    async def _post_relay(self, conversation_key: str, text: str) -> None:
        record = await self._records.handoff(conversation_key)
        if record is None or record.state == "resolved" or record.channel != self._config.agents_channel:
            return
        await self._post_mrkdwn(
            record.channel, record.ts, f":bust_in_silhouette: *고객*: {escape(text)}", f"고객: {text}"
        )

    # --- buttons ---------------------------------------------------------------------------------

    async def claim(self, card_channel: str, card_ts: str, agent: str, agent_name: str) -> None:
        key = await self._records.conversation_of_card(card_channel, card_ts)
        if key is None:
            return
        claimed = await self._claim(key, card_ts, agent, agent_name)
        if claimed is None:
            return
        await self._note(claimed, f"<@{agent}> 님이 상담을 맡았어요. 이 스레드에 답글을 달면 고객에게 전달돼요.")
        await self._directory.deliver(key, [Text(text=self._config.agent_joined_text)])

    async def _claim(self, key: str, card_ts: str, agent: str, agent_name: str) -> HandoffRecord | None:
        """The record after a successful claim; None (with a note in the thread) when it was not possible."""
        async with self._records.handoff_lock(key):
            record = await self._records.handoff(key)
            if record is None or record.ts != card_ts:
                return None
            if record.state not in ("open", "ticket"):
                taken = f"이미 <@{record.agent}> 님이 맡은 상담이에요."
                await self._note(record, taken if record.state == "claimed" else "이미 끝난 상담이에요.")
                return None
            if not await self._engine.claim(key, agent_name):
                await self._note(record, "대화 기록이 만료되어 맡을 수 없어요.")
                return None
            record.state, record.agent = "claimed", agent
            await self._records.save_handoff(record)
        self._metrics.incr("slack_handoff_claimed")
        await self._refresh_card(record)
        return record

    async def resolve(self, card_channel: str, card_ts: str, agent: str) -> None:
        key = await self._records.conversation_of_card(card_channel, card_ts)
        if key is None:
            return
        async with self._records.handoff_lock(key):
            record = await self._records.handoff(key)
            if record is None or record.ts != card_ts or record.state == "resolved":
                return
            await self._engine.release(key)
            record.state, record.agent = "resolved", record.agent or agent
            await self._records.save_handoff(record)
        self._metrics.incr("slack_handoff_resolved")
        await self._refresh_card(record)
        await self._note(record, f"<@{agent}> 님이 상담을 마쳤어요. 이제 챗봇이 답해요.")
        await self._directory.deliver(key, [Text(text=self._config.resolved_text)])

    # --- agents' messages ------------------------------------------------------------------------

    async def agent_reply(self, event: MessageEvent, bot_user_id: str | None) -> None:
        """A person's reply in a handoff thread: deliver it to the customer (claiming if still open)."""
        assert event.thread_ts is not None and event.user is not None
        key = await self._records.conversation_of_card(event.channel, event.thread_ts)
        if key is None:
            return  # a thread that is not a handoff: agents talking among themselves
        record = await self._records.handoff(key)
        if record is None or record.ts != event.thread_ts:
            # The customer asked again later (a newer card) or the record expired: say so, drop nothing silently.
            note = NEWER_CARD_NOTE if record is not None else EXPIRED_NOTE
            await self._poster.post(event.channel, text=note, thread_ts=event.thread_ts)
            return
        if record.state == "resolved":
            await self._note(record, "이미 끝난 상담이라 고객에게 전달하지 않았어요.")
            return
        text = to_plain(event.text, bot_user_id)
        if not text:
            # Checked before claiming: a file alone must not tell the customer a person joined.
            await self._note(record, FILES_ONLY_NOTE)
            return
        if record.state != "claimed":
            claimed = await self._claim(key, record.ts, event.user, event.user)
            if claimed is None:
                return
            await self._directory.deliver(key, [Text(text=self._config.agent_joined_text)])
        await self._engine.record_agent_message(key, text)
        delivered = await self._directory.deliver(key, [Text(text=text)])
        self._metrics.incr("slack_agent_message")
        if event.files:
            await self._note(record, FILES_DROPPED_NOTE)
        if not delivered:
            origin = key.partition(":")[0]
            note = self._config.undelivered_notes.get(origin, self._config.undelivered_default)
            await self._note(record, f":warning: {note}")

    async def agent_edit(self, event: MessageEvent) -> None:
        """Edits are not re-sent (the customer already has the first version): say so in the thread."""
        if event.message is None or event.message.thread_ts is None:
            return
        key = await self._records.conversation_of_card(event.channel, event.message.thread_ts)
        record = await self._records.handoff(key) if key is not None else None
        if record is not None and record.state == "claimed":
            await self._note(record, "수정한 내용은 고객에게 다시 가지 않아요. 바로잡을 내용은 새 답글로 보내 주세요.")

    # --- timeout -> ticket -----------------------------------------------------------------------

    async def _expire_later(self, handoff: Handoff, card_ts: str) -> None:
        await asyncio.sleep(self._config.handoff_timeout_s)
        await self.expire(handoff, card_ts)

    async def expire(self, handoff: Handoff, card_ts: str) -> None:
        """Turn the handoff into a ticket if nobody claimed it (a no-op otherwise)."""
        key = handoff.conversation_key
        async with self._records.handoff_lock(key):
            record = await self._records.handoff(key)
            if record is None or record.ts != card_ts or record.state != "open":
                return
            conversation = await self._records.store.load(key)
            if conversation is None or not conversation.handed_off:
                # The customer chose to continue with the bot (or the conversation expired): no ticket.
                record.state = "resolved"
                await self._records.save_handoff(record)
                await self._refresh_card(record)
                await self._note(record, "고객이 챗봇과 계속 대화하기로 해서 티켓을 만들지 않았어요.")
                return
            ticket_id = await self._open_ticket(handoff)
            if ticket_id is None:
                await self._note(record, ":warning: 담당자가 없어 티켓을 만들려 했지만 실패했어요. 직접 맡아 주세요.")
                return
            record.state, record.ticket_id = "ticket", ticket_id
            await self._records.save_handoff(record)
        self._metrics.incr("slack_handoff_ticket")
        await self._refresh_card(record)
        minutes = cards.timeout_minutes(self._config.handoff_timeout_s)
        await self._note(record, f":ticket: {minutes}분 동안 담당자가 없어 티켓 {ticket_id}(으)로 접수했어요.")
        await self._directory.deliver(key, [Text(text=self._config.ticket_text.format(ticket_id=ticket_id))])

    async def _open_ticket(self, handoff: Handoff) -> str | None:
        fields = handoff.collected_fields
        args: dict[str, Any] = {
            "product": fields.get("product") or "미확인",
            "symptom": f"[상담 연결 대기 시간 초과] {handoff.summary}"[:2000],
            "preferred_date": fields.get("preferred_date") or datetime.now(cards.KST).date().isoformat(),
            "phone": fields.get("phone") or "미확인",
            "conversation_key": handoff.conversation_key,
        }
        try:
            result = await self._tools.call(self._config.ticket_tool, args)
        except ToolError as exc:
            _log.error("slack_ticket_failed", tool=self._config.ticket_tool, kind=exc.kind, error=exc.message)
            return None
        ticket_id = result.get("ticket_id")
        return str(ticket_id) if ticket_id else None

    # --- helpers ---------------------------------------------------------------------------------

    async def _refresh_card(self, record: HandoffRecord) -> None:
        blocks = cards.card_blocks(record.card, record, self._config.handoff_timeout_s)
        text = cards.status_text(record, self._config.handoff_timeout_s)
        await self._poster.update(record.channel, record.ts, text=text, blocks=blocks)

    async def _post_mrkdwn(self, channel: str, thread_ts: str, text: str, fallback: str) -> None:
        for message in mrkdwn_messages(text, fallback):
            await self._poster.post(channel, text=message.text, blocks=message.blocks, thread_ts=thread_ts)

    async def _note(self, record: HandoffRecord, text: str) -> None:
        await self._poster.post(record.channel, text=text, thread_ts=record.ts)
