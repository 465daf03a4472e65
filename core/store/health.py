"""Logging a store outage once: a warning when it starts, an info line when the store answers again.

Callers that catch `StoreUnavailable` (the web channel, the Kakao skill, the Redis store itself) report
each failure with `failed()` and each success with `succeeded()`; only the transitions are logged (plus a
reminder every `remind_every_s` while the outage lasts), so an outage under load writes a few lines, not
one per request. Both calls are cheap enough for every request (no I/O unless a line is written).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

_default_log = structlog.get_logger(__name__)


class OutageLog:
    """Tracks one component's view of the store: up, or down since when and how many calls failed."""

    def __init__(
        self,
        component: str,
        *,
        logger: Any = None,
        clock: Callable[[], float] = time.monotonic,
        remind_every_s: float = 60.0,
    ) -> None:
        self.component = component
        self._log = logger if logger is not None else _default_log
        self._clock = clock
        self._remind_every_s = remind_every_s
        self.down_since: float | None = None  # clock() value at the first failure of the current outage
        self.failures = 0  # failed calls in the current outage
        self.outages = 0  # outages seen so far (for metrics and tests)
        self._last_line = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: BaseException | str, **fields: Any) -> bool:
        """Count a failed call; True (and a warning) if it starts an outage."""
        now = self._clock()
        self.failures += 1
        if self.down_since is None:
            self.down_since = self._last_line = now
            self.outages += 1
            self._log.warning("store_unavailable", component=self.component, error=_describe(error), **fields)
            return True
        if now - self._last_line >= self._remind_every_s:
            self._last_line = now
            self._log.warning(
                "store_still_unavailable",
                component=self.component,
                error=_describe(error),
                outage_s=round(now - self.down_since, 1),
                failures=self.failures,
                **fields,
            )
        return False

    def succeeded(self) -> bool:
        """Note a call the store answered; True (and an info line) if it ends an outage."""
        if self.down_since is None:
            return False
        self._log.info(
            "store_recovered",
            component=self.component,
            outage_s=round(self._clock() - self.down_since, 2),
            failures=self.failures,
        )
        self.down_since = None
        self.failures = 0
        return True


def _describe(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error[:300]
    return f"{type(error).__name__}: {error}"[:300]
