"""`cxdesk eval intents` and `cxdesk eval kb` on small CSV fixtures (BANKING77 CC BY 4.0, Bitext CDLA-Sharing)."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from cx.intents.tests.conftest import FIXTURES
from cx.search.models import SearchCollection


def run_eval(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("eval", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_eval_intents_prints_a_per_intent_report_speed_and_accuracy_last():
    lines = run_eval("intents", "--train", str(FIXTURES / "intents_train.csv"),
                     "--test", str(FIXTURES / "intents_test.csv"))
    assert lines[0].split()[:2] == ["intent", "precision"]
    assert any(line.startswith("card_arrival ") for line in lines)
    assert any("texts/s" in line for line in lines)
    match = re.fullmatch(r"accuracy=(\d\.\d{4})", lines[-1])
    assert match and float(match.group(1)) >= 0.7


def test_eval_kb_builds_one_article_per_intent_and_reports_top1_top3(db):
    lines = run_eval("kb", "--train", str(FIXTURES / "kb_train.csv"), "--test", str(FIXTURES / "kb_test.csv"))
    assert any(line.startswith("track_order ") for line in lines)
    assert "articles: 5, questions: 20" in "\n".join(lines)
    match = re.fullmatch(r"top1=(\d\.\d{4}) top3=(\d\.\d{4})", lines[-1])
    assert match and float(match.group(2)) >= 0.9 and float(match.group(1)) <= float(match.group(2))
    assert not SearchCollection.objects.exists()  # the evaluation's KB was rolled back


@pytest.mark.parametrize(("evaluation", "content", "message"), [
    ("intents", "txt,label\nhello,greet\n", "must be a CSV with a header row containing the columns text, category"),
    ("intents", "text,category\n,\n", "has no rows with text, category filled in"),
    ("intents", "text,category\nhello,greet,extra\n", "more fields than the header has columns"),
    ("intents", b"text,category\n\xff\xfe,x\n", "is not UTF-8 text"),
    ("intents", "text,category\n" + "a,x\n" * 4 + "b,y\n", "Too little labelled data"),
    ("kb", "instruction,intent\nhi,x\n", "missing response"),
])
def test_malformed_csvs_get_a_clear_message_and_exit_code_2(db, tmp_path, evaluation, content, message):
    bad = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)
    good = FIXTURES / ("intents_test.csv" if evaluation == "intents" else "kb_test.csv")
    with pytest.raises(CommandError, match=re.escape(message)) as error:
        run_eval(evaluation, "--train", str(bad), "--test", str(good))
    assert error.value.returncode == 2


def test_missing_files_exit_2_from_the_command_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "config.cli", "eval", "intents", "--train",
                             str(tmp_path / "nope.csv"), "--test", str(tmp_path / "nope.csv")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
