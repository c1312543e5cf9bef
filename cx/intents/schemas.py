"""API shapes for intent routing. In-schemas refuse unknown fields; value checks are in the services."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class IntentLabelIn(_In):
    name: str
    description: str = ""
    team_id: int | None = Field(None, description="Team that tickets with this intent are routed to.")
    priority: str = Field("", description="low, normal, high, urgent or empty (leave the ticket's priority).")
    tags: list[str] = Field(default_factory=list, description="Tags added to tickets with this intent.")


class IntentLabelPatchIn(_In):
    name: str = None
    description: str = None
    team_id: int | None = None
    priority: str = None
    tags: list[str] = None


class IntentLabelOut(Schema):
    id: int
    name: str
    description: str
    team_id: int | None
    priority: str
    tags: list[str]
    example_count: int = 0


class IntentSettingsIn(_In):
    threshold: float = Field(None, description="Routing acts on predictions at least this confident (0-1).")
    routing_enabled: bool = None
    retrain_every_hours: int = Field(None, description="Scheduled retraining interval; 0 = only by hand.")


class IntentSettingsOut(Schema):
    threshold: float
    routing_enabled: bool
    retrain_every_hours: int


class ExampleIn(_In):
    text: str
    category: str


class ExamplesIn(_In):
    examples: list[ExampleIn]


class ExamplesImportOut(Schema):
    created: int
    labels_created: list[str]


class IntentModelOut(Schema):
    id: int
    status: str
    trigger: str
    is_active: bool
    examples: int
    labels: list[str]
    skipped_labels: dict[str, int]
    holdout_accuracy: float | None
    training_seconds: float | None
    error: str
    created_at: datetime
    finished_at: datetime | None


class PredictIn(_In):
    text: str


class PredictionOut(Schema):
    label: str
    confidence: float
    alternatives: list[tuple[str, float]]
    model_id: int


class TicketIntentOut(Schema):
    ticket_id: int
    label: str | None
    confidence: float
    alternatives: list[tuple[str, float]]
    routed: bool
    predicted_at: datetime | None
    corrected_label: str | None
    corrected_by: str | None
    corrected_at: datetime | None


class TicketIntentCorrectIn(_In):
    label_id: int
