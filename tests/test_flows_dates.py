"""A date answer more than 60 days ahead is read back with 예/아니요 before a scenario uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from core.assembly import build_engine
from core.engine import Engine
from core.flows.engine import FAR_DATE_DAYS, PENDING_DATE
from core.messages import QuickReplies, Turn
from core.pack.loader import load_pack
from core.pack.schema import BotPack
from core.settings import DEMO_BOT
from core.store.memory import MemoryStore
from tests.test_demo_scenarios import converse

TODAY = date(2026, 12, 7)  # a Monday, KST
TO_DATE = ["AS 접수하고 싶어요", "누리비전 QLED 55", "화면에 세로줄이 생겨요"]


@pytest.fixture(scope="module")
def pack() -> BotPack:
    return load_pack(DEMO_BOT)


@pytest.fixture
async def engine(pack: BotPack) -> AsyncIterator[Engine]:
    async with httpx.AsyncClient() as http:
        yield build_engine(pack, MemoryStore(), http=http, today=lambda: TODAY)


def said(turn: Turn) -> str:
    return "\n".join(getattr(p, "text", "") for p in turn.parts)


def labels(turn: Turn) -> list[str]:
    return [b.label for p in turn.parts if isinstance(p, QuickReplies) for b in p.options]


async def test_far_date_is_confirmed_then_used(engine: Engine) -> None:
    turns = await converse(engine, "far-yes", [*TO_DATE, "11월 25일"])
    check = turns[-1]
    assert "2027년 11월 25일(목)로 접수할까요?" in said(check)
    assert labels(check) == ["예", "아니요"]
    conv = await engine.store.load("test:far-yes")
    assert conv is not None and "preferred_date" not in conv.slots  # not used before the customer says so

    turns = await converse(engine, "far-yes", ["예"])
    assert "희망 날짜: 2027-11-25" in said(turns[-1])
    conv = await engine.store.load("test:far-yes")
    assert conv is not None and conv.slots["preferred_date"] == "2027-11-25"
    assert PENDING_DATE not in conv.memory


async def test_far_date_refused_asks_again_and_a_new_date_is_taken(engine: Engine) -> None:
    turns = await converse(engine, "far-no", [*TO_DATE, "11월 25일", "아니요"])
    assert "원하시는 날짜를 알려 주세요" in said(turns[-1])
    conv = await engine.store.load("test:far-no")
    assert conv is not None and conv.scenario is not None and conv.scenario.step_id == "preferred_date"
    assert "preferred_date" not in conv.slots

    turns = await converse(engine, "far-no", ["12월 10일"])  # near: used without a question
    assert "희망 날짜: 2026-12-10" in said(turns[-1])


async def test_a_new_date_instead_of_yes_replaces_the_far_one(engine: Engine) -> None:
    turns = await converse(engine, "far-new", [*TO_DATE, "11월 25일", "아 아니 12월 25일이요"])
    assert "희망 날짜: 2026-12-25" in said(turns[-1])


async def test_unclear_answer_repeats_the_check(engine: Engine) -> None:
    turns = await converse(engine, "far-unclear", [*TO_DATE, "2027년 3월 2일", "음..."])
    assert "2027년 3월 2일(화)로 접수할까요?" in said(turns[-1])
    assert labels(turns[-1]) == ["예", "아니요"]
    turns = await converse(engine, "far-unclear", ["네"])
    assert "희망 날짜: 2027-03-02" in said(turns[-1])


async def test_dates_within_the_limit_are_not_questioned(engine: Engine) -> None:
    limit = date.fromordinal(TODAY.toordinal() + FAR_DATE_DAYS)  # 2027-02-05: exactly 60 days ahead
    turns = await converse(engine, "near", [*TO_DATE, f"{limit.year}년 {limit.month}월 {limit.day}일"])
    assert f"희망 날짜: {limit.isoformat()}" in said(turns[-1])
