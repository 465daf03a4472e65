"""Every JSON example in seeds 002 (callback guide) and 003 (response formats, older revision).

The examples are extracted from the seed text (not copied by hand), so a new example in a seed shows up
here. Kakao's examples use `...` placeholders and an excerpt style (`{ ..., "action": {...} }`); the
extractor turns placeholder values into null, drops placeholder lines and trailing commas, and excerpts
are merged over the full payload example they abbreviate.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from adapters.kakao import limits
from adapters.kakao.payload import (
    SkillPayload,
    client_extra,
    is_test_surface,
    parse_payload,
    parse_sys_value,
    to_inbound,
)
from adapters.kakao.response import ResponseDecodeError, decode_callback_response, decode_response, encode_response

SEEDS = Path("/work/shared/seeds")
SEED_FILES = {"002": "002_e45306ff7d36361d.txt", "003": "003_b85435e14d0b8663.txt"}


# --- extraction ----------------------------------------------------------------------------------


def _brace_depth_change(line: str) -> int:
    """{ minus } outside JSON strings (entity values contain escaped JSON)."""
    depth, in_string, escaped = 0, False, False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
    return depth


def extract_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, text) of every top-level JSON block: a line that is just "{" up to its match."""
    lines = text.splitlines()
    blocks: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "{":
            i += 1
            continue
        start, depth, chunk = i, 0, []
        while i < len(lines):
            chunk.append(lines[i])
            depth += _brace_depth_change(lines[i])
            i += 1
            if depth == 0:
                break
        blocks.append((start + 1, "\n".join(chunk)))
    return blocks


def is_excerpt(block: str) -> bool:
    """`{ ..., "key": ... }`: an excerpt of a larger payload."""
    return block.splitlines()[1].strip() in ("...", "...,")


def normalise(block: str) -> Any:
    text = re.sub(r"^\s*\.\.\.,?\s*$\n?", "", block, flags=re.MULTILINE)  # placeholder lines
    text = re.sub(r":\s*\.\.\.(?=\s*[,}\n])", ": null", text)  # placeholder values
    text = re.sub(r",(\s*[}\]])", r"\1", text)  # trailing commas left behind
    return json.loads(text)


def deep_merge(base: Any, excerpt: Any) -> Any:
    if isinstance(base, dict) and isinstance(excerpt, dict):
        merged = dict(base)
        for key, value in excerpt.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else value
        return merged
    return excerpt


class Example(msgspec.Struct, frozen=True):
    id: str  # "<seed>@<line>"
    raw: str
    value: Any
    excerpt: bool

    @property
    def kind(self) -> str:
        if "taskId" in self.value:
            return "callback_response"
        if "version" in self.value:
            return "response"
        return "payload"


def load_examples() -> list[Example]:
    examples = []
    for seed, name in SEED_FILES.items():
        for line, block in extract_blocks((SEEDS / name).read_text(encoding="utf-8")):
            examples.append(Example(f"{seed}@{line}", block, normalise(block), is_excerpt(block)))
    return examples


EXAMPLES = load_examples()
BY_ID = {e.id: e for e in EXAMPLES}
FULL_PAYLOAD = "003@139"  # the complete payload the excerpts abbreviate

# Round-trip exceptions: encode(decode(example)) != example, and why.
NOT_ROUND_TRIP = {
    "003@390": "textCard uses seed 003's `text`; the current field is `description` (kakao.md §8 #12)",
}
# Examples validate() must reject, and why.
REJECTED = {
    "003@267": "skeleton `template: {...}`: a template with no outputs breaks the 1-3 outputs rule",
}


def test_every_example_was_found() -> None:
    """The seeds hold 4 + 18 JSON blocks; if a seed changes, this list must be reviewed."""
    ids = [e.id for e in EXAMPLES]
    assert len([i for i in ids if i.startswith("002@")]) == 4
    assert len([i for i in ids if i.startswith("003@")]) == 18
    kinds = [e.kind for e in EXAMPLES]
    assert kinds.count("payload") == 5
    assert kinds.count("callback_response") == 1
    assert kinds.count("response") == 16
    assert set(NOT_ROUND_TRIP) | set(REJECTED) <= set(ids)


# --- payload examples ----------------------------------------------------------------------------

PAYLOADS = [e for e in EXAMPLES if e.kind == "payload"]


def payload_json(example: Example) -> Any:
    if example.excerpt:
        return deep_merge(BY_ID[FULL_PAYLOAD].value, example.value)
    return example.value


@pytest.mark.parametrize("example", PAYLOADS, ids=[e.id for e in PAYLOADS])
def test_payload_example_parses(example: Example) -> None:
    payload = parse_payload(json.dumps(payload_json(example), ensure_ascii=False).encode())
    assert isinstance(payload, SkillPayload)
    inbound = to_inbound(payload)
    assert inbound.channel == "kakao"
    assert inbound.conversation_key == "<사용자 botUserKey>"
    assert inbound.text == "<사용자 발화>"
    assert inbound.locale == "ko"


