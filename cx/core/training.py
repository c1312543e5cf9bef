"""A registry of training commands: ``cxdesk train <name> ...`` runs the trainer an app registered.

Apps call ``register_trainer`` in ``AppConfig.ready()``. A trainer adds its own arguments, trains (and
activates) its model from the instance's data, and prints what it did to ``stdout``. Input or data that cannot
train (a missing file, too little labelled data) raises ``TrainingInputError`` (or a ``cx.core.errors``
DomainError): the command prints the message and exits 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO


class TrainingInputError(Exception):
    """The training cannot run; the message tells the user what to fix."""


@dataclass(frozen=True)
class Trainer:
    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handle: Callable[[dict[str, Any], TextIO], None]
    help: str = ""


_trainers: dict[str, Trainer] = {}


def register_trainer(name: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                     handle: Callable[[dict[str, Any], TextIO], None], *, help: str = "") -> None:
    _trainers[name] = Trainer(name=name, add_arguments=add_arguments, handle=handle, help=help)


def trainers() -> list[Trainer]:
    return [_trainers[name] for name in sorted(_trainers)]
