"""Compare local intent-classification and FAQ-retrieval methods on the demo pack.

    .venv/bin/python bench/nlu_methods.py [--pack bots/demo] [--heldout tests/data/nlu_heldout.tsv]
    .venv/bin/python bench/nlu_methods.py --knowledge [--routing tests/data/routing_dev.tsv]

`--knowledge` compares FAQ retrieval methods (core.knowledge.search METHODS, and kiwipiepy morphemes
when installed) on the `faq:` rows of the routing DEV file: top-1/top-3 accuracy, how many non-FAQ rows
score >= 0.45 (the risk of answering a non-FAQ message) against how many right top-1 entries do
(ok>=.45),, search latency p50/p99, build time, memory.

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
from typing import Any

import msgspec
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from core.nlu.classifier import IntentClassifier, default_featurizer
from core.nlu.evaluate import evaluate, read_tsv
from core.nlu.normalize import normalize, strip_question_endings
from core.pack.schema import IntentsFile, IntentSpec

Featurizer = Callable[[str], Counter[str]]
MODELS = {"centroid": [1.0], "1-NN": [0.0], "hybrid": [0.85, 0.7, 0.5]}
TEMPERATURES = [45.0, 60.0, 80.0, 100.0]
REJECT_SCORES = [0.0, 0.05, 0.08, 0.12]
# Development set for the out-of-scope threshold: unrelated chatter and keyboard mashing, written for
# this bench only (not in intents.yaml, not in the held-out file).
DEV_OUT_OF_SCOPE = [
    "asdf",
    "qwer 1234",
    "배고파 죽겠어",
    "오늘 저녁 뭐해",
    "비 올까요",
    "졸리다",
    "축구 보러 갈래",
    "파이썬 공부 방법",
    "고양이 사료 추천해줘",
    "집에 가고 싶다",
    "ㅁㄴㅇㄹ",
    "회사 가기 싫어",
    "노래 추천 좀",
    "치킨 먹고 싶다",
    "주말에 뭐하지",
    "kospi 지수",
]


def kiwi_featurizer() -> Featurizer:
    from kiwipiepy import Kiwi

    kiwi = Kiwi()

    def featurize(text: str) -> Counter[str]:
        tokens = [f"{token.form}/{token.tag}" for token in kiwi.tokenize(normalize(text))]
        grams: Counter[str] = Counter(tokens)
        grams.update(f"{a}+{b}" for a, b in itertools.pairwise(tokens))
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


def latency_ms(clf: IntentClassifier, rows: list[tuple[str, str]], passes: int = 5) -> tuple[float, float]:
    """p50 and p99 of single predictions over several passes (one pass has too few samples for p99)."""
    samples = []
    for _ in range(passes):
        for text, _ in rows:
            started = time.perf_counter()
            clf._predict(text)  # uncached: predict() remembers texts it has seen
            samples.append((time.perf_counter() - started) * 1000.0)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]


def selection_score(
    intents: dict[str, IntentSpec], featurize: Featurizer, alpha: float, temp: float, reject: float
) -> tuple[float, float, float]:
    """(criterion, 5-fold CV accuracy on the training examples, dev out-of-scope rejection rate)."""
    hits = total = 0
    for train, test in folds(intents):
        clf = IntentClassifier.train(
            train, 0.5, featurize=featurize, alpha=alpha, temperature=temp, reject_score=reject
        )
        hits += sum(clf.predict(text).intent == intent for text, intent in test)
        total += len(test)
    clf = IntentClassifier.train(intents, 0.5, featurize=featurize, alpha=alpha, temperature=temp, reject_score=reject)
    rejected = sum(clf.predict(text).intent == "out_of_scope" for text in DEV_OUT_OF_SCOPE)
    cv, oos = hits / total, rejected / len(DEV_OUT_OF_SCOPE)
    return (cv + oos) / 2, cv, oos


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
    cached = functools.lru_cache(maxsize=None)(featurize)  # same texts across folds; selection speed only
    for model, alphas in MODELS.items():
        best = max(
            (
                (selection_score(intents, cached, a, t, r), a, t, r)
                for a in alphas
                for t in TEMPERATURES
                for r in REJECT_SCORES
            ),
            key=lambda item: item[0][0],
        )
        (_, cv, oos), alpha, temp, reject = best
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        clf = IntentClassifier.train(
            intents, 0.5, featurize=featurize, alpha=alpha, temperature=temp, reject_score=reject
        )
        train_s = time.perf_counter() - started
        model_mem, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        for text, _ in heldout[:20]:  # warm-up
            clf.predict(text)
        report = evaluate(clf, heldout)
        p50, p99 = latency_ms(clf, heldout)
        rows.append(
            {
                "features": name,
                "model": model,
                "alpha": alpha,
                "T": temp,
                "reject": reject,
                "cv_acc": cv,
                "dev_oos": oos,
                "heldout_acc": report["accuracy"],
                "macro_f1": report["macro_f1"],
                "p50_ms": p50,
                "p99_ms": p99,
                "startup_s": load_s + train_s,
                "mem_mb": (load_mem + model_mem) / 1e6,
                "rss_mb": load_rss,
                "ece": expected_calibration_error(clf, heldout),
            }
        )
    return rows


def kiwi_knowledge_featurizer(lexicon: Any) -> Featurizer:
    """kiwipiepy morphemes (+ bigrams) of the text after the same normalisation, synonyms and endings."""
    from kiwipiepy import Kiwi

    kiwi = Kiwi()

    def featurize(text: str) -> Counter[str]:
        cleaned = lexicon.expand(strip_question_endings(normalize(text)))
        tokens = [f"{token.form}/{token.tag}" for token in kiwi.tokenize(cleaned)] if cleaned else []
        grams: Counter[str] = Counter(tokens)
        grams.update(f"{a}+{b}" for a, b in itertools.pairwise(tokens))
        return grams

    return featurize


def measure_knowledge(pack_dir: str, routing: str) -> list[dict[str, Any]]:
    from core.knowledge.search import METHODS, KnowledgeIndex
    from core.nlu.lexicon import TextLexicon
    from core.pack.loader import load_pack
    from core.policy.pii import mask_pii, strip_placeholders

    pack = load_pack(pack_dir)
    lexicon = TextLexicon(pack.lexicon.synonyms, pack.lexicon.products)
    rows = [
        (strip_placeholders(mask_pii(text).text), label)
        for text, label in read_tsv(routing, header=["text", "expected"])
    ]
    faq_rows = [(text, label.removeprefix("faq:")) for text, label in rows if label.startswith("faq:")]
    other_rows = [text for text, label in rows if not label.startswith("faq:")]
    variants: list[tuple[str, str, Callable[[], Any]]] = [
        (method, "char 2-4-gram", functools.partial(KnowledgeIndex, pack.faq, lexicon, method=method))
        for method in METHODS
    ]
    variants.append(("tfidf", "no pack lexicon", functools.partial(KnowledgeIndex, pack.faq)))
    try:
        import kiwipiepy  # noqa: F401

        def kiwi_index(method: str) -> Any:
            featurize = kiwi_knowledge_featurizer(lexicon)
            return KnowledgeIndex(pack.faq, lexicon, method=method, featurize=featurize)

        for method in ("tfidf", "vote"):
            variants.append((method, "kiwi morphemes", functools.partial(kiwi_index, method)))
    except ImportError:
        print("kiwipiepy not installed (pip install -e '.[bench]'): its rows are skipped")
    out = []
    for method, features, build in variants:
        gc.collect()
        rss_before = rss_mb()
        tracemalloc.start()
        started = time.perf_counter()
        index = build()
        build_s = time.perf_counter() - started
        memory, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = rss_mb() - rss_before
        top1 = top3 = sure = 0
        for text, entry_id in faq_rows:
            hits = index.search(text, limit=3)
            ids = [hit.entry.id for hit in hits]
            top1 += bool(ids) and ids[0] == entry_id
            top3 += entry_id in ids
            sure += bool(ids) and ids[0] == entry_id and hits[0].score >= 0.45
        risky = sum(bool(hits) and hits[0].score >= 0.45 for hits in (index.search(t, 1) for t in other_rows))
        samples = []
        for _ in range(5):
            for text, _label in rows:
                started = time.perf_counter()
                index._search(text, 3)  # uncached: search() remembers texts it has seen
                samples.append((time.perf_counter() - started) * 1000.0)
        samples.sort()
        out.append(
            {
                "method": method,
                "features": features,
                "top1": top1 / len(faq_rows),
                "top3": top3 / len(faq_rows),
                "risky": f"{risky}/{len(other_rows)}",
                "sure": sure / len(faq_rows),
                "p50_ms": samples[len(samples) // 2],
                "p99_ms": samples[round(0.99 * (len(samples) - 1))],
                "build_s": build_s,
                "mem_mb": memory / 1e6,
                "rss_mb": rss,
            }
        )
    print(f"FAQ entries: {len(pack.faq)}, dev FAQ rows: {len(faq_rows)}, other rows: {len(other_rows)}")
    print(
        f"{'method':<6} {'features':<16} {'top1':>5} {'top3':>5} {'ok>=.45':>7} {'>=.45':>6} {'p50ms':>6} {'p99ms':>6} "
        f"{'build_s':>7} {'py_MB':>6} {'+rss_MB':>7}"
    )
    for r in out:
        print(
            f"{r['method']:<6} {r['features']:<16} {r['top1']:>5.3f} {r['top3']:>5.3f} {r['sure']:>7.3f} "
            f"{r['risky']:>6} {r['p50_ms']:>6.3f} {r['p99_ms']:>6.3f} {r['build_s']:>7.3f} {r['mem_mb']:>6.1f} "
            f"{r['rss_mb']:>7.1f}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="bots/demo")
    parser.add_argument("--heldout", default="tests/data/nlu_heldout.tsv")
    parser.add_argument("--knowledge", action="store_true", help="compare FAQ retrieval methods instead")
    parser.add_argument("--routing", default="tests/data/routing_dev.tsv", help="dev routing file (faq: rows)")
    args = parser.parse_args()
    if args.knowledge:
        measure_knowledge(args.pack, args.routing)
        return
    raw = yaml.safe_load(Path(args.pack, "intents.yaml").read_text(encoding="utf-8"))
    intents = msgspec.convert(raw, IntentsFile).intents
    heldout = read_tsv(args.heldout)
    rows = measure("char-ngram", lambda: default_featurizer, intents, heldout)
    rows += measure("kiwi-morph", kiwi_featurizer, intents, heldout)
    header = (
        f"{'features':<11} {'model':<9} {'alpha':>5} {'T':>4} {'rej':>4} {'cv_acc':>6} {'devOOS':>6} "
        f"{'heldout':>7} {'mF1':>5} "
        f"{'p50ms':>6} {'p99ms':>6} {'start_s':>7} {'py_MB':>6} {'+rss_MB':>7} {'ECE':>5}"
    )
    print(f"train examples: {sum(len(s.examples) for s in intents.values())}, held-out: {len(heldout)}")
    print(header)
    for r in rows:
        print(
            f"{r['features']:<11} {r['model']:<9} {r['alpha']:>5.2f} {r['T']:>4.0f} {r['reject']:>4.2f} "
            f"{r['cv_acc']:>6.3f} {r['dev_oos']:>6.2f} {r['heldout_acc']:>7.3f} {r['macro_f1']:>5.3f} "
            f"{r['p50_ms']:>6.3f} {r['p99_ms']:>6.3f} {r['startup_s']:>7.3f} {r['mem_mb']:>6.1f} "
            f"{r['rss_mb']:>7.1f} {r['ece']:>5.3f}"
        )
    print(
        f"python {sys.version.split()[0]}; py_MB = tracemalloc (loader + model); "
        "+rss_MB = RSS growth on loading the featurizer (native memory)"
    )


if __name__ == "__main__":
    main()
