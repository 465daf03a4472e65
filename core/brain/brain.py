"""The optional LLM brain: routing policy, tool loop, validated decision, memory, cache, streaming.

The engine calls `Brain.respond` for turns the local NLU, scenarios and FAQ cannot serve
confidently, as the last step before "I don't know" (core/engine.py, `_understand_and_act`). `respond` never raises:

- the model answered validly            -> its action (answer / ask / resolve / handoff)
- the model called start_scenario(id)   -> `start_scenario` set, empty text; the engine starts the flow
- the model called request_handoff      -> action "handoff" with the model's reason
- a tool failed                         -> action "handoff", reason TOOL_FAILURE, the pack's tool_failure
                                           text (never an invented answer)
- invalid output twice (one retry with the validation error) -> action "handoff", reason FORMAT
- model unreachable, HTTP error, timeout -> action "answer" with the pack's safe apology text and
                                           result.next_action "fallback"; the engine decides what next
                                           (suggestions, or a handoff after repeated fallbacks)
- the conversation's token budget is spent -> the same fallback, without a model call

Handoff is decided only by the structured `action` or the request_handoff tool, never read from text.
Every request carries masked text only; the reply is restored for the customer where allowed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import structlog

from core.brain.cache import AnswerCache, CachedAnswer
from core.brain.client import Completion, ModelClient, ModelUnavailable, Usage, is_openai, make_openai_client
from core.brain.config import BrainConfig, load_brain_config
from core.brain.memory import (
    BrainState,
    as_messages,
    extract_summary,
    history,
    split_for_summary,
    transcript_text,
)
from core.brain.pii_guard import ANY_PLACEHOLDER_RE, EARLIER_RE, EarlierNames, TurnPii
from core.brain.prompt import (
    MODEL_HANDOFF_REASONS,
    OTHER_INTENT,
    BrainPersona,
    Decision,
    fingerprint,
    load_persona,
    response_format,
    system_prompt,
    turn_context,
)
from core.brain.stream import PlaceholderStream, ReplyFieldStream, TextSink
from core.brain.tools import REQUEST_HANDOFF, START_SCENARIO, ToolBox
from core.conversation import Conversation
from core.knowledge.search import KnowledgeHit
from core.messages import HandoffReason, TurnResult
from core.nlu.classifier import OUT_OF_SCOPE, IntentPrediction
from core.pack.schema import BotPack
from core.particles import fill as fill_particles
from core.policy.pii import mask_pii
from core.store.base import Store
from core.tools.registry import ToolError, ToolRegistry

BrainAction = Literal["answer", "ask", "handoff", "resolve"]
_CACHEABLE_TOOLS = {"kb_search"}  # general knowledge lookups do not make an answer personal


class BrainRequest(msgspec.Struct, kw_only=True):
    conversation: Conversation  # transcript is read; conversation.memory["brain"] is updated in place
    masked_text: str  # the customer's message, PII already masked with typed placeholders
    pii_originals: dict[str, str]  # placeholder -> original, for restoring the outbound text only
    prediction: IntentPrediction | None
    knowledge: list[KnowledgeHit]  # top hits for retrieval context
    on_text: TextSink | None = None  # streaming sink for reply text deltas


class BrainReply(msgspec.Struct, kw_only=True):
    text: str  # customer-facing Korean reply (final, restored)
    action: BrainAction
    result: TurnResult
    handoff_reason: HandoffReason | None = None
    start_scenario: str | None = None  # the model called start_scenario(id)
    tools_called: list[str] = []
    usage: dict[str, int] = {}  # prompt_tokens, completion_tokens, total_tokens, cached (0/1), ...


# --- one turn's bookkeeping -----------------------------------------------------------------------


class _FormatError(Exception):
    pass


@dataclass(slots=True)
class _Turn:
    pii: TurnPii
    usage: Usage = field(default_factory=Usage)
    tools_called: list[str] = field(default_factory=list)
    model_calls: int = 0
    cached: bool = False

    def usage_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "total_tokens": self.usage.total_tokens,
            "cached_prompt_tokens": self.usage.cached_prompt_tokens,
            "model_calls": self.model_calls,
            "cached": int(self.cached),
        }


class Brain:
    def __init__(
        self,
        config: BrainConfig,
        pack: BotPack,
        persona: BrainPersona,
        toolbox: ToolBox,
        client: ModelClient,
        cache_store: Store | None,
        *,
        log: Any = None,
    ) -> None:
        self.config = config
        self.client = client
        self._pack = pack
        self._persona = persona
        self._toolbox = toolbox
        self._log = log or structlog.get_logger("sangdam.brain")
        self._intents = sorted(pack.intents)
        self._system = system_prompt(persona, pack, self._intents)
        self._response_format = response_format(config.structured_output, self._intents)
        faq_text = "".join(f"{e.id}{e.question}{e.answer}" for e in pack.faq)
        self.fingerprint = fingerprint(self._system, json.dumps(toolbox.specs, sort_keys=True), faq_text)
        self._cache = (
            AnswerCache(cache_store, f"{pack.bot.id}:{self.fingerprint}", config.cache_ttl_s, config.cache_similarity)
            if cache_store is not None and config.cache_ttl_s > 0
            else None
        )

    # --- entry point -----------------------------------------------------------------------------

    async def respond(self, request: BrainRequest) -> BrainReply:
        """One turn. Never raises; see the module docstring for what each failure becomes."""
        turn = _Turn(pii=TurnPii(request.pii_originals, self.config.restore_pii))
        state = BrainState.load(request.conversation)
        budget = self.config.max_conversation_tokens
        if budget and state.usage.total_tokens >= budget:
            self._log.warning("brain_budget_spent", total_tokens=state.usage.total_tokens)
            reply = self._unavailable(request, turn)
            self._record(request.conversation, state, turn, reply)
            return reply
        try:
            async with asyncio.timeout(self.config.turn_timeout_s):
                reply = await self._respond(request, state, turn)
        except (ModelUnavailable, TimeoutError) as exc:
            self._log.warning("brain_unavailable", error=getattr(exc, "kind", type(exc).__name__))
            reply = self._unavailable(request, turn)
        except Exception as exc:  # a bug must not cost the customer an answer
            self._log.error("brain_error", error=type(exc).__name__)
            reply = self._unavailable(request, turn)
        self._record(request.conversation, state, turn, reply)
        return reply

    async def _respond(self, request: BrainRequest, state: BrainState, turn: _Turn) -> BrainReply:
        question = turn.pii.mask(request.masked_text)
        if self._cache is not None and not ANY_PLACEHOLDER_RE.search(question):
            hit = await self._cache.get(question)
            if hit is not None:
                return await self._from_cache(request, turn, hit)
        await self._fold_memory(request, state, turn)
        messages = self._messages(request, state, turn, question)
        return await self._tool_loop(request, turn, messages, question)

    # --- messages --------------------------------------------------------------------------------

    def _messages(self, request: BrainRequest, state: BrainState, turn: _Turn, question: str) -> list[dict[str, Any]]:
        # Earlier texts (summary, history, collected fields) are renamed in this fixed order, so the
        # history keeps its names from turn to turn.
        earlier = EarlierNames()
        # One system message: strict chat templates (Mistral, Gemma) reject system turns elsewhere. The
        # summary comes after the stable prompt, so the cached prefix still covers the prompt.
        system = self._system
        if state.summary:
            system += f"\n\n# Earlier in this conversation\n{turn.pii.mask_earlier(state.summary, earlier)}"
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        recent = history(request.conversation.transcript, request.masked_text, state.summary_until)
        # Renamed line by line, before consecutive lines are joined: each line was masked on its own.
        renamed = [msgspec.structs.replace(e, text=earlier.rename(e.text)) for e in recent]
        for message in as_messages(renamed):
            messages.append({**message, "content": turn.pii.mask(message["content"])})
        hits = [
            (hit.entry.question, hit.entry.answer, hit.score) for hit in request.knowledge[: self.config.knowledge_hits]
        ]
        hint = (request.prediction.intent, request.prediction.confidence) if request.prediction else None
        slots = {k: turn.pii.mask_earlier(v, earlier) for k, v in request.conversation.slots.items()}
        context = turn_context(hits, hint, slots)
        # The turn's context rides with the customer's message: last, so everything before it is cacheable.
        content = f"{turn.pii.mask(context)}\n\n# Customer message\n{question}" if context else question
        messages.append({"role": "user", "content": content})
        return messages

    async def _fold_memory(self, request: BrainRequest, state: BrainState, turn: _Turn) -> None:
        entries = history(request.conversation.transcript, request.masked_text, state.summary_until)
        to_fold, _ = split_for_summary(entries, self.config.window_turns, self.config.summary_after_turns)
        if not to_fold:
            return
        summary = None
        if self.config.summarize_with_model:
            summary = await self._summarise(state.summary, to_fold, turn)
        # Stored masked: the model may have written a number in its summary.
        state.summary = mask_pii(summary or extract_summary(state.summary, to_fold)).text
        state.summary_until = to_fold[-1].at
        state.summarised_turns += sum(1 for e in to_fold if e.role == "customer")

    async def _summarise(self, previous: str, entries: list[Any], turn: _Turn) -> str | None:
        earlier = EarlierNames()
        text = (f"Earlier summary:\n{earlier.rename(previous)}\n\n" if previous else "") + transcript_text(
            entries, earlier.rename
        )
        try:
            completion = await self.client.complete(
                model=self.config.summary_model or self.config.model,
                messages=[
                    {"role": "system", "content": self._persona.summary_instruction},
                    {"role": "user", "content": turn.pii.mask(text)},
                ],
                temperature=0.0,
                max_output_tokens=300,
            )
        except ModelUnavailable:
            return None  # the extract is good enough; the answer matters more than the summary
        self._count(turn, completion)
        return (completion.content or "").strip() or None

    # --- the tool loop ---------------------------------------------------------------------------

    async def _tool_loop(
        self, request: BrainRequest, turn: _Turn, messages: list[dict[str, Any]], question: str
    ) -> BrainReply:
        model = self.config.model_for(question)
        invalid_args_left = 1  # the model may fix its own bad arguments once
        retried = False
        step = 0
        while True:
            last_step = step >= self.config.max_tool_steps
            # A retry is not streamed: the customer must not see a second, different reply appear.
            completion = await self._call(
                request, turn, model, messages, tools_allowed=not last_step, stream=not retried
            )
            if completion.tool_calls and not last_step:
                step += 1
                messages.append(_assistant_tool_message(completion))
                for call in completion.tool_calls:
                    outcome = await self._run_tool(request, turn, call.name, call.arguments)
                    if isinstance(outcome, BrainReply):
                        return outcome
                    content, invalid = outcome
                    if invalid:
                        if invalid_args_left == 0:
                            return self._tool_failure(request, turn, call.name)
                        invalid_args_left -= 1
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
                continue
            try:
                decision = self._validate(completion, turn)
            except _FormatError as exc:
                if retried:
                    self._log.warning("brain_format_failure", error=str(exc))
                    return self._format_failure(request, turn)
                retried = True
                model = self.config.model_for(question, retry=True)
                # Echoed back masked: even a number the model made up never goes out in clear.
                messages.append({"role": "assistant", "content": turn.pii.mask(completion.content or "")})
                messages.append(
                    {
                        "role": "user",
                        "content": f"[system] Your last message was rejected: {exc}. "
                        "Reply again with one JSON object that follows the output schema exactly.",
                    }
                )
                step = self.config.max_tool_steps  # the retry answers; it does not call tools
                continue
            return await self._finish(request, turn, decision, question)

    async def _call(
        self,
        request: BrainRequest,
        turn: _Turn,
        model: str,
        messages: list[dict[str, Any]],
        *,
        tools_allowed: bool,
        stream: bool,
    ) -> Completion:
        sink = (
            _ReplySink(turn.pii, request.on_text)
            if request.on_text is not None and self.config.stream and stream
            else None
        )
        completion = await self.client.complete(
            model=model,
            messages=messages,
            tools=self._toolbox.specs,
            # On the last step tools stay listed (a stable prefix) but may not be called.
            tool_choice=None if tools_allowed else "none",
            response_format=self._response_format,
            temperature=self.config.temperature,
            max_output_tokens=self.config.max_completion_tokens,
            prompt_cache_key=f"sangdam:{self._pack.bot.id}:{self.fingerprint}",
            on_content=sink.feed if sink is not None else None,
        )
        if sink is not None:
            await sink.flush()
        self._count(turn, completion)
        return completion

    async def _run_tool(
        self, request: BrainRequest, turn: _Turn, name: str, raw_args: str
    ) -> BrainReply | tuple[str, bool]:
        """A finished reply (scenario, handoff, failure) or (tool message content, args were invalid)."""
        turn.tools_called.append(name)
        if EARLIER_RE.search(raw_args):
            # Its original is gone (never stored); using it would send the placeholder text itself.
            error = "a value like <EARLIER_PHONE_1> comes from an earlier message and cannot be used; ask again"
            return json.dumps({"error": error}), True
        try:
            args = json.loads(turn.pii.for_tool(raw_args) or "{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):
            return json.dumps({"error": "arguments must be a JSON object"}), True
        if name == START_SCENARIO:
            scenario_id = args.get("scenario_id")
            if scenario_id not in self._pack.scenarios:
                return json.dumps({"error": f"unknown scenario_id; use one of {sorted(self._pack.scenarios)}"}), True
            return self._scenario_reply(request, turn, str(scenario_id))
        if name == REQUEST_HANDOFF:
            reason = args.get("reason")
            if reason not in MODEL_HANDOFF_REASONS:
                return json.dumps({"error": f"reason must be one of {list(MODEL_HANDOFF_REASONS)}"}), True
            summary = turn.pii.mask(str(args.get("summary") or ""))
            return self._handoff(request, turn, HandoffReason(reason), summary, self._pack.bot.persona.handoff)
        outcome = await self._toolbox.call(name, args)
        if outcome.error is not None:
            self._log.warning("brain_tool_error", tool=name, kind=outcome.error.kind)
            if outcome.error.kind == "invalid_args":
                # The message may quote the arguments, which now hold restored personal values.
                return turn.pii.mask(json.dumps({"error": outcome.error.message}, ensure_ascii=False)), True
            return self._tool_failure(request, turn, name, outcome.error)
        return turn.pii.mask(outcome.content), False

    # --- validation and the final reply ----------------------------------------------------------

    def _validate(self, completion: Completion, turn: _Turn) -> Decision:
        if completion.refusal:
            raise _FormatError("the model refused")
        if completion.tool_calls:
            raise _FormatError("tools may not be called in this message; answer with the JSON object")
        content = (completion.content or "").strip()
        if content.startswith("```"):  # some local models wrap JSON in a code fence
            content = content.strip("`").removeprefix("json").strip()
        try:
            decision = msgspec.json.decode(content, type=Decision)
        except msgspec.DecodeError as exc:
            raise _FormatError(f"invalid JSON for the output schema ({exc})") from None
        if not decision.reply.strip():
            raise _FormatError("reply is empty")
        if len(decision.reply) > self.config.max_reply_chars:
            raise _FormatError(f"reply is longer than {self.config.max_reply_chars} characters")
        if decision.action == "handoff" and decision.handoff_reason not in MODEL_HANDOFF_REASONS:
            raise _FormatError(f"handoff_reason must be one of {list(MODEL_HANDOFF_REASONS)} when action is handoff")
        if mask_pii(decision.reply).refused:
            raise _FormatError("reply contains a resident registration or card number; never write one")
        if decision.intent not in self._pack.intents:
            decision.intent = OTHER_INTENT
        return decision

    async def _finish(self, request: BrainRequest, turn: _Turn, decision: Decision, question: str) -> BrainReply:
        result = TurnResult(
            intent=decision.intent,
            customer_id=decision.customer_id,
            order_id=decision.order_id,
            issue_type=decision.issue_type,
            summary=decision.summary,
            next_action=decision.action,
            confidence=request.prediction.confidence if request.prediction else 0.0,
        )
        text = turn.pii.for_customer(decision.reply)
        if decision.action == "handoff":
            reason = HandoffReason(decision.handoff_reason or HandoffReason.AGENT_REQUEST.value)
            return BrainReply(
                text=text, action="handoff", result=result, handoff_reason=reason,
                tools_called=list(turn.tools_called), usage=turn.usage_dict(),
            )  # fmt: skip
        if (
            self._cache is not None
            and decision.general_answer
            and decision.action == "answer"
            and set(turn.tools_called) <= _CACHEABLE_TOOLS
            and not ANY_PLACEHOLDER_RE.search(question + decision.reply)
        ):
            await self._cache.put(
                question,
                CachedAnswer(reply=decision.reply, intent=decision.intent, issue_type=decision.issue_type,
                             summary=decision.summary),
            )  # fmt: skip
        return BrainReply(
            text=text, action=decision.action, result=result,
            tools_called=list(turn.tools_called), usage=turn.usage_dict(),
        )  # fmt: skip

    async def _from_cache(self, request: BrainRequest, turn: _Turn, hit: CachedAnswer) -> BrainReply:
        turn.cached = True
        if request.on_text is not None and self.config.stream:
            await request.on_text(hit.reply)
        result = TurnResult(
            intent=hit.intent, issue_type=hit.issue_type, summary=hit.summary, next_action="answer",
            confidence=request.prediction.confidence if request.prediction else 0.0,
        )  # fmt: skip
        return BrainReply(text=hit.reply, action="answer", result=result, usage=turn.usage_dict())

    def _scenario_reply(self, request: BrainRequest, turn: _Turn, scenario_id: str) -> BrainReply:
        scenario = self._pack.scenarios[scenario_id]
        result = TurnResult(
            intent=scenario.triggers[0] if scenario.triggers else scenario_id,
            issue_type=scenario.issue_type,
            summary=scenario.title,
            next_action="answer",
            confidence=request.prediction.confidence if request.prediction else 0.0,
        )
        return BrainReply(
            text="", action="answer", result=result, start_scenario=scenario_id,
            tools_called=list(turn.tools_called), usage=turn.usage_dict(),
        )  # fmt: skip

    def _handoff(
        self, request: BrainRequest, turn: _Turn, reason: HandoffReason, summary: str, text: str
    ) -> BrainReply:
        result = TurnResult(
            intent=request.prediction.intent if request.prediction else OUT_OF_SCOPE,
            summary=summary,
            next_action="handoff",
            confidence=request.prediction.confidence if request.prediction else 0.0,
        )
        return BrainReply(
            text=self._fill(text), action="handoff", result=result, handoff_reason=reason,
            tools_called=list(turn.tools_called), usage=turn.usage_dict(),
        )  # fmt: skip

    def _tool_failure(
        self, request: BrainRequest, turn: _Turn, tool: str, error: ToolError | None = None
    ) -> BrainReply:
        kind = error.kind if error is not None else "invalid_args"
        return self._handoff(
            request, turn, HandoffReason.TOOL_FAILURE, f"tool {tool} failed ({kind})",
            self._pack.bot.persona.tool_failure,
        )  # fmt: skip

    def _format_failure(self, request: BrainRequest, turn: _Turn) -> BrainReply:
        text = self._persona.format_failure or self._pack.bot.persona.handoff
        return self._handoff(request, turn, HandoffReason.FORMAT, "the model's answer failed validation twice", text)

    def _unavailable(self, request: BrainRequest, turn: _Turn) -> BrainReply:
        result = TurnResult(
            intent=request.prediction.intent if request.prediction else OUT_OF_SCOPE,
            summary="the language model was unavailable",
            next_action="fallback",
            confidence=request.prediction.confidence if request.prediction else 0.0,
        )
        return BrainReply(
            text=self._fill(self._persona.unavailable), action="answer", result=result,
            tools_called=list(turn.tools_called), usage=turn.usage_dict(),
        )  # fmt: skip

    # --- bookkeeping -----------------------------------------------------------------------------

    def _fill(self, text: str) -> str:
        bot = self._pack.bot
        return fill_particles(text, {"brand": bot.brand, "name": bot.name}, missing=None)

    def _count(self, turn: _Turn, completion: Completion) -> None:
        turn.model_calls += 1
        turn.usage.add(completion.usage)

    def _record(self, conversation: Conversation, state: BrainState, turn: _Turn, reply: BrainReply) -> None:
        totals = state.usage
        totals.add(turn.usage)
        totals.model_calls += turn.model_calls
        totals.cache_hits += int(turn.cached)
        totals.turns += 1
        state.last_usage = dict(reply.usage)
        state.save(conversation)


class _ReplySink:
    """Raw JSON deltas in, restored reply text out to the channel's sink."""

    def __init__(self, pii: TurnPii, sink: TextSink) -> None:
        self._field = ReplyFieldStream()
        self._out = PlaceholderStream(pii.for_customer, sink, pii.scrub_refused)

    async def feed(self, delta: str) -> None:
        text = self._field.feed(delta)
        if text:
            await self._out.feed(text)

    async def flush(self) -> None:
        await self._out.flush()


def _assistant_tool_message(completion: Completion) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in completion.tool_calls
        ],
    }


def build_brain(
    config: Mapping[str, Any],
    pack: BotPack,
    tools: ToolRegistry,
    store: Store,
    env: Mapping[str, str],
) -> Brain | None:
    """The brain for `settings.brain`, or None when it is off (no API key and no base URL).

    Raises BrainConfigError / BrainPackError for invalid settings or brain.yaml (at startup).
    """
    loaded = load_brain_config(config, env)
    if loaded is None:
        return None
    brain_config, connection = loaded
    persona = load_persona(pack, brain_config.brain_file)
    openai_api = is_openai(connection.base_url)
    send_cache_key = brain_config.prompt_cache_key if brain_config.prompt_cache_key is not None else openai_api
    client = ModelClient(
        make_openai_client(brain_config, connection),
        send_prompt_cache_key=send_cache_key,
        output_cap_param="max_completion_tokens" if openai_api else "max_tokens",
    )
    toolbox = ToolBox(tools, sorted(pack.scenarios))
    return Brain(brain_config, pack, persona, toolbox, client, store)
