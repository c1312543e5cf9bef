"""Labelled examples copied from a customer's tickets are that customer's data: export and erase cover them."""

from __future__ import annotations

from cx.intents.models import IntentExample


class IntentExamplesHandler:
    name = "intent_examples"

    def export(self, *, customer_id: int) -> list[dict]:
        rows = IntentExample.objects.filter(ticket__requester_id=customer_id).select_related("label")
        return [{"ticket_id": row.ticket_id, "text": row.text, "intent": row.label.name,
                 "created_at": row.created_at.isoformat()} for row in rows]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        return []  # examples follow their ticket, which the tickets app moves

    def erase(self, *, customer_id: int) -> int:
        deleted, _ = IntentExample.objects.filter(ticket__requester_id=customer_id).delete()
        return deleted
