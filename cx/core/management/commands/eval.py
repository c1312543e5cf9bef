"""`cxdesk eval <name> ...`: run one registered evaluation (see cx.core.evaluations)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cx.core.evaluations import evaluations


class Command(BaseCommand):
    help = "Evaluate a part of cxdesk on your own data; prints a table and a last line of key=value figures."

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="evaluation", metavar="NAME", parser_class=CommandParser,
                                           required=True)
        for evaluation in evaluations():
            sub = subparsers.add_parser(evaluation.name, help=evaluation.help, description=evaluation.help,
                                        called_from_command_line=getattr(parser, "called_from_command_line", None))
            evaluation.add_arguments(sub)

    def handle(self, *args, **options) -> None:
        chosen = {e.name: e for e in evaluations()}.get(options["evaluation"])
        if chosen is None:
            raise CommandError(f"unknown evaluation {options['evaluation']!r}; "
                               f"choose one of {', '.join(e.name for e in evaluations())}")
        try:
            status = chosen.run(options, self.stdout)
        except ValueError as error:  # bad arguments (a missing folder, a malformed file list)
            raise CommandError(str(error), returncode=2) from None
        if status:
            raise CommandError(f"{chosen.name} evaluation failed", returncode=status)
