"""A nesting-depth guard for untrusted JSON, checked on the raw bytes before any decoder sees them.

Decoders recurse once per `[` / `{`: msgspec raises RecursionError near 1,000 levels, the standard
library's json does too, and code walking the decoded value recurses again. Real payloads nest a few
levels (Kakao's SkillPayload ~5, Slack's block_actions ~12), so anything deeper than `MAX_DEPTH` is
refused as malformed before it is decoded.

The check is linear in the input and runs in C-level bytes operations (replace, split, translate) plus
one pass over the brackets outside strings; string contents (escaped quotes included) are skipped, and
the decoder later reports any syntax error. Inputs with no more brackets than the limit cannot be too
deep and are not scanned at all. A 1 MB body of brackets takes ~10 ms; a typical payload ~1 µs.
"""

from __future__ import annotations

from itertools import accumulate

MAX_DEPTH = 64

_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# `[`, `{` -> +1 and `]`, `}` -> -1 (0xff read as a signed byte).
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def too_deep(data: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """True if the JSON text `data` opens more than `limit` arrays/objects inside one another."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the common case: too few brackets to be too deep, no scan
    # Outside strings only: drop escaped backslashes, then escaped quotes (pairing left to right, as a
    # decoder does); the quotes left delimit strings, whose contents are the odd pieces of a split.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[::2])  # an unterminated string runs to the end
    steps = outside.translate(None, _NOT_BRACKET).translate(_STEP)
    if len(steps) <= limit:
        return False
    # The deepest point of the running open-minus-close count. Stray closers make it smaller than a
    # lenient reader's depth, but a decoder stops at the first stray closer and never gets deeper.
    return max(accumulate(memoryview(steps).cast("b"))) > limit
