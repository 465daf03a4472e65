"""PII spellings the masker must catch, and PII-free support texts it must leave alone.

Plain data, shared by the masker's own tests (tests/security/test_pii_masker.py) and by end-to-end
leak tests elsewhere:

- PII_SPELLINGS: (text, raw) pairs. `text` is what a customer might send; `raw` is the PII inside it,
  exactly as written there. After masking, `raw` must not appear in the output, and neither may its
  digit sequence (compare the output's digits, Unicode digits read as ASCII, with raw's; see
  `ascii_digits`). Every raw holds at least 8 digits except e-mails, which hold none or few.
- CLEAN_TEXTS: Korean support messages full of numbers that are not personal data (order ids,
  tickets, error codes, prices, dates, times, model and version numbers, quantities, tracking
  numbers with their 운송장 label); masking must return them unchanged.
"""

from __future__ import annotations

import unicodedata

# Digit systems as the character for zero; the other nine follow it in Unicode.
ARABIC_INDIC_ZERO = "\u0660"  # ٠
EXTENDED_ARABIC_INDIC_ZERO = "\u06f0"  # ۰
DEVANAGARI_ZERO = "\u0966"  # ०
FULL_WIDTH_ZERO = "\uff10"  # ０
MATH_BOLD_ZERO = "\U0001d7ce"  # 𝟎
MATH_DOUBLE_STRUCK_ZERO = "\U0001d7d8"  # 𝟘
MATH_SANS_ZERO = "\U0001d7e2"  # 𝟢
MATH_MONOSPACE_ZERO = "\U0001d7f6"  # 𝟶

ZWSP = "\u200b"
NBSP = "\u00a0"


def in_digits(text: str, zero: str) -> str:
    """`text` with its ASCII digits written in the digit system that starts at `zero`."""
    return "".join(chr(ord(zero) + int(ch)) if "0" <= ch <= "9" else ch for ch in text)


def ascii_digits(text: str) -> str:
    """The decimal digits of `text`, in order, as ASCII (mathematical and Arabic-Indic ones too)."""
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


def _spaced(digits: str) -> str:
    return " ".join(digits)


_RRN = "850106-2178898"  # born 1985-01-06, gender digit 2
_FRN = "850505-5123456"
_CARD = "4111111111111111"  # Visa test number, Luhn-valid
_MOBILE = "010-1234-5678"

