"""The brain end to end: the real `openai` client over real HTTP to the stand-in server, the demo pack's
real tools (get_order over data/orders.yaml, create_ticket into a MemoryStore, kb_search over the FAQ)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import msgspec
import openai

from core.brain.brain import build_brain
from core.brain.client import ModelClient
from core.brain.memory import MEMORY_KEY
from core.knowledge.search import KnowledgeIndex
from core.messages import HandoffReason
from core.nlu.classifier import IntentPrediction
from core.pack.schema import BotPack
from core.store.memory import MemoryStore
from core.tools.builtin import Ticket
from core.tools.registry import Tool, ToolError, ToolRegistry

from .conftest import BrainFactory, conversation, decision, request, tool_messages
from .openai_standin import OpenAIStandIn, Reply

ORDER_ID = "ORD-20261101-0001"  # in bots/demo/data/orders.yaml: 배송중, CJ대한통운, 612345678901


# --- on/off ---------------------------------------------------------------------------------------


def test_brain_is_off_without_key_or_base_url(pack: BotPack, registry: ToolRegistry, store: MemoryStore) -> None:
    assert build_brain({}, pack, registry, store, {}) is None
    assert build_brain({"model": "x"}, pack, registry, store, {"UNRELATED": "1"}) is None
    assert build_brain({"enabled": False}, pack, registry, store, {"OPENAI_API_KEY": "sk-test"}) is None
    assert build_brain({}, pack, registry, store, {"OPENAI_API_KEY": "sk-test"}) is not None
    assert build_brain({}, pack, registry, store, {"SANGDAM_LLM_API_KEY": "sk-test"}) is not None
    # api_key_env names the variable; the default ones are then not consulted
    named = {"api_key_env": "ACME_LLM_KEY"}
    assert build_brain(named, pack, registry, store, {"OPENAI_API_KEY": "sk-test"}) is None
    assert build_brain(named, pack, registry, store, {"ACME_LLM_KEY": "sk-test"}) is not None
    assert build_brain({"base_url": "http://127.0.0.1:9/v1"}, pack, registry, store, {}) is not None


# --- tools ----------------------------------------------------------------------------------------


async def test_get_order_round_trip(standin: OpenAIStandIn, make_brain: BrainFactory, pack: BotPack) -> None:
    def answer_from_tool(body: dict[str, Any]) -> Reply:
        order = tool_messages(body)[0]
        return Reply(
            content=decision(
                f"주문하신 {order['items']}은 {order['status_detail']}",
                intent="order_status",
                order_id=order["order_id"],
                issue_type="shipping",
                summary="배송 조회",
            )
        )

    standin.add(Reply(tool_calls=[("get_order", {"order_id": ORDER_ID})]), answer_from_tool)
    brain = make_brain()
    reply = await brain.respond(request(f"{ORDER_ID} 배송 어디쯤이에요?"))

    assert reply.action == "answer"
    assert reply.tools_called == ["get_order"]
    assert "CJ대한통운" in reply.text and "612345678901" in reply.text
    assert (reply.result.intent, reply.result.order_id, reply.result.next_action) == (
        "order_status",
        ORDER_ID,
        "answer",
    )
    first, second = standin.requests
    # The tools went out as strict function schemas, with the brain's own two tools added.
    tools = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert {"get_order", "create_ticket", "kb_search", "start_scenario", "request_handoff"} <= set(tools)
    assert all(t["strict"] for t in tools.values())
    assert tools["get_order"]["parameters"]["additionalProperties"] is False
    assert tools["start_scenario"]["parameters"]["properties"]["scenario_id"]["enum"] == sorted(pack.scenarios)
    assert "agent_request" in tools["request_handoff"]["parameters"]["properties"]["reason"]["enum"]
    assert first["response_format"]["json_schema"]["strict"] is True
    assert first["parallel_tool_calls"] is False
    # The second call carried the real tool result from data/orders.yaml.
    assert tool_messages(second) == [await brain_tool(make_brain, "get_order", {"order_id": ORDER_ID})]
    assert reply.usage["model_calls"] == 2 and reply.usage["total_tokens"] > 0


async def brain_tool(make_brain: BrainFactory, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """What the registry itself returns for a call (the expected tool message)."""
    outcome = await make_brain()._toolbox.call(name, args)
    return json.loads(outcome.content)


async def test_multi_step_tool_loop(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    def after_search(body: dict[str, Any]) -> Reply:
        results = tool_messages(body)[0]["results"]
        assert results, "kb_search should have found the return policy"
        return Reply(tool_calls=[("get_order", {"order_id": "ORD-20261101-0002"})])

    def final(body: dict[str, Any]) -> Reply:
        search, order = tool_messages(body)
        policy = next(r for r in search["results"] if r["id"] == "return-policy")
        assert "7일" in policy["answer"]
        return Reply(content=decision(f"{order['status']} 상태라 받은 날부터 7일 안에 미개봉이면 환불돼요.", "answer"))

    standin.add(Reply(tool_calls=[("kb_search", {"query": "단순 변심 환불 규정", "limit": 3})]), after_search, final)
    reply = await make_brain().respond(request("받은 TV 환불되나요? 주문은 ORD-20261101-0002예요"))

    assert reply.tools_called == ["kb_search", "get_order"]
    assert reply.text.startswith("배송완료 상태라")
    assert len(standin.requests) == 3
    # Each call carried the whole exchange so far: assistant tool calls followed by their results.
    roles = [m["role"] for m in standin.requests[2]["messages"]][-4:]
    assert roles == ["assistant", "tool", "assistant", "tool"]


async def test_step_cap_forces_a_final_answer(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    search = Reply(tool_calls=[("kb_search", {"query": "공유기 초기화", "limit": None})])
    standin.add(search, search, Reply(content=decision("RESET 구멍을 10초 이상 눌러 주세요.")))
    reply = await make_brain(max_tool_steps=2).respond(request("공유기 초기화 어떻게 해요"))

    assert reply.action == "answer" and reply.tools_called == ["kb_search", "kb_search"]
    assert [r.get("tool_choice") for r in standin.requests] == [None, None, "none"]
    # the nullable optional argument was dropped before the registry validated it
    assert tool_messages(standin.requests[1])[0]["results"]


def _turn_context(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m["content"] and "# Turn context" in m["content"])


def _collected_fields(body: dict[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = json.loads(_turn_context(body).split("Fields collected so far: ", 1)[1].split("\n", 1)[0])
    return fields


def _confirm_ticket(body: dict[str, Any]) -> Reply:
    ticket = tool_messages(body)[-1]
    return Reply(
        content=decision(
            f"AS 접수가 완료됐어요. 접수번호는 {ticket['ticket_id']}이고 <PHONE_1>로 연락드릴게요.",
            "resolve",
            intent="repair_request",
            issue_type="repair",
            summary="TV 화면 깜빡임 AS 접수",
        )
    )


async def _stored_ticket(store: MemoryStore, reply_text: str) -> Ticket:
    ticket_id = re.search(r"AS-\d{8}-\d{4}", reply_text)
    assert ticket_id is not None
    return msgspec.json.decode(await store.get(f"ticket:{ticket_id.group()}") or b"", type=Ticket)


async def test_create_ticket_from_collected_fields(
    standin: OpenAIStandIn, make_brain: BrainFactory, store: MemoryStore
) -> None:
    phone = "010-2345-6789"

    def ticket_from_context(body: dict[str, Any]) -> Reply:
        fields = _collected_fields(body)
        placeholder = re.findall(r"<PHONE_\d+>", body["messages"][-1]["content"].split("# Customer message")[1])
        args = {k: fields[k] for k in ("product", "symptom", "preferred_date")} | {"phone": placeholder[0]}
        return Reply(tool_calls=[("create_ticket", args)])

    standin.add(ticket_from_context, _confirm_ticket)
    conv = conversation(
        ("customer", "TV 화면이 깜빡여요"),
        ("bot", "연락받으실 휴대폰 번호를 알려 주세요."),
        slots={"product": "누리비전 QLED 55", "symptom": "화면이 깜빡여요", "preferred_date": "2026-11-25"},
    )
    reply = await make_brain().respond(
        request("<PHONE_1>로 연락 주세요. 그렇게 접수해 주세요", conv, pii_originals={"<PHONE_1>": phone})
    )

    assert reply.action == "resolve" and reply.tools_called == ["create_ticket"]
    stored = await _stored_ticket(store, reply.text)
    # the tool got the real number (the service team calls it); the model only ever saw the placeholder
    assert (stored.product, stored.preferred_date, stored.phone) == ("누리비전 QLED 55", "2026-11-25", phone)
    assert phone in reply.text  # the customer's own number is restored in the outbound text
    assert all(phone not in raw and "23456789" not in raw for raw in standin.raw_bodies)


async def test_faq_hotline_never_takes_the_customers_placeholder(
    standin: OpenAIStandIn, make_brain: BrainFactory, store: MemoryStore, knowledge: KnowledgeIndex
) -> None:
    phone = "010-2345-6789"
    hotline_faq = knowledge.search("이사할 때 TV 재설치 되나요?", 1)
    assert "1599-0000" in hotline_faq[0].entry.answer

    def ticket_from_context(body: dict[str, Any]) -> Reply:
        fields = _collected_fields(body)
        return Reply(
            tool_calls=[("create_ticket", {k: fields[k] for k in ("product", "symptom", "preferred_date", "phone")})]
        )

    standin.add(ticket_from_context, _confirm_ticket)
    # A raw number in a collected field (defence in depth) next to a FAQ hit with the company hotline:
    # both are masked in this turn, and must get different placeholders.
    conv = conversation(
        slots={
            "product": "누리비전 QLED 55",
            "symptom": "화면이 깜빡여요",
            "preferred_date": "2026-11-25",
            "phone": phone,
        }
    )
    reply = await make_brain().respond(request("그렇게 접수해 주세요", conv, knowledge=hotline_faq))

    assert reply.tools_called == ["create_ticket"]
    context = _turn_context(standin.requests[0])
    slot_placeholder = _collected_fields(standin.requests[0])["phone"]
    assert context.count(slot_placeholder) == 1  # the hotline got a placeholder of its own
    assert (await _stored_ticket(store, reply.text)).phone == phone
    assert reply.text.endswith(f"{phone}로 연락드릴게요.")


async def test_earlier_placeholders_are_never_restored_as_this_turns(
    standin: OpenAIStandIn, make_brain: BrainFactory, store: MemoryStore
) -> None:
    new_phone = "010-7777-8888"

    def placeholders(text: str) -> list[str]:
        return re.findall(r"<[A-Z_]+_\d+>", text)

    def call_with_old_number(body: dict[str, Any]) -> Reply:
        old = placeholders(body["messages"][1]["content"])[0]  # the customer's earlier line
        args = {"product": "누리비전 QLED 55", "symptom": "화면 깜빡임", "preferred_date": "2026-11-25", "phone": old}
        return Reply(tool_calls=[("create_ticket", args)])

    def call_with_new_number(body: dict[str, Any]) -> Reply:
        assert "earlier message" in tool_messages(body)[0]["error"]
        new = placeholders(body["messages"][3]["content"].split("# Customer message")[-1])[0]
        args = {"product": "누리비전 QLED 55", "symptom": "화면 깜빡임", "preferred_date": "2026-11-25", "phone": new}
        return Reply(tool_calls=[("create_ticket", args)])

    def answer(body: dict[str, Any]) -> Reply:
        old = placeholders(body["messages"][1]["content"])[0]
        new = placeholders(body["messages"][3]["content"].split("# Customer message")[-1])[0]
        ticket = tool_messages(body)[-1]["ticket_id"]
        return Reply(content=decision(f"{old} 대신 {new}로 접수했어요. 접수번호는 {ticket}이에요.", "resolve"))

    standin.add(call_with_old_number, call_with_new_number, answer)
    conv = conversation(("customer", "제 번호는 <PHONE_1>이에요"), ("bot", "네, 확인했어요."))  # originals gone
    reply = await make_brain().respond(
        request("번호가 바뀌었어요. 새 번호는 <PHONE_1>이에요", conv, pii_originals={"<PHONE_1>": new_phone})
    )

    assert reply.tools_called == ["create_ticket", "create_ticket"]
    assert (await _stored_ticket(store, reply.text)).phone == new_phone
    assert reply.text.startswith(f"(전화번호) 대신 {new_phone}로 접수했어요.")
    assert reply.text.count(new_phone) == 1


async def test_tool_failure_becomes_handoff_not_an_answer(
    standin: OpenAIStandIn, make_brain: BrainFactory, pack: BotPack
) -> None:
    async def broken(args: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("backend down")

    async def slow(args: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(1)
        return {}

    schema = {"type": "object", "properties": {"serial": {"type": "string"}}, "required": ["serial"]}
    tools = ToolRegistry(
        [
            Tool(name="warranty_check", description="보증 조회", input_schema=schema, func=broken),
            Tool(name="slow_check", description="느린 조회", input_schema=schema, func=slow, timeout_s=0.1),
        ]
    )
    for name in ("warranty_check", "slow_check"):
        standin.requests.clear()
        standin.add(Reply(tool_calls=[(name, {"serial": "NV55Q2026A00123"})]), Reply(content=decision("invented")))
        reply = await make_brain(registry_override=tools).respond(request("보증 남았나요? NV55Q2026A00123"))
        assert reply.action == "handoff" and reply.handoff_reason is HandoffReason.TOOL_FAILURE
        assert reply.text == pack.bot.persona.tool_failure
        assert reply.result.next_action == "handoff" and reply.tools_called == [name]
        assert len(standin.requests) == 1  # the model was not asked to make something up
        standin.script.clear()


async def test_invalid_tool_arguments_get_one_correction(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    def corrected(body: dict[str, Any]) -> Reply:
        assert "pattern" in tool_messages(body)[0]["error"]
        return Reply(tool_calls=[("get_order", {"order_id": ORDER_ID})])

    standin.add(
        Reply(tool_calls=[("get_order", {"order_id": "12345"})]),
        corrected,
        Reply(content=decision("배송 중이에요.", order_id=ORDER_ID)),
    )
    reply = await make_brain().respond(request("주문 조회해 주세요"))
    assert reply.action == "answer" and reply.tools_called == ["get_order", "get_order"]


async def test_start_scenario_and_request_handoff(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    standin.add(Reply(tool_calls=[("start_scenario", {"scenario_id": "power_issue"})]))
    reply = await make_brain().respond(request("티비가 갑자기 먹통이에요"))
    assert reply.start_scenario == "power_issue" and reply.text == ""
    assert (reply.result.intent, reply.result.issue_type) == ("power_issue", "power")

    standin.add(Reply(tool_calls=[("request_handoff", {"reason": "refund_dispute", "summary": "환불 거절 항의"})]))
    reply = await make_brain().respond(request("환불 안 해주면 소비자원에 신고할 거예요"))
    assert reply.action == "handoff" and reply.handoff_reason is HandoffReason.REFUND_DISPUTE
    assert reply.result.summary == "환불 거절 항의"


# --- structured output ----------------------------------------------------------------------------


async def test_handoff_comes_from_the_action_not_the_text(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    standin.add(Reply(content=decision("상담직원에게 연결해 드릴게요.", "answer")))
    reply = await make_brain().respond(request("사람이랑 얘기할래요"))
    assert reply.action == "answer" and reply.handoff_reason is None

    standin.add(Reply(content=decision("연결해 드릴게요.", "handoff", handoff_reason="agent_request")))
    reply = await make_brain().respond(request("사람이랑 얘기할래요"))
    assert reply.action == "handoff" and reply.handoff_reason is HandoffReason.AGENT_REQUEST


async def test_malformed_output_retries_then_hands_off(
    standin: OpenAIStandIn, make_brain: BrainFactory, pack: BotPack
) -> None:
    standin.add(
        Reply(content="네, 환불 가능해요!"),  # prose instead of the JSON object
        Reply(content=decision("", "answer")),  # valid JSON, but an empty reply
    )
    reply = await make_brain(strong_model="strong-model").respond(request("환불 돼요?"))

    assert reply.action == "handoff" and reply.handoff_reason is HandoffReason.FORMAT
    assert reply.result.next_action == "handoff"
    assert "상담직원" in reply.text
    first, retry = standin.requests
    assert (first["model"], retry["model"]) == ("cheap-model", "strong-model")
    # the retry told the model what was wrong with its output
    assert "rejected" in retry["messages"][-1]["content"] and "JSON" in retry["messages"][-1]["content"]
    assert retry["messages"][-2] == {"role": "assistant", "content": "네, 환불 가능해요!"}


async def test_malformed_output_then_valid_retry(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    standin.add(
        Reply(content=decision("연결할게요", "handoff", handoff_reason=None)),  # handoff without a reason
        Reply(content="```json\n" + decision("단순 변심은 7일 이내 미개봉이면 환불돼요.") + "\n```"),
    )
    reply = await make_brain().respond(request("환불 돼요?"))
    assert reply.action == "answer" and reply.text == "단순 변심은 7일 이내 미개봉이면 환불돼요."


# --- failures of the model itself -----------------------------------------------------------------


async def test_http_500_gives_safe_fallback(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    standin.add(Reply(status=500), Reply(status=500))
    conv = conversation()
    reply = await make_brain(max_retries=1).respond(request("공유기 문의요", conv))

    assert reply.action == "answer" and reply.result.next_action == "fallback"
    assert reply.handoff_reason is None
    assert reply.text.startswith("죄송해요")
    assert len(standin.requests) == 2  # the SDK retried once, then the brain gave up safely
    assert conv.memory[MEMORY_KEY]["usage"]["turns"] == 1


async def test_timeout_gives_safe_fallback(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    standin.add(Reply(delay_s=5.0, content=decision("늦은 답")))
    started = time.perf_counter()
    reply = await make_brain(timeout_s=0.3).respond(request("공유기 문의요"))
    assert time.perf_counter() - started < 3.0  # gave up long before the model would have answered
    assert reply.result.next_action == "fallback" and "늦은 답" not in reply.text


async def test_turn_budget_bounds_a_slow_tool_loop(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    slow_search = Reply(delay_s=0.5, tool_calls=[("kb_search", {"query": "와이파이", "limit": 1})])
    standin.add(slow_search, slow_search, slow_search, slow_search)
    started = time.perf_counter()
    reply = await make_brain(turn_timeout_s=0.6).respond(request("와이파이 질문"))
    assert time.perf_counter() - started < 1.5  # four steps would take 2 s
    assert reply.result.next_action == "fallback"


# --- streaming ------------------------------------------------------------------------------------


async def test_streaming_chunks_arrive_in_order(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    text = '누리링크 공유기는 뒷면 "RESET" 구멍을 10초 이상 눌러 주세요.\n확인 문자는 <PHONE_1>로 보내 드릴게요.'
    standin.add(Reply(content=decision(text), chunk_chars=3, chunk_delay_s=0.005))
    received: list[tuple[float, str]] = []

    async def sink(delta: str) -> None:
        received.append((time.perf_counter(), delta))

    reply = await make_brain().respond(
        request("공유기 초기화", pii_originals={"<PHONE_1>": "010-5555-1234"}, on_text=sink)
    )
    expected = text.replace("<PHONE_1>", "010-5555-1234")
    assert reply.text == expected
    deltas = [d for _, d in received]
    assert "".join(deltas) == expected  # every piece, in order, escapes decoded, placeholder restored
    assert len(deltas) > 10
    assert not any("<PH" in d for d in deltas)
    # the first text reached the channel while the server was still sending
    assert received[0][0] < standin.stream_chunk_sent_at[-1]
    assert standin.requests[0]["stream"] is True


async def test_non_streaming_channel_gets_final_text(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    standin.add(Reply(content=decision("안녕하세요!")))
    reply = await make_brain().respond(request("안녕"))
    assert reply.text == "안녕하세요!" and "stream" not in standin.requests[0]


async def test_streamed_tool_calls_are_reassembled(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    standin.add(
        Reply(tool_calls=[("get_order", {"order_id": ORDER_ID})]),
        lambda body: Reply(content=decision(tool_messages(body)[0]["status"])),
    )
    chunks: list[str] = []

    async def sink(delta: str) -> None:
        chunks.append(delta)

    reply = await make_brain().respond(request("배송 조회", on_text=sink))
    assert reply.text == "배송중" and "".join(chunks) == "배송중"


# --- memory ---------------------------------------------------------------------------------------


async def test_summary_kicks_in_after_n_turns(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    lines: list[tuple[str, str]] = []
    for i in range(1, 5):
        lines += [("customer", f"질문 {i}"), ("bot", f"답변 {i}")]
    conv = conversation(*lines)

    def summary(body: dict[str, Any]) -> Reply:
        assert "tools" not in body and "response_format" not in body
        transcript = body["messages"][-1]["content"]
        assert "질문 1" in transcript and "질문 2" in transcript and "질문 3" not in transcript
        return Reply(content="고객이 공유기 문제로 두 번 문의함")

    standin.add(summary, Reply(content=decision("네, 이어서 도와드릴게요.")))
    brain = make_brain(window_turns=2, summary_after_turns=3)
    await brain.respond(request("질문 5", conv))

    final = standin.requests[1]["messages"]
    assert final[0]["role"] == "system"
    assert final[0]["content"].endswith("\n\n# Earlier in this conversation\n고객이 공유기 문제로 두 번 문의함")
    users = [m["content"] for m in final if m["role"] == "user"]
    assert users == ["질문 3", "질문 4", "질문 5"]  # the window, then the current message
    state = conv.memory[MEMORY_KEY]
    assert state["summary"] == "고객이 공유기 문제로 두 번 문의함" and state["summarised_turns"] == 2

    # Below the batch size again: no new summary call, the summary is reused.
    conv.remember("customer", "질문 5", keep=50)
    conv.remember("bot", "네, 이어서 도와드릴게요.", keep=50)
    standin.requests.clear()
    standin.add(Reply(content=decision("네.")))
    await brain.respond(request("질문 6", conv))
    assert len(standin.requests) == 1
    assert [m["content"] for m in standin.requests[0]["messages"] if m["role"] == "user"] == [
        "질문 3",
        "질문 4",
        "질문 5",
        "질문 6",
    ]


async def test_summary_without_model_is_an_extract(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    conv = conversation(*[(r, f"{r} {i}") for i in range(3) for r in ("customer", "bot")])
    standin.add(Reply(content=decision("네.")))
    await make_brain(window_turns=1, summary_after_turns=2, summarize_with_model=False).respond(request("다음", conv))
    assert len(standin.requests) == 1
    assert conv.memory[MEMORY_KEY]["summary"] == "고객: customer 0\n고객: customer 1"


# --- PII --------------------------------------------------------------------------------------------

RRN = "900101-1234567"
CARD = "4111-1111-1111-1111"
PHONE = "010-9876-5432"
CONTACT = "02-3456-7890"


async def test_model_never_receives_unmasked_rrn_card_or_phone(
    standin: OpenAIStandIn, make_brain: BrainFactory, pack: BotPack
) -> None:
    async def customer_lookup(args: dict[str, Any]) -> dict[str, Any]:
        # A backend that returns personal data: the brain must mask it before the model sees it.
        return {"name": "김누리", "phone": PHONE, "branch_phone": CONTACT, "note": f"주민번호 {RRN}"}

    schema = {"type": "object", "properties": {"phone": {"type": "string"}}, "required": ["phone"]}
    tools = ToolRegistry(
        [Tool(name="customer_lookup", description="고객 조회", input_schema=schema, func=customer_lookup)]
    )
    received_args: list[dict[str, Any]] = []

    def call_lookup(body: dict[str, Any]) -> Reply:
        return Reply(tool_calls=[("customer_lookup", {"phone": "<PHONE_1>"})])

    def answer(body: dict[str, Any]) -> Reply:
        received_args.append(tool_messages(body)[0])
        return Reply(content=decision("<PHONE_1>로 등록된 고객님 정보를 확인했어요. 지점 번호는 <PHONE_2>예요."))

    standin.add(call_lookup, answer)
    # Upstream lines that slipped through unmasked (defence in depth): transcript and slots.
    conv = conversation(
        ("customer", f"제 번호는 {PHONE}이고 카드 {CARD}로 결제했어요"),
        ("bot", "확인해 볼게요."),
        slots={"card": CARD, "rrn": RRN},
    )
    reply = await make_brain(registry_override=tools, stream=True).respond(
        request("<PHONE_1> 고객 정보 확인해 주세요", conv, pii_originals={"<PHONE_1>": PHONE})
    )

    assert reply.action == "answer"
    assert reply.text == f"{PHONE}로 등록된 고객님 정보를 확인했어요. 지점 번호는 {CONTACT}예요."
    assert received_args[0]["phone"] == "<PHONE_1>" and received_args[0]["branch_phone"] == "<PHONE_2>"
    digits = {re.sub(r"\D", "", v) for v in (RRN, CARD, PHONE, CONTACT)}
    for raw in standin.raw_bodies:
        flat = re.sub(r"\D", "", raw)
        for value in (RRN, CARD, PHONE, CONTACT):
            assert value not in raw
        for d in digits:
            assert d not in flat


async def test_reply_with_card_number_is_rejected_and_never_streamed(
    standin: OpenAIStandIn, make_brain: BrainFactory
) -> None:
    standin.add(
        Reply(content=decision(f"카드 {CARD} 맞나요?"), chunk_chars=2),
        Reply(content=decision(f"카드 {CARD} 맞죠?")),
    )
    streamed: list[str] = []

    async def sink(delta: str) -> None:
        streamed.append(delta)

    reply = await make_brain().respond(request("결제 확인", on_text=sink))
    assert reply.action == "handoff" and reply.handoff_reason is HandoffReason.FORMAT
    assert CARD not in reply.text
    assert "".join(streamed) == "카드 (카드번호) 맞나요?"  # scrubbed on the way out; the retry was not streamed
    assert standin.requests[0]["stream"] is True and "stream" not in standin.requests[1]


# --- cost -----------------------------------------------------------------------------------------


async def test_duplicate_question_cache(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    answer = "단순 변심은 받은 날부터 7일 이내, 미개봉일 때 환불돼요."
    standin.add(Reply(content=decision(answer, general_answer=True, intent="refund_request", summary="환불 규정")))
    brain = make_brain()
    first = await brain.respond(request("단순 변심 환불 기간이 어떻게 되나요?"))
    assert first.usage["cached"] == 0 and first.usage["total_tokens"] > 0

    streamed: list[str] = []

    async def sink(delta: str) -> None:
        streamed.append(delta)

    for variant in (
        "단순변심 환불 기간이 어떻게 되나요",
        "단순 변심 환불기간이 어떻게 되나요??",
        "단순 변심 환불 기간이 어떻게 되나여?",  # a typo: a near-duplicate
    ):
        hit = await brain.respond(request(variant, on_text=sink))
        assert (hit.text, hit.usage["cached"], hit.usage["total_tokens"]) == (answer, 1, 0)
        assert hit.result.intent == "refund_request"
    assert len(standin.requests) == 1 and streamed == [answer] * 3

    # A different question, and a personal one, go to the model.
    standin.add(
        Reply(content=decision("네.", general_answer=True)),
        Reply(content=decision("네.", general_answer=True)),
    )
    await brain.respond(request("단순 변심 교환 기간이 어떻게 되나요?"))  # similar words, other question
    await brain.respond(
        request("<PHONE_1> 번호로 주문한 거 환불 기간이 어떻게 되나요?", pii_originals={"<PHONE_1>": PHONE})
    )
    assert len(standin.requests) == 3


async def test_answers_specific_to_a_customer_are_not_cached(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    standin.add(
        Reply(tool_calls=[("get_order", {"order_id": ORDER_ID})]),
        Reply(content=decision("배송 중이에요.", general_answer=True)),  # the model's flag alone is not enough
        Reply(content=decision("배송 중이에요.")),
    )
    brain = make_brain()
    await brain.respond(request("내 주문 배송 어디까지 왔어요?"))
    second = await brain.respond(request("내 주문 배송 어디까지 왔어요?"))
    assert second.usage["cached"] == 0 and len(standin.requests) == 3


async def test_usage_per_turn_and_conversation_with_stable_prefix(
    standin: OpenAIStandIn, make_brain: BrainFactory, knowledge: KnowledgeIndex
) -> None:
    conv = conversation()
    brain = make_brain()
    standin.add(Reply(content=decision("라우터 리셋은 뒷면 구멍을 눌러요.")), Reply(content=decision("네, 맞아요.")))
    prediction = IntentPrediction("settings_help", 0.41, [("settings_help", 0.41)])
    hits = knowledge.search("공유기 리셋", 2)
    one = await brain.respond(request("공유기 리셋 방법", conv, prediction=prediction, knowledge=hits))
    conv.remember("customer", "공유기 리셋 방법", keep=50)
    conv.remember("bot", one.text, keep=50)
    two = await brain.respond(request("그럼 설정도 지워져요?", conv))

    first, second = standin.requests
    assert first["messages"][0] == second["messages"][0]  # the byte-identical system prefix
    assert first["tools"] == second["tools"]
    turn_message = first["messages"][-1]["content"]
    assert "RESET" in turn_message and "settings_help" in turn_message
    assert turn_message.endswith("# Customer message\n공유기 리셋 방법")
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert two.usage["cached_prompt_tokens"] > 0  # the provider could reuse the prefix
    totals = conv.memory[MEMORY_KEY]["usage"]
    assert totals["turns"] == 2 and totals["model_calls"] == 2
    assert totals["total_tokens"] == one.usage["total_tokens"] + two.usage["total_tokens"]
    assert conv.memory[MEMORY_KEY]["last_usage"] == two.usage


async def test_near_duplicate_with_other_numbers_or_model_names_goes_to_the_model(
    standin: OpenAIStandIn, make_brain: BrainFactory
) -> None:
    standin.add(Reply(content=decision("55인치는 129만 원이에요.", general_answer=True, intent="other")))
    brain = make_brain()
    await brain.respond(request("누리비전 QLED 55인치 TV 가격이 얼마예요"))
    hit = await brain.respond(request("누리비전 QLED 55인치 TV 가격이 얼마에요?"))  # a typo: still a hit
    assert hit.usage["cached"] == 1 and len(standin.requests) == 1

    standin.add(
        Reply(content=decision("65인치는 189만 원이에요.", general_answer=True)),
        Reply(content=decision("OLED 55인치는 없어요.", general_answer=True)),
    )
    other_size = await brain.respond(request("누리비전 QLED 65인치 TV 가격이 얼마예요"))
    other_model = await brain.respond(request("누리비전 OLED 55인치 TV 가격이 얼마예요"))
    assert (other_size.text, other_size.usage["cached"]) == ("65인치는 189만 원이에요.", 0)
    assert (other_model.text, other_model.usage["cached"]) == ("OLED 55인치는 없어요.", 0)
    assert len(standin.requests) == 3


async def test_tool_error_text_is_masked(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    async def lookup(args: dict[str, Any]) -> dict[str, Any]:
        # A backend whose error message quotes the (restored) argument.
        raise ToolError("customer_lookup", "invalid_args", f"no customer with phone {args['phone']}")

    schema = {"type": "object", "properties": {"phone": {"type": "string"}}, "required": ["phone"]}
    tools = ToolRegistry([Tool(name="customer_lookup", description="고객 조회", input_schema=schema, func=lookup)])

    def answer(body: dict[str, Any]) -> Reply:
        return Reply(content=decision(f"확인해 보니 {tool_messages(body)[0]['error']}", "ask"))

    standin.add(Reply(tool_calls=[("customer_lookup", {"phone": "<PHONE_1>"})]), answer)
    reply = await make_brain(registry_override=tools).respond(
        request("<PHONE_1> 고객 정보 확인해 주세요", pii_originals={"<PHONE_1>": PHONE})
    )
    assert tool_messages(standin.requests[1])[0] == {"error": "no customer with phone <PHONE_1>"}
    assert reply.text == f"확인해 보니 no customer with phone {PHONE}"  # restored for the customer only


async def test_running_summary_is_masked(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    conv = conversation(("customer", "TV 문의"), ("bot", "네."))
    # A summary the model wrote with a number in it, and one with an earlier placeholder.
    conv.memory[MEMORY_KEY] = {"summary": f"고객 번호 {PHONE}, 이전 연락처 <PHONE_1>", "summary_until": 0.0}
    standin.add(Reply(content=decision("네.")))
    await make_brain().respond(request("<PHONE_1>로 연락 주세요", conv, pii_originals={"<PHONE_1>": CONTACT}))
    system = standin.requests[0]["messages"][0]["content"]
    summary = system.split("# Earlier in this conversation\n", 1)[1]
    assert PHONE not in system and summary == "고객 번호 <PHONE_2>, 이전 연락처 <EARLIER_PHONE_1>"


async def test_output_cap_parameter_follows_the_server(
    standin: OpenAIStandIn, make_brain: BrainFactory, pack: BotPack
) -> None:
    standin.add(Reply(content=decision("네.")))
    await make_brain(max_completion_tokens=123).respond(request("안녕하세요"))
    body = standin.requests[0]
    assert body["max_tokens"] == 123 and "max_completion_tokens" not in body  # llama.cpp, Ollama read this

    sdk = openai.AsyncOpenAI(api_key="sk-test", base_url=standin.base_url, max_retries=0)
    client = ModelClient(sdk, send_prompt_cache_key=True, output_cap_param="max_completion_tokens")
    standin.add(Reply(content="네."))
    await client.complete(model="gpt-4o-mini", messages=[{"role": "user", "content": "안녕"}], max_output_tokens=50)
    body = standin.requests[1]
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body


async def test_conversation_token_cap(standin: OpenAIStandIn, make_brain: BrainFactory) -> None:
    conv = conversation()
    brain = make_brain(max_conversation_tokens=1)
    standin.add(Reply(content=decision("네, 도와드릴게요.")))
    first = await brain.respond(request("공유기 문의요", conv))
    assert first.action == "answer" and first.usage["total_tokens"] > 0
    second = await brain.respond(request("하나 더 물어볼게요", conv))
    assert second.result.next_action == "fallback" and second.text.startswith("죄송해요")
    assert len(standin.requests) == 1  # the spent budget stopped the second call
    assert conv.memory[MEMORY_KEY]["usage"]["turns"] == 2
