"""In-process counters fed by the engine's turn events; exposed by the gateway at /metrics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from core.messages import Event


class Metrics:
    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()

    def record(self, events: Iterable[Event]) -> None:
        for event in events:
            self.counters[event.name] += 1
            label = event.data.get("intent") or event.data.get("reason") or event.data.get("tool")
            if label:
                self.counters[f"{event.name}:{label}"] += 1

    def incr(self, name: str, by: int = 1) -> None:
        self.counters[name] += by

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.counters.items()))
