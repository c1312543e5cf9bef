"""``cxdesk eval clv`` on CDNOW (shipped with lifetimes) and on the user's own files."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command


def run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("eval", "clv", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def figures(line: str) -> dict[str, float]:
    return {key: float(value) for key, value in (part.split("=") for part in line.split())}


def test_cdnow_prints_the_parameter_table_and_the_published_figures_on_the_last_line():
    lines = run()
    last = figures(lines[-1])
    assert list(last) == ["bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "loglik"]
    for key, published in {"bgnbd_r": 0.243, "bgnbd_alpha": 4.414, "bgnbd_a": 0.793, "bgnbd_b": 2.426,
                           "loglik": -9582.4}.items():
        assert last[key] == pytest.approx(published, rel=0.005)
    text = "\n".join(lines)
    assert "Pareto/NBD" in text and "Gamma-Gamma" in text and "published" in text


def write_transactions(path, *, customers: int = 80, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    start = date(2025, 1, 1)
    rows = ["customer_id,date,amount"]
    for c in range(customers):
        day = start + timedelta(days=int(rng.integers(0, 60)))
        rate = rng.gamma(2.0, 1 / 30)
        while day <= date(2025, 12, 31):
            rows.append(f"c{c},{day.isoformat()},{rng.gamma(5.0, 6.0):.2f}")
            day += timedelta(days=max(1, int(rng.exponential(1 / rate))))
            if rng.random() < 0.1:
                break
    path.write_text("\n".join(rows) + "\n")


def test_transactions_csv_is_summarised_and_fitted(tmp_path):
    data = tmp_path / "tx.csv"
    write_transactions(data)
    lines = run("--data", str(data), "--unit", "days", "--observation-end", "2025-12-31")
    assert lines[0].startswith(f"data: {data} (transactions)")
    last = figures(lines[-1])
    assert all(np.isfinite(v) for v in last.values()) and last["loglik"] < 0
    assert "Gamma-Gamma" in "\n".join(lines)


def test_summary_csv_is_fitted(tmp_path):
    from cx.clv.evaluation import cdnow_summary

    counts, _ = cdnow_summary()
    data = tmp_path / "summary.csv"
    data.write_text("frequency,recency,T\n" + "\n".join(
        f"{int(x)},{t},{T}" for x, t, T in zip(counts.frequency, counts.recency, counts.T, strict=True)) + "\n")
    last = figures(run("--data", str(data))[-1])
    assert last["bgnbd_r"] == pytest.approx(0.243, rel=0.005)
    assert "Gamma-Gamma not fitted: the data has no spend amounts" in "\n".join(run("--data", str(data)))


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("name,value\na,1\n", "must be a CSV with a header row: either transactions"),
    ("customer_id,date,amount\nc1,yesterday,3\n", "line 2: date must look like 2026-11-23"),
    ("customer_id,date,amount\nc1,2025-01-01,abc\n", "line 2: amount must be a number"),
    ("frequency,recency,T\n1,50,10\n", "recency cannot be larger than T"),
    ("frequency,recency,T\n", "has a header but no customers"),
    ("customer_id,date\nc1,2025-01-01\nc1,2025-02-01\nc2,2025-01-05\n", "not enough data to fit BG/NBD: 1 customer"),
    (b"\xff\xfe\x00bad", "is not UTF-8 text"),
])
def test_bad_files_get_a_clear_message_and_exit_code_2(tmp_path, content, message):
    data = tmp_path / "input.csv"
    if isinstance(content, bytes):
        data.write_bytes(content)
    elif content is not None:
        data.write_text(content)
    with pytest.raises(CommandError, match=message) as caught:
        run("--data", str(data))
    assert caught.value.returncode == 2
