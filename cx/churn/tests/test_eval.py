"""`cxdesk eval churn` on a small IBM Telco fixture, and its clear errors for unusable input."""

from __future__ import annotations

import io
import re
import shutil

import pytest
from django.core.management import CommandError, call_command

from cx.churn.tests.test_features import FIXTURES


def run_eval(train, test) -> list[str]:
    out = io.StringIO()
    call_command("eval", "churn", "--train", str(train), "--test", str(test), stdout=out)
    return out.getvalue().strip().splitlines()


def test_eval_churn_prints_metrics_calibration_and_roc_auc_last():
    lines = run_eval(FIXTURES / "telco_small_train.csv", FIXTURES / "telco_small_test.csv")
    text = "\n".join(lines)
    assert "train rows: 300 (78 churned), test rows: 150 (42 churned)" in text
    assert "blank/non-numeric numeric cells filled: 1 train, 1 test" in text  # the blank TotalCharges rows
    for metric in ("ROC-AUC", "PR-AUC", "Brier", "log loss"):
        assert re.search(rf"^{metric}\s+0\.\d{{4}}$", text, re.M), metric
    deciles = [line for line in lines if re.match(r"^\s+\d+\s+15\s+0\.\d{3}\s+0\.\d{3}$", line)]
    assert len(deciles) == 10
    predicted = [float(line.split()[2]) for line in deciles]
    assert predicted == sorted(predicted)  # deciles of predicted risk, lowest first
    assert re.fullmatch(r"pr_auc=0\.\d{4} brier=0\.\d{4} log_loss=0\.\d{4}", lines[-2])
    match = re.fullmatch(r"roc_auc=(0\.\d{4})", lines[-1])
    assert match and float(match.group(1)) >= 0.75


def _expect_input_error(train, test, message: str):
    with pytest.raises(CommandError, match=message) as error:
        run_eval(train, test)
    assert error.value.returncode == 2


def test_eval_churn_explains_bad_input(tmp_path):
    train, test = FIXTURES / "telco_small_train.csv", FIXTURES / "telco_small_test.csv"
    _expect_input_error(tmp_path / "nope.csv", test, "TRAIN file .*nope.csv' does not exist")
    no_label = tmp_path / "no_label.csv"
    no_label.write_text("customerID,tenure\n1,3\n")
    _expect_input_error(train, no_label, r"TEST file .* missing MonthlyCharges, TotalCharges, gender, .*, Churn "
                                         r"\(found: customerID, tenure\)")
    header, *rows = (FIXTURES / "telco_small_train.csv").read_text().splitlines()
    bad_label = tmp_path / "bad_label.csv"
    bad_label.write_text("\n".join([header, rows[0].rsplit(",", 1)[0] + ",Maybe", *rows[1:]]) + "\n")
    _expect_input_error(bad_label, test, "line 2: Churn must be Yes or No, got 'Maybe'")
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("\n".join([header, *rows[:12]]) + "\n")
    _expect_input_error(tiny, test, "Too little data to train a churn model: 12 customers")
    one_class = tmp_path / "one_class.csv"
    one_class.write_text("\n".join([header, *[r for r in rows if r.endswith(",No")][:20]]) + "\n")
    _expect_input_error(train, one_class, "needs rows of both classes")
    latin = tmp_path / "latin.csv"
    shutil.copy(train, latin)
    latin.write_bytes(latin.read_bytes() + "café,Yes\n".encode("latin-1"))
    _expect_input_error(latin, test, "is not UTF-8 text")