def test_knowledge_payload_example() -> None:
    inbound = to_inbound(parse_payload(BY_ID["003@33"].raw.encode()))
    assert len(inbound.knowledge) == 2
    assert inbound.knowledge[0].question == "<질문>"
    assert inbound.knowledge[0].landing_url == "<랜딩 url>"
    assert inbound.knowledge[0].categories == [f"<카테고리 {i}>" for i in range(1, 5)]
    assert inbound.payload is None  # clientExtra {}


def test_null_client_extra_example() -> None:
    payload = parse_payload(BY_ID["003@139"].raw.encode())
    inbound = to_inbound(payload)
    assert inbound.payload is None
    assert client_extra(payload) == {}
    assert inbound.platform_ids["plusfriendUserKey"] == "<카카오톡 채널 사용자 id>"


def test_user_properties_excerpt() -> None:
    body = json.dumps(payload_json(BY_ID["003@190"]), ensure_ascii=False).encode()
    inbound = to_inbound(parse_payload(body))
    assert inbound.platform_ids["appUserId"] == "<app user id>"
    assert inbound.platform_ids["isFriend"] == "true"


def test_detail_params_excerpt() -> None:
    body = json.dumps(payload_json(BY_ID["003@210"]), ensure_ascii=False).encode()
    payload = parse_payload(body)
    assert payload.action is not None and payload.action.params is not None
    params = payload.action.params
    assert parse_sys_value(params["sys_date"])["date"] == "2023-03-31"
    assert parse_sys_value(params["sys_number"]) == {"amount": 1, "unit": None}
    assert parse_sys_value(params["sys_location"]) == "강남"
    assert payload.action.detailParams is not None
    assert payload.action.detailParams["sys_date"].origin == "금요일"


def test_callback_payload_example() -> None:
    payload = parse_payload(json.dumps(BY_ID["002@31"].value, ensure_ascii=False).encode())
    inbound = to_inbound(payload)
    assert payload.userRequest.lang == "kr" and inbound.locale == "ko"
    assert payload.userRequest.callbackUrl == "<callback 호출시 사용할 url>"
    assert is_test_surface(payload) is True  # surface BuilderBotTest
    assert inbound.idempotency_key is None  # the placeholder is not a URL


# --- response examples ---------------------------------------------------------------------------

RESPONSES = [e for e in EXAMPLES if e.kind == "response"]


@pytest.mark.parametrize("example", RESPONSES, ids=[e.id for e in RESPONSES])
def test_response_example_round_trip(example: Example) -> None:
    resp = decode_response(json.dumps(example.value, ensure_ascii=False))
    encoded = json.loads(encode_response(resp))
    if example.id in NOT_ROUND_TRIP:
        assert encoded != example.value
    else:
        assert encoded == example.value
    if example.id in REJECTED:
        assert limits.validate(resp) != []
    else:
        assert limits.validate(resp) == []
        fitted = limits.fit_lengths(resp)
        assert limits.validate(fitted) == []
        assert limits.length_warnings(fitted) == []


def test_legacy_text_card_becomes_description() -> None:
    example = BY_ID["003@390"]
    encoded = json.loads(encode_response(decode_response(example.raw)))
    card = encoded["template"]["outputs"][0]["textCard"]
    original = example.value["template"]["outputs"][0]["textCard"]
    assert "text" not in card
    assert card["description"] == original["text"]
    assert card["buttons"] == original["buttons"]


def test_item_card_example_breaks_its_own_limits() -> None:
    """kakao.md §1: the official itemCard example exceeds the limits; lengths are truncated, not rejected."""
    resp = decode_response(BY_ID["003@711"].raw)
    warnings = limits.length_warnings(resp)
    assert any("itemList[2].title: 7" in w for w in warnings)  # "Departs"
    assert any("itemList[3].title: 8" in w for w in warnings)  # "Terminal"
    assert any("buttons[0].label: 18" in w for w in warnings)  # "View Boarding Pass"
    card = json.loads(encode_response(limits.fit_lengths(resp)))["template"]["outputs"][0]["itemCard"]
    assert card["itemList"][2]["title"] == "Depar…"
    assert card["itemList"][3]["title"] == "Termi…"
    assert card["buttons"][0]["label"] == "View Boarding…"
    assert card["itemListSummary"] == {"title": "Total", "description": "$4,032.54"}


def test_callback_ack_example_text_length() -> None:
    """kakao.md §2: the ack text is 42 code points and 43 UTF-16 units."""
    text = BY_ID["002@82"].value["data"]["text"]
    assert len(text) == 42
    assert limits.kakao_len(text) == 43


def test_callback_response_example() -> None:
    example = next(e for e in EXAMPLES if e.kind == "callback_response")
    reply = decode_callback_response(json.dumps(example.value))
    assert reply.status == "SUCCESS" and reply.ok
    assert reply.taskId is None  # the example's placeholder


def test_a_callback_answer_nested_too_deep_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(ResponseDecodeError, match="nested more than"):
        decode_callback_response('{"taskId": "t", "status": ' + "[" * 5000 + "]" * 5000 + "}")
