"""Slack tests: the real gateway on loopback, a stand-in Slack Web API server, signed requests.

`SlackApiStandIn` plays https://slack.com/api/: it answers auth.test, records chat.postMessage and
chat.update calls (handing out increasing `ts` values) and can answer 429 with Retry-After. The
gateway's slack_sdk client is pointed at it through `channels.slack.api_base_url`. Requests to the
gateway are signed with slack_sdk's SignatureVerifier, as Slack signs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import msgspec
import pytest
from litestar import Litestar, Request, Response, post
from slack_sdk.signature import SignatureVerifier

from core.settings import DEMO_BOT, Settings
from sangdam.app import Gateway, build_app, build_gateway
from tests.asgi_server import serve
from tests.slow_tool import SlowApi, make_slow_pack, slow_api  # noqa: F401 (fixture)

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # copies of shared/fixtures/slack (README there)
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T111"
AGENTS = "CAGENTS"
PILOT = "CPILOT"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


# --- the stand-in Slack Web API ------------------------------------------------------------------


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    at: float  # time.monotonic()
    token: str
    ts: str = ""  # the ts the stand-in gave a posted message

    @property
    def text(self) -> str:
        """Everything a person would read in the message: fallback text plus the blocks' texts."""
        return self.args.get("text", "") + "\n" + json.dumps(self.args.get("blocks", []), ensure_ascii=False)

    def buttons(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for block in self.args.get("blocks", []):
            if block.get("type") == "actions":
                found.extend({**e, "block_id": block.get("block_id", "")} for e in block["elements"])
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                found.append({**accessory, "block_id": block.get("block_id", "")})
        return found

    def button(self, label: str) -> dict[str, Any]:
        for element in self.buttons():
            if element["text"]["text"] == label:
                return element
        raise AssertionError(f"no button {label!r} in {[b['text']['text'] for b in self.buttons()]}")


@dataclass
class SlackApiStandIn:
    base_url: str = ""
    calls: list[ApiCall] = field(default_factory=list)
    rate_limit_next: dict[str, int] = field(default_factory=dict)  # channel -> 429 answers still to give
    retry_after_s: int = 1
    socket_url: str = ""  # the WebSocket URL apps.connections.open hands out (Socket Mode tests)
    _ts: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def posts(self, channel: str | None = None, thread_ts: str | None = None) -> list[ApiCall]:
        return [
            c
            for c in self.calls
            if c.method == "chat.postMessage"
            and (channel is None or c.args.get("channel") == channel)
            and (thread_ts is None or c.args.get("thread_ts") == thread_ts)
        ]

    def updates(self, channel: str | None = None) -> list[ApiCall]:
        return [
            c for c in self.calls if c.method == "chat.update" and (channel is None or c.args["channel"] == channel)
        ]

    async def wait_for(self, condition: Callable[[], bool], within_s: float = 10.0) -> None:
        """Return as soon as `condition()` holds; fail the test after `within_s`."""
        deadline = time.monotonic() + within_s
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {within_s} s; calls: {[c.method for c in self.calls]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.2))

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1700000000.{self._ts:06d}"

    def app(self) -> Litestar:
        @post("/api/{method:str}", status_code=200)
        async def api(request: Request[Any, Any, Any]) -> Response[bytes]:
            method = request.path_params["method"]
            raw = await request.body()
            if request.headers.get("content-type", "").startswith("application/json"):
                args = json.loads(raw or b"{}")
            else:
                args = dict(parse_qsl(raw.decode()))
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            return self._answer(method, args, token)

        return Litestar(route_handlers=[api])

    def _answer(self, method: str, args: dict[str, Any], token: str) -> Response[bytes]:
        if method == "apps.connections.open":  # Socket Mode: authorised by the app-level token
            if token != APP_TOKEN or not self.socket_url:
                return _json({"ok": False, "error": "invalid_auth"})
            return _json({"ok": True, "url": self.socket_url})
        if token != BOT_TOKEN:
            return _json({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return _json(
                {
                    "ok": True,
                    "url": "https://t.slack.com/",
                    "team": "T",
                    "user": "sangdam",
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                }
            )
        channel = str(args.get("channel", ""))
        if self.rate_limit_next.get(channel, 0) > 0:
            self.rate_limit_next[channel] -= 1
            self.calls.append(ApiCall(f"{method}:429", args, time.monotonic(), token))
            self._changed.set()
            return _json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(self.retry_after_s)})
        call = ApiCall(method, args, time.monotonic(), token)
        self.calls.append(call)
        self._changed.set()
        if method == "chat.postMessage":
            ts = call.ts = self._next_ts()
            message = {"type": "message", "text": args.get("text", ""), "ts": ts, "bot_id": BOT_ID}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            return _json({"ok": True, "channel": channel, "ts": ts, "message": message})
        if method == "chat.update":
            return _json({"ok": True, "channel": channel, "ts": args.get("ts"), "text": args.get("text", "")})
        return _json({"ok": False, "error": "unknown_method"})


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json", headers=headers)


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackApiStandIn]:
    standin = SlackApiStandIn()
    async with serve(standin.app()) as url:
        standin.base_url = url
        yield standin


