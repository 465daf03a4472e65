"""Handoff packets: building them from a conversation, and the sinks they are published to."""

from __future__ import annotations

import asyncio
from typing import Protocol

import httpx
import msgspec
import structlog

from core.conversation import Conversation
from core.messages import Handoff, HandoffReason, Priority
from core.store.base import Store

REASON_LABELS = {
    HandoffReason.AGENT_REQUEST: "고객이 상담직원 연결을 요청함",
    HandoffReason.PROFANITY: "욕설/불만 표현 감지",
    HandoffReason.REFUND_DISPUTE: "환불/교환 분쟁",
    HandoffReason.REPEATED_FALLBACK: "챗봇이 연속으로 이해하지 못함",
    HandoffReason.TOOL_FAILURE: "시스템 조회/접수 실패",
    HandoffReason.VALIDATION_FAILED: "입력 확인 반복 실패",
    HandoffReason.SCENARIO: "시나리오에서 상담 연결로 종료",
    HandoffReason.FORMAT: "AI 응답 형식 오류",
    HandoffReason.SENSITIVE: "민감 정보 관련",
}

TRANSCRIPT_LINES = 30  # lines of (masked) transcript that travel with a handoff


def build_handoff(
    conversation: Conversation,
    reason: HandoffReason,
    *,
    priority: Priority,
    scenario_title: str | None = None,
    scenario_step: str | None = None,
) -> Handoff:
    """A handoff packet from the conversation as it stands (everything in it is already masked)."""
    parts = [REASON_LABELS.get(reason, reason.value)]
    if conversation.last_intent:
        parts.append(f"의도: {conversation.last_intent}")
    if scenario_title:
        parts.append(f"진행 중이던 안내: {scenario_title}")
    last_customer = next((e.text for e in reversed(conversation.transcript) if e.role == "customer"), "")
    if last_customer:
        parts.append(f"마지막 고객 메시지: {last_customer[:120]}")
    return Handoff(
        reason=reason,
        summary=" / ".join(parts),
        transcript=list(conversation.transcript[-TRANSCRIPT_LINES:]),
        collected_fields=dict(conversation.slots),
        intent=conversation.last_intent,
        scenario_step=scenario_step,
        tools_tried=list(conversation.tools_tried),
        priority=priority,
        conversation_key=conversation.key,
        channel=conversation.channel,
        user_id=conversation.user_id,
    )


class HandoffSink(Protocol):
    async def publish(self, handoff: Handoff) -> None:
        """A new handoff packet."""
        ...

    async def relay(self, conversation_key: str, text: str) -> None:
        """A (masked) customer message that arrived while the conversation is handed off."""
        ...


class LogSink:
    """Writes the packet's headline to the structured log (the transcript stays out of logs)."""

    def __init__(self, log: structlog.typing.FilteringBoundLogger | None = None) -> None:
        self._log = log or structlog.get_logger("sangdam.handoff")

    async def publish(self, handoff: Handoff) -> None:
        self._log.info(
            "handoff",
            reason=handoff.reason.value,
            priority=handoff.priority,
            conversation=handoff.conversation_key,
            intent=handoff.intent,
            step=handoff.scenario_step,
        )

    async def relay(self, conversation_key: str, text: str) -> None:
        self._log.info("handoff_relay", conversation=conversation_key, chars=len(text))


class StoreSink:
    """Keeps open handoffs in the store (a queue an agents' console or a ticket job can read)."""

    def __init__(self, store: Store, ttl_s: float = 7 * 86400) -> None:
        self._store = store
        self._ttl_s = ttl_s

    async def publish(self, handoff: Handoff) -> None:
        number = await self._store.next_sequence("handoff")
        await self._store.put(f"handoff:{number}", msgspec.json.encode(handoff), self._ttl_s)
        await self._store.put(f"handoff:latest:{handoff.conversation_key}", str(number).encode(), self._ttl_s)

    async def relay(self, conversation_key: str, text: str) -> None:
        pass  # the conversation's own transcript already holds the message


class WebhookSink:
    """POSTs each packet (and relayed customer message) as JSON to a company endpoint (helpdesk, CRM).

    Delivery runs in the background, so a slow or failing endpoint never holds up the customer's reply
    (on Kakao it would push the answer past the skill budget). Deliveries of one conversation keep their
    order; a transport error, 429 or 5xx is retried with backoff (`attempts` in all), and a delivery that
    still fails is logged as `handoff_webhook_failed` with its conversation key and the last error — the
    packet itself also stays in the store when the `store` sink is on. `close()` waits for what is queued.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        attempts: int = 4,
        backoff_s: float = 0.5,
        max_retry_after_s: float = 30.0,
    ) -> None:
        self._client = client
        self._url = url
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._max_retry_after_s = max_retry_after_s
        self._lanes: dict[str, asyncio.Task[None]] = {}  # conversation key -> its newest delivery
        self._log = structlog.get_logger("sangdam.handoff")

    async def publish(self, handoff: Handoff) -> None:
        self._enqueue(handoff.conversation_key, "handoff", msgspec.json.encode(handoff))

    async def relay(self, conversation_key: str, text: str) -> None:
        body = {"type": "customer_message", "conversation_key": conversation_key, "text": text}
        self._enqueue(conversation_key, "customer_message", msgspec.json.encode(body))

    async def close(self, grace_s: float = 10.0) -> None:
        """Wait up to `grace_s` for queued deliveries, then cancel the rest (logged)."""
        pending = set(self._lanes.values())
        if not pending:
            return
        _, unfinished = await asyncio.wait(pending, timeout=grace_s)
        for task in unfinished:
            task.cancel()
        if unfinished:
            self._log.warning("handoff_webhook_cancelled", count=len(unfinished))
            await asyncio.wait(unfinished)

    def _enqueue(self, key: str, kind: str, body: bytes) -> None:
        previous = self._lanes.get(key)
        task = asyncio.get_running_loop().create_task(self._deliver_after(previous, key, kind, body))
        self._lanes[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._lanes.get(key) is done:
                del self._lanes[key]

        task.add_done_callback(forget)

    async def _deliver_after(self, previous: asyncio.Task[None] | None, key: str, kind: str, body: bytes) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # its outcome is its own; only the order matters here
        try:
            problem = await self._deliver(body)
        except Exception as exc:  # nothing may escape a background task unlogged
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            self._log.error("handoff_webhook_failed", conversation_id=key, kind=kind, error=problem)

    async def _deliver(self, body: bytes) -> str:
        """POST with retries; "" once the endpoint took it, else what went wrong the last time."""
        problem = ""
        for attempt in range(1, self._attempts + 1):
            delay = self._backoff_s * 2 ** (attempt - 1)
            try:
                response = await self._client.post(
                    self._url, content=body, headers={"content-type": "application/json"}
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return ""
                problem = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    return problem  # the endpoint refused this body: sending it again would not help
                delay = max(delay, min(_retry_after(response), self._max_retry_after_s))
            if attempt < self._attempts:
                await asyncio.sleep(delay)
        return problem


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0
