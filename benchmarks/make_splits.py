"""Make the stratified train/test splits used for the intent and KB evaluations in RESULTS.md.

    .venv/bin/python benchmarks/make_splits.py --data ../shared/data --out /tmp/splits

Per label (sorted), rows in file order are shuffled with one random.Random(42) and round(20%) go to test.
BANKING77: label column `category` of banking77/train.csv (its official test set is held back, not in shared/).
Bitext: label column `intent` of bitext_customer_support/train.csv.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py is named as the issue asks; run as a script, this folder comes first on sys.path and
# would hide the standard library's email package (imported by http.client and Django), so drop it.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import csv
import random
from pathlib import Path


def split(source: Path, label: str, train_out: Path, test_out: Path, rng: random.Random) -> tuple[int, int]:
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, rows = reader.fieldnames, list(reader)
    by_label: dict[str, list[dict]] = {}
    for row in rows:
        by_label.setdefault(row[label], []).append(row)
    train, test = [], []
    for name in sorted(by_label):
        group = by_label[name][:]
        rng.shuffle(group)
        cut = round(len(group) * 0.2)
        test += group[:cut]
        train += group[cut:]
    for path, data in ((train_out, train), (test_out, test)):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(data)
    return len(train), len(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    for name, source, label in (("b77", args.data / "banking77" / "train.csv", "category"),
                                ("bitext", args.data / "bitext_customer_support" / "train.csv", "intent")):
        sizes = split(source, label, args.out / f"{name}_train.csv", args.out / f"{name}_test.csv", rng)
        print(f"{name}: train {sizes[0]}, test {sizes[1]}")


if __name__ == "__main__":
    main()
