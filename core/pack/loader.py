"""Read a bot-pack folder into a `BotPack`, or say exactly what is wrong: file, line and fix.

`check_pack` returns every issue (warnings included); `load_pack` raises `PackError` when any of
them is an error. Only the pack folder is read.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode

from core.pack import crossref
from core.pack.errors import WARNING_PREFIX, PackError, PackIssue
from core.pack.schema import (
    BotPack,
    BotSettings,
    Escalation,
    FaqFile,
    IntentsFile,
    Lexicon,
    Order,
    OrdersFile,
    Scenario,
    ToolsFile,
)
from core.pack.structure import Checker, Located, line_of, parse_yaml

__all__ = ["PackError", "PackIssue", "check_pack", "load_pack"]

T = TypeVar("T")

_YAML_SUFFIXES = (".yaml", ".yml")
_TOP_FILES = {
    "bot.yaml": "bot settings: id, name, brand, persona texts and intent routes",
    "intents.yaml": "intents with example utterances: `intents: {id: {examples: [...]}}`",
    "faq.yaml": "FAQ entries: `faq: [{id, question, answer}, ...]`",
    "tools.yaml": "tool connectors: `tools: [{name, description, builtin or http}, ...]`",
    "escalation.yaml": "escalation rules: fallback_limit, profanity, agent_keywords, priorities",
    "lexicon.yaml": "the pack's words: `synonyms: {typed: canonical}`, `products: {id: [words]}`",
}
_REQUIRED = ("bot.yaml", "intents.yaml")
_READ_ELSEWHERE = ("brain.yaml",)  # the LLM brain's persona, validated by core/brain at startup
_FOLDERS = ["scenarios", "data"]


def load_pack(root: str | Path) -> BotPack:
    """The pack in `root`; raises `PackError` listing every error found."""
    pack, issues = _read_pack(Path(root))
    errors = [issue for issue in issues if not issue.is_warning]
    if errors or pack is None:
        raise PackError(errors)
    return pack


def check_pack(root: str | Path) -> list[PackIssue]:
    """Every problem in the pack at `root` (warnings start with "warning:"); [] when it is fine."""
    return _read_pack(Path(root))[1]


class _Reader:
    """Reads and validates the files of one pack folder, collecting issues as it goes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.issues: list[PackIssue] = []

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def node(self, path: Path) -> tuple[bool, Node | None]:
        """(readable, composed document or None when empty); a problem is recorded as an issue."""
        file = self.rel(path)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.issues.append(PackIssue(file, None, f"not UTF-8 text ({exc.reason})", "save the file as UTF-8"))
            return False, None
        except OSError as exc:
            self.issues.append(PackIssue(file, None, f"cannot read: {exc.strerror}", "check the file"))
            return False, None
        node, problems = parse_yaml(text, file)
        self.issues.extend(problems)
        return not problems, node

    def typed(self, path: Path, cls: type[T]) -> tuple[T | None, Located]:
        checker = Checker(self.rel(path))
        readable, node = self.node(path)
        if not readable:
            return None, checker.located()
        value = checker.convert(node, cls)
        self.issues.extend(checker.issues)
        return value, checker.located()

    def optional(self, name: str, cls: type[T], default: T) -> tuple[T | None, Located]:
        path = self.root / name
        if not path.is_file():
            return default, Located(name, {})
        return self.typed(path, cls)

    def required(self, name: str, cls: type[T]) -> tuple[T | None, Located]:
        path = self.root / name
        if path.is_file():
            return self.typed(path, cls)
        twin = path.with_suffix(".yml")
        fix = (
            f"rename {twin.name} to {name}"
            if twin.is_file()
            else f"create {name} with {_TOP_FILES[name]} (see bots/demo/{name})"
        )
        self.issues.append(PackIssue(name, None, f"missing {name}", fix))
        return None, Located(name, {})

    def yaml_files(self, folder: str) -> list[Path]:
        path = self.root / folder
        if not path.is_dir():
            return []
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _YAML_SUFFIXES)

    def table(self, path: Path) -> tuple[str, dict[str, dict[str, str]], int] | None:
        """(table name, rows, line) from a data file holding `{table: {KEY: {field: value}}}`."""
        checker = Checker(self.rel(path))
        readable, node = self.node(path)
        if not readable:
            return None
        rows = _table_rows(checker, node, path.stem)
        self.issues.extend(checker.issues)
        return rows


