"""Runs a pack's scenarios: enters steps, says their texts, waits for buttons or slot answers,
looks up tables, calls tools and reaches an end state.

The flow engine only moves through one scenario; choosing which scenario to start, escalation and
handoff packets belong to the turn engine (core/engine.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import msgspec

from core.conversation import Conversation, ScenarioState
from core.messages import Button, Card, HandoffReason, Image, QuickReplies, ReplyPart, Text
from core.nlu.entities import extract_entities
from core.nlu.normalize import normalize
from core.pack.schema import Ask, BotPack, Choice, EndState, Scenario, Step
from core.particles import attach
from core.particles import fill as fill_particles
from core.policy.pii import PiiKind, partial_mask, strip_placeholders
from core.tools.registry import ToolError, ToolRegistry

MAX_STEPS_PER_TURN = 25  # guards against a pack whose `next` chain loops
POSTBACK_PREFIX = "flow:"
# A date answer further ahead than this ("11월 25일" typed in December is next year's) is read back
# to the customer with 예/아니요 buttons before the scenario uses it.
FAR_DATE_DAYS = 60
PENDING_DATE = "flows.pending_date"  # Conversation.memory key: {scenario, step, value}
YES, NO = "예", "아니요"
_YES_WORDS = ("예", "네", "넵", "넹", "응", "맞", "좋아", "그래", "접수", "yes", "ok", "오케이")
_NO_WORDS = ("아니", "아뇨", "노", "다시", "틀", "바꿀", "바꿔", "변경", "no")
_WEEKDAY_NAMES = "월화수목금토일"
_PHONE_PLACEHOLDER = re.compile(r"<PHONE_\d+>")


class FlowOutcome(msgspec.Struct, kw_only=True):
    parts: list[ReplyPart] = []
    end: EndState | None = None  # set when the scenario finished this turn
    handoff_reason: HandoffReason | None = None  # with end == "handoff" (or a tool failure)
    priority: str = "normal"
    last_step: str | None = None  # the last step entered (for handoff packets)
    invalid: bool = False  # the answer did not fit the waiting step (a re-ask was produced)


class StepInput(msgspec.Struct, kw_only=True):
    """The customer's answer as the flow sees it: masked text plus this turn's PII originals."""

    text: str  # PII-masked
    originals: dict[str, str] = {}  # placeholder -> raw value, this turn only (never stored)


def choice_payload(scenario_id: str, step_id: str, index: int) -> str:
    return f"{POSTBACK_PREFIX}{scenario_id}:{step_id}:{index}"


def parse_choice_payload(payload: str) -> tuple[str, str, int] | None:
    if not payload.startswith(POSTBACK_PREFIX):
        return None
    try:
        scenario_id, step_id, index = payload[len(POSTBACK_PREFIX) :].rsplit(":", 2)
        return scenario_id, step_id, int(index)
    except ValueError:
        return None


class FlowEngine:
    def __init__(self, pack: BotPack, tools: ToolRegistry, today: Callable[[], date]) -> None:
        self._pack = pack
        self._tools = tools
        self._today = today

    # --- entry points --------------------------------------------------------------------------

    async def start(self, conv: Conversation, scenario_id: str, answer: StepInput | None = None) -> FlowOutcome:
        """Start a scenario; `answer` (the triggering message) may pre-fill its first ask slots."""
        scenario = self._pack.scenarios[scenario_id]
        conv.scenario = ScenarioState(scenario_id=scenario_id, step_id=scenario.start)
        _forget_answers(conv, scenario)
        conv.memory.pop(PENDING_DATE, None)
        raw: dict[str, str] = {}
        if answer is not None:
            self._prefill(conv, scenario, answer, raw)
        return await self._run(conv, scenario, scenario.start, raw)

    async def choose(self, conv: Conversation, scenario_id: str, step_id: str, index: int) -> FlowOutcome | None:
        """A pressed button. Works for old buttons too: the scenario jumps to where the button was."""
        scenario = self._pack.scenarios.get(scenario_id)
        step = scenario.steps.get(step_id) if scenario else None
        if scenario is None or step is None or not 0 <= index < len(step.choices):
            return None
        if conv.scenario is None or conv.scenario.scenario_id != scenario_id:
            _forget_answers(conv, scenario)  # an old button re-enters a finished scenario: ask afresh
        conv.scenario = ScenarioState(scenario_id=scenario_id, step_id=step_id)
        conv.memory.pop(PENDING_DATE, None)
        return await self._take_choice(conv, scenario, step.choices[index])

    async def answer(self, conv: Conversation, answer: StepInput) -> FlowOutcome | None:
        """Free text for the waiting step. None when it does not fit a choices step (caller decides)."""
        assert conv.scenario is not None
        scenario = self._pack.scenarios.get(conv.scenario.scenario_id)
        step = scenario.steps.get(conv.scenario.step_id) if scenario else None
        if scenario is None or step is None:  # pack changed under a stored conversation
            conv.scenario = None
            return None
        if step.ask is not None:
            pending = _pending_date(conv)
            if pending is not None:
                return await self._answer_date_check(conv, scenario, step.ask, step, answer, pending)
            return await self._answer_ask(conv, scenario, step.ask, step, answer)
        choice = match_choice(step.choices, answer.text)
        if choice is None:
            return None
        return await self._take_choice(conv, scenario, choice)

    def answers_an_ask(self, conv: Conversation, answer: StepInput) -> bool:
        """Whether the text carries an order id / error code that the running scenario asks for."""
        assert conv.scenario is not None
        scenario = self._pack.scenarios.get(conv.scenario.scenario_id)
        return scenario is not None and any(
            step.ask is not None and step.ask.type in ("order_id", "error_code") and self._validate(step.ask, answer)
            for step in scenario.steps.values()
        )

    def reprompt(self, conv: Conversation) -> FlowOutcome:
        """Repeat the waiting step's question with its buttons (the answer did not fit)."""
        assert conv.scenario is not None
        conv.scenario.retries += 1
        parts: list[ReplyPart] = [Text(text=self._fill(self._pack.bot.persona.choose_button, conv.slots))]
        parts.extend(self.waiting_parts(conv))
        return FlowOutcome(parts=parts, invalid=True)

    def waiting_parts(self, conv: Conversation) -> list[ReplyPart]:
        """The waiting step's question and buttons, to show them again."""
        assert conv.scenario is not None
        scenario = self._pack.scenarios[conv.scenario.scenario_id]
        step = scenario.steps[conv.scenario.step_id]
        return self._waiting_parts(conv, scenario, conv.scenario.step_id, step)

    # --- stepping ------------------------------------------------------------------------------

    async def _take_choice(self, conv: Conversation, scenario: Scenario, choice: Choice) -> FlowOutcome:
        conv.slots.update({k: self._fill(v, conv.slots) for k, v in choice.set.items()})
        if choice.goto is None:  # a link/phone button typed as text: stay where we are
            assert conv.scenario is not None
            step = scenario.steps[conv.scenario.step_id]
            return FlowOutcome(parts=self._waiting_parts(conv, scenario, conv.scenario.step_id, step))
        return await self._run(conv, scenario, choice.goto, {})

    async def _answer_ask(
        self, conv: Conversation, scenario: Scenario, ask: Ask, step: Step, answer: StepInput
    ) -> FlowOutcome:
        assert conv.scenario is not None
        value = self._validate(ask, answer)
        if value is None:
            conv.scenario.retries += 1
            if conv.scenario.retries > ask.max_retries:
                if ask.on_fail:
                    return await self._run(conv, scenario, ask.on_fail, {})
                return FlowOutcome(end="handoff", handoff_reason=HandoffReason.VALIDATION_FAILED, invalid=True)
            parts: list[ReplyPart] = [Text(text=self._fill(ask.reprompt, conv.slots))]
            return FlowOutcome(parts=parts, invalid=True)
        stored, raw_value = value
        if ask.type == "date" and self._days_ahead(stored) > FAR_DATE_DAYS:
            conv.memory[PENDING_DATE] = {"scenario": scenario.id, "step": conv.scenario.step_id, "value": stored}
            return FlowOutcome(parts=self._date_check_parts(stored), last_step=conv.scenario.step_id)
        return await self._accept(conv, scenario, ask, step, stored, raw_value)

    async def _accept(
        self, conv: Conversation, scenario: Scenario, ask: Ask, step: Step, stored: str, raw_value: str
    ) -> FlowOutcome:
        conv.slots[ask.slot] = stored
        raw = {ask.slot: raw_value} if raw_value != stored else {}
        assert step.next is not None
        return await self._run(conv, scenario, step.next, raw)

    # --- dates far ahead are read back before they are used -------------------------------------

    def _days_ahead(self, iso: str) -> int:
        return (date.fromisoformat(iso) - self._today()).days

    def _date_check_parts(self, iso: str) -> list[ReplyPart]:
        day = date.fromisoformat(iso)
        said = f"{day.year}년 {day.month}월 {day.day}일({_WEEKDAY_NAMES[day.weekday()]})"
        text = f"{attach(said, '(으)로')} 접수할까요?\n오늘부터 {self._days_ahead(iso)}일 뒤의 날짜예요."
        buttons = [Button(label=YES, kind="message", value=YES), Button(label=NO, kind="message", value=NO)]
        return [Text(text=text), QuickReplies(options=buttons)]

    async def _answer_date_check(
        self, conv: Conversation, scenario: Scenario, ask: Ask, step: Step, answer: StepInput, pending: dict[str, Any]
    ) -> FlowOutcome:
        """The answer to "2027년 11월 25일로 접수할까요?": 예 uses the date, 아니요 asks again, a new date
        is checked like any answer, anything else repeats the question (counted as a bad answer)."""
        assert conv.scenario is not None
        if pending.get("scenario") != scenario.id or pending.get("step") != conv.scenario.step_id:
            conv.memory.pop(PENDING_DATE, None)  # left over from another step: forget it
            return await self._answer_ask(conv, scenario, ask, step, answer)
        if extract_entities(answer.text, today=self._today()).dates:
            conv.memory.pop(PENDING_DATE, None)
            return await self._answer_ask(conv, scenario, ask, step, answer)
        decision = _yes_or_no(answer.text)
        if decision is True:
            conv.memory.pop(PENDING_DATE, None)
            value = str(pending["value"])
            return await self._accept(conv, scenario, ask, step, value, value)
        if decision is False:
            conv.memory.pop(PENDING_DATE, None)
            return FlowOutcome(parts=[Text(text=self._fill(ask.prompt, conv.slots))], last_step=conv.scenario.step_id)
        conv.scenario.retries += 1
        if conv.scenario.retries > ask.max_retries:
            conv.memory.pop(PENDING_DATE, None)
            if ask.on_fail:
                return await self._run(conv, scenario, ask.on_fail, {})
            return FlowOutcome(end="handoff", handoff_reason=HandoffReason.VALIDATION_FAILED, invalid=True)
        parts: list[ReplyPart] = [Text(text=self._fill(self._pack.bot.persona.choose_button, conv.slots))]
        parts.extend(self._date_check_parts(str(pending["value"])))
        return FlowOutcome(parts=parts, invalid=True)

    async def _run(self, conv: Conversation, scenario: Scenario, step_id: str, raw: dict[str, str]) -> FlowOutcome:
        """Enter `step_id` and keep moving until a step waits for the customer or the scenario ends."""
        outcome = FlowOutcome(parts=[])
        for _ in range(MAX_STEPS_PER_TURN):
            step = scenario.steps[step_id]
            conv.scenario = ScenarioState(scenario_id=scenario.id, step_id=step_id)
            outcome.last_step = step_id
            if step.ask is not None and step.ask.type != "phone" and conv.slots.get(step.ask.slot):
                # Already known (pre-filled from the triggering message): don't ask again. A phone is
                # always asked: only the turn it is typed in has the real number for a tool.
                assert step.next is not None
                step_id = step.next
                continue
            outcome.parts.extend(self._say(step, conv.slots))
            if step.end is not None:
                conv.scenario = None
                outcome.end = step.end
                outcome.priority = step.priority
                if step.end == "handoff":
                    outcome.handoff_reason = _reason(step.handoff_reason)
                return outcome
            if step.choices or step.ask is not None:
                outcome.parts.extend(self._waiting_parts(conv, scenario, step_id, step, said=True))
                return outcome
            if step.lookup is not None:
                step_id = self._lookup(conv, step)
                continue
            if step.tool is not None:
                next_id = await self._call_tool(conv, step, raw)
                if next_id is None:
                    conv.scenario = None
                    outcome.end = "handoff"
                    outcome.handoff_reason = HandoffReason.TOOL_FAILURE
                    return outcome
                step_id = next_id
                continue
            assert step.next is not None
            step_id = step.next
        raise RuntimeError(f"scenario {scenario.id}: more than {MAX_STEPS_PER_TURN} steps without waiting")

    def _say(self, step: Step, slots: dict[str, str]) -> list[ReplyPart]:
        parts: list[ReplyPart] = []
        text = self._fill(step.say, slots) if step.say else ""
        if step.link:
            parts.append(Card(text=text, buttons=[Button(label="자세히 보기", kind="url", value=step.link)]))
        elif text:
            parts.append(Text(text=text))
        if step.image:
            parts.append(Image(url=step.image, alt=text[:50]))
        return parts

    def _waiting_parts(
        self, conv: Conversation, scenario: Scenario, step_id: str, step: Step, *, said: bool = False
    ) -> list[ReplyPart]:
        parts: list[ReplyPart] = []
        if step.ask is not None:
            pending = _pending_date(conv)
            if pending is not None:
                return self._date_check_parts(pending["value"])
            parts.append(Text(text=self._fill(step.ask.prompt, conv.slots)))
            return parts
        if not said and step.say:
            parts.append(Text(text=self._fill(step.say, conv.slots)))
        links = [
            Button(label=c.label, kind="url" if c.url else "phone", value=c.url or c.phone or "")
            for c in step.choices
            if c.goto is None and (c.url or c.phone)
        ]
        if links:
            parts.append(Card(text="바로가기", buttons=links))
        options = [
            Button(label=c.label, kind="postback", value=choice_payload(scenario.id, step_id, i))
            for i, c in enumerate(step.choices)
            if c.goto is not None
        ]
        if options:
            parts.append(QuickReplies(options=options))
        return parts

    def _lookup(self, conv: Conversation, step: Step) -> str:
        lookup = step.lookup
        assert lookup is not None
        key = self._fill(lookup.key, conv.slots).strip().upper()
        row = {k.upper(): v for k, v in self._pack.tables.get(lookup.table, {}).items()}.get(key)
        if row is None:
            return lookup.missing
        conv.slots.update({f"{lookup.save_as}.{field}": value for field, value in row.items()})
        return lookup.found

    async def _call_tool(self, conv: Conversation, step: Step, raw: dict[str, str]) -> str | None:
        call = step.tool
        assert call is not None
        # Raw values (e.g. the phone typed this turn) reach the tool; stored slots stay masked.
        args = {name: self._fill(template, {**conv.slots, **raw}) for name, template in call.args.items()}
        args = {name: value for name, value in args.items() if value != ""}
        conv.note_tool(call.name)
        try:
            result = await self._tools.call(call.name, args)
        except ToolError:
            return call.on_error
        conv.slots.update({f"{call.save_as}.{k}": _as_text(v) for k, v in result.items()})
        return call.next

    # --- answers -------------------------------------------------------------------------------

    def _prefill(self, conv: Conversation, scenario: Scenario, answer: StepInput, raw: dict[str, str]) -> None:
        """Fill ask slots of typed entities the customer already gave (order id, error code...)."""
        for step in scenario.steps.values():
            ask = step.ask
            if ask is None or ask.type not in ("order_id", "error_code") or conv.slots.get(ask.slot):
                continue
            value = self._validate(ask, answer)
            if value is not None:
                conv.slots[ask.slot] = value[0]

    def _validate(self, ask: Ask, answer: StepInput) -> tuple[str, str] | None:
        """(value to store, raw value for this turn) or None when invalid."""
        text = answer.text.strip()
        kind = ask.type
        if kind == "phone":
            for placeholder in _PHONE_PLACEHOLDER.findall(text):
                raw_phone = answer.originals.get(placeholder)
                if raw_phone:
                    phones = extract_entities(raw_phone).phones
                    if phones:
                        return partial_mask(PiiKind.PHONE, phones[0]), phones[0]
            return None
        if kind == "text":
            return (text, text) if len(normalize(text)) >= 2 else None
        if kind == "number":
            digits = re.sub(r"[^\d]", "", strip_placeholders(text))
            return (digits, digits) if digits else None
        if kind == "regex":
            return (text, text) if ask.pattern and re.fullmatch(ask.pattern, text) else None
        entities = extract_entities(text, today=self._today())
        if kind == "order_id" and entities.order_ids:
            return entities.order_ids[0], entities.order_ids[0]
        if kind == "error_code" and entities.error_codes:
            return entities.error_codes[0], entities.error_codes[0]
        if kind == "date":
            future = [d for d in entities.dates if d >= self._today().isoformat()]
            if future:
                return future[0], future[0]
        return None

    def _fill(self, template: str, slots: dict[str, str]) -> str:
        """Slots, {brand} and {name} filled in; a particle after one fits the value ("{product}을(를)")."""
        bot = self._pack.bot
        return fill_particles(template, {"brand": bot.brand, "name": bot.name, **slots})


