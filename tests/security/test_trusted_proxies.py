"""X-Forwarded-For is believed only from `server.trusted_proxies`, with the gateway served the way
`sangdam serve` serves it (sangdam.cli.uvicorn_config) on loopback.

uvicorn's own default trusts 127.0.0.1, so anything on the host (or a proxy that passes the header on
unchanged) could pick its client address and get around the web channel's `sessions_per_ip`.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn

from core.settings import ServerSettings, Settings, load_settings
from sangdam.app import build_app, build_gateway
from sangdam.cli import trusted_proxies, uvicorn_config
from tests.web.conftest import SECRET, SECRET_ENV


@asynccontextmanager
async def served(trusted: list[str], sessions_per_ip: int = 2) -> AsyncIterator[str]:
    """The gateway (web channel) served with the CLI's uvicorn config; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        channels={"web": {"enabled": True, "secret_env": SECRET_ENV, "sessions_per_ip": sessions_per_ip}},
        server=ServerSettings(host="127.0.0.1", port=port, trusted_proxies=trusted),
    )
    assert trusted_proxies(settings) == trusted
    config = uvicorn_config(build_app(build_gateway(settings, {SECRET_ENV: SECRET})), settings)
    config.log_level = "warning"
    config.timeout_graceful_shutdown = 2
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert not task.done(), "uvicorn stopped before it started"
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


async def _new_session(http: httpx.AsyncClient, forwarded_for: str) -> int:
    response = await http.post("/web/api/sessions", json={}, headers={"X-Forwarded-For": forwarded_for})
    return response.status_code


def test_the_default_trusts_no_proxy() -> None:
    settings = Settings()
    config = uvicorn_config(object(), settings)
    assert trusted_proxies(settings) == []
    assert config.proxy_headers is False
    assert config.forwarded_allow_ips == []  # not uvicorn's 127.0.0.1, nor $FORWARDED_ALLOW_IPS
    assert config.limit_concurrency is not None


async def test_by_default_a_rotated_forwarded_for_does_not_bypass_sessions_per_ip() -> None:
    async with served(trusted=[]) as url, httpx.AsyncClient(base_url=url) as http:
        assert await _new_session(http, "1.2.3.4") == 201
        assert await _new_session(http, "1.2.3.5") == 201
        # Counted against 127.0.0.1 (the real peer), whatever the header says.
        assert await _new_session(http, "1.2.3.6") == 429
        assert await _new_session(http, "203.0.113.9, 1.2.3.7") == 429


async def test_a_trusted_proxy_passes_the_client_address_on() -> None:
    async with served(trusted=["127.0.0.1"]) as url, httpx.AsyncClient(base_url=url) as http:
        assert await _new_session(http, "1.2.3.4") == 201
        assert await _new_session(http, "1.2.3.4") == 201
        assert await _new_session(http, "1.2.3.4") == 429  # 1.2.3.4 has used its budget
        assert await _new_session(http, "1.2.3.5") == 201  # another client behind the proxy has not


async def test_trusted_proxies_take_cidr_ranges() -> None:
    async with served(trusted=["127.0.0.0/8"]) as url, httpx.AsyncClient(base_url=url) as http:
        for address in ("1.2.3.4", "1.2.3.5", "1.2.3.6"):
            assert await _new_session(http, address) == 201


def test_trusted_proxies_come_from_the_settings_file_or_env(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("server:\n  trusted_proxies: [10.0.0.5, 10.1.0.0/24]\n", encoding="utf-8")
    assert trusted_proxies(load_settings(config)) == ["10.0.0.5", "10.1.0.0/24"]
    from_env = load_settings(env={"SANGDAM__server__trusted_proxies": "[192.168.1.0/24]"})
    assert trusted_proxies(from_env) == ["192.168.1.0/24"]
