"""Writes for customers and organisations: create, update, identities, merge, export and erasure."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.db import IntegrityError, transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.audit import audit_events_for, audit_record, audit_scrub
from cx.core.errors import Conflict, ValidationFailed
from cx.customers.identities import InvalidIdentity, normalize_identity
from cx.customers.models import Customer, CustomerIdentity, IdentityKind, Organization
from cx.customers.registry import customer_data_handlers

EXPORT_FORMAT = "cxdesk.customer-export/1"
CUSTOMER_FIELDS = ("display_name", "first_name", "last_name", "language", "time_zone", "notes")
_FIELD_LIMITS = {"display_name": 200, "first_name": 100, "last_name": 100, "language": 16, "time_zone": 64,
                 "notes": 20000}


@cache
def _known_time_zones() -> frozenset[str]:
    """available_timezones() walks the whole tz database (~7 ms); once per process is enough."""
    return frozenset(available_timezones())


def _check_fields(values: dict[str, Any]) -> dict[str, str]:
    unknown = set(values) - set(CUSTOMER_FIELDS) - {"organization_id"}
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in values.items():
        if name == "organization_id":
            continue
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = "must be a string"
            continue
        value = value.strip()
        if len(value) > _FIELD_LIMITS[name]:
            errors[name] = f"at most {_FIELD_LIMITS[name]} characters"
        cleaned[name] = value
    if cleaned.get("time_zone") and cleaned["time_zone"] not in _known_time_zones():
        errors["time_zone"] = "not a known IANA time zone, e.g. Europe/Berlin"
    if errors:
        raise ValidationFailed("Some fields are invalid.", fields=errors)
    return cleaned


def _organization(organization_id: int | None) -> Organization | None:
    if organization_id is None:
        return None
    org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        raise ValidationFailed("Unknown organisation.", fields={"organization_id": "no such organisation"})
    return org


def _normalized_identities(identities: list[dict]) -> list[tuple[str, str, bool]]:
    result: list[tuple[str, str, bool]] = []
    errors: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(identities):
        try:
            value = normalize_identity(item.get("kind", ""), item.get("value", ""))
        except InvalidIdentity as exc:
            errors[f"identities[{index}]"] = str(exc)
            continue
        key = (item["kind"], value)
        if key in seen:
            errors[f"identities[{index}]"] = "listed twice"
        seen.add(key)
        result.append((item["kind"], value, bool(item.get("is_primary", False))))
    if errors:
        raise ValidationFailed("Some identities are invalid.", fields=errors)
    taken = [
        (kind, value) for kind, value, _ in result
        if CustomerIdentity.objects.filter(kind=kind, value=value).exists()
    ]
    if taken:
        raise Conflict(
            "An identity already belongs to another customer.",
            fields={f"identities[{kind}]": f"{value} is already in use" for kind, value in taken},
        )
    return result


@transaction.atomic
def organization_create(*, actor: User | None, name: str, domain: str = "", notes: str = "",
                        token_scope: AccessLevel | None = None) -> Organization:
    if actor is not None:
        require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("An organisation needs a name.", fields={"name": "1 to 200 characters"})
    if Organization.objects.filter(name__iexact=name).exists():
        raise Conflict("An organisation with that name exists.", fields={"name": "already exists"})
    org = Organization.objects.create(name=name, domain=(domain or "").strip().lower(), notes=notes or "")
    audit_record(actor=actor, action="organization.created", target_type="organization", target_id=org.pk,
                 data={"name": name})
    return org


@transaction.atomic
def organization_update(*, actor: User, organization: Organization, values: dict[str, Any],
                        token_scope: AccessLevel | None = None) -> Organization:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    unknown = set(values) - {"name", "domain", "notes"}
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name or len(name) > 200:
            raise ValidationFailed("An organisation needs a name.", fields={"name": "1 to 200 characters"})
        if Organization.objects.filter(name__iexact=name).exclude(pk=organization.pk).exists():
            raise Conflict("An organisation with that name exists.", fields={"name": "already exists"})
        organization.name = name
    if "domain" in values:
        organization.domain = (values["domain"] or "").strip().lower()
    if "notes" in values:
        organization.notes = values["notes"] or ""
    organization.save()
    audit_record(actor=actor, action="organization.updated", target_type="organization",
                 target_id=organization.pk, data={"fields": sorted(values)})
    return organization


@transaction.atomic
def customer_create(
    *,
    actor: User | None,
    display_name: str = "",
    first_name: str = "",
    last_name: str = "",
    organization_id: int | None = None,
    language: str = "",
    time_zone: str = "",
    notes: str = "",
    identities: list[dict] | None = None,
    token_scope: AccessLevel | None = None,
) -> Customer:
    """Create a customer with its identities. ``actor`` is None for system callers (inbound channels)."""
    if actor is not None:
        require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    fields = _check_fields({"display_name": display_name, "first_name": first_name, "last_name": last_name,
                            "language": language, "time_zone": time_zone, "notes": notes})
    org = _organization(organization_id)
    normalized = _normalized_identities(identities or [])
    customer = Customer.objects.create(organization=org, **fields)
    for kind, value, is_primary in normalized:
        CustomerIdentity.objects.create(customer=customer, kind=kind, value=value, is_primary=is_primary)
    audit_record(actor=actor, action="customer.created", target_type="customer", target_id=customer.pk,
                 data={"identities": [f"{k}:{v}" for k, v, _ in normalized]})
    return customer


def _require_live(customer: Customer) -> None:
    if customer.merged_into_id is not None:
        raise Conflict(f"Customer {customer.pk} was merged into customer {customer.merged_into_id}.")
    if customer.erased_at is not None:
        raise Conflict(f"Customer {customer.pk} was erased.")


@transaction.atomic
def customer_update(*, actor: User, customer: Customer, values: dict[str, Any],
                    token_scope: AccessLevel | None = None) -> Customer:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    _require_live(customer)
    cleaned = _check_fields(values)
    changes = {}
    if "organization_id" in values:
        org = _organization(values["organization_id"])
        if customer.organization_id != (org.pk if org else None):
            changes["organization_id"] = [customer.organization_id, org.pk if org else None]
        customer.organization = org
    for name, value in cleaned.items():
        if getattr(customer, name) != value:
            changes[name] = [getattr(customer, name), value]
            setattr(customer, name, value)
    if changes:
        customer.save()
        audit_record(actor=actor, action="customer.updated", target_type="customer", target_id=customer.pk,
                     data={"changes": changes})
    return customer


@transaction.atomic
def identity_add(*, actor: User | None, customer: Customer, kind: str, value: str, is_primary: bool = False,
                 token_scope: AccessLevel | None = None) -> CustomerIdentity:
    if actor is not None:
        require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    _require_live(customer)
    try:
        normalized = normalize_identity(kind, value)
    except InvalidIdentity as exc:
        raise ValidationFailed("The identity is invalid.", fields={"value" if kind in IdentityKind.values
                                                                    else "kind": str(exc)}) from None
    existing = CustomerIdentity.objects.filter(kind=kind, value=normalized).first()
    if existing is not None:
        owner = "this customer" if existing.customer_id == customer.pk else f"customer {existing.customer_id}"
        raise Conflict("That identity is already in use.", fields={"value": f"belongs to {owner}"})
    if is_primary:
        customer.identities.filter(kind=kind).update(is_primary=False)
    try:
        with transaction.atomic():
            identity = CustomerIdentity.objects.create(customer=customer, kind=kind, value=normalized,
                                                       is_primary=is_primary)
    except IntegrityError:
        # Lost a race with a concurrent writer of the same identity.
        raise Conflict("That identity is already in use.", fields={"value": "already in use"}) from None
    audit_record(actor=actor, action="customer.identity_added", target_type="customer", target_id=customer.pk,
                 data={"identity_id": identity.pk, "kind": kind, "value": normalized})
    return identity


@transaction.atomic
def identity_remove(*, actor: User, customer: Customer, identity_id: int,
                    token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    _require_live(customer)
    identity = customer.identities.filter(pk=identity_id).first()
    if identity is None:
        from cx.core.errors import NotFound

        raise NotFound("No such identity on this customer.")
    identity.delete()
    audit_record(actor=actor, action="customer.identity_removed", target_type="customer", target_id=customer.pk,
                 data={"identity_id": identity_id, "kind": identity.kind, "value": identity.value})


def _snapshot(customer: Customer) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
    data["organization_id"] = customer.organization_id
    return data


@transaction.atomic
def customer_merge(*, actor: User, source: Customer, target: Customer,
                   token_scope: AccessLevel | None = None) -> Customer:
    """Move everything from ``source`` into ``target``; the source becomes a pointer to the target.

    The audit event keeps what moved and the source's fields, so an admin can see or undo the merge.
    """
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if source.pk == target.pk:
        raise ValidationFailed("A customer cannot be merged into itself.", fields={"source_id": "same as target"})
    # Lock both rows in id order so two concurrent merges cannot deadlock or interleave.
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
              .order_by("pk")}
    source, target = locked[source.pk], locked[target.pk]
    _require_live(source)
    _require_live(target)

    source_snapshot = _snapshot(source)
    filled: dict[str, Any] = {}
    for name in CUSTOMER_FIELDS:
        if not getattr(target, name) and getattr(source, name):
            filled[name] = getattr(source, name)
            setattr(target, name, getattr(source, name))
    if target.organization_id is None and source.organization_id is not None:
        target.organization_id = source.organization_id
        filled["organization_id"] = source.organization_id

    moved_identities = list(source.identities.values_list("pk", flat=True))
    # A target keeps its own primary identity of each kind.
    target_primary_kinds = set(target.identities.filter(is_primary=True).values_list("kind", flat=True))
    source.identities.filter(kind__in=target_primary_kinds).update(is_primary=False)
    source.identities.update(customer=target)

    moved: dict[str, list[int]] = {"identities": moved_identities}
    for handler in customer_data_handlers():
        moved[handler.name] = handler.reassign(source_id=source.pk, target_id=target.pk)

    now = timezone.now()
    source.merged_into = target
    source.merged_at = now
    source.save(update_fields=["merged_into", "merged_at", "updated_at"])
    # Customers merged earlier into the source now point straight at the target.
    Customer.objects.filter(merged_into=source).update(merged_into=target)
    target.save()
    data = {"source_id": source.pk, "target_id": target.pk, "moved": moved, "source_fields": source_snapshot,
            "filled_on_target": filled}
    audit_record(actor=actor, action="customer.merged", target_type="customer", target_id=target.pk, data=data)
    audit_record(actor=actor, action="customer.merged_away", target_type="customer", target_id=source.pk,
                 data={"target_id": target.pk})
    return target


def customer_export(*, actor: User, customer: Customer, token_scope: AccessLevel | None = None) -> dict[str, Any]:
    """Everything cxdesk holds about one customer (GDPR access request), as one JSON document."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    merged_ids = list(Customer.objects.filter(merged_into=customer).values_list("pk", flat=True))
    org = customer.organization
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "customer": {
            "id": customer.pk,
            **_snapshot(customer),
            "created_at": customer.created_at.isoformat(),
            "updated_at": customer.updated_at.isoformat(),
            "erased_at": customer.erased_at.isoformat() if customer.erased_at else None,
            "merged_from": merged_ids,
        },
        "organization": {"id": org.pk, "name": org.name, "domain": org.domain} if org else None,
        "identities": [
            {"id": i.pk, "kind": i.kind, "value": i.value, "is_primary": i.is_primary,
             "created_at": i.created_at.isoformat()}
            for i in customer.identities.all()
        ],
        "audit": [
            {"action": e.action, "actor": e.actor_label, "at": e.created_at.isoformat(), "data": e.data}
            for e in audit_events_for(target_type="customer", target_id=customer.pk)
        ],
    }
    for handler in customer_data_handlers():
        document[handler.name] = handler.export(customer_id=customer.pk)
    with transaction.atomic():
        audit_record(actor=actor, action="customer.exported", target_type="customer", target_id=customer.pk)
    return document


