"""Words customers type, mapped to the words the examples use; and which words name which product.

`SUPPORT_SYNONYMS` is general customer-support vocabulary (English and slang mixed into Korean chats),
not phrases of one bot: the mapped word is added next to the original, so "wifi 안돼요" shares features
with "와이파이가 안 돼요" in the examples while the original token still counts.

A bot pack adds its own words in lexicon.yaml (`core.pack.schema.Lexicon`); `TextLexicon` merges both:
- a Latin key ("wifi", "arc") is a whole token and its canonical word is *added* (the English word may
  appear in examples too);
- a Hangul key ("리모콘", "관리 페이지") matches spacing-insensitively at the start of a word, particles
  attached ("리모콘이"), and is *replaced* by the canonical word: a variant spelling should look exactly
  like the spelling the examples use.
`products_in` names the products a message mentions (`lexicon.products`), for the knowledge search's
product filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from core.nlu.features import char_ngrams
from core.nlu.normalize import normalize, strip_question_endings

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
    "port": "포트",
    "forwarding": "포워딩",
    "pw": "비밀번호",
    "setting": "설정",
    "settings": "설정",
    "reset": "초기화",
    "리셋": "초기화",
    "update": "업데이트",
    "thanks": "감사합니다",
    "thx": "감사합니다",
    "ty": "감사합니다",
    "thank": "감사합니다",
    "ㄳ": "감사합니다",
    "hello": "안녕하세요",
    "hi": "안녕하세요",
    "hey": "안녕하세요",
    "bye": "안녕히 계세요",
    # Support hours are asked as 상담 시간 as often as 운영 시간: the same thing in any support desk.
    "상담 가능 시간": "운영 시간",
    "상담 시간": "운영 시간",
}
# Words that ask for a person. An agent request needs one of them: "상담 가능 시간" asks about hours.
PERSON_WORDS: tuple[str, ...] = (
    "상담원",
    "상담사",
    "상담직원",
    "상담자",
    "직원",
    "사람",
    "담당자",
    "매니저",
    "책임자",
    "콜센터",
    "고객센터",
    "전화",
    "통화",
    "유선",
    "연결",
    "1:1",
    "11상담",
    "agent",
    "human",
    "person",
)
# Topics no product-support bot answers (coding, investing, lotteries, weather, recipes, ...), and other
# makers and appliances. Named with none of the pack's products, they are evidence against the domain:
# such a message does not start a scenario ("파이썬 리스트 정렬 어떻게 해요", "아이폰 액정 애플 수리비").
# Phones and computers are not here: customers use them with the products ("아이폰만 와이파이가 안 돼요").
OFF_TOPIC_WORDS: tuple[str, ...] = (
    "파이썬",
    "python",
    "자바스크립트",
    "javascript",
    "java",
    "sql",
    "코딩",
    "프로그래밍",
    "알고리즘",
    "쿼리",
    "주식",
    "주가",
    "코스피",
    "kospi",
    "나스닥",
    "비트코인",
    "코인",
    "이더리움",
    "환율",
    "달러",
    "로또",
    "복권",
    "청약",
    "부동산",
    "날씨",
    "레시피",
    "맛집",
    "선거",
    "연애",
    "데이트",
    "숙제",
    "애플",
    "apple",
    "삼성전자",
    "엘지",
    "테슬라",
    "샤오미",
    "다이슨",
    "냉장고",
    "세탁기",
    "건조기",
    "에어컨",
    "식기세척기",
    "전자레인지",
    "청소기",
    "자동차",
)
_LATIN_KEY = re.compile(r"[a-z0-9]+")
_LATIN_RUN = re.compile(r"[a-z]+[0-9]*|[0-9]+")
_MIN_HANGUL_WORD = 2  # shorter product words would match inside unrelated words


def expand_synonyms(normalized: str, synonyms: Mapping[str, str] = SUPPORT_SYNONYMS) -> str:
    """The text with the Korean word appended after every known token (input already normalised)."""
    out: list[str] = []
    for token in normalized.split(" "):
        out.append(token)
        mapped = synonyms.get(token)
        if mapped is not None:
            out.append(mapped)
    return " ".join(out)


def _compact(text: str) -> str:
    return text.replace(" ", "")


class TextLexicon:
    """The support vocabulary plus one pack's synonyms and product words, applied to normalised text."""

    def __init__(
        self,
        synonyms: Mapping[str, str] | None = None,
        products: Mapping[str, list[str]] | None = None,
        *,
        base: Mapping[str, str] = SUPPORT_SYNONYMS,
    ) -> None:
        self._append: dict[str, str] = {}  # Latin token -> canonical (added)
        self._replace: list[tuple[str, str]] = []  # compact Hangul key -> canonical (replaced), longest first
        for typed, canonical in [*base.items(), *(synonyms or {}).items()]:
            key, value = normalize(typed), normalize(canonical)
            if not key or not value or key == value:
                continue
            if _LATIN_KEY.fullmatch(key):
                self._append[key] = value
            else:
                self._replace.append((_compact(key), value))
        self._replace.sort(key=lambda pair: -len(pair[0]))
        # Each key matches with or without spaces inside it, only at the start of a word.
        self._replace_re = (
            re.compile(
                "(?:(?<= )|^)(?:{})".format("|".join(" ?".join(map(re.escape, key)) for key, _ in self._replace))
            )
            if self._replace
            else None
        )
        self._replace_map = dict(self._replace)
        self.products: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}
        for product, words in (products or {}).items():
            latin = frozenset(w for w in map(normalize, [product, *words]) if _LATIN_KEY.fullmatch(w))
            hangul = tuple(
                _compact(w)
                for w in map(normalize, words)
                if w and not _LATIN_KEY.fullmatch(w) and len(_compact(w)) >= _MIN_HANGUL_WORD
            )
            self.products[product] = (latin, hangul)

    def expand(self, normalized: str) -> str:
        """Pack spellings replaced by the canonical word, English words followed by the Korean one."""
        if self._replace_re is not None:
            normalized = self._replace_words(normalized)
        if not self._append:
            return normalized
        out: list[str] = []
        for token in normalized.split(" "):
            out.append(token)
            mapped = self._append.get(token)
            if mapped is None and not token.isascii():
                # "wifi가": the Latin run at the start of a mixed token
                run = _LATIN_RUN.match(token)
                mapped = self._append.get(run.group()) if run is not None else None
            if mapped is not None:
                out.append(mapped)
        return " ".join(out)

    def _replace_words(self, normalized: str) -> str:
        assert self._replace_re is not None
        return self._replace_re.sub(lambda m: self._replace_map[_compact(m.group())], normalized)

    def products_in(self, normalized: str) -> frozenset[str]:
        """Product ids the text names (normalised text in)."""
        if not self.products:
            return frozenset()
        latin = {run.group() for run in _LATIN_RUN.finditer(normalized)}
        compact = _compact(normalized)
        return frozenset(
            product
            for product, (latin_words, hangul_words) in self.products.items()
            if latin & latin_words or any(word in compact for word in hangul_words)
        )

    def featurize_text(self, text: str) -> str:
        """normalize + expand: what the classifier and the knowledge search build features from."""
        return self.expand(normalize(text))


