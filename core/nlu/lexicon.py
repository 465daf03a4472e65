"""English and slang words customers mix into Korean support chats, mapped to the Korean word.

The mapped word is added next to the original, so "wifi 안돼요" shares features with "와이파이가 안
돼요" in the examples while the original token still counts. Keys are normalised (lower-case) whole
tokens; keep this to general customer-support vocabulary, not phrases of one bot.
"""

from __future__ import annotations

from collections.abc import Mapping

SUPPORT_SYNONYMS: Mapping[str, str] = {
    "wifi": "와이파이",
    "와파": "와이파이",
    "internet": "인터넷",
    "network": "네트워크",
    "router": "공유기",
    "tv": "티비",
    "핸드폰": "휴대폰",
    "핸폰": "휴대폰",
    "스마트폰": "휴대폰",
    "phone": "휴대폰",
    "티브이": "티비",
    "power": "전원",
    "error": "에러",
    "refund": "환불",
    "cancel": "취소",
    "return": "반품",
    "exchange": "교환",
    "order": "주문",
    "delivery": "배송",
    "shipping": "배송",
    "tracking": "배송조회",
    "repair": "수리",
    "agent": "상담원",
    "human": "사람",
    "password": "비밀번호",
    "pw": "비밀번호",
    "setting": "설정",
    "settings": "설정",
    "reset": "초기화",
    "리셋": "초기화",
    "update": "업데이트",
    "thanks": "감사합니다",
    "thx": "감사합니다",
    "ty": "감사합니다",
    "ㄳ": "감사합니다",
    "hello": "안녕하세요",
    "hi": "안녕하세요",
}


def expand_synonyms(normalized: str, synonyms: Mapping[str, str] = SUPPORT_SYNONYMS) -> str:
    """The text with the Korean word appended after every known token (input already normalised)."""
    out: list[str] = []
    for token in normalized.split(" "):
        out.append(token)
        mapped = synonyms.get(token)
        if mapped is not None:
            out.append(mapped)
    return " ".join(out)
