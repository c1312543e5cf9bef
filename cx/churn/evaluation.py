"""``cxdesk eval churn --train TRAIN.csv --test TEST.csv``: the churn pipeline on IBM Telco-style data.

Both files need the IBM Telco columns (customerID optional) with the label ``Churn`` (Yes/No, also 1/0 or
true/false). The model is trained on TRAIN only (its cross-validated ROC-AUC is reported too: nothing is tuned
on TEST), then TEST is scored. Prints ROC-AUC, PR-AUC, Brier score, log loss and calibration by decile of
predicted risk; the last line is ``roc_auc=0.xxxx``.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from cx.churn.pipeline import Schema, TooLittleData, fit
from cx.core.evaluation import EvaluationInputError

LABEL = "Churn"
NUMERIC = ["tenure", "MonthlyCharges", "TotalCharges"]
CATEGORICAL = ["gender", "SeniorCitizen", "Partner", "Dependents", "PhoneService", "MultipleLines",
               "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
               "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod"]
REQUIRED = NUMERIC + CATEGORICAL + [LABEL]
SERVICES = ["PhoneService", "MultipleLines", "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport",
            "StreamingTV", "StreamingMovies"]
# Engineered: the number of services taken, and two crosses that a linear model cannot form by itself.
SCHEMA = Schema(numeric=(*NUMERIC, "services"),
                categorical=(*CATEGORICAL, "Contract_x_InternetService", "Contract_x_PaymentMethod"))
YES = {"yes", "1", "true", "y"}
NO = {"no", "0", "false", "n"}
MAX_FIELD = 1_000_000


def add_churn_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", required=True, metavar="TRAIN.csv", help="IBM Telco columns with the label Churn")
    parser.add_argument("--test", required=True, metavar="TEST.csv", help="same columns; scored and measured")


def _number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def read_telco(path: str, *, role: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The feature matrix (SCHEMA order), 0/1 labels, and how many numeric cells were blank or not numbers."""
    file = Path(path)
    if not file.is_file():
        raise EvaluationInputError(f"{role} file {path!r} does not exist or is not a file.")
    csv.field_size_limit(MAX_FIELD)
    rows, labels, coerced = [], [], 0
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise EvaluationInputError(
                    f"{role} file {path!r} must be a CSV with the IBM Telco columns and the label {LABEL}; missing "
                    f"{', '.join(missing)} (found: {', '.join(header) or 'no header'}).")
            for row in reader:
                label = (row.get(LABEL) or "").strip().lower()
                if label in YES:
                    labels.append(1)
                elif label in NO:
                    labels.append(0)
                else:
                    raise EvaluationInputError(f"{role} file {path!r}, line {reader.line_num}: {LABEL} must be Yes "
                                               f"or No, got {row.get(LABEL) or ''!r}.")
                tenure, monthly, total = (_number(row.get(c) or "") for c in NUMERIC)
                coerced += sum(math.isnan(v) for v in (tenure, monthly, total))
                if math.isnan(total) and not (math.isnan(tenure) or math.isnan(monthly)):
                    total = tenure * monthly  # the Telco blanks are new customers (tenure 0): nothing billed yet
                cats = [(row.get(c) or "").strip() or "(blank)" for c in CATEGORICAL]
                services = sum((row.get(c) or "").strip().lower() == "yes" for c in SERVICES)
                contract = (row.get("Contract") or "").strip()
                rows.append([tenure, monthly, total, float(services), *cats,
                             f"{contract}|{(row.get('InternetService') or '').strip()}",
                             f"{contract}|{(row.get('PaymentMethod') or '').strip()}"])
    except UnicodeDecodeError as exc:
        raise EvaluationInputError(f"{role} file {path!r} is not UTF-8 text ({exc.reason} at byte {exc.start}).") \
            from None
    except csv.Error as exc:
        raise EvaluationInputError(f"{role} file {path!r} is not a valid CSV: {exc}.") from None
    return np.array(rows, dtype=object).reshape(len(rows), len(SCHEMA.columns)), np.array(labels, dtype=int), coerced


def calibration_by_decile(y: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    """Rows sorted by predicted risk cut into ten equal groups: mean prediction vs observed churn rate."""
    order = np.argsort(p, kind="stable")
    out = []
    for decile, chunk in enumerate(np.array_split(order, 10), start=1):
        if len(chunk):
            out.append({"decile": decile, "n": len(chunk), "predicted": float(p[chunk].mean()),
                        "observed": float(y[chunk].mean())})
    return out


def handle_churn(options: dict[str, Any], out: TextIO) -> None:
    X_train, y_train, coerced_train = read_telco(options["train"], role="TRAIN")
    X_test, y_test, coerced_test = read_telco(options["test"], role="TEST")
    if len(y_test) < 2 or y_test.min() == y_test.max():
        raise EvaluationInputError(f"TEST file {options['test']!r} needs rows of both classes ({LABEL}=Yes and No) "
                                   f"to measure ROC-AUC; it has {len(y_test)} rows, {int(y_test.sum())} Yes.")
    try:
        fitted = fit(X_train, y_train, SCHEMA)
    except TooLittleData as exc:
        raise EvaluationInputError(f"TRAIN file {options['train']!r}: {exc}") from None
    p = np.clip(fitted.predict(X_test), 1e-6, 1 - 1e-6)
    figures = {"roc_auc": roc_auc_score(y_test, p), "pr_auc": average_precision_score(y_test, p),
               "brier": brier_score_loss(y_test, p), "log_loss": log_loss(y_test, p, labels=[0, 1])}
    out.write(f"train rows: {len(y_train)} ({int(y_train.sum())} churned), test rows: {len(y_test)} "
              f"({int(y_test.sum())} churned); blank/non-numeric numeric cells filled: "
              f"{coerced_train} train, {coerced_test} test\n")
    out.write("model: spline logistic regression + gradient boosting (mean), calibrated by 5-fold CV on TRAIN\n")
    out.write(f"cross-validated ROC-AUC on TRAIN: {fitted.cv_auc:.4f}\n\n")
    out.write(f"{'metric':<10} {'value':>8}\n")
    names = {"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "brier": "Brier", "log_loss": "log loss"}
    for key, label in names.items():
        out.write(f"{label:<10} {figures[key]:>8.4f}\n")
    out.write(f"{'base rate':<10} {y_test.mean():>8.4f}\n\n")
    out.write(f"{'decile':>6} {'n':>6} {'predicted':>10} {'observed':>9}\n")
    for row in calibration_by_decile(y_test, p):
        out.write(f"{row['decile']:>6} {row['n']:>6} {row['predicted']:>10.3f} {row['observed']:>9.3f}\n")
    out.write(f"\npr_auc={figures['pr_auc']:.4f} brier={figures['brier']:.4f} log_loss={figures['log_loss']:.4f}\n")
    out.write(f"roc_auc={figures['roc_auc']:.4f}\n")
