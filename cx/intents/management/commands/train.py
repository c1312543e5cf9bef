"""``cxdesk train intents [--examples FILE.csv]``: (optionally import labelled examples, then) train the intent
classifier on every labelled example in the database and activate it."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cx.core.errors import DomainError


class Command(BaseCommand):
    help = "Train a model now: `cxdesk train intents` (labelled tickets and imported examples → intent classifier)."

    def add_arguments(self, parser):
        parser.add_argument("model", choices=["intents"], help="what to train")
        parser.add_argument("--examples", metavar="FILE.csv",
                            help="first import labelled examples from a CSV with columns text,category")

    def handle(self, *args, **options):
        from cx.accounts.models import Role, User
        from cx.intents.services import intent_examples_import, intent_model_train
        from cx.intents.views import parse_examples_csv

        if options["examples"]:
            path = Path(options["examples"])
            if not path.is_file():
                raise CommandError(f"{path} does not exist or is not a file.", returncode=2)
            admin = User.objects.filter(role=Role.ADMIN, is_active=True, is_system=False).order_by("pk").first()
            if admin is None:
                raise CommandError("Importing examples is recorded as an admin's action: create one first "
                                   "(cxdesk createadmin).", returncode=2)
            try:
                result = intent_examples_import(actor=admin, rows=parse_examples_csv(path.read_bytes()))
            except DomainError as exc:
                reasons = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
                raise CommandError(f"{exc.message} {reasons}".strip(), returncode=2) from None
            self.stdout.write(f"imported {result.created} examples ({len(result.labels_created)} new intents)")
        started = time.perf_counter()
        try:
            run = intent_model_train(trigger="command")
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from None
        accuracy = f"{run.holdout_accuracy:.4f}" if run.holdout_accuracy is not None else "n/a (too few examples)"
        self.stdout.write(f"model #{run.pk} active: {len(run.labels)} intents, {run.examples} examples, "
                          f"held-out accuracy {accuracy}, {time.perf_counter() - started:.1f} s")
        if run.skipped_labels:
            self.stdout.write(f"not learnt (fewer than 3 examples): {run.skipped_labels}")
