"""The brain's pure parts: strict schemas, the reply streamer, config, memory split."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from core.brain.config import LOCAL_SERVER_KEY, BrainConfig, BrainConfigError, load_brain_config
from core.brain.memory import as_messages, split_for_summary
from core.brain.pii_guard import EarlierNames, TurnPii
from core.brain.stream import PlaceholderStream, ReplyFieldStream
from core.brain.tools import strict_schema
from core.messages import TranscriptEntry
from core.store.memory import MemoryStore
from core.store.redis import RedisStore


def test_strict_schema_closes_objects_and_makes_optionals_nullable() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "description": "q"},
            "limit": {"type": "integer", "minimum": 1, "default": 3},
            "mode": {"type": "string", "enum": ["a", "b"]},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
            },
        },
        "required": ["query"],
    }
    strict = strict_schema(schema)
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["query", "limit", "mode", "items"]
    assert strict["properties"]["query"] == {"type": "string", "description": "q"}
    assert strict["properties"]["limit"] == {"type": ["integer", "null"], "minimum": 1}
    assert strict["properties"]["mode"]["enum"] == ["a", "b", None]
    item = strict["properties"]["items"]["items"]
    assert item["additionalProperties"] is False and item["properties"]["sku"]["type"] == ["string", "null"]
    assert schema["properties"]["limit"]["default"] == 3  # the registry's schema is untouched


def test_reply_field_stream_decodes_across_any_split() -> None:
    reply = '따옴표 "RESET"\n줄바꿈과 \\ 역슬래시, 이모지 \U0001f600, 탭\t끝'
    raw = json.dumps({"reply": reply, "action": "answer"})  # ASCII escapes incl. a surrogate pair
    for size in (1, 2, 3, 7):
        stream = ReplyFieldStream()
        out = "".join(stream.feed(raw[i : i + size]) for i in range(0, len(raw), size))
        assert out == reply and stream.done
    raw_utf8 = json.dumps({"reply": reply}, ensure_ascii=False)
    stream = ReplyFieldStream()
    assert "".join(stream.feed(ch) for ch in raw_utf8) == reply


async def test_placeholder_stream_never_splits_a_placeholder() -> None:
    pii = TurnPii({"<PHONE_1>": "010-1111-2222", "<CARD_1>": "4111111111111111"}, ["PHONE"])
    sent: list[str] = []

    async def sink(text: str) -> None:
        sent.append(text)

    out = PlaceholderStream(pii.for_customer, sink)
    text = "번호 <PHONE_1>, 카드 <CARD_1>, 부등호 a<b 그리고 <PHO"
    for ch in text:
        await out.feed(ch)
    await out.flush()
    assert "".join(sent) == "번호 010-1111-2222, 카드 (카드번호), 부등호 a<b 그리고 <PHO"


def test_turn_pii_renumbers_new_findings_and_restores_selectively() -> None:
    pii = TurnPii({"<PHONE_1>": "010-1111-2222"}, ["PHONE", "CARD"])  # CARD can never be restored
    masked = pii.mask("고객 010-1111-2222, 매장 02-555-6666, 카드 4111 1111 1111 1111")
    assert masked == "고객 <PHONE_1>, 매장 <PHONE_2>, 카드 <CARD_1>"
    assert pii.mask(masked) == masked  # idempotent on masked text
    assert pii.for_customer(masked) == "고객 010-1111-2222, 매장 02-555-6666, 카드 (카드번호)"
    assert pii.for_tool(masked) == "고객 010-1111-2222, 매장 02-555-6666, 카드 <CARD_1>"


def test_config_loading() -> None:
    assert load_brain_config({}, {}) is None
    loaded = load_brain_config({}, {"SANGDAM_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "SANGDAM_LLM_MODEL": "qwen"})
    assert loaded is not None
    config, connection = loaded
    assert (config.model, connection.base_url, connection.api_key) == (
        "qwen",
        "http://127.0.0.1:11434/v1",
        LOCAL_SERVER_KEY,
    )
    with pytest.raises(BrainConfigError, match="max_tool_steps"):
        load_brain_config({"max_tool_steps": 0}, {"OPENAI_API_KEY": "k"})
    with pytest.raises(BrainConfigError, match="modle"):
        load_brain_config({"modle": "gpt"}, {"OPENAI_API_KEY": "k"})
    strong = BrainConfig(model="cheap", strong_model="strong", strong_min_chars=10)
    assert strong.model_for("짧은 질문") == "cheap"
    assert strong.model_for("아주 긴 질문입니다 정말로 길어요") == "strong"
    assert strong.model_for("짧은 질문", retry=True) == "strong"
    assert BrainConfig(model="cheap").model_for("x" * 500, retry=True) == "cheap"


def test_split_for_summary_batches() -> None:
    def entries(turns: int) -> list[TranscriptEntry]:
        out = []
        for i in range(turns):
            out += [TranscriptEntry(role="customer", text=f"q{i}"), TranscriptEntry(role="bot", text=f"a{i}")]
        return out

    fold, keep = split_for_summary(entries(3), window_turns=2, summary_after_turns=3)
    assert fold == [] and len(keep) == 6
    fold, keep = split_for_summary(entries(4), window_turns=2, summary_after_turns=3)
    assert [e.text for e in fold] == ["q0", "a0", "q1", "a1"] and keep[0].text == "q2"


def test_history_messages_alternate() -> None:
    lines = [
        TranscriptEntry(role="bot", text="안녕하세요"),
        TranscriptEntry(role="bot", text="무엇을 도와드릴까요?"),
        TranscriptEntry(role="customer", text="TV"),
        TranscriptEntry(role="system", text="scenario started"),
        TranscriptEntry(role="customer", text="전원이 안 켜져요"),
        TranscriptEntry(role="agent", text="확인해 볼게요"),
    ]
    assert as_messages(lines) == [
        {"role": "assistant", "content": "안녕하세요\n무엇을 도와드릴까요?"},
        {"role": "user", "content": "TV\n전원이 안 켜져요"},
        {"role": "assistant", "content": "[상담직원] 확인해 볼게요"},
    ]


def test_turn_pii_masks_only_new_findings() -> None:
    pii = TurnPii({}, ["PHONE"])
    field = pii.mask("010-2345-6789")  # a collected field, masked first
    context = pii.mask(f"연락처 {field}, 고객센터 1599-0000")  # the FAQ's hotline arrives later
    assert context == "연락처 <PHONE_1>, 고객센터 <PHONE_2>"
    assert pii.for_tool(context) == "연락처 010-2345-6789, 고객센터 1599-0000"
    # a placeholder of unknown origin in the text is never given to a new value
    assert pii.mask("<EMAIL_1> 또는 a@b.co") == "<EMAIL_1> 또는 <EMAIL_2>"


def test_earlier_placeholders_get_unique_names_that_are_never_restored() -> None:
    pii = TurnPii({"<PHONE_1>": "010-7777-8888"}, ["PHONE"])
    names = EarlierNames()
    first = pii.mask_earlier("번호 <PHONE_1>, 다시 <PHONE_1>", names)
    second = pii.mask_earlier("번호 <PHONE_1>, 메일 <EMAIL_1>, 새 번호 010-7777-8888", names)
    assert first == "번호 <EARLIER_PHONE_1>, 다시 <EARLIER_PHONE_1>"
    assert second == "번호 <EARLIER_PHONE_2>, 메일 <EARLIER_EMAIL_1>, 새 번호 <PHONE_1>"
    assert pii.for_customer(second) == "번호 (전화번호), 메일 (이메일), 새 번호 010-7777-8888"
    assert pii.for_tool(first) == first
    # the same history gets the same names on the next turn (the prompt cache still matches)
    again = EarlierNames()
    assert [again.rename("번호 <PHONE_1>, 다시 <PHONE_1>"), again.rename("번호 <PHONE_1>")] == [
        "번호 <EARLIER_PHONE_1>, 다시 <EARLIER_PHONE_1>",
        "번호 <EARLIER_PHONE_2>",
    ]


async def test_placeholder_stream_holds_back_earlier_placeholders() -> None:
    pii = TurnPii({}, ["PHONE"])
    sent: list[str] = []

    async def sink(text: str) -> None:
        sent.append(text)

    out = PlaceholderStream(pii.for_customer, sink)
    for ch in "예전 번호 <EARLIER_PHONE_12>로 보냈어요":
        await out.feed(ch)
    await out.flush()
    assert "".join(sent) == "예전 번호 (전화번호)로 보냈어요"


def test_turn_timeout_stays_below_the_conversation_lock_wait() -> None:
    config = BrainConfig()
    assert config.turn_timeout_s == 25.0
    for store in (MemoryStore, RedisStore):
        lock_wait = inspect.signature(store.__init__).parameters["lock_timeout_s"].default
        assert config.turn_timeout_s < lock_wait, store.__name__
