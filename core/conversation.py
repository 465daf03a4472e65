"""Conversation state: everything the engine remembers about one customer between turns."""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec

from core.messages import TranscriptEntry


class ScenarioState(msgspec.Struct, kw_only=True):
    """Where a running scenario waits for the customer."""

    scenario_id: str
    step_id: str
    retries: int = 0  # bad answers given to the current ask step


class Conversation(msgspec.Struct, kw_only=True):
    key: str  # "channel:conversation_key"
    channel: str
    user_id: str
    slots: dict[str, str] = {}  # collected fields (masked values only)
    scenario: ScenarioState | None = None
    transcript: list[TranscriptEntry] = []
    fallback_count: int = 0  # consecutive turns the bot did not understand
    last_intent: str | None = None
    owner: Literal["bot", "agent"] = "bot"  # an agent owns it after a handoff is claimed
    handed_off: bool = False  # a handoff is open (waiting for or owned by an agent)
    tools_tried: list[str] = []
    awaiting_csat: bool = False
    memory: dict[str, Any] = {}  # room for other components (e.g. the LLM brain's summary)
    created_at: float = msgspec.field(default_factory=time.time)
    updated_at: float = msgspec.field(default_factory=time.time)

    def note_tool(self, name: str, keep: int = 20) -> None:
        """Record a tool call for handoff packets, keeping the newest `keep`."""
        self.tools_tried.append(name)
        del self.tools_tried[:-keep]

    def remember(self, role: Literal["customer", "bot", "agent", "system"], text: str, keep: int) -> None:
        """Append a (masked) line to the transcript, keeping the newest `keep` lines."""
        self.transcript.append(TranscriptEntry(role=role, text=text))
        if len(self.transcript) > keep:
            del self.transcript[: len(self.transcript) - keep]
