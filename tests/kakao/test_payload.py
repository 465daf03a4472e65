"""SkillPayload parsing and the mapping to the core's Inbound."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.kakao.payload import (
    PayloadError,
    callback_token,
    client_extra,
    is_test_surface,
    knowledge_matches,
    parse_payload,
    parse_sys_value,
    postback_of,
    to_inbound,
)


def body(**overrides: Any) -> dict[str, Any]:
    """A realistic live payload (shape from kakao.md §3), overridable per test."""
    payload: dict[str, Any] = {
        "bot": {"id": "64f0c0ffee!", "name": "상담봇"},
        "intent": {
            "id": "blk-fallback",
            "name": "폴백 블록",
            "extra": {"reason": {"code": 1, "message": "OK"}},
        },
        "action": {
            "id": "skill-1",
            "name": "sangdam",
            "params": {},
            "detailParams": {},
            "clientExtra": {},
        },
        "userRequest": {
            "block": {"id": "blk-fallback", "name": "폴백 블록"},
            "user": {
                "id": "b0f1e2d3c4",
                "type": "botUserKey",
                "properties": {"plusfriendUserKey": "pfk-123", "appUserId": "777", "isFriend": True},
            },
            "utterance": "배송 언제 와요?",
            "params": {"surface": "Kakaotalk.plusfriend"},
            "lang": "ko",
            "timezone": "Asia/Seoul",
        },
        "contexts": [],
        "flow": {
            "trigger": {"type": "TEXT_INPUT", "referrerBlock": {"id": "blk-welcome", "name": "웰컴"}},
            "lastBlock": {"id": "blk-welcome", "name": "웰컴"},
        },
    }
    payload.update(overrides)
    return payload


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_fields_map_to_inbound() -> None:
    inbound = to_inbound(parse_payload(encode(body())), idempotency_key="evt-1")
    assert inbound.channel == "kakao"
    assert inbound.conversation_key == "b0f1e2d3c4"
    assert inbound.user_id == "b0f1e2d3c4"
    assert inbound.key == "kakao:b0f1e2d3c4"
    assert inbound.text == "배송 언제 와요?"
    assert inbound.payload is None
    assert inbound.locale == "ko"
    assert inbound.idempotency_key == "evt-1"
    assert inbound.platform_ids == {
        "plusfriendUserKey": "pfk-123",
        "appUserId": "777",
        "isFriend": "true",
        "blockId": "blk-fallback",
        "botId": "64f0c0ffee!",
    }
    assert inbound.channel_data == {}  # nothing in the core reads Kakao specifics
    assert inbound.knowledge == []
    payload = parse_payload(encode(body()))
    assert payload.userRequest.callbackUrl is None
    assert payload.flow is not None and payload.flow.trigger is not None
    assert payload.flow.trigger.type == "TEXT_INPUT"
    assert is_test_surface(payload) is False


def test_flow_and_contexts_are_kept() -> None:
    contexts = [{"name": "order", "lifespan": 3, "ttl": 600, "params": {"no": {"value": "1", "resolvedValue": "1"}}}]
    payload = parse_payload(encode(body(contexts=contexts)))
    assert payload.flow is not None and payload.flow.trigger is not None
    assert payload.flow.trigger.referrerBlock is not None
    assert payload.flow.trigger.referrerBlock.name == "웰컴"
    assert payload.flow.lastBlock is not None and payload.flow.lastBlock.id == "blk-welcome"
    assert payload.contexts == contexts


def test_minimal_payload_only_needs_user_and_utterance() -> None:
    inbound = to_inbound(parse_payload(encode({"userRequest": {"user": {"id": "u1"}, "utterance": "hi"}})))
    assert inbound.conversation_key == "u1"
    assert inbound.platform_ids == {}
    assert inbound.payload is None


def test_client_extra_null_is_empty() -> None:
    value = body()
    value["action"]["clientExtra"] = None
    payload = parse_payload(encode(value))
    assert postback_of(payload) is None
    assert client_extra(payload) == {}


def test_postback_read_from_client_extra() -> None:
    value = body()
    value["action"]["clientExtra"] = {"sangdam": "scenario:refund/step:2", "other": 1}
    value["flow"]["trigger"]["type"] = "QUICKREPLY_BUTTON_MESSAGE"
    inbound = to_inbound(parse_payload(encode(value)))
    assert inbound.payload == "scenario:refund/step:2"


@pytest.mark.parametrize("extra", [{"sangdam": 3}, {"key1": "value1"}, {"sangdam": {"x": 1}}])
def test_other_client_extra_shapes_are_ignored(extra: dict[str, Any]) -> None:
    value = body()
    value["action"]["clientExtra"] = extra
    assert postback_of(parse_payload(encode(value))) is None


@pytest.mark.parametrize(("lang", "locale"), [("ko", "ko"), ("kr", "ko"), (None, "ko"), ("en", "en")])
def test_lang_variants(lang: str | None, locale: str) -> None:
    value = body()
    value["userRequest"]["lang"] = lang
    assert to_inbound(parse_payload(encode(value))).locale == locale


def knowledge_body(key: str) -> dict[str, Any]:
    matches = [
        {
            "categories": ["배송", "조회"],
            "question": "배송 조회는 어떻게 하나요?",
            "answer": "주문 내역에서 배송 조회를 눌러 주세요.",
            "imageUrl": "https://cdn.example.com/ship.png",
            "landingUrl": "https://shop.example.com/faq/ship",
        },
        {"categories": [], "question": "반품은요?", "answer": "마이페이지에서 신청해 주세요."},
    ]
    intent = {
        "id": "kb",
        "name": "지식+",
        "extra": {key: {"responseType": "skill", "matchedKnowledges": matches}},
    }
    return body(intent=intent)


@pytest.mark.parametrize("key", ["knowledge", "knowledges"])
def test_knowledge_both_keys(key: str) -> None:
    payload = parse_payload(encode(knowledge_body(key)))
    found = knowledge_matches(payload)
    assert [k.question for k in found] == [
        "배송 조회는 어떻게 하나요?",
        "반품은요?",
    ]  # best first = Kakao's order
    assert found[0].answer == "주문 내역에서 배송 조회를 눌러 주세요."
    assert found[0].categories == ["배송", "조회"]
    assert found[0].landing_url == "https://shop.example.com/faq/ship"
    assert found[0].image_url == "https://cdn.example.com/ship.png"
    assert found[1].landing_url is None
    assert to_inbound(payload).knowledge == found


def test_sys_entity_params() -> None:
    sys_date = (
        '{"dateTag": "Friday", "dateHeadword": null, "year": null, "month": null, "day": null, '
        '"date": "2023-03-31", "polynomial": "define_weekday({4})", "calendar_type": "solar"}'
    )
    value = body()
    value["action"]["params"] = {
        "sys_date": sys_date,
        "sys_location": "강남",
        "sys_number": '{"amount": 1, "unit": }',
    }
    value["action"]["detailParams"] = {"sys_date": {"origin": "금요일", "value": sys_date, "groupName": ""}}
    payload = parse_payload(encode(value))
    assert payload.action is not None and payload.action.params is not None
    params = payload.action.params
    assert parse_sys_value(params["sys_date"])["date"] == "2023-03-31"
    assert parse_sys_value(params["sys_location"]) == "강남"
    # The older official example's malformed JSON is kept as the raw string.
    assert parse_sys_value(params["sys_number"]) == '{"amount": 1, "unit": }'
    assert payload.action.detailParams is not None
    assert payload.action.detailParams["sys_date"].origin == "금요일"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", ""),
        ("12", "12"),  # not an object/array: stays a string
        ("[1, 2]", [1, 2]),
        ("{not json", "{not json"),
        ('  {"amount": 3, "unit": "개"}', {"amount": 3, "unit": "개"}),
    ],
)
def test_parse_sys_value(raw: str | None, expected: Any) -> None:
    assert parse_sys_value(raw) == expected


def test_unknown_fields_are_ignored() -> None:
    value = body(newTopLevel={"x": 1})
    value["userRequest"]["user"]["properties"].update({"botUserKey": "b0f1e2d3c4", "appUserStatus": "REGISTERED"})
    value["userRequest"]["params"]["media"] = {"type": "image", "url": "https://cdn.example.com/a.jpg"}
    value["userRequest"]["somethingNew"] = [1, 2]
    value["flow"]["trigger"]["type"] = "IMAGE_UPLOAD"  # undocumented value: plain string, not an enum
    payload = parse_payload(encode(value))
    assert to_inbound(payload).conversation_key == "b0f1e2d3c4"
    assert payload.flow is not None and payload.flow.trigger is not None
    assert payload.flow.trigger.type == "IMAGE_UPLOAD"


def test_is_friend_absent() -> None:
    value = body()
    del value["userRequest"]["user"]["properties"]["isFriend"]
    assert "isFriend" not in to_inbound(parse_payload(encode(value))).platform_ids


def test_callback_url_and_token() -> None:
    value = body()
    value["userRequest"]["callbackUrl"] = "https://bot-api.kakao.com/v1/bots/abc/callback/tok-123"
    payload = parse_payload(encode(value))
    assert callback_token(payload) == "tok-123"
    inbound = to_inbound(payload)
    assert inbound.idempotency_key == "tok-123"
    assert to_inbound(payload, idempotency_key="explicit").idempotency_key == "explicit"


def test_bot_tester_surface() -> None:
    value = body()
    value["userRequest"]["params"] = {"surface": "BuilderBotTest", "ignoreMe": "true"}
    assert is_test_surface(parse_payload(encode(value))) is True


@pytest.mark.parametrize("url", ["https://[x]/v1/bots/b/callback/t", "http://[::1"])
def test_unparsable_callback_url_has_no_token(url: str) -> None:
    value = body()
    value["userRequest"]["callbackUrl"] = url
    payload = parse_payload(encode(value))
    assert callback_token(payload) is None
    assert to_inbound(payload).idempotency_key is None


def without(path: list[str]) -> bytes:
    value = body()
    node = value
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return encode(value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (without(["userRequest", "utterance"]), "userRequest.utterance: required field missing"),
        (without(["userRequest", "user", "id"]), "userRequest.user.id: required field missing"),
        (without(["userRequest", "user"]), "userRequest.user: required field missing"),
        (without(["userRequest"]), "userRequest: required field missing"),
    ],
)
def test_missing_required_fields(raw: bytes, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(raw)
    assert str(caught.value) == message
    assert caught.value.path == message.split(":")[0]


def test_wrong_types_name_the_path() -> None:
    value = body()
    value["userRequest"]["utterance"] = 42
    with pytest.raises(PayloadError, match=r"^userRequest\.utterance: expected `str`, got `int`"):
        parse_payload(encode(value))
    value = body()
    value["userRequest"]["user"]["properties"]["isFriend"] = "yes"
    with pytest.raises(PayloadError, match=r"^userRequest\.user\.properties\.isFriend: expected"):
        parse_payload(encode(value))
    value = body(contexts=["not a map"])
    with pytest.raises(PayloadError, match=r"^contexts\[0\]: expected `object`"):
        parse_payload(encode(value))


def test_empty_user_id_rejected() -> None:
    value = body()
    value["userRequest"]["user"]["id"] = "  "
    with pytest.raises(PayloadError, match=r"^userRequest\.user\.id: must not be empty"):
        parse_payload(encode(value))


@pytest.mark.parametrize("raw", [b"", b"   ", b"{", b'{"userRequest": ', b"not json", b"\xff\xfe"])
def test_malformed_json(raw: bytes) -> None:
    with pytest.raises(PayloadError, match=r"^body: "):
        parse_payload(raw)


def test_top_level_array_rejected() -> None:
    with pytest.raises(PayloadError, match=r"^body: expected `object`, got `array`"):
        parse_payload(b"[]")


# --- nesting depth (issue 10, defect 7) ----------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _with_deep(field: str, depth: int) -> bytes:
    """body() with a value nested `depth` deep in `field` (spliced in as text: json.dumps would recurse)."""
    payload = body()
    if field == "userRequest.params":
        payload["userRequest"]["params"] = {"media": "__deep__"}
    elif field == "action.clientExtra":
        payload["action"]["clientExtra"] = {"sangdam": "__deep__"}
    elif field == "action.detailParams":
        payload["action"]["detailParams"] = {"sys_date": {"value": "__deep__"}}
    elif field == "contexts":
        payload["contexts"] = ["__deep__"]
    else:
        payload[field] = "__deep__"
    return json.dumps(payload).replace('"__deep__"', _nested(depth)).encode()


@pytest.mark.parametrize("depth", [1000, 5000])
@pytest.mark.parametrize(
    "field", ["userRequest.params", "action.clientExtra", "action.detailParams", "contexts", "unknownField"]
)
def test_deep_nesting_in_free_form_fields_is_refused_not_a_recursion_error(field: str, depth: int) -> None:
    with pytest.raises(PayloadError, match=r"^body: JSON nested more than 64 levels deep"):
        parse_payload(_with_deep(field, depth))


def test_moderate_nesting_in_free_form_fields_is_kept() -> None:
    payload = body()
    payload["action"]["clientExtra"] = {"a": json.loads(_nested(40))}
    assert client_extra(parse_payload(json.dumps(payload).encode())) == {"a": json.loads(_nested(40))}


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    payload = body(userRequest={**body()["userRequest"], "utterance": "[" * 5000 + '\\"{' * 100})
    assert parse_payload(json.dumps(payload).encode()).userRequest.utterance.startswith("[[[")


def test_deeply_nested_sys_value_stays_a_string() -> None:
    raw = "[" * 5000 + "]" * 5000
    assert parse_sys_value(raw) == raw
