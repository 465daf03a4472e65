"""Kakao's 5-second rule and the AI-chatbot callback, with real servers on loopback.

A stand-in for Kakao's callback endpoint records every POST; a slow company API behind an `http:` tool
makes the turn slow for real. Budgets are shortened by configuration so the tests stay fast.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from structlog.testing import capture_logs

from adapters.kakao.callback import CallbackClient, check_callback_url
from adapters.kakao.limits import validate
from adapters.kakao.response import SkillResponse, decode_response
from core.metrics import Metrics
from core.store.memory import MemoryStore
from core.store.redis import RedisStore

from .conftest import (
    CallbackStandIn,
    SlowApi,
    make_slow_pack,
    running_gateway,
    skill_payload,
)

SLOW_QUESTION = "서비스 상태 점검해 주세요"
LOOPBACK = {"callback_allow_hosts": ["127.0.0.1"], "callback_require_https": False}


def texts_of(resp: SkillResponse) -> list[str]:
    assert resp.template is not None
    out: list[str] = []
    for output in resp.template.outputs:
        raw = msgspec.to_builtins(output)
        for component in raw.values():
            for key in ("text", "title", "description"):
                if isinstance(component, dict) and component.get(key):
                    out.append(component[key])
    return out


def quick_labels(resp: SkillResponse) -> list[str]:
    assert resp.template is not None
    return [reply.label for reply in resp.template.quickReplies]


def quick_reply(resp: SkillResponse, label: str) -> dict[str, Any]:
    """What Kakao sends back when the customer taps the quick reply labelled `label`."""
    assert resp.template is not None
    reply = next(r for r in resp.template.quickReplies if r.label == label)
    return {"utterance": reply.messageText or reply.label, "client_extra": reply.extra}


def checked(body: bytes) -> SkillResponse:
    """Decode a SkillResponse and assert Kakao would accept it."""
    resp = decode_response(body)
    assert validate(resp) == [], validate(resp)
    return resp


# --- URL guard -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://bot-api.kakao.com/v1/bots/abc/callback/tok", None),
        ("https://kakao.com/v1/bots/abc/callback/tok", None),
        ("https://bot-api.kakao.com:443/v1/bots/abc/callback/tok", None),
        ("http://bot-api.kakao.com/v1/bots/abc/callback/tok", "scheme http not allowed"),
        ("https://evil.example/v1/bots/abc/callback/tok", "host evil.example not allow-listed"),
        ("https://kakao.com.evil.example/cb", "host kakao.com.evil.example not allow-listed"),
        ("https://evilkakao.com/cb", "host evilkakao.com not allow-listed"),
        ("https://user:pw@bot-api.kakao.com/cb", "userinfo not allowed"),
        ("https://bot-api.kakao.com:8443/cb", "port 8443 not allowed"),
        ("https://[::1/cb", "malformed URL"),
        ("not a url", "scheme (none) not allowed"),
    ],
)
def test_callback_url_allow_list(url: str, problem: str | None) -> None:
    assert check_callback_url(url, allow_hosts=["*.kakao.com"], require_https=True) == problem


# --- the callback client against a stand-in ------------------------------------------------------


async def test_a_callback_url_is_posted_at_most_once(callback_standin: CallbackStandIn) -> None:
    metrics = Metrics()
    async with httpx.AsyncClient() as http:
        client = CallbackClient(
            http, MemoryStore(), metrics, allow_hosts=["127.0.0.1"], require_https=False, timeout_s=5
        )
        url = callback_standin.url()
        now = time.monotonic()
        body = b'{"version":"2.0","template":{"outputs":[{"simpleText":{"text":"hi"}}]}}'
        first = await client.post_once(url, body, received_at=now, deadline=now + 10)
        second = await client.post_once(url, body, received_at=now, deadline=now + 10)
    assert first.ok and first.task_id and first.http_status == 200
    assert second.status == "used" and not second.sent
    assert len(callback_standin.posts) == 1
    assert metrics.counters["kakao_callback:SUCCESS"] == 1
    assert metrics.counters["kakao_callback:used"] == 1


async def test_fail_answer_is_recorded_not_retried(callback_standin: CallbackStandIn) -> None:
    callback_standin.status = "FAIL"
    callback_standin.message = "Invalid callback token. Check your callback token."
    metrics = Metrics()
    async with httpx.AsyncClient() as http:
        client = CallbackClient(
            http, MemoryStore(), metrics, allow_hosts=["127.0.0.1"], require_https=False, timeout_s=5
        )
        now = time.monotonic()
        outcome = await client.post_once(callback_standin.url(), b"{}", received_at=now, deadline=now + 10)
    assert outcome.status == "FAIL" and not outcome.ok and outcome.sent
    assert outcome.message == "Invalid callback token. Check your callback token."
    assert len(callback_standin.posts) == 1
    assert metrics.counters["kakao_callback:FAIL"] == 1


async def test_unreachable_callback_gives_up_at_the_deadline() -> None:
    metrics = Metrics()
    async with httpx.AsyncClient() as http:
        client = CallbackClient(
            http, MemoryStore(), metrics, allow_hosts=["127.0.0.1"], require_https=False, timeout_s=5
        )
        now = time.monotonic()
        # Port 9 (discard) on loopback: nothing listens, the connection is refused.
        outcome = await client.post_once("http://127.0.0.1:9/cb", b"{}", received_at=now, deadline=now + 0.5)
    assert outcome.status == "unreachable" and not outcome.sent
    assert time.monotonic() - now < 2


async def test_refused_url_is_never_contacted(callback_standin: CallbackStandIn) -> None:
    async with httpx.AsyncClient() as http:
        client = CallbackClient(
            http, MemoryStore(), Metrics(), allow_hosts=["*.kakao.com"], require_https=True, timeout_s=5
        )
        now = time.monotonic()
        outcome = await client.post_once(callback_standin.url(), b"{}", received_at=now, deadline=now + 10)
    assert outcome.status == "refused"
    assert callback_standin.posts == []


async def test_processes_sharing_redis_never_post_the_same_url_twice(
    callback_standin: CallbackStandIn, redis_url: str, key_prefix: str
) -> None:
    stores = [RedisStore.from_url(redis_url, prefix=key_prefix) for _ in range(2)]
    try:
        async with httpx.AsyncClient() as http:
            clients = [
                CallbackClient(http, store, Metrics(), allow_hosts=["127.0.0.1"], require_https=False, timeout_s=5)
                for store in stores
            ]
            url, now = callback_standin.url(), time.monotonic()
            outcomes = await asyncio.gather(
                *(client.post_once(url, b"{}", received_at=now, deadline=now + 10) for client in clients)
            )
    finally:
        for store in stores:
            await store.close()
    assert sorted(outcome.status for outcome in outcomes) == ["SUCCESS", "used"]
    assert len(callback_standin.posts) == 1


# --- whole skill: slow turns ---------------------------------------------------------------------


def _kakao(**overrides: Any) -> dict[str, Any]:
    return {**LOOPBACK, "budget_s": 0.5, "callback_settle_s": 0.2, "callback_deadline_s": 6.0, **overrides}


async def test_slow_turn_acks_then_posts_the_answer_exactly_once(
    tmp_path: Path, slow_api: SlowApi, callback_standin: CallbackStandIn
) -> None:
    slow_api.delay_s = 0.9
    kakao = _kakao()
    async with running_gateway(kakao=kakao, bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        url = callback_standin.url()
        started = time.monotonic()
        response = await gw.skill(skill_payload(SLOW_QUESTION, user="cb-user-1", callback_url=url))
        acked = time.monotonic()
        assert response.status_code == 200
        ack = response.json()
        assert ack == {
            "version": "2.0",
            "useCallback": True,
            "data": {"text": "답변을 준비하고 있어요. 잠시만 기다려 주세요!"},
        }
        assert acked - started < kakao["budget_s"] + 0.4

        await callback_standin.wait_for_posts(1, within_s=8)
        await asyncio.sleep(0.5)  # a second POST would arrive in this time
        assert len(callback_standin.posts) == 1
        post = callback_standin.posts[0]
        assert post.path.endswith(url.rsplit("/", 1)[1])
        assert post.content_type.startswith("application/json")
        assert post.at - acked >= kakao["callback_settle_s"] - 0.05  # not racing the ack
        assert post.at - started <= kakao["callback_deadline_s"]
        final = checked(post.body)
        assert final.useCallback is None
        assert any("정상 운영 중" in text for text in texts_of(final))
        assert slow_api.calls == 1
        assert gw.gateway.metrics.counters["kakao_callback:SUCCESS"] == 1
        assert gw.gateway.metrics.counters["kakao_callback_ack"] == 1


async def test_fast_turn_with_callback_url_answers_inline_without_posting(
    callback_standin: CallbackStandIn,
) -> None:
    async with running_gateway(kakao=_kakao(budget_s=3.0)) as gw:
        response = await gw.skill(skill_payload("안녕하세요", user="cb-user-2", callback_url=callback_standin.url()))
        resp = checked(response.content)
        assert resp.useCallback is None and texts_of(resp)
        await asyncio.sleep(0.5)
    assert callback_standin.posts == []


async def test_kakao_answering_fail_is_recorded_and_the_answer_kept(
    tmp_path: Path, slow_api: SlowApi, callback_standin: CallbackStandIn
) -> None:
    slow_api.delay_s = 0.7
    callback_standin.status = "FAIL"
    callback_standin.message = "Invalid callback token. Check your callback token."
    async with running_gateway(kakao=_kakao(), bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        with capture_logs() as logs:
            response = await gw.skill(
                skill_payload(SLOW_QUESTION, user="cb-user-3", callback_url=callback_standin.url())
            )
            assert response.json()["useCallback"] is True
            await callback_standin.wait_for_posts(1, within_s=8)
            await asyncio.sleep(0.3)
        assert len(callback_standin.posts) == 1
        assert gw.gateway.metrics.counters["kakao_callback:FAIL"] == 1
        # The taskId Kakao answered is logged (Kakao support asks for it), with the failure message.
        recorded = [entry for entry in logs if entry["event"] == "kakao_callback"]
        assert len(recorded) == 1
        assert recorded[0]["task_id"] == callback_standin.posts[0].task_id
        assert recorded[0]["status"] == "FAIL" and recorded[0]["detail"] == callback_standin.message
        assert callback_standin.url() not in str(recorded[0])  # the URL (a token) is never logged

        # Kakao refused the answer: the customer gets it with their next message.
        follow_up = checked((await gw.skill(skill_payload("고마워요", user="cb-user-3"))).content)
        texts = " ".join(texts_of(follow_up))
        assert "정상 운영 중" in texts
        assert gw.gateway.metrics.counters["kakao_late_served"] == 1


async def test_over_slow_turn_spends_the_callback_on_an_apology_and_serves_the_answer_later(
    tmp_path: Path, slow_api: SlowApi, callback_standin: CallbackStandIn
) -> None:
    slow_api.delay_s = 1.4
    kakao = _kakao(budget_s=0.4, callback_deadline_s=1.0)
    async with running_gateway(kakao=kakao, bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        started = time.monotonic()
        response = await gw.skill(skill_payload(SLOW_QUESTION, user="cb-user-4", callback_url=callback_standin.url()))
        assert response.json()["useCallback"] is True

        await callback_standin.wait_for_posts(1, within_s=5)
        assert len(callback_standin.posts) == 1
        apology = checked(callback_standin.posts[0].body)
        assert callback_standin.posts[0].at - started <= kakao["callback_deadline_s"] + 0.3
        assert "답변 확인하기" in quick_labels(apology)
        assert not any("정상 운영 중" in text for text in texts_of(apology))

        # Pressed too early: still working.
        tap = quick_reply(apology, "답변 확인하기")
        early = checked(
            (
                await gw.skill(skill_payload(tap["utterance"], user="cb-user-4", client_extra=tap["client_extra"]))
            ).content
        )
        assert any("아직 준비" in text for text in texts_of(early))
        assert "답변 확인하기" in quick_labels(early)

        await asyncio.sleep(max(0.0, started + slow_api.delay_s + 0.5 - time.monotonic()))
        late = checked(
            (
                await gw.skill(skill_payload(tap["utterance"], user="cb-user-4", client_extra=tap["client_extra"]))
            ).content
        )
        assert any("정상 운영 중" in text for text in texts_of(late))
        # The used URL is never POSTed again, and the late answer is served only once.
        assert len(callback_standin.posts) == 1
        again = checked(
            (
                await gw.skill(skill_payload(tap["utterance"], user="cb-user-4", client_extra=tap["client_extra"]))
            ).content
        )
        assert texts_of(again) == ["지금 전해 드릴 답변은 없어요. 궁금한 점을 편하게 다시 말씀해 주세요."]
        assert gw.gateway.metrics.counters["kakao_callback_late"] == 1


async def test_slow_turn_without_callback_url_answers_fast_and_keeps_the_answer(
    tmp_path: Path, slow_api: SlowApi
) -> None:
    slow_api.delay_s = 0.7
    kakao = _kakao()
    async with running_gateway(kakao=kakao, bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        started = time.monotonic()
        response = await gw.skill(skill_payload(SLOW_QUESTION, user="cb-user-5"))
        assert time.monotonic() - started < kakao["budget_s"] + 0.6
        fast = checked(response.content)
        assert fast.useCallback is None
        assert "답변 확인하기" in quick_labels(fast)
        assert not any("정상 운영 중" in text for text in texts_of(fast))

        await asyncio.sleep(slow_api.delay_s + 0.3)
        tap = quick_reply(fast, "답변 확인하기")
        late = checked(
            (
                await gw.skill(skill_payload(tap["utterance"], user="cb-user-5", client_extra=tap["client_extra"]))
            ).content
        )
        assert any("정상 운영 중" in text for text in texts_of(late))
        assert gw.gateway.metrics.counters["kakao_fast_answer"] == 1


async def test_a_waiting_answer_is_shown_once_in_front_of_the_next_reply(tmp_path: Path, slow_api: SlowApi) -> None:
    slow_api.delay_s = 0.6
    async with running_gateway(kakao=_kakao(), bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        first = checked((await gw.skill(skill_payload(SLOW_QUESTION, user="cb-user-8"))).content)
        assert not any("정상 운영 중" in text for text in texts_of(first))
        await asyncio.sleep(slow_api.delay_s + 0.3)

        # Asked again before fetching: the first answer comes in front of the new (fast) reply.
        second = checked((await gw.skill(skill_payload(SLOW_QUESTION, user="cb-user-8"))).content)
        shown = "\n".join(texts_of(second))
        assert shown.count("정상 운영 중") == 1
        assert "앞서 문의하신 내용에 대한 답변이에요" in shown
        assert "답변 확인하기" in quick_labels(second)
        await asyncio.sleep(slow_api.delay_s + 0.3)

        # Only the second answer is still waiting: the first is never shown twice.
        tap = quick_reply(second, "답변 확인하기")
        late = checked(
            (
                await gw.skill(skill_payload(tap["utterance"], user="cb-user-8", client_extra=tap["client_extra"]))
            ).content
        )
        assert "\n".join(texts_of(late)).count("정상 운영 중") == 1
        assert gw.gateway.metrics.counters["kakao_late_stashed"] == 2
        assert gw.gateway.metrics.counters["kakao_late_served"] == 2


async def test_callback_url_outside_the_allow_list_is_never_posted(
    tmp_path: Path, slow_api: SlowApi, callback_standin: CallbackStandIn
) -> None:
    slow_api.delay_s = 0.7
    kakao = _kakao(callback_allow_hosts=["*.kakao.com"])
    async with running_gateway(kakao=kakao, bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        response = await gw.skill(skill_payload(SLOW_QUESTION, user="cb-user-6", callback_url=callback_standin.url()))
        fast = checked(response.content)
        assert fast.useCallback is None  # treated as a request without a callback URL
        await asyncio.sleep(slow_api.delay_s + 0.3)
    assert callback_standin.posts == []


async def test_a_repeated_request_with_the_same_callback_url_posts_once(
    tmp_path: Path, slow_api: SlowApi, callback_standin: CallbackStandIn
) -> None:
    slow_api.delay_s = 0.7
    async with running_gateway(kakao=_kakao(), bot=str(make_slow_pack(tmp_path, slow_api.base_url))) as gw:
        payload = skill_payload(SLOW_QUESTION, user="cb-user-7", callback_url=callback_standin.url())
        first, second = await asyncio.gather(gw.skill(payload), gw.skill(payload))
        assert first.json()["useCallback"] is True and second.json()["useCallback"] is True
        await callback_standin.wait_for_posts(1, within_s=8)
        await asyncio.sleep(0.5)
    assert len(callback_standin.posts) == 1
    assert slow_api.calls == 1


async def test_a_late_answer_is_served_by_another_gateway_sharing_redis(
    tmp_path: Path, slow_api: SlowApi, redis_url: str
) -> None:
    slow_api.delay_s = 0.7
    pack = str(make_slow_pack(tmp_path, slow_api.base_url))
    user = f"cb-user-shared-{uuid.uuid4().hex[:8]}"
    async with (
        running_gateway(kakao=_kakao(), bot=pack, store_url=redis_url) as first,
        running_gateway(kakao=_kakao(), bot=pack, store_url=redis_url) as second,
    ):
        fast = checked((await first.skill(skill_payload(SLOW_QUESTION, user=user))).content)
        assert "답변 확인하기" in quick_labels(fast)
        await asyncio.sleep(slow_api.delay_s + 0.4)
        tap = quick_reply(fast, "답변 확인하기")
        late = checked(
            (await second.skill(skill_payload(tap["utterance"], user=user, client_extra=tap["client_extra"]))).content
        )
    assert any("정상 운영 중" in text for text in texts_of(late))
