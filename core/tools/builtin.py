"""The built-in tools a bot pack can declare in tools.yaml with `builtin: <name>`.

get_order      looks an order up in the pack's data/orders.yaml and describes it in Korean
create_ticket  opens an after-sales (AS) ticket, numbered per day through the store
kb_search      searches the knowledge base through an injected callable (tools do not import it)

Every result value the engine may template into a reply is a string, "" when absent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import msgspec

from core.pack.schema import BotPack, Order, ToolSpec
from core.store.base import Store
from core.tools.registry import Tool, ToolFunc

KST = timezone(timedelta(hours=9), "KST")  # ticket numbers follow the Korean business day

SearchFunc = Callable[[str, int], list[dict[str, Any]]]


def _now_kst() -> datetime:
    return datetime.now(KST)


# --- Korean wording helpers ----------------------------------------------------------------------

_DIGIT_FINAL = {"0": "ㅇ", "1": "ㄹ", "3": "ㅁ", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ"}  # 영 일 삼 육 칠 팔
_LATIN_FINAL = {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "r": "ㄹ"}  # el, em, en, ar


def _final_consonant(word: str) -> str:
    """The final consonant (받침) of how `word` is read, "" if it ends in a vowel."""
    for ch in reversed(word.strip()):
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            return " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"[code % 28].strip()
        if ch.isdigit():
            return _DIGIT_FINAL.get(ch, "")
        if ch.isalpha():
            return _LATIN_FINAL.get(ch.lower(), "")
    return ""


def _euro(word: str) -> str:
    """word + 으로/로 (로 after a vowel or ㄹ)."""
    return word + ("으로" if _final_consonant(word) not in ("", "ㄹ") else "로")


def _copula(word: str) -> str:
    """word + 이에요/예요."""
    return word + ("이에요" if _final_consonant(word) else "예요")


def _korean_date(value: str) -> str:
    """An ISO date or datetime ("2026-11-22") as "11월 22일"; anything else unchanged."""
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        return value
    return f"{day.month}월 {day.day}일"


# --- get_order -----------------------------------------------------------------------------------

_ORDER_FIELDS = (
    "order_id",
    "status",
    "status_detail",
    "carrier",
    "tracking_number",
    "eta",
    "delivered_at",
    "ordered_at",
    "items",
    "customer_id",
)


def normalize_order_id(value: str) -> str:
    """Case and punctuation do not matter: " ord-2026 1121-0001" finds "ORD-20261121-0001"."""
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def _items_summary(order: Order) -> str:
    if not order.items:
        return ""
    first = order.items[0]
    if len(order.items) > 1:
        return f"{first.name} 외 {len(order.items) - 1}건"
    return f"{first.name} {first.quantity}개" if first.quantity > 1 else first.name


def _shipping_detail(order: Order) -> str:
    head = f"{_euro(order.carrier)} 배송 중이에요." if order.carrier else "배송 중이에요."
    eta = _korean_date(order.eta) if order.eta else ""
    if order.tracking_number and eta:
        # "이고" is correct after any word (after a vowel it is the full form of "고")
        return f"{head} 운송장 번호는 {order.tracking_number}이고, {eta} 도착 예정이에요."
    if order.tracking_number:
        return f"{head} 운송장 번호는 {_copula(order.tracking_number)}."
    if eta:
        return f"{head} {eta} 도착 예정이에요."
    return head


def _status_detail(order: Order) -> str:
    status = order.status.replace(" ", "")
    eta = f" {_korean_date(order.eta)} 도착 예정이에요." if order.eta else ""
    if status == "배송중":
        return _shipping_detail(order)
    if status == "배송완료":
        when = f"{_korean_date(order.delivered_at)}에 " if order.delivered_at else ""
        return f"{when}배송이 완료됐어요. 상품을 받지 못하셨다면 말씀해 주세요."
    if status in ("배송준비중", "상품준비중", "출고준비중"):
        return "상품을 준비하고 있어요. 출고되면 운송장 번호를 알려 드릴게요." + eta
    if status in ("결제완료", "주문접수", "주문완료"):
        return "결제가 완료됐어요. 곧 상품 준비를 시작할게요." + eta
    if "취소" in status:
        return "주문이 취소됐어요."
    for request in ("반품", "교환", "환불"):  # all end in a final consonant, hence "이"
        if request in status:
            done = "완료" in status
            return f"{request}이 완료됐어요." if done else f"{request} 신청이 접수되어 처리 중이에요."
    return f"현재 주문 상태는 {_copula(order.status)}." + eta


def _order_result(order: Order) -> dict[str, str]:
    return {
        "found": "yes",
        "order_id": order.order_id,
        "status": order.status,
        "status_detail": _status_detail(order),
        "carrier": order.carrier or "",
        "tracking_number": order.tracking_number or "",
        "eta": order.eta or "",
        "delivered_at": order.delivered_at or "",
        "ordered_at": order.ordered_at,
        "items": _items_summary(order),
        "customer_id": order.customer_id,
    }


def _get_order(orders: list[Order]) -> ToolFunc:
    index = {normalize_order_id(o.order_id): o for o in orders}

    async def get_order(args: dict[str, Any]) -> dict[str, Any]:
        order_id = str(args["order_id"]).strip()
        order = index.get(normalize_order_id(order_id))
        if order is not None:
            return _order_result(order)
        missing = dict.fromkeys(_ORDER_FIELDS, "")
        missing.update(
            found="no",
            order_id=order_id,
            status_detail="주문번호를 찾지 못했어요. 주문번호를 다시 한 번 확인해 주세요.",
        )
        return missing

    return get_order


# --- create_ticket -------------------------------------------------------------------------------


class Ticket(msgspec.Struct, kw_only=True):
    """The stored business record of an AS ticket (JSON under "ticket:<ticket_id>").

    It is kept for the tool's `retention_days` (90 by default), then expires: the phone in it is stored
    unmasked for the service team's call about the repair and for nothing else.
    """

    ticket_id: str
    status: str
    product: str
    symptom: str
    preferred_date: str
    phone: str  # unmasked: the service team calls this number
    customer_id: str = ""
    conversation_key: str = ""
    created_at: str  # ISO 8601, KST


def mask_phone(phone: str) -> str:
    """Mask the middle of a phone number: 010-1234-5678 -> 010-****-5678 (02 for Seoul numbers);
    short numbers keep only their last 4 digits."""
    if "*" in phone:
        return phone  # already masked
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 9:
        area = digits[:2] if digits.startswith("02") else digits[:3]  # Seoul's area code is 2 digits
        return f"{area}-****-{digits[-4:]}"
    if len(digits) > 4:
        return "****-" + digits[-4:]
    return "****"


def _create_ticket(store: Store, clock: Callable[[], datetime], retention_s: float) -> ToolFunc:
    async def create_ticket(args: dict[str, Any]) -> dict[str, Any]:
        now = clock()
        day = now.strftime("%Y%m%d")
        number = await store.next_sequence(f"ticket:{day}")
        ticket = Ticket(
            ticket_id=f"AS-{day}-{number:04d}",
            status="접수완료",
            product=str(args["product"]).strip(),
            symptom=str(args["symptom"]).strip(),
            preferred_date=str(args["preferred_date"]).strip(),
            phone=str(args["phone"]).strip(),
            customer_id=str(args.get("customer_id") or ""),
            conversation_key=str(args.get("conversation_key") or ""),
            created_at=now.isoformat(timespec="seconds"),
        )
        await store.put(f"ticket:{ticket.ticket_id}", msgspec.json.encode(ticket), retention_s)
        return {
            "ticket_id": ticket.ticket_id,
            "status": ticket.status,
            "preferred_date": ticket.preferred_date,
            "product": ticket.product,
            "phone": mask_phone(ticket.phone),
        }

    return create_ticket


# --- kb_search -----------------------------------------------------------------------------------


def _kb_search(search: SearchFunc) -> ToolFunc:
    async def kb_search(args: dict[str, Any]) -> dict[str, Any]:
        limit = min(max(int(args.get("limit", 3)), 1), 10)
        return {"results": list(search(str(args["query"]), limit))}

    return kb_search


# --- assembly ------------------------------------------------------------------------------------

# Used when tools.yaml declares a builtin without an input_schema.
DEFAULT_SCHEMAS: dict[str, dict[str, Any]] = {
    "get_order": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "minLength": 1, "maxLength": 64}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
    "create_ticket": {
        "type": "object",
        "properties": {
            "product": {"type": "string", "minLength": 1, "maxLength": 200},
            "symptom": {"type": "string", "minLength": 1, "maxLength": 2000},
            "preferred_date": {"type": "string", "minLength": 1, "maxLength": 40},
            "phone": {"type": "string", "minLength": 1, "maxLength": 40},
            "customer_id": {"type": "string", "maxLength": 200},
            "conversation_key": {"type": "string", "maxLength": 300},
        },
        "required": ["product", "symptom", "preferred_date", "phone"],
        "additionalProperties": False,
    },
    "kb_search": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 500},
            "limit": {"type": "integer", "minimum": 1, "maximum": 10},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
}


def builtin_tools(
    pack: BotPack,
    store: Store,
    search: SearchFunc,
    *,
    clock: Callable[[], datetime] = _now_kst,
) -> dict[str, Tool]:
    """The builtins `pack.tools` declares, under their declared names, schemas and time limits."""
    funcs: dict[str, Callable[[ToolSpec], ToolFunc]] = {
        "get_order": lambda _: _get_order(pack.orders),
        "create_ticket": lambda spec: _create_ticket(store, clock, spec.retention_days * 86400),
        "kb_search": lambda _: _kb_search(search),
    }
    tools: dict[str, Tool] = {}
    for spec in pack.tools:
        if spec.builtin is not None:
            tools[spec.name] = _tool(spec, spec.builtin, funcs[spec.builtin](spec))
    return tools


def _tool(spec: ToolSpec, builtin: str, func: ToolFunc) -> Tool:
    return Tool(
        name=spec.name,
        description=spec.description,
        input_schema=spec.input_schema or DEFAULT_SCHEMAS[builtin],
        func=func,
        timeout_s=spec.timeout_s,
    )
