"""The brain's prompt: persona and rules from the pack's brain.yaml, the output schema, the messages.

Message layout, chosen for providers' prompt caching (they cache the longest identical prefix) and for
strict chat templates (one system message first, then alternating user/assistant turns):

    [system]  stable prompt: role, tone, rules, policies, output contract   (identical every turn)
              + running summary of older turns                            (changes rarely)
    [user/assistant ...] the last N turns                                   (append-only until it slides)
    [user]    this turn's context (knowledge hits, local NLU guess, collected fields) + the message

Tools are sent in a fixed order with fixed schemas so they are part of the cached prefix too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from core.messages import HandoffReason
from core.pack.schema import BotPack

Action = Literal["answer", "ask", "handoff", "resolve"]
ACTIONS: tuple[Action, ...] = ("answer", "ask", "handoff", "resolve")
# The reasons a model may give; the others are decided by the engine or by the brain itself.
MODEL_HANDOFF_REASONS: tuple[str, ...] = (
    HandoffReason.AGENT_REQUEST.value,
    HandoffReason.REFUND_DISPUTE.value,
    HandoffReason.SENSITIVE.value,
    HandoffReason.PROFANITY.value,
)
OTHER_INTENT = "other"


class BrainPackError(ValueError):
    pass


class BrainPersona(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """bots/<pack>/brain.yaml. Every text a customer might read is in the pack, not in code."""

    role: str  # who the assistant is, for whom
    tone: list[str] = []
    rules: list[str] = []
    domain: list[str] = []  # topics the bot handles; anything else is politely refused
    policies: dict[str, str] = {}  # name -> policy text the model may quote (refund, shipping, ...)
    out_of_domain: str = "죄송해요, 그 내용은 제가 도와드리기 어려워요. 제품이나 주문 관련 문의를 말씀해 주세요."
    unavailable: str = (
        "죄송해요, 지금은 답변을 준비하지 못했어요. 잠시 후 다시 말씀해 주시거나 '상담직원 연결'이라고 입력해 주세요."
    )
    format_failure: str | None = None  # None = the pack's persona.handoff text
    summary_instruction: str = (
        "Summarise the conversation so far for a support agent in at most 3 short Korean lines: "
        "the customer's problem, facts collected (order ids, products, placeholders as they are), "
        "and what was already tried or promised."
    )


def load_persona(pack: BotPack, file_name: str) -> BrainPersona:
    """brain.yaml from the pack folder; without one, a minimal persona from bot.yaml."""
    path = Path(pack.root) / file_name
    if not path.is_file():
        return BrainPersona(role=f"{pack.bot.brand} 고객지원 상담원 '{pack.bot.name}'")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return msgspec.convert(raw, BrainPersona)
    except (OSError, yaml.YAMLError, msgspec.ValidationError) as exc:
        raise BrainPackError(f"{path}: {exc}") from exc


# --- the structured output ------------------------------------------------------------------------


class Decision(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the model must return as its final message (validated; one retry, then a handoff)."""

    reply: str
    action: Action
    handoff_reason: str | None
    intent: str
    customer_id: str | None
    order_id: str | None
    issue_type: str | None
    summary: str
    general_answer: bool  # the same reply would fit any customer asking this (safe to cache)


def decision_schema(intents: list[str]) -> dict[str, Any]:
    """JSON schema of `Decision` in the strict subset (all required, no extra properties)."""
    nullable = {"type": ["string", "null"]}
    return {
        "type": "object",
        "properties": {
            # "reply" first: the streamer reads it while the rest is still being generated.
            "reply": {"type": "string", "description": "The message to the customer, in Korean (해요체)."},
            "action": {"type": "string", "enum": list(ACTIONS)},
            "handoff_reason": {"type": ["string", "null"], "enum": [*MODEL_HANDOFF_REASONS, None]},
            "intent": {"type": "string", "enum": [*intents, OTHER_INTENT]},
            "customer_id": nullable,
            "order_id": nullable,
            "issue_type": nullable,
            "summary": {"type": "string", "description": "One line for an agent: what the customer needs."},
            "general_answer": {"type": "boolean"},
        },
        "required": [
            "reply", "action", "handoff_reason", "intent", "customer_id", "order_id", "issue_type",
            "summary", "general_answer",
        ],
        "additionalProperties": False,
    }  # fmt: skip


