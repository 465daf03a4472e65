"""Per-turn PII bookkeeping for model requests.

Everything sent to the model passes through `TurnPii.mask` (idempotent on already masked text), so a
phone number in a tool result or an older transcript line never leaves unmasked. Only the new findings
are replaced; placeholders already in the text are left exactly as they are. A new value that would
collide with one of the turn's placeholders gets the next free number, so within a turn one
placeholder always means one value.

Placeholders from earlier messages (transcript lines, the running summary, collected fields) were
numbered per message and their originals are gone, so "<PHONE_1>" there may be a different number
than this turn's "<PHONE_1>". `EarlierNames` renames them to "<EARLIER_PHONE_n>", unique across the
request and never restorable: an earlier value can never be put back as this turn's.

Restoring is selective: the outbound reply gets back only the allowed kinds (the customer's own phone
or e-mail), tool arguments get every kind except the refused ones (RRN, FRN, card numbers are never
used, not even by tools).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.policy.pii import REFUSED_KINDS, mask_pii, restore

PLACEHOLDER_RE = re.compile(r"<([A-Z]+)_(\d+)>")
EARLIER_RE = re.compile(r"<EARLIER_([A-Z]+)_(\d+)>")
# Any placeholder, this turn's or an earlier one.
ANY_PLACEHOLDER_RE = re.compile(r"<(?:EARLIER_)?([A-Z]+)_(\d+)>")
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


class EarlierNames:
    """Renames the placeholders of earlier texts, one text at a time, to names unique in one request.

    Within one text the same placeholder is one value (the engine masks per message); across texts it
    is not, so each text gets fresh numbers. Texts are renamed in request order, so an append-only
    history gets the same names on every turn (the provider's prompt cache still matches).
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def rename(self, text: str) -> str:
        names: dict[str, str] = {}

        def fresh(match: re.Match[str]) -> str:
            if match.group() not in names:
                kind = match.group(1)
                self._counts[kind] = self._counts.get(kind, 0) + 1
                names[match.group()] = f"<EARLIER_{kind}_{self._counts[kind]}>"
            return names[match.group()]

        return ANY_PLACEHOLDER_RE.sub(fresh, text)


class TurnPii:
    def __init__(self, originals: dict[str, str], restorable: Iterable[str]) -> None:
        self.originals = dict(originals)  # placeholder -> original, this turn only, never stored
        self._restorable = frozenset(kind.upper() for kind in restorable) - _REFUSED
        self._taken = set(self.originals)  # names a new value may not get: known, or seen in a text

    def mask(self, text: str) -> str:
        """`text` with any new PII replaced by placeholders consistent with the turn's existing ones."""
        result = mask_pii(text)
        if not result.findings:
            return result.text
        self._taken.update(m.group() for m in PLACEHOLDER_RE.finditer(text))
        by_value = {value: ph for ph, value in self.originals.items()}
        pieces, cursor = [], 0
        for finding in result.findings:
            value = text[finding.start : finding.end]
            target = by_value.get(value)
            if target is None:
                target = self._next_free(finding.kind.value)
                self.originals[target] = value
                self._taken.add(target)
                by_value[value] = target
            pieces += [text[cursor : finding.start], target]
            cursor = finding.end
        return "".join(pieces) + text[cursor:]

    def mask_earlier(self, text: str, names: EarlierNames) -> str:
        """An earlier text for the model: its placeholders renamed, then any PII left in it masked."""
        return self.mask(names.rename(text))

    def for_customer(self, text: str) -> str:
        """Restore the kinds a customer may see echoed back; any other placeholder becomes a label."""
        allowed = {ph: v for ph, v in self.originals.items() if placeholder_kind(ph) in self._restorable}
        return ANY_PLACEHOLDER_RE.sub(lambda m: _LABELS.get(m.group(1), "(개인정보)"), restore(text, allowed))

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

    def _next_free(self, kind: str) -> str:
        n = 1
        while f"<{kind}_{n}>" in self._taken:
            n += 1
        return f"<{kind}_{n}>"
