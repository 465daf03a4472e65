"""Checks across a pack's files once each file fits the schema: every name points at something real."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from core.messages import HandoffReason
from core.pack.errors import WARNING_PREFIX, PackIssue, did_you_mean
from core.pack.media import MEDIA_DIR, media_problem
from core.pack.schema import (
    BotSettings,
    Escalation,
    FaqEntry,
    IntentSpec,
    Lexicon,
    Order,
    Scenario,
    Step,
    ToolSpec,
)
from core.pack.structure import Located

MIN_EXAMPLES = 3
_HANDOFF_REASONS = [reason.value for reason in HandoffReason]
_CONTINUATIONS = ("choices", "ask", "lookup", "tool", "next", "end")


def check_intents(intents: dict[str, IntentSpec], at: Located) -> Iterator[PackIssue]:
    owner: dict[str, str] = {}
    for intent_id, spec in intents.items():
        if len(spec.examples) < MIN_EXAMPLES:
            yield PackIssue(
                at.file,
                at.line("intents", intent_id),
                f"intent `{intent_id}` has {len(spec.examples)} example(s); at least {MIN_EXAMPLES} needed",
                f"add {MIN_EXAMPLES - len(spec.examples)} more ways a customer says it under `{intent_id}: examples:`",
            )
        for index, example in enumerate(spec.examples):
            text = " ".join(example.split())
            if not text:
                yield PackIssue(
                    at.file,
                    at.line("intents", intent_id, "examples", index),
                    f"intent `{intent_id}` has an empty example",
                    "remove the empty `- ` line",
                )
            elif text in owner and owner[text] != intent_id:
                yield PackIssue(
                    at.file,
                    at.line("intents", intent_id, "examples", index),
                    f"{WARNING_PREFIX}example `{text}` is in both `{owner[text]}` and `{intent_id}`",
                    "keep it in the one intent it belongs to",
                )
            owner.setdefault(text, intent_id)


def check_faq(faq: list[FaqEntry], at: Located, root: Path | None = None) -> Iterator[PackIssue]:
    """`root` (the pack folder) lets pack-relative `image_url: media/...` values be checked."""
    first: dict[str, int] = {}
    for index, entry in enumerate(faq):
        line = at.line("faq", index, "id")
        if entry.id in first:
            yield PackIssue(
                at.file,
                line,
                f"FAQ id `{entry.id}` is used twice (first at item {first[entry.id] + 1})",
                "give each FAQ entry its own `id`",
            )
        first.setdefault(entry.id, index)
        if entry.landing_url is not None:
            yield from _check_url(at, ("faq", index, "landing_url"), entry.landing_url)
        if entry.image_url is not None and root is not None:
            yield from _check_media(at, ("faq", index, "image_url"), entry.image_url, root)


def _check_media(at: Located, path: tuple[str | int, ...], value: str, root: Path) -> Iterator[PackIssue]:
    # An image is a web address, or a file of the pack's media/ folder that the gateway serves.
    problem = media_problem(root, value)
    if problem is not None:
        yield PackIssue(
            at.file,
            at.line(*path),
            f"`{path[-1]}`: {problem}",
            f"put the image in {MEDIA_DIR}/ and write `{path[-1]}: {MEDIA_DIR}/<file>.png`, "
            f"or give a full address starting with https://",
        )


def check_faq_products(faq: list[FaqEntry], at: Located, lexicon: Lexicon) -> Iterator[PackIssue]:
    for index, entry in enumerate(faq):
        for product in entry.products:
            if product not in lexicon.products:
                known = ", ".join(sorted(lexicon.products)) or "none yet"
                yield PackIssue(
                    at.file,
                    at.line("faq", index, "products"),
                    f"FAQ `{entry.id}` names product `{product}`, which lexicon.yaml does not define",
                    f"add `{product}: [words that name it]` under `products:` in lexicon.yaml (defined: {known})",
                )


def _check_url(at: Located, path: tuple[str | int, ...], url: str) -> Iterator[PackIssue]:
    # Link buttons on every channel (Kakao webLink, Slack, WhatsApp) accept only absolute web URLs.
    if not url.startswith(("https://", "http://")):
        yield PackIssue(
            at.file,
            at.line(*path),
            f"`{path[-1]}: {url}` is not a web address",
            f"write the full address starting with https://, e.g. `{path[-1]}: https://example.com/help`",
        )


def check_tools(tools: list[ToolSpec], at: Located) -> Iterator[PackIssue]:
    first: dict[str, int] = {}
    for index, tool in enumerate(tools):
        if tool.name in first:
            yield PackIssue(
                at.file,
                at.line("tools", index, "name"),
                f"tool `{tool.name}` is defined twice",
                "rename one of them or delete the copy",
            )
        first.setdefault(tool.name, index)
        if tool.builtin is not None and tool.http is not None:
            yield PackIssue(
                at.file,
                at.line("tools", index, "http"),
                f"tool `{tool.name}` sets both `builtin` and `http`",
                "keep `builtin:` for a built-in tool or `http:` for your own API, not both",
            )
        if tool.http is not None and (tool.http.auth_env is None) != (tool.http.auth_header is None):
            yield PackIssue(
                at.file,
                at.line("tools", index, "http"),
                f"tool `{tool.name}` sets only one of `auth_header` and `auth_env`",
                "set both: `auth_header: Authorization` and `auth_env: <ENV VARIABLE with the secret>`",
            )


def check_bot(
    bot: BotSettings,
    at: Located,
    intents: dict[str, IntentSpec] | None,
    scenarios: dict[str, Scenario] | None,
) -> Iterator[PackIssue]:
    """Routes name known intents and scenarios and do one thing; thresholds make sense."""
    for intent, route in bot.routes.items():
        line = at.line("routes", intent)
        if intents is not None and intent not in intents:
            yield PackIssue(
                at.file,
                line,
                f"route `{intent}` names an intent that intents.yaml does not define",
                did_you_mean(intent, intents, "known intents") + " (or add the intent to intents.yaml)",
            )
        chosen = [
            name
            for name, on in (
                ("scenario", route.scenario is not None),
                ("reply", route.reply is not None),
                ("handoff", route.handoff),
                ("knowledge", route.knowledge),
            )
            if on
        ]
        if len(chosen) != 1:
            what = "sets nothing" if not chosen else "sets " + " and ".join(f"`{c}`" for c in chosen)
            yield PackIssue(
                at.file,
                line,
                f"route `{intent}` {what}; a route does exactly one thing",
                "keep exactly one of `scenario: <id>`, `reply: <text>`, `handoff: true`, `knowledge: true`",
            )
        if route.scenario is not None and scenarios is not None and route.scenario not in scenarios:
            yield PackIssue(
                at.file,
                at.line("routes", intent, "scenario"),
                f"route `{intent}` starts scenario `{route.scenario}`, which does not exist",
                did_you_mean(route.scenario, scenarios, "known scenarios"),
            )
    limits = bot.thresholds
    for name in ("nlu", "knowledge_answer", "knowledge_suggest"):
        value = getattr(limits, name)
        if not 0.0 <= value <= 1.0:
            yield PackIssue(
                at.file,
                at.line("thresholds", name),
                f"threshold `{name}: {value}` is outside 0..1",
                "use a score between 0 and 1, e.g. 0.5",
            )
    if limits.knowledge_suggest > limits.knowledge_answer:
        yield PackIssue(
            at.file,
            at.line("thresholds", "knowledge_suggest"),
            "`knowledge_suggest` is above `knowledge_answer`, so suggestions would never be shown",
            "make `knowledge_suggest` lower than `knowledge_answer`",
        )


def check_escalation(escalation: Escalation, at: Located) -> Iterator[PackIssue]:
    for reason in escalation.priorities:
        if reason not in _HANDOFF_REASONS:
            yield PackIssue(
                at.file,
                at.line("priorities", reason),
                f"`priorities` names an unknown handoff reason `{reason}`",
                did_you_mean(reason, _HANDOFF_REASONS, "handoff reasons"),
            )
    if escalation.fallback_limit < 1:
        yield PackIssue(
            at.file,
            at.line("fallback_limit"),
            "`fallback_limit` must be at least 1",
            "set `fallback_limit: 2` (hand off after two turns the bot did not understand)",
        )


def check_orders(orders: list[Order], at: Located) -> Iterator[PackIssue]:
    seen: set[str] = set()
    for index, order in enumerate(orders):
        if order.order_id in seen:
            yield PackIssue(
                at.file,
                at.line("orders", index, "order_id"),
                f"order `{order.order_id}` is listed twice",
                "give each order its own `order_id`",
            )
        seen.add(order.order_id)


class PackNames:
    """What scenarios may refer to, collected from the other files."""

    def __init__(
        self,
        intents: dict[str, IntentSpec] | None,
        tools: list[ToolSpec] | None,
        tables: set[str],
        broken_tables: set[str],
        root: Path | None = None,
    ) -> None:
        self.intents = intents  # None when intents.yaml itself is broken: skip those checks
        self.tools = None if tools is None else {tool.name for tool in tools}
        self.tables = tables
        self.broken_tables = broken_tables  # stems of data files that failed to load
        self.root = root  # the pack folder, to check `image: media/...` files


def check_scenario(scenario: Scenario, at: Located, names: PackNames) -> Iterator[PackIssue]:
    steps = scenario.steps
    if scenario.start not in steps and not at.is_broken("steps", scenario.start):
        yield _dangling(at, ("start",), "start", scenario.start, steps)
    for index, intent in enumerate(scenario.triggers):
        if names.intents is not None and intent not in names.intents:
            yield PackIssue(
                at.file,
                at.line("triggers", index),
                f"trigger `{intent}` is not an intent in intents.yaml",
                did_you_mean(intent, names.intents, "known intents") + " (or add the intent to intents.yaml)",
            )
    for step_id, step in steps.items():
        if not at.is_broken("steps", step_id):  # its structural issue already says what to fix
            yield from _check_step(step_id, step, at, names, steps)
    if not at.broken:
        yield from _unreachable(scenario, at)
        yield from _busy_loops(scenario, at)
        yield from _asked_again(scenario, at)


def _check_step(step_id: str, step: Step, at: Located, names: PackNames, steps: dict[str, Step]) -> Iterator[PackIssue]:
    base = ("steps", step_id)
    for path, target in _references(step):
        if target not in steps and not at.is_broken("steps", target):
            yield _dangling(at, (*base, *path), str(path[-1]), target, steps)
    yield from _check_continuation(step_id, step, at, steps)
    yield from _check_choices(step_id, step, at, steps)
    if step.image is not None and names.root is not None:
        yield from _check_media(at, (*base, "image"), step.image, names.root)
    if step.ask is not None:
        yield from _check_ask(step_id, step, at)
    if step.tool is not None and names.tools is not None and step.tool.name not in names.tools:
        yield PackIssue(
            at.file,
            at.line(*base, "tool", "name"),
            f"step `{step_id}` calls tool `{step.tool.name}`, which tools.yaml does not define",
            did_you_mean(step.tool.name, names.tools, "known tools") + " (or add it to tools.yaml)",
        )
    if step.lookup is not None and step.lookup.table not in names.tables | names.broken_tables:
        yield PackIssue(
            at.file,
            at.line(*base, "lookup", "table"),
            f"step `{step_id}` looks up table `{step.lookup.table}`, which data/ does not hold",
            did_you_mean(step.lookup.table, names.tables, "known tables") + f" (or add data/{step.lookup.table}.yaml)",
        )
    if step.link is not None:
        yield from _check_url(at, (*base, "link"), step.link)


def _check_continuation(step_id: str, step: Step, at: Located, steps: dict[str, Step]) -> Iterator[PackIssue]:
    """Exactly one way on: choices / ask (+ next) / lookup / tool / next / end; a handoff reason fits."""
    base = ("steps", step_id)
    # `ask` has no success target of its own: a valid answer moves on through the step's `next`.
    used = [name for name in _CONTINUATIONS if getattr(step, name) and not (name == "next" and step.ask)]
    if step.ask is not None and step.next is None:
        yield PackIssue(
            at.file,
            at.line(*base, "ask"),
            f"step `{step_id}` asks for `{step.ask.slot}` but does not say where to go after a valid answer",
            "add `next: <step>` to the step (beside `ask:`); known steps: " + ", ".join(sorted(steps)),
        )
    if not used:
        yield PackIssue(
            at.file,
            at.line(*base),
            f"step `{step_id}` has no way to continue after" + (" saying its text" if step.say else " it is entered"),
            "add `next: <step>` or `end: resolved` (or `choices:`, `ask:`, `lookup:`, `tool:`)",
        )
    elif len(used) > 1:
        yield PackIssue(
            at.file,
            at.line(*base, used[1]),
            f"step `{step_id}` sets both `{used[0]}` and `{used[1]}`; a step continues in exactly one way",
            f"keep `{used[0]}` and move `{used[1]}` into a new step it leads to",
        )
    if step.handoff_reason is not None and step.end != "handoff":
        yield PackIssue(
            at.file,
            at.line(*base, "handoff_reason"),
            f"step `{step_id}` has `handoff_reason` but does not end in a handoff",
            "add `end: handoff` or remove `handoff_reason`",
        )
    elif step.handoff_reason is not None and step.handoff_reason not in _HANDOFF_REASONS:
        yield PackIssue(
            at.file,
            at.line(*base, "handoff_reason"),
            f"`handoff_reason: {step.handoff_reason}` is not a handoff reason",
            did_you_mean(step.handoff_reason, _HANDOFF_REASONS, "handoff reasons"),
        )


def _check_choices(step_id: str, step: Step, at: Located, steps: dict[str, Step]) -> Iterator[PackIssue]:
    """Each button branches (`goto`) or is a link (`url`/`phone`), never both or neither."""
    base = ("steps", step_id)
    for index, choice in enumerate(step.choices):
        line = at.line(*base, "choices", index)
        if choice.url is not None:
            yield from _check_url(at, (*base, "choices", index, "url"), choice.url)
        links = [name for name in ("url", "phone") if getattr(choice, name)]
        if choice.goto is None and not links:
            yield PackIssue(
                at.file,
                line,
                f"choice `{choice.label}` in step `{step_id}` leads nowhere",
                "add `goto: <step>` (or `url:`/`phone:` for a link button); known steps: " + ", ".join(sorted(steps)),
            )
        elif choice.goto is not None and links:
            yield PackIssue(
                at.file,
                line,
                f"choice `{choice.label}` sets both `goto` and `{links[0]}`",
                f"a button either branches (`goto`) or opens a link (`{links[0]}`): keep one",
            )
        elif len(links) > 1:
            yield PackIssue(at.file, line, f"choice `{choice.label}` sets both `url` and `phone`", "keep one of them")


def _check_ask(step_id: str, step: Step, at: Located) -> Iterator[PackIssue]:
    assert step.ask is not None
    ask = step.ask
    base = ("steps", step_id, "ask")
    if ask.type == "regex" and ask.pattern is None:
        yield PackIssue(
            at.file,
            at.line(*base, "type"),
            f"step `{step_id}` asks for a `regex` slot without a `pattern`",
            'add `pattern: "<regular expression>"` under `ask:`',
        )
    if ask.pattern is not None:
        if ask.type != "regex":
            yield PackIssue(
                at.file,
                at.line(*base, "pattern"),
                f"`pattern` is only used with `type: regex` (this slot is `{ask.type}`)",
                "set `type: regex` or remove `pattern`",
            )
        try:
            re.compile(ask.pattern)
        except re.error as exc:
            yield PackIssue(
                at.file,
                at.line(*base, "pattern"),
                f"`pattern` is not a valid regular expression: {exc}",
                "fix the regular expression (quote it in single quotes so backslashes stay as written)",
            )
    if ask.max_retries < 0:
        yield PackIssue(
            at.file,
            at.line(*base, "max_retries"),
            "`max_retries` cannot be negative",
            "use 0 or more, e.g. `max_retries: 2`",
        )


def _references(step: Step) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path inside the step, step id) for every field that names another step."""
    if step.next is not None:
        yield ("next",), step.next
    for index, choice in enumerate(step.choices):
        if choice.goto is not None:
            yield ("choices", index, "goto"), choice.goto
    if step.ask is not None and step.ask.on_fail is not None:
        yield ("ask", "on_fail"), step.ask.on_fail
    if step.lookup is not None:
        yield ("lookup", "found"), step.lookup.found
        yield ("lookup", "missing"), step.lookup.missing
    if step.tool is not None:
        yield ("tool", "next"), step.tool.next
        if step.tool.on_error is not None:
            yield ("tool", "on_error"), step.tool.on_error


