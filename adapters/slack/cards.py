"""Block Kit for the agents' console: the handoff card, its status footer and the masked transcript.

Everything shown is already PII-masked by the core (transcript, summary, collected fields); the
customer's id is shortened here as well, and all customer text is mrkdwn-escaped.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from adapters.slack import limits
from adapters.slack.mrkdwn import escape
from adapters.slack.records import HandoffRecord
from core.handoff import REASON_LABELS
from core.messages import Handoff, TranscriptEntry

CLAIM_ACTION = "sangdam.claim"
RESOLVE_ACTION = "sangdam.resolve"
STATUS_BLOCK = "sangdam.status"
BUTTONS_BLOCK = "sangdam.buttons"

KST = timezone(timedelta(hours=9), "KST")
CHANNEL_LABELS = {"web": "웹 채팅", "kakao": "카카오톡", "whatsapp": "WhatsApp", "slack": "Slack", "cli": "터미널"}
PRIORITY_LABELS = {"urgent": ":red_circle: 긴급", "high": ":large_orange_circle: 높음", "normal": "보통", "low": "낮음"}
ROLE_LABELS = {"customer": ":bust_in_silhouette: 고객", "bot": ":robot_face: 챗봇", "agent": ":technologist: 상담직원"}


def mask_customer(conversation_key: str) -> str:
    """ "web:8f3a…c1" : enough to tell customers apart in a shift, too little to identify anyone."""
    channel, _, rest = conversation_key.partition(":")
    shown = f"{rest[:3]}…{rest[-2:]}" if len(rest) > 6 else "…"
    return f"{channel}:{shown}"


def origin_channel(handoff: Handoff) -> str:
    """The channel the customer wrote from ("web", "kakao", …)."""
    return handoff.channel or handoff.conversation_key.partition(":")[0]


def timeout_minutes(timeout_s: float) -> int:
    """The unclaimed-handoff timeout in whole minutes, as agents are told it (at least 1)."""
    return max(round(timeout_s / 60), 1)


def _field(title: str, value: str) -> dict[str, str]:
    text = f"*{title}*\n{escape(value) if value else '-'}"
    return {"type": "mrkdwn", "text": limits.truncate(text, limits.SECTION_FIELD_TEXT_MAX)}


def card_body(handoff: Handoff, kakao_note: str) -> list[dict[str, Any]]:
    """The part of the card that never changes (the status footer is appended by `card_blocks`)."""
    channel = origin_channel(handoff)
    title = f"상담 연결 요청 · {CHANNEL_LABELS.get(channel, channel)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": limits.truncate(title, limits.HEADER_TEXT_MAX)}},
        {
            "type": "section",
            "fields": [
                _field("사유", REASON_LABELS.get(handoff.reason, handoff.reason.value)),
                {"type": "mrkdwn", "text": f"*우선순위*\n{PRIORITY_LABELS.get(handoff.priority, handoff.priority)}"},
                _field("채널", CHANNEL_LABELS.get(channel, channel)),
                _field(
                    "고객",
                    mask_customer(f"{channel}:{handoff.user_id}" if handoff.user_id else handoff.conversation_key),
                ),
                _field("의도", handoff.intent or ""),
                _field("진행 단계", handoff.scenario_step or ""),
            ],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": limits.truncate(f"*요약*\n{escape(handoff.summary)}", 3000)},
        },
    ]
    fields = [_field(name, value) for name, value in handoff.collected_fields.items()]
    for start in range(0, len(fields), limits.SECTION_FIELDS_MAX):
        chunk = fields[start : start + limits.SECTION_FIELDS_MAX]
        if start == 0:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*수집된 정보*"}, "fields": chunk})
        else:
            blocks.append({"type": "section", "fields": chunk})
    if handoff.tools_tried:
        tried = escape(", ".join(handoff.tools_tried))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"시도한 조회: {tried}"}]})
    if channel == "kakao":
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f":speech_balloon: {kakao_note}"}]})
    return blocks


def status_text(record: HandoffRecord, timeout_s: float) -> str:
    if record.state == "claimed":
        return f":technologist: <@{record.agent}> 님이 상담 중이에요. 이 스레드에 답글을 달면 고객에게 전달돼요."
    if record.state == "ticket":
        return f":ticket: 담당자가 없어 티켓 {escape(record.ticket_id or '')}(으)로 접수됐어요. 지금 맡아도 돼요."
    if record.state == "resolved":
        who = f"<@{record.agent}> 님이 " if record.agent else ""
        return f":white_check_mark: {who}상담을 마쳤어요. 챗봇이 대화를 이어받았어요."
    minutes = timeout_minutes(timeout_s)
    return f":hourglass_flowing_sand: 대기 중이에요. {minutes}분 안에 아무도 맡지 않으면 티켓으로 접수돼요."


def card_blocks(body: list[dict[str, Any]], record: HandoffRecord, timeout_s: float) -> list[dict[str, Any]]:
    """The full card for the record's state: body + status line + the buttons that state allows."""
    blocks = [
        *body,
        {
            "type": "context",
            "block_id": STATUS_BLOCK,
            "elements": [{"type": "mrkdwn", "text": status_text(record, timeout_s)}],
        },
    ]
    buttons: list[dict[str, Any]] = []
    if record.state in ("open", "ticket"):
        buttons.append(_button("담당하기", CLAIM_ACTION, "primary"))
    if record.state != "resolved":
        buttons.append(_button("상담 종료 · 챗봇으로 전환", RESOLVE_ACTION, None))
    if buttons:
        blocks.append({"type": "actions", "block_id": BUTTONS_BLOCK, "elements": buttons})
    return blocks[: limits.BLOCKS_PER_MESSAGE]


def _button(label: str, action_id: str, style: str | None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": action_id,
    }
    if style is not None:
        button["style"] = style
    return button


def transcript_text(entries: list[TranscriptEntry]) -> str:
    """The masked transcript, one line per entry with its KST time."""
    if not entries:
        return "_대화 기록이 없어요._"
    lines = ["*대화 기록* (개인정보는 가려져 있어요)"]
    for entry in entries:
        at = datetime.fromtimestamp(entry.at, KST).strftime("%H:%M")
        role = ROLE_LABELS.get(entry.role, ":gear: 시스템")
        lines.append(f"`{at}` {role}: {escape(entry.text)}")
    return "\n".join(lines)


def card_fallback(handoff: Handoff) -> str:
    channel = origin_channel(handoff)
    reason = REASON_LABELS.get(handoff.reason, handoff.reason.value)
    return f"상담 연결 요청 ({CHANNEL_LABELS.get(channel, channel)}): {reason}"