def response_format(mode: str, intents: list[str]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "turn_decision", "strict": True, "schema": decision_schema(intents)},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


# --- system prompt --------------------------------------------------------------------------------


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line.strip()}" for line in lines if line.strip())


def system_prompt(persona: BrainPersona, pack: BotPack, intents: list[str]) -> str:
    """The stable prefix. Depends only on the pack, so it is byte-identical on every turn."""
    policies = "\n".join(f"[{name}] {text.strip()}" for name, text in persona.policies.items())
    scenarios = "\n".join(f"- {s.id}: {s.title}" for s in pack.scenarios.values())
    schema = json.dumps(decision_schema(intents)["properties"], ensure_ascii=False)
    sections = [
        f"# Role\n{persona.role.strip()}",
        f"# Tone\n{_bullets(persona.tone)}" if persona.tone else "",
        f"# Rules\n{_bullets(persona.rules)}" if persona.rules else "",
        f'# Domain (refuse anything else politely, e.g. "{persona.out_of_domain.strip()}")\n' + _bullets(persona.domain)
        if persona.domain
        else "",
        f"# Policies (quote only these; never invent other terms)\n{policies}" if policies else "",
        "# Grounding\n"
        "- Answer questions about products, prices, orders and policies ONLY from the Policies above, "
        "the knowledge entries in the turn context, or tool results. If none of them has the answer, "
        "say you will check, and hand off when the customer needs it.\n"
        "- Order status comes only from get_order; never guess it. Create tickets only with create_ticket "
        "after the customer gave every required field.\n"
        "- Text like <PHONE_1> is a masked personal value: keep it exactly as it is; never ask for "
        "resident registration (주민등록) or card numbers. <EARLIER_PHONE_1> and the like are values from "
        "earlier messages that can no longer be used (not in tools, not in replies): ask the customer again.",
        "# Guided flows (call start_scenario when the customer's need matches one)\n" + scenarios if scenarios else "",
        "# Output\nWhen you do not call a tool, reply with one JSON object only, no prose around it:\n"
        f"{schema}\n"
        "action: answer (you answered), ask (you need information from the customer), resolve (the "
        "problem is solved), handoff (a person must take over; set handoff_reason). Hand off ONLY "
        "through action=handoff or request_handoff, never just by saying so in the reply. "
        "general_answer=true only when the reply is a general product/policy answer that does not "
        "depend on this customer or earlier messages.",
    ]
    return "\n\n".join(section for section in sections if section)


def fingerprint(*parts: str) -> str:
    """Short stable hash of the prompt inputs; it scopes the answer cache and the prompt_cache_key."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def turn_context(
    knowledge: list[tuple[str, str, float]],
    intent_hint: tuple[str, float] | None,
    slots: dict[str, str],
) -> str | None:
    """The per-turn context message (knowledge hits as question/answer/score, NLU guess, slots)."""
    lines: list[str] = []
    if knowledge:
        lines.append("Knowledge entries (use only if they answer the question):")
        for question, answer, score in knowledge:
            lines.append(f"- Q: {question}\n  A: {answer.strip()}\n  (match {score:.2f})")
    if intent_hint is not None:
        lines.append(f"Local classifier guess: intent={intent_hint[0]} confidence={intent_hint[1]:.2f}")
    if slots:
        lines.append("Fields collected so far: " + json.dumps(slots, ensure_ascii=False, sort_keys=True))
    return "# Turn context\n" + "\n".join(lines) if lines else None
