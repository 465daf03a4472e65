"""Fixed-window counters in the store, atomic across gateway processes without an INCR call.

Each request claims the next free slot `key:<window>:<n>` with `Store.claim_once`; a stored hint of the
count keeps that to about one call per request. All `limit` slots taken = limited.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from core.store.base import Store


class RateLimiter:
    def __init__(self, store: Store, *, limit: int, window_s: float, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._limit = limit
        self._window_s = window_s
        self._clock = clock

    async def hit(self, key: str) -> float | None:
        """Count one request; None if allowed, else seconds until the window resets."""
        now = self._clock()
        window = int(now // self._window_s)
        base = f"rl:{key}:{window}"
        hint = await self._store.get(base + ":n")
        slot = int(hint) if hint else 0
        while slot < self._limit:
            if await self._store.claim_once(f"{base}:{slot}", self._window_s):
                await self._store.put(base + ":n", str(slot + 1).encode(), self._window_s)
                return None
            slot += 1
        return max(1.0, math.ceil((window + 1) * self._window_s - now))
