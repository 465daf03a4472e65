"""The bot pack: a folder of YAML that holds everything a bot says and does.

Layout of a pack folder (see bots/demo and docs/bot-pack.md):

    bot.yaml          BotSettings: persona texts, thresholds, intent routes
    intents.yaml      {intents: {intent_id: {examples: [...]}}}
    faq.yaml          {faq: [FaqEntry, ...]}
    scenarios/*.yaml  one Scenario per file
    tools.yaml        {tools: [ToolSpec, ...]}
    escalation.yaml   Escalation rules
    data/*.yaml       demo data: orders.yaml {orders: [...]}, tables such as error_codes.yaml
                      {table: {KEY: {field: value}}}

Field names here are the YAML keys. Every Struct forbids unknown fields so a typo is an error that
names the file and line, not a silently ignored setting.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


# --- bot.yaml ------------------------------------------------------------------------------------


class Persona(_Spec, kw_only=True):
    """Texts the engine says by itself. `{brand}` and `{name}` are filled in."""

    greeting: str
    fallback: str  # when nothing matched; suggestions follow as quick replies
    fallback_suggestions: list[str] = []  # labels sent as messages when pressed
    handoff: str  # told to the customer when a human takes over
    tool_failure: str  # safe reply when a tool fails (a handoff follows)
    pii_refused: str  # RRN / card number typed: asks not to send them
    csat_question: str  # after a resolved scenario
    csat_thanks: str
    agent_busy: str = "상담직원이 확인 중이에요. 조금만 기다려 주세요."  # bot silent while an agent owns it
    knowledge_intro: str = ""  # optional line before a knowledge answer
    knowledge_guess: str = "혹시 이런 내용을 찾으시나요?"  # low-confidence knowledge suggestions
    choose_button: str = "아래 버튼 중에서 골라 주세요."  # an answer did not match a step's buttons
    scenario_left: str = "알겠어요, 진행하던 안내는 여기서 멈출게요. 다른 도움이 필요하시면 말씀해 주세요."
    clarify: str = "혹시 이 중에 찾으시는 내용이 있나요?"  # close candidates: one question, 2-3 buttons
    contact_only: str = "연락처를 받았어요. 어떤 도움이 필요하신지 말씀해 주세요."  # only a phone / e-mail
    ask_what: str = "어떤 도움이 필요하신지 말씀해 주세요."  # a bare number ("5", "3점") with no question open


class Route(_Spec, kw_only=True):
    """What to do when an intent is recognised. Exactly one of the fields is set."""

    scenario: str | None = None  # start this scenario
    reply: str | None = None  # say this text
    handoff: bool = False  # hand off to a human (reason agent_request)
    knowledge: bool = False  # answer from the FAQ (default for intents without a route)


class Thresholds(_Spec, kw_only=True):
    nlu: float = 0.5  # below: out_of_scope
    knowledge_answer: float = 0.55  # at or above: answer with the best FAQ entry
    knowledge_suggest: float = 0.3  # at or above: offer entries as suggestions
    # At or above: a specific FAQ answer wins even over a message phrased like a scenario's own request
    # (see intent_over_knowledge, docs/nlu.md "Routing"), and answers side questions asked while a
    # scenario waits (a step's free-text answer is rarely an FAQ question scoring that high).
    knowledge_over_intent: float = 0.85
    # Close candidates: when the best FAQ entry leads the next one by less than this, the customer is
    # asked which one they mean (a clarifying question with buttons) instead of being given one.
    knowledge_margin: float = 0.06
    # At or above: an FAQ entry is close enough to a scenario intent to be offered next to it.
    knowledge_clarify: float = 0.4
    # At or above, and ahead of the next entry by twice the margin: answered when no intent claims the
    # message (out_of_scope), where nothing competes with the FAQ.
    knowledge_alone: float = 0.35
    # At or above (IntentPrediction.similarity, the best intent's raw centroid/nearest-example cosine):
    # the message is phrased like a scenario's own examples, so that scenario starts unless the FAQ scores
    # knowledge_over_intent. Demo: FAQ questions phrased by customers stay below 0.29.
    intent_over_knowledge: float = 0.3
    # Below (share of the message's character bigrams found in the pack's intent examples and FAQ), with
    # no product, order id or error code named: no evidence the message is about the pack's domain, so
    # it starts no scenario ("유튜브 프리미엄 해지 방법", "엑셀 함수 알려줘"). Demo: in-domain >= 0.5.
    domain_coverage: float = 0.45


class BotSettings(_Spec, kw_only=True):
    id: str
    name: str
    brand: str
    locale: str = "ko"
    persona: Persona
    routes: dict[str, Route] = {}
    thresholds: Thresholds = msgspec.field(default_factory=Thresholds)
    transcript_keep: int = 50  # transcript lines kept per conversation
    # Short messages containing one of these leave a running scenario.
    leave_words: list[str] = msgspec.field(
        default_factory=lambda: ["그만할래", "그만 할래", "그만할게", "처음으로", "처음부터", "나갈래", "종료할래"]
    )


# --- intents.yaml --------------------------------------------------------------------------------


class IntentSpec(_Spec, kw_only=True):
    examples: list[str]
    description: str = ""


class IntentsFile(_Spec, kw_only=True):
    intents: dict[str, IntentSpec]


# --- faq.yaml ------------------------------------------------------------------------------------


class FaqEntry(_Spec, kw_only=True):
    id: str
    question: str
    answer: str
    alt_questions: list[str] = []  # other ways customers ask it (examples, like Kakao 지식+); matching uses them
    categories: list[str] = []
    products: list[str] = []  # lexicon.yaml product ids it is about; [] = not about one product
    landing_url: str | None = None
    image_url: str | None = None


class FaqFile(_Spec, kw_only=True):
    faq: list[FaqEntry]


# --- scenarios/*.yaml ----------------------------------------------------------------------------

SlotType = Literal["text", "phone", "date", "order_id", "error_code", "number", "regex"]
EndState = Literal["resolved", "ticket", "handoff", "info"]


class Choice(_Spec, kw_only=True):
    """A button on a step. Free text matching the label or one of `match` counts as pressing it."""

    label: str
    goto: str | None = None  # next step; None = stay (only with `url`/`phone`)
    set: dict[str, str] = {}  # slots to set when chosen
    match: list[str] = []  # other words that select this choice when typed
    url: str | None = None  # an open-URL button instead of a branch
    phone: str | None = None  # a call button instead of a branch


class Ask(_Spec, kw_only=True):
    """Collect one slot from free text, validated; re-ask, then give up."""

    slot: str
    type: SlotType = "text"
    pattern: str | None = None  # regex for type "regex"
    prompt: str  # the question
    reprompt: str  # said after an invalid answer
    max_retries: int = 2  # invalid answers tolerated before on_fail
    on_fail: str | None = None  # step to go to after too many bad answers; None = handoff


class Lookup(_Spec, kw_only=True):
    """Find `key` (a template) in a data table; the row's fields become slots `<save_as>.<field>`."""

    table: str
    key: str
    save_as: str
    found: str
    missing: str