def match_choice(choices: list[Choice], text: str) -> Choice | None:
    """The choice a typed answer means: its number, its label, or one of its `match` words."""
    said = normalize(text).replace(" ", "")
    if not said:
        return None
    branching = [c for c in choices if c.goto is not None]
    if said.isdigit() and 1 <= int(said) <= len(branching):
        return branching[int(said) - 1]
    for choice in choices:
        if said == normalize(choice.label).replace(" ", ""):
            return choice
    for choice in choices:
        words = [normalize(w).replace(" ", "") for w in choice.match]
        if any(w and w in said for w in words):
            return choice
    return None


def _pending_date(conv: Conversation) -> dict[str, Any] | None:
    pending = conv.memory.get(PENDING_DATE)
    return pending if isinstance(pending, dict) and isinstance(pending.get("value"), str) else None


def _yes_or_no(text: str) -> bool | None:
    said = normalize(text).replace(" ", "").lower()
    if not said:
        return None
    if said.startswith(_NO_WORDS):
        return False
    if said.startswith(_YES_WORDS):
        return True
    return None


def _forget_answers(conv: Conversation, scenario: Scenario) -> None:
    """A restarted scenario asks again: drop the slots it filled last time it ran."""
    keys: set[str] = set()
    prefixes: list[str] = []
    for step in scenario.steps.values():
        if step.ask is not None:
            keys.add(step.ask.slot)
        keys.update(k for choice in step.choices for k in choice.set)
        for saved in (step.tool.save_as if step.tool else None, step.lookup.save_as if step.lookup else None):
            if saved:
                prefixes.append(f"{saved}.")
    for key in list(conv.slots):
        if key in keys or key.startswith(tuple(prefixes)):
            del conv.slots[key]


def _reason(value: str | None) -> HandoffReason:
    try:
        return HandoffReason(value) if value else HandoffReason.SCENARIO
    except ValueError:
        return HandoffReason.SCENARIO


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()
