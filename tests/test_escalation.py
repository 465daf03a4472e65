"""Escalation rules (core/policy/escalation.py) with a small rule set built here."""

from __future__ import annotations

import pytest

from core.conversation import Conversation
from core.messages import HandoffReason
from core.pack.schema import Escalation
from core.policy.escalation import EscalationPolicy
from core.policy.pii import mask_pii


@pytest.fixture
def rules() -> Escalation:
    return Escalation(
        fallback_limit=2,
        profanity=["시발", "씨발", "시바", "ㅅㅂ", "병신", "ㅂㅅ", "개새끼", "새끼", "졸라", "fuck"],
        refund_dispute=["환불 거부", "환불 안 해", "말이 돼", "소비자원", "고소"],
        agent_keywords=["상담원 연결", "상담원", "사람이랑 얘기", "사람 바꿔", "사람 연결", "진짜 사람"],
        priorities={"profanity": "high", "refund_dispute": "urgent"},
    )


@pytest.fixture
def policy(rules: Escalation) -> EscalationPolicy:
    return EscalationPolicy(rules)


def _conversation(**fields: object) -> Conversation:
    return Conversation(key="web:s1", channel="web", user_id="u1", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "시발 왜 안 돼",
        "씨발",
        "ㅅㅂ 진짜",
        "ㅆㅂ",  # tense initial folded onto the listed ㅅㅂ
        "씨 발 장난하나",  # letters split by spaces
        "ㅅ ㅂ",
        "시이발",  # elongated vowel
        "씨이이이발",
        "씨~발",  # symbols inside
        "시1발",  # digits inside
        "씨씨발",  # repeated letters
        "쒸발",
        "시팔 뭐야",  # aspirated variant
        "너 병신이야?",
        "개 새 끼 들아",
        "씨 발놈아",  # a single letter joins the word after it
        "FUCK this",
        "이 새끼들아",
    ],
)
def test_profanity_variants(policy: EscalationPolicy, text: str) -> None:
    assert policy.is_profane(text)


@pytest.mark.parametrize(
    "text",
    [
        "시발점이 어디예요?",  # "starting point": a known trap
        "시발역에서 내려요",
        "몇 시 발송이에요?",  # an hour followed by 발송
        "몇시발송돼요",
        "다시발급해 주세요",
        "아저씨발송해주셨나요",
        "3시 바로 와 주세요",
        "시바견 인형 있어요?",
        "옷바지 사이즈 교환돼요?",  # final ㅅ + 바 is not the letters ㅅㅂ
        "아씨 발로 찼더니 전원이 꺼졌어요",  # two ordinary words are not joined
        "새끼손가락만 한 나사가 빠졌어요",
        "새끼 고양이가 케이블을 물었어요",
        "아이가 졸라서 샀어요",
        "상담원 계세요?",  # ㅔ is not folded onto ㅐ, so this never reads 개새
        "2개 새 제품으로 교환해 주세요",
        "몇 개 새 걸로 보내주세요",
        "몇 시 팔아요?",
        "다시빨리 보내주세요",
        "다시파일 보내드릴게요",
        "수고하세요 ㅅㄱ",
        "공유기가 자꾸 끊겨요",
        "",
    ],
)
def test_profanity_false_positive_traps(policy: EscalationPolicy, text: str) -> None:
    assert not policy.is_profane(text)


def test_a_swear_word_spelled_next_to_a_trap_is_still_caught(policy: EscalationPolicy) -> None:
    assert policy.is_profane("씨발점")  # only the plain 시발점 spelling is exempt
    assert policy.is_profane("시발 발송 언제 돼")


@pytest.mark.parametrize(
    "text",
    [
        "상담원 연결해 주세요",
        "상담원연결",
        "사람이랑 얘기하고 싶어요",
        "그냥 사람 바꿔요",
        "상담원이요",
        "답답해서 그런데 사람 좀 연결해줘요",  # a particle between the keyword's words
        "상담원 연결은 안 해도 된다고 했는데 그냥 상담원 불러 주세요",  # second mention is not negated
    ],
)
def test_wants_agent(policy: EscalationPolicy, text: str) -> None:
    assert policy.wants_agent(text)


@pytest.mark.parametrize(
    "text",
    [
        "상담원 연결은 안 해도 돼요",
        "상담원 말고 그냥 알려주세요",
        "배송 언제 와요?",
        "사람들이 많이 사나요?",
        "사람이 많으면 연결이 느려요?",  # words of a keyword too far apart
    ],
)
def test_does_not_want_agent(policy: EscalationPolicy, text: str) -> None:
    assert not policy.wants_agent(text)


def test_refund_dispute_phrases_ignore_spacing(policy: EscalationPolicy) -> None:
    assert policy.is_refund_dispute("환불 안해 준다는 게 말이 돼요?")
    assert policy.is_refund_dispute("환불거부하면 소비자원에 신고할게요")
    assert not policy.is_refund_dispute("환불 신청하고 싶어요")


def test_priority_from_rules_with_normal_default(policy: EscalationPolicy) -> None:
    assert policy.priority(HandoffReason.PROFANITY) == "high"
    assert policy.priority(HandoffReason.REFUND_DISPUTE) == "urgent"
    assert policy.priority(HandoffReason.REPEATED_FALLBACK) == "normal"


def test_check_order_profanity_first(policy: EscalationPolicy) -> None:
    conv = _conversation(fallback_count=5)
    assert policy.check("ㅅㅂ 상담원 연결해, 환불 안 해주면 고소", conv) is HandoffReason.PROFANITY
    assert policy.check("상담원 연결해 주세요, 환불 안 해주면 고소할게요", conv) is HandoffReason.AGENT_REQUEST
    assert policy.check("환불 안 해주면 고소할게요", conv) is HandoffReason.REFUND_DISPUTE
    assert policy.check("네?", conv) is HandoffReason.REPEATED_FALLBACK


def test_refund_dispute_needs_refund_context(policy: EscalationPolicy) -> None:
    # "말이 돼" is a dispute only when the conversation is about a refund/exchange.
    assert policy.check("이게 말이 돼요?", _conversation()) is None
    assert policy.check("교환이 안 된다는 게 말이 돼요?", _conversation()) is HandoffReason.REFUND_DISPUTE
    assert policy.check("이게 말이 돼요?", _conversation(last_intent="refund_request")) is HandoffReason.REFUND_DISPUTE


def test_repeated_fallback_at_the_limit(policy: EscalationPolicy) -> None:
    assert policy.check("음", _conversation(fallback_count=1)) is None
    assert policy.check("음", _conversation(fallback_count=2)) is HandoffReason.REPEATED_FALLBACK


def test_placeholders_in_masked_text_do_not_trigger_anything(policy: EscalationPolicy) -> None:
    masked = mask_pii("제 번호 010-1234-5678 이고 메일 sibal@example.com 이에요").text
    assert "<PHONE_1>" in masked
    assert policy.check(masked, _conversation()) is None


def test_empty_rules_never_escalate_on_text() -> None:
    policy = EscalationPolicy(Escalation())
    assert policy.check("ㅅㅂ 상담원 연결", _conversation()) is None
    assert policy.check("ㅅㅂ", _conversation(fallback_count=2)) is HandoffReason.REPEATED_FALLBACK
