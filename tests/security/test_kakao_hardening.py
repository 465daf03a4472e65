"""The Kakao skill under attack and outage, against the real gateway on loopback.

- a store that is frozen (SIGSTOP: connections accepted, nothing answered) or stopped: every request is
  answered 200 with a polite Kakao reply within 4.5 s of receipt, the outage is logged once, and the
  skill answers normally again once the server is back (no restart);
- callback URLs that pass a naive check but not the sender's parser (control characters, full-width or
  IDNA hosts, odd ports) are refused up front and the request follows the no-callback path;
- a callback job that fails is logged with the conversation, and its answer is kept for "답변 확인하기";
- over `max_inflight_turns` a request is answered at once (`kakao_shed`);
- an utterance over `max_utterance_chars` never reaches the engine or the store.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from adapters.kakao.callback import check_callback_url
from adapters.kakao.config import KakaoConfig
from adapters.kakao.limits import validate
from adapters.kakao.response import SkillResponse, decode_response
from adapters.kakao.skill import SkillHandler
from core.settings import Settings
from tests.conftest import ControlledValkey, log_events
from tests.kakao.conftest import CallbackStandIn, RunningGateway, callback_standin, running_gateway, skill_payload
from tests.slow_tool import SlowApi, make_slow_pack, slow_api

__all__ = ["callback_standin", "slow_api"]  # fixtures used below

KAKAO_LIMIT_S = 4.5  # polite answer within this of receipt, whatever the store does
SLOW_QUESTION = "서비스 상태 점검해 주세요"
LOOPBACK = {"callback_allow_hosts": ["127.0.0.1"], "callback_require_https": False}
CONFIG = KakaoConfig()


def checked(body: bytes) -> SkillResponse:
    resp = decode_response(body)
    assert validate(resp) == [], validate(resp)
    return resp


def texts_of(resp: SkillResponse) -> str:
    assert resp.template is not None
    out: list[str] = []
    for output in resp.template.outputs:
        for component in msgspec.to_builtins(output).values():
            for key in ("text", "title", "description"):
                if isinstance(component, dict) and component.get(key):
                    out.append(component[key])
    return " ".join(out)


def handler_of(gw: RunningGateway) -> SkillHandler:
    handler: SkillHandler = gw.gateway.channels[0].handler  # type: ignore[attr-defined]
    return handler


async def timed(gw: RunningGateway, body: dict[str, Any]) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = await gw.skill(body)
    return time.monotonic() - started, response


# --- a store of the test's own -------------------------------------------------------------------


@pytest.fixture
def valkey(controlled_valkey: ControlledValkey) -> ControlledValkey:
    return controlled_valkey


def _assert_polite(elapsed: float, response: httpx.Response) -> str:
    assert response.status_code == 200
    assert elapsed < KAKAO_LIMIT_S, f"answered after {elapsed:.2f} s"
    text = texts_of(checked(response.content))
    assert text
    return text


async def _answers_normally_again(gw: RunningGateway, user: str, within_s: float = 15.0) -> None:
    greeting = " ".join(gw.gateway.engine.persona.greeting.split())[:20]
    deadline = time.monotonic() + within_s
    while True:
        elapsed, response = await timed(gw, skill_payload("안녕하세요", user=user))
        text = _assert_polite(elapsed, response)
        if greeting in " ".join(text.split()):
            assert elapsed < 1.0
            return
        assert time.monotonic() < deadline, f"still not answering normally: {text}"
        await asyncio.sleep(0.5)


def _outage_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == "store_unavailable" and e.get("component") == "kakao"]


def _store_settings() -> list[dict[str, Any]]:
    """The default store settings and, where the store has a timeout setting, one long enough (30 s) that
    only the skill's own deadline stands between a frozen server and Kakao's 5 s."""
    variants: list[dict[str, Any]] = [{}]
    if "store" in Settings.__struct_fields__:
        variants.append({"store": {"timeout_s": 30.0}})
    return variants


@pytest.mark.parametrize("settings", _store_settings(), ids=lambda s: "store-timeout-30s" if s else "defaults")
async def test_a_frozen_store_gets_polite_answers_in_time_and_recovers(
    valkey: ControlledValkey, settings: dict[str, Any]
) -> None:
    async with running_gateway(store_url=valkey.url, settings=settings) as gw:
        await _answers_normally_again(gw, "frozen-warm", within_s=1)
        valkey.freeze()
        with log_events() as logs:
            # New messages, a customer with a waiting answer to fetch, and repeated messages.
            bodies = [skill_payload("안녕하세요", user=f"frozen-{n}") for n in range(4)]
            bodies.append(skill_payload(CONFIG.late_answer_label, user="frozen-0"))
            results = await asyncio.gather(*(timed(gw, body) for body in bodies))
            results += [await timed(gw, skill_payload("배송 조회하고 싶어요", user="frozen-1"))]
            for elapsed, response in results:
                _assert_polite(elapsed, response)
            valkey.thaw()
            await _answers_normally_again(gw, "frozen-after")
            await _answers_normally_again(gw, "frozen-2")
        # One outage, one line (not one per request), and its end.
        assert len(_outage_lines(logs)) == 1
        assert any(e["event"] == "store_recovered" and e.get("component") == "kakao" for e in logs)
        assert gw.gateway.metrics.counters["kakao_store_error"] >= len(results)


async def test_a_stopped_store_gets_polite_answers_and_a_restart_is_picked_up(valkey: ControlledValkey) -> None:
    async with running_gateway(store_url=valkey.url) as gw:
        await _answers_normally_again(gw, "stopped-warm", within_s=1)
        valkey.stop()
        with log_events() as logs:
            for n in range(3):
                elapsed, response = await timed(gw, skill_payload("안녕하세요", user=f"stopped-{n}"))
                assert CONFIG.error_text in _assert_polite(elapsed, response)
            elapsed, response = await timed(gw, skill_payload(CONFIG.late_answer_label, user="stopped-0"))
            _assert_polite(elapsed, response)
            valkey.start()
            await _answers_normally_again(gw, "stopped-after")
        assert len(_outage_lines(logs)) == 1


# --- callback URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://bot-api.kakao.com\n.evil.example/v1/bots/b/callback/t",  # control character
        "https://bot-api.kakao.com/v1/bots/b/callback/t\r\nX-Injected: 1",
        "https://bot-api.kakao.com\t/cb",
        "https://bot-api.kakao.com /cb",  # whitespace
        "https://ｂｏｔ-api.kakao.com/v1/bots/b/callback/t",  # full-width host
        "https://bot-api。kakao.com/cb",  # ideographic full stop: normalises to a dot
        "https://xn--bt-api-2ua.kakao.com/cb",  # IDNA: shown as something else
        "https://bot-api.kakao.com\\@evil.example/cb",  # backslash: parsers disagree on the host
        "https://evil.example%2ebot-api.kakao.com/cb",  # percent-encoded dot in the host
        "https://@bot-api.kakao.com/cb",  # empty userinfo
        "https://user@bot-api.kakao.com/cb",
        "https://bot-api.kakao.com:0443/cb",  # odd spellings of the default port
        "https://bot-api.kakao.com:+443/cb",
        "https://bot-api.kakao.com:/cb",
        "https://bot-api.kakao.com:99999/cb",
        "https://[::1]/cb",
    ],
)
def test_callback_urls_the_sender_would_read_differently_are_refused(url: str) -> None:
    assert check_callback_url(url, allow_hosts=["*.kakao.com"], require_https=True) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://bot-api.kakao.com/v1/bots/abc/callback/tok",
        "https://bot-api.kakao.com:443/v1/bots/abc/callback/tok",
        "HTTPS://Bot-API.Kakao.com/v1/bots/abc/callback/tok",
    ],
)
def test_real_callback_urls_still_pass(url: str) -> None:
    assert check_callback_url(url, allow_hosts=["*.kakao.com"], require_https=True) is None


def _collect_loop_errors() -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
    return errors


@pytest.mark.parametrize(
    "url",
    [
        # Both passed the old urlsplit-based check, then made httpx raise InvalidURL in the callback job.
        "https://ｂｏｔ-api.kakao.com/v1/bots/b/callback/tok",
        "https://bot-api.kakao.com/v1/bots/b/callback/t\nok",
    ],
)
async def test_a_smuggled_callback_url_follows_the_no_callback_path(
    tmp_path: Path, slow_api: SlowApi, url: str
) -> None:
    slow_api.delay_s = 0.8
    errors = _collect_loop_errors()
    kakao = {"budget_s": 0.4}  # the real allow-list: *.kakao.com over https
    async with running_gateway(kakao=kakao, bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        response = await gw.skill(skill_payload(SLOW_QUESTION, user="smuggled", callback_url=url))
        fast = checked(response.content)
        assert fast.useCallback is None  # no ack: the URL was dropped
        assert fast.template is not None
        assert fast.template.quickReplies[0].label == CONFIG.late_answer_label
        assert gw.gateway.metrics.counters["kakao_callback:refused"] == 1
        await asyncio.sleep(slow_api.delay_s + 0.3)
        later = checked((await gw.skill(skill_payload(CONFIG.late_answer_label, user="smuggled"))).content)
        assert "정상 운영 중" in texts_of(later)
    assert errors == []  # no "Task exception was never retrieved"


async def test_a_failing_callback_job_is_logged_and_its_answer_kept(
    tmp_path: Path, slow_api: SlowApi, callback_standin: CallbackStandIn
) -> None:
    slow_api.delay_s = 0.6
    errors = _collect_loop_errors()
    kakao = {**LOOPBACK, "budget_s": 0.3, "callback_settle_s": 0.1, "callback_deadline_s": 5.0}
    async with running_gateway(kakao=kakao, bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        handler = handler_of(gw)

        async def broken_post(*_: Any, **__: Any) -> Any:
            raise RuntimeError("the HTTP client blew up")

        handler._callbacks.post_once = broken_post  # type: ignore[method-assign]
        user = "job-failure-user"
        with log_events() as logs:
            response = await gw.skill(skill_payload(SLOW_QUESTION, user=user, callback_url=callback_standin.url()))
            assert response.json()["useCallback"] is True
            deadline = time.monotonic() + 5
            while not gw.gateway.metrics.counters.get("kakao_late_stashed"):
                assert time.monotonic() < deadline, "the answer was never stashed"
                await asyncio.sleep(0.05)
        failed = [e for e in logs if e["event"] == "kakao_callback_failed"]
        assert len(failed) == 1 and failed[0]["error"] == "RuntimeError"
        assert failed[0]["conversation"] and user not in failed[0]["conversation"]  # masked
        assert await gw.gateway.store.get(f"kakao:pending:{user}") is None  # no "still preparing" for an hour
        later = checked((await gw.skill(skill_payload(CONFIG.late_answer_label, user=user))).content)
        assert "정상 운영 중" in texts_of(later)
    assert errors == []


# --- overload and size ---------------------------------------------------------------------------


async def test_turns_beyond_the_in_flight_cap_are_answered_at_once(tmp_path: Path, slow_api: SlowApi) -> None:
    slow_api.delay_s = 1.5
    kakao = {"budget_s": 0.3, "max_inflight_turns": 2}
    async with running_gateway(kakao=kakao, bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        for n in range(2):  # two slow turns go on as jobs after their fast answer
            await gw.skill(skill_payload(SLOW_QUESTION, user=f"busy-{n}"))
        elapsed, response = await timed(gw, skill_payload("안녕하세요", user="busy-late"))
        assert CONFIG.busy_text in _assert_polite(elapsed, response)
        assert elapsed < 0.3
        assert gw.gateway.metrics.counters["kakao_shed"] == 1
        await asyncio.sleep(slow_api.delay_s)  # the slow turns are done: room again
        await _answers_normally_again(gw, "busy-later", within_s=2)
        assert slow_api.calls == 2


async def test_an_over_long_utterance_is_refused_politely_and_nothing_is_stored() -> None:
    async with running_gateway() as gw:
        user = "long-user"
        long_text = "가" * (CONFIG.max_utterance_chars + 1)
        elapsed, response = await timed(gw, skill_payload(long_text, user=user))
        text = _assert_polite(elapsed, response)
        assert text == "메시지가 너무 길어요. 1,000자 이내로 나누어 보내 주세요."
        assert gw.gateway.metrics.counters["kakao_too_long"] == 1
        assert await gw.gateway.store.load(f"kakao:{user}") is None

        at_limit = "배송 조회 " + "가" * (CONFIG.max_utterance_chars - 6)
        assert len(at_limit) == CONFIG.max_utterance_chars
        _assert_polite(*await timed(gw, skill_payload(at_limit, user=user)))
        conversation = await gw.gateway.store.load(f"kakao:{user}")
        assert conversation is not None
        assert long_text not in repr(conversation)


async def test_the_utterance_cap_is_a_setting() -> None:
    async with running_gateway(kakao={"max_utterance_chars": 10}) as gw:
        text = texts_of(checked((await gw.skill(skill_payload("가" * 11, user="cap-user"))).content))
        assert "10자 이내" in text
