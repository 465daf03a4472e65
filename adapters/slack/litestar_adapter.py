"""Bolt under Litestar: one POST route for events and interactivity, modelled on bolt's Starlette adapter.

The body is read as raw bytes and handed to bolt untouched (bolt verifies the signature over the exact
bytes, then parses JSON or `payload=` form bodies, answers url_verification and acks). Single-workspace
only, so there are no OAuth GET routes; other methods get Litestar's 405.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Request, Response, post
from litestar.handlers import HTTPRouteHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse


def to_bolt_request(request: Request[Any, Any, Any], body: bytes) -> AsyncBoltRequest:
    headers: dict[str, str | Sequence[str]] = {}
    for name, value in request.headers.multi_items():
        existing = headers.get(name)
        if existing is None:
            headers[name] = value
        else:
            headers[name] = [*([existing] if isinstance(existing, str) else existing), value]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return AsyncBoltRequest(body=body.decode("utf-8"), query=query, headers=headers)


def to_litestar_response(bolt_response: BoltResponse) -> Response[bytes]:
    body = bolt_response.body
    content = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    headers = bolt_response.first_headers_without_set_cookie()
    media_type = headers.pop("content-type", None) or "text/plain; charset=utf-8"
    return Response(content, status_code=bolt_response.status, headers=headers, media_type=media_type)


def slack_route(app: AsyncApp, path: str, max_body_bytes: int) -> HTTPRouteHandler:
    @post(path, status_code=200, include_in_schema=False, request_max_body_size=max_body_bytes)
    async def slack_events(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await request.body()
        try:
            bolt_request = to_bolt_request(request, body)
        except UnicodeDecodeError:
            return Response(b"request body is not UTF-8", status_code=400, media_type="text/plain")
        return to_litestar_response(await app.async_dispatch(bolt_request))

    return slack_events
