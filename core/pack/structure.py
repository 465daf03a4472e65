"""YAML text → plain data checked against a schema Struct, with every problem tied to a line.

msgspec stops at the first error and names dict keys as `[...]`, so the composed YAML node tree
is walked against `msgspec.inspect.type_info` instead: all problems are found, each at its own
line, and the data handed to `msgspec.convert` afterwards is already known to fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

import msgspec
import msgspec.inspect as mi
import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.pack.errors import PackIssue, did_you_mean

T = TypeVar("T")
PathKey = tuple[str | int, ...]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PackYamlLoader(_BaseLoader):
    """Safe loader that keeps dates as text: `ordered_at: 2024-05-01` is a string in the schema."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _Bad:
    """Marks a value that failed validation (its issue is already recorded)."""


BAD = _Bad()


class Located(msgspec.Struct):
    """Lines of the keys in one file, by path, so later checks can point at them."""

    file: str
    lines: dict[PathKey, int]
    broken: set[PathKey] = set()  # paths with a structural issue: later checks stay quiet there

    def line(self, *path: str | int) -> int | None:
        """Line of the deepest recorded prefix of `path` (the key itself when recorded)."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def is_broken(self, *path: str | int) -> bool:
        """True when `path`, something inside it or something around it already has an issue."""
        return any(b[: len(path)] == path or path[: len(b)] == b for b in self.broken)


def parse_yaml(text: str, file: str) -> tuple[Node | None, list[PackIssue]]:
    """Compose one YAML document; a syntax error becomes an issue at its line."""
    loader = _PackYamlLoader(text)
    try:
        return loader.get_single_node(), []
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_issue(exc, text, file)]
    except yaml.YAMLError as exc:
        return None, [PackIssue(file, None, f"YAML error: {exc}", "check the file's YAML syntax")]
    finally:
        loader.dispose()


def _syntax_issue(exc: yaml.MarkedYAMLError, text: str, file: str) -> PackIssue:
    problem = " ".join(part for part in (exc.context, exc.problem) if part)
    # An unclosed `[`, `{` or quote is noticed far below; the line that opened it is the one to fix.
    unclosed = (exc.context or "").startswith(("while parsing a flow", "while scanning a quoted"))
    mark = exc.context_mark if unclosed and exc.context_mark else exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    lines = text.splitlines()
    source = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    fix = (
        "close the bracket or quote opened on this line, or put the whole text in quotes"
        if unclosed
        else _syntax_fix(problem, source)
    )
    return PackIssue(file, line, f"YAML syntax error: {problem}", fix)


def _syntax_fix(problem: str, source: str) -> str:
    if "\t" in source or "'\\t'" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return 'put the value in quotes (text containing `: ` must be quoted, e.g. `say: "안내: ..."`)'
    if "expected a single document" in problem:
        return "keep one document per file: remove the extra `---` line"
    if ": {" in source or ": [" in source:
        return 'quote text that starts with `{` or `[`, e.g. `say: "{name}님 안녕하세요"`'
    if "found undefined alias" in problem:
        return "define the `&anchor` before using `*anchor`, or quote the text starting with `*`"
    return "check indentation and quoting on this line and the one before it"


def line_of(node: Node) -> int:
    mark = node.start_mark
    return 1 if mark is None else int(mark.line) + 1  # no mark: the empty document put in for a blank file


def dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "the top level"


class Checker:
    """Walks one file's node tree against a schema type, collecting issues and key lines."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[PackIssue] = []
        self.lines: dict[PathKey, int] = {(): 1}
        self.broken: set[PathKey] = set()
        self._constructor = SafeConstructor()

    def issue(self, line: int | None, message: str, fix: str) -> None:
        self.issues.append(PackIssue(self.file, line, message, fix))

    def located(self) -> Located:
        return Located(self.file, self.lines, self.broken)

    def convert(self, node: Node | None, cls: type[T]) -> T | None:
        """The Struct for `node`, or None when required parts are broken (issues in `self.issues`).

        With issues recorded, the result (bad fields left out) only feeds the cross-file checks so
        one run reports as much as it can; the loader never builds a pack from it.
        """
        empty = MappingNode("tag:yaml.org,2002:map", [])
        data = self.value(node if node is not None else empty, mi.type_info(cls), ())
        if data is BAD:
            return None
        try:
            return msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            if not self.issues:  # the walk missed something: still report it, never crash
                self.issue(1, f"invalid content: {exc}", "fix the field named in the message")
            return None

    # --- one node against one type --------------------------------------------------------------

    def value(self, node: Node, t: mi.Type, path: PathKey) -> Any:
        result = self._value(node, t, path)
        if result is BAD:
            self.broken.add(path)
        return result

    def _value(self, node: Node, t: mi.Type, path: PathKey) -> Any:
        if isinstance(t, mi.UnionType):
            return self._union(node, t, path)
        if isinstance(t, mi.StructType):
            return self._struct(node, t, path)
        if isinstance(t, mi.DictType):
            return self._dict(node, t, path)
        if isinstance(t, mi.ListType):
            return self._list(node, t, path)
        if isinstance(t, mi.AnyType):
            return self.plain(node)
        return self._scalar(node, t, path)

    def _union(self, node: Node, t: mi.UnionType, path: PathKey) -> Any:
        options = [option for option in t.types if not isinstance(option, mi.NoneType)]
        if self.is_null(node) and len(options) < len(t.types):
            return None
        if len(options) == 1:
            return self.value(node, options[0], path)
        return self.plain(node)  # no such union in the schema today; msgspec.convert judges it

    def _struct(self, node: Node, t: mi.StructType, path: PathKey) -> Any:
        if not isinstance(node, MappingNode):
            return self._wrong_kind(node, "a mapping (`key: value` lines)", path)
        fields = {field.encode_name: field for field in t.fields}
        out: dict[str, Any] = {}
        for key_node, value_node in self.pairs(node, path):
            key = key_node.value
            field = fields.get(key)
            if field is None:
                self._unknown_field(key, key_node, t, path)
                continue
            if self.is_null(value_node) and not field.required:
                continue  # `choices:` left empty means the default
            child = self.value(value_node, field.type, (*path, key))
            if child is not BAD:
                out[key] = child
        missing = [
            name
            for name, field in fields.items()
            if field.required and name not in out and not self._has_key(node, name)
        ]
        if missing:
            self._mark_broken(path)
            names = ", ".join(f"`{name}`" for name in missing)
            plural = "s" if len(missing) > 1 else ""
            self.issue(
                self._anchor_line(node, path),
                f"{self._subject(path)} is missing required field{plural} {names}",
                f"add {', '.join(f'`{name}: ...`' for name in missing)} {self._under(path)}",
            )
        return out

    def _dict(self, node: Node, t: mi.DictType, path: PathKey) -> Any:
        if not isinstance(node, MappingNode):
            return self._wrong_kind(node, "a mapping (`key: value` lines)", path)
        out: dict[str, Any] = {}
        for key_node, value_node in self.pairs(node, path):
            child = self.value(value_node, t.value_type, (*path, key_node.value))
            if child is not BAD:
                out[key_node.value] = child
        return out

    def _list(self, node: Node, t: mi.ListType, path: PathKey) -> Any:
        if not isinstance(node, SequenceNode):
            return self._wrong_kind(node, "a list (one `- item` per line)", path)
        out: list[Any] = []
        for index, item in enumerate(node.value):
            self.lines.setdefault((*path, index), line_of(item))
            child = self.value(item, t.item_type, (*path, index))
            if child is not BAD:
                out.append(child)
        return out

    def _scalar(self, node: Node, t: mi.Type, path: PathKey) -> Any:
        if isinstance(t, mi.LiteralType):
            return self._literal(node, t, path)
        wanted, ok = _SCALARS.get(type(t), ("a value", lambda _v: True))
        if not isinstance(node, ScalarNode):
            return self._wrong_kind(node, wanted, path)
        value = self.plain(node)
        if value is BAD:
            return BAD
        if value is None:
            self.issue(line_of(node), f"`{dotted(path)}` is empty", f"give `{self._leaf(path)}` {wanted}")
            return BAD
        if not ok(value):
            self.issue(
                line_of(node),
                f"`{dotted(path)}` must be {wanted}, got {_describe(node)}",
                _type_fix(t, node, self._leaf(path)),
            )
            return BAD
        return value

    def _literal(self, node: Node, t: mi.LiteralType, path: PathKey) -> Any:
        allowed = [str(v) for v in t.values]
        if not isinstance(node, ScalarNode):
            return self._wrong_kind(node, f"one of: {', '.join(allowed)}", path)
        if node.value in t.values:
            return node.value
        self.issue(
            line_of(node),
            f"`{dotted(path)}: {node.value}` is not an allowed value",
            did_you_mean(str(node.value), allowed, "allowed values"),
        )
        return BAD

    # --- helpers ---------------------------------------------------------------------------------

    def pairs(self, node: MappingNode, path: PathKey) -> Iterator[tuple[ScalarNode, Node]]:
        """Key/value pairs, `<<: *anchor` merges applied; records key lines, reports odd/repeated keys."""
        merged = {str(key.value): (key, value) for key, value in self._merged_in(node, set())}
        own: list[tuple[ScalarNode, Node]] = []
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if _is_merge(key_node):
                continue
            if not isinstance(key_node, ScalarNode):
                self.broken.add(path)
                self.issue(line_of(key_node), "a key must be plain text", "write the key as one word")
                continue
            key = str(key_node.value)
            if key in seen:
                self.broken.add((*path, key))
                self.issue(
                    line_of(key_node),
                    f"duplicate key `{key}` {self._where(path)} (first on line {seen[key]})",
                    "remove or rename one of them; YAML would silently keep only the last",
                )
                continue
            seen[key] = line_of(key_node)
            merged.pop(key, None)  # a key written here overrides the merged one
            own.append((key_node, value_node))
        for key_node, value_node in [*merged.values(), *own]:
            self.lines[(*path, str(key_node.value))] = line_of(key_node)
            yield key_node, value_node

    def _merged_in(self, node: MappingNode, visiting: set[int]) -> list[tuple[ScalarNode, Node]]:
        """Pairs brought in by `<<:`; with a list of anchors the earlier one wins, as in PyYAML."""
        if id(node) in visiting:  # an anchor merged into itself
            return []
        visiting = visiting | {id(node)}
        result: dict[str, tuple[ScalarNode, Node]] = {}
        for key_node, value_node in node.value:
            if not _is_merge(key_node):
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in reversed(sources):
                if not isinstance(source, MappingNode):
                    self.issue(
                        line_of(source),
                        "`<<:` can only merge a mapping",
                        "point `<<:` at a mapping anchor, e.g. `<<: *common`",
                    )
                    continue
                inner = {str(k.value): (k, v) for k, v in self._merged_in(source, visiting)}
                for k, v in source.value:
                    if isinstance(k, ScalarNode) and not _is_merge(k):
                        inner[str(k.value)] = (k, v)
                result.update(inner)
        return list(result.values())

    def plain(self, node: Node) -> Any:
        """The node as plain Python data, or BAD (issue recorded) for an unknown tag and the like."""
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = mark.line + 1 if mark is not None else line_of(node)
            self.issue(line, f"YAML error: {exc.problem}", "remove the `!tag` or quote the value")
            return BAD

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    def _has_key(self, node: MappingNode, name: str) -> bool:
        return any(isinstance(k, ScalarNode) and k.value == name for k, _ in node.value)

    def _unknown_field(self, key: str, key_node: Node, t: mi.StructType, path: PathKey) -> None:
        allowed = [field.encode_name for field in t.fields]
        home = _nested_home(key, t)
        fix = (
            f"`{key}` belongs under `{home}:` — move it there" if home else did_you_mean(key, allowed, "allowed fields")
        )
        self._mark_broken(path)
        self.issue(line_of(key_node), f"unknown field `{key}` {self._where(path)}", fix)

    def _wrong_kind(self, node: Node, wanted: str, path: PathKey) -> _Bad:
        got = _describe(node)
        name = self._leaf(path)
        if not path:
            fix = f"write the file as {wanted} at the top level"
        elif isinstance(node, MappingNode) and node.flow_style and "mapping" not in wanted:
            fix = f'put the text in quotes: `{name}: "{{...}}"` (unquoted `{{...}}` is a YAML mapping)'
        elif "list" in wanted:
            fix = f"write `{name}:` followed by one `- item` per line"
        elif "mapping" in wanted:
            fix = f"write `{name}:` followed by indented `key: value` lines"
        else:
            fix = f"give `{name}` {wanted}"
        self.issue(line_of(node), f"{self._subject(path)} must be {wanted}, got {got}", fix)
        return BAD

    def _mark_broken(self, path: PathKey) -> None:
        # A stray or missing top-level field says nothing about the steps: keep checking them.
        if path:
            self.broken.add(path)

    def _anchor_line(self, node: Node, path: PathKey) -> int:
        return self.lines.get(path, line_of(node)) if path else line_of(node)

    def _where(self, path: PathKey) -> str:
        return f"in `{dotted(path)}`" if path else "at the top level"

    def _subject(self, path: PathKey) -> str:
        return f"`{dotted(path)}`" if path else "the file"

    def _under(self, path: PathKey) -> str:
        if not path:
            return "at the top level of the file"
        if isinstance(path[-1], int):
            return f"to item {path[-1] + 1} of `{dotted(path[:-1])}`"
        return f"under `{path[-1]}:`"

    def _leaf(self, path: PathKey) -> str:
        for part in reversed(path):
            if isinstance(part, str):
                return part
        return "it"


