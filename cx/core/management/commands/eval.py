"""``cxdesk eval <name> ...``: run an evaluation an app registered (see cx.core.evaluation)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from cx.core.evaluation import EvaluationInputError, evaluations


class Command(BaseCommand):
    help = "Evaluate a model on your own data: cxdesk eval <name> --help lists each one's arguments."

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="evaluation", metavar="<name>", required=True)
        for evaluation in evaluations():
            sub = subparsers.add_parser(evaluation.name, help=evaluation.help, description=evaluation.help)
            evaluation.add_arguments(sub)

    def handle(self, *args, **options):
        chosen = {e.name: e for e in evaluations()}[options["evaluation"]]
        try:
            chosen.handle(options, self.stdout)
        except EvaluationInputError as exc:
            raise CommandError(str(exc), returncode=2) from None
