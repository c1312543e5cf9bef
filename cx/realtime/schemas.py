"""The envelope of every realtime event; each event type names its payload fields here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

EVENT_PAYLOAD_FIELDS: dict[str, set[str]] = {
    "timeline.touchpoint_recorded": {"customer_id", "touchpoint_id", "kind", "stage", "channel", "occurred_at"},
    "ticket.changed": {"ticket_id", "change", "status_category", "assignee_id", "team_id"},
    # Collision detection on a ticket page (sent by the presence consumer, not stored anywhere).
    "ticket.presence": {"ticket_id", "viewers"},
    "ticket.typing": {"ticket_id", "user_id", "name"},
    "notification.created": {"notification_id", "kind", "title", "ticket_id", "url"},
}


class RealtimeEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    type: str
    payload: dict[str, Any]

    @model_validator(mode="after")
    def _payload_matches_type(self) -> RealtimeEvent:
        expected = EVENT_PAYLOAD_FIELDS.get(self.type)
        if expected is None:
            raise ValueError(f"unknown realtime event type {self.type!r}")
        if set(self.payload) != expected:
            raise ValueError(f"{self.type} payload needs exactly {sorted(expected)}")
        return self
