"""Korean PII detection and masking (core/policy/pii.py)."""

from __future__ import annotations

import itertools

import pytest

from core.policy.pii import MaskResult, PiiKind, mask_for_log, mask_pii, partial_mask, restore


def _rrn_checksum_ok(number: str) -> bool:
    """The pre-2020 주민등록번호 check digit; used only to prove the test numbers below."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    total = sum(d * w for d, w in zip(digits[:12], weights, strict=True))
    return (11 - total % 11) % 10 == digits[12]


def _luhn_ok(number: str) -> bool:
    digits = [int(ch) for ch in number if ch.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def _kinds(result: MaskResult) -> list[PiiKind]:
    return [finding.kind for finding in result.findings]


# --- RRN / FRN -------------------------------------------------------------------------------------


def test_rrn_in_a_sentence_is_masked_and_refused() -> None:
    result = mask_pii("본인 확인용으로 주민번호 900101-1234568 보내드려요.")
    assert result.text == "본인 확인용으로 주민번호 <RRN_1> 보내드려요."
    assert result.originals == {"<RRN_1>": "900101-1234568"}
    assert result.refused


def test_rrn_issued_after_october_2020_is_detected_without_checksum() -> None:
    number = "210315-3847261"  # born 2021-03-15, gender digit 3, random trailing digits
    assert not _rrn_checksum_ok(number)
    result = mask_pii(f"아이 주민등록번호가 {number}인데 가입 되나요?")
    assert _kinds(result) == [PiiKind.RRN]
    assert result.text == "아이 주민등록번호가 <RRN_1>인데 가입 되나요?"
    assert result.refused


@pytest.mark.parametrize("number", ["0402294123456", "040229 4123456"])
def test_rrn_leap_day_without_dash_or_with_space(number: str) -> None:
    # 2004-02-29 exists (gender digit 4 -> 2000s).
    assert _kinds(mask_pii(f"주민번호 {number}")) == [PiiKind.RRN]


@pytest.mark.parametrize(
    "number",
    [
        "991332-1234567",  # month 13
        "990230-1234567",  # 30 February
        "010229-3234567",  # 2001 is not a leap year
        "000229-1234567",  # gender 1 -> 1900, and 1900 was not a leap year
        "900101-9234567",  # gender digit 9 (pre-1900) is not supported
    ],
)
def test_rrn_with_impossible_birth_date_is_not_an_rrn(number: str) -> None:
    result = mask_pii(f"번호 {number} 확인 부탁드려요")
    assert PiiKind.RRN not in _kinds(result)
    assert PiiKind.FRN not in _kinds(result)


def test_foreign_registration_number_is_frn() -> None:
    result = mask_pii("외국인등록번호는 850505-5123456 이에요")
    assert _kinds(result) == [PiiKind.FRN]
    assert result.text == "외국인등록번호는 <FRN_1> 이에요"
    assert result.refused


# --- cards -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "card"),
    [
        ("카드번호 4111-1111-1111-1111 로 결제했어요", "4111-1111-1111-1111"),
        ("카드 5500 0000 0000 0004 이걸로 해주세요", "5500 0000 0000 0004"),
        ("결제 카드는 4111111111111111입니다", "4111111111111111"),
        ("아멕스 3782 822463 10005 써요", "3782 822463 10005"),
    ],
)
def test_luhn_valid_card_is_masked_and_refused(sentence: str, card: str) -> None:
    assert _luhn_ok(card)
    result = mask_pii(sentence)
    assert result.originals == {"<CARD_1>": card}
    assert "<CARD_1>" in result.text
    assert result.refused


def test_luhn_invalid_card_is_not_a_card() -> None:
    card = "4111-1111-1111-1112"
    assert not _luhn_ok(card)
    result = mask_pii(f"카드번호 {card} 맞나요?")
    assert PiiKind.CARD not in _kinds(result)
    assert not result.refused


def test_quantity_after_a_card_is_not_swallowed() -> None:
    result = mask_pii("카드 4111 1111 1111 1111 2개 결제")
    assert result.text == "카드 <CARD_1> 2개 결제"


# --- phones ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "010-1234-5678",
        "01012345678",
        "010 1234 5678",
        "010.1234.5678",
        "010 - 1234 - 5678",
        "011-123-4567",
        "+82 10-1234-5678",
        "+821012345678",
        "02-123-4567",
        "031-987-6543",
        "(02) 3456-7890",
        "070-1234-5678",
        "1588-1234",
        "1661 5555",
    ],
)
def test_phone_forms(phone: str) -> None:
    result = mask_pii(f"연락처는 {phone}이에요. 연락 부탁드려요")
    assert result.findings and _kinds(result) == [PiiKind.PHONE]
    assert result.text == "연락처는 <PHONE_1>이에요. 연락 부탁드려요"
    assert not result.refused


def test_phone_glued_to_korean_text() -> None:
    assert mask_pii("번호는01012345678이에요").text == "번호는<PHONE_1>이에요"


# --- accounts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "신한 110-123-456789 로 환불해 주세요",
        "카카오뱅크 3333-01-1234567 이에요",
        "국민은행 123456-01-234567 입니다",
        "하나 123-456789-12345 예금주 홍길동",
        "환불 계좌는 국민 12345601234567 이에요",
        "입금 계좌번호 3333011234567 입니다",
    ],
)
def test_account_numbers(sentence: str) -> None:
    result = mask_pii(sentence)
    assert _kinds(result) == [PiiKind.ACCOUNT]
    assert "<ACCOUNT_1>" in result.text
    assert not result.refused


def test_phone_near_account_words_stays_a_phone() -> None:
    result = mask_pii("계좌번호 말고 010-1234-5678 으로 연락 주세요, 입금자 번호는 01098765432")
    assert _kinds(result) == [PiiKind.PHONE, PiiKind.PHONE]


def test_unbroken_digits_without_bank_context_are_not_an_account() -> None:
    assert mask_pii("모델 일련번호 1234567890 확인했어요").findings == []


def test_tracking_number_is_not_an_account() -> None:
    assert mask_pii("CJ대한통운 운송장 612345678901 조회해 주세요, 입금은 했어요").findings == []


def test_the_label_before_an_unbroken_run_decides() -> None:
    # Another shop's 13-digit order number that even passes Luhn: labelled as an order, so left alone.
    order_no = "2026112112340"
    assert _luhn_ok(order_no)
    assert mask_pii(f"주문번호 {order_no} 입금했어요").findings == []
    assert _kinds(mask_pii(f"주문할 때 카드 {order_no} 썼어요")) == [PiiKind.CARD]
    assert _kinds(mask_pii("주문 취소했는데 환불 계좌 12345601234567 로 보내주세요")) == [PiiKind.ACCOUNT]
    assert _kinds(mask_pii("12345601234567 로 입금 부탁해요")) == [PiiKind.ACCOUNT]


# --- e-mail ------------------------------------------------------------------------------------------


def test_email() -> None:
    result = mask_pii("메일은 hong.gildong@example.co.kr 이고 예비는 01012345678@naver.com 이에요")
    assert result.text == "메일은 <EMAIL_1> 이고 예비는 <EMAIL_2> 이에요"
    assert not result.refused


# --- things that are not PII -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "주문번호 ORD-20261101-0001 배송 언제 와요?",
        "ORD-20261101-0001, ORD-20261102-0003 두 건이에요",
        "화면에 E101 에러가 떠요",
        "접수번호 AS-20261121-0001 진행 상황 알려주세요",
        "접수번호 20261121-0001 이에요",
        "사업자번호 123-45-67890 으로 세금계산서 부탁드려요",
        "우편번호 06236 이고 수량은 3개요",
        "방문 예정일이 2026-11-25 맞나요?",
        "2026.11.25 오후 2시에 와 주세요",
        "가격이 1,290,000원이던데 입금은 어디로 해요?",
        "TV 55인치 890000원 계좌이체 되나요?",
        "모델명 QN55Q80 이에요",
    ],
)
def test_ids_dates_codes_and_prices_are_untouched(sentence: str) -> None:
    result = mask_pii(sentence)
    assert result.findings == []
    assert result.text == sentence


# --- numbering, overlap, restore ---------------------------------------------------------------------


def test_placeholders_are_numbered_per_kind_and_reused_for_the_same_value() -> None:
    text = (
        "제 번호 010-1111-2222, 아내 번호 010-3333-4444, 메일 a@example.com, "
        "다시 말하면 010-1111-2222 이고 주민번호 900101-1234568"
    )
    result = mask_pii(text)
    assert result.text == (
        "제 번호 <PHONE_1>, 아내 번호 <PHONE_2>, 메일 <EMAIL_1>, 다시 말하면 <PHONE_1> 이고 주민번호 <RRN_1>"
    )
    assert [f.placeholder for f in result.findings] == [
        "<PHONE_1>",
        "<PHONE_2>",
        "<EMAIL_1>",
        "<PHONE_1>",
        "<RRN_1>",
    ]
    for finding in result.findings:  # spans point into the original text
        assert text[finding.start : finding.end] == result.originals[finding.placeholder]


def test_rrn_wins_over_card_and_findings_never_overlap() -> None:
    # 13 digits that are a valid birth date + gender digit, and also Luhn-valid: RRN has precedence.
    number = "5001011234567"  # born 1950-01-01
    assert _luhn_ok(number)
    result = mask_pii(f"번호 {number}")
    assert _kinds(result) == [PiiKind.RRN]
    spans = sorted((f.start, f.end) for f in mask_pii("a 010-1234-5678 b 4111111111111111 c").findings)
    assert all(prev[1] <= nxt[0] for prev, nxt in itertools.pairwise(spans))


def test_restore_round_trip() -> None:
    text = "홍길동이에요. 010-1234-5678 이나 hong@example.com 으로, 환불은 신한 110-123-456789 로 해 주세요"
    result = mask_pii(text)
    assert "010-1234-5678" not in result.text
    assert restore(result.text, result.originals) == text
    reply = "확인했어요. <PHONE_1>로 연락드리고 <ACCOUNT_1> 계좌로 환불해 드릴게요. <PHONE_9>"
    assert restore(reply, result.originals) == (
        "확인했어요. 010-1234-5678로 연락드리고 110-123-456789 계좌로 환불해 드릴게요. <PHONE_9>"
    )


def test_masking_masked_text_changes_nothing() -> None:
    masked = mask_pii("010-1234-5678, 900101-1234568, hong@example.com, 신한 110-123-456789").text
    again = mask_pii(masked)
    assert again.findings == []
    assert again.text == masked


def test_text_without_pii_is_returned_as_is() -> None:
    result = mask_pii("안녕하세요, 공유기가 자꾸 끊겨요")
    assert result == MaskResult(text="안녕하세요, 공유기가 자꾸 끊겨요", findings=[], originals={})
    assert not result.refused


def test_mask_for_log_is_the_masked_text() -> None:
    assert mask_for_log("카드 4111111111111111 / 010-1234-5678") == "카드 <CARD_1> / <PHONE_1>"


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        (PiiKind.PHONE, "010-1234-5678", "010-****-5678"),
        (PiiKind.PHONE, "01012345678", "010-****-5678"),
        (PiiKind.PHONE, "02-123-4567", "02-***-4567"),
        (PiiKind.PHONE, "+82 10-1234-5678", "+82 10-****-5678"),
        (PiiKind.EMAIL, "hong@example.com", "ho***@example.com"),
        (PiiKind.ACCOUNT, "110-123-451234", "***-***-1234"),
        (PiiKind.CARD, "4111 1111 1111 1111", "****-****-****-1111"),
        (PiiKind.RRN, "900101-1234568", "******-*******"),
    ],
)
def test_partial_mask(kind: PiiKind, value: str, shown: str) -> None:
    assert partial_mask(kind, value) == shown


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("카드번호 4111.1111.1111.1111", "<CARD_1>"),
        ("4111/1111/1111/1111 로 결제했어요", "<CARD_1>"),
        ("９００１０１－１２３４５６７", "<RRN_1>"),  # full-width digits and dash
        ("번호는 ０１０１２３４５６７８ 이에요", "<PHONE_1>"),
        ("(010)1234-5678로 연락 주세요", "<PHONE_1>"),
        ("010–1234–5678", "<PHONE_1>"),  # en dashes
    ],
)
def test_unusual_separators_and_full_width_digits_are_masked(text: str, placeholder: str) -> None:
    result = mask_pii(text)
    assert placeholder in result.text
    assert not any(ch.isdigit() for ch in result.text.replace(placeholder, ""))
    assert restore(result.text, result.originals) == text  # the customer's own characters are kept
