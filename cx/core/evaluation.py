"""Registry of evaluations run by ``cxdesk eval <name> ...``. Apps register theirs in AppConfig.ready():

    register_evaluation("sentiment", add_arguments, handle)

``add_arguments(parser)`` adds the evaluation's options; ``handle(options, stdout)`` runs it, prints a table
and, as its LAST line, ``key=value`` figures (e.g. ``accuracy=0.9125 f1=0.9100``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Evaluation:
    name: str
    add_arguments: Callable[[Any], None]
    handle: Callable[[dict[str, Any], Any], None]
    help: str = ""


_evaluations: dict[str, Evaluation] = {}


def register_evaluation(name: str, add_arguments: Callable[[Any], None],
                        handle: Callable[[dict[str, Any], Any], None], help: str = "") -> None:
    _evaluations[name] = Evaluation(name=name, add_arguments=add_arguments, handle=handle, help=help)


def evaluations() -> list[Evaluation]:
    return [_evaluations[name] for name in sorted(_evaluations)]
