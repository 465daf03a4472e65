"""Outbound pacing against the stand-in Slack Web API: 429 + Retry-After, per-channel queue, owner guard."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.poster import SlackPoster
from core.metrics import Metrics
from tests.slack.conftest import BOT_TOKEN, SlackApiStandIn


def _poster(slack_api: SlackApiStandIn, metrics: Metrics, *, rate: float = 50.0, burst: int = 10) -> SlackPoster:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api.api_url, retry_handlers=[])
    return SlackPoster(client, rate_per_s=rate, burst=burst, max_retries=3, metrics=metrics)


async def test_429_is_retried_after_retry_after_and_later_posts_wait_behind_it(slack_api: SlackApiStandIn) -> None:
    metrics = Metrics()
    poster = _poster(slack_api, metrics)
    slack_api.rate_limit_next["C1"] = 1
    first, second, other = await asyncio.gather(
        poster.post("C1", text="하나"),
        poster.post("C1", text="둘"),
        poster.post("C2", text="다른 채널"),
    )
    assert first and second and other
    refused = [c for c in slack_api.calls if c.method == "chat.postMessage:429"]
    c1 = slack_api.posts("C1")
    assert len(refused) == 1 and [c.args["text"] for c in c1] == ["하나", "둘"]  # order kept, each once
    assert c1[0].at - refused[0].at >= 0.95  # Retry-After: 1
    assert slack_api.posts("C2")[0].at < c1[0].at  # another channel is not held up
    assert metrics.counters["slack_rate_limited"] == 1


async def test_a_channel_gives_up_after_repeated_429(slack_api: SlackApiStandIn) -> None:
    slack_api.retry_after_s = 0
    slack_api.rate_limit_next["C1"] = 10
    assert await _poster(slack_api, Metrics()).post("C1", text="x") is None
    assert len([c for c in slack_api.calls if c.method == "chat.postMessage:429"]) == 4  # first try + 3 retries
    assert slack_api.posts() == []


async def test_posts_to_one_channel_are_paced(slack_api: SlackApiStandIn) -> None:
    poster = _poster(slack_api, Metrics(), rate=10.0, burst=1)
    await asyncio.gather(*(poster.post("C1", text=str(i)) for i in range(4)))
    times = [c.at for c in slack_api.posts("C1")]
    assert [c.args["text"] for c in slack_api.posts("C1")] == ["0", "1", "2", "3"]
    # Sent ≈ 0.1 s apart at 10/s (unpaced, all four arrive within a few ms). Measured at arrival, where one
    # delayed request can shorten a single gap, so the span of the three gaps is what is checked.
    assert times[-1] - times[0] >= 0.2


async def test_guard_is_checked_right_before_sending(slack_api: SlackApiStandIn) -> None:
    metrics = Metrics()
    poster = _poster(slack_api, metrics, rate=5.0, burst=1)
    owner = {"now": "bot"}

    async def bot_may_speak() -> bool:
        return owner["now"] == "bot"

    first = asyncio.create_task(poster.post("C1", text="첫 답변", guard=bot_may_speak))
    queued = asyncio.create_task(poster.post("C1", text="대기 중이던 답변", guard=bot_may_speak))
    await first
    owner["now"] = "agent"  # an agent claims while the second message waits in the channel's queue
    assert await queued is None
    assert [c.args["text"] for c in slack_api.posts()] == ["첫 답변"]
    assert metrics.counters["slack_post_suppressed"] == 1


async def test_unreachable_slack_is_reported_not_retried() -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/", retry_handlers=[], timeout=2)
    poster = SlackPoster(client, rate_per_s=50, burst=10, max_retries=3, metrics=Metrics())
    assert await poster.post("C1", text="x") is None
