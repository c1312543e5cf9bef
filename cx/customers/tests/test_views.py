"""Customer pages through the Django test client: search, create, identities, merge, export, erasure, roles."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cx.accounts.services import user_create
from cx.core.audit import audit_events_for
from cx.customers.models import Customer, CustomerIdentity, Organization
from cx.customers.services import customer_create, customer_merge, organization_create
from cx.journeys.models import Touchpoint
from cx.journeys.services import touchpoint_record

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def new_customer(name: str, *identities: tuple[str, str], organization: Organization | None = None,
                 **fields) -> Customer:
    return customer_create(
        actor=None, display_name=name, organization_id=organization.pk if organization else None,
        identities=[{"kind": kind, "value": value, "is_primary": True} for kind, value in identities], **fields,
    )


def record(customer: Customer, kind: str, *, stage: str = "support", minutes_ago: int = 0, **properties):
    return touchpoint_record(customer=customer, kind=kind, channel="email", stage=stage,
                             occurred_at=timezone.now() - timedelta(minutes=minutes_ago), properties=properties,
                             source="tests")


def create_form(**overrides) -> dict:
    data = {
        "display_name": "Grace Hopper", "first_name": "", "last_name": "", "organization": "", "language": "en",
        "time_zone": "America/New_York", "notes": "Prefers email.",
        "identities-TOTAL_FORMS": "3", "identities-INITIAL_FORMS": "0",
        "identities-MIN_NUM_FORMS": "0", "identities-MAX_NUM_FORMS": "3",
        "identities-0-kind": "email", "identities-0-value": "Grace@Navy.example", "identities-0-is_primary": "on",
        "identities-1-kind": "phone", "identities-1-value": "+1 202 555 0100",
        "identities-2-kind": "email", "identities-2-value": "",
    }
    data.update(overrides)
    return data


# --- list and search -------------------------------------------------------------------------------------

def test_customer_list_shows_name_primary_contact_organisation_and_created(agent_user):
    acme = organization_create(actor=None, name="Acme Corp")
    new_customer("Ada Lovelace", ("email", "ada@example.com"), ("phone", "+442071234567"), organization=acme)

    response = client_for(agent_user).get(reverse("customers:list"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada Lovelace" in html
    assert "ada@example.com" in html
    assert "+442071234567" in html
    assert "Acme Corp" in html
    assert timezone.now().strftime("%Y-%m-%d") in html


@pytest.mark.parametrize("query", ["lovelace", "ADA@EXAMPLE", "acme"])
def test_search_finds_customers_by_name_email_identity_and_organisation(agent_user, query):
    acme = organization_create(actor=None, name="Acme Corp")
    new_customer("Ada Lovelace", ("email", "ada@example.com"), organization=acme)
    new_customer("Charles Babbage", ("email", "charles@engine.example"))

    response = client_for(agent_user).get(reverse("customers:list"), {"q": query})

    html = response.content.decode()
    assert "Ada Lovelace" in html
    assert "Charles Babbage" not in html


def test_live_search_returns_only_the_results_table(agent_user):
    new_customer("Ada Lovelace", ("email", "ada@example.com"))
    new_customer("Charles Babbage")

    response = client_for(agent_user).get(reverse("customers:list"), {"q": "ada"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="customer-search"' not in html
    assert "Ada Lovelace" in html and "Charles Babbage" not in html


def test_search_that_matches_nothing_says_so(agent_user):
    new_customer("Ada Lovelace")
    response = client_for(agent_user).get(reverse("customers:list"), {"q": "zzz-nobody"})
    assert "No customers match" in response.content.decode()


def test_too_long_search_is_refused_with_a_reason(agent_user):
    response = client_for(agent_user).get(reverse("customers:list"), {"q": "x" * 201})
    assert response.status_code == 422
    assert "at most 200 characters" in response.content.decode()


def test_list_pages_with_a_keyset_cursor_and_no_offset(agent_user):
    customers = [new_customer(f"Customer {n:02d}") for n in range(30)]
    client = client_for(agent_user)

    first = client.get(reverse("customers:list")).content.decode()
    cursor = re.search(r'cursor=([\w-]+)', first).group(1)
    with CaptureQueriesContext(connection) as queries:
        more = client.get(reverse("customers:list"), {"cursor": cursor}, headers={"HX-Request": "true"})

    first_ids = set(map(int, re.findall(r'href="/customers/(\d+)/"', first)))
    more_ids = set(map(int, re.findall(r'href="/customers/(\d+)/"', more.content.decode())))
    assert len(first_ids) == 25 and len(more_ids) == 5
    assert first_ids | more_ids == {c.pk for c in customers}
    assert max(more_ids) < min(first_ids)  # newest first
    assert "<table" not in more.content.decode()  # only the next rows, appended in place
    assert "Load more" not in more.content.decode()
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def test_a_malformed_cursor_is_a_clear_422(agent_user):
    response = client_for(agent_user).get(reverse("customers:list"), {"cursor": "not-a-cursor!"})
    assert response.status_code == 422
    assert "cursor" in response.content.decode()


def test_list_query_count_does_not_grow_with_page_size(agent_user, django_assert_max_num_queries):
    acme = organization_create(actor=None, name="Acme Corp")
    client = client_for(agent_user)
    new_customer("First", ("email", "first@example.com"), organization=acme)
    client.get(reverse("customers:list"))  # warm the session

    with CaptureQueriesContext(connection) as one_customer:
        client.get(reverse("customers:list"))
    for n in range(40):
        new_customer(f"Customer {n}", ("email", f"c{n}@example.com"), ("phone", f"+4915112345{n:03d}"),
                     organization=acme)
    with django_assert_max_num_queries(len(one_customer.captured_queries)):
        response = client.get(reverse("customers:list"))
    assert response.content.decode().count('href="/customers/') >= 25


def test_anonymous_visitors_are_sent_to_the_login_page(db):
    response = Client().get(reverse("customers:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


# --- create, edit, identities ------------------------------------------------------------------------------

def test_agent_creates_a_customer_with_identities(agent_user):
    acme = organization_create(actor=None, name="Acme Corp")
    response = client_for(agent_user).post(reverse("customers:create"), create_form(organization=str(acme.pk)))

    customer = Customer.objects.get(display_name="Grace Hopper")
    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk])
    assert customer.organization == acme
    assert customer.time_zone == "America/New_York"
    assert sorted(customer.identities.values_list("kind", "value", "is_primary")) == [
        ("email", "grace@navy.example", True), ("phone", "+12025550100", False),
    ]
    page = client_for(agent_user).get(response.url).content.decode()
    assert "grace@navy.example" in page and "Acme Corp" in page and "Prefers email." in page


def test_duplicate_identity_shows_an_error_and_creates_nothing(agent_user):
    new_customer("Existing", ("email", "grace@navy.example"))
    before = Customer.objects.count()

    response = client_for(agent_user).post(reverse("customers:create"), create_form())

    assert response.status_code == 409
    assert "grace@navy.example is already in use" in response.content.decode()
    assert Customer.objects.count() == before
    assert not CustomerIdentity.objects.filter(value="+12025550100").exists()


def test_invalid_identity_and_time_zone_are_shown_on_their_fields(agent_user):
    response = client_for(agent_user).post(reverse("customers:create"),
                                           create_form(**{"identities-0-value": "not-an-email"}))
    assert response.status_code == 422
    assert "not a valid email address" in response.content.decode()

    response = client_for(agent_user).post(reverse("customers:create"), create_form(time_zone="Mars/Olympus"))
    assert response.status_code == 422
    assert "not a known IANA time zone" in response.content.decode()
    assert not Customer.objects.exists()


def test_agent_edits_a_customer(agent_user):
    customer = new_customer("Ada", ("email", "ada@example.com"))
    client = client_for(agent_user)
    assert 'value="Ada"' in client.get(reverse("customers:edit", args=[customer.pk])).content.decode()

    response = client.post(reverse("customers:edit", args=[customer.pk]), {
        "display_name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace", "organization": "",
        "language": "en", "time_zone": "Europe/London", "notes": "Mathematician",
    })

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.display_name, customer.time_zone, customer.notes) == ("Ada Lovelace", "Europe/London",
                                                                          "Mathematician")


def test_invalid_edit_changes_nothing(agent_user):
    customer = new_customer("Ada", time_zone="Europe/London")
    response = client_for(agent_user).post(reverse("customers:edit", args=[customer.pk]), {
        "display_name": "Renamed", "organization": "", "time_zone": "Nowhere/Land",
    })
    assert response.status_code == 422
    assert "not a known IANA time zone" in response.content.decode()
    customer.refresh_from_db()
    assert (customer.display_name, customer.time_zone) == ("Ada", "Europe/London")


def test_agent_adds_and_removes_identities(agent_user):
    customer = new_customer("Ada")
    client = client_for(agent_user)

    response = client.post(reverse("customers:identity_add", args=[customer.pk]),
                           {"identity-kind": "whatsapp", "identity-value": "+49 151 1234 5678"})
    assert response.status_code == 302
    identity = customer.identities.get()
    assert identity.value == "4915112345678"
    assert "4915112345678" in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    response = client.post(reverse("customers:identity_remove", args=[customer.pk, identity.pk]))
    assert response.status_code == 302
    assert not customer.identities.exists()


def test_adding_an_identity_of_another_customer_is_a_409_on_the_field(agent_user):
    owner = new_customer("Owner", ("email", "taken@example.com"))
    customer = new_customer("Ada")

    response = client_for(agent_user).post(reverse("customers:identity_add", args=[customer.pk]),
                                           {"identity-kind": "email", "identity-value": "TAKEN@example.com"})

    assert response.status_code == 409
    assert f"belongs to customer {owner.pk}" in response.content.decode()
    assert not customer.identities.exists()


def test_removing_an_identity_of_another_customer_is_refused(agent_user):
    owner = new_customer("Owner", ("email", "taken@example.com"))
    customer = new_customer("Ada")
    identity = owner.identities.get()

    response = client_for(agent_user).post(reverse("customers:identity_remove", args=[customer.pk, identity.pk]))

    assert response.status_code == 404
    assert "No such identity" in response.content.decode()
    assert CustomerIdentity.objects.filter(pk=identity.pk).exists()


def test_unknown_customer_is_a_404_page(agent_user):
    response = client_for(agent_user).get(reverse("customers:detail", args=[999999]))
    assert response.status_code == 404
    assert "No customer with id 999999" in response.content.decode()


def test_customer_page_loads_the_timeline_live_from_the_journeys_app(agent_user):
    customer = new_customer("Ada")
    html = client_for(agent_user).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert f'hx-get="{reverse("journeys:customer_timeline", args=[customer.pk])}"' in html
    assert 'hx-trigger="load, cx:live' in html
    assert f'data-live-url="/ws/customers/{customer.pk}/timeline/"' in html
    assert reverse("journeys:touchpoint_add", args=[customer.pk]) in html


# --- roles ------------------------------------------------------------------------------------------------

def test_analyst_sees_no_write_buttons(analyst_user):
    customer = new_customer("Ada", ("email", "ada@example.com"))
    client = client_for(analyst_user)

    listing = client.get(reverse("customers:list")).content.decode()
    detail = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert "New customer" not in listing
    for write_only in ("Edit", "Merge another customer", "Erase", "Add identity", "Remove", "Add touchpoint"):
        assert write_only not in detail
    assert "Export (JSON)" in detail
    assert "ada@example.com" in detail


def test_analyst_cannot_create_customers(analyst_user):
    client = client_for(analyst_user)
    assert client.get(reverse("customers:create")).status_code == 403
    response = client.post(reverse("customers:create"), create_form())
    assert response.status_code == 403
    assert "This needs write access" in response.content.decode()
    assert not Customer.objects.exists()


def test_analyst_cannot_edit_merge_erase_or_change_identities(analyst_user):
    customer = new_customer("Ada", ("email", "ada@example.com"))
    other = new_customer("Ada duplicate", ("email", "ada2@example.com"))
    identity = customer.identities.get()
    client = client_for(analyst_user)

    assert client.get(reverse("customers:edit", args=[customer.pk])).status_code == 403
    assert client.post(reverse("customers:edit", args=[customer.pk]), {"display_name": "X"}).status_code == 403
    assert client.get(reverse("customers:merge", args=[customer.pk])).status_code == 403
    assert client.post(reverse("customers:merge", args=[customer.pk]), {"source_id": other.pk}).status_code == 403
    assert client.get(reverse("customers:erase", args=[customer.pk])).status_code == 403
    assert client.post(reverse("customers:erase", args=[customer.pk]), {"confirm": "ERASE"}).status_code == 403
    assert client.post(reverse("customers:identity_add", args=[customer.pk]),
                       {"identity-kind": "email", "identity-value": "new@example.com"}).status_code == 403
    assert client.post(reverse("customers:identity_remove", args=[customer.pk, identity.pk])).status_code == 403

    customer.refresh_from_db()
    other.refresh_from_db()
    assert customer.display_name == "Ada" and customer.erased_at is None
    assert other.merged_into_id is None
    assert sorted(CustomerIdentity.objects.values_list("value", flat=True)) == ["ada2@example.com",
                                                                                 "ada@example.com"]


def test_agent_cannot_erase_customers(agent_user):
    customer = new_customer("Ada", ("email", "ada@example.com"))
    client = client_for(agent_user)
    assert "Erase" not in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert client.post(reverse("customers:erase", args=[customer.pk]), {"confirm": "ERASE"}).status_code == 403
    customer.refresh_from_db()
    assert customer.erased_at is None


# --- merge ------------------------------------------------------------------------------------------------

def test_merge_via_the_ui_keeps_all_identities_and_touchpoints(agent_user):
    survivor = new_customer("Ada Lovelace", ("email", "ada@example.com"))
    duplicate = new_customer("A. Lovelace", ("email", "ada@work.example"), ("phone", "+442071234567"),
                             language="en")
    kept = [record(survivor, "ticket.created", minutes_ago=30), record(survivor, "ticket.solved", minutes_ago=20)]
    moved = [record(duplicate, "order.completed", stage="purchase", minutes_ago=10)]
    client = client_for(agent_user)
    merge_url = reverse("customers:merge", args=[survivor.pk])

    candidates = client.get(merge_url, {"q": "ada@work"}, headers={"HX-Request": "true"}).content.decode()
    assert f"{merge_url}?source={duplicate.pk}" in candidates
    assert f"?source={survivor.pk}" not in candidates  # never offered to merge into itself

    confirm = client.get(merge_url, {"source": duplicate.pk}).content.decode()
    assert "Ada Lovelace" in confirm and "A. Lovelace" in confirm
    assert "ada@work.example" in confirm and "+442071234567" in confirm
    assert reverse("journeys:customer_timeline_summary", args=[duplicate.pk]) in confirm
    summary = client.get(reverse("journeys:customer_timeline_summary", args=[duplicate.pk])).content.decode()
    assert "1 touchpoint" in summary and "1 purchase" in summary

    response = client.post(merge_url, {"source_id": duplicate.pk})

    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[survivor.pk])
    assert sorted(survivor.identities.values_list("value", flat=True)) == [
        "+442071234567", "ada@example.com", "ada@work.example"]
    assert set(Touchpoint.objects.filter(customer=survivor).values_list("pk", flat=True)) == {
        t.pk for t in kept + moved}
    survivor.refresh_from_db()
    assert survivor.language == "en"
    survivor_page = client.get(response.url).content.decode()
    assert "ada@work.example" in survivor_page and "was merged into" in survivor_page
    old_page = client.get(reverse("customers:detail", args=[duplicate.pk])).content.decode()
    assert "Merged into" in old_page
    assert f'href="{reverse("customers:detail", args=[survivor.pk])}"' in old_page


def test_merging_an_already_merged_customer_is_a_409_and_changes_nothing(agent_user):
    survivor = new_customer("Ada", ("email", "ada@example.com"))
    third = new_customer("Third")
    duplicate = new_customer("Dup", ("email", "dup@example.com"))
    customer_merge(actor=agent_user, source=duplicate, target=third)

    response = client_for(agent_user).post(reverse("customers:merge", args=[survivor.pk]),
                                           {"source_id": duplicate.pk})

    assert response.status_code == 409
    assert f"was merged into customer {third.pk}" in response.content.decode()
    assert list(survivor.identities.values_list("value", flat=True)) == ["ada@example.com"]


def test_merging_a_customer_into_itself_is_refused(agent_user):
    customer = new_customer("Ada")
    response = client_for(agent_user).post(reverse("customers:merge", args=[customer.pk]),
                                           {"source_id": customer.pk})
    assert response.status_code == 422
    assert "cannot be merged into itself" in response.content.decode()
    customer.refresh_from_db()
    assert customer.merged_into_id is None


def test_merge_without_a_valid_source_is_a_422(agent_user):
    customer = new_customer("Ada")
    response = client_for(agent_user).post(reverse("customers:merge", args=[customer.pk]), {"source_id": "abc"})
    assert response.status_code == 422


# --- export and erasure -----------------------------------------------------------------------------------

def test_export_downloads_the_json_document(analyst_user):
    customer = new_customer("Ada", ("email", "ada@example.com"), notes="VIP")
    record(customer, "order.completed", stage="purchase", order_id="A-1")

    response = client_for(analyst_user).get(reverse("customers:export", args=[customer.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="customer-{customer.pk}.json"'
    document = json.loads(response.content)
    assert document["customer"]["id"] == customer.pk and document["customer"]["notes"] == "VIP"
    assert [i["value"] for i in document["identities"]] == ["ada@example.com"]
    assert [(t["kind"], t["properties"]) for t in document["touchpoints"]] == [("order.completed",
                                                                               {"order_id": "A-1"})]
    assert audit_events_for(target_type="customer", target_id=customer.pk).filter(
        action="customer.exported").exists()


def test_erase_requires_typing_erase(admin_user):
    customer = new_customer("Ada Lovelace", ("email", "ada@example.com"), notes="Secret note")
    client = client_for(admin_user)
    assert "Type ERASE to confirm" in client.get(reverse("customers:erase", args=[customer.pk])).content.decode()

    response = client.post(reverse("customers:erase", args=[customer.pk]), {"confirm": "erase"})

    assert response.status_code == 422
    assert "Type the word ERASE" in response.content.decode()
    customer.refresh_from_db()
    assert customer.erased_at is None and customer.identities.exists()


def test_admin_erase_leaves_no_personal_data(admin_user):
    customer = new_customer("Ada Lovelace", ("email", "ada@example.com"), first_name="Ada", notes="Secret note")
    record(customer, "order.completed", stage="purchase", card_last4="4242")
    client = client_for(admin_user)

    response = client.post(reverse("customers:erase", args=[customer.pk]), {"confirm": "ERASE"})

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert not customer.identities.exists()
    assert Touchpoint.objects.get(customer=customer).properties == {}
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Erased" in page
    for personal in ("Ada Lovelace", "ada@example.com", "Secret note", "4242"):
        assert personal not in page
    assert "Merge another customer" not in page and "Add identity" not in page
    timeline = client.get(reverse("journeys:customer_timeline", args=[customer.pk]),
                          headers={"HX-Request": "true"}).content.decode()
    assert "order.completed" in timeline and "4242" not in timeline


# --- organisations ----------------------------------------------------------------------------------------

def test_agent_creates_an_organisation_and_sees_its_customers(agent_user):
    client = client_for(agent_user)
    response = client.post(reverse("customers:organization_create"),
                           {"name": "Initech", "domain": "Initech.example", "notes": ""})
    organization = Organization.objects.get(name="Initech")
    assert response.status_code == 302
    assert organization.domain == "initech.example"
    new_customer("Peter Gibbons", ("email", "peter@initech.example"), organization=organization)
    new_customer("Someone Else")

    assert "Initech" in client.get(reverse("customers:organizations")).content.decode()
    detail = client.get(reverse("customers:organization_detail", args=[organization.pk])).content.decode()
    assert "Peter Gibbons" in detail and "peter@initech.example" in detail
    assert "Someone Else" not in detail


def test_duplicate_organisation_name_is_a_409(agent_user):
    organization_create(actor=None, name="Initech")
    response = client_for(agent_user).post(reverse("customers:organization_create"), {"name": "initech"})
    assert response.status_code == 409
    assert "already exists" in response.content.decode()
    assert Organization.objects.count() == 1


def test_analyst_cannot_create_organisations(analyst_user):
    client = client_for(analyst_user)
    assert "New organisation" not in client.get(reverse("customers:organizations")).content.decode()
    assert client.post(reverse("customers:organization_create"), {"name": "Initech"}).status_code == 403
    assert not Organization.objects.exists()


# --- Django admin -----------------------------------------------------------------------------------------

@pytest.fixture
def superuser(db):
    return user_create(actor=None, username="root", email="root@agents.example.test", password="correct-horse-42",
                       role="admin", is_superuser=True)


def test_admin_edits_customers_but_merged_ones_are_read_only(superuser):
    survivor = new_customer("Ada", ("email", "ada@example.com"))
    duplicate = new_customer("Dup")
    customer_merge(actor=superuser, source=duplicate, target=survivor)
    client = client_for(superuser)

    editable = client.get(reverse("admin:customers_customer_change", args=[survivor.pk])).content.decode()
    read_only = client.get(reverse("admin:customers_customer_change", args=[duplicate.pk])).content.decode()

    assert 'name="display_name"' in editable and "ada@example.com" in editable
    assert 'name="display_name"' not in read_only
    assert client.post(reverse("admin:customers_customer_delete", args=[survivor.pk]),
                       {"post": "yes"}).status_code == 403
    assert Customer.objects.filter(pk=survivor.pk).exists()