# --- a slow company API behind a scenario's tool -------------------------------------------------


# --- signed requests to the gateway --------------------------------------------------------------


def signed_headers(body: bytes, *, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body.decode())
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def event_body(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "token": "verification_token",
        "team_id": TEAM,
        "api_app_id": "A111",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}],
    }


def block_actions_body(message: ApiCall, button: dict[str, Any], *, user: str = "UAGENT") -> dict[str, Any]:
    """The block_actions payload Slack sends when `button` of the posted `message` is pressed."""
    ts = message.ts
    channel = message.args["channel"]
    posted: dict[str, Any] = {
        "type": "message",
        "ts": ts,
        "text": message.args.get("text", ""),
        "blocks": message.args.get("blocks", []),
        "bot_id": BOT_ID,
    }
    if message.args.get("thread_ts"):
        posted["thread_ts"] = message.args["thread_ts"]
    action = {
        "action_id": button["action_id"],
        "block_id": button["block_id"],
        "text": button["text"],
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if "value" in button:
        action["value"] = button["value"]
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
            **({"thread_ts": posted["thread_ts"]} if "thread_ts" in posted else {}),
        },
        "trigger_id": f"{time.time_ns()}.trigger",
        "team": {"id": TEAM, "domain": "test"},
        "channel": {"id": channel, "name": "channel"},
        "message": posted,
        "response_url": "https://hooks.slack.com/actions/T111/1/x",
        "actions": [action],
    }


# --- the gateway ---------------------------------------------------------------------------------


@dataclass
class SlackGateway:
    gateway: Gateway
    base_url: str
    client: httpx.AsyncClient
    path: str = "/slack/events"

    async def send_event(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        raw = json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **signed_headers(raw), **(headers or {})}
        return await self.client.post(self.base_url + self.path, content=raw, headers=sent)

    async def send_action(self, payload: dict[str, Any]) -> httpx.Response:
        raw = urlencode({"payload": json.dumps(payload)}).encode()
        sent = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(raw)}
        return await self.client.post(self.base_url + self.path, content=raw, headers=sent)


@asynccontextmanager
async def slack_gateway(
    monkeypatch: pytest.MonkeyPatch,
    slack_api: SlackApiStandIn,
    *,
    slack: dict[str, Any] | None = None,
    extra_channels: dict[str, dict[str, Any]] | None = None,
    store_url: str | None = None,
    bot: str = DEMO_BOT,
) -> AsyncIterator[SlackGateway]:
    """The real composition root (sangdam.app) with the Slack channel, served on loopback."""
    section = {
        "enabled": True,
        "api_base_url": slack_api.api_url,
        "pilot_channels": [PILOT],
        "agents_channel": AGENTS,
        "post_rate_per_s": 50.0,
        "post_burst": 10,
        **(slack or {}),
    }
    raw: dict[str, Any] = {
        "bot": bot,
        "store_url": store_url,
        "channels": {"slack": section, **(extra_channels or {})},
    }
    settings = msgspec.convert(raw, Settings)
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_APP_TOKEN": APP_TOKEN}
    gateway = build_gateway(settings, env)
    async with serve(build_app(gateway)) as url, httpx.AsyncClient(timeout=30) as client:
        yield SlackGateway(gateway=gateway, base_url=url, client=client, path=section.get("path", "/slack/events"))
