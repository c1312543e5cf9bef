"""Stratified, seeded train/test split of a churn CSV (label column ``Churn``), for ``cxdesk eval churn``.

    python scripts/churn_split.py INPUT.csv OUTDIR [--seed 42] [--test-size 0.2]

Writes OUTDIR/train.csv and OUTDIR/test.csv with the header and rows unchanged (original order kept).
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--label", default="Churn")
    args = parser.parse_args()
    with open(args.input, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    label = header.index(args.label)
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_class[row[label].strip()].append(i)
    rng = random.Random(args.seed)
    test: set[int] = set()
    for name in sorted(by_class):
        indices = by_class[name][:]
        rng.shuffle(indices)
        test.update(indices[:round(args.test_size * len(indices))])
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    for name, keep in (("train.csv", lambda i: i not in test), ("test.csv", lambda i: i in test)):
        with open(out / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(row for i, row in enumerate(rows) if keep(i))
    print(f"{len(rows) - len(test)} train rows, {len(test)} test rows → {out}")


if __name__ == "__main__":
    main()
