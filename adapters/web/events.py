"""A session's conversation as a log of events with increasing ids, kept in the store.

The log is what the history endpoint returns and what a stream replays after `Last-Event-ID`, so a
reload or a reconnect to any gateway process sees the same messages, each exactly once. Customer text is
stored PII-masked.
"""

from __future__ import annotations

import time
from typing import Literal

import msgspec

from core.messages import ReplyPart
from core.store.base import Store

Role = Literal["customer", "bot", "agent", "system"]


class WebEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: int
    role: Role
    at: float
    text: str | None = None  # customer messages
    client_id: str | None = None  # the customer's message id (customer events)
    reply_to: str | None = None  # the customer's message id this bot event answers
    parts: list[ReplyPart] = []  # bot / agent / system messages


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[WebEvent])


def encode_event(event: WebEvent) -> bytes:
    return _encoder.encode(event)


class EventLog:
    """Append-only per session (capped to `limit` events), TTL'd like the session."""

    def __init__(self, store: Store, *, limit: int, ttl_s: float) -> None:
        self._store = store
        self._limit = limit
        self._ttl_s = ttl_s

    async def append(
        self,
        session_id: str,
        role: Role,
        *,
        text: str | None = None,
        client_id: str | None = None,
        reply_to: str | None = None,
        parts: list[ReplyPart] | None = None,
    ) -> WebEvent:
        # The lock serialises writers (a bot turn and an agent's message) so ids never repeat or skip.
        async with self._store.lock(f"web:log:{session_id}"):
            events = await self.read(session_id)
            last = events[-1].id if events else 0
            event = WebEvent(
                id=last + 1,
                role=role,
                at=time.time(),
                text=text,
                client_id=client_id,
                reply_to=reply_to,
                parts=parts or [],
            )
            events.append(event)
            await self._store.put(f"web:events:{session_id}", _encoder.encode(events[-self._limit :]), self._ttl_s)
            await self._store.put(f"web:head:{session_id}", str(event.id).encode(), self._ttl_s)
        return event

    async def read(self, session_id: str, after: int = 0) -> list[WebEvent]:
        data = await self._store.get(f"web:events:{session_id}")
        events = _decoder.decode(data) if data else []
        return [e for e in events if e.id > after]

    async def head(self, session_id: str) -> int:
        """The id of the session's last event (0 when none); a cheap read for streams to poll."""
        data = await self._store.get(f"web:head:{session_id}")
        return int(data) if data else 0
