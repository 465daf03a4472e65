"""Composition root: settings in, a running Litestar app out.

Everything is built here and passed down explicitly: store, HTTP client, engine, handoff sinks and the
enabled channel adapters (each `adapters/<name>/channel.py:build_channel`, or the module named by the
channel's `module` setting).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from litestar import Litestar, get
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from core.assembly import build_engine
from core.channels import Channel, ChannelContext, ChannelDirectory
from core.engine import Engine
from core.handoff import HandoffSink, LogSink, StoreSink, WebhookSink
from core.metrics import Metrics
from core.pack.loader import load_pack
from core.settings import Settings
from core.store.base import Store
from core.store.factory import make_store
from sangdam.media import media_route
from sangdam.request_id import request_id_middleware


@dataclass
class Gateway:
    """The assembled parts, kept together so the CLI and tests can reach them."""

    settings: Settings
    store: Store
    http: httpx.AsyncClient
    engine: Engine
    metrics: Metrics
    channels: list[Channel] = field(default_factory=list)
    directory: ChannelDirectory = field(default_factory=ChannelDirectory)


def build_sinks(settings: Settings, store: Store, http: httpx.AsyncClient) -> list[HandoffSink]:
    sinks: list[HandoffSink] = []
    for name in settings.handoff.sinks:
        if name == "log":
            sinks.append(LogSink())
        elif name == "store":
            sinks.append(StoreSink(store))
        elif name == "webhook":
            if not settings.handoff.webhook_url:
                raise ValueError("handoff sink 'webhook' needs handoff.webhook_url")
            sinks.append(WebhookSink(http, settings.handoff.webhook_url))
        else:
            raise ValueError(f"unknown handoff sink {name!r} (known: log, store, webhook)")
    return sinks


def build_gateway(settings: Settings, env: Mapping[str, str]) -> Gateway:
    pack = load_pack(settings.bot)
    store = make_store(
        settings.store_url,
        settings.retention_s,
        timeout_s=settings.store.timeout_s,
        max_conversations=settings.store.max_conversations,
        max_keys=settings.store.max_keys,
    )
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
    metrics = Metrics()
    engine = build_engine(
        pack,
        store,
        http=http,
        env=env,
        sinks=build_sinks(settings, store, http),
        brain_config=settings.brain,
        metrics=metrics,
        public_url=settings.public_base_url(),  # the pack's media/ images as absolute URLs (GET /media/...)
    )
    gateway = Gateway(settings=settings, store=store, http=http, engine=engine, metrics=metrics)
    context = ChannelContext(
        engine=engine,
        store=store,
        http=http,
        settings=settings,
        metrics=metrics,
        env=env,
        directory=gateway.directory,
        handoff_sinks=engine.sinks,
    )
    for name in settings.enabled_channels():
        config: dict[str, Any] = settings.channels[name]
        module = importlib.import_module(str(config.get("module", f"adapters.{name}.channel")))
        channel = module.build_channel(context, config)
        gateway.channels.append(channel)
        gateway.directory.register(channel)
    return gateway


def build_app(gateway: Gateway) -> Litestar:
    log = structlog.get_logger("sangdam.app")

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz")
    async def readyz() -> dict[str, Any]:
        # The store's own timeout bounds the ping; this one also covers a store built without it.
        try:
            async with asyncio.timeout(gateway.settings.store.timeout_s + 0.5):
                reachable = await gateway.store.ping()
        except TimeoutError:
            reachable = False
        if not reachable:
            raise HTTPException(status_code=HTTP_503_SERVICE_UNAVAILABLE, detail="store is not reachable")
        return {"status": "ready", "bot": gateway.engine.pack.bot.id, "channels": [c.name for c in gateway.channels]}

    @get("/metrics", sync_to_thread=False)
    def metrics() -> dict[str, int]:
        return gateway.metrics.snapshot()

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        for channel in gateway.channels:
            await channel.start()
        log.info("gateway_started", bot=gateway.engine.pack.bot.id, channels=[c.name for c in gateway.channels])
        try:
            yield
        finally:
            for channel in reversed(gateway.channels):
                await channel.stop()
            for sink in gateway.engine.sinks:
                if isinstance(sink, WebhookSink):
                    await sink.close()  # before the HTTP client it posts with is closed
            await gateway.http.aclose()
            await gateway.store.close()

    handlers: list[Any] = [healthz, readyz, metrics, media_route(gateway.engine.pack.root)]
    for channel in gateway.channels:
        handlers.extend(channel.route_handlers)
    # logging_config=None: keep the JSON logging configured by core.logging instead of Litestar's own.
    return Litestar(
        route_handlers=handlers, lifespan=[lifespan], middleware=[request_id_middleware], logging_config=None
    )