PII_SPELLINGS: list[tuple[str, str]] = [
    # --- RRN / FRN: standard forms ---
    (f"주민번호 {_RRN} 입니다", _RRN),
    ("주민등록번호는 8501062178898 이에요", "8501062178898"),
    ("850106 2178898", "850106 2178898"),
    ("주민번호 850106.2178898 확인해 주세요", "850106.2178898"),
    ("９００１０１－１２３４５６８ 보냈어요", "９００１０１－１２３４５６８"),
    ("아이 주민번호가 210315-3847261인데 가입 되나요?", "210315-3847261"),
    (f"외국인등록번호 {_FRN} 입니다", _FRN),
    ("외국인등록번호는 9201017123456 이에요", "9201017123456"),
    # --- RRN: separators ---
    ("주민번호 850106/2178898 입니다", "850106/2178898"),
    ("주민번호 850106~2178898 입니다", "850106~2178898"),
    ("주민번호 850106,2178898 입니다", "850106,2178898"),
    ("주민번호 850106  2178898 입니다", "850106  2178898"),
    (f"주민번호 850106{ZWSP}2178898 입니다", f"850106{ZWSP}2178898"),
    (f"주민번호 8501{ZWSP}06-21{ZWSP}78898", f"8501{ZWSP}06-21{ZWSP}78898"),
    (f"주민번호 850106{NBSP}2178898", f"850106{NBSP}2178898"),
    ("주민번호 850106–2178898", "850106–2178898"),  # en dash
    ("주민번호 850106\u22122178898", "850106\u22122178898"),  # minus sign
    ("주민번호 850106 - 2178898", "850106 - 2178898"),
    ("주민번호 850106\u30002178898", "850106\u30002178898"),  # ideographic space
    # --- RRN: digits typed one by one ---
    ("주민번호 8 5 0 1 0 6 - 2 1 7 8 8 9 8 입니다", "8 5 0 1 0 6 - 2 1 7 8 8 9 8"),
    ("8 5 0 1 0 6 2 1 7 8 8 9 8", "8 5 0 1 0 6 2 1 7 8 8 9 8"),
    ("주민번호는 8-5-0-1-0-6-2-1-7-8-8-9-8 이에요", "8-5-0-1-0-6-2-1-7-8-8-9-8"),
    # --- RRN: other digit systems ---
    (f"주민번호 {in_digits(_RRN, ARABIC_INDIC_ZERO)}", in_digits(_RRN, ARABIC_INDIC_ZERO)),
    (f"주민번호 {in_digits(_RRN, EXTENDED_ARABIC_INDIC_ZERO)}", in_digits(_RRN, EXTENDED_ARABIC_INDIC_ZERO)),
    (f"주민번호 {in_digits(_RRN, DEVANAGARI_ZERO)}", in_digits(_RRN, DEVANAGARI_ZERO)),
    (f"주민번호 {in_digits(_RRN, MATH_BOLD_ZERO)}", in_digits(_RRN, MATH_BOLD_ZERO)),
    (f"주민번호 {in_digits(_RRN, MATH_DOUBLE_STRUCK_ZERO)}", in_digits(_RRN, MATH_DOUBLE_STRUCK_ZERO)),
    (f"주민번호 {in_digits(_RRN, MATH_SANS_ZERO)}", in_digits(_RRN, MATH_SANS_ZERO)),
    (f"주민번호 {in_digits(_RRN, MATH_MONOSPACE_ZERO)}", in_digits(_RRN, MATH_MONOSPACE_ZERO)),
    (f"{in_digits('8501062178898', MATH_BOLD_ZERO)}", in_digits("8501062178898", MATH_BOLD_ZERO)),
    # --- RRN: glued prefixes ---
    (f"주민번호-{_RRN}", _RRN),
    (f"번호.{_RRN} 이에요", _RRN),
    (f"+{_RRN}", _RRN),
    (f"rrn{_RRN}", _RRN),
    (f"RRN:{_RRN}", _RRN),
    (f"주민번호:{_RRN}", _RRN),
    (f"주민번호는{_RRN}이에요", _RRN),
    (f"id_{_RRN}", _RRN),
    # --- cards: standard forms ---
    ("카드번호 4111-1111-1111-1111 로 결제했어요", "4111-1111-1111-1111"),
    ("카드 5500 0000 0000 0004 이걸로 해주세요", "5500 0000 0000 0004"),
    (f"결제 카드는 {_CARD}입니다", _CARD),
    ("아멕스 3782 822463 10005 써요", "3782 822463 10005"),
    ("카드번호 4111.1111.1111.1111", "4111.1111.1111.1111"),
    ("４１１１－１１１１－１１１１－１１１１ 결제", "４１１１－１１１１－１１１１－１１１１"),
    ("4111/1111/1111/1111 로 결제했어요", "4111/1111/1111/1111"),
    # --- cards: separators and groupings ---
    ("카드 4111  1111  1111  1111 이요", "4111  1111  1111  1111"),
    (f"카드 4111{NBSP}1111{NBSP}1111{NBSP}1111 이요", f"4111{NBSP}1111{NBSP}1111{NBSP}1111"),
    (f"카드 4111{ZWSP}1111{ZWSP}1111{ZWSP}1111 이요", f"4111{ZWSP}1111{ZWSP}1111{ZWSP}1111"),
    (f"카드 41{ZWSP}11111111111111", f"41{ZWSP}11111111111111"),
    ("카드 4111 11111111 1111 이요", "4111 11111111 1111"),
    ("카드 4111~1111~1111~1111", "4111~1111~1111~1111"),
    ("카드 4111,1111,1111,1111", "4111,1111,1111,1111"),
    ("카드 4111–1111–1111–1111", "4111–1111–1111–1111"),
    ("카드 4111 - 1111 - 1111 - 1111", "4111 - 1111 - 1111 - 1111"),
    ("카드 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 이요", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"),
    # --- cards: glued prefixes and digit systems ---
    (f"card{_CARD}", _CARD),
    (f"카드번호:{_CARD}", _CARD),
    (f"카드-{_CARD}", _CARD),
    (f"카드 {in_digits('4111-1111-1111-1111', MATH_BOLD_ZERO)}", in_digits("4111-1111-1111-1111", MATH_BOLD_ZERO)),
    (f"카드 {in_digits(_CARD, MATH_MONOSPACE_ZERO)}", in_digits(_CARD, MATH_MONOSPACE_ZERO)),
    (f"카드 {in_digits(_CARD, ARABIC_INDIC_ZERO)}", in_digits(_CARD, ARABIC_INDIC_ZERO)),
    # --- phones: standard forms ---
    (f"연락처는 {_MOBILE}이에요", _MOBILE),
    ("번호는01012345678이에요", "01012345678"),
    ("010 1234 5678 로 연락 주세요", "010 1234 5678"),
    ("010.1234.5678", "010.1234.5678"),
    ("+82 10-1234-5678 로 전화 주세요", "+82 10-1234-5678"),
    ("매장 번호 02-123-4567 입니다", "02-123-4567"),
    ("031-987-6543 으로 연락 부탁드려요", "031-987-6543"),
    ("(02) 3456-7890 로 전화 주세요", "(02) 3456-7890"),
    ("０１０－１２３４－５６７８", "０１０－１２３４－５６７８"),
    # --- phones: separators ---
    ("010/1234/5678 로 연락 주세요", "010/1234/5678"),
    (f"010{ZWSP}1234{ZWSP}5678", f"010{ZWSP}1234{ZWSP}5678"),
    (f"연락처 0101234{ZWSP}5678", f"0101234{ZWSP}5678"),
    (f"010{NBSP}1234{NBSP}5678", f"010{NBSP}1234{NBSP}5678"),
    ("010\u30001234\u30005678", "010\u30001234\u30005678"),
    ("010\u22121234\u22125678", "010\u22121234\u22125678"),
    ("010·1234·5678 이에요", "010·1234·5678"),
    ("010~1234~5678", "010~1234~5678"),
    ("0 1 0 1 2 3 4 5 6 7 8 로 연락 주세요", "0 1 0 1 2 3 4 5 6 7 8"),
    ("0 1 0 - 1 2 3 4 - 5 6 7 8", "0 1 0 - 1 2 3 4 - 5 6 7 8"),
    # --- phones: glued prefixes and digit systems ---
    (f"tel{_MOBILE}", _MOBILE),
    (f"tel:{_MOBILE}", _MOBILE),
    ("tel:01012345678", "01012345678"),
    (f"전화-{_MOBILE}", _MOBILE),
    (f"phone.{_MOBILE}", _MOBILE),
    (f"연락처 {in_digits(_MOBILE, MATH_BOLD_ZERO)}", in_digits(_MOBILE, MATH_BOLD_ZERO)),
    (f"{in_digits('01012345678', MATH_MONOSPACE_ZERO)}", in_digits("01012345678", MATH_MONOSPACE_ZERO)),
    (f"연락처 {in_digits(_MOBILE, ARABIC_INDIC_ZERO)}", in_digits(_MOBILE, ARABIC_INDIC_ZERO)),
    (f"연락처 {in_digits(_MOBILE, DEVANAGARI_ZERO)}", in_digits(_MOBILE, DEVANAGARI_ZERO)),
    # --- accounts ---
    ("신한 110-123-456789 로 환불해 주세요", "110-123-456789"),
    ("카카오뱅크 3333-01-1234567 이에요", "3333-01-1234567"),
    ("국민은행 123456-01-234567 입니다", "123456-01-234567"),
    ("환불 계좌는 국민 12345601234567 이에요", "12345601234567"),
    ("입금 계좌번호 3333011234567 입니다", "3333011234567"),
    ("하나 123–456789–12345 예금주 홍길동", "123–456789–12345"),
    ("신한 １１０－１２３－４５６７８９ 로 보내주세요", "１１０－１２３－４５６７８９"),
    # --- e-mail ---
    ("메일은 hong.gildong@example.co.kr 이에요", "hong.gildong@example.co.kr"),
    ("user+tag@naver.com 으로 보내주세요", "user+tag@naver.com"),
    ("메일hong@example.com이요", "hong@example.com"),
    ("ｈｏｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ 으로 주세요", "ｈｏｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
    ("예비 메일 01012345678@naver.com", "01012345678@naver.com"),
]

CLEAN_TEXTS: list[str] = [
    "주문번호 ORD-20261101-0001 배송 언제 와요?",
    "ORD-20261101-0001, ORD-20261102-0003 두 건이에요",
    "접수번호 AS-20261121-0001 진행 상황 알려주세요",
    "접수번호 20261121-0001 이에요",
    "화면에 E101 에러가 떠요",
    "에러 코드 E203, E101 번갈아 떠요",
    "가격이 1,290,000원이던데 입금은 어디로 해요?",
    "TV 55인치 890000원 계좌이체 되나요?",
    "배송비 3,000원 포함해서 15,900원 맞나요?",
    "할부 12개월로 월 107,500원이요",
    "방문 예정일이 2026-11-25 맞나요?",
    "2026.11.25 오후 2시에 와 주세요",
    "2026/11/25 14:30 에 방문 가능해요",
    "11월 25일 오전 10시~12시 사이에 와 주세요",
    "영업시간이 09:00~18:00 맞죠?",
    "모델명 QN55Q80 이에요",
    "모델 QN65QN90C 구매했어요",
    "냉장고 RF85C9111AP 문이 안 닫혀요",
    "SM-S928N 액정 교체 비용 얼마예요?",
    "QLED 65인치 벽걸이 설치 되나요?",
    "와이파이 5GHz 가 안 잡혀요",
    "펌웨어 버전 1.2.3 으로 올렸어요",
    "앱 버전 10.4.12 인데 로그인이 안 돼요",
    "공유기 IP 192.168.0.1 접속이 안 돼요",
    "수량은 3개요, 총 2박스입니다",
    "우편번호 06236 이고 수량은 3개요",
    "사업자번호 123-45-67890 으로 세금계산서 부탁드려요",
    "CJ대한통운 운송장 612345678901 조회해 주세요",
    "운송장번호 6012-3456-7890 인데 배송이 안 와요",
    "택배 송장 5551234567 확인 부탁드려요",
    "모델 일련번호 1234567890 확인했어요",
    "세탁기 15kg 모델 재고 있나요?",
    "4K 120Hz 지원하나요?",
    "배터리 5000mAh 맞죠?",
    "3년 무상 AS 기간 남았나요?",
    "1층 101호로 배달해 주세요",
    "주문한 지 7일 지났어요",
    "2번 선택지로 할게요",
    "1,500원 할인 쿠폰 적용됐나요?",
    "9시 30분에 전화 주세요",
    "평점 4.5 이상인 제품 추천해 주세요",
    "1~3번 항목 모두 해당돼요",
    "주소는 서울시 강남구 테헤란로 123, 4층이에요",
    "HDMI 2.1 포트가 몇 개예요?",
    "USB-C 65W 충전기 호환되나요?",
    "에너지효율 1등급 제품이에요?",
    "A/S 접수 2026-11-21, 처리 예정 2026-11-28",
]
