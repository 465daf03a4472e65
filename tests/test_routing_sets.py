"""Held-out routing sets for the demo bot: tests/data/routing_dev.tsv and routing_test.tsv.

Each line is a free-form customer message and what the bot should do with it:
    faq:<id>        one FAQ entry answers it
    scenario:<id>   a troubleshooting / order flow should start
    intent:<name>   an intent with its own reply route (greeting, thanks, out_of_scope)
    handoff         hand the chat to a person (explicit ask, profanity, refund dispute)

The dev part is for tuning; the test part is reported once at the end. These tests keep the sets
honest: labels must exist in the pack, no line may be a copy or a near-copy of training text
(intent examples, FAQ questions and alt_questions), and dev and test must not share lines.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from core.pack.loader import load_pack
from core.pack.schema import BotPack

ROOT = Path(__file__).resolve().parents[1]
DEMO_BOT = ROOT / "bots" / "demo"
DATA = ROOT / "tests" / "data"
DEV = DATA / "routing_dev.tsv"
TEST = DATA / "routing_test.tsv"
HEADER = ["text", "expected"]
NEAR_DUPLICATE = 0.8  # character-bigram Jaccard similarity at or above this is a near-copy

# Minimum messages per label over dev + test together.
MIN_PER_FAQ = 4
MIN_PER_SCENARIO = 6
MIN_PER_INTENT = {"greeting": 15, "thanks": 15, "out_of_scope": 40}
MIN_HANDOFF = 20
MIN_TOTAL = 340


def normalize(text: str) -> str:
    """NFKC, lowercase, drop whitespace, punctuation, symbols and control characters.

    Hangul jamo (ㅠ, ㄱㅅ, ㅋ) are letters and stay.
    """
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PSZC")


def bigrams(normalized: str) -> frozenset[str]:
    if len(normalized) < 2:
        return frozenset([normalized]) if normalized else frozenset()
    return frozenset(normalized[i : i + 2] for i in range(len(normalized) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def read_rows(path: Path) -> list[tuple[int, str, str]]:
    """(line number, text, label) for each data line; raises AssertionError on a malformed line."""
    raw = path.read_bytes().decode("utf-8")  # strict: not UTF-8 is an error
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    assert lines, f"{path.name} is empty"
    assert lines[0].rstrip("\r").split("\t") == HEADER, f"{path.name}: header must be text<TAB>expected"
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        parts = line.split("\t")
        assert len(parts) == 2, f"{path.name}:{number}: expected 2 tab-separated fields, got {len(parts)}"
        text, label = parts
        assert text.strip() and text == text.strip(), f"{path.name}:{number}: empty or padded text"
        assert normalize(text), f"{path.name}:{number}: nothing left after normalisation: {text!r}"
        assert label and label == label.strip(), f"{path.name}:{number}: empty or padded label"
        rows.append((number, text, label))
    return rows


@pytest.fixture(scope="module")
def pack() -> BotPack:
    return load_pack(DEMO_BOT)


@pytest.fixture(scope="module")
def sets() -> dict[str, list[tuple[int, str, str]]]:
    return {"dev": read_rows(DEV), "test": read_rows(TEST)}


def valid_labels(pack: BotPack) -> set[str]:
    labels = {f"faq:{entry.id}" for entry in pack.faq}
    labels |= {f"scenario:{scenario_id}" for scenario_id in pack.scenarios}
    for intent in pack.intents:
        route = pack.route_for(intent)
        # Intents that start a scenario are labelled scenario:<id>; the person route is `handoff`.
        if route is not None and (route.scenario or route.handoff):
            continue
        labels.add(f"intent:{intent}")
    labels.add("handoff")
    return labels


def training_texts(pack: BotPack) -> list[tuple[str, str]]:
    """(where, text) for every text the NLU or the FAQ search learns from."""
    texts = [(f"intent {name}", example) for name, spec in pack.intents.items() for example in spec.examples]
    for entry in pack.faq:
        texts.append((f"faq {entry.id} question", entry.question))
        texts += [(f"faq {entry.id} alt_questions", alt) for alt in entry.alt_questions]
        texts += [(f"faq {entry.id} examples", ex) for ex in getattr(entry, "examples", None) or []]
    return texts


# --- (a) format and labels -----------------------------------------------------------------------


def test_every_line_parses_and_names_a_real_target(pack: BotPack, sets) -> None:
    labels = valid_labels(pack)
    unknown = [
        f"{name}:{number} {label}" for name, rows in sets.items() for number, _, label in rows if label not in labels
    ]
    assert unknown == []


def test_no_duplicates_inside_a_file(sets) -> None:
    for name, rows in sets.items():
        seen: dict[str, int] = {}
        duplicates = []
        for number, text, _ in rows:
            key = normalize(text)
            if key in seen:
                duplicates.append(f"{name}:{number} repeats line {seen[key]}: {text}")
            seen.setdefault(key, number)
        assert duplicates == []


# --- (b) not copied from training ------------------------------------------------------------------


def test_no_line_is_a_training_example(pack: BotPack, sets) -> None:
    training = {normalize(text): where for where, text in training_texts(pack)}
    copies = [
        f"{name}:{number} {text!r} = {training[normalize(text)]}"
        for name, rows in sets.items()
        for number, text, _ in rows
        if normalize(text) in training
    ]
    assert copies == []


def test_no_line_is_close_to_a_training_example(pack: BotPack, sets) -> None:
    training = [(where, text, bigrams(normalize(text))) for where, text in training_texts(pack)]
    close = []
    for name, rows in sets.items():
        for number, text, _ in rows:
            grams = bigrams(normalize(text))
            for where, example, example_grams in training:
                similarity = jaccard(grams, example_grams)
                if similarity >= NEAR_DUPLICATE:
                    close.append(f"{name}:{number} {text!r} ~ {example!r} ({where}, {similarity:.2f})")
    assert close == []


def test_near_duplicate_check_catches_light_edits() -> None:
    # Spacing, punctuation, case and emoticon-free rewrites are the same text after normalisation.
    assert normalize("와이파이 비밀번호는 어떻게 바꾸나요?") == normalize("와이파이비밀번호는어떻게 바꾸나요")
    assert normalize("ＴＶ 화면이 깜빡거려요!!") == normalize("tv화면이깜빡거려요")
    # One syllable more or less on a long sentence is a near-copy.
    a = bigrams(normalize("공유기 관리자 페이지에 어떻게 접속하나요"))
    b = bigrams(normalize("공유기 관리자 페이지에 어떻게 접속하나여"))
    assert jaccard(a, b) >= NEAR_DUPLICATE
    # A genuinely different message is not.
    c = bigrams(normalize("공유기 관리 페이지 주소 좀"))
    assert jaccard(a, c) < NEAR_DUPLICATE


# --- (c) dev and test are disjoint -------------------------------------------------------------------


def test_dev_and_test_share_no_line(sets) -> None:
    dev = {normalize(text): number for number, text, _ in sets["dev"]}
    shared = [
        f"test:{number} = dev:{dev[normalize(text)]} {text!r}"
        for number, text, _ in sets["test"]
        if normalize(text) in dev
    ]
    assert shared == []


# --- (d) coverage -------------------------------------------------------------------------------------


def test_test_part_covers_every_faq_entry_and_scenario(pack: BotPack, sets) -> None:
    in_test = {label for _, _, label in sets["test"]}
    missing = [f"faq:{entry.id}" for entry in pack.faq if f"faq:{entry.id}" not in in_test]
    missing += [f"scenario:{sid}" for sid in pack.scenarios if f"scenario:{sid}" not in in_test]
    assert missing == []


def test_every_label_is_in_both_parts(sets) -> None:
    dev = {label for _, _, label in sets["dev"]}
    test = {label for _, _, label in sets["test"]}
    assert sorted(dev ^ test) == []


def test_minimum_counts(pack: BotPack, sets) -> None:
    counts = Counter(label for rows in sets.values() for _, _, label in rows)
    assert sum(counts.values()) >= MIN_TOTAL
    short = [f"faq:{e.id}={counts[f'faq:{e.id}']}" for e in pack.faq if counts[f"faq:{e.id}"] < MIN_PER_FAQ]
    short += [
        f"scenario:{s}={counts[f'scenario:{s}']}" for s in pack.scenarios if counts[f"scenario:{s}"] < MIN_PER_SCENARIO
    ]
    short += [f"intent:{i}={counts[f'intent:{i}']}" for i, n in MIN_PER_INTENT.items() if counts[f"intent:{i}"] < n]
    if counts["handoff"] < MIN_HANDOFF:
        short.append(f"handoff={counts['handoff']}")
    assert short == []


def test_split_is_roughly_40_60(sets) -> None:
    dev, test = len(sets["dev"]), len(sets["test"])
    assert 0.35 <= dev / (dev + test) <= 0.45
