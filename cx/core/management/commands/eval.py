"""``cxdesk eval <name> ...``: run one registered evaluation (see cx.core.evaluation)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cx.core.evaluation import evaluations


class Command(BaseCommand):
    help = "Evaluate a model on data you give it; prints a table and, last, key=value figures."

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="evaluation", metavar="EVALUATION", required=True)
        for evaluation in evaluations():
            sub = subparsers.add_parser(evaluation.name, help=evaluation.help or evaluation.name)
            evaluation.add_arguments(sub)

    def handle(self, *args, **options):
        chosen = {e.name: e for e in evaluations()}[options["evaluation"]]
        chosen.handle(options, self.stdout)
