"""What a channel adapter offers the gateway, and what the gateway hands it.

An adapter package `adapters/<name>/` exposes `build_channel(ctx, config) -> Channel` in its
`channel.py`; the composition root imports it by name for every enabled channel in the settings, so a new
channel is one folder plus config. `config` is the channel's section of the settings (`channels.<name>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from core.handoff import HandoffSink
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
    env: Mapping[str, str]  # where channels read their secrets (tokens, signing secrets)
    directory: ChannelDirectory  # every enabled channel, for delivering to another channel's customer
    # The engine's handoff sinks: a channel that receives handoffs (the Slack agents' console) adds
    # itself here when it is built.
    handoff_sinks: list[HandoffSink]


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


class ChannelDirectory:
    """The enabled channels by name; routes a delivery to the channel a conversation came from."""

    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

    def register(self, channel: Channel) -> None:
        self._channels[channel.name] = channel

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    async def deliver(self, key: str, parts: list[ReplyPart]) -> bool:
        """Send to the customer of conversation `key` ("channel:conversation_key") through its channel."""
        name, _, conversation_key = key.partition(":")
        channel = self._channels.get(name)
        return await channel.deliver(conversation_key, parts) if channel is not None else False
