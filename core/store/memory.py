"""In-process store: the embedded default for a single gateway process.

Conversations are kept as the same msgpack bytes the Redis store writes, so a caller can never mutate a
stored conversation through a shared object and both stores behave alike. Expired entries are invisible
on read (lazy) and swept on writes at most once per `sweep_interval_s`, so no background task is needed.

Memory is bounded whatever the retention: at most `max_conversations` conversations and `max_keys`
key/value entries and as many idempotency claims, each kept in least-recently-used order (a read or a
write makes an entry the newest); a write beyond the bound evicts the oldest entry of its kind. Evictions
are counted (`stats()`) and logged as a summary (a warning at the first one, then at most one line per
`eviction_log_s`), never one line per eviction. Sizing (measured by bench/memory_store.py): ~1.3 KB of
RSS per customer (a conversation with a short transcript ~730 B, a claim and a key ~270 B each), and with
the defaults (100,000 / 200,000) the store's RSS stops growing at ~235 MB over the process's start.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog

from core.conversation import Conversation
from core.store.codec import decode_conversation, encode_conversation

_log = structlog.get_logger(__name__)

DEFAULT_MAX_CONVERSATIONS = 100_000
DEFAULT_MAX_KEYS = 200_000  # key/value entries, and as many claims: a turn writes about one of each

_V = TypeVar("_V")


@dataclass(slots=True)
class _Entry:
    value: bytes
    expires_at: float | None  # clock() value; None = kept until deleted


@dataclass(slots=True)
class _LockSlot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holders + waiters; the slot is dropped at 0 so idle keys cost nothing


def _check_ttl(ttl_s: float) -> None:
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")


def _check_bound(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


class _Table(Generic[_V]):
    """One kind of entry (conversations, key/values, claims) in least-recently-used order, with its bound.

    Values are _Entry for conversations and key/values, and the bare expiry time for claims (whose value
    is only "taken"), which saves an object per claim.
    """

    __slots__ = ("entries", "evicted", "limit", "name")

    def __init__(self, name: str, limit: int) -> None:
        _check_bound(f"max {name}", limit)
        self.name = name
        self.limit = limit
        self.entries: OrderedDict[str, _V] = OrderedDict()
        self.evicted = 0


class MemoryStore:
    def __init__(
        self,
        retention_s: float = 86400 * 30,
        clock: Callable[[], float] = time.monotonic,
        *,
        lock_timeout_s: float = 30.0,  # above the LLM brain's turn timeout (25 s)
        sweep_interval_s: float = 60.0,
        max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
        max_keys: int = DEFAULT_MAX_KEYS,
        eviction_log_s: float = 60.0,
    ) -> None:
        _check_ttl(retention_s)
        self._retention_s = retention_s
        self._clock = clock
        self._lock_timeout_s = lock_timeout_s
        self._sweep_interval_s = sweep_interval_s
        self._convs: _Table[_Entry] = _Table("conversations", max_conversations)
        self._kv: _Table[_Entry] = _Table("keys", max_keys)
        self._claims: _Table[float] = _Table("claims", max_keys)  # expiry times
        self._tables: tuple[_Table[Any], ...] = (self._convs, self._kv, self._claims)
        self._sequences: dict[str, int] = {}
        self._locks: dict[str, _LockSlot] = {}
        self._last_sweep = clock()
        self._eviction_log_s = eviction_log_s
        self._evictions_logged = 0  # evictions covered by log lines so far
        self._last_eviction_log: float | None = None

    # --- conversations ---------------------------------------------------------------------------

    async def load(self, key: str) -> Conversation | None:
        data = self._read(self._convs, key)
        return None if data is None else decode_conversation(data)

    async def save(self, conversation: Conversation) -> None:
        self._write(self._convs, conversation.key, encode_conversation(conversation), self._retention_s)

    async def delete(self, key: str) -> None:
        self._convs.entries.pop(key, None)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Per-key asyncio.Lock; TimeoutError after `lock_timeout_s` so a stuck turn cannot wedge others."""
        slot = self._locks.get(key)
        if slot is None:
            slot = self._locks[key] = _LockSlot()
        slot.users += 1
        try:
            try:
                if slot.lock.locked():  # only a contended lock needs a timer (it costs one per turn)
                    async with asyncio.timeout(self._lock_timeout_s):
                        await slot.lock.acquire()
                else:
                    await slot.lock.acquire()
            except TimeoutError:
                raise TimeoutError(f"conversation lock {key!r} not acquired within {self._lock_timeout_s} s") from None
            try:
                yield
            finally:
                slot.lock.release()
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._locks[key]

    # --- small key/value calls -------------------------------------------------------------------

    async def claim_once(self, key: str, ttl_s: float) -> bool:
        _check_ttl(ttl_s)
        now = self._clock()
        claims = self._claims.entries
        expires_at = claims.get(key)
        if expires_at is not None and expires_at > now:
            claims.move_to_end(key)
            return False
        claims[key] = now + ttl_s
        claims.move_to_end(key)
        self._after_write(self._claims, now)
        return True

    async def put(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        if ttl_s is not None:
            _check_ttl(ttl_s)
        self._write(self._kv, key, bytes(value), ttl_s)

    async def get(self, key: str) -> bytes | None:
        return self._read(self._kv, key)

    async def pop(self, key: str) -> bytes | None:
        data = self._read(self._kv, key)
        self._kv.entries.pop(key, None)
        return data

    async def next_sequence(self, name: str) -> int:
        value = self._sequences.get(name, 0) + 1
        self._sequences[name] = value
        return value

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        for table in self._tables:
            table.entries.clear()

    def stats(self) -> dict[str, int]:
        """Entries held and evicted so far, per kind, with the bounds (for metrics, tests and the bench)."""
        out: dict[str, int] = {}
        for table in self._tables:
            out[table.name] = len(table.entries)
            out[f"max_{table.name}"] = table.limit
            out[f"evicted_{table.name}"] = table.evicted
        return out

    # --- internals -------------------------------------------------------------------------------

    def _read(self, table: _Table[_Entry], key: str) -> bytes | None:
        entries = table.entries
        entry = entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self._clock():
            del entries[key]
            return None
        entries.move_to_end(key)  # least recently used goes first when the table is full
        return entry.value

    def _write(self, table: _Table[_Entry], key: str, value: bytes, ttl_s: float | None) -> None:
        now = self._clock()
        table.entries[key] = _Entry(value, None if ttl_s is None else now + ttl_s)
        table.entries.move_to_end(key)  # a new key is already last; an overwritten one moves there
        self._after_write(table, now)

    def _after_write(self, table: _Table[Any], now: float) -> None:
        if now - self._last_sweep >= self._sweep_interval_s:
            self._sweep(now)
        entries = table.entries
        if len(entries) > table.limit:
            while len(entries) > table.limit:
                entries.popitem(last=False)
                table.evicted += 1
            self._log_evictions(now)

    def _sweep(self, now: float) -> None:
        for table in self._tables:
            entries = table.entries
            expired = []
            for k, entry in entries.items():
                at = entry.expires_at if isinstance(entry, _Entry) else entry
                if at is not None and at <= now:
                    expired.append(k)
            for k in expired:
                del entries[k]
        self._last_sweep = now

    def _log_evictions(self, now: float) -> None:
        """A warning at the first eviction, then a summary at most every `eviction_log_s`."""
        if self._last_eviction_log is not None and now - self._last_eviction_log < self._eviction_log_s:
            return
        total = sum(table.evicted for table in self._tables)
        fields = {f"evicted_{table.name}": table.evicted for table in self._tables}
        fields |= {f"max_{table.name}": table.limit for table in self._tables}
        if self._last_eviction_log is None:
            _log.warning(
                "memory_store_full",
                detail="the memory store reached its bound and evicts the least recently used entries; raise "
                "store.max_conversations / store.max_keys (more RAM) or use a Redis store_url",
                **fields,
            )
        else:
            _log.info(
                "memory_store_evicted",
                evicted_since_last=total - self._evictions_logged,
                interval_s=round(now - self._last_eviction_log, 1),
                **fields,
            )
        self._evictions_logged = total
        self._last_eviction_log = now
