"""Evaluate an intent classifier on labelled utterances (a held-out TSV file)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from core.nlu.classifier import IntentClassifier

TSV_HEADER = ["text", "intent"]


class EvaluationDataError(ValueError):
    """A labelled-utterance file is malformed; the message names the file and line."""


def read_tsv(path: str | Path, header: list[str] = TSV_HEADER) -> list[tuple[str, str]]:
    """Rows of a two-column TSV file with `header` as its first line. Blank lines are skipped."""
    path = Path(path)
    shape = "<TAB>".join(header)
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].rstrip("\r").split("\t") != header:
        raise EvaluationDataError(f"{path}:1: header must be '{shape}'")
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise EvaluationDataError(f"{path}:{number}: expected '{shape}' (2 non-empty fields), got {len(fields)}")
        rows.append((fields[0].strip(), fields[1].strip()))
    return rows


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def evaluate(classifier: IntentClassifier, rows: list[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-intent precision/recall/F1, confusion, errors and latency (JSON-able)."""
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    errors: list[dict[str, Any]] = []
    latencies: list[float] = []
    for text, expected in rows:
        started = time.perf_counter()
        prediction = classifier.predict(text)
        latencies.append((time.perf_counter() - started) * 1000.0)
        confusion[expected][prediction.intent] += 1
        if prediction.intent != expected:
            errors.append(
                {
                    "text": text,
                    "expected": expected,
                    "predicted": prediction.intent,
                    "confidence": prediction.confidence,
                }
            )
    report = classification_report(confusion, latencies)
    return {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "per_intent": report["per_class"],
        "confusion": report["confusion"],
        "errors": errors,
        "latency_ms": report["latency_ms"],
    }


def classification_report(confusion: dict[str, Counter[str]], latencies_ms: list[float]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion and latency p50/p99.

    `confusion[expected][got]` counts the rows; every expected label is a class.
    """
    labels = sorted(set(confusion) | {got for counts in confusion.values() for got in counts})
    total = sum(sum(counts.values()) for counts in confusion.values())
    correct = sum(confusion[label][label] for label in labels)
    per_class: dict[str, dict[str, float | int]] = {}
    for label in labels:
        true_positive = confusion[label][label]
        predicted = sum(c[label] for c in confusion.values())
        support = sum(confusion[label].values())
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    supported = [label for label in labels if per_class[label]["support"]]
    macro_f1 = sum(float(per_class[label]["f1"]) for label in supported) / len(supported) if supported else 0.0
    latencies = sorted(latencies_ms)
    return {
        "accuracy": round(correct / total, 4) if total else 0.0,
        "macro_f1": round(macro_f1, 4),
        "per_class": per_class,
        "confusion": {label: dict(confusion[label]) for label in labels if confusion[label]},
        "latency_ms": {
            "p50": round(_percentile(latencies, 0.50), 4),
            "p99": round(_percentile(latencies, 0.99), 4),
        },
    }
