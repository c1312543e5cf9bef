"""Reads for intent routing (permission-checked)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound
from cx.intents.models import IntentExample, IntentLabel, IntentModel, TicketIntent
from cx.tickets.selectors import ticket_get_for


def intent_label_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[IntentLabel]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return IntentLabel.objects.select_related("team").annotate(example_count=Count("examples")).order_by("name")


def intent_label_get_for(*, actor: User, label_id: int, token_scope: AccessLevel | None = None) -> IntentLabel:
    label = intent_label_list(actor=actor, token_scope=token_scope).filter(pk=label_id).first()
    if label is None:
        raise NotFound(f"Intent {label_id} does not exist.")
    return label


def intent_model_list(*, actor: User, token_scope: AccessLevel | None = None, limit: int = 20) -> list[IntentModel]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return list(IntentModel.objects.defer("artifact").order_by("-created_at", "-id")[:limit])


def intent_model_get_for(*, actor: User, model_id: int, token_scope: AccessLevel | None = None) -> IntentModel:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    row = IntentModel.objects.defer("artifact").filter(pk=model_id).first()
    if row is None:
        raise NotFound(f"Training run {model_id} does not exist.")
    return row


def intent_example_counts(*, actor: User, token_scope: AccessLevel | None = None) -> dict[str, int]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    counts = {"total": IntentExample.objects.count()}
    for row in IntentExample.objects.values("source").annotate(n=Count("id")):
        counts[row["source"]] = row["n"]
    return counts


def ticket_intent_for(*, actor: User, ticket_id: int, token_scope: AccessLevel | None = None) -> TicketIntent | None:
    """The prediction for a ticket the actor may see (None when the ticket was never classified)."""
    ticket = ticket_get_for(actor=actor, ticket_id=ticket_id, token_scope=token_scope)
    return (TicketIntent.objects.select_related("label", "corrected_label", "corrected_by", "label__team")
            .filter(ticket=ticket).first())
