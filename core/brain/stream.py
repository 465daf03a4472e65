"""Streaming the reply text out of a structured (JSON) answer while it is being generated.

The model streams JSON such as {"reply": "안녕하세요 ...", "action": ...}. `ReplyFieldStream` pulls the
characters of the top-level "reply" string out of the raw deltas as they arrive (the schema puts it
first), decoding JSON escapes; `PlaceholderStream` holds back a possibly half-received "<PHONE_1>" (so
restoring never sees a split placeholder) and a trailing run of digits (so a number the model should
never have written is seen whole by the scrubber before any of it is sent). Together they turn raw
deltas into customer-ready text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

TextSink = Callable[[str], Awaitable[None]]  # where streamed reply text goes (a channel's writer)

_REPLY_KEY_RE = re.compile(r'"reply"\s*:\s*"')
# "<PHONE_1>" or "<EARLIER_PHONE_12>" cut anywhere
_PARTIAL_PLACEHOLDER_RE = re.compile(r"<[A-Z_]*\d*$")
_TRAILING_NUMBER_RE = re.compile(r"[+(]?\d[\d\s().\-]*$")
_MAX_PLACEHOLDER = 24


class ReplyFieldStream:
    """Feeds raw JSON deltas, returns newly decoded characters of the "reply" value."""

    def __init__(self) -> None:
        self._raw = ""
        self._pos: int | None = None  # index in _raw of the next undecoded reply character
        self.done = False

    def feed(self, delta: str) -> str:
        if self.done:
            return ""
        self._raw += delta
        if self._pos is None:
            match = _REPLY_KEY_RE.search(self._raw)
            if match is None:
                return ""
            self._pos = match.end()
        out: list[str] = []
        raw, i = self._raw, self._pos
        while i < len(raw):
            ch = raw[i]
            if ch == '"':
                self.done = True
                i += 1
                break
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            if i + 1 >= len(raw):
                break  # escape split across deltas: wait for the rest
            if raw[i + 1] == "u":
                if i + 6 > len(raw):
                    break
                code = raw[i : i + 6]
                # A surrogate pair needs both halves before it decodes.
                if 0xD800 <= int(code[2:], 16) <= 0xDBFF:
                    if i + 12 > len(raw):
                        break
                    code = raw[i : i + 12]
                out.append(_decode_escape(code))
                i += len(code)
                continue
            out.append(_decode_escape(raw[i : i + 2]))
            i += 2
        self._pos = i
        return "".join(out)


def _decode_escape(escape: str) -> str:
    try:
        value = json.loads(f'"{escape}"')
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


class PlaceholderStream:
    """Passes text through `scrub` then `restore`, holding back a tail that may continue: the start of
    a placeholder or a number still being written."""

    def __init__(
        self,
        restore: Callable[[str], str],
        sink: TextSink,
        scrub: Callable[[str], str] = lambda text: text,
    ) -> None:
        self._restore = restore
        self._scrub = scrub
        self._sink = sink
        self._pending = ""

    async def feed(self, text: str) -> None:
        self._pending += text
        cut = len(self._pending)
        tail = _PARTIAL_PLACEHOLDER_RE.search(self._pending[-_MAX_PLACEHOLDER:])
        if tail is not None:
            cut = len(self._pending) - len(tail.group())
        number = _TRAILING_NUMBER_RE.search(self._pending[:cut])
        if number is not None:
            cut = number.start()
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        await self._emit(ready)

    async def flush(self) -> None:
        ready, self._pending = self._pending, ""
        await self._emit(ready)

    async def _emit(self, text: str) -> None:
        if text:
            await self._sink(self._restore(self._scrub(text)))
