"""Core reply parts -> SkillResponse: components, button actions, planning, postback round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.kakao import limits
from adapters.kakao.payload import parse_payload, to_inbound
from adapters.kakao.render import callback_ack, render, render_text
from adapters.kakao.response import (
    BasicCard,
    Carousel,
    CommerceCard,
    ContextValue,
    ListCard,
    SimpleImage,
    SimpleText,
    SkillResponse,
    TextCard,
    decode_response,
    encode_response,
)
from core.messages import (
    Button,
    Card,
    HandoffNotice,
    Image,
    ListItem,
    ListPart,
    QuickReplies,
    ReplyPart,
    Text,
)
from core.messages import Carousel as CoreCarousel

IMG = "https://cdn.example.com/p.png"


def wire(resp: SkillResponse) -> dict[str, Any]:
    """The JSON Kakao receives; also checks it is valid and decodes back to the same Structs."""
    assert limits.validate(resp) == []
    assert limits.length_warnings(resp) == []
    encoded = encode_response(resp)
    assert decode_response(encoded) == resp
    result: dict[str, Any] = json.loads(encoded)
    return result


def outputs(resp: SkillResponse) -> list[Any]:
    assert resp.template is not None
    return [o.component for o in resp.template.outputs]


def test_text_to_simple_text() -> None:
    data = wire(render([Text(text="안녕하세요. 무엇을 도와드릴까요?")]))
    assert data == {
        "version": "2.0",
        "template": {"outputs": [{"simpleText": {"text": "안녕하세요. 무엇을 도와드릴까요?"}}]},
    }


def test_long_text_splits_at_sentences() -> None:
    sentence = "주문하신 상품은 오늘 출발했어요. "
    text = sentence * 100  # about 1,900 characters
    comps = outputs(render_text(text))
    assert 2 <= len(comps) <= 3
    assert all(isinstance(c, SimpleText) for c in comps)
    for c in comps:
        assert limits.kakao_len(c.text) <= limits.SIMPLE_TEXT_CHUNK
        assert c.text.endswith("했어요.")  # cut at a sentence end, never mid-word


def test_markdown_is_stripped() -> None:
    comps = outputs(render_text("## 안내\n**배송**은 [여기](https://x.example/t)에서 확인해요.\n- 첫째\n- 둘째"))
    assert comps[0].text == "안내\n배송은 여기 (https://x.example/t)에서 확인해요.\n• 첫째\n• 둘째"


def test_image_to_simple_image() -> None:
    data = wire(render([Image(url=IMG, alt="제품 사진")]))
    assert data["template"]["outputs"] == [{"simpleImage": {"imageUrl": IMG, "altText": "제품 사진"}}]
    # altText is always sent (SF-prev required it).
    comps = outputs(render([Image(url=IMG)]))
    assert isinstance(comps[0], SimpleImage) and comps[0].altText == "이미지"


def test_image_without_http_url_is_dropped() -> None:
    comps = outputs(render([Text(text="사진이에요."), Image(url="file:///etc/passwd")]))
    assert [type(c) for c in comps] == [SimpleText]


def test_card_with_image_is_basic_card() -> None:
    card = Card(
        title="무선 청소기",
        text="흡입력이 강한 모델이에요.",
        image_url=IMG,
        link_url="https://shop.example.com/p/1",
        buttons=[Button(label="구매 문의", kind="postback", value="buy:1")],
    )
    data = wire(render([card]))
    assert data["template"]["outputs"][0] == {
        "basicCard": {
            "title": "무선 청소기",
            "description": "흡입력이 강한 모델이에요.",
            "thumbnail": {"imageUrl": IMG, "link": {"web": "https://shop.example.com/p/1"}},
            "buttons": [
                {
                    "label": "구매 문의",
                    "action": "message",
                    "messageText": "구매 문의",
                    "extra": {"sangdam": "buy:1"},
                }
            ],
        }
    }


def test_card_without_image_is_text_card() -> None:
    comps = outputs(render([Card(title="영업시간", text="평일 9시부터 18시까지예요.")]))
    assert comps == [TextCard(title="영업시간", description="평일 9시부터 18시까지예요.")]


def test_priced_card_is_commerce_card() -> None:
    comps = outputs(render([Card(title="필터", text="교체용 필터", image_url=IMG, price=12000, discount=2000)]))
    card = comps[0]
    assert isinstance(card, CommerceCard)
    assert card.price == 12000 and card.discount == 2000 and card.currency == "won"
    assert len(card.thumbnails) == 1 and card.thumbnails[0].imageUrl == IMG
    assert len(card.buttons) >= 1  # SF-prev required one; we add share when there is none


def test_priced_card_without_image_writes_the_price() -> None:
    comps = outputs(render([Card(title="필터", text="교체용", price=12000, discount=2000)]))
    assert comps == [TextCard(title="필터", description="교체용\n가격: 12,000원 (할인가 10,000원)")]


@pytest.mark.parametrize(
    ("button", "expected"),
    [
        (
            Button(label="홈페이지", kind="url", value="https://x.example"),
            {"action": "webLink", "webLinkUrl": "https://x.example"},
        ),
        (
            Button(label="전화하기", kind="phone", value="1588-0000"),
            {"action": "phone", "phoneNumber": "1588-0000"},
        ),
        (
            Button(label="배송 조회", kind="message", value="배송 조회할래요"),
            {"action": "message", "messageText": "배송 조회할래요"},
        ),
        (Button(label="배송 조회", kind="message"), {"action": "message", "messageText": "배송 조회"}),
        (
            Button(label="환불", kind="postback", value="intent:refund"),
            {"action": "message", "messageText": "환불", "extra": {"sangdam": "intent:refund"}},
        ),
        (Button(label="상담원", kind="handoff"), {"action": "operator"}),
    ],
)
def test_button_kinds(button: Button, expected: dict[str, Any]) -> None:
    data = wire(render([Card(title="안내", text="선택해 주세요.", buttons=[button])]))
    rendered = data["template"]["outputs"][0]["textCard"]["buttons"][0]
    assert rendered == {"label": button.label, **expected}


def test_buttons_capped_at_three_and_labels_truncated() -> None:
    buttons = [Button(label=f"아주 긴 버튼 이름입니다 {i}번", kind="message") for i in range(5)]
    comps = outputs(render([Card(title="안내", image_url=IMG, buttons=buttons)]))
    card = comps[0]
    assert isinstance(card, BasicCard)
    assert len(card.buttons) == 3
    assert all(limits.kakao_len(b.label) <= limits.BUTTON_LABEL_MAX for b in card.buttons)
    assert card.buttons[0].messageText == "아주 긴 버튼 이름입니다 0번"  # the full text is still sent


def test_carousel_of_basic_cards() -> None:
    cards = [Card(title=f"상품 {i}", text="설명", image_url=IMG) for i in range(3)]
    comps = outputs(render([CoreCarousel(cards=cards)]))
    carousel = comps[0]
    assert isinstance(carousel, Carousel) and carousel.type == "basicCard"
    assert all(isinstance(item, BasicCard) for item in carousel.items)


def test_carousel_of_commerce_cards() -> None:
    cards = [Card(title=f"상품 {i}", image_url=IMG, price=1000 * (i + 1)) for i in range(2)]
    carousel = outputs(render([CoreCarousel(cards=cards)]))[0]
    assert isinstance(carousel, Carousel) and carousel.type == "commerceCard"


def test_mixed_carousel_becomes_uniform() -> None:
    cards = [
        Card(title="A", image_url=IMG, price=1000),
        Card(title="B", image_url=IMG),
        Card(title="C", text="글"),
    ]
    carousel = outputs(render([CoreCarousel(cards=cards)]))[0]
    assert isinstance(carousel, Carousel) and carousel.type == "textCard"
    assert all(isinstance(item, TextCard) for item in carousel.items)
    cards = [Card(title="A", image_url=IMG, price=1000), Card(title="B", image_url=IMG)]
    carousel = outputs(render([CoreCarousel(cards=cards)]))[0]
    assert isinstance(carousel, Carousel) and carousel.type == "basicCard"


def test_one_card_carousel_is_a_single_card() -> None:
    comps = outputs(render([CoreCarousel(cards=[Card(title="하나", image_url=IMG)])]))
    assert isinstance(comps[0], BasicCard)


def test_carousel_capped_at_ten() -> None:
    cards = [Card(title=f"상품 {i}", image_url=IMG) for i in range(14)]
    carousel = outputs(render([CoreCarousel(cards=cards)]))[0]
    assert isinstance(carousel, Carousel) and len(carousel.items) == 10


def test_list_part_to_list_card() -> None:
    part = ListPart(
        header="자주 묻는 질문",
        items=[
            ListItem(
                title="배송 조회",
                description="택배사 연동",
                image_url=IMG,
                action=Button(label="배송", value="faq:ship"),
            ),
            ListItem(title="교환 안내", action=Button(label="교환", kind="message", value="교환하고 싶어요")),
            ListItem(title="매장 찾기", action=Button(label="지도", kind="url", value="https://map.example")),
        ],
        buttons=[Button(label=f"더보기 {i}", kind="message") for i in range(3)],
    )
    data = wire(render([part]))
    card = data["template"]["outputs"][0]["listCard"]
    assert card["header"] == {"title": "자주 묻는 질문"}
    assert card["items"][0] == {
        "title": "배송 조회",
        "description": "택배사 연동",
        "imageUrl": IMG,
        "action": "message",
        "messageText": "배송 조회",
        "extra": {"sangdam": "faq:ship"},
    }
    assert card["items"][1]["messageText"] == "교환하고 싶어요"
    assert card["items"][2]["link"] == {"web": "https://map.example"}
    assert len(card["buttons"]) == limits.SAFE_MAX_LIST_BUTTONS


def test_list_items_capped() -> None:
    part = ListPart(header="목록", items=[ListItem(title=f"항목 {i}") for i in range(8)])
    card = outputs(render([part]))[0]
    assert isinstance(card, ListCard) and len(card.items) == limits.MAX_LIST_ITEMS


def test_empty_list_falls_back_to_text() -> None:
    comps = outputs(render([ListPart(header="결과가 없어요", items=[])]))
    assert comps == [SimpleText(text="결과가 없어요")]


def test_handoff_notice_has_operator_button() -> None:
    data = wire(
        render(
            [HandoffNotice(text="상담직원에게 연결해 드릴게요.", reason="agent_request")],
            operator_label="상담원 연결",
        )
    )
    assert data["template"]["outputs"][0] == {
        "textCard": {
            "description": "상담직원에게 연결해 드릴게요.",
            "buttons": [{"label": "상담원 연결", "action": "operator"}],
        }
    }


def test_quick_replies() -> None:
    parts: list[ReplyPart] = [
        Text(text="무엇을 도와드릴까요?"),
        QuickReplies(
            options=[
                Button(label="배송 조회", kind="postback", value="intent:shipping"),
                Button(label="교환/반품", kind="message"),
                Button(label="교환/반품", kind="message"),  # duplicate: shown once
            ]
        ),
    ]
    data = wire(render(parts))
    assert data["template"]["quickReplies"] == [
        {
            "label": "배송 조회",
            "action": "message",
            "messageText": "배송 조회",
            "extra": {"sangdam": "intent:shipping"},
        },
        {"label": "교환/반품", "action": "message", "messageText": "교환/반품"},
    ]


def test_url_and_handoff_quick_replies_become_buttons() -> None:
    parts: list[ReplyPart] = [
        Text(text="아래에서 골라 주세요."),
        QuickReplies(
            options=[
                Button(label="처음으로", kind="postback", value="home"),
                Button(label="홈페이지", kind="url", value="https://x.example"),
                Button(label="상담원", kind="handoff"),
            ]
        ),
    ]
    resp = render(parts)
    wire(resp)
    assert resp.template is not None
    assert [q.label for q in resp.template.quickReplies] == ["처음으로"]
    card = outputs(resp)[0]
    assert isinstance(card, TextCard) and card.description == "아래에서 골라 주세요."
    assert [b.action for b in card.buttons] == ["webLink", "operator"]


def test_quick_replies_only_get_a_prompt() -> None:
    resp = render([QuickReplies(options=[Button(label="네", kind="message")])])
    wire(resp)
    comps = outputs(resp)
    assert comps == [SimpleText(text="아래에서 원하시는 항목을 선택해 주세요.")]


def test_postback_round_trip() -> None:
    """A rendered postback quick reply, tapped: Kakao sends its extra back as clientExtra."""
    resp = render(
        [
            Text(text="선택해 주세요."),
            QuickReplies(options=[Button(label="환불 문의", value="intent:refund")]),
        ]
    )
    reply = json.loads(encode_response(resp))["template"]["quickReplies"][0]
    payload = {
        "userRequest": {
            "user": {"id": "u1", "type": "botUserKey"},
            "utterance": reply["messageText"],
            "lang": "ko",
        },
        "action": {"params": {}, "clientExtra": reply["extra"]},
        "flow": {"trigger": {"type": "QUICKREPLY_BUTTON_MESSAGE"}},
    }
    inbound = to_inbound(parse_payload(json.dumps(payload, ensure_ascii=False).encode()))
    assert inbound.payload == "intent:refund"
    assert inbound.text == "환불 문의"


def test_at_most_three_outputs_keeps_text_cards_and_handoff() -> None:
    parts: list[ReplyPart] = [
        Text(text="추천 상품이에요."),
        Card(title="A", image_url=IMG),
        Card(title="B", image_url=IMG),
        Image(url=IMG),
        Text(text="더 궁금한 점이 있으신가요?"),
        HandoffNotice(text="상담원을 연결해 드릴게요."),
    ]
    comps = outputs(render(parts))
    assert len(comps) == 3
    assert isinstance(comps[0], SimpleText)
    assert "추천 상품이에요." in comps[0].text and "더 궁금한 점이 있으신가요?" in comps[0].text  # merged
    assert isinstance(comps[1], BasicCard) and comps[1].title == "A"
    assert isinstance(comps[2], TextCard) and comps[2].buttons[0].action == "operator"


def test_long_text_with_cards_uses_fewer_bubbles() -> None:
    long_text = "배송 관련 안내를 드릴게요. " * 150
    comps = outputs(render([Text(text=long_text), Card(title="A", image_url=IMG), HandoffNotice(text="연결할게요.")]))
    assert [type(c) for c in comps] == [SimpleText, BasicCard, TextCard]
    assert comps[0].text.endswith("…")


def test_context_and_data_pass_through() -> None:
    resp = render(
        [Text(text="네")],
        context=[ContextValue(name="order", lifeSpan=3, params={"orderId": "A-1"})],
        data={"text": "네"},
    )
    data = wire(resp)
    assert data["context"] == {"values": [{"name": "order", "lifeSpan": 3, "params": {"orderId": "A-1"}}]}
    assert data["data"] == {"text": "네"}


def test_empty_parts_give_a_polite_fallback() -> None:
    comps = outputs(render([]))
    assert len(comps) == 1 and isinstance(comps[0], SimpleText) and comps[0].text.endswith("말씀해 주세요.")


def test_many_combinations_always_valid() -> None:
    """Renderer output is valid for a spread of awkward inputs (nothing is asserted away inside render)."""
    long = "가" * 3000
    samples: list[list[ReplyPart]] = [
        [Text(text=long)] * 5,
        [Card(title=long, text=long, image_url=IMG, price=10**9, buttons=[Button(label=long)] * 6)] * 4,
        [CoreCarousel(cards=[Card(title=long, text=long, image_url=IMG)] * 30)],
        [CoreCarousel(cards=[])],
        [
            ListPart(
                header=long,
                items=[ListItem(title=long, description=long)] * 9,
                buttons=[Button(label=long)] * 5,
            )
        ],
        [QuickReplies(options=[Button(label=f"{long}{i}") for i in range(20)])],
        [HandoffNotice(text=long), HandoffNotice(text=""), Card(), Image(url=IMG, alt=long)],
        [Text(text="👨‍👩‍👧‍👦" * 600)],
    ]
    for parts in samples:
        resp = render(parts)
        wire(resp)
        assert resp.template is not None and len(resp.template.quickReplies) <= limits.MAX_QUICK_REPLIES


def test_callback_ack() -> None:
    ack = callback_ack("생각하고 있는 중이에요😘 \n15초 정도 소요될 거 같아요 기다려 주실래요?!")
    assert ack == {
        "version": "2.0",
        "useCallback": True,
        "data": {"text": "생각하고 있는 중이에요😘 \n15초 정도 소요될 거 같아요 기다려 주실래요?!"},
    }
    assert limits.validate(decode_response(json.dumps(ack))) == []
    long = callback_ack("잠시만요. " * 200)["data"]["text"]
    assert limits.kakao_len(long) == limits.CALLBACK_WAIT_TEXT_MAX and long.endswith("…")


def test_operator_label_defaults_when_empty() -> None:
    resp = render(
        [HandoffNotice(text="연결할게요."), Card(title="t", buttons=[Button(label=" ", kind="handoff")])],
        operator_label=" ",
    )
    wire(resp)
    notice, card = outputs(resp)
    assert notice.buttons[0].label == "상담직원 연결"
    assert card.buttons[0].label == "상담직원 연결" and card.buttons[0].action == "operator"


def test_buttons_that_cannot_work_are_dropped() -> None:
    card = Card(
        title="안내",
        buttons=[
            Button(label="링크", kind="url", value="ftp://x.example"),
            Button(label="전화", kind="phone", value=" "),
            Button(label="  ", kind="message"),
            Button(label="확인", kind="message"),
        ],
    )
    comps = outputs(render([card]))
    assert [b.label for b in comps[0].buttons] == ["확인"]


@pytest.mark.parametrize(
    "text", ["", "가볍고 오래 가는 무선 청소기예요. 먼지통이 커서 비우기 편해요. 색상은 두 가지예요."]
)
def test_prices_survive_a_carousel_mixing_priced_and_unpriced_image_cards(text: str) -> None:
    cards = [
        Card(title="청소기", text=text, image_url=IMG, price=129000, discount=10000),
        Card(title="필터", text=text, image_url=IMG),
    ]
    carousel = outputs(render([CoreCarousel(cards=cards)]))[0]
    wire(render([CoreCarousel(cards=cards)]))
    assert isinstance(carousel, Carousel) and carousel.type == "basicCard"
    priced, unpriced = carousel.items
    assert isinstance(priced, BasicCard) and isinstance(unpriced, BasicCard)
    assert priced.description is not None
    assert priced.description.endswith("가격: 129,000원 (할인가 119,000원)")
    assert "가격" not in (unpriced.description or "")


@pytest.mark.parametrize("url", ["https://[x]", "http://[::1", "https://[not-an-ip]/a.png"])
def test_urls_urlsplit_cannot_parse_are_not_urls(url: str) -> None:
    assert limits.is_http_url(url) is False
    card = Card(
        title="안내",
        text="본문이에요.",
        image_url=url,
        link_url=url,
        buttons=[Button(label="열기", kind="url", value=url)],
    )
    resp = render([Text(text="확인해 보세요."), Image(url=url), card])
    payload = wire(resp)
    assert payload["template"]["outputs"][0] == {"simpleText": {"text": "확인해 보세요."}}
    assert "본문이에요." in json.dumps(payload, ensure_ascii=False)


def test_a_later_part_is_kept_whole_when_texts_merge() -> None:
    """A long first part (e.g. a stashed answer) must not push out the new answer's text."""
    earlier = Text(text="앞선 답변이에요. " * 89)  # one full bubble: merged with the new text it overflows
    new = Text(text="새 질문에 대한 답변이에요.")
    comps = outputs(render([earlier, new, Image(url=IMG), Card(title="카드", text="설명")]))
    wire(render([earlier, new, Image(url=IMG), Card(title="카드", text="설명")]))
    assert len(comps) == 3
    assert isinstance(comps[0], SimpleText)
    assert comps[0].text.endswith("새 질문에 대한 답변이에요.")
    assert comps[0].text.startswith("앞선 답변이에요.")
