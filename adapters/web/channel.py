"""The web channel: the widget's API and stream, the widget bundle and the demo page.

`build_channel(ctx, config)` is what the composition root calls for `channels.web`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from adapters.web.api import build_routes
from adapters.web.config import WebConfig, parse_config
from adapters.web.origin import OriginPolicy
from adapters.web.service import WebService
from adapters.web.token import TokenSigner
from core.channels import ChannelContext
from core.messages import ReplyPart

_log = structlog.get_logger(__name__)


class WebChannel:
    name = "web"

    def __init__(self, config: WebConfig, service: WebService, *, secret_from_env: bool) -> None:
        self.config = config
        self.service = service
        self._secret_from_env = secret_from_env
        self._routes = build_routes(service, OriginPolicy(config.allowed_origins))

    @property
    def route_handlers(self) -> list[Any]:
        return self._routes

    async def start(self) -> None:
        if not self._secret_from_env:
            _log.warning(
                "web_dev_secret",
                detail=f"{self.config.secret_env} is not set: visitor tokens are signed with a random secret made "
                "at start, so they stop working on restart and are not shared between gateway processes. Set it "
                "(32+ random characters) in production.",
            )
        _log.info("web_channel_ready", api=self.config.api_path, demo_page=self.config.demo_page)

    async def stop(self) -> None:
        await self.service.close()

    async def deliver(self, conversation_key: str, parts: list[ReplyPart]) -> bool:
        """Append `parts` as an agent message to the session's history and push it to its open streams.

        True when the visitor has an open stream (in any gateway process); False when they are offline
        (the message is kept and shown when they return) or the session is unknown.
        """
        return await self.service.deliver(conversation_key, parts)


def build_channel(ctx: ChannelContext, config: Mapping[str, Any]) -> WebChannel:
    """The web channel from its settings section; the token secret is read from `ctx.env`."""
    web = parse_config(config)
    secret, from_env = web.secret(ctx.env)
    signer = TokenSigner(secret, web.token_ttl_s)
    service = WebService(engine=ctx.engine, store=ctx.store, config=web, signer=signer, metrics=ctx.metrics)
    return WebChannel(web, service, secret_from_env=from_env)
