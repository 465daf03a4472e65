"""One customer turn, channel-neutral: Inbound -> reply parts + TurnResult + events.

Pipeline, in this order: load conversation -> PII guard -> (handed off: relay) -> escalation policy ->
scenario step if one is waiting -> understand (local NLU; the LLM brain when configured) -> act (start
scenario / answer from knowledge / reply / fall back with suggestions) -> save. A per-conversation lock
in the store keeps two messages of one customer from interleaving.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import msgspec
import structlog

from core.conversation import Conversation
from core.flows.engine import FlowEngine, FlowOutcome, StepInput, parse_choice_payload
from core.handoff import HandoffSink, build_handoff
from core.knowledge.search import KnowledgeHit, KnowledgeIndex
from core.messages import (
    Button,
    Card,
    Event,
    Handoff,
    HandoffNotice,
    HandoffReason,
    Inbound,
    KnowledgeMatch,
    NextAction,
    QuickReplies,
    ReplyPart,
    Text,
    Turn,
    TurnResult,
)
from core.metrics import Metrics
from core.nlu.classifier import IntentClassifier, IntentPrediction
from core.nlu.entities import find_order_ids, has_ids
from core.nlu.lexicon import DomainVocabulary, asks_for_person, is_action_request, off_topic
from core.nlu.normalize import normalize
from core.pack.schema import BotPack, FaqEntry, Persona
from core.particles import fill as fill_particles
from core.policy.escalation import EscalationPolicy
from core.policy.pii import MaskResult, mask_pii, strip_placeholders
from core.store.base import Store
from core.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from core.brain.brain import Brain

OUT_OF_SCOPE = "out_of_scope"
SWITCH_CONFIDENCE = 0.75  # a waiting scenario is left only for a clearly different request
IDEMPOTENCY_TTL_S = 86400.0
CSAT_PREFIX = "csat:"
KB_PREFIX = "kb:"
START_PREFIX = "start:"  # a button that starts a scenario ("start:network_issue")
RESUME_PAYLOAD = "resume"
# Greetings and thanks are short: a longer message must resemble their examples more than faintly.
_SHORT_INTENTS = frozenset({"greeting", "thanks"})
SHORT_INTENT_MIN_SIMILARITY = 0.15
SHORT_INTENT_MAX_CHARS = 12
ACTION_MIN_CONFIDENCE = 0.25  # an action request takes the best scenario intent from this confidence on
_BARE_NUMBER = re.compile(r"\d{1,4}\s*(?:점|번|개)?\s*")
CHOICE_RETRIES = 2  # unmatched answers to a button step before a handoff
_CSAT_TEXT = re.compile(r"([1-5])\s*점?")
_CSAT_PAYLOAD = re.compile(rf"{CSAT_PREFIX}([1-5])")
_PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
TextSink = Callable[[str], Awaitable[None]]


class _Decision:
    """Where the router sends a first message; `target` names the scenario or FAQ entry."""

    __slots__ = ("guesses", "intent", "kind", "options", "scenario", "target")

    def __init__(
        self,
        kind: str,  # scenario | reply | handoff | faq | clarify | fallback
        intent: str,
        *,
        target: str | None = None,
        options: Sequence[str] = (),  # clarify: FAQ entry ids offered
        scenario: str | None = None,  # clarify: the scenario offered next to them
        guesses: bool = True,  # fallback: may offer weak FAQ matches
    ) -> None:
        self.kind, self.intent, self.target = kind, intent, target
        self.options, self.scenario, self.guesses = list(options), scenario, guesses


class _TurnState:
    """What one turn accumulates while the pipeline runs."""

    def __init__(self, inbound: Inbound, masked: MaskResult) -> None:
        self.inbound = inbound
        self.masked = masked
        self.text = strip_placeholders(masked.text)  # what NLU and FAQ search see: no placeholders
        self.parts: list[ReplyPart] = []
        self.events: list[Event] = []
        self.intent = OUT_OF_SCOPE
        self.confidence = 0.0
        self.next_action: NextAction = "answer"
        self.handoff: Handoff | None = None
        self.scenario_id: str | None = None  # the scenario this turn moved (it may have ended)
        self.step_id: str | None = None  # the last step it entered
        self.relay: str | None = None  # masked customer text for the person handling a handoff
        self.route: dict[str, object] = {}  # the routing decision's candidates, for the log line


class Engine:
    def __init__(
        self,
        *,
        pack: BotPack,
        store: Store,
        nlu: IntentClassifier,
        knowledge: KnowledgeIndex,
        flows: FlowEngine,
        tools: ToolRegistry,
        escalation: EscalationPolicy,
        sinks: Sequence[HandoffSink] = (),
        brain: Brain | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.pack = pack
        self.store = store
        self.nlu = nlu
        self.knowledge = knowledge
        self.flows = flows
        self.tools = tools
        self.escalation = escalation
        self.sinks = list(sinks)
        self.brain = brain
        self.metrics = metrics or Metrics()
        self.persona = _filled(pack.bot.persona, brand=pack.bot.brand, name=pack.bot.name)
        # What the pack talks about: its scenario intents' examples and its FAQ (not greetings or chatter).
        fixed = {name for name, route in pack.bot.routes.items() if route.reply is not None or route.handoff}
        self._domain = DomainVocabulary(
            [
                *(
                    x
                    for name, spec in pack.intents.items()
                    if name != OUT_OF_SCOPE and name not in fixed
                    for x in spec.examples
                ),
                *(x for e in pack.faq for x in [e.question, *e.alt_questions, e.answer, *e.categories]),
            ],
            knowledge.lexicon,
        )
        self._log = structlog.get_logger("sangdam.engine")

    # --- public ----------------------------------------------------------------------------------

    async def handle(self, inbound: Inbound, on_text: TextSink | None = None) -> Turn:
        """Run one full turn. `on_text` receives streamed reply text where the brain produces it."""
        started = time.perf_counter()
        # Every log line written during the turn (tools, sinks, ...) carries the conversation id.
        # (bind/reset rather than the bound_contextvars context manager: a third of the cost.)
        tokens = structlog.contextvars.bind_contextvars(conversation_id=inbound.key)
        try:
            return await self._locked_turn(inbound, on_text, started)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    async def _locked_turn(self, inbound: Inbound, on_text: TextSink | None, started: float) -> Turn:
        seen_key = f"idem:{inbound.channel}:{inbound.idempotency_key}" if inbound.idempotency_key else None
        async with self.store.lock(inbound.key):
            # Checked under the lock and recorded only after the turn is saved: a retry of a message
            # whose turn failed is answered, a retry of one that was answered is not.
            if seen_key is not None and await self.store.get(seen_key) is not None:
                return Turn(parts=[], result=TurnResult(intent="duplicate"), duplicate=True)
            conv = await self.store.load(inbound.key) or Conversation(
                key=inbound.key, channel=inbound.channel, user_id=inbound.user_id
            )
            state = _TurnState(inbound, mask_pii(inbound.text))
            await self._pipeline(conv, state, on_text)
            self._remember_replies(conv, state.parts)
            conv.updated_at = time.time()
            await self.store.save(conv)
            if seen_key is not None:
                await self.store.put(seen_key, b"1", IDEMPOTENCY_TTL_S)
        if state.handoff is not None:
            await self._publish(state.handoff)
        if state.relay is not None:
            await self._relay(inbound.key, state.relay)
        turn = Turn(parts=state.parts, result=self._result(conv, state), events=state.events, handoff=state.handoff)
        self.metrics.record(state.events)
        self._log.info(
            "turn",
            intent=state.intent,
            confidence=round(state.confidence, 3),
            next_action=state.next_action,
            parts=len(state.parts),
            ms=round((time.perf_counter() - started) * 1000, 2),
            **state.route,  # why a first message went where it went: one line per turn, not two
        )
        return turn

    # --- a person takes over ---------------------------------------------------------------------

    async def claim(self, key: str, agent: str) -> bool:
        """An agent takes the conversation: the bot stays silent until `release`. False if unknown."""
        async with self.store.lock(key):
            conv = await self.store.load(key)
            if conv is None:
                return False
            conv.owner, conv.handed_off = "agent", True
            conv.remember("system", f"상담직원 {agent} 연결", self.pack.bot.transcript_keep)
            await self.store.save(conv)
        return True

    async def release(self, key: str) -> None:
        """The agent is done: the bot answers the conversation's next message again."""
        async with self.store.lock(key):
            conv = await self.store.load(key)
            if conv is None:
                return
            conv.owner, conv.handed_off, conv.scenario, conv.fallback_count = "bot", False, None, 0
            conv.remember("system", "상담 종료, 챗봇으로 전환", self.pack.bot.transcript_keep)
            await self.store.save(conv)

    async def record_agent_message(self, key: str, text: str) -> None:
        """Keep what the agent told the customer in the (masked) transcript."""
        async with self.store.lock(key):
            conv = await self.store.load(key)
            if conv is not None:
                conv.remember("agent", mask_pii(text).text, self.pack.bot.transcript_keep)
                await self.store.save(conv)

    async def owner_of(self, key: str) -> str:
        """ "agent" while a person owns the conversation; channels check it right before a bot send."""
        conv = await self.store.load(key)
        return conv.owner if conv is not None else "bot"

    async def fast_reply(self, inbound: Inbound) -> list[ReplyPart]:
        """A quick answer without tools, LLM or state change: knowledge, else the fallback.

        Nothing while the conversation is handed off: the person handling it answers.
        """
        conv = await self.store.load(inbound.key)
        if conv is not None and conv.handed_off:
            return []
        masked = strip_placeholders(mask_pii(inbound.text).text)
        if inbound.knowledge:
            return self._external_answer(inbound.knowledge[0])
        hits = self.knowledge.search(masked, limit=3)
        thresholds = self.pack.bot.thresholds
        lead = hits[0].score - hits[1].score if len(hits) > 1 else 1.0
        if hits and hits[0].score >= thresholds.knowledge_answer and lead >= thresholds.knowledge_margin:
            return self._faq_answer(hits[0].entry)
        return self._fallback_parts()

    # --- pipeline --------------------------------------------------------------------------------

    async def _pipeline(self, conv: Conversation, state: _TurnState, on_text: TextSink | None) -> None:
        inbound, masked = state.inbound, state.masked
        conv.remember("customer", masked.text or _payload_label(inbound), self.pack.bot.transcript_keep)

        # A conversation handed to a person: the bot stays out of the way and relays the message.
        if conv.handed_off:
            if inbound.payload == RESUME_PAYLOAD and conv.owner != "agent":
                conv.handed_off = False
                state.parts.append(Text(text=self.persona.greeting))
                return
            state.next_action = "handoff"
            state.relay = masked.text or _payload_label(inbound)
            state.events.append(Event(name="relayed"))
            if conv.owner == "agent":
                return
            state.parts.append(Text(text=self.persona.agent_busy))
            state.parts.append(QuickReplies(options=[Button(label="챗봇과 계속 대화", value=RESUME_PAYLOAD)]))
            return

        # PII guard: RRN and card numbers are refused with a warning; the rest of the message, with
        # them masked, is still answered so the customer loses nothing.
        if masked.refused:
            state.events.append(
                Event(name="pii_refused", data={"kinds": sorted({f.kind.value for f in masked.findings})})
            )
            state.parts.append(Text(text=self.persona.pii_refused))
            if not state.text and inbound.payload is None:
                return  # nothing but the number: the warning is the answer (not a fallback)

        if conv.awaiting_csat and self._take_csat(conv, state):
            return
        if conv.scenario is not None:
            state.scenario_id, state.step_id = conv.scenario.scenario_id, conv.scenario.step_id

        # Buttons first: a scenario's own choice (e.g. "동의할 수 없어요") ends where its step says.
        if inbound.payload and await self._take_payload(conv, state, inbound.payload):
            return

        # Escalation policy (profanity, explicit agent request, refund dispute, repeated fallbacks).
        reason = self.escalation.check(masked.text, conv)
        if reason is not None:
            state.intent = (
                "agent_request" if reason == HandoffReason.AGENT_REQUEST else conv.last_intent or OUT_OF_SCOPE
            )
            self._hand_off(conv, state, reason)
            return

        prediction = self.nlu.predict(state.text) if state.text else None

        # A waiting scenario step takes the answer; a side question gets answered while the step keeps
        # waiting; a clearly different request leaves the scenario; anything else is asked again.
        if conv.scenario is not None:
            state.intent = conv.last_intent or OUT_OF_SCOPE
            if _says_leave(state.text, self.pack.bot.leave_words):
                state.events.append(Event(name="scenario_left", data={"scenario": conv.scenario.scenario_id}))
                conv.scenario = None
                state.parts.extend(self._fallback_parts(self.persona.scenario_left))
                return
            answer = StepInput(text=masked.text, originals=masked.originals)
            outcome = await self.flows.answer(conv, answer)
            if outcome is None and self.flows.answers_an_ask(conv, answer):
                # A new order id / error code while a result is shown: run the scenario for it.
                outcome = await self.flows.start(conv, conv.scenario.scenario_id, answer)
            if outcome is not None and not outcome.invalid:
                state.confidence = 1.0
                self._apply_outcome(conv, state, outcome)
                return
            if (faq := self._strong_faq(state.text)) is not None:
                state.events.append(Event(name="knowledge_answer", data={"faq": faq.id}))
                state.parts.extend(self._faq_answer(faq))
                state.parts.extend(self.flows.waiting_parts(conv))
                state.next_action = "ask"
                return
            if not self._switches_away(conv, prediction):
                if outcome is None:
                    outcome = self.flows.reprompt(conv)
                    if conv.scenario is not None and conv.scenario.retries > CHOICE_RETRIES:
                        self._hand_off(conv, state, HandoffReason.VALIDATION_FAILED)
                        return
                self._apply_outcome(conv, state, outcome)
                return
            state.events.append(Event(name="scenario_left", data={"scenario": conv.scenario.scenario_id}))
            conv.scenario = None

        await self._understand_and_act(conv, state, prediction, on_text)

    async def _understand_and_act(
        self, conv: Conversation, state: _TurnState, prediction: IntentPrediction | None, on_text: TextSink | None
    ) -> None:
        text = state.text
        if prediction is None:
            # Nothing but PII (a phone number, an e-mail) or an empty message: not counted as a miss.
            if state.masked.findings and not state.masked.refused:
                state.parts.append(Text(text=self.persona.contact_only))
            elif not state.masked.refused:
                state.parts.extend(self._fallback_parts())
            return
        if _BARE_NUMBER.fullmatch(text):
            # "5", "3점" with no rating question open: not a question to search the FAQ for.
            state.events.append(Event(name="not_a_question"))
            state.parts.append(Text(text=self.persona.ask_what))
            self._note_route(state, prediction, [], "ask_what")
            return
        hits = self.knowledge.search(text, limit=3)
        decision = self._route(text, prediction, hits)
        self._note_route(state, prediction, hits, decision.kind, decision.target)
        state.intent, state.confidence = decision.intent, prediction.confidence
        state.events.append(Event(name="intent", data={"intent": decision.intent}))
        if state.inbound.knowledge and decision.kind != "handoff":
            # The platform matched the message to the company's own knowledge (Kakao 지식+): its answer
            # is used, even over a scenario (a waiting step, PII and escalation were handled before).
            conv.fallback_count = 0
            state.events.append(Event(name="knowledge_answer", data={"source": "platform"}))
            state.parts.extend(self._external_answer(state.inbound.knowledge[0]))
            return
        if decision.kind == "scenario":
            assert decision.target is not None
            conv.last_intent = decision.intent
            conv.fallback_count = 0
            await self._start_scenario(conv, state, decision.target)
            return
        if decision.kind == "reply":
            route = self.pack.route_for(decision.intent)
            assert route is not None and route.reply is not None
            conv.last_intent = decision.intent
            conv.fallback_count = 0
            state.parts.append(Text(text=_fill_names(route.reply, self.pack.bot.brand, self.pack.bot.name)))
            return
        if decision.kind == "handoff":
            conv.last_intent = decision.intent
            self._hand_off(conv, state, HandoffReason.AGENT_REQUEST)
            return

        if decision.kind == "faq":
            conv.fallback_count = 0
            if decision.intent != OUT_OF_SCOPE:
                conv.last_intent = decision.intent
            state.events.append(Event(name="knowledge_answer", data={"faq": hits[0].entry.id}))
            state.parts.extend(self._faq_answer(hits[0].entry))
            return
        # Uncertain turns (close candidates, weak scores) go to the LLM brain when one is configured: it
        # gets the FAQ candidates as context and can start a scenario; if it cannot help, we ask / fall back.
        if self.brain is not None and await self._ask_brain(conv, state, prediction, hits, on_text):
            return
        if decision.kind == "clarify":
            conv.fallback_count = 0
            self._clarify(state, decision)
            return
        suggest = self.pack.bot.thresholds.knowledge_suggest
        self._fall_back(conv, state, [h for h in hits if decision.guesses and h.score >= suggest])

    def _route(self, text: str, prediction: IntentPrediction, hits: list[KnowledgeHit]) -> _Decision:
        """What to do with a first message, from the intent ranking and the FAQ candidates.

        - A message about a topic no product support covers (coding, stocks, another maker's appliance)
          that names none of the pack's products gets the fallback: no scenario, no FAQ answer.
        - A specific FAQ answer wins when its score is good (`knowledge_answer`) and clearly ahead of the
          next entry (`knowledge_margin`): over a broad scenario, over an agent request that names no
          person ("상담 가능 시간 알려주세요"), even over a greeting that comes with a question.
        - Greetings and thanks reply; a longer message that only faintly resembles them does not count.
        - A scenario intent starts its scenario, unless an FAQ entry is plausible (`knowledge_clarify`):
          then one clarifying question offers the entry (or the two close ones) and the scenario.
        - Otherwise close FAQ entries (within the margin) are offered as a clarifying question, and the
          fallback suggests weaker matches.
        """
        thresholds = self.pack.bot.thresholds
        top = hits[0].score if hits else 0.0
        lead = top - (hits[1].score if len(hits) > 1 else 0.0)
        intent = prediction.intent
        normalized = normalize(text)
        if off_topic(normalized) and not self.knowledge.products_in(text):
            if intent in _SHORT_INTENTS:
                return _Decision("reply", intent)
            return _Decision("fallback", OUT_OF_SCOPE, guesses=False)
        faq_wins = top >= thresholds.knowledge_answer and lead >= thresholds.knowledge_margin
        if intent == OUT_OF_SCOPE and prediction.ranking and is_action_request(text):
            # "교환 요청할게요" asks the bot to do something: the best-ranked scenario intent, if it is not a
            # long shot, is what it asks for even below the confidence threshold.
            best, confidence = prediction.ranking[0]
            if confidence >= ACTION_MIN_CONFIDENCE and best != OUT_OF_SCOPE:
                intent = best
        route = self.pack.route_for(intent) if intent != OUT_OF_SCOPE else None
        if route is not None and (route.reply is not None or route.handoff):
            person = route.handoff and asks_for_person(normalized)
            if faq_wins and not person:
                return _Decision("faq", intent, target=hits[0].entry.id)
            faint = intent in _SHORT_INTENTS and prediction.similarity < SHORT_INTENT_MIN_SIMILARITY
            if faint and len(normalized.replace(" ", "")) > SHORT_INTENT_MAX_CHARS:
                route, intent = None, OUT_OF_SCOPE
            elif route.handoff and not person and top >= thresholds.knowledge_suggest:
                # "상담 가능 시간 알려주세요" names no person: a question the FAQ may answer, not a request.
                route, intent = None, OUT_OF_SCOPE
            elif route.handoff:
                return _Decision("handoff", intent)
            else:
                return _Decision("reply", intent)
        if route is not None and route.scenario and not self._about_domain(text):
            # Nothing in the message is the pack's business: no scenario; only a clear FAQ answer.
            route, intent = None, OUT_OF_SCOPE
        if route is not None and route.scenario and top < thresholds.knowledge_over_intent:
            if prediction.similarity >= thresholds.intent_over_knowledge or has_ids(text) or is_action_request(text):
                # Phrased like the scenario's own examples ("인터넷이 안돼요": the broad request itself), an
                # order id / error code to look up, or a request to do something (book, cancel, file): the
                # scenario does it; an FAQ answer would only describe part of it.
                return _Decision("scenario", intent, target=route.scenario)
        if faq_wins:
            return _Decision("faq", intent, target=hits[0].entry.id)
        if route is not None and route.scenario:
            if top >= thresholds.knowledge_clarify:
                close = [h for h in hits[:2] if top - h.score < thresholds.knowledge_margin]
                return _Decision("clarify", intent, options=[h.entry.id for h in close], scenario=route.scenario)
            return _Decision("scenario", intent, target=route.scenario)
        if top >= thresholds.knowledge_answer:
            close = [h for h in hits if top - h.score < thresholds.knowledge_margin]
            return _Decision("clarify", intent, options=[h.entry.id for h in close])
        if route is None and top >= thresholds.knowledge_alone and lead >= 2 * thresholds.knowledge_margin:
            # No intent claims the message and one entry stands out: a lower score is enough.
            return _Decision("faq", intent, target=hits[0].entry.id)
        return _Decision("fallback", intent)

    def _about_domain(self, text: str) -> bool:
        """Positive evidence the message concerns the pack: a product, an id, or mostly its vocabulary."""
        if self.knowledge.products_in(text) or has_ids(text):
            return True
        return self._domain.coverage(text) >= self.pack.bot.thresholds.domain_coverage

    def _clarify(self, state: _TurnState, decision: _Decision) -> None:
        """One short question with the close candidates as buttons: FAQ answers and/or a scenario."""
        entries = {entry.id: entry for entry in self.pack.faq}
        options = [Button(label=entries[i].question, value=f"{KB_PREFIX}{i}") for i in decision.options]
        if decision.scenario is not None:
            title = self.pack.scenarios[decision.scenario].title
            options.append(Button(label=title, value=f"{START_PREFIX}{decision.scenario}"))
        state.events.append(
            Event(name="clarify", data={"faq": list(decision.options), "scenario": decision.scenario or ""})
        )
        state.next_action = "ask"
        state.parts.append(Text(text=self.persona.clarify))
        state.parts.append(QuickReplies(options=options))

    @staticmethod
    def _note_route(
        state: _TurnState,
        prediction: IntentPrediction,
        hits: list[KnowledgeHit],
        decision: str,
        target: str | None = None,
    ) -> None:
        """The candidates and scores behind a routing decision, for the turn's log line (never the text)."""
        state.route = {
            "route": decision,
            "route_target": target,
            "intents": [[intent, round(score, 3)] for intent, score in prediction.ranking],
            "similarity": prediction.similarity,
            "faq": [[hit.entry.id, round(hit.score, 3)] for hit in hits],
        }

    async def _start_scenario(self, conv: Conversation, state: _TurnState, scenario_id: str) -> None:
        state.events.append(Event(name="scenario_start", data={"scenario": scenario_id}))
        state.scenario_id = scenario_id
        answer = StepInput(text=state.masked.text, originals=state.masked.originals)
        self._apply_outcome(conv, state, await self.flows.start(conv, scenario_id, answer))

    async def _ask_brain(
        self,
        conv: Conversation,
        state: _TurnState,
        prediction: IntentPrediction,
        hits: list[KnowledgeHit],
        on_text: TextSink | None,
    ) -> bool:
        """Let the LLM brain answer the long tail. False when it could not help."""
        from core.brain.brain import BrainRequest  # the brain is optional; keep its import lazy

        assert self.brain is not None
        request = BrainRequest(
            conversation=conv,
            masked_text=state.masked.text,
            pii_originals=state.masked.originals,
            prediction=prediction,
            knowledge=hits,
            on_text=on_text,
        )
        reply = await self.brain.respond(request)
        state.events.append(Event(name="llm_turn", data={"action": reply.action, **reply.usage}))
        for tool in reply.tools_called:
            state.events.append(Event(name="tool_call", data={"tool": tool}))
        for tool in reply.tools_called:
            conv.note_tool(tool)
        if reply.start_scenario and reply.start_scenario in self.pack.scenarios:
            state.events.append(Event(name="scenario_start", data={"scenario": reply.start_scenario}))
            state.scenario_id = reply.start_scenario
            answer = StepInput(text=state.masked.text, originals=state.masked.originals)
            self._apply_outcome(conv, state, await self.flows.start(conv, reply.start_scenario, answer))
            return True
        if reply.action == "handoff":
            if reply.text:
                state.parts.append(Text(text=reply.text))
            self._hand_off(conv, state, reply.handoff_reason or HandoffReason.AGENT_REQUEST)
            return True
        if reply.result.next_action == "fallback" or not reply.text:
            return False
        conv.fallback_count = 0
        state.intent = reply.result.intent or state.intent
        state.confidence = reply.result.confidence or state.confidence
        state.next_action = reply.result.next_action
        state.parts.append(Text(text=reply.text))
        return True

    # --- buttons and small states ----------------------------------------------------------------

    async def _take_payload(self, conv: Conversation, state: _TurnState, payload: str) -> bool:
        choice = parse_choice_payload(payload)
        if choice is not None:
            outcome = await self.flows.choose(conv, *choice)
            if outcome is None:
                return False
            state.scenario_id = scenario_id = choice[0]
            conv.last_intent = next(iter(self.pack.scenarios[scenario_id].triggers), conv.last_intent)
            state.intent = conv.last_intent or OUT_OF_SCOPE
            state.confidence = 1.0
            self._apply_outcome(conv, state, outcome)
            return True
        if payload.startswith(START_PREFIX) and payload[len(START_PREFIX) :] in self.pack.scenarios:
            # A clarifying question's scenario button.
            scenario_id = payload[len(START_PREFIX) :]
            conv.last_intent = next(iter(self.pack.scenarios[scenario_id].triggers), conv.last_intent)
            state.intent, state.confidence = conv.last_intent or OUT_OF_SCOPE, 1.0
            conv.fallback_count = 0
            await self._start_scenario(conv, state, scenario_id)
            return True
        if payload.startswith(KB_PREFIX):
            entry = next((e for e in self.pack.faq if e.id == payload[len(KB_PREFIX) :]), None)
            if entry is not None:
                conv.fallback_count = 0
                state.events.append(Event(name="knowledge_answer", data={"faq": entry.id}))
                state.parts.extend(self._faq_answer(entry))
                return True
        return False

    def _take_csat(self, conv: Conversation, state: _TurnState) -> bool:
        """A 1-5 rating after a resolved scenario; anything else is handled as a new message."""
        conv.awaiting_csat = False
        rating = _CSAT_PAYLOAD.fullmatch(state.inbound.payload or "") or _CSAT_TEXT.fullmatch(state.text)
        if rating is None:
            return False
        state.events.append(Event(name="csat", data={"score": int(rating.group(1))}))
        state.parts.append(Text(text=self.persona.csat_thanks))
        state.intent, state.next_action = "thanks", "resolve"
        return True

    def _switches_away(self, conv: Conversation, prediction: IntentPrediction | None) -> bool:
        if prediction is None or prediction.intent == OUT_OF_SCOPE or prediction.confidence < SWITCH_CONFIDENCE:
            return False
        route = self.pack.route_for(prediction.intent)
        if route is None or prediction.intent in {"greeting", "thanks"}:
            return False
        return not (route.scenario and conv.scenario and route.scenario == conv.scenario.scenario_id)

    # --- outcomes --------------------------------------------------------------------------------

    def _apply_outcome(self, conv: Conversation, state: _TurnState, outcome: FlowOutcome) -> None:
        state.parts.extend(outcome.parts)
        state.step_id = outcome.last_step or state.step_id
        state.next_action = "ask" if conv.scenario is not None else "answer"
        if outcome.end is None:
            if outcome.invalid:
                state.events.append(Event(name="invalid_answer", data={"scenario": state.scenario_id or ""}))
            return
        state.events.append(Event(name="scenario_end", data={"state": outcome.end, "scenario": state.scenario_id}))
        conv.fallback_count = 0
        if outcome.end == "resolved":
            state.next_action = "resolve"
            conv.awaiting_csat = True
            options = [Button(label=f"{n}점", value=f"{CSAT_PREFIX}{n}") for n in range(1, 6)]
            state.parts.append(Text(text=self.persona.csat_question))
            state.parts.append(QuickReplies(options=options))
        elif outcome.end == "ticket":
            state.next_action = "create_ticket"
        elif outcome.end == "handoff":
            if outcome.handoff_reason == HandoffReason.TOOL_FAILURE:
                state.parts.append(Text(text=self.persona.tool_failure))
            self._hand_off(conv, state, outcome.handoff_reason or HandoffReason.SCENARIO, outcome.priority)

    def _hand_off(self, conv: Conversation, state: _TurnState, reason: HandoffReason, priority: str = "normal") -> None:
        scenario = self.pack.scenarios.get(state.scenario_id or "")
        step = f"{state.scenario_id}/{state.step_id}" if scenario is not None and state.step_id else None
        # The higher of the policy's priority for the reason and the scenario step's own.
        final = max(self.escalation.priority(reason), priority, key=lambda p: _PRIORITY_RANK.get(p, 1))
        state.handoff = build_handoff(
            conv,
            reason,
            priority=final,  # type: ignore[arg-type]
            scenario_title=scenario.title if scenario is not None else None,
            scenario_step=step,
        )
        state.parts.append(HandoffNotice(text=self.persona.handoff, reason=reason.value))
        state.events.append(Event(name="handoff", data={"reason": reason.value}))
        state.next_action = "handoff"
        conv.scenario = None
        conv.handed_off = True
        conv.fallback_count = 0

    def _fall_back(self, conv: Conversation, state: _TurnState, guesses: list[KnowledgeHit]) -> None:
        conv.fallback_count += 1
        state.events.append(Event(name="fallback", data={"count": conv.fallback_count}))
        state.next_action = "fallback"
        if conv.fallback_count >= self.pack.escalation.fallback_limit:
            self._hand_off(conv, state, HandoffReason.REPEATED_FALLBACK)
            return
        if guesses:
            state.parts.append(Text(text=self.persona.knowledge_guess))
            options = [Button(label=h.entry.question, value=f"{KB_PREFIX}{h.entry.id}") for h in guesses]
            state.parts.append(QuickReplies(options=options))
            return
        state.parts.extend(self._fallback_parts())

    # --- reply building --------------------------------------------------------------------------

    def _strong_faq(self, text: str) -> FaqEntry | None:
        hits = self.knowledge.search(text, limit=1)
        if hits and hits[0].score >= self.pack.bot.thresholds.knowledge_over_intent:
            return hits[0].entry
        return None

    def _fallback_parts(self, text: str | None = None) -> list[ReplyPart]:
        parts: list[ReplyPart] = [Text(text=text or self.persona.fallback)]
        if self.persona.fallback_suggestions:
            options = [Button(label=s, kind="message", value=s) for s in self.persona.fallback_suggestions]
            parts.append(QuickReplies(options=options))
        return parts

    def _faq_answer(self, entry: FaqEntry) -> list[ReplyPart]:
        parts: list[ReplyPart] = []
        if self.persona.knowledge_intro:
            parts.append(Text(text=self.persona.knowledge_intro))
        parts.append(Text(text=entry.answer))
        if entry.landing_url:
            parts.append(
                Card(
                    title=entry.question,
                    text="자세한 안내는 아래 페이지에서 확인할 수 있어요.",
                    image_url=entry.image_url,
                    buttons=[Button(label="자세히 보기", kind="url", value=entry.landing_url)],
                )
            )
        return parts

    def _external_answer(self, match: KnowledgeMatch) -> list[ReplyPart]:
        parts: list[ReplyPart] = [Text(text=match.answer)]
        if match.landing_url:
            button = Button(label="자세히 보기", kind="url", value=match.landing_url)
            parts.append(Card(title=match.question, image_url=match.image_url, buttons=[button]))
        return parts

    def _remember_replies(self, conv: Conversation, parts: list[ReplyPart]) -> None:
        keep = self.pack.bot.transcript_keep
        for part in parts:
            if isinstance(part, Text | HandoffNotice):
                conv.remember("bot", mask_pii(part.text).text, keep)
            elif isinstance(part, Card) and (part.title or part.text):
                conv.remember("bot", mask_pii(f"{part.title} {part.text}".strip()).text, keep)

    def _result(self, conv: Conversation, state: _TurnState) -> TurnResult:
        scenario = self.pack.scenarios.get(state.scenario_id) if state.scenario_id else None
        order_ids = find_order_ids(state.masked.text)
        order_id = order_ids[0] if order_ids else conv.slots.get("order_id")
        summary = f"{state.intent}"
        if scenario is not None:
            step = conv.scenario.step_id if conv.scenario else "끝"
            summary += f" · {scenario.title} ({step})"
        return TurnResult(
            intent=state.intent,
            customer_id=conv.slots.get("order.customer_id") or None,
            order_id=order_id,
            issue_type=scenario.issue_type if scenario else None,
            summary=summary,
            next_action=state.next_action,
            confidence=state.confidence,
        )

    async def _relay(self, key: str, text: str) -> None:
        for sink in self.sinks:
            try:
                await sink.relay(key, text)
            except Exception as exc:  # the customer's message is in the transcript either way
                self._log.error("handoff_relay_failed", sink=type(sink).__name__, error=str(exc))

    async def _publish(self, handoff: Handoff) -> None:
        for sink in self.sinks:
            try:
                await sink.publish(handoff)
            except Exception as exc:  # a broken sink must not lose the customer's turn
                self._log.error("handoff_sink_failed", sink=type(sink).__name__, error=str(exc))


