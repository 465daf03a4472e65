"""Tools the engine may call: a name, a JSON schema for the arguments, an async function, a time limit.

The registry validates arguments, enforces the time limit and turns every failure into a ToolError whose
message is safe to log: it names the tool, the argument path and the kind of problem, never argument
values (they may be personal data) and never a stack trace. The original exception is chained.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

ToolErrorKind = Literal["not_found", "invalid_args", "timeout", "failed"]
ToolFunc = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ToolError(Exception):
    def __init__(self, tool: str, kind: ToolErrorKind, message: str) -> None:
        super().__init__(message)
        self.tool = tool
        self.kind: ToolErrorKind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    func: ToolFunc
    timeout_s: float = 3.0


# --- argument validation (the JSON-schema subset bot packs use) ----------------------------------

_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    # bool is an int in Python but not in JSON
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_errors(schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    """Problems of `value` against `schema`, each "<path>: <problem>"; empty when valid."""
    expected = schema.get("type")
    if expected is not None:
        types = [expected] if isinstance(expected, str) else list(expected)
        unknown = [t for t in types if t not in _TYPE_CHECKS]
        if unknown:
            return [f"{path}: schema uses unsupported type {unknown[0]!r}"]
        if not any(_TYPE_CHECKS[t](value) for t in types):
            return [f"{path}: expected {' or '.join(types)}, got {_json_type(value)}"]

    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: must be one of {schema['enum']}")
    if isinstance(value, str):
        errors += _string_errors(schema, value, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: must be at most {schema['maximum']}")
    elif isinstance(value, dict):
        errors += _object_errors(schema, value, path)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            errors += schema_errors(schema["items"], item, f"{path}[{i}]")
    return errors


def _string_errors(schema: dict[str, Any], value: str, path: str) -> list[str]:
    errors = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']} characters")
    # JSON-schema patterns are unanchored, hence search()
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        errors.append(f"{path}: does not match pattern {schema['pattern']!r}")
    return errors


def _object_errors(schema: dict[str, Any], value: dict[str, Any], path: str) -> list[str]:
    errors = []
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"{path}.{name}: required property missing")
    for name, item in value.items():
        if name in properties:
            errors += schema_errors(properties[name], item, f"{path}.{name}")
        elif schema.get("additionalProperties") is False:
            errors.append(f"{path}.{name}: unexpected property")
        elif isinstance(schema.get("additionalProperties"), dict):
            errors += schema_errors(schema["additionalProperties"], item, f"{path}.{name}")
    return errors


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPE_CHECKS[name](value):
            return name
    return type(value).__name__


# --- the registry --------------------------------------------------------------------------------


class ToolRegistry:
    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools or []:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError(name, "not_found", f"no tool named {name!r}") from None

    def names(self) -> list[str]:
        return list(self._tools)

    def tools(self) -> list[Tool]:
        return list(self._tools.values())

    async def call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        tool = self.get(name)
        if not isinstance(args, dict):
            errors = [f"$: expected object, got {_json_type(args)}"]
        else:
            errors = schema_errors(tool.input_schema, args) if tool.input_schema else []
        if errors:
            raise ToolError(name, "invalid_args", f"invalid arguments for tool {name!r}: " + "; ".join(errors))
        try:
            async with asyncio.timeout(tool.timeout_s) as deadline:
                result = await tool.func(dict(args))
        except ToolError as exc:
            raise exc if exc.tool == name else ToolError(name, exc.kind, exc.message) from exc
        except TimeoutError as exc:
            if deadline.expired():
                raise ToolError(name, "timeout", f"tool {name!r} took longer than {tool.timeout_s} s") from exc
            raise ToolError(name, "failed", f"tool {name!r} failed (TimeoutError)") from exc
        except Exception as exc:
            raise ToolError(name, "failed", f"tool {name!r} failed ({type(exc).__name__})") from exc
        if not isinstance(result, dict):
            raise ToolError(name, "failed", f"tool {name!r} returned {type(result).__name__}, not an object")
        return result
