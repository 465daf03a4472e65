"""The web channel's HTTP API against the real gateway on loopback: sessions, messages, history, stream,
bad input, token tampering, CORS and rate limits."""

from __future__ import annotations

import asyncio
import gzip
import time
from pathlib import Path

import httpx
import pytest

from adapters.web.token import TokenSigner
from core.messages import Text
from tests.web.conftest import SECRET, Visitor, bot_texts, open_stream, quick_replies, running_gateway

WIDGET = Path(__file__).resolve().parents[2] / "adapters" / "web" / "static" / "widget.js"


async def test_config_gives_the_bots_greeting_and_suggestions() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        r = await http.get("/web/api/config")
    assert r.status_code == 200
    body = r.json()
    assert body["brand"] == "누리전자" and body["title"] == "누리전자 고객지원"
    assert body["greeting"].startswith("안녕하세요! 누리전자 고객지원 챗봇")
    assert "전원이 안 켜져요" in body["suggestions"]


async def test_power_scenario_over_the_api_and_history_restores_it() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        visitor = await Visitor(http).start()
        r = await visitor.say("전원이 안 켜져요")
        assert r.status_code == 200, r.text
        customer, bot = r.json()["events"]
        assert customer["role"] == "customer" and customer["text"] == "전원이 안 켜져요"
        assert bot["role"] == "bot" and bot["reply_to"] == customer["client_id"]
        assert bot_texts(bot) == ["전원 문제를 함께 해결해 볼게요. 어떤 제품인가요?"]
        options = quick_replies(bot)
        assert [o["label"] for o in options] == ["누리비전 TV", "누리링크 공유기", "사운드바"]
        assert all(o["kind"] == "postback" for o in options)

        tv = options[0]
        r = await visitor.say(tv["label"], payload=tv["value"])
        assert r.status_code == 200, r.text
        step2 = r.json()["events"][1]
        assert bot_texts(step2) == ["어떤 증상인가요?"]
        assert [o["label"] for o in quick_replies(step2)] == ["아예 안 켜져요", "저절로 꺼져요"]

        history = await visitor.history()
        assert [e["id"] for e in history] == [1, 2, 3, 4]
        assert [e["role"] for e in history] == ["customer", "bot", "customer", "bot"]
        assert history[2]["text"] == "누리비전 TV"
        assert await visitor.history(after=2) == history[2:]


async def test_a_retried_message_is_answered_once() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        visitor = await Visitor(http).start()
        first = await visitor.say("인터넷이 안 돼요", msg_id="client-msg-0001")
        again = await visitor.say("인터넷이 안 돼요", msg_id="client-msg-0001")
        assert first.json()["duplicate"] is False and len(first.json()["events"]) == 2
        assert again.status_code == 200 and again.json() == {"duplicate": True, "events": []}
        assert [e["role"] for e in await visitor.history()] == ["customer", "bot"]


async def test_customer_text_is_stored_masked() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        visitor = await Visitor(http).start()
        await visitor.say("제 번호는 010-1234-5678이에요")
        stored = (await visitor.history())[0]["text"]
    assert "010-1234-5678" not in stored and "<PHONE_1>" in stored


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "empty body"),
        (b"{not json", "not valid JSON"),
        (b'["a"]', "invalid message"),
        (b'{"text": "hi"}', "missing required field `id`"),
        (b'{"id": 5, "text": "hi"}', "Expected `str`"),
        (b'{"id": "bad id!", "text": "hi"}', "id must be 8-64 characters"),
        (b'{"id": "abcdefgh", "text": "   "}', "text is empty"),
        (b'{"id": "abcdefgh", "text": "' + "가".encode() * 1001 + b'"}', "the limit is 1000"),
        (b'{"id": "abcdefgh", "text": "x", "payload": ""}', "payload must be"),
    ],
)
async def test_bad_messages_get_a_clear_400(body: bytes, detail: str) -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        visitor = await Visitor(http).start()
        r = await http.post("/web/api/messages", content=body, headers=visitor.auth)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "bad_request" and detail in r.json()["detail"]
        assert await visitor.history() == []  # nothing half-stored


async def test_bad_history_cursor_and_oversized_body() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        visitor = await Visitor(http).start()
        r = await http.get("/web/api/history", params={"after": "-1"}, headers=visitor.auth)
        assert r.status_code == 400 and "after" in r.json()["detail"]
        r = await http.post(
            "/web/api/messages", content=b'{"id":"abcdefgh","text":"' + b"a" * 20000 + b'"}', headers=visitor.auth
        )
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"