def _table_rows(checker: Checker, node: Node | None, stem: str) -> tuple[str, dict[str, dict[str, str]], int] | None:
    example = f"`{stem}:` on the first line, then `KEY:` rows with indented `field: value` lines"
    if not isinstance(node, MappingNode) or len(node.value) != 1:
        found = f"{len(node.value)} top-level keys" if isinstance(node, MappingNode) else "no mapping"
        checker.issue(
            1 if node is None else line_of(node),
            f"a data table file holds exactly one table name at the top level; found {found}",
            f"write {example}",
        )
        return None
    ((name_node, rows_node),) = list(checker.pairs(node, ()))
    name = str(name_node.value)
    if not isinstance(rows_node, MappingNode):
        checker.issue(line_of(rows_node), f"table `{name}` must map keys to rows", f"write {example}")
        return None
    rows: dict[str, dict[str, str]] = {}
    for key_node, row_node in checker.pairs(rows_node, (name,)):
        key = str(key_node.value)
        if not isinstance(row_node, MappingNode):
            checker.issue(
                line_of(row_node),
                f"row `{key}` of table `{name}` must be `field: value` lines",
                f"indent `field: value` lines under `{key}:`",
            )
            continue
        row: dict[str, str] = {}
        for field_node, value_node in checker.pairs(row_node, (name, key)):
            if not isinstance(value_node, ScalarNode):
                checker.issue(
                    line_of(value_node),
                    f"`{name}.{key}.{field_node.value}` must be a single value",
                    "write one text value (join list items into one sentence)",
                )
                continue
            # Tables are text: keep what the author wrote (`010`, `yes`), not YAML's reading of it.
            row[str(field_node.value)] = "" if checker.is_null(value_node) else str(value_node.value)
        rows[key] = row
    return name, rows, line_of(name_node)


def _read_pack(root: Path) -> tuple[BotPack | None, list[PackIssue]]:
    """The pack (None when anything is in error) and every issue found, errors first."""
    if not root.is_dir():
        return None, [PackIssue(str(root), None, "not a bot-pack folder", "pass the folder that holds bot.yaml")]
    reader = _Reader(root)
    bot, bot_at = reader.required("bot.yaml", BotSettings)
    intents_file, intents_at = reader.required("intents.yaml", IntentsFile)
    faq_file, faq_at = reader.optional("faq.yaml", FaqFile, FaqFile(faq=[]))
    tools_file, tools_at = reader.optional("tools.yaml", ToolsFile, ToolsFile(tools=[]))
    escalation, escalation_at = reader.optional("escalation.yaml", Escalation, Escalation())
    lexicon, _ = reader.optional("lexicon.yaml", Lexicon, Lexicon())
    _warn_stray_files(reader)
    scenarios = _read_scenarios(reader)
    data = _read_data(reader)

    intents = intents_file.intents if intents_file is not None else None
    tools = tools_file.tools if tools_file is not None else None
    if intents is not None:
        reader.issues.extend(crossref.check_intents(intents, intents_at))
    if faq_file is not None:
        reader.issues.extend(crossref.check_faq(faq_file.faq, faq_at, root))
        if lexicon is not None:
            reader.issues.extend(crossref.check_faq_products(faq_file.faq, faq_at, lexicon))
    if tools is not None:
        reader.issues.extend(crossref.check_tools(tools, tools_at))
    if escalation is not None:
        reader.issues.extend(crossref.check_escalation(escalation, escalation_at))
    if bot is not None:
        # A scenario file that failed to load hides its id: don't call routes to it dangling.
        known = scenarios.by_id if scenarios.complete else None
        reader.issues.extend(crossref.check_bot(bot, bot_at, intents, known))
    names = crossref.PackNames(intents, tools, set(data.tables), data.broken_tables, root)
    for scenario_id, scenario in scenarios.by_id.items():
        reader.issues.extend(crossref.check_scenario(scenario, scenarios.at[scenario_id], names))
    reader.issues.extend(_shared_triggers(scenarios, bot))

    issues = _ordered(reader.issues)
    if any(not issue.is_warning for issue in issues):
        return None, issues
    # No errors means every file loaded; the checks only satisfy the type checker.
    assert bot is not None and intents is not None and tools is not None
    assert faq_file is not None and escalation is not None and lexicon is not None
    pack = BotPack(
        root=str(root.resolve()),
        bot=bot,
        intents=intents,
        faq=faq_file.faq,
        scenarios=scenarios.by_id,
        tools=tools,
        escalation=escalation,
        lexicon=lexicon,
        orders=data.orders,
        tables=data.tables,
    )
    return pack, issues


class _Scenarios:
    def __init__(self) -> None:
        self.by_id: dict[str, Scenario] = {}
        self.at: dict[str, Located] = {}
        self.complete = True  # False when a file failed to load: its id is unknown


