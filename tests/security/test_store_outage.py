"""Store outages seen from the web channel, against the real gateway and a real Valkey server of the test's
own: a stopped server (refused), a frozen one (SIGSTOP: the kernel still accepts connections, nothing
answers) and a restart on the same port.

Each route must answer 503 `store_unavailable` (JSON, Retry-After) within ~1.5 s instead of a 500 or a
hang, the outage is logged once (not per request), a stream dying mid-way ends cleanly (no "Exception in
ASGI application"), and everything works again when the server is back, without restarting the gateway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import ControlledValkey, log_events
from tests.web.conftest import Running, Visitor, running_gateway

API = "/web/api"
BOUND_S = 1.5  # every request gets its answer within this while the store is down or frozen
TIMEOUT_S = 1.0  # store.timeout_s (the default)


@pytest.fixture
def server(controlled_valkey: ControlledValkey) -> ControlledValkey:
    return controlled_valkey


@asynccontextmanager
async def gateway_on(server: ControlledValkey) -> AsyncIterator[tuple[Running, httpx.AsyncClient]]:
    # Rate limits out of the way: the test sends many requests from one address.
    web = {"sessions_per_ip": 1000, "rate_limit": 1000}
    async with running_gateway(web, store_url=server.url) as gw:
        async with httpx.AsyncClient(base_url=gw.base_url, timeout=10.0) as http:
            yield gw, http


@contextmanager
def asgi_errors() -> Iterator[list[logging.LogRecord]]:
    """Error records of uvicorn and Litestar ("Exception in ASGI application", ...)."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.ERROR)
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "uvicorn", "litestar")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


