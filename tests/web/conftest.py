"""Web channel tests: the real gateway (build_gateway/build_app) served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from core.settings import Settings
from sangdam.app import Gateway, build_app, build_gateway
from tests.asgi_server import serve

SECRET_ENV = "SANGDAM_WEB_SECRET_FOR_TESTS"
SECRET = "test-secret-0123456789-abcdefghijklmnop"


@dataclass
class Running:
    base_url: str
    gateway: Gateway


@asynccontextmanager
async def running_gateway(
    web: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    store_url: str | None = None,
    brain: Mapping[str, Any] | None = None,
) -> AsyncIterator[Running]:
    settings = Settings(
        channels={"web": {"enabled": True, "secret_env": SECRET_ENV, **(web or {})}},
        store_url=store_url,
        brain=dict(brain or {}),
    )
    gateway = build_gateway(settings, {SECRET_ENV: SECRET, **(env or {})})
    async with serve(build_app(gateway)) as base_url:
        yield Running(base_url, gateway)


class Visitor:
    """A web customer speaking the HTTP API (what the widget does)."""

    def __init__(self, http: httpx.AsyncClient, api: str = "/web/api") -> None:
        self.http = http
        self.api = api
        self.token = ""
        self.session_id = ""
        self._n = 0

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def start(self) -> Visitor:
        r = await self.http.post(f"{self.api}/sessions", json={})
        assert r.status_code == 201, r.text
        self.token, self.session_id = r.json()["token"], r.json()["session_id"]
        return self

    def next_id(self) -> str:
        self._n += 1
        return f"msg-{self.session_id[:8]}-{self._n:04d}"

    async def say(self, text: str, payload: str | None = None, msg_id: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"id": msg_id or self.next_id(), "text": text}
        if payload is not None:
            body["payload"] = payload
        return await self.http.post(f"{self.api}/messages", json=body, headers=self.auth)

    async def history(self, after: int = 0) -> list[dict[str, Any]]:
        r = await self.http.get(f"{self.api}/history", params={"after": after}, headers=self.auth)
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()["events"]
        return events


def bot_texts(event: dict[str, Any]) -> list[str]:
    return [p["text"] for p in event.get("parts", []) if p["type"] in ("text", "handoff")]


def quick_replies(event: dict[str, Any]) -> list[dict[str, Any]]:
    for part in event.get("parts", []):
        if part["type"] == "quick_replies":
            options: list[dict[str, Any]] = part["options"]
            return options
    return []


class SseReader:
    """Reads a /stream response into (event, id, data) tuples as they arrive."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str | None, Any]] = []
        self.comments: list[str] = []
        self._changed = asyncio.Event()

    async def consume(self, response: httpx.Response) -> None:
        name: str = "message"
        ident: str | None = None
        data: list[str] = []
        async for line in response.aiter_lines():
            if line == "":
                if data:
                    self.items.append((name, ident, json.loads("\n".join(data))))
                    self._changed.set()
                name, ident, data = "message", None, []
            elif line.startswith(":"):
                self.comments.append(line[1:].strip())
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("id:"):
                ident = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())

    def messages(self) -> list[dict[str, Any]]:
        return [data for name, _, data in self.items if name == "message"]

    async def wait_for(self, predicate: Any, within_s: float = 5.0) -> None:
        deadline = time.monotonic() + within_s
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"stream condition not met; got {self.items}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


@asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient, visitor: Visitor, headers: Mapping[str, str] | None = None, params: Any = None
) -> AsyncIterator[SseReader]:
    reader = SseReader()
    async with http.stream(
        "GET", f"{visitor.api}/stream", headers={**visitor.auth, **(headers or {})}, params=params
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        task = asyncio.create_task(reader.consume(response))
        try:
            yield reader
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task
