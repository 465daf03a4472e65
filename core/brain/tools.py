"""Function-calling adapter over the ToolRegistry.

Exposes the registry's tools plus two brain-only tools, `start_scenario` (scenario ids as an enum) and
`request_handoff` (reason enum), with strict JSON schemas: every object closes its properties and lists
all of them as required, optional ones become nullable (nulls are dropped again before the registry
validates). Keywords outside the strict subset are removed from what the model sees; the registry still
enforces the original schema.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from core.brain.prompt import MODEL_HANDOFF_REASONS
from core.policy.pii import mask_pii
from core.tools.registry import Tool, ToolError, ToolRegistry

START_SCENARIO = "start_scenario"
REQUEST_HANDOFF = "request_handoff"
_NAME_OK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Keywords OpenAI's strict mode accepts besides the structural ones.
_STRICT_KEEP = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "description",
    "anyOf", "$defs", "$ref", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
}  # fmt: skip


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` in the strict subset; optional properties become nullable."""
    out = {k: copy.deepcopy(v) for k, v in schema.items() if k in _STRICT_KEEP}
    if out.get("type") == "object" or "properties" in out:
        out["type"] = "object"
        props: dict[str, Any] = out.get("properties", {})
        required = set(out.get("required", []))
        new_props: dict[str, Any] = {}
        for name, sub in props.items():
            strict_sub = strict_schema(sub) if isinstance(sub, dict) else {}
            if name not in required:
                strict_sub = _nullable(strict_sub)
            new_props[name] = strict_sub
        out["properties"] = new_props
        out["required"] = list(new_props)
        out["additionalProperties"] = False
    elif out.get("type") == "array" and isinstance(out.get("items"), dict):
        out["items"] = strict_schema(out["items"])
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def example_safe(value: Any) -> Any:
    """Tool texts with example numbers ("e.g. 010-1234-5678") turned into placeholder shapes.

    The model only ever sees personal values as placeholders, so that is also the right example; and a
    number that looks personal never goes out, whoever wrote it.
    """
    if isinstance(value, str):
        result = mask_pii(value)
        if not result.findings:
            return value
        pieces, cursor = [], 0
        for finding in result.findings:
            pieces += [value[cursor : finding.start], f"<{finding.kind.value}_n>"]
            cursor = finding.end
        return "".join(pieces) + value[cursor:]
    if isinstance(value, dict):
        return {k: example_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [example_safe(v) for v in value]
    return value


def _function(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": example_safe(description),
            "parameters": example_safe(parameters),
            "strict": True,
        },
    }


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The result of one tool call as the brain sees it."""

    content: str  # JSON text for the model (masking happens in the caller)
    error: ToolError | None = None  # set when the call failed


class ToolBox:
    """The tools one pack exposes to the model, and the calls into the registry."""

    def __init__(self, registry: ToolRegistry, scenario_ids: list[str]) -> None:
        self._registry = registry
        self._scenario_ids = scenario_ids
        self._by_model_name: dict[str, Tool] = {}
        for tool in registry.tools():
            if tool.name in (START_SCENARIO, REQUEST_HANDOFF) or not _NAME_OK.match(tool.name):
                continue  # the brain's own names win; unusable names are not exposed
            self._by_model_name[tool.name] = tool
        self.specs = self._build_specs()

    def _build_specs(self) -> list[dict[str, Any]]:
        specs = [
            _function(tool.name, tool.description, strict_schema(tool.input_schema or {"type": "object"}))
            for tool in self._by_model_name.values()
        ]
        if self._scenario_ids:
            specs.append(
                _function(
                    START_SCENARIO,
                    "Start a guided troubleshooting/after-sales flow that matches the customer's need. "
                    "The flow then asks its own questions; do not answer in the same turn.",
                    {
                        "type": "object",
                        "properties": {"scenario_id": {"type": "string", "enum": list(self._scenario_ids)}},
                        "required": ["scenario_id"],
                        "additionalProperties": False,
                    },
                )
            )
        specs.append(
            _function(
                REQUEST_HANDOFF,
                "Hand the conversation to a human agent: the customer asks for a person, disputes a refund, "
                "the matter is sensitive, or the customer is abusive.",
                {
                    "type": "object",
                    "properties": {
                        "reason": {"type": "string", "enum": list(MODEL_HANDOFF_REASONS)},
                        "summary": {"type": "string", "description": "One line for the agent."},
                    },
                    "required": ["reason", "summary"],
                    "additionalProperties": False,
                },
            )
        )
        return specs

    async def call(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        """Run a registry tool (its own time limit applies); failures come back as `error`."""
        tool = self._by_model_name.get(name)
        if tool is None:
            return ToolOutcome(content="", error=ToolError(name, "not_found", f"no tool named {name!r}"))
        props = (tool.input_schema or {}).get("properties", {})
        required = set((tool.input_schema or {}).get("required", []))
        # Strict mode made optional arguments nullable; null means "not given".
        clean = {k: v for k, v in args.items() if not (v is None and k in props and k not in required)}
        try:
            result = await self._registry.call(tool.name, clean)
        except ToolError as exc:
            return ToolOutcome(content="", error=exc)
        return ToolOutcome(content=json.dumps(result, ensure_ascii=False, default=str))