class ToolCall(_Spec, kw_only=True):
    """Call a registered tool with templated args; the result's fields become `<save_as>.<field>`."""

    name: str
    args: dict[str, str] = {}
    save_as: str
    next: str
    on_error: str | None = None  # None = safe reply + handoff (reason tool_failure)


class Step(_Spec, kw_only=True):
    """One step. `say` (+ `image`) is said on entering; then exactly one of: `choices` (wait for a
    button), `ask` (wait for a slot), `lookup`/`tool` (act and move on), `next` (move on), `end`."""

    say: str | None = None
    image: str | None = None
    link: str | None = None  # a landing URL shown as a button with the text
    choices: list[Choice] = []
    ask: Ask | None = None
    lookup: Lookup | None = None
    tool: ToolCall | None = None
    next: str | None = None
    end: EndState | None = None
    handoff_reason: str | None = None  # with end: handoff
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class Scenario(_Spec, kw_only=True):
    id: str
    title: str  # shown in suggestions and handoff packets
    triggers: list[str] = []  # intent ids that start it (in addition to bot.yaml routes)
    issue_type: str | None = None  # TurnResult.issue_type while it runs
    start: str
    steps: dict[str, Step]


# --- tools.yaml ----------------------------------------------------------------------------------


class HttpTool(_Spec, kw_only=True):
    url: str  # may contain {arg} placeholders
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    auth_header: str | None = None  # e.g. "Authorization"
    auth_env: str | None = None  # environment variable holding the header value (secret)
    auth_prefix: str = ""  # e.g. "Bearer "
    timeout_s: float = 3.0
    retries: int = 1


