"""Handoff packets: building them from a conversation, and the sinks they are published to."""

from __future__ import annotations

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
    """POSTs the packet as JSON to a company endpoint (helpdesk, CRM)."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._url = url

    async def publish(self, handoff: Handoff) -> None:
        response = await self._client.post(
            self._url, content=msgspec.json.encode(handoff), headers={"content-type": "application/json"}
        )
        response.raise_for_status()

    async def relay(self, conversation_key: str, text: str) -> None:
        body = {"type": "customer_message", "conversation_key": conversation_key, "text": text}
        response = await self._client.post(self._url, json=body)
        response.raise_for_status()
