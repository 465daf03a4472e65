"""An FAQ card's image in the real widget (Chromium): the pack's own PNG, fetched from the gateway.

The gateway is configured with a public URL (as behind a proxy); the browser's requests to that
address are forwarded to the gateway under test, so the image shown is the one GET /media/... served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from sangdam.app import build_app, build_gateway
from tests.web.conftest import SECRET, SECRET_ENV, serve
from tests.web.test_browser import ARGS, CHROMIUM, open_widget, shot, widget

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium not found at {CHROMIUM}")

PUBLIC = "https://cs.nuri.example"


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield instance
        finally:
            await instance.close()


async def test_faq_card_shows_the_gateways_png(chromium: Any) -> None:
    settings = Settings(public_url=PUBLIC, channels={"web": {"enabled": True, "secret_env": SECRET_ENV}})
    async with serve(build_app(build_gateway(settings, {SECRET_ENV: SECRET}))) as base:
        page = await (await chromium.new_context(viewport={"width": 1280, "height": 800}, locale="ko-KR")).new_page()
        served: list[tuple[str, int, str]] = []

        async def to_gateway(route: Any) -> None:
            path = route.request.url[len(PUBLIC) :]
            response = await route.fetch(url=base + path)
            served.append((path, response.status, response.headers.get("content-type", "")))
            await route.fulfill(response=response)

        await page.route(f"{PUBLIC}/**", to_gateway)
        await page.goto(base + "/")
        await open_widget(page)
        box = widget(page).get_by_role("textbox", name="메시지 입력")
        await box.fill("공유기 리셋 버튼 어디 있어요?")
        await box.press("Enter")
        image = widget(page).locator(f'img[src="{PUBLIC}/media/ax3000-reset-button.png"]')
        await image.wait_for()
        await page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=await image.element_handle())
        size = await image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
        assert size == [800, 400]
        assert ("/media/ax3000-reset-button.png", 200, "image/png") in served
        await image.scroll_into_view_if_needed()
        await shot(page, "faq-card-image")
