"""Compare local intent-classification methods on the demo pack.

    .venv/bin/python bench/nlu_methods.py [--pack bots/demo] [--heldout tests/data/nlu_heldout.tsv]

Features: (a) character n-grams (1-4 over spacing-removed text + word-start grams), (b) kiwipiepy
morphemes (form/tag) + morpheme bigrams. Models on the same TF-IDF vectors: centroid cosine,
nearest example (1-NN cosine), and the hybrid mix used by core.nlu.classifier.
Hyper-parameters (alpha, temperature) are chosen by 5-fold cross-validation on the TRAINING
examples only; the held-out file is used once per method for the reported figures.
Prints accuracy, macro-F1, latency p50/p99 per utterance, start-up (train) time and memory.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import msgspec
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.nlu.classifier import IntentClassifier, default_featurizer  # noqa: E402
from core.nlu.evaluate import evaluate, read_tsv  # noqa: E402
from core.nlu.normalize import normalize  # noqa: E402
from core.pack.schema import IntentsFile, IntentSpec  # noqa: E402

Featurizer = Callable[[str], Counter[str]]
MODELS = {"centroid": [1.0], "1-NN": [0.0], "hybrid": [0.3, 0.5, 0.7]}
TEMPERATURES = [15.0, 20.0, 30.0, 45.0, 60.0]


def kiwi_featurizer() -> Featurizer:
    from kiwipiepy import Kiwi

    kiwi = Kiwi()

    def featurize(text: str) -> Counter[str]:
        tokens = [f"{token.form}/{token.tag}" for token in kiwi.tokenize(normalize(text))]
        grams: Counter[str] = Counter(tokens)
        grams.update(f"{a}+{b}" for a, b in zip(tokens, tokens[1:], strict=False))
        return grams

    return featurize


def folds(intents: dict[str, IntentSpec], k: int = 5) -> list[tuple[dict[str, IntentSpec], list]]:
    out = []
    for fold in range(k):
        train = {
            name: IntentSpec(examples=[e for i, e in enumerate(spec.examples) if i % k != fold])
            for name, spec in intents.items()
        }
        test = [(e, name) for name, spec in intents.items() for i, e in enumerate(spec.examples) if i % k == fold]
        out.append((train, test))
    return out


def rss_mb() -> float:
    """Resident set size now (Linux /proc); catches native memory tracemalloc cannot see (Kiwi's model)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def expected_calibration_error(clf: IntentClassifier, rows: list[tuple[str, str]], bins: int = 10) -> float:
    """|confidence - accuracy| averaged over confidence bins, weighted by bin size (argmax, no threshold)."""
    buckets: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for text, intent in rows:
        prediction = clf.predict(text)
        best = prediction.ranking[0][0] if prediction.ranking else "out_of_scope"
        confidence = prediction.confidence
        buckets[min(bins - 1, int(confidence * bins))].append((confidence, best == intent))
    error = 0.0
    for bucket in buckets:
        if bucket:
            mean_conf = sum(c for c, _ in bucket) / len(bucket)
            accuracy = sum(ok for _, ok in bucket) / len(bucket)
            error += len(bucket) / len(rows) * abs(mean_conf - accuracy)
    return error


def cv_accuracy(intents: dict[str, IntentSpec], featurize: Featurizer, alpha: float, temp: float) -> float:
    featurize = functools.lru_cache(maxsize=None)(featurize)  # same texts across folds; CV speed only
    hits = total = 0
    for train, test in folds(intents):
        clf = IntentClassifier.train(train, 0.5, featurize=featurize, alpha=alpha, temperature=temp)
        hits += sum(clf.predict(text).intent == intent for text, intent in test)
        total += len(test)
    return hits / total


def measure(name: str, make_featurizer: Callable[[], Featurizer], intents, heldout) -> list[dict]:
    gc.collect()
    rss_before = rss_mb()
    tracemalloc.start()
    started = time.perf_counter()
    featurize = make_featurizer()
    load_s = time.perf_counter() - started
    load_mem, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    load_rss = rss_mb() - rss_before
    rows = []
    for model, alphas in MODELS.items():
        best = max(
            ((cv_accuracy(intents, featurize, a, t), a, t) for a in alphas for t in TEMPERATURES),
            key=lambda item: item[0],
        )
        cv, alpha, temp = best
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        clf = IntentClassifier.train(intents, 0.5, featurize=featurize, alpha=alpha, temperature=temp)
        train_s = time.perf_counter() - started
        model_mem, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        for text, _ in heldout[:20]:  # warm-up
            clf.predict(text)
        report = evaluate(clf, heldout)
        rows.append(
            {
                "features": name,
                "model": model,
                "alpha": alpha,
                "T": temp,
                "cv_acc": cv,
                "heldout_acc": report["accuracy"],
                "macro_f1": report["macro_f1"],
                "p50_ms": report["latency_ms"]["p50"],
                "p99_ms": report["latency_ms"]["p99"],
                "startup_s": load_s + train_s,
                "mem_mb": (load_mem + model_mem) / 1e6,
                "rss_mb": load_rss,
                "ece": expected_calibration_error(clf, heldout),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="bots/demo")
    parser.add_argument("--heldout", default="tests/data/nlu_heldout.tsv")
    args = parser.parse_args()
    raw = yaml.safe_load(Path(args.pack, "intents.yaml").read_text(encoding="utf-8"))
    intents = msgspec.convert(raw, IntentsFile).intents
    heldout = read_tsv(args.heldout)
    rows = measure("char-ngram", lambda: default_featurizer, intents, heldout)
    rows += measure("kiwi-morph", kiwi_featurizer, intents, heldout)
    header = (
        f"{'features':<11} {'model':<9} {'alpha':>5} {'T':>4} {'cv_acc':>6} {'heldout':>7} {'mF1':>5} "
        f"{'p50ms':>6} {'p99ms':>6} {'start_s':>7} {'py_MB':>6} {'+rss_MB':>7} {'ECE':>5}"
    )
    print(f"train examples: {sum(len(s.examples) for s in intents.values())}, held-out: {len(heldout)}")
    print(header)
    for r in rows:
        print(
            f"{r['features']:<11} {r['model']:<9} {r['alpha']:>5.1f} {r['T']:>4.0f} {r['cv_acc']:>6.3f} "
            f"{r['heldout_acc']:>7.3f} {r['macro_f1']:>5.3f} {r['p50_ms']:>6.3f} {r['p99_ms']:>6.3f} "
            f"{r['startup_s']:>7.3f} {r['mem_mb']:>6.1f} {r['rss_mb']:>7.1f} {r['ece']:>5.3f}"
        )
    print(f"python {sys.version.split()[0]}; py_MB = tracemalloc (loader + model); +rss_MB = RSS growth on loading the featurizer (native memory)")


if __name__ == "__main__":
    main()
