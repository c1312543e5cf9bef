"""``cxdesk train churn [--horizon-days N] [--no-rescore]``: train the churn model on this instance's customers
(features as of N days ago, labelled with who had churned by today), then rescore every active customer.
Registered with cx.core.training."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from cx.core.training import TrainingInputError


def add_churn_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--horizon-days", type=int, default=90, metavar="N",
                        help="predict churn within N days (features as of N days ago; default 90)")
    parser.add_argument("--no-rescore", action="store_true", help="train only; keep the stored scores")


def handle_churn(options: dict[str, Any], out: TextIO) -> None:
    from cx.churn.services import churn_model_train

    horizon = options.get("horizon_days") or 90
    if not 7 <= horizon <= 730:
        raise TrainingInputError(f"--horizon-days must be between 7 and 730, got {horizon}.")
    run = churn_model_train(trigger="command", horizon_days=horizon, rescore=not options.get("no_rescore"))
    auc = f"{run.cv_auc:.4f}" if run.cv_auc is not None else "n/a"
    out.write(f"churn model {run.version} ready: {run.customers} customers ({run.churned} churned within "
              f"{run.horizon_days} days), cross-validated ROC-AUC {auc}, {run.training_seconds:.1f} s\n")
    top = ", ".join(d["label"] for d in run.drivers[:3])
    out.write(f"strongest drivers: {top}\n")
    if not options.get("no_rescore"):
        run.refresh_from_db()
        out.write(f"scored {run.scored} active customers\n")
