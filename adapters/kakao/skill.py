"""The skill request: authenticate, parse, run the turn against Kakao's 5-second rule, answer.

Timeline of one request (clock starts at receipt; docs/kakao.md §4):

    0 ─ budget_s           turn finished → answer inline
    budget_s, callbackUrl  answer {useCallback: true, data.text: waiting text}; the turn goes on as a job;
                           once the ack has been sent + callback_settle_s, POST the final answer (once);
                           still running at callback_deadline_s → POST an apology with a "답변 확인하기"
                           quick reply and stash the answer when it is ready
    budget_s, no URL       answer with the engine's fast reply (knowledge/fallback, no tools) + the quick
                           reply; stash the turn's answer when it is ready

A stashed ("late") answer is kept in the store under kakao:late:<botUserKey> and served on the customer's
next message: alone when they press "답변 확인하기", otherwise in front of the new answer.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import msgspec
import structlog

from adapters.kakao.callback import CallbackClient, url_fingerprint
from adapters.kakao.config import DEADLINE_MARGIN_S, FAST_REPLY_TIMEOUT_S, KakaoConfig
from adapters.kakao.limits import split_text
from adapters.kakao.payload import PayloadError, SkillPayload, is_test_surface, parse_payload, to_inbound
from adapters.kakao.render import callback_ack, render, render_text
from adapters.kakao.response import encode_response
from core.engine import Engine
from core.messages import Button, Inbound, QuickReplies, ReplyPart, Text, Turn, TurnResult
from core.metrics import Metrics
from core.store.base import Store, StoreUnavailable
from core.store.health import OutageLog
from core.store.memory import MemoryStore

_log = structlog.get_logger(__name__)

LATE_ANSWER_PAYLOAD = "sangdam:kakao:late-answer"  # postback of the "답변 확인하기" quick reply
_ACK_SENT_WAIT_S = 2.0  # if the server never reports the ack as sent, go on after this long
_POST_RESERVE_S = 0.3  # time kept before the callback deadline to render and start the POST
_RENDER_CACHE_SIZE = 2048  # distinct rendered replies kept
# A store call in front of the turn waits at most this long (a healthy store answers in milliseconds);
# the pending marker is written while the fast reply is prepared, within FAST_REPLY_TIMEOUT_S.
_STORE_STEP_S = 1.0

_T = TypeVar("_T")

_parts_encoder = msgspec.msgpack.Encoder()
_parts_decoder = msgspec.msgpack.Decoder(list[ReplyPart])
_json_encoder = msgspec.json.Encoder()


class SkillReply(NamedTuple):
    """What the HTTP layer sends: status, JSON body, and a hook to call once the body has been sent."""

    status: int
    body: bytes
    after_send: Callable[[], Awaitable[None]] | None = None


def error_reply(status: int, error: str, detail: str) -> SkillReply:
    return SkillReply(status, _json_encoder.encode({"error": error, "detail": detail}))


class StoreHealth:
    """Store failures on the Kakao path: counted each time (`kakao_store_error`), logged once per outage
    (`store_unavailable` / `store_recovered`, component "kakao"), whatever the store raised or if it hung."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self._metrics = metrics
        self._outage = OutageLog("kakao", clock=clock)

    @property
    def down(self) -> bool:
        return self._outage.down

    def failed(self, step: str, exc: BaseException) -> None:
        self._metrics.incr("kakao_store_error")
        self._outage.failed(exc if str(exc) else f"{type(exc).__name__} (no answer in time)", step=step)

    def ok(self) -> None:
        self._outage.succeeded()


@dataclass
class _Flight:
    """What one request has started, so the safety net can hand it to a job if the deadline strikes."""

    user_key: str = ""
    turn: asyncio.Task[Turn] | None = None
    earlier: list[ReplyPart] = field(default_factory=list)  # a late answer taken out of the store
    marked: asyncio.Task[None] | None = None  # writing the pending marker
    owned: bool = False  # a job (or the inline answer) has taken over the turn and `earlier`


