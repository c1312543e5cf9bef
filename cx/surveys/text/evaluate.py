"""``cxdesk eval sentiment --train TRAIN.csv --test TEST.csv``: trains the comment-sentiment model on TRAIN
and measures it on TEST against the VADER baseline and a TF-IDF-only model. Columns: sentence,label
(1 positive, 0 negative); other columns are ignored."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from django.core.management.base import CommandError


def read_labelled(path: str) -> tuple[list[str], list[int]]:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"{path}: no such file")
    sentences: list[str] = []
    labels: list[int] = []
    with file.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"sentence", "label"} <= set(reader.fieldnames):
            raise CommandError(f"{path}: needs the columns sentence,label")
        for line, row in enumerate(reader, start=2):
            label = (row["label"] or "").strip()
            if label not in ("0", "1"):
                raise CommandError(f"{path}:{line}: label must be 0 or 1, got {label!r}")
            sentences.append(row["sentence"] or "")
            labels.append(int(label))
    if not sentences:
        raise CommandError(f"{path}: no rows")
    return sentences, labels


def add_arguments(parser) -> None:
    parser.add_argument("--train", required=True, help="CSV with sentence,label to train on")
    parser.add_argument("--test", required=True, help="CSV with sentence,label to measure on")


def _metrics(truth: list[int], predicted: list[int]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return float(accuracy_score(truth, predicted)), float(f1_score(truth, predicted))


def handle(options: dict, stdout) -> None:
    from cx.surveys.text.sentiment import train, vader_scores

    train_x, train_y = read_labelled(options["train"])
    test_x, test_y = read_labelled(options["test"])
    if len(set(train_y)) < 2:
        raise CommandError("the training file needs both labels")
    rows = []
    vader = [1 if row[0] >= 0.05 else 0 for row in vader_scores(test_x)]
    rows.append(("VADER (compound >= 0.05)", *_metrics(test_y, vader), 0.0))
    started = time.perf_counter()
    tfidf = train(train_x, train_y, use_embeddings=False)
    rows.append(("TF-IDF + VADER, logistic regression", *_metrics(
        test_y, [int(p >= 0.5) for p in tfidf.predict_proba(test_x)]), time.perf_counter() - started))
    started = time.perf_counter()
    model = train(train_x, train_y, use_embeddings=True)
    accuracy, f1 = _metrics(test_y, [int(p >= 0.5) for p in model.predict_proba(test_x)])
    rows.append(("cxdesk: TF-IDF + VADER + MiniLM, calibrated LR", accuracy, f1, time.perf_counter() - started))
    stdout.write(f"train rows={len(train_x)} test rows={len(test_x)}\n")
    stdout.write(f"{'model':<50} {'accuracy':>9} {'f1':>7} {'seconds':>8}\n")
    for name, acc, f, seconds in rows:
        stdout.write(f"{name:<50} {acc:>9.4f} {f:>7.4f} {seconds:>8.1f}\n")
    stdout.write(f"accuracy={accuracy:.4f} f1={f1:.4f}\n")
