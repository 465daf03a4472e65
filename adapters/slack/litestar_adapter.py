"""Bolt under Litestar: one POST route for events and interactivity, modelled on bolt's Starlette adapter.

The body is read as raw bytes and handed to bolt untouched (bolt verifies the signature over the exact
bytes, then parses JSON or `payload=` form bodies, answers url_verification and acks). Single-workspace
only, so there are no OAuth GET routes; other methods get Litestar's 405.

Malformed requests are refused with a 400 and a reason before bolt sees them (`bolt_guard.py`); a
well-formed request with a bad signature still gets a 401 (bolt's verdict, with a reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import structlog
from litestar import Request, Response, post
from litestar.handlers import HTTPRouteHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.slack.bolt_guard import malformed, quiet_bolt_refusals

_BOLT_INTERNAL_HEADERS = ("x-slack-bolt-",)  # bolt's own lazy-listener headers: never taken from outside
_json = msgspec.json.Encoder()
_log = structlog.get_logger("sangdam.slack.http")
_BOLT_SIGNATURE_REFUSAL = '{"error": "invalid request"}'  # RequestVerification._build_error_response()
_SIGNATURE_DETAIL = (
    "X-Slack-Signature does not match the body signed with the app's signing secret, or "
    "X-Slack-Request-Timestamp is missing or more than 5 minutes from now"
)


def _refuse(status: int, error: str, detail: str) -> Response[bytes]:
    return Response(_json.encode({"error": error, "detail": detail}), status_code=status, media_type="application/json")


def _headers(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.multi_items():
        if not name.lower().startswith(_BOLT_INTERNAL_HEADERS):
            headers.setdefault(name.lower(), []).append(value)
    return headers


def to_bolt_request(request: Request[Any, Any, Any], body: bytes) -> AsyncBoltRequest:
    headers: dict[str, str | Sequence[str]] = dict(_headers(request))
    query = request.scope.get("query_string", b"").decode("latin-1")
    return AsyncBoltRequest(body=body.decode("utf-8"), query=query, headers=headers)


def to_litestar_response(bolt_response: BoltResponse) -> Response[bytes]:
    body = bolt_response.body
    content = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    headers = bolt_response.first_headers_without_set_cookie()
    media_type = headers.pop("content-type", None) or "text/plain; charset=utf-8"
    return Response(content, status_code=bolt_response.status, headers=headers, media_type=media_type)


def slack_route(app: AsyncApp, path: str, max_body_bytes: int) -> HTTPRouteHandler:
    quiet_bolt_refusals()

    @post(path, status_code=200, include_in_schema=False, request_max_body_size=max_body_bytes)
    async def slack_events(request: Request[Any, Any, Any]) -> Response[bytes]:
        raw = await request.body()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(400, "bad_request", "the request body is not UTF-8")
        problem = malformed(_headers(request), body)
        if problem is not None:
            return _refuse(400, "bad_request", problem)
        try:
            bolt_request = to_bolt_request(request, raw)
        except Exception as exc:  # bolt reads fields of the body while building its context
            return _refuse(400, "bad_request", f"the body has an unexpected shape ({type(exc).__name__})")
        try:
            response = await app.async_dispatch(bolt_request)
        except Exception as exc:  # raised by bolt's own error path on a payload shape it did not expect
            _log.warning("slack_request_unreadable", error=type(exc).__name__, detail=str(exc)[:200])
            return _refuse(400, "bad_request", f"the body has an unexpected shape ({type(exc).__name__})")
        if response.status == 401 and response.body == _BOLT_SIGNATURE_REFUSAL:
            return _refuse(401, "invalid_signature", _SIGNATURE_DETAIL)
        return to_litestar_response(response)

    return slack_events
