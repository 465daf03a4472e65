"""{brand} and {name} are filled on every path (persona, route replies, scenario texts, FAQ answers,
the web widget's config and the demo page), with the particle after them fitted to the word."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from core.assembly import build_engine
from core.engine import Engine
from core.pack.loader import load_pack
from core.settings import DEMO_BOT, Settings
from core.store.memory import MemoryStore
from sangdam.app import build_app, build_gateway
from tests.asgi_server import serve
from tests.test_demo_scenarios import converse
from tests.web.conftest import SECRET, SECRET_ENV

BRAND, NAME = "Nuri <Tech>", "상담봇"


def _edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """The demo pack written with placeholders, as a pack author would."""
    pack = tmp_path / "pack"
    shutil.copytree(DEMO_BOT, pack)

    def bot(data: dict[str, Any]) -> None:
        data["brand"], data["name"] = BRAND, NAME
        persona = data["persona"]
        persona["greeting"] = "안녕하세요! {brand} 고객지원 챗봇 {name}이예요."  # misspelt on purpose
        persona["fallback_suggestions"] = ["{name}에게 물어보기", "AS 접수"]
        persona["handoff"] = "{name}이(가) 상담직원에게 연결해 드릴게요."
        data["routes"]["greeting"]["reply"] = "반가워요! 저는 {name}(이)에요. {brand}을(를) 찾아 주셔서 고마워요."

    def faq(data: dict[str, Any]) -> None:
        data["faq"][0]["answer"] = "{brand} 챗봇 {name}이(가) 알려 드려요. " + data["faq"][0]["answer"]

    def repair(data: dict[str, Any]) -> None:
        data["steps"]["symptom"]["ask"]["prompt"] = "{product}을(를) 쓰시다가 어떤 증상이 있었나요?"

    _edit(pack / "bot.yaml", bot)
    _edit(pack / "faq.yaml", faq)
    _edit(pack / "scenarios" / "repair_request.yaml", repair)
    return pack


@pytest.fixture
async def engine(pack_dir: Path) -> AsyncIterator[Engine]:
    async with httpx.AsyncClient() as http:
        yield build_engine(load_pack(pack_dir), MemoryStore(), http=http)


def _said(turn: Any) -> str:
    return "\n".join(getattr(p, "text", "") for p in turn.parts)


async def test_persona_route_faq_and_scenario_texts_are_filled(engine: Engine) -> None:
    assert engine.persona.greeting == f"안녕하세요! {BRAND} 고객지원 챗봇 상담봇이에요."
    assert engine.persona.fallback_suggestions[0] == "상담봇에게 물어보기"
    assert engine.persona.handoff.startswith("상담봇이 상담직원에게")

    turns = await converse(engine, "names-hi", ["안녕하세요"])
    assert f"저는 상담봇이에요. {BRAND}을(를) 찾아 주셔서" in _said(turns[-1])  # "<Tech>" cannot be read: both forms

    turns = await converse(engine, "names-faq", ["공유기 초기화 어떻게 해요?"])
    assert f"{BRAND} 챗봇 상담봇이 알려 드려요." in _said(turns[-1])

    turns = await converse(engine, "names-router", ["AS 접수하고 싶어요", "누리링크 AX3000"])
    assert "누리링크 AX3000을 쓰시다가" in _said(turns[-1])
    turns = await converse(engine, "names-tv", ["AS 접수하고 싶어요", "누리비전 QLED 55"])
    assert "누리비전 QLED 55를 쓰시다가" in _said(turns[-1])
    assert "{" not in _said(turns[-1])


async def test_web_config_and_demo_page_name_the_packs_brand(pack_dir: Path) -> None:
    settings = Settings(bot=str(pack_dir), channels={"web": {"enabled": True, "secret_env": SECRET_ENV}})
    async with serve(build_app(build_gateway(settings, {SECRET_ENV: SECRET}))) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            config = (await http.get("/web/api/config")).json()
            page = (await http.get("/")).text
    assert config["greeting"] == f"안녕하세요! {BRAND} 고객지원 챗봇 상담봇이에요."
    assert config["title"] == f"{BRAND} 고객지원"
    assert config["suggestions"][0] == "상담봇에게 물어보기"

    escaped = "Nuri &lt;Tech&gt;"
    assert f"<title>{escaped} 고객지원" in page and f'data-title="{escaped} 고객지원"' in page
    assert "챗봇 상담봇에게 물어보세요" in page
    assert "{brand}" not in page and "{name}" not in page
    assert "누리전자" not in page and "<Tech>" not in page


async def test_demo_page_of_the_demo_pack() -> None:
    settings = Settings(channels={"web": {"enabled": True, "secret_env": SECRET_ENV}})
    async with serve(build_app(build_gateway(settings, {SECRET_ENV: SECRET}))) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            page = (await http.get("/")).text
    assert "<h1>누리전자 고객지원</h1>" in page and "챗봇 상담이에게" in page
    assert "누리전자는 가상의 브랜드예요" in page  # 은(는) fitted to 누리전자
