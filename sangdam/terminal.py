"""Renders reply parts for a terminal and turns a typed number back into the button it names."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.messages import (
    Button,
    Card,
    Carousel,
    HandoffNotice,
    Image,
    ListPart,
    QuickReplies,
    ReplyPart,
    Text,
)


@dataclass
class TerminalView:
    lines: list[str] = field(default_factory=list)
    choices: list[Button] = field(default_factory=list)  # numbered 1..n in the order shown

    def add_buttons(self, buttons: list[Button]) -> None:
        shown = []
        for button in buttons:
            if button.kind in ("url", "phone"):
                shown.append(f"[{button.label}: {button.value}]")
            else:
                self.choices.append(button)
                shown.append(f"[{len(self.choices)}] {button.label}")
        if shown:
            self.lines.append("   " + "  ".join(shown))


def render_terminal(parts: list[ReplyPart]) -> TerminalView:
    view = TerminalView()
    for part in parts:
        if isinstance(part, Text):
            view.lines.extend(
                f"봇> {line}" if i == 0 else f"    {line}" for i, line in enumerate(part.text.splitlines())
            )
        elif isinstance(part, Image):
            view.lines.append(f"봇> (이미지) {part.url}")
        elif isinstance(part, Card):
            _card(view, part)
        elif isinstance(part, Carousel):
            for card in part.cards:
                _card(view, card)
        elif isinstance(part, ListPart):
            view.lines.append(f"봇> {part.header}")
            for item in part.items:
                view.lines.append(f"    • {item.title} {item.description}".rstrip())
                if item.action is not None:
                    view.add_buttons([item.action])
            view.add_buttons(part.buttons)
        elif isinstance(part, QuickReplies):
            view.add_buttons(part.options)
        elif isinstance(part, HandoffNotice):
            view.lines.append(f"봇> {part.text}")
            view.lines.append("    (상담직원 연결 대기 중)")
    return view


def _card(view: TerminalView, card: Card) -> None:
    head = " — ".join(x for x in (card.title, card.text) if x)
    if head:
        view.lines.append(f"봇> {head}")
    if card.image_url:
        view.lines.append(f"    (이미지) {card.image_url}")
    view.add_buttons(card.buttons)


def resolve_input(typed: str, choices: list[Button]) -> tuple[str, str | None]:
    """(text, payload) for what the customer typed: a number picks the numbered button."""
    stripped = typed.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(choices):
        button = choices[int(stripped) - 1]
        if button.kind == "postback":
            return button.label, button.value
        return (button.value or button.label), None
    return typed, None