async def timed(request: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def every_route(http: httpx.AsyncClient, visitor: Visitor) -> list[tuple[str, httpx.Response, float]]:
    """One request to each route that needs the store: sessions (new and renewed), messages, history, stream."""
    out: list[tuple[str, httpx.Response, float]] = []
    calls: list[tuple[str, Any]] = [
        ("sessions", http.post(f"{API}/sessions", json={})),
        ("renew", http.post(f"{API}/sessions", json={}, headers=visitor.auth)),
        (
            "messages",
            http.post(
                f"{API}/messages", json={"id": visitor.next_id(), "text": "배송 언제 와요?"}, headers=visitor.auth
            ),
        ),
        ("history", http.get(f"{API}/history", headers=visitor.auth)),
        ("stream", http.get(f"{API}/stream", headers=visitor.auth)),  # a 503 has a body: .get() returns
    ]
    for name, call in calls:
        response, took = await timed(call)
        out.append((name, response, took))
    return out


def assert_store_unavailable(results: list[tuple[str, httpx.Response, float]]) -> None:
    for name, response, took in results:
        assert response.status_code == 503, (name, response.status_code, response.text)
        body = response.json()
        assert body["error"] == "store_unavailable", (name, body)
        assert "try again shortly" in body["detail"]
        assert int(response.headers["Retry-After"]) >= 1 and body["retry_after_s"] >= 1
        assert response.headers["content-type"].startswith("application/json")
        assert took < BOUND_S, (name, took)


async def until_ok(http: httpx.AsyncClient, within_s: float = 10.0) -> float:
    """Seconds until POST /sessions succeeds again."""
    started = time.monotonic()
    while True:
        response = await http.post(f"{API}/sessions", json={})
        if response.status_code == 201:
            return time.monotonic() - started
        assert response.status_code == 503, response.text
        assert time.monotonic() - started < within_s, "the gateway did not recover"
        await asyncio.sleep(0.05)


def events(logs: list[dict[str, Any]], name: str, component: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name and e.get("component") == component]


# --- a stopped server, then a restart on the same port --------------------------------------------


async def test_stopped_redis_gives_503_on_every_route_logged_once_and_recovers_on_restart(
    server: ControlledValkey,
) -> None:
    async with gateway_on(server) as (_gw, http):
        visitor = await Visitor(http).start()
        assert (await visitor.say("안녕하세요")).status_code == 200

        await asyncio.to_thread(server.stop)
        with log_events() as logs, asgi_errors() as errors:
            rounds = [await every_route(http, visitor) for _ in range(3)]
            ready, ready_s = await timed(http.get("/readyz"))
            for results in rounds:
                assert_store_unavailable(results)
            assert ready.status_code == 503 and ready_s < BOUND_S

            await asyncio.to_thread(server.start)  # a new, empty server on the same port
            recovery_s = await until_ok(http)
            assert (await visitor.say("다시 연결됐나요?")).status_code == 200
            assert len(await visitor.history()) >= 2
            assert (await http.get("/readyz")).status_code == 200
        assert errors == []
        # Once per outage, not once per request (15 refused requests above).
        assert len(events(logs, "store_unavailable", "web")) == 1
        assert len(events(logs, "store_unavailable", "redis_store")) == 1
        assert len(events(logs, "store_recovered", "web")) == 1
        assert len(events(logs, "store_recovered", "redis_store")) == 1
        assert [e["level"] for e in events(logs, "store_unavailable", "web")] == ["warning"]
        assert recovery_s < 1.0
        worst = max(took for results in rounds for _, _, took in results)
        print(f"\nstopped Redis: worst 503 latency {worst * 1000:.0f} ms; recovery after restart {recovery_s:.2f} s")


# --- a frozen server (SIGSTOP), then SIGCONT -------------------------------------------------------


async def test_frozen_redis_gives_503_within_the_timeout_and_recovers_on_sigcont(server: ControlledValkey) -> None:
    async with gateway_on(server) as (_gw, http):
        visitor = await Visitor(http).start()
        assert (await visitor.say("안녕하세요")).status_code == 200

        server.freeze()
        try:
            with log_events() as logs, asgi_errors() as errors:
                results = await every_route(http, visitor)
                # Requests arriving together while frozen: each is answered within the bound.
                together = await asyncio.gather(
                    *(timed(http.get(f"{API}/history", headers=visitor.auth)) for _ in range(10))
                )
                ready, ready_s = await timed(http.get("/readyz"))
        finally:
            server.thaw()
        assert_store_unavailable(results)
        assert_store_unavailable([("history", r, took) for r, took in together])
        assert ready.status_code == 503 and ready_s < BOUND_S
        worst = max([took for _, _, took in results] + [took for _, took in together])
        assert worst >= TIMEOUT_S * 0.8  # it did wait for the server, as long as store.timeout_s

        with log_events() as logs_after:
            recovery_s = await until_ok(http)
            assert (await visitor.say("다시 연결됐나요?")).status_code == 200
            history = await visitor.history()
        assert [e["text"] for e in history if e["role"] == "customer"][-1] == "다시 연결됐나요?"
        assert errors == []
        assert len(events(logs, "store_unavailable", "web")) == 1
        assert len(events(logs_after, "store_recovered", "web")) == 1
        assert recovery_s < 1.0
        print(f"\nfrozen Redis: worst 503 latency {worst * 1000:.0f} ms; recovery after SIGCONT {recovery_s:.2f} s")


# --- a stream when the store goes away mid-way ----------------------------------------------------


async def test_a_stream_ends_cleanly_when_the_store_dies_mid_stream(server: ControlledValkey) -> None:
    async with gateway_on(server) as (_gw, http):
        visitor = await Visitor(http).start()
        assert (await visitor.say("안녕하세요")).status_code == 200
        lines: list[str] = []
        with log_events() as logs, asgi_errors() as errors:
            async with http.stream("GET", f"{API}/stream", headers=visitor.auth) as response:
                assert response.status_code == 200

                async def read() -> None:
                    async for line in response.aiter_lines():
                        lines.append(line)
                        if line.startswith("data:") and len([x for x in lines if x.startswith("data:")]) == 2:
                            await asyncio.to_thread(server.stop)  # the backlog (2 events) is in: kill the store

                # The stream polls the store every poll_s (1 s): it must notice and end within a few s.
                await asyncio.wait_for(read(), timeout=8.0)
            await asyncio.sleep(0.2)  # let the server side finish the generator
        assert ": store unavailable, reconnect shortly" in lines
        assert errors == [], [r.getMessage() for r in errors]
        assert len(events(logs, "store_unavailable", "web")) == 1


async def test_a_stream_started_while_the_store_is_down_answers_503_before_streaming(server: ControlledValkey) -> None:
    async with gateway_on(server) as (gw, http):
        visitor = await Visitor(http).start()
        await asyncio.to_thread(server.stop)
        with asgi_errors() as errors:
            async with http.stream("GET", f"{API}/stream", headers=visitor.auth) as response:
                body = await response.aread()
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/json")
        assert b"store_unavailable" in body
        assert errors == []
        # No stream was left subscribed by the refused request.
        assert not gw.gateway.channels[0].service.hub.has_streams(visitor.session_id)  # type: ignore[attr-defined]
