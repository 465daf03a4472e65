"""The Slack channel: staff pilot threads and the agents' console, over HTTP or Socket Mode.

`build_channel(ctx, config)` is what the composition root calls for `channels.slack`. The channel is
also a HandoffSink (the agents' console) and appends itself to `ctx.handoff_sinks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.config import SlackConfig, SlackSecrets, parse_config, read_secrets
from adapters.slack.console import TIMER_JOB, AgentsConsole
from adapters.slack.jobs import Jobs
from adapters.slack.listeners import SlackListeners, build_bolt_app
from adapters.slack.litestar_adapter import slack_route
from adapters.slack.pilot import Pilot
from adapters.slack.poster import SlackPoster
from adapters.slack.records import SlackRecords
from core.channels import ChannelContext
from core.messages import Handoff, ReplyPart

_log = structlog.get_logger("sangdam.slack")


class SlackChannel:
    name = "slack"

    def __init__(
        self,
        *,
        config: SlackConfig,
        secrets: SlackSecrets,
        app: AsyncApp,
        pilot: Pilot,
        console: AgentsConsole,
        jobs: Jobs,
    ) -> None:
        self.config = config
        self.app = app
        self.pilot = pilot
        self.console = console
        self._secrets = secrets
        self._jobs = jobs
        self._socket: AsyncSocketModeHandler | None = None

    @property
    def route_handlers(self) -> list[Any]:
        if self.config.mode == "socket":
            return []
        return [slack_route(self.app, self.config.path, self.config.max_body_bytes)]

    async def start(self) -> None:
        if self.config.mode == "socket":
            self._socket = AsyncSocketModeHandler(self.app, app_token=self._secrets.app_token)
            await self._socket.connect_async()  # start_async() would block the lifespan forever
        if self.config.agents_channel is None:
            _log.warning("slack_no_agents_channel", detail="channels.slack.agents_channel is not set")
        _log.info(
            "slack_ready",
            mode=self.config.mode,
            path=self.config.path if self.config.mode == "http" else None,
            pilot_channels=len(self.config.pilot_channels),
            agents_channel=self.config.agents_channel,
        )

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        # Handoff timers are cancelled (their records stay in the store); running turns may finish.
        await self._jobs.drain(self.config.drain_s, cancel={TIMER_JOB})

    async def deliver(self, conversation_key: str, parts: list[ReplyPart]) -> bool:
        return await self.pilot.deliver(conversation_key, parts)

    # HandoffSink: the agents' console
    async def publish(self, handoff: Handoff) -> None:
        await self.console.publish(handoff)

    async def relay(self, conversation_key: str, text: str) -> None:
        await self.console.relay(conversation_key, text)


def build_channel(ctx: ChannelContext, config: Mapping[str, Any]) -> SlackChannel:
    """The Slack channel from its settings section; tokens are read from `ctx.env`."""
    env = ctx.env
    slack = parse_config(config)
    secrets = read_secrets(slack, env)
    client_args: dict[str, Any] = {"token": secrets.bot_token, "retry_handlers": []}  # no blind re-posts
    if slack.api_base_url is not None:
        client_args["base_url"] = slack.api_base_url
    client = AsyncWebClient(**client_args)
    records = SlackRecords(ctx.store, dedupe_ttl_s=slack.dedupe_ttl_s, retention_s=ctx.settings.retention_s)
    poster = SlackPoster(
        client,
        rate_per_s=slack.post_rate_per_s,
        burst=slack.post_burst,
        max_retries=slack.max_rate_limit_retries,
        metrics=ctx.metrics,
    )
    jobs = Jobs()
    engine = ctx.engine
    console = AgentsConsole(
        config=slack,
        engine=engine,
        records=records,
        poster=poster,
        directory=ctx.directory,
        tools=engine.tools,
        jobs=jobs,
        metrics=ctx.metrics,
    )
    pilot = Pilot(config=slack, engine=engine, records=records, poster=poster)
    listeners = SlackListeners(config=slack, pilot=pilot, console=console, records=records, jobs=jobs)
    app = build_bolt_app(
        client=client, signing_secret=secrets.signing_secret, socket_mode=slack.mode == "socket", listeners=listeners
    )
    channel = SlackChannel(config=slack, secrets=secrets, app=app, pilot=pilot, console=console, jobs=jobs)
    ctx.handoff_sinks.append(channel)
    return channel
