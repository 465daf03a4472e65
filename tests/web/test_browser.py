"""The widget in a real Chromium (Debian's /usr/bin/chromium driven by Playwright) against the real gateway.

Screenshots are saved under test-artifacts/web/ (kept by CI as artifacts).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.messages import Text
from core.settings import Settings
from sangdam.app import build_app, build_gateway
from tests.web.conftest import SECRET, SECRET_ENV, Running, running_gateway, serve

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("SANGDAM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"Chromium not found at {CHROMIUM} (.ci/run installs it)"
)

Page = Any


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
async def gateway() -> AsyncIterator[Running]:
    # Short streams: the client must resume them (Last-Event-ID) many times during a test, without loss
    # or duplicates.
    async with running_gateway({"stream_max_s": 2.0}) as running:
        yield running


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def widget(page: Page) -> Any:
    return page.locator("[data-sangdam-widget]")


async def open_widget(page: Page) -> None:
    await widget(page).get_by_role("button", name="상담 채팅 열기").click()
    await widget(page).get_by_role("dialog").wait_for()


async def power_flow(page: Page, *, keyboard: bool = False) -> None:
    """Type the power complaint, see the scenario's buttons, press one, reach the next step."""
    w = widget(page)
    box = w.get_by_role("textbox", name="메시지 입력")
    if keyboard:
        await page.keyboard.type("전원이 안 켜져요")
        await page.keyboard.press("Enter")
    else:
        await box.fill("전원이 안 켜져요")
        await box.press("Enter")
    tv = w.get_by_role("button", name="누리비전 TV")
    await tv.wait_for()
    await w.get_by_role("button", name="누리링크 공유기").wait_for()
    if keyboard:
        await tab_to(page, "누리비전 TV", backwards=True)
        await page.keyboard.press("Enter")
    else:
        await tv.click()
    await w.get_by_text("어떤 증상인가요?").wait_for()
    await w.get_by_role("button", name="아예 안 켜져요").wait_for()
    await w.locator(".typing").wait_for(state="hidden")  # the typing indicator goes once the reply is in
    assert await w.get_by_role("button", name="누리비전 TV").count() == 0  # used quick replies go away


async def focused(page: Page) -> dict[str, str]:
    result: dict[str, str] = await page.evaluate(
        """() => {
            let el = document.activeElement;
            while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
            return {tag: el ? el.tagName : "", text: el ? (el.textContent || "").trim() : "",
                    label: el ? (el.getAttribute("aria-label") || "") : ""};
        }"""
    )
    return result


async def tab_to(page: Page, name: str, *, backwards: bool = False, limit: int = 40) -> None:
    for _ in range(limit):
        now = await focused(page)
        if name in (now["text"], now["label"]):
            return
        await page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"could not reach {name!r} with the keyboard; focus is on {await focused(page)}")


async def customer_bubbles(page: Page) -> list[str]:
    texts: list[str] = await widget(page).locator(".row.customer .bubble").all_inner_texts()
    return texts


async def test_desktop_chat_history_after_reload(browser: Any, gateway: Running) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="ko-KR")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Console errors include CSP violations: the demo page allows only same-origin scripts, no eval.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(gateway.base_url + "/")
    await page.get_by_role("heading", name="누리전자 고객지원").wait_for()
    # The launcher comes first; the panel is built only on click.
    assert await widget(page).locator(".panel").count() == 0
    await open_widget(page)
    await widget(page).get_by_text("누리전자 고객지원 챗봇 상담이예요", exact=False).wait_for()
    await power_flow(page)
    await shot(page, "desktop")

    await page.reload()
    await widget(page).get_by_role("dialog").wait_for()  # it stays open across the reload
    await widget(page).get_by_text("어떤 증상인가요?").wait_for()
    await widget(page).get_by_role("button", name="아예 안 켜져요").wait_for()
    assert await customer_bubbles(page) == ["전원이 안 켜져요", "누리비전 TV"]
    # Resumed streams (stream_max_s=2) must not replay anything twice.
    await page.wait_for_timeout(2500)
    assert await customer_bubbles(page) == ["전원이 안 켜져요", "누리비전 TV"]
    assert await widget(page).get_by_text("어떤 증상인가요?").count() == 1
    await shot(page, "desktop-after-reload")

    # "새 대화" starts over with a new session.
    await widget(page).get_by_role("button", name="새 대화 시작하기 (지금 대화는 지워져요)").click()
    await widget(page).get_by_role("button", name="전원이 안 켜져요").wait_for()  # the starter suggestions
    assert await customer_bubbles(page) == []
    assert errors == []
    await context.close()


