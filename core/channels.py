"""What a channel adapter offers the gateway, and what the gateway hands it.

An adapter package `adapters/<name>/` exposes `build_channel(ctx, config) -> Channel` in its
`channel.py`; the composition root imports it by name for every enabled channel in the settings, so a new
channel is one folder plus config. `config` is the channel's section of the settings (`channels.<name>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from core.messages import ReplyPart
from core.metrics import Metrics
from core.settings import Settings
from core.store.base import Store

if TYPE_CHECKING:
    from core.engine import Engine


@dataclass(frozen=True, slots=True)
class ChannelContext:
    engine: Engine
    store: Store
    http: httpx.AsyncClient  # shared outbound client (platform APIs)
    settings: Settings
    metrics: Metrics


class Channel(Protocol):
    name: str

    @property
    def route_handlers(self) -> list[Any]:
        """Litestar route handlers / routers to mount."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, conversation_key: str, parts: list[ReplyPart]) -> bool:
        """Push messages to a customer outside a request (agent replies, late answers).

        Returns False when the channel cannot push to this conversation now (e.g. Kakao without a
        callback URL, WhatsApp outside its 24 h window).
        """
        ...