class ToolSpec(_Spec, kw_only=True):
    name: str
    description: str
    builtin: Literal["get_order", "create_ticket", "kb_search"] | None = None
    http: HttpTool | None = None
    input_schema: dict[str, Any] = {}  # JSON schema of the arguments
    timeout_s: float = 3.0
    # create_ticket only: days a ticket record is kept. It holds the customer's phone unmasked, for one
    # purpose: the service team calls that number about the repair; afterwards it is deleted.
    retention_days: float = 90.0


class ToolsFile(_Spec, kw_only=True):
    tools: list[ToolSpec]


# --- escalation.yaml -----------------------------------------------------------------------------


class Escalation(_Spec, kw_only=True):
    fallback_limit: int = 2  # consecutive not-understood turns before a handoff
    profanity: list[str] = []  # words/stems; matched on normalised text
    refund_dispute: list[str] = []  # phrases that turn a refund question into a dispute
    agent_keywords: list[str] = []  # explicit requests for a person, beyond the agent_request intent
    priorities: dict[str, Literal["low", "normal", "high", "urgent"]] = {}  # by HandoffReason value


# --- data/ ---------------------------------------------------------------------------------------


class OrderItem(_Spec, kw_only=True):
    name: str
    quantity: int = 1
    price: int = 0


class Order(_Spec, kw_only=True):
    order_id: str
    status: str  # 결제완료 / 배송준비중 / 배송중 / 배송완료 / ...
    ordered_at: str
    customer_id: str
    items: list[OrderItem]
    carrier: str | None = None
    tracking_number: str | None = None
    delivered_at: str | None = None
    eta: str | None = None


class OrdersFile(_Spec, kw_only=True):
    orders: list[Order]


# --- the whole pack ------------------------------------------------------------------------------


# --- lexicon.yaml --------------------------------------------------------------------------------


class Lexicon(_Spec, kw_only=True):
    """The pack's own words: how its customers name things, and which words name which product."""

    synonyms: dict[str, str] = {}  # a word customers type -> the word the examples use ("리모콘": "리모컨")
    products: dict[str, list[str]] = {}  # product id -> words that name it ("soundbar": ["사운드바", "사바"])


class BotPack(msgspec.Struct, kw_only=True):
    root: str  # folder it was loaded from
    bot: BotSettings
    intents: dict[str, IntentSpec]
    faq: list[FaqEntry]
    scenarios: dict[str, Scenario]
    tools: list[ToolSpec]
    escalation: Escalation
    lexicon: Lexicon = msgspec.field(default_factory=Lexicon)
    orders: list[Order] = []
    tables: dict[str, dict[str, dict[str, str]]] = {}  # data/<name>.yaml other than orders

    def route_for(self, intent: str) -> Route | None:
        """The route of an intent: bot.yaml routes first, then a scenario that lists it as trigger."""
        if intent in self.bot.routes:
            return self.bot.routes[intent]
        for scenario in self.scenarios.values():
            if intent in scenario.triggers:
                return Route(scenario=scenario.id)
        return None
