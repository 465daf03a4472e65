"""Per-turn PII bookkeeping for model requests.

Everything sent to the model passes through `TurnPii.mask` (idempotent on already masked text), so a
phone number in a tool result or an older transcript line never leaves unmasked. Placeholders found
later in the turn are renumbered when they would collide with the customer's own, so one placeholder
always means one value. Restoring is selective: the outbound reply gets back only the allowed kinds
(the customer's own phone or e-mail), tool arguments get every kind except the refused ones (RRN, FRN,
card numbers are never used, not even by tools).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.policy.pii import REFUSED_KINDS, mask_pii, restore

PLACEHOLDER_RE = re.compile(r"<([A-Z]+)_(\d+)>")
_REFUSED = frozenset(kind.value for kind in REFUSED_KINDS)
# What a customer reads instead of a placeholder that is not restored.
_LABELS = {
    "PHONE": "(전화번호)",
    "EMAIL": "(이메일)",
    "ACCOUNT": "(계좌번호)",
    "CARD": "(카드번호)",
    "RRN": "(주민등록번호)",
    "FRN": "(외국인등록번호)",
}


def placeholder_kind(placeholder: str) -> str | None:
    match = PLACEHOLDER_RE.fullmatch(placeholder)
    return match.group(1) if match else None


class TurnPii:
    def __init__(self, originals: dict[str, str], restorable: Iterable[str]) -> None:
        self.originals = dict(originals)  # placeholder -> original, this turn only, never stored
        self._restorable = frozenset(kind.upper() for kind in restorable) - _REFUSED

    def mask(self, text: str) -> str:
        """`text` with any PII replaced by placeholders consistent with the turn's existing ones."""
        result = mask_pii(text)
        if not result.originals:
            return result.text
        by_value = {value: ph for ph, value in self.originals.items()}
        renames: dict[str, str] = {}
        for placeholder, value in result.originals.items():
            if value in by_value:
                renames[placeholder] = by_value[value]
                continue
            target = placeholder
            if target in self.originals:
                target = self._next_free(placeholder_kind(placeholder) or "PII")
            self.originals[target] = value
            by_value[value] = target
            renames[placeholder] = target
        return PLACEHOLDER_RE.sub(lambda m: renames.get(m.group(), m.group()), result.text)

    def for_customer(self, text: str) -> str:
        """Restore the kinds a customer may see echoed back; any other placeholder becomes a label."""
        allowed = {ph: v for ph, v in self.originals.items() if placeholder_kind(ph) in self._restorable}
        return PLACEHOLDER_RE.sub(lambda m: _LABELS.get(m.group(1), "(개인정보)"), restore(text, allowed))

    def scrub_refused(self, text: str) -> str:
        """Replace any RRN, FRN or card number in model output with a label (they are never shown)."""
        result = mask_pii(text)
        if not result.refused:
            return text
        pieces, cursor = [], 0
        for finding in result.findings:
            if finding.kind.value in _REFUSED:
                pieces += [text[cursor : finding.start], _LABELS[finding.kind.value]]
                cursor = finding.end
        return "".join(pieces) + text[cursor:]

    def for_tool(self, text: str) -> str:
        """Restore everything a tool may receive (never RRN, FRN or card numbers)."""
        allowed = {ph: v for ph, v in self.originals.items() if placeholder_kind(ph) not in _REFUSED}
        return restore(text, allowed)

    def unknown_placeholders(self, text: str) -> list[str]:
        """Placeholders in `text` that this turn never produced (the model made them up)."""
        return [m.group() for m in PLACEHOLDER_RE.finditer(text) if m.group() not in self.originals]

    def _next_free(self, kind: str) -> str:
        n = 1
        while f"<{kind}_{n}>" in self.originals:
            n += 1
        return f"<{kind}_{n}>"
