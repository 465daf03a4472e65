"""Every Slack message and Block Kit limit the adapter relies on, and the one place text is cut to fit.

Numbers: docs.slack.dev/reference/block-kit (block counts) and the validators in slack_sdk
`models/blocks` (field lengths); see docs/slack.md of the shared reference.
"""

from __future__ import annotations

from typing import Any

BLOCKS_PER_MESSAGE = 50
# Block-heavy messages fail with msg_blocks_too_long well below the per-block limits (≈13k characters of
# text reported): keep the text carried by one message's blocks under this.
BLOCK_CHARS_PER_MESSAGE = 11_000
FALLBACK_TEXT_MAX = 3_000  # top-level `text` (Slack truncates at 40k; notifications want it short)
SECTION_TEXT_MAX = 3_000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2_000
HEADER_TEXT_MAX = 150
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2_000
URL_MAX = 3_000  # a button's url and an image block's image_url
IMAGE_ALT_MAX = 2_000

ELLIPSIS = "…"


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at line breaks (else spaces) where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def block_chars(block: dict[str, Any]) -> int:
    """Characters of text a block carries (what msg_blocks_too_long counts, roughly)."""
    total = 0
    for key, value in block.items():
        if key == "text" and isinstance(value, dict):
            total += len(str(value.get("text", "")))
        elif key in ("fields", "elements") and isinstance(value, list):
            total += sum(block_chars(item) if isinstance(item, dict) else 0 for item in value)
        elif key == "text" and isinstance(value, str):
            total += len(value)
    return total


def is_http_url(value: str) -> bool:
    """An http(s) URL Slack accepts in a button or an image block."""
    return value.startswith(("https://", "http://")) and len(value) <= URL_MAX