async def test_keyboard_only(browser: Any, gateway: Running) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(gateway.base_url + "/")
    await tab_to(page, "상담 채팅 열기")
    await page.keyboard.press("Enter")
    await widget(page).get_by_role("dialog").wait_for()
    assert (await focused(page))["label"] == "메시지 입력"  # focus moves into the panel
    await power_flow(page, keyboard=True)
    await page.keyboard.press("Escape")
    await widget(page).get_by_role("dialog").wait_for(state="hidden")
    assert (await focused(page))["label"] == "상담 채팅 열기"  # and back to the launcher
    launcher = widget(page).locator(".launcher")
    assert await launcher.get_attribute("aria-expanded") == "false"
    log = widget(page).locator(".log")
    assert await log.get_attribute("aria-live") == "polite"
    await context.close()


async def test_mobile_375px(browser: Any, gateway: Running) -> None:
    context = await browser.new_context(
        viewport={"width": 375, "height": 667}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    await page.goto(gateway.base_url + "/")
    await open_widget(page)
    panel = await widget(page).get_by_role("dialog").bounding_box()
    assert panel is not None and panel["width"] == 375 and panel["x"] == 0 and abs(panel["height"] - 667) <= 1
    box = await widget(page).get_by_role("textbox", name="메시지 입력").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 667
    font = await widget(page).get_by_role("textbox").evaluate("el => getComputedStyle(el).fontSize")
    assert font == "16px"  # iOS does not zoom into 16 px inputs
    await power_flow(page)
    await shot(page, "mobile")
    await context.close()


async def test_agent_message_arrives_live_and_once_after_network_loss(browser: Any, gateway: Running) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(gateway.base_url + "/")
    await open_widget(page)
    await power_flow(page)
    token: str = await page.evaluate("() => Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]")
    key = "web:" + token.split(".")[1]
    directory = gateway.gateway.directory

    assert await directory.deliver(key, [Text(text="상담직원 김누리예요. 이어서 도와드릴게요.")])
    await widget(page).get_by_text("상담직원 김누리예요.", exact=False).wait_for()

    await context.set_offline(True)
    await (
        widget(page)
        .get_by_text("연결이 끊어졌어요", exact=False)
        .or_(widget(page).get_by_text("인터넷 연결이 끊어졌어요", exact=False))
        .first.wait_for(timeout=8000)
    )
    await directory.deliver(key, [Text(text="TV 뒷면 전원 케이블을 다시 꽂아 보시겠어요?")])
    await context.set_offline(False)
    await widget(page).get_by_text("TV 뒷면 전원 케이블을", exact=False).wait_for(timeout=15000)
    await page.wait_for_timeout(2500)  # more stream resumes
    assert await widget(page).get_by_text("상담직원 김누리예요.", exact=False).count() == 1
    assert await widget(page).get_by_text("TV 뒷면 전원 케이블을", exact=False).count() == 1
    assert await customer_bubbles(page) == ["전원이 안 켜져요", "누리비전 TV"]
    await shot(page, "agent-after-reconnect")

    # With the panel closed, a new agent message shows an unread badge on the launcher.
    await page.keyboard.press("Escape")
    await directory.deliver(key, [Text(text="확인되시면 말씀해 주세요.")])
    badge = widget(page).locator(".badge")
    await badge.wait_for()
    assert await badge.inner_text() == "1"
    launcher = widget(page).locator(".launcher")
    assert "읽지 않은 메시지 1개" in (await launcher.get_attribute("aria-label") or "")
    await context.close()


async def test_rich_parts_render_natively_and_safely(browser: Any, gateway: Running) -> None:
    from core.messages import Button, Card, Carousel, HandoffNotice, ListItem, ListPart, QuickReplies, ReplyPart

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(gateway.base_url + "/")
    await open_widget(page)
    await widget(page).get_by_role("button", name="전원이 안 켜져요").wait_for()  # history loaded
    token: str = await page.evaluate("() => Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]")
    key = "web:" + token.split(".")[1]
    parts: list[ReplyPart] = [
        Text(text='<img src=x onerror="window.pwned=1">설명서: https://example.com/manual?id=1 를 참고해 주세요.'),
        Card(
            title="누리비전 QLED 65",
            text="4K 스마트 TV",
            price=1_290_000,
            discount=100_000,
            buttons=[
                Button(label="제품 보기", kind="url", value="https://example.com/tv"),
                Button(label="나쁜 링크", kind="url", value="javascript:alert(1)"),
                Button(label="전화 상담", kind="phone", value="1588-0000"),
            ],
        ),
        Carousel(cards=[Card(title="누리링크 AX3000"), Card(title="누리사운드")]),
        ListPart(
            header="최근 주문",
            items=[ListItem(title="ORD-20261101-0001", description="배송 중")],
            buttons=[Button(label="전체 주문 보기", kind="message", value="주문 배송 조회")],
        ),
        HandoffNotice(text="상담직원에게 연결하고 있어요."),
        QuickReplies(options=[Button(label="AS 접수", kind="message", value="AS 접수하고 싶어요")]),
    ]
    await gateway.gateway.directory.deliver(key, parts)
    w = widget(page)
    await w.get_by_text("최근 주문").wait_for()
    assert await page.evaluate("() => window.pwned") is None  # markup in text stays text
    assert await w.get_by_text('<img src=x onerror="window.pwned=1">', exact=False).count() == 1
    manual = w.get_by_role("link", name="https://example.com/manual?id=1")
    assert await manual.get_attribute("target") == "_blank"
    assert "noopener" in (await manual.get_attribute("rel") or "")
    product = w.get_by_role("link", name="제품 보기")
    assert await product.get_attribute("href") == "https://example.com/tv"
    assert "noopener" in (await product.get_attribute("rel") or "")
    assert await w.get_by_role("link", name="나쁜 링크").count() == 0  # javascript: is never a link
    assert await w.get_by_role("link", name="전화 상담").get_attribute("href") == "tel:1588-0000"
    assert await w.get_by_text("1,190,000원").count() == 1
    assert await w.get_by_role("group", name="카드 목록").get_by_text("누리사운드").count() == 1
    assert await w.get_by_text("상담직원에게 연결하고 있어요.").count() == 1
    await shot(page, "rich-parts")
    # A message button sends its value as the customer's message.
    await w.get_by_role("button", name="AS 접수").click()
    await w.locator(".row.customer .bubble", has_text="AS 접수하고 싶어요").wait_for()
    await context.close()


HOSTILE_PAGE = """<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>Shop</title>
<style>
  * {{ all: unset !important; }}
  div, button, textarea {{ display: none !important; color: red !important; font-size: 40px !important; }}
  body {{ display: block; font-size: 30px; }}
</style></head>
<body><h1>Some shop</h1>
<script async src="{gateway}/widget.js" data-title="테스트 상점 상담" data-color="#7c2d12" data-position="left"
        data-greeting="테스트 상점이에요. 무엇을 도와드릴까요?"></script>
</body></html>"""


def shop_app(gateway: dict[str, str]) -> Any:
    """Another site embedding the widget; `gateway["url"]` is read per request (bound after start)."""
    from litestar import Litestar, MediaType, get

    @get("/", media_type=MediaType.HTML, sync_to_thread=False)
    def page() -> str:
        return HOSTILE_PAGE.format(gateway=gateway["url"])

    return Litestar([page], logging_config=None)


async def test_embedded_on_another_origin_with_options_and_hostile_css(browser: Any) -> None:
    gateway: dict[str, str] = {}
    async with serve(shop_app(gateway)) as shop_url:
        # Default settings: another site is not allowed to call the API.
        async with running_gateway() as refusing:
            gateway["url"] = refusing.base_url
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.goto(shop_url + "/")
            await open_widget(page)
            await widget(page).get_by_text("잠시 문제가 생겼어요", exact=False).wait_for()
            await context.close()

        async with running_gateway({"allowed_origins": [shop_url]}) as allowing:
            gateway["url"] = allowing.base_url
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.goto(shop_url + "/")
            launcher = widget(page).get_by_role("button", name="상담 채팅 열기")
            box = await launcher.bounding_box()
            assert box is not None and box["x"] < 100  # data-position="left"
            colour = await launcher.evaluate("el => getComputedStyle(el).backgroundColor")
            assert colour == "rgb(124, 45, 18)"  # data-color
            await open_widget(page)
            w = widget(page)
            await w.get_by_role("heading", name="테스트 상점 상담").wait_for()  # data-title
            await w.get_by_text("테스트 상점이에요. 무엇을 도와드릴까요?").wait_for()  # data-greeting
            font = await w.get_by_role("textbox").evaluate("el => getComputedStyle(el).fontSize")
            assert font == "16px"  # the shop's CSS did not leak in
            await power_flow(page)
            await shot(page, "embedded-other-origin")
            await context.close()


async def test_llm_reply_streams_into_one_bubble(browser: Any) -> None:
    from tests.brain.conftest import decision
    from tests.brain.openai_standin import OpenAIStandIn, Reply

    reply = "죄송해요, 날씨는 제가 도와드리기 어려워요. 누리전자 제품이나 주문 문의는 언제든 도와드릴게요."
    standin = OpenAIStandIn()
    standin.add(Reply(content=decision(reply, intent="out_of_scope"), chunk_chars=4, chunk_delay_s=0.08))
    await standin.start()
    try:
        env = {"SANGDAM_LLM_BASE_URL": standin.base_url}
        async with running_gateway(env=env, brain={"max_retries": 0}) as gateway:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.goto(gateway.base_url + "/")
            await open_widget(page)
            w = widget(page)
            await w.get_by_role("button", name="전원이 안 켜져요").wait_for()  # history loaded, stream open
            await page.wait_for_timeout(300)
            box = w.get_by_role("textbox", name="메시지 입력")
            await box.fill("다음 주 서울 날씨 어때요?")
            await box.press("Enter")
            # Part of the reply shows while the model is still writing (hidden from screen readers) ...
            streaming = w.locator('.row.bot[aria-hidden="true"] .bubble')
            await streaming.wait_for()
            partial = await streaming.inner_text()
            assert partial and reply.startswith(partial) and partial != reply
            # ... then the final message replaces it: one bubble with the whole text.
            await w.locator(".row.bot .bubble", has_text=reply).first.wait_for()
            await streaming.wait_for(state="detached")
            assert await w.locator(".row.bot .bubble", has_text=reply).count() == 1
            await context.close()
    finally:
        await standin.stop()


async def test_widget_resets_when_the_server_lost_the_conversation_log(browser: Any, gateway: Running) -> None:
    """A gateway restart with the memory store (or the log's expiry) starts event ids at 1 again: the open
    widget must drop what it has seen and show the new messages, not skip them as already seen."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(gateway.base_url + "/")
    await open_widget(page)
    await power_flow(page)
    token: str = await page.evaluate("() => Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]")
    sid = token.split(".")[1]
    store = gateway.gateway.store
    # What a restart of an in-memory gateway loses: the session's event log and its head id.
    await store.pop(f"web:events:{sid}")
    await store.pop(f"web:head:{sid}")
    await page.wait_for_timeout(2500)  # the stream (stream_max_s=2) resumes and is told to reset
    assert await customer_bubbles(page) == []
    assert await gateway.gateway.directory.deliver(
        f"web:{sid}", [Text(text="상담직원이에요. 다시 이어서 도와드릴게요.")]
    )
    await widget(page).get_by_text("상담직원이에요. 다시 이어서", exact=False).wait_for(timeout=5000)
    box = widget(page).get_by_role("textbox", name="메시지 입력")
    await box.fill("고마워요")
    await box.press("Enter")
    rows = widget(page).locator(".log > .row")
    await rows.last.locator(":scope.bot").wait_for()  # the bot's answer follows the customer's message
    await page.wait_for_timeout(2500)  # more resumes: nothing twice
    assert await customer_bubbles(page) == ["고마워요"]
    assert await widget(page).get_by_text("상담직원이에요. 다시 이어서", exact=False).count() == 1
    await context.close()


async def test_faq_card_shows_the_gateways_png(browser: Any) -> None:
    """An FAQ card's image in the real widget (Chromium): the pack's own PNG, fetched from the gateway.

    The gateway is configured with a public URL (as behind a proxy); the browser's requests to that
    address are forwarded to the gateway under test, so the image shown is the one GET /media/... served.
    """
    public = "https://cs.nuri.example"
    settings = Settings(public_url=public, channels={"web": {"enabled": True, "secret_env": SECRET_ENV}})
    async with serve(build_app(build_gateway(settings, {SECRET_ENV: SECRET}))) as base:
        page = await (await browser.new_context(viewport={"width": 1280, "height": 800}, locale="ko-KR")).new_page()
        served: list[tuple[str, int, str]] = []

        async def to_gateway(route: Any) -> None:
            path = route.request.url[len(public) :]
            response = await route.fetch(url=base + path)
            served.append((path, response.status, response.headers.get("content-type", "")))
            await route.fulfill(response=response)

        await page.route(f"{public}/**", to_gateway)
        await page.goto(base + "/")
        await open_widget(page)
        box = widget(page).get_by_role("textbox", name="메시지 입력")
        await box.fill("공유기 리셋 버튼 어디 있어요?")
        await box.press("Enter")
        image = widget(page).locator(f'img[src="{public}/media/ax3000-reset-button.png"]')
        await image.wait_for()
        await page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=await image.element_handle())
        size = await image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
        assert size == [800, 400]
        assert ("/media/ax3000-reset-button.png", 200, "image/png") in served
        await image.scroll_into_view_if_needed()
        await shot(page, "faq-card-image")
