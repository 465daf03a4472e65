"""Outbound messages: a FIFO queue per Slack channel, paced to chat.postMessage's limit, honouring 429.

- Pacing: a token bucket per channel (`rate_per_s`, `burst`); posts wait their turn in arrival order.
- 429: sleep `Retry-After` seconds and try the same post again (up to `max_retries`), still holding
  the channel's place so later posts stay behind it.
- No retry on timeouts or connection errors: chat.postMessage has no idempotency key, so a retry after
  an unknown outcome could post twice. The failure is logged and reported to the caller (None).
- `guard`: checked right before the call, after waiting in the queue, so a bot message queued before an
  agent claimed the conversation is dropped instead of sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.metrics import Metrics

Guard = Callable[[], Awaitable[bool]]

_log = structlog.get_logger("sangdam.slack.poster")


class _Bucket:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at = time.monotonic()
        self.lock = asyncio.Lock()  # asyncio.Lock wakes waiters first-in first-out: the channel's queue

    async def take(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            await asyncio.sleep((1 - self.tokens) / self.rate)
            self.tokens, self.at = 1.0, time.monotonic()
        self.tokens -= 1


class SlackPoster:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        rate_per_s: float,
        burst: int,
        max_retries: int,
        metrics: Metrics,
    ) -> None:
        self._client = client
        self._rate = rate_per_s
        self._burst = burst
        self._max_retries = max_retries
        self._metrics = metrics
        self._buckets: dict[str, _Bucket] = {}

    async def post(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        guard: Guard | None = None,
    ) -> str | None:
        """Post a message; its ts, or None when the guard said no or Slack refused / was unreachable."""
        args: dict[str, Any] = {"channel": channel, "text": text}
        if blocks:
            args["blocks"] = blocks
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        bucket = self._buckets.setdefault(channel, _Bucket(self._rate, self._burst))
        async with bucket.lock:
            await bucket.take()
            if guard is not None and not await guard():
                self._metrics.incr("slack_post_suppressed")
                return None
            response = await self._call("chat.postMessage", args)
        if response is None:
            return None
        self._metrics.incr("slack_posted")
        ts = response.get("ts")
        return str(ts) if ts else None

    async def update(self, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]]) -> bool:
        """Replace a message's content (chat.update is Tier 3: not paced, 429 still honoured)."""
        response = await self._call("chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": blocks})
        return response is not None

    async def _call(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        for attempt in range(self._max_retries + 1):
            try:
                response = await self._client.api_call(method, json=args)
                return dict(response.data) if isinstance(response.data, dict) else {}
            except SlackApiError as exc:
                status = exc.response.status_code
                if status == 429 and attempt < self._max_retries:
                    wait = _retry_after(exc.response.headers)
                    self._metrics.incr("slack_rate_limited")
                    _log.warning("slack_rate_limited", method=method, retry_after_s=wait, attempt=attempt + 1)
                    await asyncio.sleep(wait)
                    continue
                _log.error("slack_api_error", method=method, status=status, error=exc.response.get("error"))
                return None
            except (aiohttp.ClientError, TimeoutError) as exc:
                _log.error("slack_unreachable", method=method, error=type(exc).__name__)
                return None
        return None


def _retry_after(headers: Any) -> float:
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            try:
                return max(float(value if not isinstance(value, list) else value[0]), 0.0)
            except ValueError:
                break
    return 1.0
