"""The Slack endpoint over real HTTP: signatures, url_verification, retries, bots, the pilot through buttons."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import log_events
from tests.slack.conftest import (
    BOT_ID,
    BOT_USER,
    PILOT,
    SlackApiStandIn,
    SlowApi,
    block_actions_body,
    event_body,
    fixture,
    make_slow_pack,
    signed_headers,
    slack_gateway,
)


async def test_url_verification_answers_the_challenge(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    body = json.dumps(fixture("01_url_verification.json")).encode()
    async with slack_gateway(monkeypatch, slack_api) as gw:
        response = await gw.client.post(
            gw.base_url + gw.path, content=body, headers={"Content-Type": "application/json", **signed_headers(body)}
        )
    assert response.status_code == 200
    assert fixture("01_url_verification.json")["challenge"] in response.text


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed_headers(body, secret="not-the-secret"), id="bad-signature"),
        pytest.param(lambda body: signed_headers(body, timestamp=int(time.time()) - 360), id="six-minutes-old"),
        pytest.param(lambda body: {}, id="unsigned"),
    ],
)
async def test_unverified_requests_are_refused(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn, headers: Any
) -> None:
    body = json.dumps(event_body(_mention("<@UBOT> 전원이 안 켜져요", "cm-refused"), "EvRefused")).encode()
    async with slack_gateway(monkeypatch, slack_api) as gw:
        response = await gw.client.post(
            gw.base_url + gw.path, content=body, headers={"Content-Type": "application/json", **headers(body)}
        )
        await asyncio.sleep(0.3)
    assert response.status_code == 401
    assert slack_api.posts() == []


def _mention(text: str, client_msg_id: str, channel: str = "CGENERAL", ts: str = "1595926230.009600") -> dict[str, Any]:
    return {
        "client_msg_id": client_msg_id,
        "type": "app_mention",
        "text": text,
        "user": "W222",
        "ts": ts,
        "team": "T111",
        "channel": channel,
        "event_ts": ts,
    }


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_one_event_delivered_four_times_gets_one_reply(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn, request: pytest.FixtureRequest, store: str
) -> None:
    event = fixture("02_app_mention.json")
    event["event"]["text"] = f"<@{BOT_USER}> 주문 배송 조회하고 싶어요"
    store_url = request.getfixturevalue("redis_url") if store == "redis" else None
    if store_url is not None:  # a fresh event id: the Redis server is shared by the whole session
        event["event_id"] = event["event"]["client_msg_id"] = f"Ev{uuid.uuid4().hex}"
    async with slack_gateway(monkeypatch, slack_api, store_url=store_url) as gw:
        first = await gw.send_event(event)
        retries = await asyncio.gather(
            *(
                gw.send_event(event, {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"})
                for n in (1, 2, 3)
            )
        )
        # The same user message also arrives as a `message` event (another event_id, same client_msg_id).
        as_message = {
            **event,
            "event_id": "Ev222",
            "event": {**event["event"], "type": "message", "channel_type": "channel"},
        }
        also = await gw.send_event(as_message)
        thread = event["event"]["ts"]
        await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=thread)) >= 1)
        await asyncio.sleep(0.5)  # room for a wrong second reply to show up
    assert [r.status_code for r in (first, *retries, also)] == [200] * 5
    replies = slack_api.posts(thread_ts=thread)
    assert len(replies) == 1
    assert replies[0].args["channel"] == "C111"
    assert "주문" in replies[0].text


async def test_bots_edits_and_deletions_get_no_reply(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    app_message = fixture("06_message_from_app_bot_id_no_subtype.json")
    classic_bot = fixture("07_message_subtype_bot_message.json")
    own = _mention("전원이 안 켜져요", "cm-own", channel=PILOT) | {
        "type": "message",
        "user": BOT_USER,
        "bot_id": BOT_ID,
    }
    edited = fixture("08_message_changed_in_thread.json")
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": PILOT,
        "ts": "1.2",
        "deleted_ts": "1.1",
        "previous_message": {"type": "message", "user": "W222", "text": "전원이 안 켜져요", "ts": "1.1"},
    }
    bodies = [
        app_message | {"event": app_message["event"] | {"channel": PILOT}, "event_id": "EvBot1"},
        classic_bot | {"event": classic_bot["event"] | {"channel": PILOT}, "event_id": "EvBot2"},
        event_body(own, "EvBot3"),
        edited | {"event": edited["event"] | {"channel": PILOT}, "event_id": "EvEdit"},
        event_body(deleted, "EvDel"),
    ]
    async with slack_gateway(monkeypatch, slack_api) as gw:
        statuses = [(await gw.send_event(body)).status_code for body in bodies]
        # A human message afterwards is answered: the endpoint works, the others were filtered.
        human = event_body(
            _mention("전원이 안 켜져요", "cm-human", channel=PILOT, ts="1700000100.000001")
            | {"type": "message", "channel_type": "channel"},
            "EvHuman",
        )
        await gw.send_event(human)
        await slack_api.wait_for(lambda: len(slack_api.posts()) >= 1)
        await asyncio.sleep(0.3)
    assert statuses == [200] * 5
    assert [p.args.get("thread_ts") for p in slack_api.posts()] == ["1700000100.000001"]


async def test_pilot_runs_a_demo_scenario_through_buttons(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    root = "1700000200.000001"
    async with slack_gateway(monkeypatch, slack_api) as gw:
        await gw.send_event(event_body(_mention(f"<@{BOT_USER}> 전원이 안 켜져요", "cm-s1", ts=root), "EvS1"))
        await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=root)) == 1)
        first = slack_api.posts(thread_ts=root)[0]
        assert "어떤 제품인가요" in first.text

        async def press(message_index: int, label: str) -> None:
            message = slack_api.posts(thread_ts=root)[message_index]
            before = len(slack_api.posts(thread_ts=root))
            response = await gw.send_action(block_actions_body(message, message.button(label), user="W222"))
            assert response.status_code == 200
            await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=root)) > before)

        await press(0, "누리비전 TV")
        assert "어떤 증상인가요" in slack_api.posts(thread_ts=root)[1].text
        await press(1, "아예 안 켜져요")
        assert "전원 코드" in slack_api.posts(thread_ts=root)[2].text
        await press(2, "해결됐어요")
        last = slack_api.posts(thread_ts=root)[3]
        assert "1점" in last.text  # the satisfaction question with its 1..5 buttons
        await press(3, "5점")
        thanks = slack_api.posts(thread_ts=root)[4]
        # A plain thread reply (no mention) continues the same conversation.
        reply = event_body(
            {
                "type": "message",
                "channel": "CGENERAL",
                "user": "W222",
                "text": "고마워요",
                "ts": "1700000200.000009",
                "thread_ts": root,
                "client_msg_id": "cm-s2",
                "channel_type": "channel",
            },
            "EvS2",
        )
        await gw.send_event(reply)
        await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=root)) == 6)
    assert thanks.args["channel"] == "CGENERAL"
    # Every pressed message had its buttons replaced by the choice made.
    updates = slack_api.updates("CGENERAL")
    assert len(updates) == 4
    assert "누리비전 TV" in updates[0].text and "sangdam.reply" not in json.dumps(updates[0].args["blocks"][-1])


async def test_the_ack_goes_out_before_a_slow_turn_finishes(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn, slow_api: SlowApi, tmp_path: Path
) -> None:
    slow_api.delay_s = 1.5  # the scenario's tool waits on a slow company API
    pack = make_slow_pack(tmp_path, slow_api.base_url)
    root = "1700000300.000001"
    async with slack_gateway(monkeypatch, slack_api, bot=str(pack)) as gw:
        mention = _mention(f"<@{BOT_USER}> 서비스 상태 점검해 주세요", "cm-slow", ts=root)
        response = await gw.send_event(event_body(mention, "EvSlow"))
        # Slack has its 200 while the turn is still waiting on the tool: nothing has been posted yet.
        assert response.status_code == 200
        assert slack_api.posts() == []
        await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=root)) == 1)
    assert slow_api.calls == 1
    assert "정상 운영 중" in slack_api.posts(thread_ts=root)[0].text


async def test_a_mention_without_client_msg_id_seen_as_two_events_gets_one_reply(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    # A workflow/API post or a file share carries no client_msg_id; in a pilot channel a mention still
    # arrives twice (app_mention + message) with different event ids. channel + ts is the same.
    root = "1700000400.000001"
    mention = {
        "type": "app_mention",
        "text": f"<@{BOT_USER}> 전원이 안 켜져요",
        "user": "W222",
        "ts": root,
        "team": "T111",
        "channel": PILOT,
        "event_ts": root,
    }
    as_message = {**mention, "type": "message", "channel_type": "channel"}
    async with slack_gateway(monkeypatch, slack_api) as gw:
        responses = await asyncio.gather(
            gw.send_event(event_body(mention, "EvTwice1")), gw.send_event(event_body(as_message, "EvTwice2"))
        )
        await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=root)) >= 1)
        await asyncio.sleep(0.5)  # room for a wrong second reply to show up
    assert [r.status_code for r in responses] == [200, 200]
    replies = slack_api.posts(thread_ts=root)
    assert len(replies) == 1 and "어떤 제품인가요" in replies[0].text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            {"type": "event_callback", "event": 1e308, "event_id": "EvShape1", "team_id": "T111"},
            "event must be an object, got a number",
            id="event-number",
        ),
        pytest.param(
            {"type": "event_callback", "event": {"type": "message", "message": "x"}, "event_id": "EvShape2"},
            "event.message must be an object or null, got a string",
            id="event-message-string",
        ),
        pytest.param(
            {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T111"}, "actions": []},
            "block_actions needs actions[0].action_id",
            id="no-actions",
        ),
        pytest.param(
            {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T111"}, "actions": ["x"]},
            "actions must be an array of objects",
            id="action-string",
        ),
    ],
)
async def test_signed_payloads_bolt_cannot_route_are_a_400_not_a_500(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn, body: dict[str, Any], reason: str
) -> None:
    """Bolt indexes into these fields unchecked (HTTP 500 before); the reason names the field."""
    async with slack_gateway(monkeypatch, slack_api) as gw:
        response = await gw.send_event(body)
        as_form = await gw.send_action(body)
    for answer in (response, as_form):
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["detail"]
    assert slack_api.posts() == []


async def test_a_button_value_nested_too_deep_is_ignored_and_the_thread_goes_on(
    monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStandIn
) -> None:
    """The value is a JSON string inside the signed payload: decoding it must not recurse without bound."""
    root = "1700000300.000001"
    async with slack_gateway(monkeypatch, slack_api) as gw:
        await gw.send_event(event_body(_mention(f"<@{BOT_USER}> 전원이 안 켜져요", "cm-d1", ts=root), "EvD1"))
        await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=root)) == 1)
        message = slack_api.posts(thread_ts=root)[0]
        button = dict(message.button("누리비전 TV"))
        hostile = {**button, "value": '{"k": "reply", "v": "x", "z": ' + "[" * 5000 + "]" * 5000 + "}"}
        with log_events() as logs:
            response = await gw.send_action(block_actions_body(message, hostile, user="W333"))
            assert response.status_code == 200
            await asyncio.sleep(0.3)
        assert len(slack_api.posts(thread_ts=root)) == 1  # nothing answered to a value we cannot read
        assert [e["event"] for e in logs if e["level"] in ("warning", "error")] == ["slack_button_value_invalid"]
        response = await gw.send_action(block_actions_body(message, message.button("누리비전 TV"), user="W333"))
        assert response.status_code == 200
        await slack_api.wait_for(lambda: len(slack_api.posts(thread_ts=root)) == 2)
        assert "어떤 증상인가요" in slack_api.posts(thread_ts=root)[1].text
