"""Recording touchpoints, and the customer-data handler that lets merge, export and erasure reach them."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import Conflict, ValidationFailed
from cx.customers.models import Customer
from cx.journeys.models import Department, Stage, Touchpoint, TouchpointDefinition
from cx.realtime.publish import publish_on_commit

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.:\-]{0,99}$")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")
MAX_PROPERTIES_BYTES = 16 * 1024
# Clocks of other systems drift; a little in the future is tolerated, far in the future is a bug.
MAX_FUTURE_SKEW = timedelta(minutes=5)


def _validate(*, kind: str, channel: str, stage: str, occurred_at: datetime, properties: dict,
              source: str) -> None:
    errors: dict[str, str] = {}
    if not isinstance(kind, str) or not _SLUG.match(kind):
        errors["kind"] = "lower-case words joined by . _ - or :, e.g. ticket.created"
    if not isinstance(channel, str) or not _CHANNEL.match(channel):
        errors["channel"] = "lower-case word, e.g. email, chat, web"
    if stage not in Stage.values:
        errors["stage"] = f"one of {', '.join(Stage.values)}"
    if not isinstance(occurred_at, datetime) or timezone.is_naive(occurred_at):
        errors["occurred_at"] = "a time-zone-aware date and time"
    elif occurred_at > timezone.now() + MAX_FUTURE_SKEW:
        errors["occurred_at"] = "must not be in the future"
    if not isinstance(properties, dict):
        errors["properties"] = "must be an object"
    else:
        try:
            size = len(json.dumps(properties))
        except (TypeError, ValueError):
            errors["properties"] = "must be JSON-serialisable"
        else:
            if size > MAX_PROPERTIES_BYTES:
                errors["properties"] = f"at most {MAX_PROPERTIES_BYTES} bytes of JSON"
    if not isinstance(source, str) or not source or len(source) > 64:
        errors["source"] = "1 to 64 characters"
    if errors:
        raise ValidationFailed("The touchpoint is invalid.", fields=errors)


def _recorded(*, source: str, external_id: str) -> Touchpoint | None:
    # Repeating the unique constraint's condition lets SQLite use its partial index; without it SQLite
    # scans the whole table on every idempotent write.
    return Touchpoint.objects.filter(~Q(external_id=""), source=source, external_id=external_id).first()


def touchpoint_record(
    *,
    customer: Customer,
    kind: str,
    channel: str,
    stage: str,
    occurred_at: datetime | None = None,
    properties: dict[str, Any] | None = None,
    source: str,
    external_id: str = "",
) -> Touchpoint:
    """Append a touchpoint to the customer's timeline.

    The row is written inside the caller's transaction, so a rolled-back ticket leaves no touchpoint;
    the live timeline push goes out only after commit. Repeating an ``external_id`` for the same
    source returns the touchpoint already recorded (idempotent ingestion).
    """
    occurred_at = occurred_at or timezone.now()
    properties = properties or {}
    _validate(kind=kind, channel=channel, stage=stage, occurred_at=occurred_at, properties=properties,
              source=source)
    if customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    if external_id:
        existing = _recorded(source=source, external_id=external_id)
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            touchpoint = Touchpoint.objects.create(
                customer=customer, kind=kind, channel=channel, stage=stage, occurred_at=occurred_at,
                properties=properties, source=source, external_id=external_id,
            )
    except IntegrityError:
        existing = _recorded(source=source, external_id=external_id)
        if existing is None:
            raise
        return existing
    publish_on_commit(
        group=f"customer.{customer.pk}.timeline",
        event_type="timeline.touchpoint_recorded",
        payload={"customer_id": customer.pk, "touchpoint_id": touchpoint.pk, "kind": kind, "stage": stage,
                 "channel": channel, "occurred_at": occurred_at.isoformat()},
    )
    return touchpoint


@transaction.atomic
def touchpoint_record_by_agent(*, actor: User, customer: Customer, kind: str, channel: str, stage: str,
                               occurred_at: datetime | None, properties: dict | None, external_id: str = "",
                               token_scope: AccessLevel | None = None) -> Touchpoint:
    """An agent or an integration records a touchpoint through the API (e.g. an order from a shop)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if customer.erased_at is not None:
        raise Conflict(f"Customer {customer.pk} was erased.")
    return touchpoint_record(customer=customer, kind=kind, channel=channel, stage=stage,
                             occurred_at=occurred_at, properties=properties, source="api",
                             external_id=external_id)