async def test_tampered_missing_foreign_and_expired_tokens_are_refused() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        visitor = await Visitor(http).start()
        other = await Visitor(http).start()
        version, sid, issued, signature = visitor.token.split(".")
        forged_sid = ".".join([version, other.session_id, issued, signature])  # someone else's session
        forged_time = ".".join([version, sid, str(int(issued) + 3600), signature])
        flipped = visitor.token[:-1] + ("A" if visitor.token[-1] != "A" else "B")
        foreign, _ = TokenSigner(b"another-secret-another-secret-xx", 3600).issue(sid)
        expired, _ = TokenSigner(SECRET.encode(), 60, clock=lambda: time.time() - 31 * 86400).issue(sid)
        cases = {
            None: "no visitor token",
            "garbage": "malformed",
            forged_sid: "signature does not match",
            forged_time: "signature does not match",
            flipped: "signature does not match",
            foreign: "signature does not match",
            expired: "expired",
        }
        for token, detail in cases.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = await http.post("/web/api/messages", json={"id": "abcdefgh1", "text": "안녕"}, headers=headers)
            assert r.status_code == 401, (token, r.text)
            assert r.json()["error"] == "bad_token" and detail in r.json()["detail"]
            r = await http.get("/web/api/history", headers=headers)
            assert r.status_code == 401
            r = await http.get("/web/api/stream", headers=headers)
            assert r.status_code == 401
        assert await other.history() == [] and await visitor.history() == []


async def test_renewing_a_session_keeps_its_id() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        visitor = await Visitor(http).start()
        r = await http.post("/web/api/sessions", json={}, headers=visitor.auth)
        assert r.status_code == 201 and r.json()["session_id"] == visitor.session_id


async def test_rate_limit_per_session() -> None:
    async with (
        running_gateway({"rate_limit": 3, "rate_window_s": 60}) as gw,
        httpx.AsyncClient(base_url=gw.base_url) as http,
    ):
        visitor = await Visitor(http).start()
        other = await Visitor(http).start()
        for _ in range(3):
            assert (await visitor.say("안녕하세요")).status_code == 200
        r = await visitor.say("안녕하세요")
        assert r.status_code == 429
        assert r.json()["error"] == "rate_limited" and 0 < r.json()["retry_after_s"] <= 60
        assert 0 < int(r.headers["Retry-After"]) <= 60
        assert (await other.say("안녕하세요")).status_code == 200  # per session, not global
        assert len(await visitor.history()) == 6  # the refused message was not stored


async def test_new_sessions_are_limited_per_address() -> None:
    async with running_gateway({"sessions_per_ip": 2}) as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        assert (await http.post("/web/api/sessions", json={})).status_code == 201
        assert (await http.post("/web/api/sessions", json={})).status_code == 201
        r = await http.post("/web/api/sessions", json={})
        assert r.status_code == 429 and r.json()["error"] == "rate_limited"


async def test_cors_allow_list() -> None:
    web = {"allowed_origins": ["https://shop.example.com"]}
    async with running_gateway(web) as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        preflight = await http.options(
            "/web/api/messages",
            headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example.com"
        assert "Authorization" in preflight.headers["access-control-allow-headers"]
        r = await http.post("/web/api/sessions", json={}, headers={"Origin": "https://shop.example.com"})
        assert r.status_code == 201 and r.headers["access-control-allow-origin"] == "https://shop.example.com"

        evil = {"Origin": "https://evil.example.net"}
        r = await http.options("/web/api/messages", headers=evil | {"Access-Control-Request-Method": "POST"})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
        r = await http.post("/web/api/sessions", json={}, headers=evil)
        assert r.status_code == 403 and r.json()["error"] == "origin_not_allowed"

        same_host = {"Origin": gw.base_url}  # the gateway's own demo page
        assert (await http.post("/web/api/sessions", json={}, headers=same_host)).status_code == 201


async def test_stream_pushes_replies_and_resumes_without_duplicates() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url, timeout=10) as http:
        visitor = await Visitor(http).start()
        async with open_stream(http, visitor) as stream:
            await visitor.say("전원이 안 켜져요")
            await stream.wait_for(lambda s: len(s.messages()) >= 2)
            ids = [ident for name, ident, _ in stream.items if name == "message"]
            assert ids == ["1", "2"]
            assert quick_replies(stream.messages()[1])
        await visitor.say("누리비전 TV", payload=quick_replies(stream.messages()[1])[0]["value"])
        # Reconnect after a network loss: only what came after the last seen id is replayed.
        async with open_stream(http, visitor, headers={"Last-Event-ID": "2"}) as resumed:
            await resumed.wait_for(lambda s: len(s.messages()) >= 2)
            await asyncio.sleep(0.3)
            assert [m["id"] for m in resumed.messages()] == [3, 4]
        async with open_stream(http, visitor, params={"after": 3}) as resumed:
            await resumed.wait_for(lambda s: len(s.messages()) >= 1)
            await asyncio.sleep(0.3)
            assert [m["id"] for m in resumed.messages()] == [4]


async def test_stream_token_in_query_and_heartbeat() -> None:
    async with running_gateway({"heartbeat_s": 0.2}) as gw, httpx.AsyncClient(base_url=gw.base_url, timeout=10) as http:
        visitor = await Visitor(http).start()
        token = visitor.token
        visitor.token = ""  # no header: the EventSource way
        async with open_stream(http, visitor, headers={"Authorization": ""}, params={"token": token}) as stream:
            await asyncio.sleep(0.7)
        assert stream.comments.count("ping") >= 2


