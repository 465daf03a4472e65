"""Auto-pipelining for the Redis store: commands from many coroutines share one connection and one write.

Why: redis-py's client spends most of a command's cost on its own machinery (connection-pool checkout
and release, locks, retry wrappers, response callbacks), not on the network. Measured on a 2-core box
(server and client on separate cores), 64 coroutines doing GETs through `redis.asyncio.Redis` cost
~44 µs of client CPU per GET, while the same GETs sent as batches of 64 over one connection
(pack, one write, read the replies) cost ~8 µs each. A gateway turn issues ~5 store commands, so this
is most of the store's CPU. redis-py has no built-in auto-pipelining (redis/redis-py#3767); this module
does what ioredis's `enableAutoPipelining` does: every command issued during one event-loop tick is
queued, and one task writes the whole queue at the next tick. With bench/redis_store.py (64 coroutines,
a turn's five commands each), the store's client CPU per turn fell from ~265 µs to ~45 µs.

Ordering guarantee: a Redis server answers the commands of one connection in the order it received
them. Only one task writes to the connection, and it writes the queue in the order `execute()` was
called, appending each caller's future to a FIFO at the same time; the reader pops that FIFO for each
reply. So the n-th reply goes to the n-th command sent, also when some replies are errors (those go to
their own caller only) or when a caller has given up (its reply is read and dropped).

A broken connection (reset, EOF, socket timeout) fails every caller still waiting or queued with
`RedisUnavailable` (both a `redis.exceptions.ConnectionError` and the store's `StoreUnavailable`), and the
next command reconnects. Time bounds come from the client's `socket_timeout` (no reply for that long: the
connection counts as dead; a write that cannot be sent for that long fails) and `socket_connect_timeout`
(a connect, and the handshake's replies, within `socket_timeout`); a caller queued while a (re)connect is
under way fails with it. So with `socket_timeout=T` no caller waits much more than T for a frozen server
(SIGSTOP: the kernel still accepts connections), and a stopped one is refused at once. An optional
`OutageLog` hears of each failed connection (one report per failure, not per caller) and of the first
reply after one, so an outage is logged once.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool, Encoder
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.typing import EncodableT

from core.store.base import StoreUnavailable
from core.store.health import OutageLog

_Command = tuple[tuple[EncodableT, ...], asyncio.Future[Any]]  # arguments, and the caller's future


class RedisUnavailable(RedisConnectionError, StoreUnavailable):
    """The connection failed or timed out: redis-py's ConnectionError, and the store's StoreUnavailable."""


class _Link:
    """One connected session of the pipeline's connection and the replies it still owes, oldest first.

    Each (re)connect makes a new link, so a reader left over from a broken session never touches the
    callers of the next one.
    """

    __slots__ = ("broken", "conn", "reader", "waiting")

    def __init__(self, conn: AbstractConnection) -> None:
        self.conn = conn
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.reader: asyncio.Task[None] | None = None  # runs only while replies are owed
        self.broken = False


class AutoPipeline:
    """Send Redis commands from any number of coroutines over one connection, batched per loop tick.

    The connection is checked out of `pool` on first use (so host, db, auth, TLS and socket settings are
    the client's) and kept until `aclose()`; while checked out it counts as in use, so closing the
    client's pool also disconnects it. Loop-bound objects (tasks, futures, streams) are created on first
    use, so a pipeline may be built outside the event loop that later uses it.
    """

    def __init__(self, pool: ConnectionPool, outage: OutageLog | None = None) -> None:
        self._pool = pool
        self._outage = outage  # told of failed connections and of the first reply after them
        self._conn: AbstractConnection | None = None
        self._link: _Link | None = None
        self._queue: list[_Command] = []  # not yet written, in call order
        self._flusher: asyncio.Task[None] | None = None
        self.writes = 0  # batched writes sent so far; tests use it to see the batching

    async def execute(self, *args: EncodableT) -> Any:
        """Send one command (e.g. "SET", key, value) and return its raw reply (bytes, int, None, list).

        Raises the command's ResponseError, or RedisUnavailable (a redis.exceptions.ConnectionError) if the
        connection fails, or no reply arrives within the client's socket_timeout.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((args, future))
        if self._flusher is None:  # first command of this tick: one flush at the next tick sends them all
            self._flusher = loop.create_task(self._flush())
        return await future

    async def aclose(self) -> None:
        """Disconnect and give the connection back to the pool; commands not yet answered fail.

        A later `execute()` connects again.
        """
        link = self._link
        tasks = [task for task in (self._flusher, link.reader if link else None) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # finished, so none is destroyed pending
        self._flusher = None  # a task cancelled before its first step never ran its `finally`
        closed = RedisUnavailable("Redis store closed")
        if link is not None:
            self._lose(link, closed, outage=False)  # closing is no outage
        _fail_all(self._queue, closed)
        self._queue = []
        conn, self._conn, self._link = self._conn, None, None
        if conn is not None:
            try:
                await conn.disconnect()
            finally:
                await self._pool.release(conn)

    # --- writing ---------------------------------------------------------------------------------

    async def _flush(self) -> None:
        """Write the queue; commands queued while a write is under way go in the next write."""
        try:
            while self._queue:
                await self._write_batch()
        finally:
            self._flusher = None

    async def _write_batch(self) -> None:
        """Send everything queued so far in one write, (re)connecting first if needed."""
        try:
            link = await self._ready_link()
        except Exception as exc:  # refused, DNS, AUTH, TLS, connect or handshake timeout...: nothing was sent
            self._queue, queued = [], self._queue
            error = _lost("Redis connection failed", exc)
            if self._outage is not None:
                self._outage.failed(error)
            _fail_all(queued, error)
            return
        batch, self._queue = self._queue, []
        packed = _pack(link, batch)
        if not packed:
            return
        self._start_reader(link)
        try:
            await _send(link.conn, packed)
        except Exception as exc:
            self._lose(link, _lost("Redis connection lost", exc))
            return
        self.writes += 1

    async def _ready_link(self) -> _Link:
        """The current link, or a new one after a (re)connect."""
        link = self._link
        if link is not None and not link.broken:
            if link.conn.is_connected and (link.waiting or await _idle_and_sound(link.conn)):
                return link
            # Closed under us (by the client's pool, or by the server while idle). Its reader, if any, would
            # see that soon; queued commands need not wait for it, as they go to the new connection.
            _retire(link, RedisUnavailable("Redis connection lost: closed while waiting for replies"))
        if link is not None and link.reader is not None:
            # A reader of a broken link may still be blocked on the old socket; it must be gone before the
            # connection object is reused, or its late error handling would disconnect the new socket.
            link.reader.cancel()
            await asyncio.wait({link.reader})
        if self._conn is None:
            self._conn = await self._pool.get_connection()
        else:
            await self._conn.disconnect(nowait=True)
            await self._conn.connect()
        self._link = _Link(self._conn)
        return self._link

    # --- reading ---------------------------------------------------------------------------------

    def _start_reader(self, link: _Link) -> None:
        if link.reader is None:
            link.reader = asyncio.get_running_loop().create_task(self._read_replies(link))

    async def _read_replies(self, link: _Link) -> None:
        """Hand each reply to the oldest waiter; stop when none is left (so no read sits on an idle socket)."""
        conn, waiting = link.conn, link.waiting
        limit = conn.socket_timeout  # seconds without a reply before the connection counts as dead
        loop = asyncio.get_running_loop()
        outage = self._outage
        try:
            async with asyncio.timeout(None) as deadline:
                while waiting and not link.broken:
                    if limit:
                        _extend(deadline, loop.time(), limit)
                    try:
                        # math.inf: no timer per reply (one per reply cost ~40 % more CPU); `deadline` covers them all.
                        reply = await conn.read_response(timeout=math.inf)
                    except ResponseError as exc:  # a command's own error: only its caller sees it
                        _settle(waiting.popleft(), exc)
                    else:
                        _settle(waiting.popleft(), reply)
                    if outage is not None and outage.down_since is not None:  # the server answers again
                        outage.succeeded()
        except TimeoutError as exc:
            self._lose(link, _lost(f"no reply within socket_timeout={limit} s", exc))
        except Exception as exc:
            self._lose(link, _lost("Redis connection lost", exc))
        finally:
            link.reader = None

    # --- failure ---------------------------------------------------------------------------------

    def _lose(self, link: _Link, error: RedisConnectionError, *, outage: bool = True) -> None:
        """The link is unusable: fail its waiters and, if it was the live link, everything queued for it."""
        was_live = link is self._link and not link.broken
        if outage and self._outage is not None and (was_live or link.waiting):
            self._outage.failed(error)
        _retire(link, error)
        if was_live:
            self._queue, queued = [], self._queue
            _fail_all(queued, error)


def _retire(link: _Link, error: RedisConnectionError) -> None:
    """Mark the link broken and fail the callers still waiting for its replies."""
    link.broken = True
    waiting = list(link.waiting)
    link.waiting.clear()
    for future in waiting:
        if not future.done():
            future.set_exception(_copy(error))


def _pack(link: _Link, batch: list[_Command]) -> list[bytes]:
    """Encode the batch, registering each sent command's future as a waiter in the same order."""
    chunks: list[bytes] = []
    encoder = link.conn.encoder
    for args, future in batch:
        if future.done():  # cancelled before it was sent: don't send it
            continue
        try:
            chunks.append(_encode(args, encoder))
        except Exception as exc:  # unencodable argument: that caller's error only
            future.set_exception(exc)
            continue
        link.waiting.append(future)
    return chunks


def _encode(args: tuple[EncodableT, ...], encoder: Encoder) -> bytes:
    """One command as a RESP array of bulk strings: what Connection.pack_command produces, at about a third of
    its CPU for the store's argument types (str, bytes, int); other types go through the client's encoder.
    Unlike pack_command, a command name is not split on spaces: pass "SCRIPT", "LOAD", not "SCRIPT LOAD"."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data: bytes
        if type(arg) is bytes:
            data = arg
        elif type(arg) is str:
            data = arg.encode(encoder.encoding, encoder.encoding_errors)
        elif type(arg) is int:
            data = b"%d" % arg
        else:
            data = bytes(encoder.encode(arg))  # memoryview, float, subclasses; DataError for None, bool, ...
        parts += (b"$%d\r\n" % len(data), data, b"\r\n")  # not one %-formatted piece: data is copied once
    return b"".join(parts)


async def _send(conn: AbstractConnection, packed: list[bytes]) -> None:
    """Write a batch; a write that cannot be handed to the kernel within socket_timeout fails.

    redis-py's send_packed_command wraps every write in asyncio.wait_for when socket_timeout is set: a task
    and a timer per write, ~14 µs of CPU, +28 % per turn at low concurrency. A write the kernel takes at
    once (nearly all of them) needs no timer; only a backed-up socket waits, under a deadline."""
    writer: asyncio.StreamWriter | None = getattr(conn, "_writer", None)
    timeout = conn.socket_timeout
    if writer is None or not timeout:  # not redis-py's usual connection, or no timeout: its own path
        await conn.send_packed_command(packed, check_health=False)
        return
    writer.writelines(packed)
    if writer.transport.get_write_buffer_size():  # the kernel's buffer is full: wait for it to drain
        try:
            async with asyncio.timeout(timeout):
                await writer.drain()
        except TimeoutError as exc:
            raise TimeoutError(f"could not write to Redis within socket_timeout={timeout} s") from exc


async def _idle_and_sound(conn: AbstractConnection) -> bool:
    """False if an idle connection has readable data or EOF: the server closed it (restart, idle timeout)."""
    try:
        return not await conn.can_read()
    except Exception:
        return False


def _extend(deadline: asyncio.Timeout, now: float, limit: float) -> None:
    """Keep the reader's deadline `limit` s after the latest reply. A reschedule is a timer-heap operation,
    so it is done only once a tenth of `limit` has passed: a gap between replies fails after 90-100 % of it."""
    current = deadline.when()
    if current is None or current - now < 0.9 * limit:
        deadline.reschedule(now + limit)


def _settle(future: asyncio.Future[Any], reply: Any) -> None:
    if future.done():  # the caller was cancelled; its reply is consumed all the same
        return
    if isinstance(reply, BaseException):
        future.set_exception(reply)
    else:
        future.set_result(reply)


def _lost(what: str, exc: BaseException) -> RedisUnavailable:
    error = RedisUnavailable(f"{what}: {exc}")
    error.__cause__ = exc
    return error


def _fail_all(commands: list[_Command], error: RedisConnectionError) -> None:
    for _, future in commands:
        if not future.done():
            future.set_exception(_copy(error))


def _copy(error: RedisConnectionError) -> RedisUnavailable:
    # One instance per caller: a shared exception object would collect every caller's traceback.
    copy = RedisUnavailable(*error.args)
    copy.__cause__ = error.__cause__
    return copy
