"""Kakao skill tests: the real gateway served by uvicorn on loopback, plus real stand-in servers (aiohttp).

Stand-ins: `CallbackStandIn` plays Kakao's callback endpoint (records every POST, answers a
CallbackResponse), `SlowApi` plays a slow company API behind an `http:` tool, `WebhookSink` receives
handoff packets. Nothing of the project's own code is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from aiohttp import web

from core.settings import DEMO_BOT, Settings
from sangdam.app import Gateway, build_app, build_gateway
from tests.asgi_server import serve
from tests.slow_tool import SlowApi, make_slow_pack, serve_standin, slow_api  # noqa: F401 (fixture)

# --- stand-ins -----------------------------------------------------------------------------------


@dataclass
class ReceivedPost:
    at: float  # time.monotonic() when the request arrived
    path: str
    body: bytes
    content_type: str
    task_id: str  # the taskId the stand-in answered with


@dataclass
class CallbackStandIn:
    """Kakao's callback endpoint: records POSTs and answers a CallbackResponse with `status`."""

    status: str = "SUCCESS"
    message: str = "OK"
    posts: list[ReceivedPost] = field(default_factory=list)
    base_url: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, bot_id: str = "bot-1", token: str | None = None) -> str:
        return f"{self.base_url}/v1/bots/{bot_id}/callback/{token or uuid.uuid4().hex}"

    def app(self) -> web.Application:
        async def callback(request: web.Request) -> web.Response:
            task_id = str(uuid.uuid4())
            body = await request.read()
            self.posts.append(
                ReceivedPost(time.monotonic(), request.path, body, request.headers.get("Content-Type", ""), task_id)
            )
            self._arrived.set()
            answer = {
                "taskId": task_id,
                "status": self.status,
                "message": self.message,
                "timestamp": int(time.time() * 1000),
            }
            return web.json_response(answer)

        app = web.Application()
        app.router.add_post("/v1/bots/{bot_id}/callback/{token}", callback)
        return app

    async def wait_for_posts(self, count: int, within_s: float) -> None:
        """Return once `count` POSTs arrived, or after `within_s` (the caller asserts the count)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                while len(self.posts) < count:
                    self._arrived.clear()
                    await self._arrived.wait()


@dataclass
class WebhookSink:
    """Receives handoff packets POSTed by the gateway's webhook sink."""

    packets: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        async def handoff(request: web.Request) -> web.Response:
            self.packets.append(msgspec.json.decode(await request.read()))
            return web.json_response({"ok": "yes"})

        app = web.Application()
        app.router.add_post("/handoff", handoff)
        return app


@pytest.fixture
async def callback_standin() -> AsyncIterator[CallbackStandIn]:
    standin = CallbackStandIn()
    async with serve_standin(standin.app()) as url:
        standin.base_url = url
        yield standin


# --- the gateway ---------------------------------------------------------------------------------


@dataclass
class RunningGateway:
    gateway: Gateway
    base_url: str
    client: httpx.AsyncClient
    path: str = "/kakao/skill"
    headers: dict[str, str] = field(default_factory=dict)

    async def skill(self, body: bytes | dict[str, Any], headers: Mapping[str, str] | None = None) -> httpx.Response:
        content = body if isinstance(body, bytes) else msgspec.json.encode(body)
        sent = {"Content-Type": "application/json", **self.headers, **(headers or {})}
        return await self.client.post(self.base_url + self.path, content=content, headers=sent)


@asynccontextmanager
async def running_gateway(
    *,
    kakao: dict[str, Any] | None = None,
    bot: str = DEMO_BOT,
    store_url: str | None = None,
    handoff: dict[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> AsyncIterator[RunningGateway]:
    """The real composition root (sangdam.app) with the Kakao channel, served on loopback.

    `settings` adds other top-level gateway settings (e.g. `{"store": {...}}`).
    """
    raw: dict[str, Any] = {
        "bot": bot,
        "store_url": store_url,
        "channels": {"kakao": {"enabled": True, **(kakao or {})}},
    }
    if handoff is not None:
        raw["handoff"] = handoff
    raw.update(settings or {})
    gateway = build_gateway(msgspec.convert(raw, Settings), dict(env or {}))
    async with serve(build_app(gateway)) as url, httpx.AsyncClient(timeout=30) as client:
        path = (kakao or {}).get("path", "/kakao/skill")
        yield RunningGateway(gateway=gateway, base_url=url, client=client, path=path)


def skill_payload(
    utterance: str,
    *,
    user: str,
    callback_url: str | None = None,
    client_extra: dict[str, Any] | None = None,
    knowledge: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A SkillPayload shaped like Kakao's (fields from the official examples)."""
    request: dict[str, Any] = {
        "timezone": "Asia/Seoul",
        "params": {"surface": "Kakaotalk.plusfriend"},
        "block": {"id": "fallback-block", "name": "폴백 블록"},
        "utterance": utterance,
        "lang": "ko",
        "user": {
            "id": user,
            "type": "botUserKey",
            "properties": {"plusfriendUserKey": f"pf-{user}", "appUserId": f"app-{user}", "isFriend": True},
        },
    }
    if callback_url is not None:
        request["callbackUrl"] = callback_url
    payload: dict[str, Any] = {
        "intent": {"id": "fallback-block", "name": "폴백 블록"},
        "userRequest": request,
        "bot": {"id": "bot-1", "name": "누리전자 상담"},
        "action": {
            "name": "sangdam",
            "clientExtra": client_extra,
            "params": {},
            "id": "skill-1",
            "detailParams": {},
        },
    }
    if knowledge is not None:
        payload["intent"] = {
            "id": "kb",
            "name": "지식+",
            "extra": {"knowledge": {"responseType": "skill", "matchedKnowledges": knowledge}},
        }
    return payload
