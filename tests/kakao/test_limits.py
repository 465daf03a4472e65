"""Kakao limits (kakao.md §1, §2, §4): counting, splitting, truncation, and the final validator.

For each limit: the renderer, fed too much, still produces a valid response; validate() rejects a
hand-built structure/count violation; length overruns are warned about and fixed by fit_lengths, never
rejected.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pytest

from adapters.kakao import limits
from adapters.kakao.render import render
from adapters.kakao.response import (
    BasicCard,
    Button,
    Carousel,
    CarouselCard,
    CarouselHeader,
    CommerceCard,
    ContextControl,
    ContextValue,
    ItemCard,
    ItemHead,
    ItemListEntry,
    ItemListSummary,
    ItemProfile,
    ListCard,
    ListItem,
    Output,
    QuickReply,
    ResponseDecodeError,
    SimpleImage,
    SimpleText,
    SkillResponse,
    SkillTemplate,
    TextCard,
    Thumbnail,
    decode_response,
)
from core import messages as m

IMG = "https://cdn.example.com/p.png"


def resp(*components: Any, quick: list[QuickReply] | None = None) -> SkillResponse:
    return SkillResponse(
        version="2.0",
        template=SkillTemplate(outputs=[Output.of(c) for c in components], quickReplies=quick or []),
    )


def thumb(**kw: Any) -> Thumbnail:
    return Thumbnail(imageUrl=IMG, **kw)


def btn(i: int = 0) -> Button:
    return Button(label=f"버튼{i}", action="message", messageText=f"버튼{i}")


def basic(**kw: Any) -> BasicCard:
    kw.setdefault("thumbnail", thumb())
    kw.setdefault("title", "카드")
    return BasicCard(**kw)


def item_card(rows: int = 2, **kw: Any) -> ItemCard:
    return ItemCard(itemList=[ItemListEntry(title="항목", description="값") for _ in range(rows)], **kw)


def list_card(items: int = 2, **kw: Any) -> ListCard:
    return ListCard(header=ListItem(title="목록"), items=[ListItem(title=f"항목{i}") for i in range(items)], **kw)


def rejected(response: SkillResponse, fragment: str) -> None:
    problems = limits.validate(response)
    assert any(fragment in p for p in problems), problems
    with pytest.raises(limits.LimitViolation):
        limits.ensure_valid(response)


def valid(response: SkillResponse) -> SkillResponse:
    assert limits.validate(response) == []
    assert limits.length_warnings(response) == []
    return response


def components(response: SkillResponse) -> list[Any]:
    assert response.template is not None
    return [o.component for o in response.template.outputs]


# --- counting characters (§2) ------------------------------------------------------------------


def test_nfd_hangul_counts_as_nfc() -> None:
    nfc = "한글 상담"
    nfd = unicodedata.normalize("NFD", nfc)
    assert len(nfd) > len(nfc)
    assert limits.kakao_len(nfd) == limits.kakao_len(nfc) == 5


def test_emoji_outside_bmp_counts_two() -> None:
    assert limits.kakao_len("😘") == 2
    assert limits.kakao_len("가😘") == 3


def test_zwj_sequence_is_never_split() -> None:
    family = "👨‍👩‍👧‍👦"  # 7 code points, 11 UTF-16 units
    assert limits.kakao_len(family) == 11
    text = "가" + family + "나다라"
    for limit in range(1, limits.kakao_len(text)):
        cut = limits.truncate(text, limit)
        assert limits.kakao_len(cut) <= limit
        assert "\u200d" not in cut or family in cut  # whole family or none of it
        assert cut.endswith("…")


def test_combining_marks_and_flags_stay_whole() -> None:
    assert limits.graphemes("e\u0301a") == ["e\u0301", "a"]
    assert limits.graphemes("🇰🇷🇯🇵") == ["🇰🇷", "🇯🇵"]
    assert limits.graphemes("👍🏽!") == ["👍🏽", "!"]
    old_hangul = "\u1100\u1161\u11a8"  # conjoining jamo that NFC keeps as one syllable
    assert limits.graphemes(unicodedata.normalize("NFD", "각") + "가") == [
        unicodedata.normalize("NFD", "각"),
        "가",
    ]
    assert len(limits.graphemes(old_hangul)) == 1


def test_truncate_counts_the_ellipsis_and_is_noop_when_fitting() -> None:
    assert limits.truncate("안녕하세요", 5) == "안녕하세요"
    assert limits.truncate("안녕하세요", 4) == "안녕하…"
    assert limits.kakao_len(limits.truncate("가" * 100, 10)) == 10
    assert limits.truncate("가나다", 1) == "…"
    assert limits.truncate("가나다", 0) == ""
    nfd = unicodedata.normalize("NFD", "한국어")
    assert limits.truncate(nfd, 3) == nfd  # fits after NFC: unchanged


# --- splitting and Markdown (§2.5, §2.6) --------------------------------------------------------


def test_split_prefers_paragraphs_and_sentences() -> None:
    para = "첫 문장이에요. 두 번째 문장이에요. " * 10
    text = f"{para.strip()}\n\n{para.strip()}\n\n{para.strip()}"
    bubbles = limits.split_text(text, per_bubble=300)
    assert 1 < len(bubbles) <= 3
    assert all(limits.kakao_len(b) <= 300 for b in bubbles)
    assert all(b.endswith("이에요.") for b in bubbles)
    assert bubbles[0] == para.strip()  # ended at the paragraph break


def test_split_truncates_the_last_bubble() -> None:
    text = "문장이에요. " * 1000
    bubbles = limits.split_text(text, per_bubble=100, max_bubbles=3)
    assert len(bubbles) == 3
    assert bubbles[-1].endswith("…") and limits.kakao_len(bubbles[-1]) == 100


def test_split_without_spaces_cuts_on_graphemes() -> None:
    bubbles = limits.split_text("😘" * 100, per_bubble=11, max_bubbles=50)
    assert all(limits.kakao_len(b) <= 11 for b in bubbles)
    assert "".join(bubbles) == "😘" * 100


def test_split_empty_text() -> None:
    assert limits.split_text("   ") == []


def test_strip_markdown() -> None:
    md = (
        "# 제목\n\n**굵게** 그리고 *기울임*, `code`, ~~취소~~\n"
        "- 사과\n* 배\n> 인용\n[링크](https://a.example) ![그림](https://a.example/i.png)\n"
        "| 이름 | 값 |\n|---|---|\n| 배송 | 2일 |\n---\n```python\nprint(1)\n```"
    )
    assert limits.strip_markdown(md) == (
        "제목\n\n굵게 그리고 기울임, code, 취소\n• 사과\n• 배\n인용\n링크 (https://a.example) 그림\n"
        "이름 · 값\n배송 · 2일\n\nprint(1)"
    )
    assert limits.strip_markdown("snake_case_name 2*3*4") == "snake_case_name 2*3*4"


# --- counts: renderer caps, validator rejects (§1 "Counts") -------------------------------------


def test_outputs_1_to_3() -> None:
    parts: list[m.ReplyPart] = [m.Card(title=f"카드{i}", image_url=IMG) for i in range(6)]
    assert len(components(valid(render(parts)))) == limits.MAX_OUTPUTS
    rejected(resp(*[SimpleText(text="a")] * 4), "1-3 outputs required, got 4")
    rejected(resp(), "1-3 outputs required, got 0")


def test_quick_replies_max_10() -> None:
    parts: list[m.ReplyPart] = [
        m.Text(text="골라요"),
        m.QuickReplies(options=[m.Button(label=f"옵션{i}") for i in range(15)]),
    ]
    out = valid(render(parts))
    assert out.template is not None and len(out.template.quickReplies) == limits.MAX_QUICK_REPLIES
    quick = [QuickReply(label=f"q{i}", action="message", messageText="q") for i in range(11)]
    rejected(resp(SimpleText(text="a"), quick=quick), "quickReplies: 11, at most 10")


def test_carousel_max_10_and_list_carousel_max_5() -> None:
    cards = [m.Card(title=f"c{i}", image_url=IMG) for i in range(12)]
    carousel = components(valid(render([m.Carousel(cards=cards)])))[0]
    assert isinstance(carousel, Carousel) and len(carousel.items) == limits.MAX_CAROUSEL_ITEMS
    rejected(resp(Carousel(type="basicCard", items=[basic()] * 11)), "11 cards, at most 10")
    rejected(resp(Carousel(type="listCard", items=[list_card()] * 6)), "6 cards, at most 5")
    rejected(resp(Carousel(type="basicCard", items=[])), "at least one item")


def test_list_items_max_5_and_4_in_carousel() -> None:
    part = m.ListPart(header="목록", items=[m.ListItem(title=f"항목{i}") for i in range(9)])
    card = components(valid(render([part])))[0]
    assert isinstance(card, ListCard) and len(card.items) == limits.MAX_LIST_ITEMS
    rejected(resp(list_card(6)), "6 items, at most 5")
    rejected(resp(Carousel(type="listCard", items=[list_card(5), list_card(2)])), "5 items, at most 4")
    rejected(resp(list_card(0)), "at least one item")


def test_item_list_max_10_and_5_in_carousel() -> None:
    valid(resp(item_card(10)))
    rejected(resp(item_card(11)), "11 rows, at most 10")
    rejected(resp(Carousel(type="itemCard", items=[item_card(6), item_card(2)])), "6 rows, at most 5")
    rejected(resp(item_card(0)), "itemList: required")


def test_buttons_3_vertical_2_horizontal() -> None:
    buttons = [m.Button(label=f"b{i}", kind="message") for i in range(6)]
    for part in (m.Card(title="t", buttons=buttons), m.Card(title="t", image_url=IMG, buttons=buttons)):
        card = components(valid(render([part])))[0]
        assert len(card.buttons) == limits.MAX_BUTTONS_VERTICAL
    list_part = m.ListPart(header="h", items=[m.ListItem(title="i")], buttons=buttons)
    card = components(valid(render([list_part])))[0]
    assert len(card.buttons) == limits.SAFE_MAX_LIST_BUTTONS
    rejected(resp(TextCard(title="t", buttons=[btn(i) for i in range(4)])), "4 buttons, at most 3")
    rejected(
        resp(TextCard(title="t", buttons=[btn(i) for i in range(3)], buttonLayout="horizontal")),
        "3 buttons, at most 2",
    )
    rejected(resp(basic(thumbnail=thumb(fixedRatio=True), buttons=[btn(i) for i in range(3)])), "at most 2")
    # fixedRatio with an explicit vertical layout: 3 are fine.
    valid(resp(basic(thumbnail=thumb(fixedRatio=True), buttons=[btn(i) for i in range(3)], buttonLayout="vertical")))
    rejected(resp(TextCard(title="t", buttonLayout="diagonal")), "buttonLayout")


def test_commerce_card_exactly_one_thumbnail() -> None:
    card = components(valid(render([m.Card(title="상품", image_url=IMG, price=1000)])))[0]
    assert isinstance(card, CommerceCard) and len(card.thumbnails) == limits.COMMERCE_THUMBNAILS
    rejected(resp(CommerceCard(price=1000, thumbnails=[])), "exactly 1 required, got 0")
    rejected(resp(CommerceCard(price=1000, thumbnails=[thumb(), thumb()])), "exactly 1 required, got 2")


# --- structure (§1 "Structure") -----------------------------------------------------------------


def test_structure_violations_are_rejected() -> None:
    rejected(
        SkillResponse(version="2.1", template=SkillTemplate(outputs=[Output.of(SimpleText(text="a"))])),
        "version",
    )
    rejected(SkillResponse(version="2.0"), "template: required")
    rejected(resp(BasicCard(title="no image")), "basicCard.thumbnail: required")
    rejected(resp(ListCard(items=[ListItem(title="a")])), "listCard.header: required")
    rejected(resp(SimpleText(text="  ")), "simpleText.text: required")
    rejected(resp(SimpleImage(imageUrl="not a url")), "imageUrl")
    rejected(resp(TextCard()), "title or description is required")
    rejected(resp(TextCard(title="t", buttons=[Button(label="x", action="teleport")])), "unknown action")
    rejected(resp(TextCard(title="t", buttons=[Button(label="x", action="webLink")])), "webLinkUrl")
    rejected(
        resp(TextCard(title="t", buttons=[Button(label="x", action="webLink", webLinkUrl="javascript:1")])),
        "webLinkUrl",
    )
    rejected(resp(TextCard(title="t", buttons=[Button(label="x", action="phone")])), "phoneNumber")
    rejected(resp(TextCard(title="t", buttons=[Button(label="x", action="block")])), "blockId")
    rejected(resp(TextCard(title="t", buttons=[Button(label="x", action="message")])), "messageText")
    rejected(resp(TextCard(title="t", buttons=[Button(label=" ", action="share")])), "label: required")
    rejected(resp(item_card(head=ItemHead(title="h"), profile=ItemProfile(title="p"))), "mutually exclusive")
    rejected(resp(item_card(description="설명만")), "title: required when description")
    rejected(resp(item_card(itemListAlignment="center")), "itemListAlignment")
    rejected(resp(CommerceCard(price=1, thumbnails=[thumb()], discountRate=10)), "discountedPrice: required")
    rejected(resp(CommerceCard(price=1, thumbnails=[thumb()], currency="usd")), "currency")
    rejected(
        resp(ListCard(header=ListItem(title="h"), items=[ListItem(title="a", action="phone")])),
        "block or message",
    )
    rejected(resp(SimpleText(text="a"), quick=[QuickReply(label="q", action="block")]), "blockId")
    rejected(resp(SimpleText(text="a"), quick=[QuickReply(label="q", action="webLink")]), "message or block")
    bad_context = SkillResponse(version="2.0", context=ContextControl(values=[ContextValue(name="", lifeSpan=-1)]))
    rejected(bad_context, "name: required")
    rejected(bad_context, "lifeSpan")


def resp_output(output: Output) -> SkillResponse:
    return SkillResponse(version="2.0", template=SkillTemplate(outputs=[output]))


def test_output_with_two_components_is_rejected() -> None:
    rejected(resp_output(Output(simpleText=SimpleText(text="a"), textCard=TextCard(title="b"))), "exactly one")
    rejected(resp_output(Output()), "got 0")


def test_carousel_structure() -> None:
    rejected(resp(Carousel(type="basicCard", items=[basic(), TextCard(title="x")])), "mixed types")
    rejected(resp(Carousel(type="simpleText", items=[TextCard(title="x")])), "unknown carousel type")
    rejected(
        resp(Carousel(type="basicCard", items=[basic(), basic(thumbnail=thumb(fixedRatio=True))])),
        "1:1 or all 2:1",
    )
    header = CarouselHeader(title="t", description="d", thumbnail=thumb())
    rejected(resp(Carousel(type="listCard", items=[list_card(), list_card()], header=header)), "not allowed")
    rejected(
        resp(Carousel(type="textCard", items=[TextCard(title="a"), TextCard(title="b")], header=header)),
        "not allowed",
    )
    valid(resp(Carousel(type="basicCard", items=[basic(), basic()], header=header)))
    some_heads: list[CarouselCard] = [item_card(head=ItemHead(title="h")), item_card()]
    rejected(resp(Carousel(type="itemCard", items=some_heads)), "head must be on all cards or none")
    square: list[CarouselCard] = [item_card(thumbnail=thumb(width=800, height=800))] * 2
    rejected(resp(Carousel(type="itemCard", items=square)), "2:1 images only")
    valid(resp(Carousel(type="itemCard", items=[item_card(thumbnail=thumb(width=800, height=400))] * 2)))


def test_decode_rejects_structure_it_cannot_represent() -> None:
    with pytest.raises(ResponseDecodeError, match="price"):
        decode_response('{"version":"2.0","template":{"outputs":[{"commerceCard":{"thumbnails":[]}}]}}')
    with pytest.raises(ResponseDecodeError, match="version"):
        decode_response('{"template":{"outputs":[]}}')
    with pytest.raises(ResponseDecodeError, match="malformed"):
        decode_response("{")
    with pytest.raises(ResponseDecodeError, match=r"textCard items\[0\]\.buttons"):
        decode_response(
            '{"version":"2.0","template":{"outputs":[{"carousel":{"type":"textCard","items":[{"buttons":[{}]}]}}]}}'
        )


def test_ack_and_data_only_responses_are_valid() -> None:
    valid(SkillResponse(version="2.0", useCallback=True, data={"text": "잠시만요"}))
    valid(SkillResponse(version="2.0", data={"answer": "네"}))


# --- lengths: warned and truncated, never rejected (§1 "Lengths", §4) ---------------------------

LONG = "가나다라마바사아자차" * 120  # 1,200


def _item_summary(description: str) -> SkillResponse:
    return resp(item_card(itemListSummary=ItemListSummary(title="합계", description=description)))


# (name, build response with LONG in the field, getter for the fitted value, limit)
LengthCase = tuple[str, Callable[[str], SkillResponse], Callable[[SkillResponse], str | None], int]


def _first(response: SkillResponse) -> Any:
    return components(response)[0]


LENGTH_CASES: list[LengthCase] = [
    ("simpleText.text", lambda s: resp(SimpleText(text=s)), lambda r: _first(r).text, limits.SIMPLE_TEXT_MAX),
    (
        "simpleImage.altText",
        lambda s: resp(SimpleImage(imageUrl=IMG, altText=s)),
        lambda r: _first(r).altText,
        limits.SIMPLE_IMAGE_ALT_MAX,
    ),
    (
        "textCard.title",
        lambda s: resp(TextCard(title=s)),
        lambda r: _first(r).title,
        limits.TEXT_CARD_TITLE_MAX,
    ),
    (
        "textCard.title+description",
        lambda s: resp(TextCard(title="제목" * 10, description=s)),
        lambda r: _first(r).title + _first(r).description,
        limits.TEXT_CARD_TOTAL_MAX,
    ),
    (
        "textCard.description (carousel)",
        lambda s: resp(Carousel(type="textCard", items=[TextCard(description=s), TextCard(title="b")])),
        lambda r: _first(r).items[0].description,
        limits.TEXT_CARD_DESCRIPTION_CAROUSEL_MAX,
    ),
    (
        "basicCard.title",
        lambda s: resp(basic(title=s)),
        lambda r: _first(r).title,
        limits.BASIC_CARD_TITLE_MAX,
    ),
    (
        "basicCard.description",
        lambda s: resp(basic(description=s)),
        lambda r: _first(r).description,
        limits.BASIC_CARD_DESCRIPTION_MAX,
    ),
    (
        "commerceCard.title",
        lambda s: resp(CommerceCard(title=s, price=1, thumbnails=[thumb()])),
        lambda r: _first(r).title,
        limits.COMMERCE_TITLE_MAX,
    ),
    (
        "commerceCard.description",
        lambda s: resp(CommerceCard(description=s, price=1, thumbnails=[thumb()])),
        lambda r: _first(r).description,
        limits.COMMERCE_DESCRIPTION_MAX,
    ),
    (
        "thumbnail.altText",
        lambda s: resp(basic(thumbnail=thumb(altText=s))),
        lambda r: _first(r).thumbnail.altText,
        limits.THUMBNAIL_ALT_MAX,
    ),
    (
        "button.label",
        lambda s: resp(TextCard(title="t", buttons=[Button(label=s, action="share")])),
        lambda r: _first(r).buttons[0].label,
        limits.BUTTON_LABEL_MAX,
    ),
    (
        "button.label (horizontal)",
        lambda s: resp(TextCard(title="t", buttonLayout="horizontal", buttons=[Button(label=s, action="share")])),
        lambda r: _first(r).buttons[0].label,
        limits.BUTTON_LABEL_HORIZONTAL_MAX,
    ),
    (
        "button.label (1:1 thumbnail)",
        lambda s: resp(basic(thumbnail=thumb(fixedRatio=True), buttons=[Button(label=s, action="share")])),
        lambda r: _first(r).buttons[0].label,
        limits.BUTTON_LABEL_HORIZONTAL_MAX,
    ),
    (
        "quickReply.label",
        lambda s: resp(SimpleText(text="a"), quick=[QuickReply(label=s, action="message", messageText="x")]),
        lambda r: r.template.quickReplies[0].label if r.template else None,
        limits.QUICK_REPLY_LABEL_MAX,
    ),
    (
        "itemList.title",
        lambda s: resp(ItemCard(itemList=[ItemListEntry(title=s, description="d")])),
        lambda r: _first(r).itemList[0].title,
        limits.ITEM_LIST_TITLE_MAX,
    ),
    (
        "itemListSummary.title",
        lambda s: resp(item_card(itemListSummary=ItemListSummary(title=s, description="1,000원"))),
        lambda r: _first(r).itemListSummary.title,
        limits.ITEM_LIST_SUMMARY_TITLE_MAX,
    ),
    (
        "itemCard.title+description",
        lambda s: resp(item_card(title="제목", description=s)),
        lambda r: _first(r).title + _first(r).description,
        limits.ITEM_CARD_TEXT_MAX,
    ),
    (
        "itemCard.title+description (carousel)",
        lambda s: resp(Carousel(type="itemCard", items=[item_card(title=s), item_card(title="b")])),
        lambda r: _first(r).items[0].title,
        limits.ITEM_CARD_TEXT_CAROUSEL_MAX,
    ),
    (
        "itemCard.profile.title",
        lambda s: resp(item_card(profile=ItemProfile(title=s))),
        lambda r: _first(r).profile.title,
        limits.ITEM_PROFILE_TITLE_MAX,
    ),
]


@pytest.mark.parametrize("case", LENGTH_CASES, ids=[c[0] for c in LENGTH_CASES])
def test_length_overrun_is_warned_and_truncated(case: LengthCase) -> None:
    _, build, read, limit = case
    response = build(LONG)
    assert limits.validate(response) == []  # never rejected
    assert limits.length_warnings(response), "an overrun must be reported"
    fitted = valid(limits.fit_lengths(response))
    value = read(fitted)
    assert value is not None
    assert limits.kakao_len(value) == limit
    assert value.endswith("…")
    short = read(limits.fit_lengths(build("짧아요")))
    assert short is not None and short.endswith("짧아요")  # fitting text untouched


def test_item_list_summary_description_is_omitted_not_cut() -> None:
    fitted = valid(limits.fit_lengths(_item_summary("₩1,234,567,890,123")))
    assert components(fitted)[0].itemListSummary is None
    kept = valid(limits.fit_lengths(_item_summary("$4,032.54")))
    assert components(kept)[0].itemListSummary == ItemListSummary(title="합계", description="$4,032.54")


def test_fit_lengths_collapses_lines() -> None:
    header = CarouselHeader(title="1\n2\n3\n4", description="a\nb\nc\nd\ne", thumbnail=thumb())
    fitted = limits.fit_lengths(resp(Carousel(type="basicCard", items=[basic(), basic()], header=header)))
    carousel = components(fitted)[0]
    assert carousel.header.title == "1\n2 3 4"
    assert carousel.header.description == "a\nb\nc d e"


def test_fit_lengths_does_not_touch_the_original() -> None:
    original = resp(SimpleText(text=LONG))
    limits.fit_lengths(original)
    assert components(original)[0].text == LONG


# --- the renderer fed too much, per length limit --------------------------------------------------


def test_renderer_truncates_every_field() -> None:
    long_buttons = [
        m.Button(label=LONG, kind="message"),
        m.Button(label=LONG, kind="url", value="https://x.example"),
    ]
    parts: list[m.ReplyPart] = [
        m.Card(title=LONG, text=LONG, buttons=long_buttons),  # textCard: title 50, total 400
        m.Card(title=LONG, text=LONG, image_url=IMG, buttons=long_buttons),  # basicCard: 50 / 230
        m.Card(title=LONG, text=LONG, image_url=IMG, price=1000),  # commerceCard: 30 / 40
    ]
    text_card, basic_card, commerce_card = components(valid(render(parts)))
    assert limits.kakao_len(text_card.title) == limits.TEXT_CARD_TITLE_MAX
    assert limits.kakao_len(text_card.title) + limits.kakao_len(text_card.description) == limits.TEXT_CARD_TOTAL_MAX
    assert limits.kakao_len(basic_card.title) == limits.BASIC_CARD_TITLE_MAX
    assert limits.kakao_len(basic_card.description) == limits.BASIC_CARD_DESCRIPTION_MAX
    assert limits.kakao_len(commerce_card.title) == limits.COMMERCE_TITLE_MAX
    assert limits.kakao_len(commerce_card.description) == limits.COMMERCE_DESCRIPTION_MAX
    assert all(limits.kakao_len(b.label) == limits.BUTTON_LABEL_MAX for b in text_card.buttons)


def test_renderer_carousel_uses_safe_limits() -> None:
    cards = [m.Card(title=f"{LONG}\n둘째 줄", text=LONG, image_url=IMG) for _ in range(2)]
    carousel = components(valid(render([m.Carousel(cards=cards)])))[0]
    for item in carousel.items:
        assert "\n" not in item.title
        assert limits.kakao_len(item.description) == limits.SAFE_BASIC_CARD_DESCRIPTION_CAROUSEL_MAX
    text_cards = [m.Card(title="t", text=LONG) for _ in range(2)]
    carousel = components(valid(render([m.Carousel(cards=text_cards)])))[0]
    assert all(limits.kakao_len(i.description) == limits.TEXT_CARD_DESCRIPTION_CAROUSEL_MAX for i in carousel.items)


def test_renderer_simple_text_and_image_alt() -> None:
    out = components(valid(render([m.Text(text=LONG * 3), m.Image(url=IMG, alt=LONG)])))
    assert all(limits.kakao_len(c.text) <= limits.SIMPLE_TEXT_CHUNK for c in out if isinstance(c, SimpleText))
    image = next(c for c in out if isinstance(c, SimpleImage))
    assert limits.kakao_len(image.altText or "") == limits.SIMPLE_IMAGE_ALT_MAX


def test_renderer_quick_reply_labels() -> None:
    parts: list[m.ReplyPart] = [
        m.Text(text="a"),
        m.QuickReplies(options=[m.Button(label=LONG, kind="message")]),
    ]
    out = valid(render(parts))
    assert out.template is not None
    reply = out.template.quickReplies[0]
    assert limits.kakao_len(reply.label) == limits.QUICK_REPLY_LABEL_MAX
    assert reply.messageText == LONG  # what the customer "says" is not cut