GENERIC_LEXICON = TextLexicon()


class DomainVocabulary:
    """Which character bigrams the pack's own texts use (examples of its intents, its FAQ).

    `coverage` is the share of a message's bigrams (request endings removed) found there: positive
    evidence that the message is about the pack's domain. On the demo, messages meant for an FAQ entry or
    a scenario cover >= 0.5; coding, stock, celebrity or recipe questions mostly < 0.45.
    """

    def __init__(self, texts: Iterable[str], lexicon: TextLexicon = GENERIC_LEXICON) -> None:
        self._lexicon = lexicon
        self._known: set[str] = set()
        for text in texts:
            self._known |= self._bigrams(text)

    def _bigrams(self, text: str) -> set[str]:
        cleaned = self._lexicon.expand(strip_question_endings(normalize(text)))
        return {gram for gram in char_ngrams(cleaned, n_min=2, n_max=2, boundaries=False) if gram[0] != "%"}

    def coverage(self, text: str) -> float:
        grams = self._bigrams(text)
        return len(grams & self._known) / len(grams) if grams else 0.0


# Asking the bot to *do* something (a scenario's job: book, cancel, file, check) rather than asking how
# or what (an FAQ's job): "방문 예약 잡고 싶어요", "주문 취소해 주세요", "반품 접수해 주세요".
_ACTION_REQUEST = re.compile(
    r"(?:해|잡아|넣어|바꿔|보내|처리해|확인해|알아봐)\s?(?:주세요|줘요|줘|주시겠어요|주실래요|주실 수)"
    r"|(?:환불|반품|교환|취소|접수|수리|예약|신청|설치|방문)\s?(?:하고\s?싶|받고\s?싶|할게|할래|하려|해\s?주|요청|원해|부탁|좀)"
    r"|(?:예약|접수)\s?(?:잡|받아)"
)
_QUESTION = re.compile(r"어떻게|어디|언제|며칠|얼마|무슨|뭐|왜|나요|까요|\?")


def is_action_request(text: str) -> bool:
    """The message asks the bot to do something and asks no question (raw or normalised text)."""
    return bool(_ACTION_REQUEST.search(text)) and not _QUESTION.search(text)


def off_topic(normalized: str) -> bool:
    """The text names a topic or another maker's product that product support does not cover.

    A Korean word counts only at the start of a word ("주식을", "날씨가"), never inside one: "데이트"
    must not be found in "업데이트". Latin words count as whole runs.
    """
    tokens = normalized.split()
    latin = {run.group() for run in _LATIN_RUN.finditer(normalized)}
    return any(
        (word in latin) if _LATIN_KEY.fullmatch(word) else any(token.startswith(word) for token in tokens)
        for word in OFF_TOPIC_WORDS
    )


def asks_for_person(normalized: str) -> bool:
    """The text names a person to talk to (or a phone/connection), not just the word 상담."""
    compact = _compact(normalized)
    return any(word in compact for word in PERSON_WORDS)
