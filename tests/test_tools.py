"""Tool registry, built-in tools (with a real MemoryStore) and the HTTP connector (against a real local
HTTP server on loopback)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import msgspec
import pytest
from aiohttp import web

from core.pack.schema import (
    BotPack,
    BotSettings,
    Escalation,
    HttpTool,
    Order,
    OrderItem,
    Persona,
    ToolSpec,
)
from core.store.memory import MemoryStore
from core.tools.builtin import DEFAULT_SCHEMAS, KST, Ticket, builtin_tools, mask_phone
from core.tools.http import http_tool
from core.tools.registry import Tool, ToolError, ToolRegistry

# --- registry ------------------------------------------------------------------------------------


async def echo(args: dict[str, Any]) -> dict[str, Any]:
    return {"got": args}


ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-[0-9]+$", "minLength": 5, "maxLength": 20},
        "limit": {"type": "integer"},
        "express": {"type": "boolean"},
        "channel": {"type": "string", "enum": ["kakao", "web"]},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
        },
    },
    "required": ["order_id"],
    "additionalProperties": False,
}


def registry_with(*tools: Tool) -> ToolRegistry:
    registry = ToolRegistry()
    for tool in tools:
        registry.register(tool)
    return registry


async def test_register_get_names_and_duplicates() -> None:
    a = Tool(name="a", description="A", input_schema={}, func=echo)
    b = Tool(name="b", description="B", input_schema={}, func=echo)
    registry = registry_with(a, b)
    assert registry.names() == ["a", "b"]
    assert registry.tools() == [a, b]
    assert registry.get("b") is b
    with pytest.raises(ValueError, match="'a'"):
        registry.register(Tool(name="a", description="again", input_schema={}, func=echo))
    with pytest.raises(ToolError) as info:
        registry.get("missing")
    assert (info.value.tool, info.value.kind) == ("missing", "not_found")
    with pytest.raises(ToolError) as info:
        await registry.call("missing", {})
    assert info.value.kind == "not_found"


async def test_valid_args_reach_the_function() -> None:
    registry = registry_with(Tool(name="t", description="", input_schema=ORDER_SCHEMA, func=echo))
    args = {"order_id": "ORD-123", "limit": 3, "express": True, "channel": "web", "items": [{"sku": "x"}]}
    assert await registry.call("t", args) == {"got": args}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, "$.order_id: required property missing"),
        ({"order_id": 123}, "$.order_id: expected string, got integer"),
        ({"order_id": "ORD-1", "limit": "3"}, "$.limit: expected integer, got string"),
        ({"order_id": "ORD-1", "limit": True}, "$.limit: expected integer, got boolean"),
        ({"order_id": "ORD-1", "express": "yes"}, "$.express: expected boolean, got string"),
        ({"order_id": "ORD-1", "coupon": "X"}, "$.coupon: unexpected property"),
        ({"order_id": "ORD-1", "channel": "fax"}, "$.channel: must be one of ['kakao', 'web']"),
        ({"order_id": "ORD-ABC"}, "$.order_id: does not match pattern"),
        ({"order_id": "ORD-"}, "$.order_id: shorter than 5 characters"),
        ({"order_id": "ORD-" + "1" * 30}, "$.order_id: longer than 20 characters"),
        ({"order_id": "ORD-1", "items": [{"sku": "a"}, {}]}, "$.items[1].sku: required property missing"),
        ({"order_id": "ORD-1", "items": {"sku": "a"}}, "$.items: expected array, got object"),
    ],
)
async def test_invalid_args_name_the_path(args: dict[str, Any], expected: str) -> None:
    called = False

    async def func(a: dict[str, Any]) -> dict[str, Any]:
        nonlocal called
        called = True
        return {}

    registry = registry_with(Tool(name="lookup", description="", input_schema=ORDER_SCHEMA, func=func))
    with pytest.raises(ToolError) as info:
        await registry.call("lookup", args)
    assert info.value.kind == "invalid_args"
    assert info.value.tool == "lookup"
    assert expected in str(info.value)
    assert not called


async def test_invalid_args_message_leaves_out_values() -> None:
    schema = {"type": "object", "properties": {"phone": {"type": "string", "pattern": "^010"}}}
    registry = registry_with(Tool(name="t", description="", input_schema=schema, func=echo))
    with pytest.raises(ToolError) as info:
        await registry.call("t", {"phone": "011-9876-5432"})
    assert "9876" not in str(info.value)


async def test_non_object_args_are_invalid() -> None:
    registry = registry_with(Tool(name="t", description="", input_schema={}, func=echo))
    with pytest.raises(ToolError) as info:
        await registry.call("t", ["not", "an", "object"])  # type: ignore[arg-type]
    assert info.value.kind == "invalid_args"


async def test_timeout() -> None:
    async def slow(args: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(5)
        return {}

    registry = registry_with(Tool(name="slow", description="", input_schema={}, func=slow, timeout_s=0.05))
    started = time.monotonic()
    with pytest.raises(ToolError) as info:
        await registry.call("slow", {})
    assert info.value.kind == "timeout"
    assert "0.05" in str(info.value)
    assert time.monotonic() - started < 1.0


async def test_exceptions_become_failed_and_are_chained() -> None:
    async def broken(args: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("customer 010-1234-5678")

    registry = registry_with(Tool(name="broken", description="", input_schema={}, func=broken))
    with pytest.raises(ToolError) as info:
        await registry.call("broken", {})
    assert info.value.kind == "failed"
    assert isinstance(info.value.__cause__, KeyError)
    assert "010-1234-5678" not in str(info.value)
    assert "KeyError" in str(info.value)


async def test_own_timeout_error_is_a_failure_not_a_timeout() -> None:
    async def raises_timeout(args: dict[str, Any]) -> dict[str, Any]:
        raise TimeoutError("backend said so")

    registry = registry_with(Tool(name="t", description="", input_schema={}, func=raises_timeout, timeout_s=5))
    with pytest.raises(ToolError) as info:
        await registry.call("t", {})
    assert info.value.kind == "failed"


async def test_non_dict_result_is_a_failure() -> None:
    async def returns_list(args: dict[str, Any]) -> Any:
        return [1, 2]

    registry = registry_with(Tool(name="t", description="", input_schema={}, func=returns_list))
    with pytest.raises(ToolError) as info:
        await registry.call("t", {})
    assert info.value.kind == "failed"


# --- built-in tools ------------------------------------------------------------------------------


def make_pack(tools: list[ToolSpec], orders: list[Order]) -> BotPack:
    persona = Persona(
        greeting="안녕하세요!",
        fallback="잘 이해하지 못했어요.",
        handoff="상담직원을 연결해 드릴게요.",
        tool_failure="지금은 확인이 어려워요.",
        pii_refused="개인정보는 보내지 말아 주세요.",
        csat_question="도움이 되셨나요?",
        csat_thanks="감사합니다.",
    )
    return BotPack(
        root="/nonexistent",
        bot=BotSettings(id="test", name="누리봇", brand="누리링크", persona=persona),
        intents={},
        faq=[],
        scenarios={},
        tools=tools,
        escalation=Escalation(),
        orders=orders,
    )


ORDERS = [
    Order(
        order_id="ORD-20261118-0001",
        status="배송중",
        ordered_at="2026-11-18",
        customer_id="c1",
        items=[OrderItem(name="누리링크 AX3000"), OrderItem(name="랜선 2m", quantity=2)],
        carrier="CJ대한통운",
        tracking_number="1234-5678-9012",
        eta="2026-11-22",
    ),
    Order(
        order_id="ORD-20261110-0002",
        status="배송완료",
        ordered_at="2026-11-10",
        customer_id="c1",
        items=[OrderItem(name="누리링크 메시 M5", quantity=3)],
        carrier="한진택배",
        tracking_number="5555-6666-7777",
        delivered_at="2026-11-12",
    ),
    Order(
        order_id="ORD-20261119-0003",
        status="배송중",
        ordered_at="2026-11-19",
        customer_id="c2",
        items=[OrderItem(name="누리링크 AX1500")],
        carrier="한진택배",
        tracking_number="987",
    ),
    Order(
        order_id="ORD-20261120-0004",
        status="반품접수",
        ordered_at="2026-11-20",
        customer_id="c3",
        items=[OrderItem(name="누리링크 AX1500")],
    ),
    Order(
        order_id="ORD-20261120-0005",
        status="출고보류",
        ordered_at="2026-11-20",
        customer_id="c3",
        items=[OrderItem(name="누리링크 AX1500")],
    ),
    Order(
        order_id="ORD-20261120-0006",
        status="재고확인",
        ordered_at="2026-11-20",
        customer_id="c3",
        items=[OrderItem(name="누리링크 AX1500")],
        eta="2026-11-30T18:00:00+09:00",
    ),
]

TOOL_SPECS = [
    ToolSpec(name="order_status", description="주문 조회", builtin="get_order", timeout_s=1.5),
    ToolSpec(name="create_ticket", description="AS 접수", builtin="create_ticket"),
    ToolSpec(
        name="kb_search",
        description="FAQ 검색",
        builtin="kb_search",
        input_schema={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    ),
    ToolSpec(name="company_api", description="외부", http=HttpTool(url="http://127.0.0.1:1/x")),
]


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 21, 10, 30, tzinfo=KST))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RecordingSearch:
    calls: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, query: str, limit: int) -> list[dict[str, Any]]:
        self.calls.append((query, limit))
        return [{"id": f"faq-{i}", "score": 1.0 - i / 10} for i in range(limit)]


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def search() -> RecordingSearch:
    return RecordingSearch()


@pytest.fixture
def registry(store: MemoryStore, clock: Clock, search: RecordingSearch) -> ToolRegistry:
    tools = builtin_tools(make_pack(TOOL_SPECS, ORDERS), store, search, clock=clock)
    return ToolRegistry(list(tools.values()))


async def test_only_declared_builtins_under_declared_names(store: MemoryStore, search: RecordingSearch) -> None:
    tools = builtin_tools(make_pack(TOOL_SPECS, ORDERS), store, search)
    assert sorted(tools) == ["create_ticket", "kb_search", "order_status"]
    assert tools["order_status"].timeout_s == 1.5
    assert tools["order_status"].description == "주문 조회"
    assert tools["order_status"].input_schema == DEFAULT_SCHEMAS["get_order"]  # none declared
    assert tools["kb_search"].input_schema == TOOL_SPECS[2].input_schema  # declared one wins
    only_kb = builtin_tools(make_pack([TOOL_SPECS[2]], ORDERS), store, search)
    assert list(only_kb) == ["kb_search"]


async def test_get_order_in_transit(registry: ToolRegistry) -> None:
    result = await registry.call("order_status", {"order_id": "ORD-20261118-0001"})
    assert result == {
        "found": "yes",
        "order_id": "ORD-20261118-0001",
        "status": "배송중",
        "status_detail": "CJ대한통운으로 배송 중이에요. 운송장 번호는 1234-5678-9012이고, 11월 22일 도착 예정이에요.",
        "carrier": "CJ대한통운",
        "tracking_number": "1234-5678-9012",
        "eta": "2026-11-22",
        "delivered_at": "",
        "ordered_at": "2026-11-18",
        "items": "누리링크 AX3000 외 1건",
        "customer_id": "c1",
    }


@pytest.mark.parametrize("typed", ["ord-20261110-0002", " ORD 20261110 0002 ", "ord2026111000 02"])
async def test_get_order_id_is_case_and_format_insensitive(registry: ToolRegistry, typed: str) -> None:
    result = await registry.call("order_status", {"order_id": typed})
    assert result["found"] == "yes"
    assert result["order_id"] == "ORD-20261110-0002"
    assert result["status_detail"] == "11월 12일에 배송이 완료됐어요. 상품을 받지 못하셨다면 말씀해 주세요."
    assert result["items"] == "누리링크 메시 M5 3개"


async def test_get_order_wording_follows_korean_particles(registry: ToolRegistry) -> None:
    no_eta = await registry.call("order_status", {"order_id": "ORD-20261119-0003"})
    assert no_eta["status_detail"] == "한진택배로 배송 중이에요. 운송장 번호는 987이에요."  # 칠 ends in ㄹ
    assert no_eta["eta"] == ""
    returned = await registry.call("order_status", {"order_id": "ORD-20261120-0004"})
    assert returned["status_detail"] == "반품 신청이 접수되어 처리 중이에요."
    assert returned["carrier"] == ""
    on_hold = await registry.call("order_status", {"order_id": "ORD-20261120-0005"})
    assert on_hold["status_detail"] == "현재 주문 상태는 출고보류예요."
    checking = await registry.call("order_status", {"order_id": "ORD-20261120-0006"})
    assert checking["status_detail"] == "현재 주문 상태는 재고확인이에요. 11월 30일 도착 예정이에요."


async def test_get_order_unknown_is_an_answer_not_an_error(registry: ToolRegistry) -> None:
    result = await registry.call("order_status", {"order_id": "ORD-0000"})
    assert result["found"] == "no"
    assert result["order_id"] == "ORD-0000"
    assert "주문번호를 찾지 못했어요" in result["status_detail"]
    assert all(isinstance(v, str) for v in result.values())


async def test_get_order_requires_an_id(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError) as info:
        await registry.call("order_status", {})
    assert info.value.kind == "invalid_args"


async def test_create_ticket_numbers_per_day_and_keeps_the_phone_in_the_record(
    registry: ToolRegistry, store: MemoryStore, clock: Clock
) -> None:
    args = {
        "product": "누리링크 AX3000",
        "symptom": "전원이 켜지지 않아요",
        "preferred_date": "2026-11-25",
        "phone": "010-1234-5678",
        "conversation_key": "kakao:u1",
    }
    first = await registry.call("create_ticket", args)
    second = await registry.call("create_ticket", {**args, "phone": "01098765432"})
    assert first == {
        "ticket_id": "AS-20261121-0001",
        "status": "접수완료",
        "preferred_date": "2026-11-25",
        "product": "누리링크 AX3000",
        "phone": "010-****-5678",
    }
    assert second["ticket_id"] == "AS-20261121-0002"
    assert second["phone"] == "010-****-5432"

    stored = await store.get("ticket:AS-20261121-0001")
    assert stored is not None
    ticket = msgspec.json.decode(stored, type=Ticket)
    assert ticket.phone == "010-1234-5678"  # the business record keeps the number to call
    assert ticket.symptom == "전원이 켜지지 않아요"
    assert ticket.conversation_key == "kakao:u1"
    assert ticket.created_at.startswith("2026-11-21T10:30:00")

    clock.now = datetime(2026, 11, 22, 9, 0, tzinfo=KST)
    third = await registry.call("create_ticket", args)
    assert third["ticket_id"] == "AS-20261122-0001"


async def test_ticket_record_expires_after_the_tools_retention(clock: Clock) -> None:
    """The record keeps the phone unmasked for the service team's call, and only for retention_days."""
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    spec = ToolSpec(name="create_ticket", description="AS 접수", builtin="create_ticket", retention_days=2)
    tools = builtin_tools(make_pack([spec], ORDERS), store, RecordingSearch(), clock=clock)
    args = {"product": "AX3000", "symptom": "고장", "preferred_date": "2026-11-25", "phone": "010-1234-5678"}
    ticket = await tools["create_ticket"].func(args)
    key = f"ticket:{ticket['ticket_id']}"
    now[0] = 2 * 86400 - 1
    assert await store.get(key) is not None
    now[0] = 2 * 86400 + 1
    assert await store.get(key) is None