class SkillHandler:
    def __init__(
        self,
        *,
        engine: Engine,
        store: Store,
        callbacks: CallbackClient,
        config: KakaoConfig,
        secret: str | None,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._store = store
        self._callbacks = callbacks
        self._config = config
        self._secret = secret.encode("utf-8") if secret else None
        self._metrics = metrics
        self._clock = clock
        self._jobs: set[asyncio.Task[None]] = set()
        self._rendered: dict[bytes, bytes] = {}  # msgpack(parts) -> encoded SkillResponse
        self._inflight = 0  # engine turns running (inline or as jobs); capped by max_inflight_turns
        self.store_health = StoreHealth(metrics, clock)
        # The in-process store answers at once: its calls need no timer (the hot path of one process).
        self._store_is_local = isinstance(store, MemoryStore)

    # --- request ---------------------------------------------------------------------------------

    @property
    def secret_header(self) -> str | None:
        """The header the HTTP layer must pass to `handle`, or None when no secret is configured."""
        return self._config.secret_header if self._secret is not None else None

    async def handle(self, body: bytes, given_secret: str | None = None) -> SkillReply:
        """Answer one skill request; never raises (a failure becomes a polite reply, not a 500).

        `given_secret` is the value of the `secret_header` header as received (None if absent). The HTTP
        layer has already refused a body over `max_body_bytes` (channel.py reads it).
        """
        received = self._clock()
        if self._secret is not None:
            # compare_digest takes time independent of where the values differ.
            if not hmac.compare_digest((given_secret or "").encode("utf-8"), self._secret):
                self._metrics.incr("kakao_unauthorized")
                return error_reply(401, "unauthorized", f"missing or wrong {self._config.secret_header} header")
        try:
            payload = parse_payload(body)
        except PayloadError as exc:
            self._metrics.incr("kakao_bad_request")
            return error_reply(400, "bad_request", str(exc))
        bot_id = payload.bot.id if payload.bot is not None else None
        if self._config.allowed_bot_ids and bot_id not in self._config.allowed_bot_ids:
            # The operator copies this id into allowed_bot_ids (docs/kakao.md); it is not personal data.
            _log.warning("kakao_bot_refused", bot_id=bot_id)
            self._metrics.incr("kakao_forbidden")
            return error_reply(403, "forbidden", "bot.id is not in channels.kakao.allowed_bot_ids")
        if is_test_surface(payload):
            self._metrics.incr("kakao_bot_tester")  # the admin centre's bot tester, not a customer
        # One deadline for the whole request, whatever the store or the engine does: every step below is
        # bounded on its own; this is the safety net behind them.
        deadline = received + self._config.budget_s + FAST_REPLY_TIMEOUT_S + DEADLINE_MARGIN_S
        flight = _Flight()
        try:
            async with asyncio.timeout(max(deadline - self._clock(), 0.0)):
                return await self._answer(payload, received, flight)
        except TimeoutError:
            _log.warning("kakao_deadline_missed", store_down=self.store_health.down)
            self._metrics.incr("kakao_deadline")
        except Exception:
            _log.exception("kakao_skill_failed")
            self._metrics.incr("kakao_error")
        return self._rescue(flight)

    def _rescue(self, flight: _Flight) -> SkillReply:
        """The polite error reply; a turn or a late answer the request had taken is kept for later."""
        parts: list[ReplyPart] = [Text(text=self._config.error_text)]
        if not flight.owned and (flight.turn is not None or flight.earlier):
            flight.owned = True
            if flight.turn is not None:
                parts += self._pending_parts()
                job = self._stash_when_done(flight.turn, flight.user_key, flight.earlier, flight.marked)
                self._spawn(job, flight.user_key)
            else:
                self._spawn(self._stash_safely(flight.user_key, flight.earlier), flight.user_key)
        try:
            return SkillReply(200, self._render(parts))
        except Exception:
            _log.exception("kakao_render_failed")
            return SkillReply(200, encode_response(render_text(self._config.error_text)))

    async def _answer(self, payload: SkillPayload, received: float, flight: _Flight) -> SkillReply:
        if len(payload.userRequest.utterance) > self._config.max_utterance_chars:
            # Never handed to the engine, so nothing of it is stored.
            self._metrics.incr("kakao_too_long")
            return SkillReply(200, self._render([Text(text=self._config.too_long_reply())]))
        callback_url: str | None = payload.userRequest.callbackUrl or None
        if callback_url is not None and (problem := self._callbacks.allowed(callback_url)) is not None:
            _log.warning("kakao_callback_url_refused", reason=problem, callback=url_fingerprint(callback_url))
            self._metrics.incr("kakao_callback:refused")
            callback_url = None
        # The callback token is unique per skill request: the only idempotency key Kakao offers.
        key = url_fingerprint(callback_url) if callback_url else None
        inbound = to_inbound(payload, idempotency_key=key)
        user_key = flight.user_key = inbound.conversation_key

        if self._asks_for_late_answer(inbound):
            return await self._serve_late_answer(user_key)
        if self._inflight >= self._config.max_inflight_turns:
            # Overloaded (or the store is stuck and turns pile up): answer at once, queue nothing.
            self._metrics.incr("kakao_shed")
            return SkillReply(200, self._render([Text(text=self._config.busy_text)]))
        earlier = flight.earlier = await self._take_late_answer(
            user_key, min(_STORE_STEP_S, self._config.budget_s - (self._clock() - received))
        )

        turn_task = flight.turn = self._start_turn(inbound)
        if await _finished_within(turn_task, self._config.budget_s - (self._clock() - received)):
            flight.owned = True
            turn = self._turn_of(turn_task)
            self._metrics.incr("kakao_inline")
            if turn.duplicate:
                # The first request with this callback URL owns the answer; this copy only acknowledges.
                if earlier:
                    self._spawn(self._stash_safely(user_key, earlier), user_key)
                return SkillReply(200, self._ack())
            return SkillReply(200, self._render(self._before_new(earlier) + self._reply_parts(turn)))

        # The pending marker is written while the answer is prepared; the job waits for it, so that
        # its own clean-up always comes after it.
        marked = flight.marked = asyncio.get_running_loop().create_task(
            self._store_step(
                "mark_pending",
                self._store.put(_pending_key(user_key), b"1", self._config.late_answer_ttl_s),
                FAST_REPLY_TIMEOUT_S,
                None,
            )
        )
        if callback_url is not None:
            flight.owned = True
            self._metrics.incr("kakao_callback_ack")
            ack_sent = asyncio.Event()

            async def mark_ack_sent() -> None:
                ack_sent.set()

            self._spawn(
                self._finish_by_callback(turn_task, callback_url, user_key, earlier, received, ack_sent, marked),
                user_key,
            )
            return SkillReply(200, self._ack(), mark_ack_sent)

        fast_parts = await self._fast_parts(inbound)
        flight.owned = True
        self._metrics.incr("kakao_fast_answer")
        self._spawn(self._stash_when_done(turn_task, user_key, [], marked), user_key)  # `earlier` is shown now
        # The "답변 확인하기" chip goes first so it survives the quick-reply cap.
        fast = self._pending_parts() + self._before_new(earlier) + fast_parts
        return SkillReply(200, self._render(fast))

    def _start_turn(self, inbound: Inbound) -> asyncio.Task[Turn]:
        self._inflight += 1
        return asyncio.get_running_loop().create_task(self._counted_turn(inbound))

    async def _counted_turn(self, inbound: Inbound) -> Turn:
        try:
            return await self._engine.handle(inbound)
        finally:
            self._inflight -= 1

    async def _store_step(self, step: str, call: Awaitable[_T], within_s: float, failed: _T) -> _T:
        """`call`'s result, or `failed` if the store raised or did not answer within `within_s`."""
        try:
            async with asyncio.timeout(max(within_s, 0.0)):
                result = await call
        except Exception as exc:  # a store failure never fails the request
            self.store_health.failed(step, exc)
            return failed
        self.store_health.ok()
        return result

    # --- late answers ----------------------------------------------------------------------------

    def _asks_for_late_answer(self, inbound: Inbound) -> bool:
        return inbound.payload == LATE_ANSWER_PAYLOAD or inbound.text.strip() == self._config.late_answer_label

    async def _serve_late_answer(self, user_key: str) -> SkillReply:
        """The stashed answer, a "still working" note, or a note that nothing is waiting."""
        earlier = await self._take_late_answer(user_key, _STORE_STEP_S)
        if earlier:
            return SkillReply(200, self._render([Text(text=self._config.late_intro_text), *earlier]))
        pending = None
        if not self.store_health.down:  # (the pop above has just probed the store)
            reading = self._store.get(_pending_key(user_key))
            pending = await self._store_step("get_pending", reading, _STORE_STEP_S, None)
        if self.store_health.down:  # nothing can be said about a waiting answer: ask to try again
            return SkillReply(200, self._render([Text(text=self._config.error_text), *self._pending_parts()]))
        if pending is not None:
            return SkillReply(200, self._render([Text(text=self._config.pending_text), *self._pending_parts()]))
        return SkillReply(200, self._render([Text(text=self._config.no_late_answer_text)]))

    async def _take_late_answer(self, user_key: str, within_s: float) -> list[ReplyPart]:
        """The stashed answer's parts (removed from the store), or [] when none is waiting.

        Also [] when the store fails or is too slow; a pop that completes after `within_s` is put back
        by a job, so a slow store delays a late answer but never loses it.
        """
        if self._store_is_local:
            return self._decode_late(await self._store.pop(_late_key(user_key)))
        popping = asyncio.get_running_loop().create_task(self._store.pop(_late_key(user_key)))
        if not await _finished_within(popping, within_s):
            self.store_health.failed("take_late_answer", TimeoutError())
            self._spawn(self._put_back_when_popped(popping, user_key), user_key)
            return []
        if (exc := popping.exception()) is not None:
            self.store_health.failed("take_late_answer", exc)
            return []
        self.store_health.ok()
        return self._decode_late(popping.result())

    def _decode_late(self, data: bytes | None) -> list[ReplyPart]:
        if data is None:
            return []
        self._metrics.incr("kakao_late_served")
        return _parts_decoder.decode(data)

    async def _put_back_when_popped(self, popping: asyncio.Task[bytes | None], user_key: str) -> None:
        try:
            data = await popping
        except Exception as exc:  # the pop failed after all: nothing was taken
            self.store_health.failed("take_late_answer", exc)
            return
        if data is not None:
            await self._stash_safely(user_key, _parts_decoder.decode(data))

    def _before_new(self, earlier: list[ReplyPart]) -> list[ReplyPart]:
        """A stashed answer shown in front of a new one: introduced, without its stale quick replies.

        Its text is cut to one bubble so that the new answer keeps its own outputs (Kakao shows 3).
        """
        if not earlier:
            return []
        texts = [part.text for part in earlier if isinstance(part, Text)]
        others = [part for part in earlier if not isinstance(part, Text | QuickReplies)]
        bubble = split_text("\n\n".join([self._config.late_intro_text, *texts]), max_bubbles=1)
        return [*(Text(text=text) for text in bubble), *others]

    def _reply_parts(self, turn: Turn) -> list[ReplyPart]:
        """The turn's reply; a note when a person owns the conversation and the bot stays silent."""
        if turn.parts:
            return turn.parts
        self._metrics.incr("kakao_agent_owned")
        return [Text(text=self._config.agent_owned_text)]

    async def stash(self, user_key: str, parts: list[ReplyPart]) -> None:
        """Keep an undelivered answer for the next message (appended to one already waiting)."""
        # Locked: two answers kept at once (an agent's reply, a late turn) must not overwrite each other.
        async with self._store.lock(_late_key(user_key)):
            waiting = await self._store.pop(_late_key(user_key))
            if waiting is not None:
                parts = _parts_decoder.decode(waiting) + parts
            await self._store.put(_late_key(user_key), _parts_encoder.encode(parts), self._config.late_answer_ttl_s)
        await self._store.pop(_pending_key(user_key))
        self._metrics.incr("kakao_late_stashed")

    async def _stash_safely(self, user_key: str, parts: list[ReplyPart]) -> None:
        """`stash` for jobs: a failure is logged with the (masked) conversation, never raised."""
        try:
            await self.stash(user_key, parts)
        except Exception as exc:
            self.store_health.failed("stash", exc)
            self._metrics.incr("kakao_late_lost")
            _log.error("kakao_late_answer_lost", conversation=mask_key(user_key), error=type(exc).__name__)
            await self._clear_pending(user_key)

    async def _clear_pending(self, user_key: str) -> None:
        try:
            await self._store.pop(_pending_key(user_key))
        except Exception as exc:  # it expires with late_answer_ttl_s at worst
            self.store_health.failed("clear_pending", exc)

    def _pending_parts(self) -> list[ReplyPart]:
        label = self._config.late_answer_label
        return [QuickReplies(options=[Button(label=label, kind="postback", value=LATE_ANSWER_PAYLOAD)])]

    # --- background jobs -------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None], user_key: str) -> None:
        """Run `coro` as a job; a failure is logged with the conversation, never left unretrieved."""
        job = asyncio.get_running_loop().create_task(self._guarded(coro, user_key))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _guarded(self, coro: Coroutine[Any, Any, None], user_key: str) -> None:
        try:
            await coro
        except Exception as exc:
            self._metrics.incr("kakao_job_failed")
            _log.error("kakao_job_failed", conversation=mask_key(user_key), error=type(exc).__name__, exc_info=exc)
            await self._clear_pending(user_key)

    async def _finish_by_callback(
        self,
        turn_task: asyncio.Future[Turn],
        url: str,
        user_key: str,
        earlier: list[ReplyPart],
        received: float,
        ack_sent: asyncio.Event,
        marked: Awaitable[None],
    ) -> None:
        """After the ack: POST the final answer once, or an apology if the turn misses the deadline.

        Whatever fails on the way, the answer is stashed for "답변 확인하기" unless Kakao took it.
        """
        deadline = received + self._config.callback_deadline_s
        await marked
        try:
            async with asyncio.timeout(_ACK_SENT_WAIT_S):
                await ack_sent.wait()
        except TimeoutError:
            _log.warning("kakao_ack_not_confirmed", callback=url_fingerprint(url))
        # Kakao may refuse a POST that arrives before it has processed the ack.
        not_before = self._clock() + self._config.callback_settle_s
        # Stop waiting a little before the deadline: the apology must still leave in time.
        await asyncio.wait((turn_task,), timeout=max(deadline - _POST_RESERVE_S - self._clock(), 0.0))
        await asyncio.sleep(max(not_before - self._clock(), 0.0))

        if turn_task.done():
            turn = self._turn_of(turn_task)
            try:
                outcome = await self._callbacks.post_once(
                    url,
                    self._render(self._before_new(earlier) + self._reply_parts(turn)),
                    received_at=received,
                    deadline=deadline,
                )
                delivered = outcome.ok
            except Exception as exc:
                delivered = False
                _log.error("kakao_callback_failed", conversation=mask_key(user_key), error=type(exc).__name__)
            if delivered:
                await self._clear_pending(user_key)
            else:
                # Refused, expired, unanswered or failed: keep it for the next message rather than lose it.
                await self._stash_safely(user_key, earlier + turn.parts)
            return

        apology: list[ReplyPart] = [Text(text=self._config.late_apology_text), *self._pending_parts()]
        try:
            await self._callbacks.post_once(url, self._render(apology), received_at=received, deadline=deadline)
        except Exception as exc:
            _log.error("kakao_callback_failed", conversation=mask_key(user_key), error=type(exc).__name__)
        self._metrics.incr("kakao_callback_late")
        await self._stash_when_done(turn_task, user_key, earlier)

    async def _stash_when_done(
        self,
        turn_task: asyncio.Future[Turn],
        user_key: str,
        earlier: list[ReplyPart],
        marked: Awaitable[None] | None = None,
    ) -> None:
        if marked is not None:
            await marked
        await asyncio.wait((turn_task,))
        parts = earlier + self._turn_of(turn_task).parts
        if parts:
            await self._stash_safely(user_key, parts)
        else:  # a person owns the conversation: their replies are stashed by deliver()
            await self._clear_pending(user_key)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let running jobs finish (they hold answers owed to customers), then cancel stragglers."""
        if not self._jobs:
            return
        _, pending = await asyncio.wait(set(self._jobs), timeout=grace_s)
        for job in pending:
            job.cancel()
        if pending:
            _log.warning("kakao_jobs_cancelled", count=len(pending))
            await asyncio.wait(pending)

    # --- helpers ---------------------------------------------------------------------------------

    def _turn_of(self, turn_task: asyncio.Future[Turn]) -> Turn:
        """The finished turn, or a polite error turn if the engine raised."""
        exc = turn_task.exception()
        if exc is None:
            return turn_task.result()
        if isinstance(exc, StoreUnavailable):  # an outage: logged once, not per turn
            self.store_health.failed("turn", exc)
        else:
            _log.error("kakao_turn_failed", error=type(exc).__name__, exc_info=exc)
        self._metrics.incr("kakao_error")
        return _error_turn(self._config.error_text)

    async def _fast_parts(self, inbound: Inbound) -> list[ReplyPart]:
        if self.store_health.down:  # fast_reply reads the conversation: it would only use up the margin
            return [Text(text=self._config.pending_text)]
        try:
            async with asyncio.timeout(FAST_REPLY_TIMEOUT_S):
                return list(await self._engine.fast_reply(inbound))
        except TimeoutError as exc:  # it reads the conversation: a stuck store (logged once per outage)
            self.store_health.failed("fast_reply", exc)
        except Exception:
            _log.exception("kakao_fast_reply_failed")
        return [Text(text=self._config.pending_text)]

    def _render(self, parts: list[ReplyPart]) -> bytes:
        """Render (always valid, see render.render) and encode.

        Rendering is a pure function of the parts, and most replies are the pack's fixed texts, so the
        encoded result is cached by the parts' bytes: the hot path then skips rendering.
        """
        key = _parts_encoder.encode(parts)
        cached = self._rendered.get(key)
        if cached is None:
            # render() guarantees a valid response (it falls back to plain text itself).
            cached = encode_response(render(parts, operator_label=self._config.operator_label))
            if len(self._rendered) >= _RENDER_CACHE_SIZE:
                del self._rendered[next(iter(self._rendered))]  # oldest first: insertion order
            self._rendered[key] = cached
        return cached

    def _ack(self) -> bytes:
        return _json_encoder.encode(callback_ack(self._config.waiting_text))


async def _finished_within(task: asyncio.Task[Any], seconds: float) -> bool:
    """Wait up to `seconds` for `task`, which goes on either way; True if it finished.

    asyncio.wait does the same with more bookkeeping; this runs on every skill request.
    """
    if not task.done() and seconds > 0:
        waiter = asyncio.get_running_loop().create_future()

        def wake(_: object = None) -> None:
            if not waiter.done():
                waiter.set_result(None)

        timer = waiter.get_loop().call_later(seconds, wake)
        task.add_done_callback(wake)
        try:
            await waiter
        finally:
            timer.cancel()
            task.remove_done_callback(wake)
    return task.done()


def mask_key(user_key: str) -> str:
    """A botUserKey for logs: enough to tell conversations apart, too little to use it."""
    return f"{user_key[:4]}…{user_key[-2:]}" if len(user_key) > 8 else "…"


def _late_key(user_key: str) -> str:
    return f"kakao:late:{user_key}"


def _pending_key(user_key: str) -> str:
    return f"kakao:pending:{user_key}"


def _error_turn(text: str) -> Turn:
    return Turn(parts=[Text(text=text)], result=TurnResult(intent="error", next_action="fallback"))
