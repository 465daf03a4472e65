"""FAQ knowledge search: paraphrases find the entry, unrelated questions score low."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import yaml

from core.knowledge.search import METHODS, KnowledgeIndex, calibrate
from core.nlu.lexicon import TextLexicon
from core.pack.loader import load_pack
from core.pack.schema import FaqEntry, FaqFile
from core.settings import DEMO_BOT

DEMO_FAQ = Path(__file__).resolve().parents[1] / "bots" / "demo" / "faq.yaml"

ENTRIES = [
    FaqEntry(
        id="wifi-password",
        question="와이파이 비밀번호는 어떻게 바꾸나요?",
        alt_questions=["공유기 비밀번호 변경하고 싶어요", "와이파이 암호 바꾸는 법"],
        answer="관리자 페이지에 로그인한 뒤 [무선 설정] > [보안]에서 새 비밀번호를 저장해 주세요.",
        categories=["공유기", "설정"],
    ),
    FaqEntry(
        id="router-reset",
        question="공유기를 초기화하려면 어떻게 하나요?",
        alt_questions=["공장 초기화 방법 알려주세요", "리셋 버튼 어디 있어요?"],
        answer="뒷면 RESET 구멍을 클립으로 10초 이상 눌러 주세요. 램프가 깜빡이면 초기화가 시작돼요.",
        categories=["공유기", "초기화"],
    ),
    FaqEntry(
        id="tv-no-sound",
        question="TV에서 소리가 안 나요.",
        alt_questions=["티비 음소거가 안 풀려요", "스피커에서 소리가 안 나와요"],
        answer="리모컨 음소거 버튼을 확인하고 [설정] > [소리] > [출력]을 TV 스피커로 바꿔 주세요.",
        categories=["TV", "소리"],
    ),
    FaqEntry(
        id="refund-timing",
        question="환불은 언제 들어오나요?",
        alt_questions=["환불 처리 기간이 얼마나 걸려요?"],
        answer="카드 결제는 취소 후 3~5영업일, 계좌이체는 1~2영업일 안에 환불돼요.",
        categories=["주문", "환불"],
    ),
    FaqEntry(
        id="warranty",
        question="제품 무상 보증 기간은 얼마인가요?",
        answer="TV는 구매일로부터 2년, 공유기는 1년 동안 무상으로 수리해 드려요.",
        categories=["AS", "보증"],
    ),
]


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex(ENTRIES)


@pytest.mark.parametrize(
    ("query", "entry_id"),
    [
        ("와이파이 비번 변경 어떻게 해요?", "wifi-password"),
        ("공유기 리셋하는 방법", "router-reset"),
        ("티비 소리가 안나와요ㅠㅠ", "tv-no-sound"),
        ("환불 언제 들어와요?", "refund-timing"),
        ("무상 보증기간이 어떻게 되나요", "warranty"),
    ],
)
def test_paraphrase_finds_the_entry(index: KnowledgeIndex, query: str, entry_id: str) -> None:
    hits = index.search(query)
    assert hits[0].entry.id == entry_id
    assert hits[0].score >= 0.55


@pytest.mark.parametrize("query", ["오늘 날씨 어때", "주식 추천해줘", "배고파", "점심 뭐 먹지", "ㅋㅋㅋ", ""])
def test_unrelated_scores_low(index: KnowledgeIndex, query: str) -> None:
    assert all(hit.score < 0.3 for hit in index.search(query))


def test_spacing_insensitive(index: KnowledgeIndex) -> None:
    spaced = index.search("와이파이 비밀번호 바꾸는 법")
    glued = index.search("와이파이비밀번호바꾸는법")
    assert spaced[0].entry.id == glued[0].entry.id == "wifi-password"
    assert glued[0].score >= 0.55


def test_results_are_ranked_and_limited(index: KnowledgeIndex) -> None:
    hits = index.search("공유기 비밀번호 초기화", limit=2)
    assert len(hits) == 2
    assert hits[0].score >= hits[1].score
    assert {hit.entry.id for hit in hits} == {"wifi-password", "router-reset"}
    assert index.search("공유기", limit=0) == []


def test_calibration_is_monotonic_and_bounded() -> None:
    raws = [i / 100 for i in range(0, 150)]
    scores = [calibrate(raw) for raw in raws]
    assert scores == sorted(scores)
    assert scores[0] == 0.0 and scores[-1] == 1.0


def test_empty_index_finds_nothing() -> None:
    assert KnowledgeIndex([]).search("환불") == []


def _demo_faq() -> list[FaqEntry] | None:
    try:
        raw = yaml.safe_load(DEMO_FAQ.read_text(encoding="utf-8"))
        return msgspec.convert(raw, FaqFile).faq
    except (OSError, yaml.YAMLError, msgspec.ValidationError):
        return None


@pytest.mark.skipif(_demo_faq() is None, reason="bots/demo/faq.yaml missing or not valid yet")
@pytest.mark.parametrize(
    ("query", "entry_id"),
    [
        ("공유기 리셋하는 법", "router-reset"),
        ("tv 소리가 안나와요", "tv-no-sound"),
        ("주문 취소하고싶어요", "order-cancel"),
        ("회원탈퇴 하려면 어떻게해요", "member-withdraw"),
    ],
)
def test_demo_faq_paraphrases(query: str, entry_id: str) -> None:
    faq = _demo_faq()
    assert faq is not None
    if entry_id not in {entry.id for entry in faq}:
        pytest.skip(f"demo FAQ has no entry {entry_id}")
    hits = KnowledgeIndex(faq).search(query)
    assert hits[0].entry.id == entry_id
    assert hits[0].score >= 0.55


@pytest.mark.skipif(_demo_faq() is None, reason="bots/demo/faq.yaml missing or not valid yet")
def test_demo_faq_unrelated() -> None:
    faq = _demo_faq()
    assert faq is not None
    index = KnowledgeIndex(faq)
    for query in ["오늘 날씨 어때", "주식 추천해줘", "배고파"]:
        assert all(hit.score < 0.3 for hit in index.search(query)), query


@pytest.mark.parametrize("query", ["test", "how", "usb", "lan", "abcd efgh"])
def test_short_english_words_do_not_look_like_an_faq(query: str) -> None:
    index = KnowledgeIndex(load_pack(DEMO_BOT).faq)
    hits = index.search(query, limit=1)
    assert not hits or hits[0].score < 0.3


# --- the pack's lexicon and product filter (issue 11) ----------------------------------------------

LEXICON = TextLexicon(
    {"리모콘": "리모컨", "사바": "사운드바"},
    {"tv": ["티비", "tv", "누리비전"], "soundbar": ["사운드바", "사바", "누리사운드"]},
)
PRODUCT_ENTRIES = [
    FaqEntry(
        id="tv-no-sound", question="TV에서 소리가 안 나요.", answer="TV 스피커 출력을 확인해 주세요.", products=["tv"]
    ),
    FaqEntry(
        id="soundbar-bluetooth",
        question="사운드바 블루투스 연결 방법",
        answer="사운드바 리모컨의 입력 버튼으로 BT를 고르세요.",
        products=["soundbar"],
    ),
    FaqEntry(id="as-cost", question="AS 비용은 얼마인가요?", answer="보증 기간 안에는 무상이에요."),
]


def test_a_product_named_excludes_entries_about_other_products_only() -> None:
    index = KnowledgeIndex(PRODUCT_ENTRIES, LEXICON)
    ids = [hit.entry.id for hit in index.search("사운드바 소리가 안 나요", limit=3)]
    assert "tv-no-sound" not in ids
    assert index.products_in("사바 소리가 안 나요") == {"soundbar"}
    # No product named: nothing is filtered.
    assert index.search("소리가 안 나요", limit=1)[0].entry.id == "tv-no-sound"


def test_untagged_pack_takes_products_from_the_questions() -> None:
    untagged = [msgspec.structs.replace(entry, products=[]) for entry in PRODUCT_ENTRIES]
    ids = [hit.entry.id for hit in KnowledgeIndex(untagged, LEXICON).search("사운드바 소리가 안 나요", limit=3)]
    assert "tv-no-sound" not in ids


def test_pack_synonyms_reach_the_index() -> None:
    entries = [FaqEntry(id="pairing", question="리모컨 페어링 방법", answer="홈 버튼을 길게 누르세요.")]
    plain = KnowledgeIndex(entries).search("리모콘 페어링", limit=1)[0].score
    with_lexicon = KnowledgeIndex(entries, LEXICON).search("리모콘 페어링", limit=1)[0].score
    assert with_lexicon > plain and with_lexicon >= 0.55


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_finds_paraphrases(method: str) -> None:
    index = KnowledgeIndex(ENTRIES, method=method)
    assert index.search("공유기 리셋하는 방법", limit=1)[0].entry.id == "router-reset"
    assert all(hit.score < 0.3 for hit in index.search("오늘 날씨 어때"))


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        KnowledgeIndex(ENTRIES, method="magic")


def test_search_results_are_cached_copies(index: KnowledgeIndex) -> None:
    first = index.search("환불 언제 들어와요?")
    first.clear()
    assert index.search("환불 언제 들어와요?")
