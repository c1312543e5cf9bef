"""Fixtures for intent tests: labelled examples from BANKING77 (CC BY 4.0, 4 intents x 15) and a trained model."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cx.intents.services import intent_examples_import, intent_model_train

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_rows(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def examples(admin_user):
    rows = fixture_rows("intents_train.csv")
    intent_examples_import(actor=admin_user, rows=[(r["text"], r["category"]) for r in rows])
    return rows


@pytest.fixture
def trained(examples):
    return intent_model_train(trigger="command")
