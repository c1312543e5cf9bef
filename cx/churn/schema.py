"""The column layout of the churn feature matrix, apart from the pipeline so that the features (imported by every
web process) do not pull in scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schema:
    """Which columns of the object matrix are numeric and which categorical."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical
