"""Ticket events pushed to agents' browsers after commit (queues, ticket pages)."""

from __future__ import annotations

from cx.realtime.publish import publish_on_commit
from cx.tickets.models import Ticket
from cx.tickets.selectors import inbox_counts_invalidate


def ticket_changed_on_commit(*, ticket: Ticket, change: str) -> None:
    """Tell open queues and the ticket page that a ticket was created or changed."""
    inbox_counts_invalidate()
    payload = {
        "ticket_id": ticket.pk,
        "change": change,
        "status_category": ticket.status_category,
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
    }
    publish_on_commit(group="tickets.queues", event_type="ticket.changed", payload=payload)
    publish_on_commit(group=f"ticket.{ticket.pk}", event_type="ticket.changed", payload=payload)
