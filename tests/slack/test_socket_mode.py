"""Socket Mode: the gateway connects out to a stand-in Socket Mode server (aiohttp WebSocket on loopback),
acknowledges envelopes by id and answers through the Web API; a retried envelope gets no second reply."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from tests.slack.conftest import BOT_USER, FIXTURES, SlackApiStandIn, fixture, slack_gateway


@dataclass
class SocketModeStandIn:
    """Slack's Socket Mode endpoint: sends `hello`, then whatever the test queues; records acks."""

    url: str = ""
    acks: list[dict[str, Any]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str((FIXTURES / "11_socket_mode_hello.json").read_text().strip())
        self.connected.set()
        sender = asyncio.create_task(self._send_queued(ws))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            sender.cancel()
        return ws

    async def _send_queued(self, ws: web.WebSocketResponse) -> None:
        while True:
            await ws.send_str(await self.outbox.get())


@pytest.fixture
async def socket_server() -> AsyncIterator[SocketModeStandIn]:
    standin = SocketModeStandIn()
    app = web.Application()
    app.router.add_get("/link", standin.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    standin.url = f"ws://127.0.0.1:{port}/link"
    try:
        yield standin
    finally:
        await runner.cleanup()


async def test_socket_mode_acks_answers_and_dedupes_retries(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn, socket_server: SocketModeStandIn
) -> None:
    slack_api.socket_url = socket_server.url
    envelope = fixture("10_socket_mode_envelope_app_mention.json")
    envelope["payload"]["event"]["text"] = f"<@{BOT_USER}> 전원이 안 켜져요"
    root = envelope["payload"]["event"]["ts"]
    retry = {**envelope, "envelope_id": "retry-envelope-1", "retry_attempt": 1, "retry_reason": "timeout"}
    async with slack_gateway(monkeypatch, slack_api, slack={"mode": "socket"}) as gw:
        await asyncio.wait_for(socket_server.connected.wait(), timeout=10)
        # No HTTP endpoint in Socket Mode.
        assert (await gw.client.post(gw.base_url + "/slack/events", content=b"{}")).status_code in (404, 405)
        await socket_server.outbox.put(json.dumps(envelope))
        await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=root)) == 1)
        await socket_server.outbox.put(json.dumps(retry))
        await slack_api.wait_for(lambda: len(socket_server.acks) == 2)
        await asyncio.sleep(0.4)  # room for a wrong second reply
    assert [a["envelope_id"] for a in socket_server.acks] == [envelope["envelope_id"], "retry-envelope-1"]
    replies = slack_api.posts(thread_ts=root)
    assert len(replies) == 1 and "어떤 제품인가요" in replies[0].text
