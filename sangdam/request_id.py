"""ASGI middleware: one id per HTTP request, in every log line written while serving it."""

from __future__ import annotations

import re
import uuid

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_ACCEPTABLE = re.compile(rb"[A-Za-z0-9._-]{1,64}")  # a caller's id is reused only if it is tame


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER, b"")
        request_id = given if _ACCEPTABLE.fullmatch(given) else uuid.uuid4().hex[:16].encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id)]
            await send(message)

        # Tasks started while serving (e.g. a Kakao callback job) copy the context, so they keep the id.
        with structlog.contextvars.bound_contextvars(request_id=request_id.decode()):
            await app(scope, receive, send_with_id)

    return middleware
