"""In-process store: the embedded default for a single gateway process.

Conversations are kept as the same msgpack bytes the Redis store writes, so a caller can never mutate a
stored conversation through a shared object and both stores behave alike. Expired entries are invisible
on read (lazy) and swept on writes at most once per `sweep_interval_s`, so no background task is needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from core.conversation import Conversation
from core.store.codec import decode_conversation, encode_conversation


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


class MemoryStore:
    def __init__(
        self,
        retention_s: float = 86400 * 30,
        clock: Callable[[], float] = time.monotonic,
        *,
        lock_timeout_s: float = 30.0,  # above the LLM brain's turn timeout (25 s)
        sweep_interval_s: float = 60.0,
    ) -> None:
        _check_ttl(retention_s)
        self._retention_s = retention_s
        self._clock = clock
        self._lock_timeout_s = lock_timeout_s
        self._sweep_interval_s = sweep_interval_s
        self._entries: dict[str, _Entry] = {}  # namespaced: "conv:", "kv:", "claim:"
        self._sequences: dict[str, int] = {}
        self._locks: dict[str, _LockSlot] = {}
        self._last_sweep = clock()

    # --- conversations ---------------------------------------------------------------------------

    async def load(self, key: str) -> Conversation | None:
        data = self._read("conv:" + key)
        return None if data is None else decode_conversation(data)

    async def save(self, conversation: Conversation) -> None:
        self._write("conv:" + conversation.key, encode_conversation(conversation), self._retention_s)

    async def delete(self, key: str) -> None:
        self._entries.pop("conv:" + key, None)

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
        if self._read("claim:" + key) is not None:
            return False
        self._write("claim:" + key, b"1", ttl_s)
        return True

    async def put(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        if ttl_s is not None:
            _check_ttl(ttl_s)
        self._write("kv:" + key, bytes(value), ttl_s)

    async def get(self, key: str) -> bytes | None:
        return self._read("kv:" + key)

    async def pop(self, key: str) -> bytes | None:
        data = self._read("kv:" + key)
        self._entries.pop("kv:" + key, None)
        return data

    async def next_sequence(self, name: str) -> int:
        value = self._sequences.get(name, 0) + 1
        self._sequences[name] = value
        return value

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._entries.clear()

    # --- internals -------------------------------------------------------------------------------

    def _read(self, nskey: str) -> bytes | None:
        entry = self._entries.get(nskey)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self._clock():
            del self._entries[nskey]
            return None
        return entry.value

    def _write(self, nskey: str, value: bytes, ttl_s: float | None) -> None:
        now = self._clock()
        self._entries[nskey] = _Entry(value, None if ttl_s is None else now + ttl_s)
        if now - self._last_sweep >= self._sweep_interval_s:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        expired = [k for k, e in self._entries.items() if e.expires_at is not None and e.expires_at <= now]
        for k in expired:
            del self._entries[k]
        self._last_sweep = now
