"""The store protocol: one contract, two implementations (memory, Redis).

Conversations are saved with a retention TTL. The small key/value calls serve idempotency keys,
adapters' reply handles and late answers, and ticket ids, so that several gateway processes can share
one Redis.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from core.conversation import Conversation


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
