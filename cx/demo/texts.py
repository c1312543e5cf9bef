"""The customers' support questions for demo timelines: real public datasets when they are on disk,
otherwise a small sample written for cxdesk. Plain Python, no Django import."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SAMPLE_FILE = Path(__file__).resolve().parent / "sample_questions.csv"
SAMPLE_NAME = "cxdesk-sample"


@dataclass(frozen=True)
class TextSource:
    """One CSV file of questions: where it sits under the data dir and which columns hold what."""

    name: str
    relative_path: str
    text_column: str
    intent_column: str


# Headers checked against the files in ../shared/data: banking77 has `text,category`; the Bitext set has
# `context,role,instruction,intent,entity_type,...` (its `response` column is a multi-line answer).
DATASETS: tuple[TextSource, ...] = (
    TextSource("banking77", "banking77/train.csv", "text", "category"),
    TextSource("bitext_customer_support", "bitext_customer_support/train.csv", "instruction", "intent"),
)
SAMPLE = TextSource(SAMPLE_NAME, SAMPLE_FILE.name, "text", "intent")


@dataclass(frozen=True)
class SupportQuestion:
    text: str
    intent: str
    dataset: str


@dataclass(frozen=True)
class QuestionPool:
    questions: tuple[SupportQuestion, ...]
    counts: dict[str, int]  # dataset name -> questions taken from it
    skipped: dict[str, str]  # dataset name -> why it was not used (present but unreadable)

    @property
    def used_sample(self) -> bool:
        return SAMPLE_NAME in self.counts

    def describe(self) -> str:
        used = ", ".join(f"{name} ({count} questions)" for name, count in self.counts.items())
        problems = "".join(f"; skipped {name}: {reason}" for name, reason in self.skipped.items())
        return used + problems


def _read(path: Path, source: TextSource) -> list[SupportQuestion]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in (source.text_column, source.intent_column) if c not in header]
        if missing:
            raise ValueError(f"{path} has no column {', '.join(missing)} (header: {', '.join(header)})")
        questions = []
        for row in reader:
            text = " ".join((row.get(source.text_column) or "").split())
            if text:
                questions.append(SupportQuestion(text=text[:2000], intent=(row.get(source.intent_column) or "")
                                                 .strip(), dataset=source.name))
        return questions


def question_pool(data_dir: Path | None) -> QuestionPool:
    """Questions from the datasets found under ``data_dir``, or the built-in sample if there are none.

    The order is the files' order, so the same seed picks the same questions on every run.
    """
    questions: list[SupportQuestion] = []
    counts: dict[str, int] = {}
    skipped: dict[str, str] = {}
    if data_dir is not None:
        for source in DATASETS:
            path = Path(data_dir) / source.relative_path
            if not path.is_file():
                continue
            try:
                rows = _read(path, source)
            except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
                skipped[source.name] = str(exc)
                continue
            if rows:
                questions.extend(rows)
                counts[source.name] = len(rows)
    if not questions:
        questions = _read(SAMPLE_FILE, SAMPLE)
        counts = {SAMPLE_NAME: len(questions)}
    return QuestionPool(questions=tuple(questions), counts=counts, skipped=skipped)
