"""Korean particles chosen by the filled word's final syllable (core/particles.py)."""

from __future__ import annotations

import pytest

from core.particles import attach, choose, fill, read_final

# word, how its end is read, then the fitting 이에요/예요, 을/를, 이/가, 은/는, 과/와, 으로/로
WORDS = [
    ("상담이", "none", "예요", "를", "가", "는", "와", "로"),
    ("상담봇", "other", "이에요", "을", "이", "은", "과", "으로"),
    ("누리전자", "none", "예요", "를", "가", "는", "와", "로"),
    ("누리링크 AX3000", "other", "이에요", "을", "이", "은", "과", "으로"),  # 삼천
    ("서울", "rieul", "이에요", "을", "이", "은", "과", "로"),
    ("누리비전 QLED 55", "none", "예요", "를", "가", "는", "와", "로"),  # 오십오
    ("QLED", "none", "예요", "를", "가", "는", "와", "로"),  # 큐엘이디
    ("TV", "none", "예요", "를", "가", "는", "와", "로"),  # 티브이
    ("URL", "rieul", "이에요", "을", "이", "은", "과", "로"),  # 유알엘
    ("Sangdam", "other", "이에요", "을", "이", "은", "과", "으로"),  # 상담
    ("Slack", "other", "이에요", "을", "이", "은", "과", "으로"),  # 슬랙
    ("Google", "rieul", "이에요", "을", "이", "은", "과", "로"),  # 구글
    ("Kakao", "none", "예요", "를", "가", "는", "와", "로"),  # 카카오
    ("Router", "none", "예요", "를", "가", "는", "와", "로"),  # 라우터
    ("iPhone", "other", "이에요", "을", "이", "은", "과", "으로"),  # 아이폰
    ("E101", "rieul", "이에요", "을", "이", "은", "과", "로"),  # 백일
    ("10", "other", "이에요", "을", "이", "은", "과", "으로"),  # 십
    ("2", "none", "예요", "를", "가", "는", "와", "로"),  # 이
    ("7", "rieul", "이에요", "을", "이", "은", "과", "로"),  # 칠
    ("상담이(챗봇)", "none", "예요", "를", "가", "는", "와", "로"),  # the word before the brackets
    ("누리전자.", "none", "예요", "를", "가", "는", "와", "로"),
]


@pytest.mark.parametrize(("word", "final", "copula", "obj", "subj", "topic", "and_", "by"), WORDS)
def test_particle_table(
    word: str, final: str, copula: str, obj: str, subj: str, topic: str, and_: str, by: str
) -> None:
    assert read_final(word) == final
    # Whichever form the template wrote, the word decides.
    for written in ("이에요", "예요", "(이)에요", "이예요"):
        assert choose(word, written) == copula
    for written in ("을", "를", "을(를)", "를(을)"):
        assert choose(word, written) == obj
    for written in ("이", "가", "이(가)"):
        assert choose(word, written) == subj
    for written in ("은", "는", "은(는)"):
        assert choose(word, written) == topic
    for written in ("과", "와", "과(와)"):
        assert choose(word, written) == and_
    for written in ("으로", "로", "(으)로"):
        assert choose(word, written) == by


def test_unreadable_endings_keep_both_forms() -> None:
    assert read_final("") is None
    assert read_final("🙂") is None
    assert attach("🙂", "을") == "🙂을(를)"
    assert attach("", "(이)에요") == "(이)에요"
    assert attach("🙂", "로") == "🙂(으)로"


def test_fill_resolves_explicit_plain_and_misspelt_forms() -> None:
    values = {"name": "상담봇", "brand": "누리전자", "product": "누리링크 AX3000"}
    assert fill("저는 {name}(이)에요.", values) == "저는 상담봇이에요."
    assert fill("{brand}을(를) 찾아 주셔서", values) == "누리전자를 찾아 주셔서"
    assert fill("{name}이(가) 도와드려요", values) == "상담봇이 도와드려요"
    assert fill("{name}이예요", values) == "상담봇이에요"
    assert fill("{name}예요", {"name": "상담이"}) == "상담이예요"
    assert fill("{name}이에요", {"name": "상담이"}) == "상담이예요"
    assert fill("{product}로 접수할게요", values) == "누리링크 AX3000으로 접수할게요"
    assert fill("{brand}와 {name}는요?", values) == "누리전자와 상담봇은요?"


def test_fill_leaves_words_that_only_start_like_a_particle() -> None:
    values = {"brand": "누리전자", "product": "상담봇"}
    assert fill("{brand}이벤트", values) == "누리전자이벤트"
    assert fill("{product}가격", values) == "상담봇가격"
    assert fill("{product}에 어떤 증상이", values) == "상담봇에 어떤 증상이"
    assert fill("{brand}로그인", values) == "누리전자로그인"


def test_fill_missing_keys() -> None:
    assert fill("{x}를 {name}", {"name": "상담이"}) == "를 상담이"
    assert fill("{x}를 {name}를", {"name": "상담봇"}, missing=None) == "{x}를 상담봇을"
