"""``cxdesk train intents [--examples FILE.csv]``: (optionally import labelled examples, then) train the intent
classifier on every labelled example in the database and activate it. Registered with cx.core.training."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, TextIO

from cx.core.errors import DomainError
from cx.core.training import TrainingInputError


def add_intents_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", metavar="FILE.csv",
                        help="first import labelled examples from a CSV with columns text,category")


def handle_intents(options: dict[str, Any], out: TextIO) -> None:
    from cx.accounts.models import Role, User
    from cx.intents.services import intent_examples_import, intent_model_train
    from cx.intents.views import parse_examples_csv

    if options.get("examples"):
        path = Path(options["examples"])
        if not path.is_file():
            raise TrainingInputError(f"{path} does not exist or is not a file.")
        admin = User.objects.filter(role=Role.ADMIN, is_active=True, is_system=False).order_by("pk").first()
        if admin is None:
            raise TrainingInputError("Importing examples is recorded as an admin's action: create one first "
                                     "(cxdesk createadmin).")
        try:
            result = intent_examples_import(actor=admin, rows=parse_examples_csv(path.read_bytes()))
        except DomainError as exc:
            reasons = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
            raise TrainingInputError(f"{exc.message} {reasons}".strip()) from None
        out.write(f"imported {result.created} examples ({len(result.labels_created)} new intents)\n")
    started = time.perf_counter()
    try:
        run = intent_model_train(trigger="command")
    except DomainError as exc:
        raise TrainingInputError(exc.message) from None
    accuracy = f"{run.holdout_accuracy:.4f}" if run.holdout_accuracy is not None else "n/a (too few examples)"
    out.write(f"model #{run.pk} active: {len(run.labels)} intents, {run.examples} examples, "
              f"held-out accuracy {accuracy}, {time.perf_counter() - started:.1f} s\n")
    if run.skipped_labels:
        out.write(f"not learnt (fewer than 3 examples): {run.skipped_labels}\n")
