"""Redis (or Valkey) store, shared by several gateway and worker processes.

Key layout under the prefix (default "sangdam:"):
    conv:<key>   msgpack Conversation, PX retention
    lock:<key>   conversation lock token, PX lease
    claim:<key>  idempotency claim, PX ttl
    kv:<key>     put/get/pop values
    seq:<name>   INCR counters (never expire: ticket numbers must not repeat)
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import redis.asyncio as aioredis
import structlog

from core.conversation import Conversation
from core.store.codec import decode_conversation, encode_conversation

_log = structlog.get_logger(__name__)

# Delete the lock only if it still holds our token, so a turn whose lease expired never frees a lock
# that another turn has taken since.
_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def _ttl_ms(ttl_s: float) -> int:
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
    return max(1, round(ttl_s * 1000))


class RedisStore:
    def __init__(
        self,
        client: aioredis.Redis,
        retention_s: float = 86400 * 30,
        prefix: str = "sangdam:",
        *,
        lock_lease_s: float = 60.0,
        lock_timeout_s: float = 30.0,
        owns_client: bool = False,
    ) -> None:
        if client.get_connection_kwargs().get("decode_responses"):
            raise ValueError("RedisStore needs a client with decode_responses=False (values are bytes)")
        self._client = client
        self._retention_ms = _ttl_ms(retention_s)
        self._prefix = prefix
        self._lock_lease_ms = _ttl_ms(lock_lease_s)
        self._lock_timeout_s = lock_timeout_s
        self._owns_client = owns_client  # close() closes the client only if this store created it
        self._release = client.register_script(_RELEASE_LUA)

    @classmethod
    def from_url(
        cls,
        url: str,
        retention_s: float = 86400 * 30,
        prefix: str = "sangdam:",
        *,
        lock_lease_s: float = 60.0,
        lock_timeout_s: float = 30.0,
    ) -> RedisStore:
        client = aioredis.Redis.from_url(url)
        return cls(
            client,
            retention_s,
            prefix,
            lock_lease_s=lock_lease_s,
            lock_timeout_s=lock_timeout_s,
            owns_client=True,
        )

    # --- conversations ---------------------------------------------------------------------------

    async def load(self, key: str) -> Conversation | None:
        data = cast(bytes | None, await self._client.get(self._prefix + "conv:" + key))
        return None if data is None else decode_conversation(data)

    async def save(self, conversation: Conversation) -> None:
        await self._client.set(
            self._prefix + "conv:" + conversation.key,
            encode_conversation(conversation),
            px=self._retention_ms,
        )

    async def delete(self, key: str) -> None:
        await self._client.delete(self._prefix + "conv:" + key)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """SET NX PX with a random token, polled until `lock_timeout_s`; the lease outlives a crashed
        holder by at most `lock_lease_s`."""
        name = self._prefix + "lock:" + key
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_timeout_s
        delay = 0.005
        while not await self._client.set(name, token, nx=True, px=self._lock_lease_ms):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"conversation lock {key!r} not acquired within {self._lock_timeout_s} s")
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            released = await self._release(keys=[name], args=[token])
            if not released:
                _log.warning("store.lock_lease_expired", key=key, lease_ms=self._lock_lease_ms)

    # --- small key/value calls -------------------------------------------------------------------

    async def claim_once(self, key: str, ttl_s: float) -> bool:
        claimed = await self._client.set(self._prefix + "claim:" + key, b"1", nx=True, px=_ttl_ms(ttl_s))
        return bool(claimed)

    async def put(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        px = None if ttl_s is None else _ttl_ms(ttl_s)
        await self._client.set(self._prefix + "kv:" + key, value, px=px)

    async def get(self, key: str) -> bytes | None:
        return cast(bytes | None, await self._client.get(self._prefix + "kv:" + key))

    async def pop(self, key: str) -> bytes | None:
        return cast(bytes | None, await self._client.getdel(self._prefix + "kv:" + key))

    async def next_sequence(self, name: str) -> int:
        return int(await self._client.incr(self._prefix + "seq:" + name))

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (aioredis.RedisError, OSError):
            return False

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
