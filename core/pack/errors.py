"""Problems found in a bot pack: each names the file, the line and a concrete fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import msgspec

WARNING_PREFIX = "warning: "


class PackIssue(msgspec.Struct, frozen=True):
    file: str  # path relative to the pack root, e.g. "scenarios/power.yaml"
    line: int | None  # 1-based line of the offending node (None if unknown)
    message: str  # what is wrong
    fix: str  # how to fix it

    @property
    def is_warning(self) -> bool:
        """Warnings are reported by `check_pack` but do not stop `load_pack`."""
        return self.message.startswith(WARNING_PREFIX)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message} — fix: {self.fix}"


class PackError(Exception):
    """Raised by `load_pack` with every error found, not just the first."""

    def __init__(self, issues: list[PackIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


def did_you_mean(word: str, known: Iterable[str], what: str = "known") -> str:
    """'did you mean `x`? known: a, b, c' — the fix text for a name that matches nothing."""
    names = sorted(set(known))
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    listing = f"{what}: {', '.join(names)}" if names else f"there are no {what.split()[-1]} yet"
    if close:
        return f"did you mean `{close[0]}`? {listing}"
    return listing
