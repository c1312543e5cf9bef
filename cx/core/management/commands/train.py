"""``cxdesk train <name> ...``: train a model an app registered (see cx.core.training)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from cx.core.errors import DomainError
from cx.core.training import TrainingInputError, trainers


class Command(BaseCommand):
    help = "Train a model now from this instance's data: cxdesk train <name> --help lists each one's arguments."

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="model", metavar="<name>", required=True)
        for trainer in trainers():
            sub = subparsers.add_parser(trainer.name, help=trainer.help, description=trainer.help)
            trainer.add_arguments(sub)

    def handle(self, *args, **options):
        chosen = {t.name: t for t in trainers()}[options["model"]]
        try:
            chosen.handle(options, self.stdout)
        except TrainingInputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except DomainError as exc:
            reasons = "; ".join(f"{k}: {v}" for k, v in exc.fields.items() if v != exc.message)
            raise CommandError(f"{exc.message} {reasons}".strip(), returncode=2) from None
