"""Registry behind `cxdesk eval <name> ...`: each app registers its evaluation in AppConfig.ready(), so
core dispatches without importing apps above it. An evaluation adds its arguments to an argparse
sub-parser and runs with the parsed options, writing a table and a last ``key=value`` line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO


@dataclass(frozen=True)
class Evaluation:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[dict[str, Any], TextIO], int]  # returns an exit status; raises ValueError for bad arguments


_evaluations: dict[str, Evaluation] = {}


def register_evaluation(evaluation: Evaluation) -> None:
    _evaluations[evaluation.name] = evaluation


def evaluations() -> list[Evaluation]:
    return [_evaluations[name] for name in sorted(_evaluations)]
