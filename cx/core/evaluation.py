"""A registry of evaluation commands: ``cxdesk eval <name> ...`` runs the handler an app registered.

Apps call ``register_evaluation`` in ``AppConfig.ready()``. A handler reads the data paths it was given,
prints a table to ``stdout`` and ends with one line of ``key=value`` figures. Bad input (a missing file, a CSV
without the expected columns) raises ``EvaluationInputError``: the command prints the message and exits 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO


class EvaluationInputError(Exception):
    """The evaluation's input cannot be used; the message tells the user what to fix."""


@dataclass(frozen=True)
class Evaluation:
    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handle: Callable[[dict[str, Any], TextIO], None]
    help: str = ""


_evaluations: dict[str, Evaluation] = {}


def register_evaluation(name: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                        handle: Callable[[dict[str, Any], TextIO], None], *, help: str = "") -> None:
    _evaluations[name] = Evaluation(name=name, add_arguments=add_arguments, handle=handle, help=help)


def evaluations() -> list[Evaluation]:
    return [_evaluations[name] for name in sorted(_evaluations)]
