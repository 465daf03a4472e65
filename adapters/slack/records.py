"""What the Slack adapter keeps in the store, so several gateway processes share it through Redis.

slack:evt:<event_id>              dedupe of Events API deliveries (Slack retries up to 3 times)
slack:msg:<channel>:<ts>          dedupe of one message seen as two events (app_mention + message)
slack:act:<trigger_id>            dedupe of interactive payloads (they carry no event_id)
slack:pilot:<channel>:<ts>        a thread holding a pilot conversation
slack:handoff:<conversation key>  the open handoff of a conversation (HandoffRecord)
slack:card:<channel>:<ts>         handoff card -> conversation key (its thread is the agents' thread)
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

import msgspec

from core.store.base import Store

HandoffState = Literal["open", "claimed", "ticket", "resolved"]


class HandoffRecord(msgspec.Struct, kw_only=True):
    conversation_key: str  # "channel:conversation_key" of the customer
    channel: str  # the agents' channel
    ts: str  # the card's ts = the thread root
    state: HandoffState = "open"
    agent: str | None = None  # Slack user id of the claiming agent
    ticket_id: str | None = None
    card: list[dict[str, Any]] = []  # the card's unchanging blocks, re-sent with a new status footer
    created_at: float = msgspec.field(default_factory=time.time)


class SlackRecords:
    def __init__(self, store: Store, *, dedupe_ttl_s: float, retention_s: float) -> None:
        self.store = store
        self._dedupe_ttl_s = dedupe_ttl_s
        self._retention_s = retention_s

    # --- dedupe ----------------------------------------------------------------------------------

    async def first_delivery(self, event_id: str | None, channel: str, ts: str) -> bool:
        """True only the first time this event (and this message) is seen, across processes.

        A mention in a pilot channel arrives as both `app_mention` and `message`, with different
        event ids; channel + ts names the message itself (client_msg_id is missing on file shares and
        API/workflow posts).
        """
        if event_id and not await self.store.claim_once(f"slack:evt:{event_id}", self._dedupe_ttl_s):
            return False
        if ts:
            return await self.store.claim_once(f"slack:msg:{channel}:{ts}", self._dedupe_ttl_s)
        return True

    async def first_action(self, key: str) -> bool:
        return await self.store.claim_once(f"slack:act:{key}", self._dedupe_ttl_s)

    # --- pilot threads ---------------------------------------------------------------------------

    async def remember_pilot_thread(self, channel: str, ts: str) -> None:
        await self.store.put(f"slack:pilot:{channel}:{ts}", b"1", self._retention_s)

    async def is_pilot_thread(self, channel: str, ts: str) -> bool:
        return await self.store.get(f"slack:pilot:{channel}:{ts}") is not None

    # --- handoffs --------------------------------------------------------------------------------

    def handoff_lock(self, conversation_key: str) -> AbstractAsyncContextManager[None]:
        return self.store.lock(f"slack:handoff-lock:{conversation_key}")

    async def save_handoff(self, record: HandoffRecord) -> None:
        data = msgspec.json.encode(record)
        await self.store.put(f"slack:handoff:{record.conversation_key}", data, self._retention_s)
        await self.store.put(
            f"slack:card:{record.channel}:{record.ts}", record.conversation_key.encode(), self._retention_s
        )

    async def handoff(self, conversation_key: str) -> HandoffRecord | None:
        data = await self.store.get(f"slack:handoff:{conversation_key}")
        return msgspec.json.decode(data, type=HandoffRecord) if data is not None else None

    async def conversation_of_card(self, channel: str, ts: str) -> str | None:
        data = await self.store.get(f"slack:card:{channel}:{ts}")
        return data.decode() if data is not None else None