def touchpoint_as_dict(touchpoint: Touchpoint) -> dict[str, Any]:
    return {
        "id": touchpoint.pk,
        "kind": touchpoint.kind,
        "channel": touchpoint.channel,
        "stage": touchpoint.stage,
        "occurred_at": touchpoint.occurred_at.isoformat(),
        "recorded_at": touchpoint.recorded_at.isoformat(),
        "properties": touchpoint.properties,
        "source": touchpoint.source,
        "external_id": touchpoint.external_id,
    }


class TouchpointDataHandler:
    """Lets customer merge, export and erasure reach the timeline."""

    name = "touchpoints"

    def export(self, *, customer_id: int) -> list[dict]:
        rows = Touchpoint.objects.filter(customer_id=customer_id).order_by("occurred_at", "id")
        return [touchpoint_as_dict(t) for t in rows.iterator()]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ids = list(Touchpoint.objects.filter(customer_id=source_id).values_list("pk", flat=True))
        Touchpoint.objects.filter(pk__in=ids).update(customer_id=target_id)
        return ids

    def erase(self, *, customer_id: int) -> int:
        # Kind, channel, stage and time stay for aggregates; free-form properties and ids may identify.
        return Touchpoint.objects.filter(customer_id=customer_id).update(properties={}, external_id="")


def touchpoints_record_bulk(rows: list[dict[str, Any]]) -> int:
    """Append many touchpoints at once (the tracking loader's tracked events of known customers).

    Rows carry the touchpoint_record fields; a repeated (source, external_id) is skipped, so a re-run loads
    nothing twice. No live push per row: the timeline shows them on its next load.
    """
    objects = []
    for row in rows:
        kind = row["kind"] if _SLUG.match(row["kind"]) else "event"
        channel = row["channel"] if _CHANNEL.match(row["channel"]) else "web"
        stage = row["stage"] if row["stage"] in Stage.values else Stage.USAGE
        objects.append(Touchpoint(customer_id=row["customer_id"], kind=kind, channel=channel, stage=stage,
                                  occurred_at=row["occurred_at"], properties=row.get("properties") or {},
                                  source=row["source"][:64], external_id=row.get("external_id", "")[:128]))
    Touchpoint.objects.bulk_create(objects, batch_size=1000, ignore_conflicts=True)
    return len(objects)


@transaction.atomic
def touchpoint_definition_save(*, actor: User, instance: TouchpointDefinition | None,
                               values: dict[str, Any]) -> TouchpointDefinition:
    """Create or change a catalog entry (event [+ property value] -> touchpoint, stage, channel, owner)."""
    require_access(actor, AccessLevel.WRITE)
    errors: dict[str, str] = {}
    if not (values.get("event") or "").strip():
        errors["event"] = "required"
    if not (values.get("name") or "").strip():
        errors["name"] = "required"
    if bool(values.get("property_name")) != bool(values.get("property_value")):
        errors["property_value"] = "give both the property and its value, or neither"
    if values.get("stage") not in Stage.values:
        errors["stage"] = f"one of {', '.join(Stage.values)}"
    if values.get("department") not in Department.values:
        errors["department"] = f"one of {', '.join(Department.values)}"
    if not _CHANNEL.match(values.get("channel") or ""):
        errors["channel"] = "lower-case word, e.g. web, email, ads"
    clash = TouchpointDefinition.objects.filter(event=values.get("event", "").strip(),
                                                property_name=values.get("property_name") or "",
                                                property_value=values.get("property_value") or "")
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if clash.exists():
        errors["event"] = "this event (and property value) is already in the catalog"
    if errors:
        raise ValidationFailed("The touchpoint is invalid.", fields=errors)
    definition = instance or TouchpointDefinition()
    for name in ("event", "property_name", "property_value", "name", "stage", "channel", "department",
                 "description"):
        value = values.get(name) or ""
        setattr(definition, name, value.strip() if isinstance(value, str) else value)
    definition.save()
    audit_record(actor=actor, action="journeys.touchpoint_defined", target_type="touchpoint_definition",
                 target_id=definition.pk, data={"event": definition.event, "name": definition.name,
                                                "stage": definition.stage, "department": definition.department})
    return definition


@transaction.atomic
def touchpoint_definition_delete(*, actor: User, definition: TouchpointDefinition) -> None:
    require_access(actor, AccessLevel.WRITE)
    audit_record(actor=actor, action="journeys.touchpoint_undefined", target_type="touchpoint_definition",
                 target_id=definition.pk, data={"event": definition.event, "name": definition.name})
    definition.delete()