async def test_create_ticket_validates_args(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError) as info:
        await registry.call("create_ticket", {"product": "AX3000", "symptom": "고장"})
    assert info.value.kind == "invalid_args"
    assert "$.preferred_date" in str(info.value) and "$.phone" in str(info.value)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("010-1234-5678", "010-****-5678"),
        ("02-123-4567", "02-****-4567"),
        ("031-123-4567", "031-****-4567"),
        ("12345", "****-2345"),
        ("12", "****"),
        ("010-****-5678", "010-****-5678"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


async def test_kb_search_uses_the_injected_search(registry: ToolRegistry, search: RecordingSearch) -> None:
    result = await registry.call("kb_search", {"query": "공유기 초기화"})
    assert search.calls == [("공유기 초기화", 3)]
    assert [r["id"] for r in result["results"]] == ["faq-0", "faq-1", "faq-2"]
    await registry.call("kb_search", {"query": "와이파이", "limit": 50})
    assert search.calls[-1] == ("와이파이", 10)  # clamped


# --- HTTP connector against a real local server --------------------------------------------------


@dataclass
class Api:
    base: str
    hits: dict[str, int] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    state = Api(base="")

    async def record(request: web.Request) -> None:
        state.hits[request.path] = state.hits.get(request.path, 0) + 1
        body = await request.text()
        state.requests.append(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "query": dict(request.query),
                "auth": request.headers.get("Authorization"),
                "api_key": request.headers.get("X-Api-Key"),
                "json": json.loads(body) if body else None,
            }
        )

    async def order(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"order_id": request.match_info["order_id"], "status": "배송중"})

    async def create(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"id": 77}, status=201)

    async def flaky(request: web.Request) -> web.Response:
        await record(request)
        if state.hits[request.path] == 1:
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response({"ok": True})

    async def always_500(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"error": "down"}, status=503)

    async def not_found(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"error": "nope"}, status=404)

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        await asyncio.sleep(1.0)
        return web.json_response({"late": True})

    async def as_list(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response([1, 2, 3])

    async def not_json(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text="<html>oops</html>")

    async def too_deep(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text='{"a": ' + "[" * 5000 + "]" * 5000 + "}", content_type="application/json")

    app = web.Application()
    app.router.add_get("/orders/{order_id}", order)
    app.router.add_post("/customers/{customer_id}/tickets", create)
    app.router.add_delete("/sessions/{session_id}", create)
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/down", always_500)
    app.router.add_get("/missing", not_found)
    app.router.add_get("/slow", slow)
    app.router.add_get("/list", as_list)
    app.router.add_get("/html", not_json)
    app.router.add_get("/deep", too_deep)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.base = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def spec(url: str, *, budget_s: float = 3.0, **http: Any) -> ToolSpec:
    return ToolSpec(name="company_api", description="회사 API", http=HttpTool(url=url, **http), timeout_s=budget_s)


async def call(tool: Tool, args: dict[str, Any]) -> dict[str, Any]:
    return await ToolRegistry([tool]).call(tool.name, args)


async def test_get_fills_url_adds_query_and_auth(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(
        spec(
            api.base + "/orders/{order_id}",
            auth_header="Authorization",
            auth_env="SHOP_TOKEN",
            auth_prefix="Bearer ",
        ),
        client,
        {"SHOP_TOKEN": "s3cret"},
    )
    result = await call(tool, {"order_id": "A/B 12", "verbose": True, "page": 2, "none": None})
    assert result == {"order_id": "A/B 12", "status": "배송중"}
    [request] = api.requests
    assert request["method"] == "GET"
    assert request["raw_path"].startswith("/orders/A%2FB%2012?")
    assert request["query"] == {"verbose": "true", "page": "2"}
    assert request["auth"] == "Bearer s3cret"


async def test_post_sends_remaining_args_as_json(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(
        spec(
            api.base + "/customers/{customer_id}/tickets",
            method="POST",
            auth_header="X-Api-Key",
            auth_env="KEY",
        ),
        client,
        {"KEY": "k-1"},
    )
    result = await call(tool, {"customer_id": "c-9", "symptom": "전원 불량", "count": 1})
    assert result == {"id": 77}
    [request] = api.requests
    assert request["method"] == "POST"
    assert request["raw_path"] == "/customers/c-9/tickets"
    assert request["json"] == {"symptom": "전원 불량", "count": 1}
    assert request["api_key"] == "k-1"
    assert request["auth"] is None


async def test_delete_uses_query(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(spec(api.base + "/sessions/{session_id}", method="DELETE"), client, {})
    await call(tool, {"session_id": "s1", "reason": "done"})
    [request] = api.requests
    assert (request["method"], request["query"], request["json"]) == ("DELETE", {"reason": "done"}, None)


async def test_missing_env_var_fails_naming_it_without_calling(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(spec(api.base + "/orders/{order_id}", auth_env="SHOP_TOKEN"), client, {"OTHER": "x"})
    with pytest.raises(ToolError) as info:
        await call(tool, {"order_id": "1"})
    assert info.value.kind == "failed"
    assert "SHOP_TOKEN" in str(info.value)
    assert api.requests == []


async def test_missing_url_argument_is_invalid(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(spec(api.base + "/orders/{order_id}"), client, {})
    with pytest.raises(ToolError) as info:
        await call(tool, {"other": "1"})
    assert info.value.kind == "invalid_args"
    assert "order_id" in str(info.value)


async def test_retries_after_one_500(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(spec(api.base + "/flaky", retries=1), client, {}, backoff_s=0.01)
    assert await call(tool, {}) == {"ok": True}
    assert api.hits["/flaky"] == 2


async def test_fails_after_retries(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(spec(api.base + "/down", retries=2), client, {}, backoff_s=0.01)
    with pytest.raises(ToolError) as info:
        await call(tool, {})
    assert info.value.kind == "failed"
    assert "HTTP 503" in str(info.value)
    assert api.hits["/down"] == 3


async def test_client_errors_are_not_retried(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(spec(api.base + "/missing", retries=3), client, {}, backoff_s=0.01)
    with pytest.raises(ToolError) as info:
        await call(tool, {})
    assert "HTTP 404" in str(info.value)
    assert api.hits["/missing"] == 1


async def test_attempt_timeouts_are_retried_then_reported(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(spec(api.base + "/slow", timeout_s=0.1, retries=1, budget_s=3.0), client, {}, backoff_s=0.01)
    with pytest.raises(ToolError) as info:
        await call(tool, {})
    assert info.value.kind == "timeout"
    assert api.hits["/slow"] == 2


async def test_tool_budget_bounds_the_whole_call(api: Api, client: httpx.AsyncClient) -> None:
    tool = http_tool(spec(api.base + "/slow", timeout_s=5.0, retries=3, budget_s=0.2), client, {})
    started = time.monotonic()
    with pytest.raises(ToolError) as info:
        await call(tool, {})
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 0.9


async def test_connect_errors_fail_after_retries(client: httpx.AsyncClient, unused_tcp_port: int) -> None:
    tool = http_tool(spec(f"http://127.0.0.1:{unused_tcp_port}/x", retries=1), client, {}, backoff_s=0.01)
    with pytest.raises(ToolError) as info:
        await call(tool, {})
    assert info.value.kind == "failed"
    assert "2 tries" in str(info.value)


async def test_non_object_json_is_wrapped_and_html_fails(api: Api, client: httpx.AsyncClient) -> None:
    assert await call(http_tool(spec(api.base + "/list"), client, {}), {}) == {"result": [1, 2, 3]}
    with pytest.raises(ToolError) as info:
        await call(http_tool(spec(api.base + "/html"), client, {}), {})
    assert "did not answer JSON" in str(info.value)


async def test_a_company_api_answering_hostile_nesting_is_a_tool_failure(api: Api, client: httpx.AsyncClient) -> None:
    """Not a RecursionError escaping the tool: the turn degrades like any failed tool."""
    with pytest.raises(ToolError) as info:
        await call(http_tool(spec(api.base + "/deep"), client, {}), {})
    assert info.value.kind == "failed" and "did not answer JSON" in str(info.value)


async def test_http_tool_needs_an_http_section_and_env_for_auth_header(client: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="no http section"):
        http_tool(ToolSpec(name="x", description="", builtin="kb_search"), client, {})
    with pytest.raises(ValueError, match="auth_env"):
        http_tool(spec("http://127.0.0.1/x", auth_header="Authorization"), client, {})
