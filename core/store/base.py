"""The store protocol: one contract, two implementations (memory, Redis).

Conversations are saved with a retention TTL. The small key/value calls serve idempotency keys,
adapters' reply handles and late answers, and ticket ids, so that several gateway processes can share
one Redis.

Any call may raise `StoreUnavailable` when the store cannot be reached or does not answer within its
timeout (`store.timeout_s`); callers answer "try again shortly" instead of failing with a 500, and log
the outage once with `core.store.health.OutageLog`. The store recovers by itself: the next call after the
server is back succeeds.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from core.conversation import Conversation


class StoreUnavailable(Exception):
    """The store cannot be reached, or did not answer within its timeout (a write may or may not have landed).

    Raised by every `Store` call that needs a server (the Redis store on connection errors and timeouts;
    the memory store never raises it). The message says what failed, never a password or a stored value.
    """


class Store(Protocol):
    async def load(self, key: str) -> Conversation | None:
        """The conversation saved under `key`, or None (never saved, or expired)."""
        ...

    async def save(self, conversation: Conversation) -> None:
        """Save under `conversation.key`, (re)setting the retention TTL."""
        ...

    async def delete(self, key: str) -> None: ...

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Exclusive per-conversation lock, so two turns of one customer never interleave."""
        ...

    async def claim_once(self, key: str, ttl_s: float) -> bool:
        """True the first time `key` is claimed within `ttl_s`, False afterwards (idempotency)."""
        ...

    async def put(self, key: str, value: bytes, ttl_s: float | None = None) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def pop(self, key: str) -> bytes | None:
        """Get and delete atomically."""
        ...

    async def next_sequence(self, name: str) -> int:
        """1, 2, 3, ... per name; used for ticket numbers."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
