"""``cxdesk eval churn`` over several seeded stratified 80/20 splits of one Telco CSV: how much the ROC-AUC
depends on the split. Prints one row per seed and the mean / min / max.

    python benchmarks/churn_eval.py /work/shared/data/telco_churn/telco_churn_train.csv --seeds 42 0 1 2 3
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# benchmarks/email.py would shadow the standard library's email package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 0, 1, 2, 3])
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    figures: dict[str, list[float]] = {}
    print(f"{'seed':>5} {'roc_auc':>8} {'pr_auc':>7} {'brier':>7} {'log_loss':>8} {'cv_auc_train':>12} {'secs':>6}")
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, str(ROOT / "scripts" / "churn_split.py"), args.csv, tmp, "--seed",
                            str(seed)], check=True, capture_output=True)
            out = io.StringIO()
            started = time.perf_counter()
            call_command("eval", "churn", "--train", f"{tmp}/train.csv", "--test", f"{tmp}/test.csv", stdout=out)
            seconds = time.perf_counter() - started
        text = out.getvalue()
        row = {k: float(v) for k, v in re.findall(r"(\w+)=(\d\.\d+)", "\n".join(text.splitlines()[-2:]))}
        row["cv_auc_train"] = float(re.search(r"cross-validated ROC-AUC on TRAIN: (\d\.\d+)", text).group(1))
        for key, value in row.items():
            figures.setdefault(key, []).append(value)
        print(f"{seed:>5} {row['roc_auc']:>8.4f} {row['pr_auc']:>7.4f} {row['brier']:>7.4f} {row['log_loss']:>8.4f} "
              f"{row['cv_auc_train']:>12.4f} {seconds:>6.1f}", flush=True)
    for name, fn in (("mean", statistics.fmean), ("min", min), ("max", max)):
        print(f"{name:>5} {fn(figures['roc_auc']):>8.4f} {fn(figures['pr_auc']):>7.4f} {fn(figures['brier']):>7.4f} "
              f"{fn(figures['log_loss']):>8.4f} {fn(figures['cv_auc_train']):>12.4f}")


if __name__ == "__main__":
    main()
