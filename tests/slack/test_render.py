"""Reply parts -> Block Kit: every block passes slack_sdk's own validators, and messages stay in limits."""

from __future__ import annotations

import json

import msgspec
from slack_sdk.models.blocks import Block

from adapters.slack import limits
from adapters.slack.cards import card_blocks, card_body, mask_customer, transcript_text
from adapters.slack.mrkdwn import escape, to_plain
from adapters.slack.records import HandoffRecord
from adapters.slack.render import REPLY_ACTION, ButtonValue, SlackMessage, render
from core.messages import (
    Button,
    Card,
    Carousel,
    Handoff,
    HandoffNotice,
    HandoffReason,
    Image,
    ListItem,
    ListPart,
    QuickReplies,
    ReplyPart,
    Text,
    TranscriptEntry,
)


def _validate(messages: list[SlackMessage]) -> None:
    for message in messages:
        assert message.text, "every message needs a notification text"
        assert len(message.blocks) <= limits.BLOCKS_PER_MESSAGE
        assert sum(limits.block_chars(b) for b in message.blocks) <= limits.BLOCK_CHARS_PER_MESSAGE
        ids = [e["action_id"] for b in message.blocks for e in b.get("elements", []) if "action_id" in e]
        assert len(ids) == len(set(ids)), "action ids must be unique within a message"
        for block in message.blocks:
            parsed = Block.parse(block)
            assert parsed is not None, block
            parsed.validate_json()  # raises SlackObjectFormationError on any limit


def test_every_part_type_renders_to_valid_blocks() -> None:
    buttons = [
        Button(label="누리비전 TV", kind="postback", value="scn:power_issue:product:0"),
        Button(label="인터넷이 안 돼요", kind="message", value="인터넷이 안 돼요"),
        Button(label="자세히 보기", kind="url", value="https://support.nuri.example/tv"),
        Button(label="고객센터 전화", kind="phone", value="1588-0000"),
        Button(label="상담직원 연결", kind="handoff"),
    ]
    parts: list[ReplyPart] = [
        Text(text="안녕하세요! <!channel> & 환영해요"),
        Image(url="https://support.nuri.example/a.png", alt=""),
        Card(
            title="누리비전 QLED 55",
            text="4K 화면",
            image_url="https://x.example/i.png",
            buttons=buttons,
            price=990000,
            discount=90000,
        ),
        Carousel(cards=[Card(title=f"상품 {i}", buttons=buttons[:1]) for i in range(3)]),
        ListPart(
            header="최근 주문",
            items=[ListItem(title="ORD-1", description="배송 중", action=buttons[0])],
            buttons=buttons[2:3],
        ),
        QuickReplies(options=buttons),
        HandoffNotice(text="상담직원에게 연결해 드릴게요.", reason="agent_request"),
    ]
    messages = render(parts)
    _validate(messages)
    dumped = json.dumps([m.blocks for m in messages], ensure_ascii=False)
    assert "&lt;!channel&gt; &amp; 환영해요" in dumped  # customer-visible text is escaped, never a mention
    assert "1588-0000" in dumped  # phone buttons become a text line
    assert "tel:" not in dumped
    assert "~990,000원~ *900,000원*" in dumped
    first = messages[0]
    assert first.text.startswith("안녕하세요!")


def test_postback_buttons_carry_kind_and_value() -> None:
    (message,) = render(
        [QuickReplies(options=[Button(label="5점", value="csat:5"), Button(label="예", kind="message")])]
    )
    elements = next(b for b in message.blocks if b["type"] == "actions")["elements"]
    assert [e["action_id"] for e in elements] == [f"{REPLY_ACTION}1", f"{REPLY_ACTION}2"]
    values = [msgspec.json.decode(e["value"], type=ButtonValue) for e in elements]
    assert values == [ButtonValue(k="postback", v="csat:5"), ButtonValue(k="message", v="")]


def test_long_and_many_parts_are_split_within_limits() -> None:
    long_text = "가나다라마바사 " * 1000  # 8,000 characters
    many = [Button(label=f"선택지 {i} " + "긴 라벨" * 20, value=f"v{i}") for i in range(60)]
    parts: list[ReplyPart] = [Text(text=long_text), QuickReplies(options=many)]
    parts += [Text(text=f"문단 {i}") for i in range(60)]
    messages = render(parts)
    _validate(messages)
    assert len(messages) >= 2
    actions = [b for m in messages for b in m.blocks if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [25, 25, 10]
    labels = [e["text"]["text"] for b in actions for e in b["elements"]]
    assert all(len(label) <= limits.BUTTON_TEXT_MAX for label in labels)
    assert labels[0].endswith("…")
    rendered = "".join(b["text"]["text"] for m in messages for b in m.blocks if b["type"] == "section")
    assert rendered.replace("\n", " ").replace(" ", "").startswith(long_text.replace(" ", "")[:7000])


def test_invalid_urls_and_oversized_values_are_dropped_not_sent() -> None:
    parts: list[ReplyPart] = [
        Image(url="javascript:alert(1)"),
        QuickReplies(
            options=[Button(label="열기", kind="url", value="ftp://x"), Button(label="큰 값", value="x" * 2100)]
        ),
        Text(text="남은 내용"),
    ]
    (message,) = render(parts)
    _validate([message])
    assert [b["type"] for b in message.blocks] == ["section"]


def test_handoff_card_shows_the_packet_masked_and_validates() -> None:
    handoff = Handoff(
        reason=HandoffReason.REFUND_DISPUTE,
        summary="환불/교환 분쟁 / 마지막 고객 메시지: 환불해 주세요 <@U1>",
        transcript=[
            TranscriptEntry(role="customer", text="환불해 주세요", at=1763700000.0),
            TranscriptEntry(role="bot", text="확인해 볼게요", at=1763700001.0),
        ],
        collected_fields={f"field{i}": f"값 {i}" for i in range(13)},
        intent="refund_request",
        scenario_step="refund_request/reason",
        tools_tried=["get_order"],
        priority="high",
        conversation_key="web:PSBV6BjuLdOyT9gSzrxA6A",
        channel="web",
    )
    body = card_body(handoff, "카카오 안내")
    for state in ("open", "claimed", "ticket", "resolved"):
        record = HandoffRecord(
            conversation_key=handoff.conversation_key,
            channel="C1",
            ts="1.1",
            state=state,
            agent="UAGENT",
            ticket_id="AS-1",
        )
        _validate([SlackMessage(text="card", blocks=card_blocks(body, record, 600))])
    dumped = json.dumps(body, ensure_ascii=False)
    assert "PSBV6BjuLdOyT9gSzrxA6A" not in dumped and mask_customer(handoff.conversation_key) in dumped
    assert "&lt;@U1&gt;" in dumped  # no mention injected through the summary
    assert "카카오 안내" not in dumped  # the Kakao note is only for Kakao customers
    assert "field12" in dumped  # 13 fields: two field sections
    text = transcript_text(handoff.transcript)
    assert "고객: 환불해 주세요" in text and "`13:40`" in text  # KST (04:40 UTC)


def test_mrkdwn_round_trip() -> None:
    assert escape("<!here> a&b") == "&lt;!here&gt; a&amp;b"
    typed = "<@UBOT> 안녕하세요 <@U2|kim> <https://a.example|링크> <https://b.example> &lt;3 &amp;"
    assert to_plain(typed, "UBOT") == "안녕하세요 @kim 링크 (https://a.example) https://b.example <3 &"
