"""The Kakao i Open Builder channel: one skill endpoint plus callback delivery.

`build_channel(ctx, config)` is what the composition root calls for `channels.kakao`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import structlog
from litestar import Request, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.enums import MediaType
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler

from adapters.kakao.callback import CallbackClient
from adapters.kakao.config import KakaoConfig, parse_config
from adapters.kakao.skill import SkillHandler
from core.channels import ChannelContext
from core.messages import ReplyPart

_log = structlog.get_logger(__name__)
_json = msgspec.json.Encoder()


class KakaoChannel:
    name = "kakao"

    def __init__(self, config: KakaoConfig, handler: SkillHandler, *, secret_set: bool) -> None:
        self.config = config
        self.handler = handler
        self._secret_set = secret_set
        self._route = _skill_route(handler, config)

    @property
    def route_handlers(self) -> list[Any]:
        return [self._route]

    async def start(self) -> None:
        if not self._secret_set:
            _log.warning(
                "kakao_skill_unauthenticated",
                detail=f"{self.config.secret_env} is not set: anyone who knows {self.config.path} can "
                f"call the skill. Set it, and send it as the {self.config.secret_header} header from the "
                "Kakao skill settings.",
            )
        _log.info("kakao_skill_ready", path=self.config.path, budget_s=self.config.budget_s)

    async def stop(self) -> None:
        await self.handler.stop()

    async def deliver(self, conversation_key: str, parts: list[ReplyPart]) -> bool:
        """Kakao cannot push outside a request: keep the parts for the customer's next message.

        Returns False (not delivered now); the parts are served, in order, when the customer writes again.
        """
        await self.handler.stash(conversation_key, parts)
        return False


def _http_error_handler(config: KakaoConfig) -> Any:
    def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
        """Litestar's own refusals (an over-size body, a wrong method) in the skill's error format."""
        if exc.status_code == 413:
            error, detail = "payload_too_large", f"body over {config.max_body_bytes} bytes"
        elif exc.status_code == 405:
            error, detail = "method_not_allowed", f"send the SkillPayload with POST to {config.path}"
        else:
            error, detail = "bad_request", str(exc.detail)
        return Response(
            _json.encode({"error": error, "detail": detail}),
            status_code=exc.status_code,
            media_type=MediaType.JSON,
            headers=exc.headers or None,
        )

    return http_error


def _skill_route(handler: SkillHandler, config: KakaoConfig) -> HTTPRouteHandler:
    @post(
        config.path,
        status_code=200,
        include_in_schema=False,
        request_max_body_size=config.max_body_bytes,
        exception_handlers={HTTPException: _http_error_handler(config)},
    )
    async def kakao_skill(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await request.body()
        header = handler.secret_header
        reply = await handler.handle(body, request.headers.get(header) if header is not None else None)
        return Response(
            reply.body,
            status_code=reply.status,
            media_type=MediaType.JSON,
            background=BackgroundTask(reply.after_send) if reply.after_send is not None else None,
        )

    return kakao_skill


def build_channel(ctx: ChannelContext, config: Mapping[str, Any]) -> KakaoChannel:
    """The Kakao channel from its settings section; the secret is read from `ctx.env`."""
    kakao = parse_config(config)
    secret = kakao.secret(ctx.env)
    callbacks = CallbackClient(
        ctx.http,
        ctx.store,
        ctx.metrics,
        allow_hosts=kakao.callback_allow_hosts,
        require_https=kakao.callback_require_https,
        timeout_s=kakao.callback_timeout_s,
    )
    handler = SkillHandler(
        engine=ctx.engine,
        store=ctx.store,
        callbacks=callbacks,
        config=kakao,
        secret=secret,
        metrics=ctx.metrics,
    )
    return KakaoChannel(kakao, handler, secret_set=secret is not None)
