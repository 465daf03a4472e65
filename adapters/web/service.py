"""The web channel's behaviour behind its HTTP routes: sessions, messages, history, streams, delivery.

Every store call may raise `StoreUnavailable` (store down or frozen past `store.timeout_s`); the routes
turn it into a 503 (see api.py) and `outage` logs it once per outage. A stream reads what it starts with
before its response begins, so an outage then is a 503 too; an outage mid-stream ends the stream cleanly
(the widget reconnects with backoff).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import structlog
from litestar.response import ServerSentEventMessage

from adapters.web.config import WebConfig
from adapters.web.events import EventLog, WebEvent, encode_event
from adapters.web.hub import Signal, StreamHub
from adapters.web.ratelimit import RateLimiter
from adapters.web.token import Session, TokenError, TokenSigner
from adapters.web.wire import ValidMessage, WebError
from core.engine import Engine
from core.messages import Inbound, ReplyPart, Text
from core.metrics import Metrics
from core.policy.pii import mask_pii
from core.store.base import Store, StoreUnavailable
from core.store.health import OutageLog

_log = structlog.get_logger(__name__)
_json = msgspec.json.Encoder()


class WebService:
    def __init__(
        self,
        *,
        engine: Engine,
        store: Store,
        config: WebConfig,
        signer: TokenSigner,
        metrics: Metrics,
    ) -> None:
        self.engine = engine
        self.config = config
        self.signer = signer
        self._store = store
        self._metrics = metrics
        self.log = EventLog(store, limit=config.history_limit, ttl_s=config.token_ttl_s)
        self.hub = StreamHub()
        self._messages = RateLimiter(store, limit=config.rate_limit, window_s=config.rate_window_s)
        self._sessions = RateLimiter(store, limit=config.sessions_per_ip, window_s=3600.0)
        self._turns: set[asyncio.Task[list[WebEvent]]] = set()
        self._closing = False
        self.outage = OutageLog("web", logger=_log)  # store outages as this channel saw them, logged once

    # --- sessions --------------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> Session:
        try:
            return self.signer.verify(token)
        except TokenError as exc:
            raise WebError(401, "bad_token", str(exc)) from exc

    async def open_session(self, client_ip: str, token: str | None) -> dict[str, Any]:
        """Renew the session of a valid `token`, else start a new one (rate-limited per client IP)."""
        session_id: str | None = None
        if token:
            session_id = self.authenticate(token).session_id
        else:
            wait = await self._sessions.hit(f"web:ip:{client_ip}")
            if wait is not None:
                raise _rate_limited(wait, "too many new chat sessions from this address")
            session_id = self.signer.new_session_id()
        new_token, session = self.signer.issue(session_id)
        await self._store.put(f"web:session:{session_id}", b"1", self.config.token_ttl_s)
        return {"token": new_token, "session_id": session_id, "expires_at": session.expires_at}

    # --- messages --------------------------------------------------------------------------------

    async def send(self, session: Session, message: ValidMessage) -> dict[str, Any]:
        sid = session.session_id
        wait = await self._messages.hit(f"web:msg:{sid}")
        if wait is not None:
            raise _rate_limited(wait, f"more than {self.config.rate_limit} messages in {self.config.rate_window_s:g} s")
        # A retried POST (same client id after a network loss) is answered once; its reply is in the log.
        if not await self._store.claim_once(f"web:msgid:{sid}:{message.client_id}", self.config.token_ttl_s):
            return {"duplicate": True, "events": []}
        # Keep the session known for agents' deliveries (also after a restart of an in-memory store).
        await self._store.put(f"web:session:{sid}", b"1", self.config.token_ttl_s)
        customer = await self.log.append(sid, "customer", text=mask_pii(message.text).text, client_id=message.client_id)
        self.hub.publish(sid, Signal("wake"))
        # The turn outlives a dropped request: the reply still lands in the log for the reconnected client.
        task = asyncio.create_task(self._turn(sid, message))
        self._turns.add(task)
        task.add_done_callback(self._turn_done)
        bot_events = await asyncio.shield(task)
        return {"duplicate": False, "events": [msgspec.to_builtins(e) for e in [customer, *bot_events]]}

    async def _turn(self, sid: str, message: ValidMessage) -> list[WebEvent]:
        inbound = Inbound(
            channel="web",
            conversation_key=sid,
            user_id=sid,
            text=message.text,
            payload=message.payload,
            idempotency_key=f"{sid}:{message.client_id}",
        )
        self.hub.publish(sid, Signal("typing", {"reply_to": message.client_id}))

        async def on_text(delta: str) -> None:
            self.hub.publish(sid, Signal("delta", {"reply_to": message.client_id, "text": delta}))

        parts: list[ReplyPart]
        try:
            turn = await self.engine.handle(inbound, on_text=on_text)
            parts = turn.parts
        except StoreUnavailable:  # nothing can be saved either: the request answers 503, "try again shortly"
            self.hub.publish(sid, Signal("typing", {"reply_to": message.client_id, "done": True}))
            raise
        except Exception as exc:  # the customer gets a polite answer, never a 500 or silence
            _log.error("web_turn_failed", error=type(exc).__name__, detail=str(exc)[:200])
            parts = [Text(text=self.config.turn_error_text)]
        if not parts:  # a person owns the conversation, or a duplicate: nothing for the bot to say
            self.hub.publish(sid, Signal("typing", {"reply_to": message.client_id, "done": True}))
            return []
        event = await self.log.append(sid, "bot", parts=parts, reply_to=message.client_id)
        self.hub.publish(sid, Signal("wake"))
        return [event]

    def _turn_done(self, task: asyncio.Task[list[WebEvent]]) -> None:
        self._turns.discard(task)
        # A turn whose request was dropped has nobody to raise to: note a store outage, never "exception
        # was never retrieved".
        if not task.cancelled() and isinstance(task.exception(), StoreUnavailable):
            self.outage.failed(task.exception() or "", route="messages")

    async def history(self, session: Session, after: int) -> dict[str, Any]:
        """Events after `after`; all of them, with `reset: true`, when the client is ahead of the log."""
        head = await self.log.head(session.session_id)
        reset = after > head  # the log was lost (restart with the memory store, expiry): ids start again
        events = await self.log.read(session.session_id, 0 if reset else after)
        last = events[-1].id if events else head
        return {
            "session_id": session.session_id,
            "events": [msgspec.to_builtins(e) for e in events],
            "last_id": last,
            "reset": reset,
        }

    # --- agents' messages ------------------------------------------------------------------------

    async def deliver(self, session_id: str, parts: list[ReplyPart]) -> bool:
        if not parts or await self._store.get(f"web:session:{session_id}") is None:
            return False
        await self.log.append(session_id, "agent", parts=parts)
        self.hub.publish(session_id, Signal("wake"))
        return self.hub.has_streams(session_id) or await self._store.get(f"web:online:{session_id}") is not None

    # --- streams ---------------------------------------------------------------------------------

    async def stream(self, session: Session, after: int) -> AsyncIterator[ServerSentEventMessage]:
        """Open a stream: the store reads it starts with happen here, before any response byte, so a store
        outage raises StoreUnavailable (a 503) instead of breaking a started response."""
        sid = session.session_id
        queue = self.hub.subscribe(sid)
        try:
            await self._store.put(f"web:online:{sid}", b"1", self.config.presence_ttl_s)
            # The client saw ids this log never had (it was lost: a restart with the memory store or an
            # expiry); ids start again at 1, so the client must forget what it has and replay.
            reset = after > await self.log.head(sid)
            backlog = await self.log.read(sid, 0 if reset else after)
        except BaseException:
            self.hub.unsubscribe(sid, queue)
            raise
        return self._stream(sid, queue, after, reset, backlog)

    async def _stream(
        self, sid: str, queue: asyncio.Queue[Signal], after: int, reset: bool, backlog: list[WebEvent]
    ) -> AsyncIterator[ServerSentEventMessage]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        last = after
        try:
            yield ServerSentEventMessage(comment="connected", retry=2000, data=None)
            if reset:
                yield ServerSentEventMessage(event="reset", data=_json.encode({"last_id": last}).decode())
                last = 0
            for event in backlog:
                last = event.id
                yield _message(event)
            next_ping = next_poll = loop.time()
            while not self._closing:
                now = loop.time()
                if now - started >= self.config.stream_max_s:
                    return
                next_ping = next_ping if next_ping > now else now + self.config.heartbeat_s
                next_poll = next_poll if next_poll > now else now + self.config.poll_s
                timeout = min(next_ping, next_poll, started + self.config.stream_max_s) - now
                try:
                    signal: Signal | None = await asyncio.wait_for(queue.get(), max(timeout, 0.0))
                except TimeoutError:
                    signal = None
                if signal is not None and signal.kind == "close":
                    return
                if signal is not None and signal.kind in ("delta", "typing"):
                    yield ServerSentEventMessage(event=signal.kind, data=_json.encode(signal.data).decode())
                    continue
                if signal is not None or loop.time() >= next_poll:
                    if await self.log.head(sid) > last:
                        for event in await self.log.read(sid, last):
                            last = event.id
                            yield _message(event)
                if loop.time() >= next_ping:
                    await self._store.put(f"web:online:{sid}", b"1", self.config.presence_ttl_s)
                    yield ServerSentEventMessage(comment="ping", data=None)
        except StoreUnavailable as exc:  # the store went away mid-stream: end it cleanly; the widget reconnects
            self.outage.failed(exc, route="stream")
            yield ServerSentEventMessage(comment="store unavailable, reconnect shortly", data=None)
        finally:
            self.hub.unsubscribe(sid, queue)
            if not self.hub.has_streams(sid):
                try:
                    await self._store.pop(f"web:online:{sid}")
                except StoreUnavailable:  # presence then expires by itself (presence_ttl_s)
                    pass

    async def close(self) -> None:
        self._closing = True
        self.hub.close_all()
        if self._turns:
            await asyncio.wait(self._turns, timeout=10)


def _message(event: WebEvent) -> ServerSentEventMessage:
    return ServerSentEventMessage(event="message", id=event.id, data=encode_event(event).decode())


def _rate_limited(wait_s: float, why: str) -> WebError:
    seconds = int(wait_s)
    return WebError(
        429,
        "rate_limited",
        f"{why}; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )
