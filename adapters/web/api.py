"""The web channel's HTTP routes: JSON API, SSE stream, the widget bundle and the demo page."""

from __future__ import annotations

import hashlib
import html
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get, route
from litestar.enums import MediaType
from litestar.exceptions import HTTPException
from litestar.response import ServerSentEvent

from adapters.web.origin import OriginPolicy
from adapters.web.service import WebService
from adapters.web.token import Session
from adapters.web.wire import WebError, parse_after, parse_message
from core.pack.schema import BotSettings
from core.particles import fill as fill_particles
from core.store.base import StoreUnavailable

STATIC = Path(__file__).resolve().parent / "static"
_json = msgspec.json.Encoder()
_Req = Request[Any, Any, Any]


def _error(exc: WebError, cors: dict[str, str]) -> Response[bytes]:
    body: dict[str, Any] = {"error": exc.error, "detail": exc.detail}
    if "Retry-After" in exc.headers:
        body["retry_after_s"] = int(exc.headers["Retry-After"])
    return Response(_json.encode(body), status_code=exc.status, media_type=MediaType.JSON, headers=exc.headers | cors)


def _http_error(_: _Req, exc: HTTPException) -> Response[bytes]:
    """Litestar's own refusals (body too large, ...) in the API's error format."""
    code = {413: "body_too_large", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
    detail = exc.detail
    if exc.status_code == 413:
        detail = "request body too large: send one message of at most channels.web.max_text_chars characters"
    return Response(
        _json.encode({"error": code, "detail": detail}), status_code=exc.status_code, media_type=MediaType.JSON
    )


_ERRORS: dict[int | type[Exception], Any] = {HTTPException: _http_error}

STORE_RETRY_AFTER_S = 2  # a stopped or frozen store is answered 503 within store.timeout_s; retry soon


def _store_unavailable() -> WebError:
    return WebError(
        503,
        "store_unavailable",
        "the chat service cannot reach its storage right now; nothing was lost on your side, try again shortly",
        headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
    )


def _bearer(request: _Req) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def build_routes(service: WebService, origins: OriginPolicy) -> list[Any]:
    config = service.config
    api = config.api_path

    def cors_or_refuse(request: _Req) -> dict[str, str]:
        headers = origins.check(request.headers.get("origin"), request.headers.get("host"))
        if headers is None:
            raise WebError(403, "origin_not_allowed", "this site is not in channels.web.allowed_origins")
        return headers

    async def guarded(request: _Req, action: Any, *, uses_store: bool = True) -> Response[Any]:
        """CORS check, preflight answer, then `action(cors_headers)`; WebError becomes a JSON 4xx, and a store
        outage a 503 `store_unavailable` with Retry-After (logged once per outage, not per request)."""
        cors: dict[str, str] = {}
        try:
            cors = cors_or_refuse(request)
            if request.method == "OPTIONS":
                return Response(b"", status_code=204, headers=cors | origins.preflight_headers())
            result: Response[Any] = await action(cors)
            if uses_store:
                service.outage.succeeded()
            return result
        except WebError as exc:
            return _error(exc, cors)
        except StoreUnavailable as exc:
            service.outage.failed(exc, path=request.url.path)
            return _error(_store_unavailable(), cors)

    def ok(body: Any, cors: dict[str, str], status: int = 200) -> Response[bytes]:
        return Response(
            _json.encode(body),
            status_code=status,
            media_type=MediaType.JSON,
            headers=cors | {"Cache-Control": "no-store"},
        )

    @route(f"{api}/config", http_method=["GET", "OPTIONS"], include_in_schema=False, exception_handlers=_ERRORS)
    async def web_config(request: _Req) -> Response[Any]:
        bot = service.engine.pack.bot
        persona = service.engine.persona  # {brand} and {name} filled in, particles fitted

        async def action(cors: dict[str, str]) -> Response[Any]:
            return ok(
                {
                    "bot_name": bot.name,
                    "brand": bot.brand,
                    "title": fill_particles(config.title or "{brand} 고객지원", _names(bot), missing=None),
                    "greeting": persona.greeting,
                    "suggestions": list(persona.fallback_suggestions),
                    "max_text_chars": config.max_text_chars,
                },
                cors,
            )

        return await guarded(request, action, uses_store=False)

    @route(
        f"{api}/sessions",
        http_method=["POST", "OPTIONS"],
        include_in_schema=False,
        exception_handlers=_ERRORS,
        request_max_body_size=4096,
    )
    async def web_sessions(request: _Req) -> Response[Any]:
        async def action(cors: dict[str, str]) -> Response[Any]:
            client_ip = request.client.host if request.client else "unknown"
            return ok(await service.open_session(client_ip, _bearer(request)), cors, status=201)

        return await guarded(request, action)

    @route(
        f"{api}/messages",
        http_method=["POST", "OPTIONS"],
        include_in_schema=False,
        exception_handlers=_ERRORS,
        request_max_body_size=config.max_body_bytes,
    )
    async def web_messages(request: _Req) -> Response[Any]:
        async def action(cors: dict[str, str]) -> Response[Any]:
            session = service.authenticate(_bearer(request))
            message = parse_message(
                await request.body(),
                max_text_chars=config.max_text_chars,
                max_payload_chars=config.max_payload_chars,
            )
            return ok(await service.send(session, message), cors)

        return await guarded(request, action)

    @route(f"{api}/history", http_method=["GET", "OPTIONS"], include_in_schema=False, exception_handlers=_ERRORS)
    async def web_history(request: _Req) -> Response[Any]:
        async def action(cors: dict[str, str]) -> Response[Any]:
            session = service.authenticate(_bearer(request))
            return ok(await service.history(session, parse_after(request.query_params.get("after"))), cors)

        return await guarded(request, action)

    @route(f"{api}/stream", http_method=["GET", "OPTIONS"], include_in_schema=False, exception_handlers=_ERRORS)
    async def web_stream(request: _Req) -> Response[Any]:
        async def action(cors: dict[str, str]) -> Response[Any]:
            session: Session = service.authenticate(_bearer(request) or request.query_params.get("token"))
            after = parse_after(request.headers.get("last-event-id") or request.query_params.get("after"))
            return ServerSentEvent(
                await service.stream(session, after),
                headers=cors | {"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )

        return await guarded(request, action)

    routes: list[Any] = [
        web_config,
        web_sessions,
        web_messages,
        web_history,
        web_stream,
        _static_route(config.widget_path),
    ]
    if config.demo_page:
        routes.append(_demo_route(service.engine.pack.bot))
    return routes


def _static_route(path: str) -> Any:
    bundle = (STATIC / "widget.js").read_bytes()
    etag = '"' + hashlib.sha256(bundle).hexdigest()[:16] + '"'

    @get(path, include_in_schema=False, sync_to_thread=False)
    def widget_js(request: _Req) -> Response[bytes]:
        headers = {"Cache-Control": "public, max-age=300", "ETag": etag, "Access-Control-Allow-Origin": "*"}
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers=headers)
        return Response(bundle, media_type="text/javascript; charset=utf-8", headers=headers)

    return widget_js


def _names(bot: BotSettings) -> dict[str, str]:
    return {"brand": bot.brand, "name": bot.name}


def _demo_route(bot: BotSettings) -> Any:
    # The page names the pack's brand and bot: {brand}/{name} filled once, HTML-escaped, particles fitted.
    template = (STATIC / "demo.html").read_text(encoding="utf-8")
    page = fill_particles(template, _names(bot), missing=None, escape=html.escape).encode()
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
        "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    )

    @get("/", include_in_schema=False, sync_to_thread=False)
    def demo_page() -> Response[bytes]:
        return Response(page, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": csp})

    return demo_page
