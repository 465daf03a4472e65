"""A slow company API (aiohttp stand-in) and a demo pack whose scenario calls it: the slow-turn fixture
shared by the Kakao and Slack suites."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from core.settings import DEMO_BOT


@asynccontextmanager
async def serve_standin(app: web.Application) -> AsyncIterator[str]:
    """Serve a stand-in (aiohttp: it starts and stops in milliseconds) on a loopback port; yields its URL."""
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@dataclass
class SlowApi:
    """A company API that takes `delay_s` to answer: the slow tool behind a scenario."""

    delay_s: float = 1.0
    calls: int = 0
    base_url: str = ""

    def app(self) -> web.Application:
        async def status(request: web.Request) -> web.Response:
            self.calls += 1
            await asyncio.sleep(self.delay_s)
            return web.json_response({"service": request.match_info["service"], "state": "정상 운영 중"})

        app = web.Application()
        app.router.add_get("/status/{service}", status)
        return app


@pytest.fixture
async def slow_api() -> AsyncIterator[SlowApi]:
    api = SlowApi()
    async with serve_standin(api.app()) as url:
        api.base_url = url
        yield api


SLOW_INTENT_EXAMPLES = [
    "서비스 상태 점검해 주세요",
    "서버 점검 상태 알려줘",
    "서비스 상태 조회",
    "지금 서비스 상태 어때요",
    "클라우드 서비스 상태 확인해 주세요",
    "상태 점검 조회해 줘",
]


def make_slow_pack(root: Path, api_url: str) -> Path:
    """The demo pack plus a `service_status` scenario whose tool calls the slow API over HTTP."""
    pack = root / "pack"
    shutil.copytree(DEMO_BOT, pack)
    intents = yaml.safe_load((pack / "intents.yaml").read_text(encoding="utf-8"))
    intents["intents"]["service_status"] = {"description": "서비스 상태", "examples": SLOW_INTENT_EXAMPLES}
    (pack / "intents.yaml").write_text(yaml.safe_dump(intents, allow_unicode=True), encoding="utf-8")
    tools = yaml.safe_load((pack / "tools.yaml").read_text(encoding="utf-8"))
    tools["tools"].append(
        {
            "name": "service_status",
            "description": "서비스 상태를 조회해요.",
            "http": {
                "url": f"{api_url}/status/{{service}}",
                "method": "GET",
                "timeout_s": 30.0,
                "retries": 0,
            },
            "input_schema": {
                "type": "object",
                "properties": {"service": {"type": "string"}},
                "required": ["service"],
            },
            "timeout_s": 30.0,
        }
    )
    (pack / "tools.yaml").write_text(yaml.safe_dump(tools, allow_unicode=True), encoding="utf-8")
    scenario = {
        "id": "service_status",
        "title": "서비스 상태 조회",
        "triggers": ["service_status"],
        "start": "check",
        "steps": {
            "check": {
                "tool": {
                    "name": "service_status",
                    "args": {"service": "cloud"},
                    "save_as": "svc",
                    "next": "report",
                }
            },
            "report": {"say": "조회 결과: 클라우드 서비스는 {svc.state}이에요.", "end": "info"},
        },
    }
    (pack / "scenarios" / "service_status.yaml").write_text(
        yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8"
    )
    return pack
