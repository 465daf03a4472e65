"""Bot-pack loading: a valid pack becomes a BotPack; a broken one names file, line and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.pack.loader import PackError, PackIssue, check_pack, load_pack

TYPO_PACK = Path(__file__).parent / "data" / "broken_packs" / "typo_pack"
DEMO_PACK = Path(__file__).parent.parent / "bots" / "demo"

BOT = """\
id: test
name: 테스트봇
brand: 샘플전자
persona:
  greeting: "안녕하세요, {brand} {name}이에요."
  fallback: 죄송해요, 잘 이해하지 못했어요.
  handoff: 상담직원을 연결해 드릴게요.
  tool_failure: 지금은 확인이 어려워요.
  pii_refused: 주민등록번호는 보내지 말아 주세요.
  csat_question: 도움이 되었나요?
  csat_thanks: 감사해요.
routes:
  agent_request:
    handoff: true
  order_status:
    scenario: order
"""

INTENTS = """\
intents:
  agent_request:
    examples: [상담원 연결해 주세요, 사람이랑 이야기할래요, 상담사 바꿔 주세요]
  order_status:
    examples: [주문 조회해 주세요, 배송 어디쯤이에요, 택배 언제 와요]
  power_issue:
    examples: [전원이 안 켜져요, 티비가 안 켜져요, 전원 버튼이 반응이 없어요]
"""

FAQ = """\
faq:
  - id: warranty
    question: 보증 기간이 얼마나 되나요?
    answer: 구입일로부터 1년이에요.
  - id: hours
    question: 고객센터 운영 시간이 어떻게 되나요?
    answer: 평일 오전 9시부터 오후 6시까지예요.
"""

TOOLS = """\
tools:
  - name: get_order
    description: 주문 조회
    builtin: get_order
"""

ORDER_SCENARIO = """\
id: order
title: 주문 조회
start: ask_order
steps:
  ask_order:
    ask:
      slot: order_id
      type: order_id
      prompt: 주문번호를 알려 주세요.
      reprompt: 주문번호 형식이 아니에요. 다시 알려 주시겠어요?
    next: fetch
  fetch:
    tool:
      name: get_order
      args: {order_id: "{order_id}"}
      save_as: order
      next: show
  show:
    say: "주문 상태는 {order.status}이에요."
    end: resolved
"""

POWER_SCENARIO = """\
id: power
title: 전원이 켜지지 않아요
triggers: [power_issue]
start: intro
steps:
  intro:
    say: 어떤 제품인가요?
    choices:
      - label: TV
        goto: ask_code
      - label: 고객센터 전화
        phone: "1588-0000"
  ask_code:
    ask:
      slot: code
      type: regex
      pattern: '^E\\d{2}$'
      prompt: 화면의 에러 코드를 알려 주세요.
      reprompt: E로 시작하는 코드예요. 다시 알려 주시겠어요?
    next: find_code
  find_code:
    lookup:
      table: error_codes
      key: "{code}"
      save_as: err
      found: explain
      missing: agent
  explain:
    say: "{err.meaning} 문제예요."
    end: resolved
  agent:
    say: 상담직원에게 연결해 드릴게요.
    end: handoff
    handoff_reason: scenario
"""

ERROR_CODES = """\
error_codes:
  E01:
    meaning: 전원 공급
    hotline: 010
  E02:
    meaning: 과열
"""

ORDERS = """\
orders:
  - order_id: A-1001
    status: 배송중
    ordered_at: 2024-05-01
    customer_id: c-1
    items:
      - name: 55인치 TV
        price: 990000
