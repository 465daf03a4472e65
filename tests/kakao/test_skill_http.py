"""The Kakao skill endpoint end to end: the real gateway (sangdam.app) on loopback, real HTTP.

Requests are shaped like Kakao's SkillPayload; a quick-reply tap is replayed the way Kakao sends it
(its messageText as utterance, its `extra` as action.clientExtra). Every 200 answer must pass
`limits.validate`, i.e. be a SkillResponse Kakao accepts.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
import pytest
from structlog.testing import capture_logs

from adapters.kakao.config import parse_config
from adapters.kakao.limits import validate
from adapters.kakao.response import SkillResponse, decode_response
from core.messages import Text
from core.settings import SettingsError

from .conftest import RunningGateway, WebhookSink, running_gateway, serve_standin, skill_payload


class Customer:
    """One KakaoTalk user talking to the skill, tapping quick replies by their label."""

    def __init__(self, gw: RunningGateway, user: str) -> None:
        self.gw = gw
        self.user = user
        self.last: SkillResponse | None = None

    async def says(self, text: str, **kwargs: Any) -> SkillResponse:
        response = await self.gw.skill(skill_payload(text, user=self.user, **kwargs))
        assert response.status_code == 200, response.text
        self.last = decode_response(response.content)
        assert validate(self.last) == []
        return self.last

    async def taps(self, label: str) -> SkillResponse:
        assert self.last is not None and self.last.template is not None
        labels = [r.label for r in self.last.template.quickReplies]
        assert label in labels, f"{label!r} not offered; quick replies: {labels}"
        reply = next(r for r in self.last.template.quickReplies if r.label == label)
        return await self.says(reply.messageText or reply.label, client_extra=reply.extra)


def texts(resp: SkillResponse) -> str:
    """All customer-visible text of a response, joined (for `in` checks)."""
    assert resp.template is not None
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("text", "title", "description") and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(msgspec.to_builtins(resp.template.outputs))
    return "\n".join(found)


def buttons(resp: SkillResponse) -> list[dict[str, Any]]:
    assert resp.template is not None
    found: list[dict[str, Any]] = []
    for output in msgspec.to_builtins(resp.template.outputs):
        for component in output.values():
            found.extend(component.get("buttons", []))
    return found


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


async def test_demo_power_scenario_end_to_end(store_url: str | None) -> None:
    async with running_gateway(store_url=store_url) as gw:
        user = f"botuser-e2e-{uuid.uuid4().hex[:8]}"
        customer = Customer(gw, user)
        assert "무엇을 도와드릴까요" in texts(await customer.says("안녕하세요"))
        assert "어떤 제품인가요" in texts(await customer.says("티비 전원이 안 켜져요"))
        assert "어떤 증상인가요" in texts(await customer.taps("누리비전 TV"))
        step = await customer.taps("아예 안 켜져요")
        assert "전원 코드" in texts(step)
        assert step.template is not None
        assert any("simpleImage" in msgspec.to_builtins(o) for o in step.template.outputs)
        resolved = await customer.taps("해결됐어요")
        assert "해결됐어요" in texts(resolved) and "평가해 주세요" in texts(resolved)
        assert "감사해요" in texts(await customer.taps("5점"))

        # The conversation lives under the botUserKey (userRequest.user.id).
        conversation = await gw.gateway.store.load(f"kakao:{user}")
        assert conversation is not None and conversation.slots["product"] == "누리비전 QLED TV"
        assert gw.gateway.metrics.counters["kakao_inline"] == 6

        # A scenario that asks for a slot and calls a tool (the demo's order lookup).
        shopper = Customer(gw, f"botuser-order-{uuid.uuid4().hex[:8]}")
        assert "주문번호를 알려 주세요" in texts(await shopper.says("주문한 거 배송 조회하고 싶어요"))
        assert "형식이 맞지 않아요" in texts(await shopper.says("몰라요"))  # invalid answer: asked again
        order = await shopper.says("ORD-20261101-0001")
        assert "배송중" in texts(order) and "612345678901" in texts(order)


async def test_each_bot_user_key_is_its_own_conversation() -> None:
    async with running_gateway() as gw:
        alice, bob = Customer(gw, "botuser-alice"), Customer(gw, "botuser-bob")
        await alice.says("티비 전원이 안 켜져요")
        await bob.says("인터넷이 안 돼요")
        assert "어떤 증상인가요" in texts(await alice.taps("누리비전 TV"))
        bob_conv = await gw.gateway.store.load("kakao:botuser-bob")
        alice_conv = await gw.gateway.store.load("kakao:botuser-alice")
        assert bob_conv is not None and alice_conv is not None
        assert bob_conv.scenario is not None and bob_conv.scenario.scenario_id == "network_issue"
        assert alice_conv.slots.get("product") == "누리비전 QLED TV" and "product" not in bob_conv.slots


async def test_handoff_shows_the_operator_button_and_publishes_the_packet() -> None:
    sink = WebhookSink()
    async with serve_standin(sink.app()) as sink_url:
        handoff = {"sinks": ["webhook"], "webhook_url": f"{sink_url}/handoff"}
        async with running_gateway(handoff=handoff, kakao={"operator_label": "상담직원 연결"}) as gw:
            customer = Customer(gw, "botuser-handoff")
            await customer.says("티비 전원이 안 켜져요")
            reply = await customer.says("상담직원 연결해 주세요")
            for _ in range(50):
                if sink.packets:
                    break
                await asyncio.sleep(0.02)
    assert {"label": "상담직원 연결", "action": "operator"} in buttons(reply)
    assert "상담직원에게 연결" in texts(reply)
    assert len(sink.packets) == 1
    packet = sink.packets[0]
    assert packet["channel"] == "kakao" and packet["conversation_key"] == "kakao:botuser-handoff"
    assert packet["reason"] == "agent_request"
    assert any(entry["text"] == "티비 전원이 안 켜져요" for entry in packet["transcript"])


async def test_knowledge_plus_match_is_answered() -> None:
    match = {
        "question": "선물 포장이 되나요?",
        "answer": "주문서의 요청 사항에 적어 주시면 무료로 선물 포장해 드려요.",
        "categories": ["주문"],
        "landingUrl": "https://support.nuri.example/faq/gift",
    }
    async with running_gateway() as gw:
        reply = await Customer(gw, "botuser-kb").says("선물 포장 가능?", knowledge=[match])
    assert "무료로 선물 포장" in texts(reply)
    assert any(b.get("webLinkUrl") == "https://support.nuri.example/faq/gift" for b in buttons(reply))


async def test_knowledge_plus_answer_wins_over_a_scenario_but_not_over_a_request_for_a_person() -> None:
    match = {
        "question": "TV 전원이 안 켜질 때는 어떻게 하나요?",
        "answer": "멀티탭 스위치를 확인하고, 전원 코드를 뺐다가 1분 뒤 다시 꽂아 주세요.",
        "categories": ["TV"],
    }
    async with running_gateway() as gw:
        reply = await Customer(gw, "botuser-kb2").says("티비 전원이 안 켜져요", knowledge=[match])
        person = await Customer(gw, "botuser-kb3").says("상담원 연결해 주세요", knowledge=[match])
    assert "멀티탭 스위치" in texts(reply)
    assert "어떤 제품인가요" not in texts(reply)  # the power scenario did not start
    assert "상담직원에게 연결" in texts(person)


async def test_secret_header_is_required_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    kakao = {"secret_header": "X-Kakao-Skill-Secret", "secret_env": "SANGDAM_KAKAO_TEST_SECRET"}
    async with running_gateway(kakao=kakao, env={"SANGDAM_KAKAO_TEST_SECRET": "s3cret-value"}) as gw:
        payload = skill_payload("안녕하세요", user="botuser-auth")
        missing = await gw.skill(payload)
        wrong = await gw.skill(payload, headers={"X-Kakao-Skill-Secret": "s3cret-valuX"})
        right = await gw.skill(payload, headers={"x-kakao-skill-secret": "s3cret-value"})
    for refused in (missing, wrong):
        assert refused.status_code == 401
        assert refused.json() == {
            "error": "unauthorized",
            "detail": "missing or wrong X-Kakao-Skill-Secret header",
        }
    assert right.status_code == 200 and validate(decode_response(right.content)) == []


async def test_start_up_warns_when_no_secret_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANGDAM_KAKAO_SECRET", raising=False)
    with capture_logs() as logs:
        async with running_gateway():
            pass
    assert any(entry["event"] == "kakao_skill_unauthenticated" and entry["log_level"] == "warning" for entry in logs)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "malformed JSON"),
        (b"", "empty request body"),
        (b"[]", "expected `object`"),
        (b'{"userRequest": {"utterance": "hi"}}', "userRequest.user"),
        (b'{"userRequest": {"utterance": "hi", "user": {"id": 7}}}', "userRequest.user.id"),
        (b'{"bot": {"id": "b"}}', "userRequest"),
    ],
)
async def test_bad_payloads_get_a_400_saying_what_is_wrong(body: bytes, detail: str) -> None:
    async with running_gateway() as gw:
        response = await gw.skill(body)
        after = await gw.skill(skill_payload("안녕하세요", user="botuser-after-400"))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert detail in response.json()["detail"]
    assert after.status_code == 200  # the server is unharmed


async def test_path_is_configurable() -> None:
    async with running_gateway(kakao={"path": "/hooks/kakao-skill"}) as gw:
        moved = await gw.skill(skill_payload("안녕하세요", user="botuser-path"))
        default = await gw.client.post(gw.base_url + "/kakao/skill", json=skill_payload("hi", user="x"))
    assert moved.status_code == 200 and validate(decode_response(moved.content)) == []
    assert default.status_code in (404, 405)


async def test_disabled_channel_has_no_endpoint() -> None:
    async with running_gateway(kakao={"enabled": False}) as gw:
        response = await gw.skill(skill_payload("안녕하세요", user="botuser-off"))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"budget_s": 6}, "budget_s"),
        ({"callback_deadline_s": 70}, "callback_deadline_s"),
        ({"path": "kakao"}, "path"),
        ({"budget_sec": 3}, "budget_sec"),
        ({"callback_allow_hosts": "kakao.com"}, "callback_allow_hosts"),
    ],
)
def test_bad_kakao_settings_are_refused_naming_the_key(section: dict[str, Any], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        parse_config({"enabled": True, **section})


async def test_pushed_messages_wait_for_the_next_message() -> None:
    async with running_gateway() as gw:
        channel = gw.gateway.channels[0]
        customer = Customer(gw, "botuser-push")
        await customer.says("안녕하세요")
        pushed = await channel.deliver("botuser-push", [Text(text="상담직원이 확인한 결과, 무상 수리 대상이에요.")])
        assert pushed is False  # Kakao cannot push outside a request
        reply = await customer.says("고마워요")
    assert "무상 수리 대상이에요" in texts(reply)
    assert texts(reply).index("무상 수리 대상이에요") < texts(reply).index("다행이에요")


def test_budget_must_leave_room_for_the_fast_reply() -> None:
    assert parse_config({"budget_s": 4.5}).budget_s == 4.5
    with pytest.raises(SettingsError, match=r"budget_s must be above 0 and at most 4.5"):
        parse_config({"budget_s": 4.8})


async def test_a_long_waiting_answer_does_not_push_out_the_new_reply() -> None:
    async with running_gateway() as gw:
        channel = gw.gateway.channels[0]
        customer = Customer(gw, "botuser-long-stash")
        await customer.says("안녕하세요")
        long_answer = "상담직원이 확인한 내용을 자세히 안내해 드릴게요. " * 100  # ≈ 2,800 characters: 3+ bubbles
        await channel.deliver("botuser-long-stash", [Text(text=long_answer)])
        reply = await customer.says("티비 전원이 안 켜져요")
    assert "어떤 제품인가요" in texts(reply)  # the new turn's answer is there, whole
    assert "상담직원이 확인한 내용" in texts(reply)  # and the waiting one, in front of it
    assert texts(reply).index("상담직원이 확인한 내용") < texts(reply).index("어떤 제품인가요")


async def test_while_an_agent_owns_the_conversation_the_customer_is_told_it_was_passed_on() -> None:
    async with running_gateway(kakao={"agent_owned_text": "상담직원에게 전달했어요."}) as gw:
        customer = Customer(gw, "botuser-agent")
        await customer.says("안녕하세요")
        assert await gw.gateway.engine.claim("kakao:botuser-agent", "김상담")
        silent = await customer.says("언제 답변 주시나요?")
        # The agent's reply (Slack console -> deliver) reaches the customer with their next message.
        await gw.gateway.channels[0].deliver("botuser-agent", [Text(text="내일 오전에 연락드릴게요.")])
        later = await customer.says("네")
    assert texts(silent) == "상담직원에게 전달했어요."
    assert "내일 오전에 연락드릴게요." in texts(later)
    assert gw.gateway.metrics.counters["kakao_agent_owned"] == 2


async def test_an_over_size_body_gets_the_documented_413() -> None:
    async with running_gateway(kakao={"max_body_bytes": 2048}) as gw:
        payload = skill_payload("가" * 3000, user="botuser-big")
        response = await gw.skill(payload)
    assert response.status_code == 413
    assert response.json() == {"error": "payload_too_large", "detail": "body over 2048 bytes"}


async def test_a_refused_bot_id_is_logged_for_the_operator() -> None:
    async with running_gateway(kakao={"allowed_bot_ids": ["bot-allowed"]}) as gw:
        with capture_logs() as logs:
            response = await gw.skill(skill_payload("안녕하세요", user="botuser-403"))
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    refused = [entry for entry in logs if entry["event"] == "kakao_bot_refused"]
    assert refused and refused[0]["bot_id"] == "bot-1"


async def test_bot_tester_traffic_is_counted_apart() -> None:
    async with running_gateway() as gw:
        payload = skill_payload("안녕하세요", user="botuser-tester")
        payload["userRequest"]["params"] = {"surface": "BuilderBotTest"}
        assert (await gw.skill(payload)).status_code == 200
        assert (await gw.skill(skill_payload("안녕하세요", user="botuser-real"))).status_code == 200
    assert gw.gateway.metrics.counters["kakao_bot_tester"] == 1


async def test_a_chunked_over_size_body_is_refused_without_a_declared_length() -> None:
    async def chunks() -> Any:
        for _ in range(3):
            yield b"x" * 1000

    async with running_gateway(kakao={"max_body_bytes": 2048}) as gw:
        response = await gw.client.post(gw.base_url + "/kakao/skill", content=chunks())
    assert response.status_code == 413
    assert response.json() == {"error": "payload_too_large", "detail": "body over 2048 bytes"}


async def test_other_methods_get_a_405_naming_post() -> None:
    async with running_gateway() as gw:
        response = await gw.client.get(gw.base_url + "/kakao/skill")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "error": "method_not_allowed",
        "detail": "send the SkillPayload with POST to /kakao/skill",
    }


async def test_a_websocket_handshake_on_the_skill_url_is_refused() -> None:
    import websockets

    async with running_gateway() as gw:
        url = gw.base_url.replace("http://", "ws://") + "/kakao/skill"
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(url):
                pass
        after = await gw.skill(skill_payload("안녕하세요", user="botuser-after-ws"))
    assert refused.value.response.status_code == 403
    assert after.status_code == 200


async def test_answers_kept_at_the_same_moment_are_all_served(store_url: str | None) -> None:
    # e.g. an agent's reply (deliver) and a late turn answer finishing together: neither may be lost.
    async with running_gateway(store_url=store_url) as gw:
        channel = gw.gateway.channels[0]
        user = f"botuser-stash-{uuid.uuid4().hex[:8]}"
        customer = Customer(gw, user)
        await customer.says("안녕하세요")
        await asyncio.gather(*(channel.deliver(user, [Text(text=f"전달 {i}번")]) for i in range(8)))
        reply = await customer.says("답변 확인하기")
    assert all(f"전달 {i}번" in texts(reply) for i in range(8))
