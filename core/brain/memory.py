"""Conversation memory for the brain: a window of recent turns plus a running summary of older ones.

The history comes from the conversation's (masked) transcript, so turns the local engine answered are
part of it too. Recent turns are sent verbatim; when more than `summary_after_turns` customer turns are
unsummarised, everything but the last `window_turns` turns is folded into the summary in one go. Folding
in batches keeps the message list append-only between folds, which is what providers' prompt caches
reward, and costs one summary call per batch instead of one per turn.

The brain's state lives in `conversation.memory["brain"]` (plain JSON-able values; saved with the
conversation by the engine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from core.brain.client import Usage
from core.conversation import Conversation
from core.messages import TranscriptEntry

MEMORY_KEY = "brain"
_EXTRACT_LINE_CHARS = 80
_EXTRACT_MAX_CHARS = 900


class UsageTotals(Usage, kw_only=True):
    """A conversation's token totals (`Usage.add`) plus its call and turn counts."""

    model_calls: int = 0
    cache_hits: int = 0  # turns answered from the duplicate-question cache
    turns: int = 0


class BrainState(msgspec.Struct, kw_only=True):
    summary: str = ""
    summary_until: float = 0.0  # `at` of the newest transcript entry folded into the summary
    summarised_turns: int = 0  # customer turns folded so far
    usage: UsageTotals = msgspec.field(default_factory=UsageTotals)
    last_usage: dict[str, int] = {}  # the latest turn's usage

    @classmethod
    def load(cls, conversation: Conversation) -> BrainState:
        raw = conversation.memory.get(MEMORY_KEY)
        if not isinstance(raw, dict):
            return cls()
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError:
            return cls()  # an older/foreign shape is not worth failing a turn for

    def save(self, conversation: Conversation) -> None:
        conversation.memory[MEMORY_KEY] = msgspec.to_builtins(self)


def history(transcript: list[TranscriptEntry], current_text: str, summary_until: float) -> list[TranscriptEntry]:
    """Unsummarised transcript lines before the current message (system lines left out)."""
    entries = [e for e in transcript if e.role != "system" and e.at > summary_until]
    # The engine may already have appended the message being answered.
    if entries and entries[-1].role == "customer" and entries[-1].text == current_text:
        entries.pop()
    return entries


def split_for_summary(
    entries: list[TranscriptEntry], window_turns: int, summary_after_turns: int
) -> tuple[list[TranscriptEntry], list[TranscriptEntry]]:
    """(to fold into the summary, to keep verbatim). Nothing is folded until the batch is full."""
    starts = [i for i, e in enumerate(entries) if e.role == "customer"]
    if len(starts) <= summary_after_turns:
        return [], entries
    cut = starts[-window_turns]
    return entries[:cut], entries[cut:]


def as_messages(entries: list[TranscriptEntry]) -> list[dict[str, Any]]:
    """Chat messages; consecutive lines of one side are joined, since strict chat templates need
    user and assistant turns to alternate (a bot often says several things in a row)."""
    messages: list[dict[str, Any]] = []
    for entry in entries:
        if entry.role == "customer":
            role, text = "user", entry.text
        elif entry.role == "bot":
            role, text = "assistant", entry.text
        elif entry.role == "agent":
            role, text = "assistant", f"[상담직원] {entry.text}"
        else:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n" + text
        else:
            messages.append({"role": role, "content": text})
    return messages


def transcript_text(entries: list[TranscriptEntry], line: Callable[[str], str] = str) -> str:
    """The lines as a transcript for the summariser; `line` prepares each line's text."""
    names = {"customer": "고객", "bot": "챗봇", "agent": "상담직원"}
    return "\n".join(f"{names.get(e.role, e.role)}: {line(e.text)}" for e in entries)


def extract_summary(previous: str, entries: list[TranscriptEntry]) -> str:
    """A model-free summary: the customer's lines, shortened, newest kept when it grows too long."""
    lines = [previous] if previous else []
    for entry in entries:
        if entry.role == "customer":
            text = " ".join(entry.text.split())
            if len(text) > _EXTRACT_LINE_CHARS:
                text = text[:_EXTRACT_LINE_CHARS] + "…"
            lines.append("고객: " + text)
    joined = "\n".join(lines)
    return joined[-_EXTRACT_MAX_CHARS:]