def _read_scenarios(reader: _Reader) -> _Scenarios:
    found = _Scenarios()
    for path in reader.yaml_files("scenarios"):
        scenario, at = reader.typed(path, Scenario)
        if scenario is None:
            found.complete = False
        elif scenario.id in found.by_id:
            reader.issues.append(
                PackIssue(
                    at.file,
                    at.line("id"),
                    f"scenario id `{scenario.id}` is already used by {found.at[scenario.id].file}",
                    "give each scenario its own `id`",
                )
            )
        else:
            found.by_id[scenario.id] = scenario
            found.at[scenario.id] = at
    return found


class _Data:
    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.tables: dict[str, dict[str, dict[str, str]]] = {}
        self.table_files: dict[str, str] = {}
        self.broken_tables: set[str] = set()  # file stems of tables that failed to load


def _read_data(reader: _Reader) -> _Data:
    """data/orders.yaml is the order list; every other data file holds one lookup table."""
    data = _Data()
    for path in reader.yaml_files("data"):
        if path.stem == "orders":
            orders_file, orders_at = reader.typed(path, OrdersFile)
            if orders_file is not None:
                data.orders = orders_file.orders
                reader.issues.extend(crossref.check_orders(data.orders, orders_at))
            continue
        found = reader.table(path)
        if found is None:
            data.broken_tables.add(path.stem)
            continue
        name, rows, line = found
        if name in data.tables:
            reader.issues.append(
                PackIssue(
                    reader.rel(path),
                    line,
                    f"table `{name}` is already defined in {data.table_files[name]}",
                    "rename the table or merge the two files",
                )
            )
            continue
        data.tables[name] = rows
        data.table_files[name] = reader.rel(path)
    return data


def _warn_stray_files(reader: _Reader) -> None:
    """A misnamed top-level file (`faqs.yaml`) would otherwise be ignored without a word."""
    for path in sorted(reader.root.iterdir()):
        if path.is_dir() and path.name not in _FOLDERS:
            close = difflib.get_close_matches(path.name, _FOLDERS, n=1, cutoff=0.75)
            if close:  # other folders (images, docs) are fine; `scenario/` is a typo
                reader.issues.append(
                    PackIssue(
                        f"{path.name}/",
                        None,
                        f"{WARNING_PREFIX}folder is not read",
                        f"rename it to {close[0]}/",
                    )
                )
            continue
        if not path.is_file() or path.suffix not in _YAML_SUFFIXES:
            continue
        if path.name in _TOP_FILES or path.name in _READ_ELSEWHERE:
            continue
        if path.with_suffix(".yaml").name in _REQUIRED:
            continue  # reported as missing with a rename fix
        stems = {name.removesuffix(".yaml"): name for name in [*_TOP_FILES, *_READ_ELSEWHERE]}
        close = difflib.get_close_matches(path.stem, list(stems), n=1, cutoff=0.7)
        fix = (
            f"rename it to {stems[close[0]]}"
            if close
            else "move it into scenarios/ or data/, or delete it (pack files: "
            + ", ".join(sorted(stems.values()))
            + ")"
        )
        reader.issues.append(
            PackIssue(reader.rel(path), None, f"{WARNING_PREFIX}not a bot-pack file; it is ignored", fix)
        )


def _shared_triggers(scenarios: _Scenarios, bot: BotSettings | None) -> list[PackIssue]:
    """An intent that triggers two scenarios starts only the first; say so."""
    owner: dict[str, str] = {}
    issues: list[PackIssue] = []
    for scenario_id, scenario in scenarios.by_id.items():
        at = scenarios.at[scenario_id]
        for index, intent in enumerate(scenario.triggers):
            if bot is not None and intent in bot.routes and bot.routes[intent].scenario != scenario_id:
                issues.append(
                    PackIssue(
                        at.file,
                        at.line("triggers", index),
                        f"{WARNING_PREFIX}intent `{intent}` has a route in bot.yaml, so this trigger is never used",
                        f"remove the trigger or the `routes: {intent}:` entry in bot.yaml",
                    )
                )
            elif intent in owner and owner[intent] != scenario_id:
                issues.append(
                    PackIssue(
                        at.file,
                        at.line("triggers", index),
                        f"{WARNING_PREFIX}intent `{intent}` already triggers scenario `{owner[intent]}`",
                        "keep the trigger in one scenario only",
                    )
                )
            owner.setdefault(intent, scenario_id)
    return issues


def _ordered(issues: list[PackIssue]) -> list[PackIssue]:
    """Errors first, then by file and line, so the first line printed is the first thing to fix."""
    return sorted(issues, key=lambda i: (i.is_warning, i.file, i.line or 0))