def _dangling(at: Located, path: tuple[str | int, ...], field: str, target: str, steps: dict[str, Step]) -> PackIssue:
    return PackIssue(
        at.file,
        at.line(*path),
        f"`{field}: {target}` names a step that does not exist in this scenario",
        did_you_mean(target, steps, "known steps"),
    )


def _unreachable(scenario: Scenario, at: Located) -> Iterator[PackIssue]:
    if scenario.start not in scenario.steps:
        return
    seen = {scenario.start}
    todo = [scenario.start]
    while todo:
        for _, target in _references(scenario.steps[todo.pop()]):
            if target in scenario.steps and target not in seen:
                seen.add(target)
                todo.append(target)
    for step_id in scenario.steps:
        if step_id not in seen:
            yield PackIssue(
                at.file,
                at.line("steps", step_id),
                f"{WARNING_PREFIX}step `{step_id}` can never be reached from `start: {scenario.start}`",
                "point a `next:`/`goto:` at it, or delete it",
            )


def _moves_on(step: Step) -> list[str]:
    """Steps entered right after `step` in the same turn, without waiting for the customer."""
    if step.choices or step.ask is not None or step.end is not None:
        return []
    return [target for _, target in _references(step)]


def _busy_loops(scenario: Scenario, at: Located) -> Iterator[PackIssue]:
    """A cycle of steps that never waits would spin until the engine gives up mid-turn."""
    steps = scenario.steps
    state: dict[str, str] = {}  # "open" while on the current path, then "done"
    for root in steps:
        if root in state:
            continue
        path, pending = [root], [iter(_moves_on(steps[root]))]
        state[root] = "open"
        while pending:  # iterative depth-first search: no recursion limit on long chains
            target = next(pending[-1], None)
            if target is None:
                state[path.pop()] = "done"
                pending.pop()
            elif target in steps and state.get(target) == "open":
                loop = [*path[path.index(target) :], target]
                yield PackIssue(
                    at.file,
                    at.line("steps", target),
                    "steps " + " → ".join(f"`{s}`" for s in loop) + " loop without waiting for the customer",
                    "make one of them wait (`ask:` or `choices:`) or end the scenario (`end:`)",
                )
            elif target in steps and target not in state:
                state[target] = "open"
                path.append(target)
                pending.append(iter(_moves_on(steps[target])))


def _asked_again(scenario: Scenario, at: Located) -> Iterator[PackIssue]:
    """A loop back to an `ask` finds its slot filled and skips the question, unless a button on
    the way clears it with `set: {slot: ""}`."""
    steps = scenario.steps
    for step_id, step in steps.items():
        if step.ask is None:
            continue
        slot = step.ask.slot
        seen: set[str] = set()
        todo = [step_id]
        while todo:
            current = steps[todo.pop()]
            for path, target in _references(current):
                clears = path[0] == "choices" and current.choices[int(path[1])].set.get(slot) == ""
                if target in steps and target not in seen and not clears:
                    seen.add(target)
                    todo.append(target)
        if step_id in seen:
            yield PackIssue(
                at.file,
                at.line("steps", step_id, "ask"),
                f"{WARNING_PREFIX}the scenario can come back to `{step_id}`, but `{slot}` is filled by "
                "then, so the question is skipped",
                f'clear it on the way back with `set: {{{slot}: ""}}` on the button, '
                "or go back to a new step that asks for another slot",
            )
