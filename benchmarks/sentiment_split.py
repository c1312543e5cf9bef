"""Split a labelled sentiment CSV (sentence,label[,source]) into train/test files for `cxdesk eval sentiment`.

Stratified by (source, label), 80/20, fixed seed, so the split is reproducible:
    python benchmarks/sentiment_split.py /work/shared/data/sentiment_reviews/train.csv /tmp/sentiment
    cxdesk eval sentiment --train /tmp/sentiment/train.csv --test /tmp/sentiment/test.csv
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py is named as the issue asks; run as a script, this folder comes first on sys.path and
# would hide the standard library's email package (imported by http.client and Django), so drop it.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import csv
import random
import sys
from collections import defaultdict
from pathlib import Path


def main(source: str, out_dir: str, test_share: float = 0.2, seed: int = 2026) -> None:
    with open(source, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames
        rows = list(reader)
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        strata[(row.get("source", ""), row["label"])].append(row)
    rng = random.Random(seed)
    train, test = [], []
    for key in sorted(strata):
        group = strata[key][:]
        rng.shuffle(group)
        cut = round(len(group) * test_share)
        test.extend(group[:cut])
        train.extend(group[cut:])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.csv", train), ("test.csv", test)):
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(part)
    print(f"{'file':<10} {'rows':>6}")
    print(f"{'train.csv':<10} {len(train):>6}")
    print(f"{'test.csv':<10} {len(test):>6}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
