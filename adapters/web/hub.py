"""In-process fan-out to a session's open streams.

Events written by this process wake its streams at once; events written by another gateway process are
found by the streams' store polling (`EventLog.head`). Text deltas and typing signals are ephemeral and
only reach streams in the process running the turn; the final message reaches every stream via the log.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, NamedTuple


class Signal(NamedTuple):
    kind: str  # "wake" (new events in the log), "delta", "typing", "close"
    data: dict[str, Any] | None = None


class StreamHub:
    def __init__(self, queue_size: int = 256) -> None:
        self._queues: dict[str, set[asyncio.Queue[Signal]]] = defaultdict(set)
        self._queue_size = queue_size

    def subscribe(self, session_id: str) -> asyncio.Queue[Signal]:
        queue: asyncio.Queue[Signal] = asyncio.Queue(self._queue_size)
        self._queues[session_id].add(queue)
        return queue

    def unsubscribe(self, session_id: str, queue: asyncio.Queue[Signal]) -> None:
        queues = self._queues.get(session_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[session_id]

    def publish(self, session_id: str, signal: Signal) -> int:
        """Hand `signal` to every open stream of the session; returns how many got it."""
        queues = self._queues.get(session_id, set())
        for queue in queues:
            try:
                queue.put_nowait(signal)
            except asyncio.QueueFull:  # a stalled client: drop ephemeral signals, it re-reads the log on wake
                pass
        return len(queues)

    def close_all(self) -> None:
        for queues in list(self._queues.values()):
            for queue in queues:
                try:
                    queue.put_nowait(Signal("close"))
                except asyncio.QueueFull:
                    pass

    def has_streams(self, session_id: str) -> bool:
        return bool(self._queues.get(session_id))
