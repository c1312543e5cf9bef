"""``cxdesk eval clv``: fit BG/NBD, Pareto/NBD and Gamma-Gamma and print the parameters and log-likelihoods.

Without ``--data`` it fits the CDNOW cohort shipped in the ``lifetimes`` package (2,357 customers, time in
weeks) and compares with the published estimates. ``--data PATH`` takes a CSV of either transactions
(columns customer_id,date[,amount]) or a per-customer summary (columns frequency,recency,T[,monetary_value]).
The last line is ``bgnbd_r=… bgnbd_alpha=… bgnbd_a=… bgnbd_b=… loglik=…`` (loglik: BG/NBD's, summed).
"""

from __future__ import annotations

import argparse
import csv
import time
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from cx.clv import fitting
from cx.core.evaluation import EvaluationInputError

# Fader, Hardie & Lee (2005) for BG/NBD; Fader, Hardie & Lee's Pareto/NBD note; the lifetimes docs for Gamma-Gamma.
PUBLISHED = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "loglik": -9582.4},
    "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669, "loglik": -9595.0},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.45},
}
SUMMARY_ALIASES = {"frequency": ("frequency", "x"), "recency": ("recency", "t_x"), "T": ("T", "t"),
                   "monetary": ("monetary_value", "monetary", "zbar", "average_spend")}
TRANSACTION_ALIASES = {"customer": ("customer_id", "customer", "id"), "date": ("date", "occurred_at", "timestamp"),
                       "amount": ("amount", "revenue", "total", "value", "dollar_value")}
UNITS = {"days": 1.0, "weeks": 7.0}
MAX_FIELD = 1_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="PATH.csv", help="transactions (customer_id,date[,amount]) or a summary "
                        "(frequency,recency,T[,monetary_value]); default: CDNOW from the lifetimes package")
    parser.add_argument("--unit", choices=sorted(UNITS), default="weeks",
                        help="time unit for transactions (default weeks, like the published CDNOW figures)")
    parser.add_argument("--observation-end", metavar="YYYY-MM-DD",
                        help="end of the observation period for transactions (default: the last transaction date)")


