"""Every fixture in fixtures/ (copies of shared/fixtures/slack, see its README) parses, and is routed
as the shared reference says: apps' and classic bots' messages are ignored, a thread reply is a person's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.slack.config import SlackConfig
from adapters.slack.routing import Route, route_message
from adapters.slack.wire import BlockActionsPayload, EventCallback, MessageEvent, parse
from tests.slack.conftest import FIXTURES, fixture

FILES = sorted(p.name for p in FIXTURES.glob("*.json"))
BOT_USER = "UOURBOT"  # not a user of the fixtures (their W111 posts fixture 03)


def test_all_eleven_fixtures_are_present() -> None:
    assert len(FILES) == 11
    shared = Path("/work/shared/fixtures/slack")
    if shared.is_dir():  # the copies must not drift from the shared originals
        for name in FILES:
            assert (FIXTURES / name).read_bytes() == (shared / name).read_bytes(), name


@pytest.mark.parametrize("name", [f for f in FILES if f[:2] in {"02", "03", "04", "05", "06", "07", "08"}])
def test_event_fixtures_parse(name: str) -> None:
    body = fixture(name)
    envelope = parse(body, EventCallback)
    event = parse(body["event"], MessageEvent)
    assert envelope.type == "event_callback" and envelope.event_id and envelope.team_id == "T111"
    assert event.type in {"message", "app_mention"}


def test_url_verification_fixture_parses() -> None:
    body = fixture("01_url_verification.json")
    assert parse(body, EventCallback).type == "url_verification"
    assert body["challenge"]


def test_block_actions_fixture_parses() -> None:
    payload = parse(fixture("09_block_actions_button.json"), BlockActionsPayload)
    assert payload.channel_id == "C111" and payload.message_ts == "111.222"
    assert payload.actions[0].value == "click_me_123" and payload.actions[0].text is not None


def test_socket_mode_fixtures_parse() -> None:
    envelope = fixture("10_socket_mode_envelope_app_mention.json")
    assert envelope["type"] == "events_api" and envelope["envelope_id"]
    event = parse(envelope["payload"]["event"], MessageEvent)
    assert event.type == "app_mention"
    hello = json.loads((FIXTURES / "11_socket_mode_hello.json").read_text())
    assert hello["type"] == "hello" and hello["connection_info"]["app_id"]


CONFIG = SlackConfig(pilot_channels=["C111"], agents_channel="CAGENTS")


@pytest.mark.parametrize(
    ("name", "channel", "expected"),
    [
        ("02_app_mention.json", None, Route.PILOT),
        ("03_message_channel.json", None, Route.PILOT),  # C111 is a pilot channel here
        ("04_message_in_thread_channel.json", "CAGENTS", Route.AGENT_REPLY),  # a person's thread reply
        ("04_message_in_thread_channel.json", "COTHER", Route.PILOT_IF_KNOWN_THREAD),
        ("05_message_thread_broadcast.json", "CAGENTS", Route.AGENT_REPLY),  # broadcast = still a reply
        ("06_message_from_app_bot_id_no_subtype.json", None, Route.IGNORE),  # bot_id without subtype
        ("07_message_subtype_bot_message.json", None, Route.IGNORE),
        ("08_message_changed_in_thread.json", "CAGENTS", Route.IGNORE),  # same text: not an edit
    ],
)
def test_fixture_routing(name: str, channel: str | None, expected: Route) -> None:
    raw = fixture(name)["event"]
    if channel is not None:
        raw["channel"] = channel
    assert route_message(parse(raw, MessageEvent), CONFIG, BOT_USER) == expected


def test_an_agents_edit_with_new_text_is_noticed() -> None:
    raw = fixture("08_message_changed_in_thread.json")["event"]
    raw["channel"] = "CAGENTS"
    raw["message"] |= {"ts": "1726133700.887259", "text": "고친 답변"}
    assert route_message(parse(raw, MessageEvent), CONFIG, BOT_USER) == Route.AGENT_EDIT
    raw["message"]["bot_id"] = "B1"  # our own card being updated
    assert route_message(parse(raw, MessageEvent), CONFIG, BOT_USER) == Route.IGNORE


def test_our_own_user_is_ignored_even_without_bot_id() -> None:
    raw = fixture("03_message_channel.json")["event"]
    raw["user"] = BOT_USER
    assert route_message(parse(raw, MessageEvent), CONFIG, BOT_USER) == Route.IGNORE
