"""``cxdesk eval intents`` and ``cxdesk eval kb``: measure the intent classifier and KB search on the user's data.

intents: train the classifier on TRAIN.csv (columns text,category), classify TEST.csv, print a per-intent report,
the inference speed, and a last line ``accuracy=0.xxxx``.

kb: build a knowledge base with one article per intent from the TRAIN.csv responses (Bitext columns
instruction,intent,response), ask every TEST.csv instruction through the hybrid search engine, and print a last
line ``top1=0.xxxx top3=0.xxxx``. The articles live in a throw-away collection inside a transaction that is
rolled back, with the on-disk index in a temporary directory, so the evaluation leaves nothing behind.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, TextIO

from cx.core.evaluation import EvaluationInputError
from cx.intents.classifier import CASCADE_THRESHOLD, NotEnoughData

MAX_FIELD = 10_000_000
PREDICT_BATCH = 1_000


def read_csv(path: str, required: list[str], *, role: str) -> tuple[list[dict[str, str]], int]:
    """Rows with every required column non-empty, and how many rows were skipped for blanks."""
    file = Path(path)
    if not file.is_file():
        raise EvaluationInputError(f"{role} file {path!r} does not exist or is not a file.")
    csv.field_size_limit(MAX_FIELD)
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [name for name in required if name not in header]
            if missing:
                raise EvaluationInputError(
                    f"{role} file {path!r} must be a CSV with a header row containing the columns "
                    f"{', '.join(required)}; missing {', '.join(missing)} (found: {', '.join(header) or 'no header'}).")
            rows, skipped = [], 0
            for line, row in enumerate(reader, start=2):
                if None in row:
                    raise EvaluationInputError(f"{role} file {path!r}, record ending on line {reader.line_num}: "
                                               f"more fields than the header has columns.")
                values = {name: (row.get(name) or "").strip() for name in required}
                if all(values.values()):
                    rows.append(values)
                else:
                    skipped += 1
                del line
    except UnicodeDecodeError as exc:
        raise EvaluationInputError(f"{role} file {path!r} is not UTF-8 text ({exc.reason} at byte {exc.start}).") \
            from None
    except csv.Error as exc:
        raise EvaluationInputError(f"{role} file {path!r} is not a valid CSV: {exc}.") from None
    if not rows:
        raise EvaluationInputError(f"{role} file {path!r} has no rows with {', '.join(required)} filled in.")
    return rows, skipped


def _paths(parser: argparse.ArgumentParser, train_help: str, test_help: str) -> None:
    parser.add_argument("--train", required=True, metavar="TRAIN.csv", help=train_help)
    parser.add_argument("--test", required=True, metavar="TEST.csv", help=test_help)


def add_intents_arguments(parser: argparse.ArgumentParser) -> None:
    _paths(parser, "labelled examples (columns text,category)", "held-out examples (columns text,category)")


def _report(stdout: TextIO, truth: list[str], predicted: list[str]) -> None:
    labels = sorted(set(truth) | set(predicted))
    width = max(12, *(len(label) for label in labels))
    stdout.write(f"{'intent':<{width}}  precision  recall  f1      support\n")
    tp, fp, fn, support = Counter(), Counter(), Counter(), Counter(truth)
    for t, p in zip(truth, predicted, strict=True):
        if t == p:
            tp[t] += 1
        else:
            fp[p] += 1
            fn[t] += 1
    f1s = []
    for label in labels:
        precision = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        recall = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if support[label]:
            f1s.append(f1)
        stdout.write(f"{label:<{width}}  {precision:9.4f}  {recall:6.4f}  {f1:6.4f}  {support[label]:7d}\n")
    stdout.write(f"{'macro avg':<{width}}  {'':9}  {'':6}  {statistics.fmean(f1s) if f1s else 0:6.4f}  "
                 f"{len(truth):7d}\n")


def handle_intents(options: dict[str, Any], stdout: TextIO) -> None:
    train, train_skipped = read_csv(options["train"], ["text", "category"], role="Training")
    test, test_skipped = read_csv(options["test"], ["text", "category"], role="Test")
    for role, skipped in (("training", train_skipped), ("test", test_skipped)):
        if skipped:
            stdout.write(f"note: skipped {skipped} {role} rows with an empty text or category\n")
    from cx.intents.services import intent_classifier_new

    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        classifier = intent_classifier_new().fit([r["text"] for r in train], [r["category"] for r in train])
    except NotEnoughData as exc:
        raise EvaluationInputError(str(exc)) from None
    train_seconds, train_cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if classifier.skipped_labels:
        stdout.write(f"note: intents with too few training examples (not learnt): {classifier.skipped_labels}\n")
    texts = [r["text"] for r in test]
    classifier.predict(texts[:50])  # warm-up, so the speed below is the steady state
    started, cpu_started = time.perf_counter(), time.process_time()
    predicted = []
    for start in range(0, len(texts), PREDICT_BATCH):
        predicted += [p.label for p in classifier.predict(texts[start:start + PREDICT_BATCH])]
    predict_seconds = time.perf_counter() - started
    predict_cpu_seconds = max(time.process_time() - cpu_started, 1e-9)
    truth = [r["category"] for r in test]
    _report(stdout, truth, predicted)
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)
    stdout.write(f"train examples: {classifier.trained_examples}, intents: {len(classifier.labels)}, "
                 f"training: {train_seconds:.1f} s wall, {train_cpu_seconds:.1f} s CPU\n")
    stdout.write(f"test examples: {len(texts)}, inference: {len(texts) / predict_seconds:,.0f} texts/s wall, "
                 f"{len(texts) / predict_cpu_seconds:,.0f} texts per CPU second (batches of {PREDICT_BATCH})\n")
    if classifier.transformer is not None:
        stdout.write(f"cascade: fine-tuned MiniLM asked about {classifier.cascade_share(texts):.1%} of the test texts "
                     f"(fast-model confidence below {CASCADE_THRESHOLD}); its training: "
                     f"{classifier.transformer.training_seconds:.1f} s wall, "
                     f"{classifier.transformer.training_cpu_seconds:.1f} s CPU\n")
    for name, probabilities in classifier.component_probabilities(texts).items():
        alone = sum(classifier.labels[i] == t for i, t in zip(probabilities.argmax(axis=1), truth, strict=True))
        stdout.write(f"{name} alone: accuracy {alone / len(truth):.4f}\n")
    stdout.write(f"accuracy={accuracy:.4f}\n")


def add_kb_arguments(parser: argparse.ArgumentParser) -> None:
    _paths(parser, "Bitext-style rows (columns instruction,intent,response): one article per intent",
           "questions to ask (columns instruction,intent)")


def article_for_intent(intent: str, responses: list[str]) -> tuple[str, str]:
    """The article a KB writer would make from an intent's reference answers: its name as the title and the
    distinct answers as the body."""
    title = intent.replace("_", " ").replace("-", " ").strip().capitalize()
    seen, body = set(), []
    for response in responses:
        key = " ".join(response.split()).lower()
        if key not in seen:
            seen.add(key)
            body.append(response.strip())
    return title, "\n\n".join(body)


def handle_kb(options: dict[str, Any], stdout: TextIO) -> None:
    from django.conf import settings
    from django.db import DatabaseError, transaction
    from django.test.utils import override_settings

    from cx.search.engine import forget_indexes
    from cx.search.selectors import search_hybrid
    from cx.search.services import DocumentIn, search_documents_upsert

    train, _ = read_csv(options["train"], ["instruction", "intent", "response"], role="Training")
    test, _ = read_csv(options["test"], ["instruction", "intent"], role="Test")
    by_intent: dict[str, list[str]] = defaultdict(list)
    for row in train:
        by_intent[row["intent"]].append(row["response"])
    documents = []
    for intent, responses in sorted(by_intent.items()):
        title, body = article_for_intent(intent, responses)
        documents.append(DocumentIn(doc_id=intent, title=title, text=body[:1_000_000]))
    collection = "eval-kb"
    ranks: list[int | None] = []
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cxdesk-eval-kb-") as index_dir, \
            override_settings(SEARCH_INDEX_DIR=index_dir):
        forget_indexes()
        try:
            with transaction.atomic():
                search_documents_upsert(collection=collection, documents=documents)
                for row in test:
                    query = row["instruction"][:1000]
                    started = time.perf_counter()
                    hits = search_hybrid(collection=collection, query=query, limit=3)
                    latencies.append(time.perf_counter() - started)
                    ids = [hit.doc_id for hit in hits]
                    ranks.append(ids.index(row["intent"]) + 1 if row["intent"] in ids else None)
                transaction.set_rollback(True)
        except DatabaseError as exc:
            raise EvaluationInputError(f"The database is not ready ({exc}); run `cxdesk migrate` first "
                                       f"(database: {settings.DATABASES['default']['NAME']}).") from None
        finally:
            forget_indexes()
    unknown = sum(1 for row in test if row["intent"] not in by_intent)
    per_intent: dict[str, list[int | None]] = defaultdict(list)
    for row, rank in zip(test, ranks, strict=True):
        per_intent[row["intent"]].append(rank)
    width = max(12, *(len(intent) for intent in per_intent))
    stdout.write(f"{'intent':<{width}}  questions  top1    top3\n")
    for intent, intent_ranks in sorted(per_intent.items()):
        n = len(intent_ranks)
        top1 = sum(1 for r in intent_ranks if r == 1) / n
        top3 = sum(1 for r in intent_ranks if r is not None) / n
        stdout.write(f"{intent:<{width}}  {n:9d}  {top1:.4f}  {top3:.4f}\n")
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    stdout.write(f"articles: {len(documents)}, questions: {len(test)}"
                 f"{f' ({unknown} about intents with no article)' if unknown else ''}, "
                 f"search p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms\n")
    top1 = sum(1 for r in ranks if r == 1) / len(ranks)
    top3 = sum(1 for r in ranks if r is not None) / len(ranks)
    stdout.write(f"top1={top1:.4f} top3={top3:.4f}\n")