def cdnow_summary() -> tuple[fitting.Summary, fitting.Summary]:
    """The CDNOW summaries lifetimes ships: frequency/recency/T (2,357 customers), and the same with spend."""
    folder = files("lifetimes") / "datasets"
    with (folder / "cdnow_customers_summary.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    counts = _summary_arrays(rows, {"frequency": "frequency", "recency": "recency", "T": "T"}, "CDNOW")
    with (folder / "cdnow_customers_summary_with_transactions.csv").open(newline="") as handle:
        spend_rows = list(csv.DictReader(handle))
    spend = _summary_arrays(spend_rows, {"frequency": "x", "recency": "t_x", "T": "T", "monetary": "zbar"}, "CDNOW")
    return counts, spend


def _column(header: list[str], aliases: tuple[str, ...]) -> str | None:
    lowered = {name.strip().lower(): name for name in header}
    for alias in aliases:
        if alias.lower() in lowered:
            return lowered[alias.lower()]
    return None


def _number(raw: str, *, what: str, line: int, path: str) -> float:
    try:
        value = float(raw.strip())
    except (ValueError, AttributeError):
        raise EvaluationInputError(f"{path!r} line {line}: {what} must be a number, got {raw!r}.") from None
    if not np.isfinite(value):
        raise EvaluationInputError(f"{path!r} line {line}: {what} must be a finite number, got {raw!r}.")
    return value


def _summary_arrays(rows: list[dict[str, str]], columns: dict[str, str], path: str) -> fitting.Summary:
    values: dict[str, list[float]] = {name: [] for name in columns}
    for line, row in enumerate(rows, start=2):
        for name, column in columns.items():
            values[name].append(_number(row.get(column) or "", what=column, line=line, path=path))
    monetary = np.array(values["monetary"]) if "monetary" in values else None
    return fitting.Summary(keys=list(range(len(rows))), frequency=np.array(values["frequency"]),
                           recency=np.array(values["recency"]), T=np.array(values["T"]), monetary=monetary)


def _parse_date(raw: str, *, line: int, path: str) -> date:
    text = (raw or "").strip()
    for parse in (date.fromisoformat, lambda s: datetime.fromisoformat(s).date(),
                  lambda s: datetime.strptime(s, "%Y%m%d").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    raise EvaluationInputError(f"{path!r} line {line}: date must look like 2026-11-23 (or 20261123), got {raw!r}.")


def read_data(path: str, *, unit: str, observation_end: str | None) -> tuple[fitting.Summary, str]:
    file = Path(path)
    if not file.is_file():
        raise EvaluationInputError(f"data file {path!r} does not exist or is not a file.")
    csv.field_size_limit(MAX_FIELD)
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h for h in (reader.fieldnames or []) if h is not None]
            rows = []
            for row in reader:
                if None in row:
                    raise EvaluationInputError(f"{path!r} line {reader.line_num}: more fields than the header has "
                                               f"columns.")
                if any((v or "").strip() for v in row.values()):
                    rows.append(row)
    except UnicodeDecodeError as exc:
        raise EvaluationInputError(f"{path!r} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except csv.Error as exc:
        raise EvaluationInputError(f"{path!r} is not a valid CSV: {exc}.") from None
    summary_columns = {name: _column(header, aliases) for name, aliases in SUMMARY_ALIASES.items()}
    if all(summary_columns[name] for name in ("frequency", "recency", "T")):
        if not rows:
            raise EvaluationInputError(f"{path!r} has a header but no customers.")
        used = {name: column for name, column in summary_columns.items() if column}
        summary = _summary_arrays(rows, used, path)
        if summary.monetary is None:
            summary = fitting.Summary(keys=summary.keys, frequency=summary.frequency, recency=summary.recency,
                                      T=summary.T, monetary=np.zeros(len(summary.keys)))
        try:
            fitting.check_summary(summary.frequency, summary.recency, summary.T)
        except ValueError as exc:
            raise EvaluationInputError(f"{path!r}: {exc}.") from None
        return summary, "summary"
    tx_columns = {name: _column(header, aliases) for name, aliases in TRANSACTION_ALIASES.items()}
    if not (tx_columns["customer"] and tx_columns["date"]):
        raise EvaluationInputError(
            f"{path!r} must be a CSV with a header row: either transactions (customer_id,date and optionally "
            f"amount) or a summary (frequency,recency,T and optionally monetary_value); found: "
            f"{', '.join(header) or 'no header'}.")
    if not rows:
        raise EvaluationInputError(f"{path!r} has a header but no transactions.")
    transactions = []
    for line, row in enumerate(rows, start=2):
        customer = (row.get(tx_columns["customer"]) or "").strip()
        if not customer:
            raise EvaluationInputError(f"{path!r} line {line}: {tx_columns['customer']} is empty.")
        when = _parse_date(row.get(tx_columns["date"]) or "", line=line, path=path)
        amount = 0.0
        if tx_columns["amount"] and (row.get(tx_columns["amount"]) or "").strip():
            amount = _number(row[tx_columns["amount"]], what=tx_columns["amount"], line=line, path=path)
        transactions.append((customer, when, amount))
    end = (_parse_date(observation_end, line=0, path="--observation-end") if observation_end
           else max(t[1] for t in transactions))
    return fitting.summary_from_transactions(transactions, observation_end=end, unit_days=UNITS[unit]), "transactions"


def handle(options: dict[str, Any], stdout: TextIO) -> None:
    started = time.monotonic()
    if options.get("data"):
        counts, kind = read_data(options["data"], unit=options.get("unit") or "weeks",
                                 observation_end=options.get("observation_end"))
        spend = counts
        source, published = f"{options['data']} ({kind})", {}
    else:
        counts, spend = cdnow_summary()
        source, published = "CDNOW cohort (lifetimes package, time in weeks)", PUBLISHED
    stdout.write(f"data: {source}\n")
    stdout.write(f"customers: {len(counts.keys)}  with repeat purchases: {counts.repeat_customers}\n\n")
    try:
        bgnbd = fitting.fit_bgnbd(counts.frequency, counts.recency, counts.T)
    except fitting.NotEnoughData as exc:
        raise EvaluationInputError(f"not enough data to fit BG/NBD: {exc}.") from None
    except fitting.FitFailed as exc:
        raise EvaluationInputError(f"BG/NBD could not be fitted on this data: {exc}.") from None
    fits: list[fitting.Fit] = [bgnbd]
    problems = []
    try:
        fits.append(fitting.fit_pareto_nbd(counts.frequency, counts.recency, counts.T))
    except (fitting.NotEnoughData, fitting.FitFailed) as exc:
        problems.append(f"Pareto/NBD not fitted: {exc}")
    if spend.monetary is not None and np.any(spend.monetary > 0):
        try:
            fits.append(fitting.fit_gamma_gamma(spend.frequency, spend.monetary))
        except (fitting.NotEnoughData, fitting.FitFailed) as exc:
            problems.append(f"Gamma-Gamma not fitted: {exc}")
    else:
        problems.append("Gamma-Gamma not fitted: the data has no spend amounts")
    labels = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "gamma_gamma": "Gamma-Gamma"}
    stdout.write(f"{'model':<12} {'parameter':<10} {'estimate':>12} {'published':>10} {'diff':>8}\n")
    for fit in fits:
        reference = published.get(fit.model, {})
        entries = [*fit.params.items(), ("loglik", fit.loglik)]
        for name, value in entries:
            ref = reference.get(name)
            ref_text = f"{ref:>10g}" if ref is not None else f"{'':>10}"
            diff = f"{100 * (value - ref) / abs(ref):>7.2f}%" if ref else f"{'':>8}"
            shown = f"{value:>12.1f}" if name == "loglik" else f"{value:>12.4f}"
            stdout.write(f"{labels[fit.model]:<12} {name:<10} {shown} {ref_text} {diff}\n")
        stdout.write(f"{labels[fit.model]:<12} {'customers':<10} {fit.n:>12d}\n")
    for problem in problems:
        stdout.write(f"note: {problem}\n")
    stdout.write(f"\nfitted in {time.monotonic() - started:.2f} s\n")
    p = bgnbd.params
    stdout.write(f"bgnbd_r={p['r']:.4f} bgnbd_alpha={p['alpha']:.4f} bgnbd_a={p['a']:.4f} bgnbd_b={p['b']:.4f} "
                 f"loglik={bgnbd.loglik:.2f}\n")
