"""Slack mrkdwn in both directions: escaping text we post, and plain text from what people typed."""

from __future__ import annotations

import html
import re

# <@U123>, <@U123|name>, <#C123|general>, <!here>, <https://x|label>, <mailto:a@b|a@b>
_ANGLE = re.compile(r"<([^<>]+)>")


def escape(text: str) -> str:
    """Text safe inside mrkdwn: customers' `<!channel>` or `<https://evil|bank>` stay literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_plain(text: str, bot_user_id: str | None = None) -> str:
    """What a person typed in Slack as plain text: links show their target, mentions a readable name,
    our own mention is dropped, entities are decoded."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            if bot_user_id is not None and target[1:] == bot_user_id:
                return ""
            return f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return f"@{label or target[1:].split('^')[0]}"
        if target.startswith("mailto:"):
            return label or target[len("mailto:") :]
        if label and label != target:
            return f"{label} ({target})"
        return target

    return html.unescape(_ANGLE.sub(replace, text)).strip()