def _fill_names(text: str, brand: str, name: str) -> str:
    """Persona texts may name the brand and the bot; nothing else is substituted. A particle after
    either ("{name}(이)에요", "{brand}을(를)") takes the form that fits the word (core/particles.py)."""
    return fill_particles(text, {"brand": brand, "name": name}, missing=None)


def _filled(persona: Persona, *, brand: str, name: str) -> Persona:
    """The persona with {brand} and {name} filled in every text, once."""
    changes: dict[str, str | list[str]] = {
        field: _fill_names(value, brand, name)
        for field in persona.__struct_fields__
        if isinstance(value := getattr(persona, field), str)
    }
    changes["fallback_suggestions"] = [_fill_names(s, brand, name) for s in persona.fallback_suggestions]
    return msgspec.structs.replace(persona, **changes)


def _says_leave(text: str, words: list[str]) -> bool:
    """The customer wants out of the running scenario ("그만할래요", "처음으로")."""
    squashed = text.replace(" ", "")
    return any(word.replace(" ", "") in squashed for word in words) and len(squashed) <= 20


def _payload_label(inbound: Inbound) -> str:
    """A pressed button as the transcript shows it; the payload is client-supplied, so it is masked too."""
    return f"[버튼] {mask_pii(inbound.payload).text}" if inbound.payload else ""
