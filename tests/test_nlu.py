"""Local Korean NLU: normalisation, intent classification on the demo pack, entities, evaluation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest
import yaml

from core.nlu.classifier import IntentClassifier, lexicon_featurizer
from core.nlu.entities import Entities, extract_entities
from core.nlu.evaluate import EvaluationDataError, evaluate, read_tsv
from core.nlu.lexicon import DomainVocabulary, TextLexicon, asks_for_person, is_action_request, off_topic
from core.nlu.normalize import normalize, strip_question_endings
from core.pack.schema import IntentsFile, IntentSpec

ROOT = Path(__file__).resolve().parents[1]
INTENTS_YAML = ROOT / "bots" / "demo" / "intents.yaml"
HELDOUT = ROOT / "tests" / "data" / "nlu_heldout.tsv"
PUBLIC_INTENTS = {
    "power_issue", "network_issue", "error_code", "settings_help", "usage_help", "order_status",
    "refund_request", "repair_request", "agent_request", "greeting", "thanks", "out_of_scope",
}  # fmt: skip


@pytest.fixture(scope="module")
def intents() -> dict[str, IntentSpec]:
    raw = yaml.safe_load(INTENTS_YAML.read_text(encoding="utf-8"))
    return msgspec.convert(raw, IntentsFile).intents


@pytest.fixture(scope="module")
def classifier(intents: dict[str, IntentSpec]) -> IntentClassifier:
    return IntentClassifier.train(intents, threshold=0.5)


# --- normalize -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("티비가 안켜져요ㅠㅠ", "티비가 안켜져요"),
        ("WiFi   안돼요 ㅋㅋㅋ!!!", "wifi 안돼요"),
        ("감사합니다^^ 😊", "감사합니다"),
        ("ＴＶ　전원", "tv 전원"),  # full-width forms fold under NFKC
        ("에러 E-101;;", "에러 e 101"),
        ("ㅎㅎㅎ", ""),
        ("ㄳㄳ", "감사"),  # chat abbreviations in initials are read as the word (repeats too)
        ("ㄱㅅㄱㅅ", "감사"),
        ("ㅎㅇ", "하이"),  # read before ㅎ is dropped as an emoticon
        ("ㅅㅂ", "ㅅㅂ"),  # other jamo stay as typed (the escalation policy matches them)
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


# --- intents ---------------------------------------------------------------------------------------


def test_demo_pack_has_the_public_intents(intents: dict[str, IntentSpec]) -> None:
    assert set(intents) == PUBLIC_INTENTS
    for name, spec in intents.items():
        assert 25 <= len(spec.examples) <= 50, name
        assert len(set(spec.examples)) == len(spec.examples), name


def test_heldout_is_not_copied_from_training(intents: dict[str, IntentSpec]) -> None:
    training = {normalize(example).replace(" ", "") for spec in intents.values() for example in spec.examples}
    rows = read_tsv(HELDOUT)
    assert len(rows) >= 180
    copies = [text for text, _ in rows if normalize(text).replace(" ", "") in training]
    assert copies == []
    counts = {intent: sum(1 for _, label in rows if label == intent) for intent in PUBLIC_INTENTS}
    assert min(counts.values()) >= 10 and counts["out_of_scope"] >= 15


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # spacing missing / extra
        ("와이파이가안잡혀요", "network_issue"),
        ("티 비 전 원 이 안 켜 져 요", "power_issue"),
        ("환불신청하고싶어요", "refund_request"),
        # typos and colloquial endings
        ("와이파이가 않되여", "network_issue"),
        ("배송 언제와여", "order_status"),
        ("상담원 연결해주세염", "agent_request"),
        # emoticons
        ("티비가 자꾸 꺼져요ㅠㅠㅠ", "power_issue"),
        ("감사해요^^ ㅎㅎ", "thanks"),
        # English mixed in
        ("wifi 안돼요", "network_issue"),
        ("TV power 안켜짐", "power_issue"),
        ("refund 하고싶어요", "refund_request"),
        # entities inside the sentence
        ("ORD-20261101-0001 어디쯤 왔나요", "order_status"),
        ("화면에 E203 떴어요", "error_code"),
    ],
)
def test_robust_predictions(classifier: IntentClassifier, text: str, intent: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent == intent, prediction


@pytest.mark.parametrize("text", ["오늘 날씨 어때", "주식 추천해줘", "배고파", "asdf", "ㅋㅋㅋ", ""])
def test_unrelated_messages_are_out_of_scope(classifier: IntentClassifier, text: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent == "out_of_scope", prediction


def test_prediction_shape_and_threshold(intents: dict[str, IntentSpec]) -> None:
    loose = IntentClassifier.train(intents, threshold=0.0)
    prediction = loose.predict("고양이 귀여워")  # weak match: below the default threshold, above 0.0
    assert prediction.intent != "out_of_scope"
    assert 0.0 < prediction.confidence < 0.5
    assert len(prediction.ranking) == 3
    scores = [score for _, score in prediction.ranking]
    assert scores == sorted(scores, reverse=True)
    assert prediction.ranking[0] == (prediction.intent, prediction.confidence)
    strict = IntentClassifier.train(intents, threshold=0.5)
    assert strict.predict("고양이 귀여워").intent == "out_of_scope"
    assert strict.predict("고양이 귀여워").ranking == prediction.ranking  # ranking is before thresholding


def test_train_rejects_empty_pack() -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        IntentClassifier.train({"greeting": IntentSpec(examples=["안녕하세요"])})


# --- evaluation ------------------------------------------------------------------------------------


def test_heldout_accuracy(classifier: IntentClassifier) -> None:
    report = evaluate(classifier, read_tsv(HELDOUT))
    assert set(report) >= {"accuracy", "macro_f1", "per_intent", "confusion", "errors", "latency_ms"}
    assert report["accuracy"] >= 0.90, report["errors"]
    assert set(report["per_intent"]["power_issue"]) == {"precision", "recall", "f1", "support"}
    assert set(report["latency_ms"]) == {"p50", "p99"}
    assert len(report["errors"]) == round((1 - report["accuracy"]) * len(read_tsv(HELDOUT)))
    msgspec.json.encode(report)  # JSON-able


def test_evaluate_counts(classifier: IntentClassifier) -> None:
    rows = [("안녕하세요", "greeting"), ("환불해 주세요", "refund_request"), ("안녕하세요", "thanks")]
    report = evaluate(classifier, rows)
    assert report["accuracy"] == round(2 / 3, 4)
    assert report["confusion"]["thanks"] == {"greeting": 1}
    assert report["per_intent"]["greeting"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert report["errors"] == [
        {"text": "안녕하세요", "expected": "thanks", "predicted": "greeting", "confidence": 1.0}
    ]


def test_read_tsv_errors_name_the_line(tmp_path: Path) -> None:
    bad_header = tmp_path / "a.tsv"
    bad_header.write_text("utterance\tlabel\n안녕\tgreeting\n", encoding="utf-8")
    with pytest.raises(EvaluationDataError, match=r"a\.tsv:1: header"):
        read_tsv(bad_header)
    bad_row = tmp_path / "b.tsv"
    bad_row.write_text("text\tintent\n안녕\tgreeting\n\n환불 해주세요\n", encoding="utf-8")
    with pytest.raises(EvaluationDataError, match=r"b\.tsv:4:"):
        read_tsv(bad_row)


# --- entities --------------------------------------------------------------------------------------

TODAY = dt.date(2026, 11, 21)  # a Saturday


@pytest.mark.parametrize(
    ("text", "order_ids"),
    [
        ("주문번호 ORD-20261101-0001 배송 언제요", ["ORD-20261101-0001"]),
        ("ord 20261101 0001", ["ORD-20261101-0001"]),
        ("ORD202611010001 조회", ["ORD-20261101-0001"]),
        (
            "ord-20261102-0042랑 ORD-20261102-0042, Ord_20261103_0007",
            ["ORD-20261102-0042", "ORD-20261103-0007"],
        ),
    ],
)
def test_order_ids(text: str, order_ids: list[str]) -> None:
    assert extract_entities(text, TODAY).order_ids == order_ids


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("에러 E101 떠요", ["E101"]),
        ("e-102도 나오고 E 104도요", ["E102", "E104"]),
        ("w301, F12, c404", ["W301", "F12", "C404"]),
        ("R201 램프", ["R201"]),
        ("모델명 QLED55 이에요", []),  # letters glued in front: not an error code
        ("E12345", []),  # too many digits
    ],
)
def test_error_codes(text: str, codes: list[str]) -> None:
    assert extract_entities(text, TODAY).error_codes == codes


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("010-1234-5678로 연락 주세요", ["010-1234-5678"]),
        ("01012345678", ["010-1234-5678"]),
        ("010 1234 5678", ["010-1234-5678"]),
        ("+82 10-9876-5432", ["010-9876-5432"]),
        ("사무실 02-123-4567, 031 765 4321", ["02-123-4567", "031-765-4321"]),
        ("고객센터 1588-1234", ["1588-1234"]),
    ],
)
def test_phones(text: str, phones: list[str]) -> None:
    assert extract_entities(text, TODAY).phones == phones


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("11월 25일에 방문 가능해요?", ["2026-11-25"]),
        ("11/25 오후요", ["2026-11-25"]),
        ("2026-12-03 이요", ["2026-12-03"]),
        ("2027년 1월 5일", ["2027-01-05"]),
        ("내일이나 모레", ["2026-11-22", "2026-11-23"]),
        ("다음주 월요일", ["2026-11-23"]),
        ("다음 주 금요일", ["2026-11-27"]),
        ("이번주 목요일", ["2026-11-19"]),
        ("어제 주문했어요", ["2026-11-20"]),
        ("2월 30일", []),  # not a date
        ("1월 5일에 와주세요", ["2027-01-05"]),  # no year and already past: next year's
        ("1/5", ["2027-01-05"]),
    ],
)
def test_dates(text: str, dates: list[str]) -> None:
    assert extract_entities(text, TODAY).dates == dates


def test_order_id_digits_are_not_phones_or_dates() -> None:
    found = extract_entities("ORD202611010001 건 010-2222-3333 으로 내일 연락 주세요", TODAY)
    assert found == Entities(
        order_ids=["ORD-20261101-0001"], error_codes=[], phones=["010-2222-3333"], dates=["2026-11-22"]
    )


# --- lexicon (issue 11) ----------------------------------------------------------------------------


def test_pack_synonyms_replace_hangul_and_add_to_latin() -> None:
    lexicon = TextLexicon({"리모콘": "리모컨", "관리 페이지": "관리자 페이지", "arc": "에이알씨"})
    assert lexicon.expand(normalize("리모콘이 안 돼요")) == "리모컨이 안 돼요"  # particle kept
    assert lexicon.expand(normalize("공유기 관리페이지")) == "공유기 관리자 페이지"  # spacing-insensitive
    assert lexicon.expand(normalize("hdmi arc 연결")) == "hdmi arc 에이알씨 연결"
    assert lexicon.expand(normalize("wifi가 안 돼요")) == "wifi가 와이파이 안 돼요"  # general vocabulary
    assert lexicon.expand(normalize("오리모콘")) == "오리모콘"  # only at the start of a word


def test_products_in() -> None:
    lexicon = TextLexicon(products={"tv": ["티비", "tv"], "soundbar": ["사운드바", "사바"]})
    assert lexicon.products_in(normalize("TV가 안 켜져요")) == {"tv"}
    assert lexicon.products_in(normalize("사운드바 소리가 안 나요")) == {"soundbar"}
    assert lexicon.products_in(normalize("tvn 채널")) == frozenset()  # Latin words are whole tokens
    assert lexicon.products_in(normalize("공유기 리셋")) == frozenset()


def test_pack_lexicon_reaches_the_classifier(intents: dict[str, IntentSpec]) -> None:
    lexicon = TextLexicon({"리못컨": "리모컨"})
    plain = IntentClassifier.train(intents).scores("리못컨 페어링")
    tuned = IntentClassifier.train(intents, featurize=lexicon_featurizer(lexicon)).scores("리못컨 페어링")
    assert max(tuned) > max(plain)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("공유기 리셋하는 방법 알려주세요", "공유기 리셋"),
        ("와이파이 비번 변경 어떻게 해요", "와이파이 비번 변경"),
        ("주소 좀", "주소"),
    ],
)
def test_strip_question_endings(text: str, expected: str) -> None:
    assert strip_question_endings(normalize(text)) == expected


@pytest.mark.parametrize(
    ("text", "asks"),
    [("상담원 연결해 주세요", True), ("사람이랑 얘기할래요", True), ("상담 가능 시간 알려주세요", False)],
)
def test_agent_requests_name_a_person(text: str, asks: bool) -> None:
    assert asks_for_person(normalize(text)) is asks


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("주문 취소해 주세요", True),
        ("방문 예약 잡고 싶어요", True),
        ("환불하고 싶어요", True),
        ("주문 취소는 어디서 해요", False),
        ("받는 주소 회사로 바꾸고 싶어요", False),
    ],
)
def test_action_requests(text: str, action: bool) -> None:
    assert is_action_request(text) is action


@pytest.mark.parametrize(
    ("text", "unrelated"),
    [
        ("파이썬 리스트 정렬", True),
        ("비트코인 떡상할까요", True),
        ("엘지 냉장고 성에", True),
        ("tv 화면이 깜빡여요", False),
        ("업데이트 어떻게 해요", False),  # "데이트" inside a word is not a date
        ("오늘 날씨가 어때요", True),
    ],
)
def test_off_topic(text: str, unrelated: bool) -> None:
    assert off_topic(normalize(text)) is unrelated


def test_domain_coverage() -> None:
    vocabulary = DomainVocabulary(["공유기 와이파이 비밀번호 변경", "티비 전원이 안 켜져요"])
    assert vocabulary.coverage("와이파이 비번 변경 방법 알려주세요") > 0.5
    assert vocabulary.coverage("엑셀 함수 알려줘") == 0.0
    assert vocabulary.coverage("") == 0.0
