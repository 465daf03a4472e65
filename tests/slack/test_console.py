"""The agents' console over real HTTP: handoffs from the web widget and Kakao, claim, relay, replies,
resolve, and the unclaimed-handoff ticket."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import msgspec
import pytest

from tests.slack.conftest import (
    AGENTS,
    BOT_USER,
    PILOT,
    ApiCall,
    SlackApiStandIn,
    SlackGateway,
    block_actions_body,
    event_body,
    slack_gateway,
)

WEB_API = "/web/api"


class WebCustomer:
    """A visitor of the web widget, driven through the web channel's documented HTTP API (docs/web.md)."""

    def __init__(self, gw: SlackGateway) -> None:
        self._gw = gw
        self.token = ""
        self.session_id = ""

    async def start(self) -> None:
        response = await self._gw.client.post(self._gw.base_url + WEB_API + "/sessions", json={})
        assert response.status_code == 201, response.text
        self.token, self.session_id = response.json()["token"], response.json()["session_id"]

    async def say(self, text: str) -> list[dict[str, Any]]:
        body = {"id": f"m-{uuid.uuid4().hex[:16]}", "text": text}
        response = await self._gw.client.post(self._gw.base_url + WEB_API + "/messages", json=body, headers=self._auth)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    async def history(self) -> list[dict[str, Any]]:
        response = await self._gw.client.get(self._gw.base_url + WEB_API + "/history", headers=self._auth)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    async def wait_for_text(self, role: str, fragment: str, within_s: float = 10.0) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if any(fragment in _texts(e) for e in await self.history() if e["role"] == role):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {role} event with {fragment!r} in {await self.history()}")

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _texts(event: dict[str, Any]) -> str:
    return " ".join(str(p.get("text", "")) for p in event.get("parts", [])) + str(event.get("text", ""))


def _bot_said_anything(events: list[dict[str, Any]]) -> bool:
    return any(e["role"] == "bot" and e.get("parts") for e in events)


def _card(slack_api: SlackApiStandIn) -> ApiCall:
    cards = [p for p in slack_api.posts(AGENTS) if not p.args.get("thread_ts")]
    assert len(cards) == 1, cards
    return cards[0]


def _agent_reply(card: ApiCall, text: str, ts: str) -> dict[str, Any]:
    event = {
        "type": "message",
        "channel": AGENTS,
        "user": "UAGENT",
        "text": text,
        "ts": ts,
        "thread_ts": card.ts,
        "parent_user_id": BOT_USER,
        "client_msg_id": f"cm-{ts}",
        "channel_type": "channel",
    }
    return event_body(event, f"Ev{ts.replace('.', '')}")