"""


def write_pack(root: Path, **overrides: str | None) -> Path:
    """A valid pack in `root`; keyword `scenarios__power_yaml="..."` replaces one file, None drops it."""
    files: dict[str, str | None] = {
        "bot.yaml": BOT,
        "intents.yaml": INTENTS,
        "faq.yaml": FAQ,
        "tools.yaml": TOOLS,
        "scenarios/order.yaml": ORDER_SCENARIO,
        "scenarios/power.yaml": POWER_SCENARIO,
        "data/error_codes.yaml": ERROR_CODES,
        "data/orders.yaml": ORDERS,
    }
    for key, text in overrides.items():
        files[key.replace("__", "/").replace("_yaml", ".yaml")] = text
    for name, text in files.items():
        if text is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing `needle` (so tests state lines by content)."""
    hits = [n for n, line in enumerate(textwrap.dedent(text).splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} found on lines {hits}"
    return hits[0]


def errors_of(root: Path) -> list[PackIssue]:
    return [issue for issue in check_pack(root) if not issue.is_warning]


def only_error(root: Path) -> PackIssue:
    errors = errors_of(root)
    assert len(errors) == 1, "\n".join(map(str, errors))
    with pytest.raises(PackError) as caught:
        load_pack(root)
    assert caught.value.issues == errors
    return errors[0]


# --- a valid pack --------------------------------------------------------------------------------


def test_minimal_valid_pack_loads(tmp_path: Path) -> None:
    root = write_pack(tmp_path)
    assert check_pack(root) == []
    pack = load_pack(root)
    assert pack.root == str(root.resolve())
    assert pack.bot.persona.greeting == "안녕하세요, {brand} {name}이에요."
    assert sorted(pack.scenarios) == ["order", "power"]
    assert pack.scenarios["power"].steps["ask_code"].ask is not None
    assert pack.scenarios["power"].steps["ask_code"].ask.pattern == r"^E\d{2}$"
    assert [entry.id for entry in pack.faq] == ["warranty", "hours"]
    assert pack.tools[0].builtin == "get_order"
    assert pack.escalation.fallback_limit == 2  # escalation.yaml is optional
    # Dates stay text; table values keep exactly what was written (`010`, not the integer 8).
    assert pack.orders[0].ordered_at == "2024-05-01"
    assert pack.tables == {
        "error_codes": {"E01": {"meaning": "전원 공급", "hotline": "010"}, "E02": {"meaning": "과열"}}
    }
    assert pack.route_for("power_issue") is not None


def test_optional_files_may_be_absent(tmp_path: Path) -> None:
    bot = BOT.replace("  order_status:\n    scenario: order\n", "")
    root = write_pack(
        tmp_path,
        bot_yaml=bot,
        faq_yaml=None,
        tools_yaml=None,
        scenarios__order_yaml=None,
        scenarios__power_yaml=None,
        data__error_codes_yaml=None,
        data__orders_yaml=None,
    )
    pack = load_pack(root)
    assert (pack.faq, pack.tools, pack.scenarios, pack.orders, pack.tables) == ([], [], {}, [], {})


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    text = ORDER_SCENARIO + (
        "  bye: &bye\n    say: 감사해요.\n    end: resolved\n  bye_again:\n    <<: *bye\n    say: 다시 한번 감사해요.\n"
    )
    text = text.replace("      next: show", "      next: bye").replace(
        "    end: resolved\n", "    next: bye_again\n", 1
    )
    root = write_pack(tmp_path, scenarios__order_yaml=text)
    steps = load_pack(root).scenarios["order"].steps
    assert (steps["bye_again"].say, steps["bye_again"].end) == ("다시 한번 감사해요.", "resolved")


# --- structure: each problem at its own line -----------------------------------------------------


def test_unknown_field_with_typo_suggests_the_field(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace('    say: "주문 상태는', '    sya: "주문 상태는')
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/order.yaml", line_of(text, "sya:"))
    assert "unknown field `sya`" in issue.message
    assert "did you mean `say`?" in issue.fix
    assert "next" in issue.fix  # the allowed fields are listed


def test_field_written_one_level_too_high_says_where_it_belongs(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace(
        "      reprompt: 주문번호 형식이 아니에요. 다시 알려 주시겠어요?\n",
        "    reprompt: 주문번호 형식이 아니에요. 다시 알려 주시겠어요?\n",
    )
    issues = errors_of(write_pack(tmp_path, scenarios__order_yaml=text))
    stray = next(i for i in issues if "unknown field `reprompt`" in i.message)
    assert stray.line == line_of(text, "reprompt:")
    assert "under `ask:`" in stray.fix
    missing = next(i for i in issues if "missing required field `reprompt`" in i.message)
    assert missing.line == line_of(text, "    ask:")
    assert len(issues) == 2, issues


def test_wrong_type_names_expected_type(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace("      reprompt:", "      max_retries: two\n      reprompt:")
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/order.yaml", line_of(text, "max_retries"))
    assert "must be a whole number" in issue.message and "two" in issue.message
    assert "max_retries: 2" in issue.fix


def test_number_where_text_belongs_says_to_quote_it(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace('phone: "1588-0000"', "phone: 15880000")
    issue = only_error(write_pack(tmp_path, scenarios__power_yaml=text))
    assert issue.line == line_of(text, "phone: 15880000")
    assert issue.fix == 'put the value in quotes: `phone: "15880000"`'


def test_unquoted_braces_are_explained(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace('say: "주문 상태는 {order.status}이에요."', "say: {order.status}")
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert issue.line == line_of(text, "say: {order.status}")
    assert "must be text, got a mapping" in issue.message
    assert "quotes" in issue.fix


def test_missing_required_field_points_at_its_parent(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace("      reprompt: 주문번호 형식이 아니에요. 다시 알려 주시겠어요?\n", "")
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/order.yaml", line_of(text, "    ask:"))
    assert issue.message == "`steps.ask_order.ask` is missing required field `reprompt`"
    assert issue.fix == "add `reprompt: ...` under `ask:`"


def test_missing_required_field_at_top_level(tmp_path: Path) -> None:
    text = BOT.replace("brand: 샘플전자\n", "")
    issue = only_error(write_pack(tmp_path, bot_yaml=text))
    assert (issue.file, issue.line) == ("bot.yaml", 1)
    assert "`brand`" in issue.message
    assert "at the top level" in issue.fix


def test_enum_typo_suggests_value(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace("end: resolved", "end: resolvd")
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert issue.line == line_of(text, "end: resolvd")
    assert "did you mean `resolved`?" in issue.fix
    assert "handoff" in issue.fix


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    text = FAQ.replace("    answer: 구입일로부터 1년이에요.\n", "    answer: 1년이에요.\n    answer: 2년이에요.\n")
    issue = only_error(write_pack(tmp_path, faq_yaml=text))
    assert issue.line == line_of(text, "answer: 2년")
    assert f"first on line {line_of(text, 'answer: 1년')}" in issue.message


def test_yaml_syntax_error_reports_its_line(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace('say: "주문 상태는 {order.status}이에요."', "say: 안내: 주문 상태는 배송중이에요")
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/order.yaml", line_of(text, "say: 안내:"))
    assert issue.message.startswith("YAML syntax error")
    assert "quotes" in issue.fix


def test_unclosed_bracket_points_at_the_line_that_opened_it(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace("triggers: [power_issue]", "triggers: [power_issue")
    issue = only_error(write_pack(tmp_path, scenarios__power_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/power.yaml", line_of(text, "triggers:"))
    assert issue.fix.startswith("close the bracket")


def test_tab_indentation_is_explained(tmp_path: Path) -> None:
    text = INTENTS.replace("  power_issue:", "\tpower_issue:")
    issue = only_error(write_pack(tmp_path, intents_yaml=text))
    assert (issue.file, issue.line) == ("intents.yaml", line_of(text, "\tpower_issue"))
    assert "tabs" in issue.fix


# --- references across steps and files -----------------------------------------------------------


def test_dangling_goto_suggests_step(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace("goto: ask_code", "goto: ask_cod")
    issues = errors_of(write_pack(tmp_path, scenarios__power_yaml=text))
    assert len(issues) == 1, issues
    assert (issues[0].file, issues[0].line) == ("scenarios/power.yaml", line_of(text, "goto: ask_cod"))
    assert "`goto: ask_cod`" in issues[0].message
    assert issues[0].fix.startswith("did you mean `ask_code`?")
    assert "find_code" in issues[0].fix  # the known steps are listed


def test_every_step_reference_is_checked(tmp_path: Path) -> None:
    text = (
        POWER_SCENARIO.replace("start: intro", "start: intr")
        .replace("found: explain", "found: explian")
        .replace("missing: agent", "missing: agnt")
        .replace("    next: find_code", "    next: find")
    )
    issues = errors_of(write_pack(tmp_path, scenarios__power_yaml=text))
    assert sorted(i.line for i in issues if i.line is not None) == sorted(
        line_of(text, needle) for needle in ("start: intr", "found: explian", "missing: agnt", "next: find")
    )


def test_step_without_continuation(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace("    end: resolved\n", "")
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/order.yaml", line_of(text, "  show:"))
    assert "`show` has no way to continue" in issue.message
    assert "`next:" in issue.fix and "`end:" in issue.fix


def test_ask_needs_next_and_steps_continue_one_way(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace("    next: fetch\n", "").replace(
        "    end: resolved", "    next: fetch\n    end: resolved"
    )
    issues = errors_of(write_pack(tmp_path, scenarios__order_yaml=text))
    assert len(issues) == 2, issues
    ask, both = sorted(issues, key=lambda i: i.line or 0)
    assert ask.line == line_of(text, "    ask:") and "add `next: <step>`" in ask.fix
    assert both.line == line_of(text, "end: resolved")
    assert "sets both `next` and `end`" in both.message


def test_handoff_reason_and_links_are_checked(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace("handoff_reason: scenario", "handoff_reason: scenaro").replace(
        "    end: resolved\n", "    end: resolved\n    link: www.example.com\n"
    )
    issues = errors_of(write_pack(tmp_path, scenarios__power_yaml=text))
    assert [(i.line, i.fix.split("?")[0]) for i in issues] == [
        (
            line_of(text, "link: www"),
            "write the full address starting with https://, e.g. `link: https://example.com/help`",
        ),
        (line_of(text, "handoff_reason: scenaro"), "did you mean `scenario`"),
    ]


def test_loop_that_never_waits(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace("      next: show", "      next: again") + (
        "  again:\n    say: 다시 조회할게요.\n    next: fetch\n"
    )
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert issue.line == line_of(text, "  fetch:")
    assert issue.message == "steps `fetch` → `again` → `fetch` loop without waiting for the customer"
    assert "`ask:` or `choices:`" in issue.fix


def test_loop_back_to_a_filled_question_is_a_warning(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace(
        '    say: "주문 상태는 {order.status}이에요."\n    end: resolved\n',
        '    say: "주문 상태는 {order.status}이에요."\n    choices:\n'
        "      - label: 다른 주문 조회\n        goto: ask_order\n"
        "      - label: 확인했어요\n        goto: done\n"
        "  done:\n    say: 감사해요.\n    end: resolved\n",
    )
    root = write_pack(tmp_path, scenarios__order_yaml=text)
    issues = check_pack(root)
    assert [(i.line, i.is_warning) for i in issues] == [(line_of(text, "    ask:"), True)]
    assert "`order_id` is filled" in issues[0].message
    load_pack(root)


def test_choice_without_goto(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace("        goto: ask_code\n", "")
    issue = only_error(write_pack(tmp_path, scenarios__power_yaml=text))
    assert issue.line == line_of(text, "- label: TV")
    assert "`goto:" in issue.fix


def test_unknown_tool(tmp_path: Path) -> None:
    text = ORDER_SCENARIO.replace("name: get_order", "name: get_ordr")
    issue = only_error(write_pack(tmp_path, scenarios__order_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/order.yaml", line_of(text, "name: get_ordr"))
    assert "tools.yaml" in issue.message
    assert issue.fix.startswith("did you mean `get_order`?")


def test_unknown_lookup_table(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace("table: error_codes", "table: errors")
    issue = only_error(write_pack(tmp_path, scenarios__power_yaml=text))
    assert issue.line == line_of(text, "table: errors")
    assert "error_codes" in issue.fix and "data/errors.yaml" in issue.fix


def test_unknown_intent_in_triggers(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace("triggers: [power_issue]", "triggers:\n  - power_isue")
    issue = only_error(write_pack(tmp_path, scenarios__power_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/power.yaml", line_of(text, "- power_isue"))
    assert issue.fix.startswith("did you mean `power_issue`?")


def test_routes_name_intents_and_scenarios_and_do_one_thing(tmp_path: Path) -> None:
    text = BOT.replace("    scenario: order\n", "    scenario: ordr\n    reply: 잠시만요\n") + (
        "  refund:\n    knowledge: true\n"
    )
    issues = errors_of(write_pack(tmp_path, bot_yaml=text))
    assert {(i.line, i.fix.split("?")[0]) for i in issues} == {
        (
            line_of(text, "order_status:"),
            "keep exactly one of `scenario: <id>`, `reply: <text>`, `handoff: true`, `knowledge: true`",
        ),
        (line_of(text, "scenario: ordr"), "did you mean `order`"),
        (
            line_of(text, "refund:"),
            "known intents: agent_request, order_status, power_issue (or add the intent to intents.yaml)",
        ),
    }


def test_duplicate_faq_id(tmp_path: Path) -> None:
    text = FAQ.replace("id: hours", "id: warranty")
    issue = only_error(write_pack(tmp_path, faq_yaml=text))
    second = [n for n, line in enumerate(text.splitlines(), 1) if "- id: warranty" in line][1]
    assert (issue.file, issue.line) == ("faq.yaml", second)
    assert "`warranty` is used twice" in issue.message


def test_duplicate_scenario_id_across_files(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace("id: power", "id: order").replace("triggers: [power_issue]\n", "")
    issue = only_error(write_pack(tmp_path, scenarios__power_yaml=text))
    assert (issue.file, issue.line) == ("scenarios/power.yaml", 1)
    assert "scenarios/order.yaml" in issue.message


def test_intent_needs_three_examples(tmp_path: Path) -> None:
    text = INTENTS.replace("[전원이 안 켜져요, 티비가 안 켜져요, 전원 버튼이 반응이 없어요]", "[전원이 안 켜져요]")
    issue = only_error(write_pack(tmp_path, intents_yaml=text))
    assert (issue.file, issue.line) == ("intents.yaml", line_of(text, "power_issue:"))
    assert "add 2 more" in issue.fix


def test_regex_pattern_must_compile(tmp_path: Path) -> None:
    text = POWER_SCENARIO.replace("'^E\\d{2}$'", "'^E(\\d{2}$'")
    issue = only_error(write_pack(tmp_path, scenarios__power_yaml=text))
    assert issue.line == line_of(text, "pattern:")
    assert "not a valid regular expression" in issue.message


def test_missing_required_file(tmp_path: Path) -> None:
    issues = errors_of(write_pack(tmp_path, intents_yaml=None))
    assert [(i.file, i.line) for i in issues] == [("intents.yaml", None)]
    assert "create intents.yaml" in issues[0].fix


def test_misnamed_required_file_gets_rename_fix(tmp_path: Path) -> None:
    root = write_pack(tmp_path, bot_yaml=None)
    (root / "bot.yml").write_text(BOT, encoding="utf-8")
    issue = only_error(root)
    assert (issue.file, issue.fix) == ("bot.yaml", "rename bot.yml to bot.yaml")


def test_misnamed_files_and_folders_are_warned_about(tmp_path: Path) -> None:
    root = write_pack(tmp_path, faq_yaml=None, scenarios__order_yaml=None)
    (root / "faqs.yaml").write_text(FAQ, encoding="utf-8")
    (root / "scenario").mkdir()
    (root / "images").mkdir()
    bot = BOT.replace("  order_status:\n    scenario: order\n", "")
    (root / "bot.yaml").write_text(bot, encoding="utf-8")
    issues = check_pack(root)
    assert [(i.file, i.fix) for i in issues] == [
        ("faqs.yaml", "rename it to faq.yaml"),
        ("scenario/", "rename it to scenarios/"),
    ]
    assert all(i.is_warning for i in issues)
    load_pack(root)


def test_data_table_shape(tmp_path: Path) -> None:
    text = ERROR_CODES + "other_table:\n  X: {a: b}\n"
    issue = only_error(write_pack(tmp_path, data__error_codes_yaml=text))
    assert issue.file == "data/error_codes.yaml"
    assert "exactly one table" in issue.message


def test_not_a_folder(tmp_path: Path) -> None:
    issues = check_pack(tmp_path / "nope")
    assert len(issues) == 1 and "bot.yaml" in issues[0].fix


# --- all issues at once; warnings do not block ---------------------------------------------------


def test_all_issues_are_reported_at_once(tmp_path: Path) -> None:
    root = write_pack(
        tmp_path,
        faq_yaml=FAQ.replace("id: hours", "id: warranty"),
        scenarios__order_yaml=ORDER_SCENARIO.replace("name: get_order", "name: nope"),
        scenarios__power_yaml=POWER_SCENARIO.replace("goto: ask_code", "goto: nowhere"),
        scenarios__broken_yaml="id: broken\ntitle: [unclosed\n",
    )
    with pytest.raises(PackError) as caught:
        load_pack(root)
    files = sorted(issue.file for issue in caught.value.issues)
    assert files == ["faq.yaml", "scenarios/broken.yaml", "scenarios/order.yaml", "scenarios/power.yaml"]
    lines = str(caught.value).splitlines()
    assert lines == [str(issue) for issue in caught.value.issues]
    assert all(" — fix: " in line for line in lines)


def test_issue_str_format() -> None:
    issue = PackIssue("scenarios/power.yaml", 12, "bad thing", "do this")
    assert str(issue) == "scenarios/power.yaml:12: bad thing — fix: do this"
    assert str(PackIssue("bot.yaml", None, "missing bot.yaml", "create it")) == (
        "bot.yaml: missing bot.yaml — fix: create it"
    )


def test_unreachable_step_is_only_a_warning(tmp_path: Path) -> None:
    text = ORDER_SCENARIO + "  orphan:\n    say: 아무도 오지 않는 단계예요.\n    end: info\n"
    root = write_pack(tmp_path, scenarios__order_yaml=text)
    issues = check_pack(root)
    assert [(i.file, i.line, i.is_warning) for i in issues] == [
        ("scenarios/order.yaml", line_of(text, "orphan:"), True)
    ]
    assert issues[0].message.startswith("warning:")
    assert "orphan" in load_pack(root).scenarios["order"].steps


# --- the packs shipped in the repository ---------------------------------------------------------


def test_typo_pack_reports_file_line_and_fix() -> None:
    source = (TYPO_PACK / "scenarios" / "power.yaml").read_text(encoding="utf-8")
    errors = errors_of(TYPO_PACK)
    found = {(i.file, i.line): i.fix for i in errors}
    assert found[("scenarios/power.yaml", line_of(source, "nxt: done"))].startswith("did you mean `next`?")
    assert found[("scenarios/power.yaml", line_of(source, "goto: tv_plgu"))].startswith("did you mean `tv_plug`?")
    assert found[("scenarios/power.yaml", line_of(source, "triggers: [power_isue]"))].startswith(
        "did you mean `power_issue`?"
    )


@pytest.mark.skipif(not (DEMO_PACK / "bot.yaml").is_file(), reason="demo pack not written yet")
def test_demo_pack_loads() -> None:
    pack = load_pack(DEMO_PACK)
    assert pack.scenarios and pack.faq and pack.intents
