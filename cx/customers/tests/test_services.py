"""Customers: identities unique per kind, merge moves all history reversibly, export is complete, erasure
leaves no personal data but keeps anonymous aggregates."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from cx.core.errors import Conflict, PermissionDenied, ValidationFailed
from cx.core.models import AuditEvent
from cx.customers.identities import InvalidIdentity, normalize_identity
from cx.customers.models import Customer, CustomerIdentity
from cx.customers.services import (
    customer_create,
    customer_erase,
    customer_export,
    customer_merge,
    customer_update,
    identity_add,
)
from cx.journeys.models import Touchpoint
from cx.journeys.services import touchpoint_record


def _customer(actor, name: str, email: str, phone: str | None = None, touchpoints: int = 2) -> Customer:
    identities = [{"kind": "email", "value": email, "is_primary": True}]
    if phone:
        identities.append({"kind": "phone", "value": phone})
    customer = customer_create(actor=actor, display_name=name, identities=identities, notes=f"{name} likes tea")
    for n in range(touchpoints):
        touchpoint_record(customer=customer, kind="page.viewed", channel="web", stage="consideration",
                          occurred_at=timezone.now() - timedelta(days=n), properties={"url": f"/p/{n}"},
                          source="test")
    return customer


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "  Ana@Example.COM ", "ana@example.com"),
        ("phone", "+49 (151) 123-45678", "+4915112345678"),
        ("phone", "0049 151 1234 5678", "+4915112345678"),
        ("whatsapp", "+49 151 12345678", "4915112345678"),
        ("telegram", "123456789", "123456789"),
        ("external", "shop-user-42", "shop-user-42"),
    ],
)
def test_identity_values_are_normalised(kind, raw, expected):
    assert normalize_identity(kind, raw) == expected


@pytest.mark.parametrize(("kind", "raw"), [("email", "not-an-email"), ("phone", "12345"), ("telegram", "abc"),
                                           ("fax", "1"), ("email", "")])
def test_invalid_identities_are_refused_with_a_reason(kind, raw):
    with pytest.raises(InvalidIdentity):
        normalize_identity(kind, raw)


def test_an_identity_belongs_to_one_customer_per_kind(agent_user):
    _customer(agent_user, "Ana", "ana@example.com")
    before = Customer.objects.count()
    with pytest.raises(Conflict) as exc:
        customer_create(actor=agent_user, display_name="Impostor",
                        identities=[{"kind": "email", "value": "ANA@example.com"}])
    assert "identities[email]" in exc.value.fields
    assert Customer.objects.count() == before
    # The same value under another kind is a different identity.
    customer_create(actor=agent_user, display_name="Ext", identities=[{"kind": "external", "value": "ana@example.com"}])


def test_analyst_cannot_create_or_change_customers(analyst_user, agent_user):
    ana = _customer(agent_user, "Ana", "ana@example.com")
    with pytest.raises(PermissionDenied):
        customer_create(actor=analyst_user, display_name="X")
    with pytest.raises(PermissionDenied):
        customer_update(actor=analyst_user, customer=ana, values={"display_name": "Y"})
    assert Customer.objects.get(pk=ana.pk).display_name == "Ana"


def test_update_rejects_unknown_fields_and_bad_time_zones(agent_user):
    ana = _customer(agent_user, "Ana", "ana@example.com")
    with pytest.raises(ValidationFailed) as exc:
        customer_update(actor=agent_user, customer=ana, values={"shoe_size": "42"})
    assert exc.value.fields == {"shoe_size": "unknown field"}
    with pytest.raises(ValidationFailed) as exc:
        customer_update(actor=agent_user, customer=ana, values={"time_zone": "Mars/Olympus"})
    assert "time_zone" in exc.value.fields


def test_merge_keeps_every_identity_and_timeline_entry(agent_user):
    ana = _customer(agent_user, "Ana", "ana@example.com", "+4915112345678", touchpoints=3)
    dup = _customer(agent_user, "Ana B.", "ana.b@work.example", "+4915187654321", touchpoints=2)
    identity_add(actor=agent_user, customer=dup, kind="telegram", value="777")
    all_identities = set(CustomerIdentity.objects.values_list("kind", "value"))
    all_touchpoints = set(Touchpoint.objects.values_list("pk", flat=True))
    dup_touchpoints = sorted(dup.touchpoints.values_list("pk", flat=True))

    survivor = customer_merge(actor=agent_user, source=dup, target=ana)

    assert set(survivor.identities.values_list("kind", "value")) == all_identities
    assert set(survivor.touchpoints.values_list("pk", flat=True)) == all_touchpoints
    dup.refresh_from_db()
    assert dup.merged_into_id == ana.pk and dup.merged_at is not None
    # The target keeps its own primary email.
    assert survivor.identities.get(kind="email", is_primary=True).value == "ana@example.com"
    # Reversible information: what moved and the source's own fields are in the audit log.
    event = AuditEvent.objects.get(action="customer.merged", target_id=ana.pk)
    assert event.data["source_id"] == dup.pk
    assert sorted(event.data["moved"]["touchpoints"]) == dup_touchpoints
    assert len(event.data["moved"]["touchpoints"]) == 2
    assert len(event.data["moved"]["identities"]) == 3
    assert event.data["source_fields"]["display_name"] == "Ana B."


def test_merge_refuses_self_and_already_merged_customers(agent_user):
    ana = _customer(agent_user, "Ana", "ana@example.com")
    dup = _customer(agent_user, "Dup", "dup@example.com")
    with pytest.raises(ValidationFailed):
        customer_merge(actor=agent_user, source=ana, target=ana)
    customer_merge(actor=agent_user, source=dup, target=ana)
    with pytest.raises(Conflict):
        customer_merge(actor=agent_user, source=dup, target=ana)


def test_touchpoints_recorded_for_a_merged_customer_land_on_the_survivor(agent_user):
    ana = _customer(agent_user, "Ana", "ana@example.com", touchpoints=0)
    dup = _customer(agent_user, "Dup", "dup@example.com", touchpoints=0)
    customer_merge(actor=agent_user, source=dup, target=ana)
    dup.refresh_from_db()
    tp = touchpoint_record(customer=dup, kind="order.completed", channel="web", stage="purchase", source="shop")
    assert tp.customer_id == ana.pk


def test_export_contains_everything_about_the_customer(agent_user, make_user):
    ana = _customer(agent_user, "Ana", "ana@example.com", "+4915112345678", touchpoints=3)
    dup = _customer(agent_user, "Dup", "dup@example.com", touchpoints=1)
    customer_merge(actor=agent_user, source=dup, target=ana)

    document = customer_export(actor=agent_user, customer=ana)

    assert document["format"] == "cxdesk.customer-export/1"
    assert document["customer"]["display_name"] == "Ana"
    assert document["customer"]["merged_from"] == [dup.pk]
    assert {i["value"] for i in document["identities"]} == {"ana@example.com", "+4915112345678", "dup@example.com"}
    assert len(document["touchpoints"]) == 4
    assert {"url": "/p/2"} in [t["properties"] for t in document["touchpoints"]]
    assert "customer.merged" in [a["action"] for a in document["audit"]]


def test_erase_leaves_no_personal_data_but_keeps_aggregates(agent_user, admin_user):
    ana = _customer(agent_user, "Anastasia Quux", "anastasia.quux@example.com", "+4915112345678", touchpoints=3)
    dup = _customer(agent_user, "Anastasia Q.", "a.quux@work.example", touchpoints=1)
    customer_merge(actor=agent_user, source=dup, target=ana)
    customer_update(actor=agent_user, customer=ana, values={"first_name": "Anastasia", "last_name": "Quux"})
    with pytest.raises(PermissionDenied):
        customer_erase(actor=agent_user, customer=ana)

    counts = customer_erase(actor=admin_user, customer=ana)

    assert counts["customers"] == 2 and counts["identities"] == 3
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    text = dump.getvalue().lower()
    for secret in ("anastasia", "quux", "4915112345678", "likes tea", "/p/1"):
        assert secret not in text, secret
    assert Touchpoint.objects.filter(customer=ana).count() == 4  # aggregates survive
    assert set(Touchpoint.objects.filter(customer=ana).values_list("stage", flat=True)) == {"consideration"}
    ana.refresh_from_db()
    assert ana.erased_at is not None and ana.display_name == f"Erased customer {ana.pk}"