async def test_stream_ends_after_its_maximum_age() -> None:
    async with (
        running_gateway({"stream_max_s": 0.5}) as gw,
        httpx.AsyncClient(base_url=gw.base_url, timeout=10) as http,
    ):
        visitor = await Visitor(http).start()
        started = time.monotonic()
        async with http.stream("GET", "/web/api/stream", headers=visitor.auth) as response:
            await response.aread()
        assert time.monotonic() - started < 3


async def test_agent_delivery_reaches_the_open_stream_and_history() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url, timeout=10) as http:
        visitor = await Visitor(http).start()
        directory = gw.gateway.directory
        # Offline: kept for later, reported as not pushed.
        assert await directory.deliver(f"web:{visitor.session_id}", [Text(text="상담직원 김누리예요.")]) is False
        async with open_stream(http, visitor) as stream:
            await stream.wait_for(lambda s: len(s.messages()) == 1)
            pushed = await directory.deliver(f"web:{visitor.session_id}", [Text(text="확인해 보니 교환 대상이에요.")])
            assert pushed is True
            await stream.wait_for(lambda s: len(s.messages()) == 2)
        roles = [(e["role"], bot_texts(e)) for e in await visitor.history()]
        assert roles == [("agent", ["상담직원 김누리예요."]), ("agent", ["확인해 보니 교환 대상이에요."])]
        assert await directory.deliver("web:unknown-session-id-xx", [Text(text="?")]) is False


async def test_widget_bundle_and_demo_page_are_served() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        page = await http.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script async src="/widget.js"' in page.text and "누리링크 AX3000" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        js = await http.get("/widget.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert js.content == WIDGET.read_bytes()
        cached = await http.get("/widget.js", headers={"If-None-Match": js.headers["etag"]})
        assert cached.status_code == 304
    async with running_gateway({"demo_page": False}) as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        assert (await http.get("/")).status_code == 404


def test_committed_widget_bundle_is_within_30_kb_gzipped() -> None:
    size = len(gzip.compress(WIDGET.read_bytes(), compresslevel=9))
    assert 2_000 < size <= 30 * 1024, f"widget.js is {size} bytes gzipped"


async def test_non_ascii_digits_and_signatures_are_refused_not_a_500() -> None:
    async with running_gateway() as gw, httpx.AsyncClient(base_url=gw.base_url) as http:
        visitor = await Visitor(http).start()
        sid = "A" * 22
        r = await http.get("/web/api/stream?token=v1.AAAAAAAAAAAAAAAAAAAAAA.%D9%A1.abc")  # Arabic-Indic "1"
        assert r.status_code == 401 and r.json()["error"] == "bad_token", r.text
        for token in (f"v1.{sid}.123.\u00e9", f"v1.{sid}.\u00b2.{'A' * 43}", f"{visitor.token[:-1]}\u00e9"):
            headers = {b"Authorization": f"Bearer {token}".encode()}
            r = await http.get("/web/api/history", headers=headers)
            assert r.status_code == 401 and r.json()["error"] == "bad_token", (token, r.text)
        for after in ("%C2%B2", "%D9%A1", "1%0A"):  # "²", "١", "1\n"
            r = await http.get(f"/web/api/history?after={after}", headers=visitor.auth)
            assert r.status_code == 400 and r.json()["error"] == "bad_request", (after, r.text)
            r = await http.get(f"/web/api/stream?after={after}", headers=visitor.auth)
            assert r.status_code == 400 and r.json()["error"] == "bad_request", (after, r.text)


async def test_after_a_restart_with_the_memory_store_the_client_is_told_to_reset() -> None:
    """Event ids start again at 1 when the in-memory log is lost; a client ahead of the log must reset."""
    async with running_gateway() as first, httpx.AsyncClient(base_url=first.base_url, timeout=10) as http:
        visitor = await Visitor(http).start()
        await visitor.say("전원이 안 켜져요")
        assert [e["id"] for e in await visitor.history()] == [1, 2]
    async with running_gateway() as second, httpx.AsyncClient(base_url=second.base_url, timeout=10) as http:
        visitor.http = http  # same token (same secret), new process with an empty memory store
        r = await http.get("/web/api/history", params={"after": 2}, headers=visitor.auth)
        assert r.status_code == 200 and r.json()["reset"] is True and r.json()["events"] == []
        async with open_stream(http, visitor, headers={"Last-Event-ID": "2"}) as stream:
            await stream.wait_for(lambda s: bool(s.items))
            assert stream.items[0][0] == "reset"
            await visitor.say("안녕하세요")
            await stream.wait_for(lambda s: len(s.messages()) >= 2)
        assert [m["id"] for m in stream.messages()] == [1, 2]  # the new ids reach the reset client
        r = await http.get("/web/api/history", params={"after": 1}, headers=visitor.auth)
        assert r.json()["reset"] is False and [e["id"] for e in r.json()["events"]] == [2]
