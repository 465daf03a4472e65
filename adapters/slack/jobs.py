"""Background work started after Slack has been acknowledged: turns, posts, handoff timers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

_log = structlog.get_logger("sangdam.slack.jobs")


class Jobs:
    """Keeps references to running tasks (so none is garbage-collected mid-flight) and drains them on stop."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._lanes: dict[str, asyncio.Task[None]] = {}  # lane -> its last queued job

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._track(asyncio.create_task(self._guarded(work, name), name=name))

    def spawn_in_lane(self, lane: str, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` after every job queued earlier in the same lane (a FIFO queue per lane)."""
        previous = self._lanes.get(lane)
        task = asyncio.create_task(self._after(previous, work, name), name=name)
        self._lanes[lane] = task
        task.add_done_callback(lambda done: self._lanes.pop(lane) if self._lanes.get(lane) is done else None)
        self._track(task)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after(self, previous: asyncio.Task[None] | None, work: Coroutine[Any, Any, None], name: str) -> None:
        if previous is not None:
            try:
                await asyncio.wait([previous])  # its outcome does not matter, only that it is over
            except asyncio.CancelledError:
                work.close()  # never started: close it so it is not reported as never awaited
                raise
        await self._guarded(work, name)

    async def _guarded(self, work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed job is logged; it must not take the loop down
            _log.exception("slack_job_failed", job=name, error=type(exc).__name__)

    async def drain(self, timeout_s: float, *, cancel: set[str] | None = None) -> None:
        """Wait up to `timeout_s` for running jobs; cancel the rest (and at once those named in `cancel`)."""
        for task in list(self._tasks):
            if cancel and task.get_name().split(":")[0] in cancel:
                task.cancel()
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _done, still = await asyncio.wait(pending, timeout=timeout_s)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)

    def __len__(self) -> int:
        return len(self._tasks)
