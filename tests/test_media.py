"""The pack's own images: `image_url: media/x.png` checked by the loader, sent as <public_url>/media/x.png,
and served by the gateway at GET /media/x.png (only files of the pack's media/ folder)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from adapters.kakao import limits, render
from adapters.kakao.response import encode_response
from core.messages import Card, Image
from core.pack.loader import check_pack, load_pack
from core.pack.media import media_url, resolve_media
from core.settings import DEMO_BOT, Settings, load_settings
from sangdam.app import build_app, build_gateway
from tests.asgi_server import serve
from tests.web.conftest import SECRET, SECRET_ENV, Visitor

PUBLIC = "https://cs.nuri.example"


@asynccontextmanager
async def gateway_at(public_url: str | None = PUBLIC, bot: str = DEMO_BOT) -> AsyncIterator[str]:
    settings = Settings(bot=bot, public_url=public_url, channels={"web": {"enabled": True, "secret_env": SECRET_ENV}})
    async with serve(build_app(build_gateway(settings, {SECRET_ENV: SECRET}))) as base_url:
        yield base_url


def _cards(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for e in events for p in e.get("parts", []) if p["type"] == "card"]


async def test_faq_card_image_is_an_absolute_url_the_gateway_serves_as_png() -> None:
    async with gateway_at() as base, httpx.AsyncClient(base_url=base) as http:
        visitor = await Visitor(http).start()
        r = await visitor.say("공유기 리셋 버튼 어디 있어요?")
        assert r.status_code == 200, r.text
        cards = _cards(r.json()["events"])
        assert cards and cards[0]["image_url"] == f"{PUBLIC}/media/ax3000-reset-button.png"

        image = await http.get(httpx.URL(cards[0]["image_url"]).path)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert image.content == (Path(DEMO_BOT) / "media" / "ax3000-reset-button.png").read_bytes()
        assert "max-age=" in image.headers["cache-control"] and image.headers["x-content-type-options"] == "nosniff"
        again = await http.get(httpx.URL(cards[0]["image_url"]).path, headers={"If-None-Match": image.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


async def test_every_demo_faq_image_is_served() -> None:
    pack = load_pack(DEMO_BOT)
    relative = [e.image_url for e in pack.faq if e.image_url and not e.image_url.startswith("http")]
    assert len(relative) >= 7
    async with gateway_at() as base, httpx.AsyncClient(base_url=base) as http:
        for value in relative:
            r = await http.get("/" + value)
            assert r.status_code == 200 and r.headers["content-type"] == "image/png", value
            assert len(r.content) < 60_000, value


@pytest.mark.parametrize(
    "path",
    [
        "/media/../bot.yaml",
        "/media/%2e%2e/bot.yaml",
        "/media/..%2fbot.yaml",
        "/media/%2e%2e%2fbot.yaml",
        "/media//etc/passwd",
        "/media/nope.png",
        "/media/",
        "/media/../../README.md",
    ],
)
async def test_only_files_of_the_media_folder_are_served(path: str) -> None:
    async with gateway_at() as base, httpx.AsyncClient(base_url=base) as http:
        r = await http.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert b"faq:" not in r.content and b"root:" not in r.content


async def test_hidden_and_non_image_files_in_media_are_not_served(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(DEMO_BOT, pack)
    (pack / "media" / ".secret.png").write_bytes(b"\x89PNG hidden")
    (pack / "media" / "notes.txt").write_text("internal")
    async with gateway_at(bot=str(pack)) as base, httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/media/.secret.png")).status_code == 404
        assert (await http.get("/media/notes.txt")).status_code == 404
        assert (await http.get("/media/serial-label.png")).status_code == 200


def test_public_url_setting_and_default() -> None:
    assert load_settings(env={}).public_base_url() == "http://127.0.0.1:8080"
    assert load_settings(env={"SANGDAM_HOST": "0.0.0.0", "SANGDAM_PORT": "9000"}).public_base_url() == (
        "http://127.0.0.1:9000"
    )
    assert load_settings(env={"SANGDAM_PUBLIC_URL": "https://cs.example.com/"}).public_base_url() == (
        "https://cs.example.com"
    )
    with pytest.raises(ValueError, match="public_url"):
        load_settings(env={"SANGDAM_PUBLIC_URL": "cs.example.com"})


def test_relative_values_resolve_and_web_addresses_stay() -> None:
    assert media_url("media/a b.png", "https://x.example/") == "https://x.example/media/a%20b.png"
    assert media_url("https://cdn.example/a.png", "https://x.example") == "https://cdn.example/a.png"
    pack = resolve_media(load_pack(DEMO_BOT), "http://127.0.0.1:8080")
    urls = [e.image_url for e in pack.faq if e.image_url]
    assert urls and all(u.startswith(("http://", "https://")) for u in urls)


def _pack_with_image(tmp_path: Path, value: str) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(DEMO_BOT, pack)
    faq = yaml.safe_load((pack / "faq.yaml").read_text(encoding="utf-8"))
    faq["faq"][0]["image_url"] = value
    (pack / "faq.yaml").write_text(yaml.safe_dump(faq, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return pack


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("media/missing.png", "does not exist in the pack"),
        ("images/ax3000-reset-button.png", "not in the pack's media/ folder"),
        ("media/../bot.yaml", "no `..`"),
        ("/etc/passwd", "neither a web address nor a path inside the pack"),
        ("media/notes.txt", "not an image"),
        ("ftp://example.com/a.png", "neither a web address"),
    ],
)
def test_loader_refuses_bad_image_values(tmp_path: Path, value: str, problem: str) -> None:
    pack = _pack_with_image(tmp_path, value)
    (pack / "media" / "notes.txt").write_text("x")
    issues = [i for i in check_pack(pack) if not i.is_warning]
    assert any(problem in str(i) and "faq.yaml" in str(i) for i in issues), issues


def test_loader_accepts_media_files_and_web_addresses(tmp_path: Path) -> None:
    for value in ("media/serial-label.png", "https://cdn.example/x.png"):
        assert not [
            i for i in check_pack(_pack_with_image(tmp_path / value.replace("/", "_"), value)) if not i.is_warning
        ]


def test_kakao_renders_gateway_image_urls() -> None:
    # Kakao takes only absolute http(s) image URLs (docs/kakao.md): the gateway's own ones pass as they are.
    url = f"{PUBLIC}/media/ax3000-reset-button.png"
    plain = media_url("media/ax3000-reset-button.png", "http://127.0.0.1:8080")
    out = render.render([Card(title="리셋", text="뒷면 구멍", image_url=url), Image(url=plain, alt="리셋 버튼")])
    assert limits.validate(out) == []
    data = json.loads(encode_response(out))
    assert data["template"]["outputs"] == [
        {"basicCard": {"title": "리셋", "description": "뒷면 구멍", "thumbnail": {"imageUrl": url}}},
        {"simpleImage": {"imageUrl": plain, "altText": "리셋 버튼"}},
    ]
