"""`cxdesk eval email DIR` on the shared corpus and on a folder of its own making."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cx.mail.tests.test_inbound import CORPUS


def _eval(directory: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "config.cli", "eval", "email", str(directory)], capture_output=True,
                          text=True, timeout=300, check=True)
    return done.stdout.strip().splitlines()


def test_the_shared_corpus_parses_without_a_crash_and_every_talon_reply_strips_exactly():
    last = _eval(CORPUS)[-1]
    figures = dict(pair.split("=") for pair in last.split())
    assert figures["crashed"] == "0"
    assert int(figures["parsed"]) + int(figures["rejected"]) == len(list(CORPUS.glob("*.eml")))
    matched, compared = figures["reply_match"].split("/")
    assert matched == compared and int(compared) >= 6


def test_garbage_files_are_reported_not_crashed(tmp_path):
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "binary.eml").write_bytes(bytes(range(256)) * 50)
    (tmp_path / "headers-only.eml").write_bytes(b"From: =?x-bogus?Q?=FF?= <a@b.c>\r\nContent-Type: multipart/mixed\r\n")
    lines = _eval(tmp_path)
    assert lines[-1].startswith("parsed=") and "crashed=0" in lines[-1]
    assert len([line for line in lines if line.endswith(".eml") or ".eml " in line]) == 3


def test_a_missing_folder_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "config.cli", "eval", "email", "/no/such/folder"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "is not a directory" in done.stderr