@transaction.atomic
def customer_erase(*, actor: User, customer: Customer, token_scope: AccessLevel | None = None) -> dict[str, int]:
    """Erase personal data (GDPR) while keeping anonymous aggregates (touchpoint kinds, stages, times).

    Customers that were merged into this one are erased too: they hold the same person's data.
    """
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.merged_into_id is not None:
        raise Conflict(f"Customer {customer.pk} was merged into customer {customer.merged_into_id}; "
                       "erase that customer instead.")
    ids = [customer.pk, *Customer.objects.filter(merged_into=customer).values_list("pk", flat=True)]
    counts = {"customers": len(ids), "identities": CustomerIdentity.objects.filter(customer_id__in=ids).count()}
    CustomerIdentity.objects.filter(customer_id__in=ids).delete()
    now = timezone.now()
    for record in Customer.objects.filter(pk__in=ids):
        for name in CUSTOMER_FIELDS:
            setattr(record, name, "")
        record.display_name = f"Erased customer {record.pk}"
        record.erased_at = record.erased_at or now
        record.save()
    audit_changed = 0
    for erased_id in ids:
        audit_changed += audit_scrub(target_type="customer", target_id=erased_id,
                                     keep_keys=("source_id", "target_id"))
        for handler in customer_data_handlers():
            counts[handler.name] = counts.get(handler.name, 0) + handler.erase(customer_id=erased_id)
    counts["audit_events"] = audit_changed
    audit_record(actor=actor, action="customer.erased", target_type="customer", target_id=customer.pk,
                 data={"counts": counts})
    return counts
