"""The webhook handoff sink against a real HTTP endpoint on loopback: background, ordered, retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar, Request, Response, post
from structlog.testing import capture_logs

from core.handoff import WebhookSink
from core.messages import Handoff, HandoffReason
from tests.asgi_server import serve


@dataclass
class Endpoint:
    """A company endpoint: records what it receives; can hold requests, fail, or refuse."""

    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)  # answers to give first, then 200
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hold: bool = False
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Litestar:
        @post("/hook", status_code=200)
        async def hook(request: Request[Any, Any, Any]) -> Response[bytes]:
            self.attempts += 1
            body = msgspec.json.decode(await request.body())
            if self.hold:
                await self.release.wait()
            status = self.statuses.pop(0) if self.statuses else 200
            if status == 200:
                self.received.append(body)
                self.arrived.set()
            headers = {"retry-after": "0"} if status == 429 else None
            return Response(b"{}", status_code=status, headers=headers, media_type="application/json")

        return Litestar(route_handlers=[hook])

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[Endpoint, str]]:
    ep = Endpoint()
    async with serve(ep.app()) as url:
        yield ep, url + "/hook"


def packet(key: str = "kakao:u-1") -> Handoff:
    return Handoff(
        conversation_key=key,
        channel="kakao",
        user_id="u-1",
        reason=HandoffReason.AGENT_REQUEST,
        summary="고객이 상담직원을 요청했어요.",
        transcript=[],
    )


async def test_publish_returns_before_the_endpoint_answers(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    ep.hold = True
    async with httpx.AsyncClient() as client:
        sink = WebhookSink(client, url)
        async with asyncio.timeout(5):  # an awaited POST would wait for `release`, which comes after
            await sink.publish(packet())
        ep.release.set()
        await ep.wait_for(1)
        await sink.close()
    assert ep.received[0]["conversation_key"] == "kakao:u-1"
    assert ep.received[0]["reason"] == "agent_request"


async def test_deliveries_of_one_conversation_keep_their_order(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    ep.hold = True
    async with httpx.AsyncClient() as client:
        sink = WebhookSink(client, url)
        await sink.publish(packet())
        for text in ("첫 번째", "두 번째", "세 번째"):
            await sink.relay("kakao:u-1", text)
        await asyncio.sleep(0.1)
        assert ep.attempts == 1  # the rest wait behind the held first delivery
        ep.release.set()
        await ep.wait_for(4)
        await sink.close()
    assert [body.get("text") for body in ep.received] == [None, "첫 번째", "두 번째", "세 번째"]


async def test_a_failing_endpoint_is_retried_until_it_takes_the_packet(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    ep.statuses = [503, 429, 500]
    async with httpx.AsyncClient() as client:
        sink = WebhookSink(client, url, attempts=4, backoff_s=0.01)
        await sink.publish(packet())
        await ep.wait_for(1)
        await sink.close()
    assert ep.attempts == 4 and len(ep.received) == 1


async def test_a_refused_or_unreachable_delivery_is_logged_not_retried_forever(
    endpoint: tuple[Endpoint, str], unused_tcp_port: int
) -> None:
    ep, url = endpoint
    ep.statuses = [400]
    async with httpx.AsyncClient() as client:
        refusing = WebhookSink(client, url, attempts=4, backoff_s=0.01)
        unreachable = WebhookSink(client, f"http://127.0.0.1:{unused_tcp_port}/hook", attempts=2, backoff_s=0.01)
        with capture_logs() as logs:
            await refusing.publish(packet("kakao:u-400"))
            await unreachable.publish(packet("kakao:u-down"))
            await refusing.close()
            await unreachable.close()
    assert ep.attempts == 1  # a 4xx other than 429 is not sent again
    failed = {entry["conversation_id"]: entry for entry in logs if entry["event"] == "handoff_webhook_failed"}
    assert failed["kakao:u-400"]["error"] == "HTTP 400"
    assert failed["kakao:u-down"]["error"].startswith("ConnectError")
    assert all("summary" not in entry and "transcript" not in entry for entry in logs)


async def test_close_waits_for_queued_deliveries(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    async with httpx.AsyncClient() as client:
        sink = WebhookSink(client, url)
        for i in range(5):
            await sink.publish(packet(f"kakao:u-{i}"))
        await sink.close()
    assert sorted(body["conversation_key"] for body in ep.received) == [f"kakao:u-{i}" for i in range(5)]
