"""Writing and reading the audit log; every service that changes data calls ``audit_record``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cx.core.models import AuditEvent


def audit_record(*, actor: Any, action: str, target_type: str, target_id: int, data: dict | None = None) -> AuditEvent:
    """Append one audit event. ``actor`` is a user or None for the system."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        label = actor.get_username()
        actor_obj = actor
    else:
        label = "system"
        actor_obj = None
    return AuditEvent.objects.create(
        actor=actor_obj,
        actor_label=label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=data or {},
    )


def audit_events_for(*, target_type: str, target_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(target_type=target_type, target_id=target_id).order_by("created_at", "id")


def audit_scrub(*, target_type: str, target_id: int, keep_keys: tuple[str, ...] = ()) -> int:
    """Remove personal data from the audit trail of one record (GDPR erasure); returns events changed."""
    changed = 0
    for event in audit_events_for(target_type=target_type, target_id=target_id):
        event.data = {k: v for k, v in event.data.items() if k in keep_keys}
        event.save(update_fields=["data"])
        changed += 1
    return changed