def _is_merge(key: Node) -> bool:
    return isinstance(key, ScalarNode) and key.tag == "tag:yaml.org,2002:merge"


def _nested_home(key: str, t: mi.StructType) -> str | None:
    """The field of `t` whose own struct defines `key` (`reprompt` written beside `ask:`)."""
    for field in t.fields:
        inner = field.type
        if isinstance(inner, mi.UnionType):
            inner = next((o for o in inner.types if isinstance(o, mi.StructType | mi.ListType)), inner)
        if isinstance(inner, mi.ListType):
            inner = inner.item_type
        if isinstance(inner, mi.StructType) and any(f.encode_name == key for f in inner.fields):
            return field.encode_name
    return None


def _describe(node: Node) -> str:
    """What the author wrote, as YAML reads it (from the resolved tag, without constructing it)."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if not str(node.tag).startswith("tag:yaml.org,2002:"):
        return f"`{node.tag} {node.value}` (custom YAML tags are not supported)"
    kind = str(node.tag).rsplit(":", 1)[-1]
    if kind == "null":
        return "an empty value"
    if kind == "bool":
        return f"`{node.value}` (YAML reads it as true/false)"
    if kind in ("int", "float"):
        return f"the number {node.value}"
    return f"the text `{node.value}`"


def _type_fix(t: mi.Type, node: Node, name: str) -> str:
    if isinstance(t, mi.StrType):
        return f'put the value in quotes: `{name}: "{node.value}"`'
    if isinstance(t, mi.BoolType):
        return f"write `{name}: true` or `{name}: false`"
    if isinstance(t, mi.IntType):
        return f"write a whole number without quotes, e.g. `{name}: 2`"
    return f"write a number without quotes, e.g. `{name}: 3.0`"


_SCALARS: dict[type, tuple[str, Any]] = {
    mi.StrType: ("text", lambda v: isinstance(v, str)),
    mi.IntType: ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    mi.FloatType: ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    mi.BoolType: ("true or false", lambda v: isinstance(v, bool)),
}