async def test_web_handoff_is_claimed_answered_and_resolved_from_slack(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    web = {"web": {"enabled": True, "demo_page": False}}
    async with slack_gateway(monkeypatch, slack_api, extra_channels=web) as gw:
        customer = WebCustomer(gw)
        await customer.start()
        events = await customer.say("상담직원 연결해 주세요")
        assert any(p["type"] == "handoff" for e in events for p in e.get("parts", []))

        # The card in the agents' channel: packet fields, masked customer id, transcript in its thread.
        await slack_api.wait_for(lambda: len(slack_api.posts(AGENTS)) >= 2)
        card = _card(slack_api)
        assert "웹 채팅" in card.text and "상담직원 연결을 요청" in card.text
        assert customer.session_id not in card.text
        assert f"web:{customer.session_id[:3]}…{customer.session_id[-2:]}" in card.text
        transcript = slack_api.posts(AGENTS, thread_ts=card.ts)[0]
        assert "대화 기록" in transcript.text and "상담직원 연결해 주세요" in transcript.text

        # Claim: the card changes, the customer is told a person has joined.
        await gw.send_action(block_actions_body(card, card.button("담당하기")))
        await slack_api.wait_for(lambda: any("상담 중" in u.text for u in slack_api.updates(AGENTS)))
        claimed = slack_api.updates(AGENTS)[-1]
        assert [b["text"]["text"] for b in claimed.buttons()] == ["상담 종료 · 챗봇으로 전환"]
        await customer.wait_for_text("agent", "상담직원이 연결되었어요")

        # While the agent owns it the bot says nothing; the message is relayed into the thread.
        events = await customer.say("주문한 TV가 아직 안 왔어요 010-1234-5678")
        assert not _bot_said_anything(events)
        await slack_api.wait_for(lambda: any("아직 안 왔어요" in p.text for p in slack_api.posts(AGENTS, card.ts)))
        relayed = next(p for p in slack_api.posts(AGENTS, card.ts) if "아직 안 왔어요" in p.text)
        assert "1234-5678" not in relayed.text  # relayed text is masked

        # The agent's thread reply reaches the web customer.
        await gw.send_event(
            _agent_reply(
                card, "안녕하세요, 상담직원 김누리예요. <https://nuri.example/track|배송 조회>", "1700000500.000001"
            )
        )
        await customer.wait_for_text("agent", "상담직원 김누리예요")
        agent_events = [e for e in await customer.history() if e["role"] == "agent"]
        assert "배송 조회 (https://nuri.example/track)" in _texts(agent_events[-1])

        # Resolve: the bot takes the conversation back, the customer is told, the bot answers again.
        card_now = slack_api.updates(AGENTS)[-1]
        card_now.ts = card.ts
        await gw.send_action(block_actions_body(card_now, card_now.button("상담 종료 · 챗봇으로 전환")))
        await slack_api.wait_for(lambda: any("상담을 마쳤어요" in u.text for u in slack_api.updates(AGENTS)))
        await customer.wait_for_text("agent", "상담직원과의 상담이 끝났어요")
        events = await customer.say("전원이 안 켜져요")
        assert _bot_said_anything(events)
        assert "어떤 제품인가요" in " ".join(_texts(e) for e in events)

        # A late thread reply is not delivered after resolve; the agent is told so.
        before = len([e for e in await customer.history() if e["role"] == "agent"])
        await gw.send_event(_agent_reply(card, "하나 더 말씀드리면요", "1700000500.000002"))
        await slack_api.wait_for(lambda: any("이미 끝난 상담" in p.text for p in slack_api.posts(AGENTS, card.ts)))
        assert len([e for e in await customer.history() if e["role"] == "agent"]) == before

        # The engine recorded the agent's words in the (masked) transcript.
        conv = await gw.gateway.store.load(f"web:{customer.session_id}")
        assert conv is not None and conv.owner == "bot" and not conv.handed_off
        assert any(e.role == "agent" and "김누리" in e.text for e in conv.transcript)


async def test_unclaimed_handoff_becomes_a_ticket(monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn) -> None:
    root = "1700000600.000001"
    mention = {
        "type": "message",
        "channel": PILOT,
        "user": "W222",
        "text": "상담직원 연결해 주세요",
        "ts": root,
        "client_msg_id": "cm-t1",
        "channel_type": "channel",
    }
    async with slack_gateway(monkeypatch, slack_api, slack={"handoff_timeout_s": 0.5}) as gw:
        await gw.send_event(event_body(mention, "EvT1"))
        await slack_api.wait_for(lambda: any("티켓" in u.text for u in slack_api.updates(AGENTS)))
        await slack_api.wait_for(lambda: any("접수번호" in p.text for p in slack_api.posts(PILOT, root)))
        card = _card(slack_api)
        ticket_update = slack_api.updates(AGENTS)[-1]
        # The ticket can still be claimed.
        assert ticket_update.buttons()[0]["text"]["text"] == "담당하기"
        ticket_post = next(p for p in slack_api.posts(PILOT, root) if "접수번호" in p.text)
        ticket_id = ticket_post.text.split("접수번호는 ")[1].split("이고")[0]
        stored = await gw.gateway.store.get(f"ticket:{ticket_id}")
        assert stored is not None
        assert msgspec.json.decode(stored)["conversation_key"] == f"slack:T111:{PILOT}:{root}"
        assert any(ticket_id in p.text for p in slack_api.posts(AGENTS, card.ts))


async def test_kakao_handoff_card_says_the_customer_went_to_kakao_chat(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    async with slack_gateway(monkeypatch, slack_api, extra_channels={"kakao": {"enabled": True}}) as gw:
        response = await gw.client.post(
            gw.base_url + "/kakao/skill", json=_kakao_skill_payload("상담직원 연결해 주세요", user="kakao-user-1")
        )
        assert response.status_code == 200
        assert "operator" in response.text  # Kakao's own 상담직원 연결 button
        await slack_api.wait_for(lambda: len(slack_api.posts(AGENTS)) >= 1)
        card = _card(slack_api)
    assert "카카오톡" in card.text and "1:1 채팅" in card.text
    assert "kakao-user-1" not in card.text


async def test_agents_talking_in_other_threads_are_left_alone(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    async with slack_gateway(monkeypatch, slack_api) as gw:
        top = event_body(
            {
                "type": "message",
                "channel": AGENTS,
                "user": "UAGENT",
                "text": "점심 뭐 먹죠?",
                "ts": "1700000700.000001",
                "client_msg_id": "cm-a1",
                "channel_type": "channel",
            },
            "EvA1",
        )
        reply = event_body(
            {
                "type": "message",
                "channel": AGENTS,
                "user": "UAGENT2",
                "text": "국밥이요",
                "ts": "1700000700.000002",
                "thread_ts": "1700000700.000001",
                "client_msg_id": "cm-a2",
                "channel_type": "channel",
            },
            "EvA2",
        )
        assert (await gw.send_event(top)).status_code == 200
        assert (await gw.send_event(reply)).status_code == 200
        await asyncio.sleep(0.4)
    assert slack_api.calls == []  # no post, no update (auth.test is not recorded)


def _kakao_skill_payload(utterance: str, *, user: str) -> dict[str, Any]:
    """A Kakao i Open Builder SkillPayload (fields as in Kakao's examples), without a callback URL."""
    return {
        "intent": {"id": "fallback-block", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {"surface": "Kakaotalk.plusfriend"},
            "block": {"id": "fallback-block", "name": "폴백 블록"},
            "utterance": utterance,
            "lang": "ko",
            "user": {"id": user, "type": "botUserKey", "properties": {"plusfriendUserKey": f"pf-{user}"}},
        },
        "bot": {"id": "bot-1", "name": "누리전자 상담"},
        "action": {"name": "sangdam", "clientExtra": None, "params": {}, "id": "skill-1", "detailParams": {}},
    }


async def test_a_customer_who_goes_back_to_the_bot_gets_no_ticket(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    root = "1700000800.000001"

    def pilot_message(text: str, ts: str) -> dict[str, Any]:
        event = {
            "type": "message",
            "channel": PILOT,
            "user": "W222",
            "text": text,
            "ts": ts,
            "client_msg_id": f"cm-{ts}",
            "channel_type": "channel",
        }
        if ts != root:
            event["thread_ts"] = root
        return event_body(event, f"Ev{ts.replace('.', '')}")

    async with slack_gateway(monkeypatch, slack_api, slack={"handoff_timeout_s": 1.0}) as gw:
        await gw.send_event(pilot_message("상담직원 연결해 주세요", root))
        await slack_api.wait_for(lambda: len(slack_api.posts(AGENTS)) >= 2)
        card = _card(slack_api)
        # Unclaimed: the bot says an agent will come, offers to continue, and relays the message.
        await gw.send_event(pilot_message("아직 멀었나요?", "1700000800.000002"))
        await slack_api.wait_for(lambda: len(slack_api.posts(PILOT, root)) == 2)
        await slack_api.wait_for(lambda: any("아직 멀었나요" in p.text for p in slack_api.posts(AGENTS, card.ts)))
        busy = slack_api.posts(PILOT, root)[1]
        await gw.send_action(block_actions_body(busy, busy.button("챗봇과 계속 대화"), user="W222"))
        await slack_api.wait_for(lambda: len(slack_api.posts(PILOT, root)) == 3)
        await slack_api.wait_for(
            lambda: any("티켓을 만들지 않았어요" in p.text for p in slack_api.posts(AGENTS, card.ts))
        )
        await asyncio.sleep(0.2)
    assert not any("접수번호" in p.text for p in slack_api.posts(PILOT, root))
    assert "상담을 마쳤어요" in slack_api.updates(AGENTS)[-1].text


async def test_slack_posting_does_not_hold_up_the_customers_turn(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    # Slack answers the card with 429 Retry-After: 3; the web customer's requests must not wait for it,
    # and the card, its transcript and the customer's next message still arrive in that order.
    slack_api.retry_after_s = 3
    slack_api.rate_limit_next[AGENTS] = 1
    web = {"web": {"enabled": True, "demo_page": False}}
    async with slack_gateway(monkeypatch, slack_api, extra_channels=web) as gw:
        customer = WebCustomer(gw)
        await customer.start()
        events = await customer.say("상담직원 연결해 주세요")
        assert any(p["type"] == "handoff" for e in events for p in e.get("parts", []))
        assert slack_api.posts(AGENTS) == []  # the turn answered while the card still waits on Slack
        await customer.say("주문한 TV가 아직 안 왔어요")
        assert slack_api.posts(AGENTS) == []
        await slack_api.wait_for(lambda: len(slack_api.posts(AGENTS)) >= 3)
        await asyncio.sleep(0.2)
    posted = slack_api.posts(AGENTS)
    assert [c.method for c in slack_api.calls][:1] == ["chat.postMessage:429"]
    card = posted[0]
    assert "thread_ts" not in card.args and "상담 연결 요청" in card.text
    assert [p.args.get("thread_ts") for p in posted[1:]] == [card.ts, card.ts]
    assert "대화 기록" in posted[1].text and "아직 안 왔어요" in posted[2].text
    assert len(posted) == 3


async def test_a_file_only_agent_reply_is_not_delivered_and_the_agent_is_told(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    web = {"web": {"enabled": True, "demo_page": False}}
    async with slack_gateway(monkeypatch, slack_api, extra_channels=web) as gw:
        customer = WebCustomer(gw)
        await customer.start()
        await customer.say("상담직원 연결해 주세요")
        await slack_api.wait_for(lambda: len(slack_api.posts(AGENTS)) >= 2)
        card = _card(slack_api)
        file_only = {
            "type": "message",
            "subtype": "file_share",
            "channel": AGENTS,
            "user": "UAGENT",
            "text": "",
            "ts": "1700000900.000001",
            "thread_ts": card.ts,
            "files": [{"id": "F111", "name": "영수증.png", "mimetype": "image/png"}],
            "channel_type": "channel",
        }
        assert (await gw.send_event(event_body(file_only, "EvFile1"))).status_code == 200
        await slack_api.wait_for(lambda: any("파일은 고객에게" in p.text for p in slack_api.posts(AGENTS, card.ts)))
        await asyncio.sleep(0.3)
        # Nothing reached the customer, and the handoff was not claimed by a message that said nothing.
        assert [e for e in await customer.history() if e["role"] == "agent"] == []
        assert slack_api.updates(AGENTS) == []
        conv = await gw.gateway.store.load(f"web:{customer.session_id}")
        assert conv is not None and conv.owner != "agent"


async def test_a_reply_in_an_older_cards_thread_is_answered_with_a_note(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    web = {"web": {"enabled": True, "demo_page": False}}
    async with slack_gateway(monkeypatch, slack_api, extra_channels=web) as gw:
        customer = WebCustomer(gw)
        await customer.start()
        await customer.say("상담직원 연결해 주세요")
        await slack_api.wait_for(lambda: len(slack_api.posts(AGENTS)) >= 2)
        old = _card(slack_api)
        await gw.send_action(block_actions_body(old, old.button("상담 종료 · 챗봇으로 전환")))
        await customer.wait_for_text("agent", "상담직원과의 상담이 끝났어요")
        # The customer asks again: a newer card; the old card's thread no longer reaches them.
        await customer.say("상담직원 연결해 주세요")
        await slack_api.wait_for(lambda: len([p for p in slack_api.posts(AGENTS) if not p.args.get("thread_ts")]) == 2)
        before = [e for e in await customer.history() if e["role"] == "agent"]
        await gw.send_event(_agent_reply(old, "아까 문의하신 건은요", "1700000950.000001"))
        await slack_api.wait_for(lambda: any("최신 카드" in p.text for p in slack_api.posts(AGENTS, old.ts)))
        await asyncio.sleep(0.3)
        assert [e for e in await customer.history() if e["role"] == "agent"] == before
