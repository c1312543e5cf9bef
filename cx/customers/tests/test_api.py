"""The customers API: search and keyset pages, create and change, identities, merge, export, erasure, and who
may do which (role, token scope, browser session with CSRF)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from cx.accounts.models import Role
from cx.core.models import AuditEvent
from cx.customers.models import Customer, CustomerIdentity, Organization
from cx.customers.services import customer_create, organization_create


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Every 4xx has exactly the API error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def domain_snapshot() -> str:
    """Every customer, organisation, identity, touchpoint and audit row: compared before and after bad input."""
    out = io.StringIO()
    call_command("dumpdata", "customers", "journeys", "core", stdout=out)
    return out.getvalue()


def dump_everything() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


@pytest.fixture
def agent_api(api_client, agent_user, token_for):
    return api_client(token_for(agent_user, "write"))


@pytest.fixture
def admin_api(api_client, admin_user, token_for):
    return api_client(token_for(admin_user, "admin"))


@pytest.fixture
def acme(db):
    return organization_create(actor=None, name="Acme Corp", domain="acme.example")


def new_customer(client, **fields) -> dict:
    response = client.post("/api/v1/customers", fields)
    assert response.status_code == 201, response.content
    return response.json()


def record_touchpoint(client, customer_id: int, **fields) -> dict:
    body = {"kind": "order.completed", "channel": "shop", "stage": "purchase", **fields}
    response = client.post(f"/api/v1/customers/{customer_id}/touchpoints", body)
    assert response.status_code == 201, response.content
    return response.json()


# --- Create, read, change ----------------------------------------------------------------------------
def test_create_a_customer_with_identities_and_organisation(agent_api, acme):
    created = new_customer(
        agent_api, display_name="Maria Lopez", first_name="Maria", last_name="Lopez", organization_id=acme.pk,
        language="es", time_zone="Europe/Madrid", notes="Prefers email",
        identities=[{"kind": "email", "value": " Maria.Lopez@Example.TEST ", "is_primary": True},
                    {"kind": "phone", "value": "+34 600 123 456"}],
    )
    assert created["name"] == "Maria Lopez"
    assert created["organization"] == {"id": acme.pk, "name": "Acme Corp", "domain": "acme.example"}
    assert {(i["kind"], i["value"], i["is_primary"]) for i in created["identities"]} == {
        ("email", "maria.lopez@example.test", True), ("phone", "+34600123456", False)}
    assert (created["merged_into_id"], created["erased_at"]) == (None, None)

    fetched = agent_api.get(f"/api/v1/customers/{created['id']}").json()
    assert fetched == created
    assert Customer.objects.get(pk=created["id"]).time_zone == "Europe/Madrid"
    assert AuditEvent.objects.filter(action="customer.created", target_id=created["id"]).exists()


def test_unknown_customer_is_404(agent_api):
    assert_error(agent_api.get("/api/v1/customers/424242"), 404, "not_found")
    assert_error(agent_api.patch("/api/v1/customers/424242", {"notes": "x"}), 404, "not_found")


def test_patch_changes_only_the_fields_sent(agent_api, acme):
    customer = new_customer(agent_api, first_name="Sam", last_name="Berg", notes="old",
                            organization_id=acme.pk)
    response = agent_api.patch(f"/api/v1/customers/{customer['id']}", {"notes": "VIP since 2021"})
    assert response.status_code == 200
    changed = response.json()
    assert (changed["first_name"], changed["last_name"], changed["notes"]) == ("Sam", "Berg", "VIP since 2021")
    assert changed["organization"]["id"] == acme.pk

    cleared = agent_api.patch(f"/api/v1/customers/{customer['id']}", {"organization_id": None}).json()
    assert cleared["organization"] is None
    assert AuditEvent.objects.filter(action="customer.updated", target_id=customer["id"]).count() == 2


def test_invalid_patch_names_the_field_and_changes_nothing(agent_api):
    customer = new_customer(agent_api, display_name="Kim")
    before = domain_snapshot()
    for body, field in [({"time_zone": "Mars/Olympus"}, "time_zone"), ({"display_name": "x" * 201}, "display_name"),
                        ({"display_name": None}, "display_name"), ({"organization_id": 999999}, "organization_id"),
                        ({"nickname": "K"}, "nickname")]:
        error = assert_error(agent_api.patch(f"/api/v1/customers/{customer['id']}", body), 422, "validation_error")
        assert field in error["fields"], (body, error)
    assert domain_snapshot() == before


def test_add_and_remove_identities(agent_api):
    customer = new_customer(agent_api, display_name="Noor", identities=[{"kind": "email", "value": "noor@x.test"}])
    response = agent_api.post(f"/api/v1/customers/{customer['id']}/identities",
                              {"kind": "whatsapp", "value": "+49 151 1234 5678", "is_primary": True})
    assert response.status_code == 201
    identity = response.json()
    assert (identity["kind"], identity["value"], identity["is_primary"]) == ("whatsapp", "4915112345678", True)

    removed = agent_api.delete(f"/api/v1/customers/{customer['id']}/identities/{identity['id']}")
    assert removed.status_code == 204 and removed.content == b""
    kinds = [i["kind"] for i in agent_api.get(f"/api/v1/customers/{customer['id']}").json()["identities"]]
    assert kinds == ["email"]
    assert_error(agent_api.delete(f"/api/v1/customers/{customer['id']}/identities/{identity['id']}"), 404)


def test_invalid_identity_names_the_reason_and_changes_nothing(agent_api):
    customer = new_customer(agent_api, display_name="Noor")
    before = domain_snapshot()
    error = assert_error(agent_api.post(f"/api/v1/customers/{customer['id']}/identities",
                                        {"kind": "phone", "value": "call me"}), 422)
    assert "international format" in error["fields"]["value"]
    error = assert_error(agent_api.post(f"/api/v1/customers/{customer['id']}/identities",
                                        {"kind": "fax", "value": "123"}), 422)
    assert "kind" in error["fields"]
    assert domain_snapshot() == before


def test_an_identity_of_another_customer_is_a_409(agent_api):
    new_customer(agent_api, display_name="First", identities=[{"kind": "email", "value": "taken@x.test"}])
    second = new_customer(agent_api, display_name="Second")
    before = domain_snapshot()
    error = assert_error(agent_api.post(f"/api/v1/customers/{second['id']}/identities",
                                        {"kind": "email", "value": "TAKEN@x.test"}), 409, "conflict")
    assert error["fields"]["value"].startswith("belongs to customer")
    assert domain_snapshot() == before


# --- Search and pages --------------------------------------------------------------------------------
def test_search_matches_names_organisations_and_identities(agent_api, acme):
    new_customer(agent_api, display_name="Olga Petrova", identities=[{"kind": "email", "value": "olga@mail.test"}])
    new_customer(agent_api, first_name="Ivo", organization_id=acme.pk)
    new_customer(agent_api, display_name="Unrelated", identities=[{"kind": "phone", "value": "+4915112345678"}])

    def names(q: str) -> list[str]:
        response = agent_api.get("/api/v1/customers", q=q)
        assert response.status_code == 200
        return [c["name"] for c in response.json()["results"]]

    assert names("petrova") == ["Olga Petrova"]
    assert names("OLGA@MAIL") == ["Olga Petrova"]
    assert names("acme") == ["Ivo"]
    assert names("4915112345678") == ["Unrelated"]
    assert names("") == ["Unrelated", "Ivo", "Olga Petrova"]
    assert assert_error(agent_api.get("/api/v1/customers", q="x" * 201), 422)["fields"].keys() == {"q"}


def test_cursor_pages_walk_every_customer_once_in_both_directions(agent_api):
    ids = [customer_create(actor=None, display_name=f"Paged {n}").pk for n in range(23)]
    forward: list[list[int]] = []
    page = agent_api.get("/api/v1/customers", limit=5).json()
    assert page["previous"] is None
    while True:
        forward.append([c["id"] for c in page["results"]])
        if page["next"] is None:
            break
        page = agent_api.get("/api/v1/customers", limit=5, cursor=page["next"]).json()
    walked = [i for chunk in forward for i in chunk]
    assert walked == sorted(ids, reverse=True)  # newest first, no gaps, no repeats
    assert [len(chunk) for chunk in forward] == [5, 5, 5, 5, 3]

    backward: list[list[int]] = []
    while page["previous"] is not None:
        page = agent_api.get("/api/v1/customers", limit=5, cursor=page["previous"]).json()
        backward.append([c["id"] for c in page["results"]])
    assert backward == list(reversed(forward[:-1]))


def test_a_page_is_stable_while_new_customers_arrive(agent_api):
    for n in range(6):
        customer_create(actor=None, display_name=f"Early {n}")
    first = agent_api.get("/api/v1/customers", limit=3).json()
    customer_create(actor=None, display_name="Late arrival")
    second = agent_api.get("/api/v1/customers", limit=3, cursor=first["next"]).json()
    assert [c["name"] for c in second["results"]] == ["Early 2", "Early 1", "Early 0"]


def test_a_tampered_cursor_is_a_422(agent_api):
    for cursor in ["not-a-cursor", "WyJuIiwiYWJjIl0", "WyJ4IiwxXQ"]:  # junk, ["n","abc"], ["x",1]
        error = assert_error(agent_api.get("/api/v1/customers", cursor=cursor), 422)
        assert error["fields"] == {"cursor": "malformed cursor"}
    assert assert_error(agent_api.get("/api/v1/customers", limit=0), 422)["fields"].keys() == {"limit"}
    assert assert_error(agent_api.get("/api/v1/customers", limit=201), 422)["fields"].keys() == {"limit"}


def test_customer_list_query_count_does_not_grow_with_page_size(agent_api, acme, django_assert_max_num_queries):
    for n in range(60):
        customer_create(actor=None, display_name=f"Bulk {n}", organization_id=acme.pk,
                        identities=[{"kind": "email", "value": f"bulk{n}@x.test"},
                                    {"kind": "external", "value": f"shop-{n}"}])
    agent_api.get("/api/v1/me")  # first use of a token records last_used_at; keep it out of the count
    for limit in (5, 50):
        first = None
        with django_assert_max_num_queries(3):  # token, customers with organisations, identities
            first = agent_api.get("/api/v1/customers", limit=limit).json()
        assert len(first["results"]) == limit
        assert all(len(c["identities"]) == 2 and c["organization"] for c in first["results"])
        with django_assert_max_num_queries(4):  # ... and whether a previous page exists
            page = agent_api.get("/api/v1/customers", limit=limit, cursor=first["next"]).json()
        assert len(page["results"]) == min(limit, 60 - limit)


# --- Merge, export, erasure ----------------------------------------------------------------------------
def test_merge_keeps_every_identity_and_touchpoint_of_both_customers(agent_api):
    target = new_customer(agent_api, display_name="Jo Target", identities=[
        {"kind": "email", "value": "jo@work.test", "is_primary": True}, {"kind": "phone", "value": "+441632960001"}])
    source = new_customer(agent_api, first_name="Jo", notes="from chat", identities=[
        {"kind": "email", "value": "jo@home.test", "is_primary": True}, {"kind": "telegram", "value": "777001"}])
    touchpoints = [
        record_touchpoint(agent_api, target["id"], kind="order.completed"),
        record_touchpoint(agent_api, target["id"], kind="ticket.created", stage="support", channel="email"),
        record_touchpoint(agent_api, source["id"], kind="page.viewed", stage="awareness", channel="web"),
        record_touchpoint(agent_api, source["id"], kind="chat.started", stage="support", channel="chat"),
    ]

    response = agent_api.post(f"/api/v1/customers/{target['id']}/merge", {"source_id": source["id"]})
    assert response.status_code == 200
    merged = response.json()
    assert {i["value"] for i in merged["identities"]} == {"jo@work.test", "+441632960001", "jo@home.test", "777001"}
    primaries = [i["value"] for i in merged["identities"] if i["kind"] == "email" and i["is_primary"]]
    assert primaries == ["jo@work.test"]
    assert merged["notes"] == "from chat"  # empty fields on the survivor are filled from the source

    timeline = agent_api.get(f"/api/v1/customers/{target['id']}/timeline").json()
    assert {t["id"] for t in timeline["results"]} == {t["id"] for t in touchpoints}
    assert agent_api.get(f"/api/v1/customers/{source['id']}/timeline").json()["results"] == []

    old = agent_api.get(f"/api/v1/customers/{source['id']}").json()
    assert old["merged_into_id"] == target["id"] and old["identities"] == []
    assert [c["id"] for c in agent_api.get("/api/v1/customers", q="Jo").json()["results"]] == [target["id"]]


def test_merge_refusals_name_the_problem_and_change_nothing(agent_api):
    target = new_customer(agent_api, display_name="Keep")
    source = new_customer(agent_api, display_name="Gone")
    agent_api.post(f"/api/v1/customers/{target['id']}/merge", {"source_id": source["id"]})
    before = domain_snapshot()
    error = assert_error(agent_api.post(f"/api/v1/customers/{target['id']}/merge", {"source_id": target["id"]}), 422)
    assert error["fields"] == {"source_id": "same as target"}
    error = assert_error(agent_api.post(f"/api/v1/customers/{target['id']}/merge", {"source_id": 99999}), 422)
    assert error["fields"] == {"source_id": "no such customer"}
    assert_error(agent_api.post(f"/api/v1/customers/{target['id']}/merge", {"source_id": source["id"]}), 409,
                 "conflict")
    assert_error(agent_api.post(f"/api/v1/customers/{target['id']}/merge", {"source": source["id"]}), 422)
    assert domain_snapshot() == before


def test_export_contains_customer_identities_touchpoints_and_audit(agent_api, acme):
    customer = new_customer(agent_api, display_name="Eve Export", organization_id=acme.pk,
                            identities=[{"kind": "email", "value": "eve@export.test"}])
    touchpoint = record_touchpoint(agent_api, customer["id"], properties={"order_id": "A-17"})
    response = agent_api.get(f"/api/v1/customers/{customer['id']}/export")
    assert response.status_code == 200
    document = response.json()
    assert document["format"] == "cxdesk.customer-export/1"
    assert document["customer"]["id"] == customer["id"]
    assert document["customer"]["display_name"] == "Eve Export"
    assert document["organization"]["name"] == "Acme Corp"
    assert [i["value"] for i in document["identities"]] == ["eve@export.test"]
    assert [(t["id"], t["properties"]) for t in document["touchpoints"]] == [(touchpoint["id"], {"order_id": "A-17"})]
    assert "customer.created" in [e["action"] for e in document["audit"]]


def test_an_analyst_may_export_but_not_change(api_client, analyst_user, token_for, agent_api):
    customer = new_customer(agent_api, display_name="Read Only")
    analyst = api_client(token_for(analyst_user, "read"))
    assert analyst.get(f"/api/v1/customers/{customer['id']}/export").status_code == 200
    assert analyst.get("/api/v1/customers").status_code == 200


def test_erase_leaves_no_personal_data_anywhere_in_the_database(admin_api, agent_api):
    personal = ["Zelda", "Quackenbush", "zelda.quackenbush@example.test", "+442079460958", "Mockingbird",
                "zq.alt@example.test", "order-zelda-1", "Zeddy"]
    customer = new_customer(agent_api, display_name="Zelda Quackenbush", first_name="Zelda", last_name="Quackenbush",
                            notes="Lives at 12 Mockingbird Lane", time_zone="Europe/London", identities=[
                                {"kind": "email", "value": "zelda.quackenbush@example.test"},
                                {"kind": "phone", "value": "+44 20 7946 0958"}])
    record_touchpoint(agent_api, customer["id"], external_id="order-zelda-1",
                      properties={"email": "zelda.quackenbush@example.test", "ship_to": "Mockingbird Lane"})
    agent_api.patch(f"/api/v1/customers/{customer['id']}", {"notes": "Zelda moved away from Mockingbird Lane"})
    extra = agent_api.post(f"/api/v1/customers/{customer['id']}/identities",
                           {"kind": "external", "value": "Zeddy"}).json()
    agent_api.delete(f"/api/v1/customers/{customer['id']}/identities/{extra['id']}")
    duplicate = new_customer(agent_api, display_name="Zeddy Quackenbush",
                             identities=[{"kind": "email", "value": "zq.alt@example.test"}])
    record_touchpoint(agent_api, duplicate["id"], kind="ticket.created", stage="support", channel="email",
                      properties={"subject": "Zelda here"})
    agent_api.post(f"/api/v1/customers/{customer['id']}/merge", {"source_id": duplicate["id"]})
    agent_api.get(f"/api/v1/customers/{customer['id']}/export")
    assert all(value.lower() in dump_everything().lower() for value in personal)  # the check below can fail

    response = admin_api.post(f"/api/v1/customers/{customer['id']}/erase")
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["customer_id"] == customer["id"] and result["erased_at"]
    assert result["counts"]["customers"] == 2 and result["counts"]["identities"] == 3

    everything = dump_everything()
    leaks = [value for value in personal if value.lower() in everything.lower()]
    assert leaks == []

    erased = admin_api.get(f"/api/v1/customers/{customer['id']}").json()
    assert erased["identities"] == [] and erased["erased_at"] and erased["name"].startswith("Erased customer")
    timeline = admin_api.get(f"/api/v1/customers/{customer['id']}/timeline").json()["results"]
    assert sorted(t["kind"] for t in timeline) == ["order.completed", "ticket.created"]  # aggregates stay
    assert all(t["properties"] == {} and t["external_id"] == "" for t in timeline)
    assert_error(agent_api.patch(f"/api/v1/customers/{customer['id']}", {"notes": "back"}), 409, "conflict")


# --- Who may do what ---------------------------------------------------------------------------------
WRITES = [
    ("post", "/api/v1/customers", {"display_name": "Nope"}),
    ("patch", "/api/v1/customers/{id}", {"notes": "nope"}),
    ("post", "/api/v1/customers/{id}/identities", {"kind": "email", "value": "nope@x.test"}),
    ("delete", "/api/v1/customers/{id}/identities/{identity_id}", None),
    ("post", "/api/v1/customers/{id}/merge", {"source_id": "{other_id}"}),
    ("post", "/api/v1/customers/{id}/erase", None),
    ("post", "/api/v1/organizations", {"name": "Nope Inc"}),
    ("patch", "/api/v1/organizations/{org_id}", {"name": "Renamed"}),
]


@pytest.fixture
def world(acme):
    customer = customer_create(actor=None, display_name="Fixed", identities=[{"kind": "email", "value": "f@x.test"}])
    other = customer_create(actor=None, display_name="Other")
    return {"id": customer.pk, "other_id": other.pk, "org_id": acme.pk,
            "identity_id": CustomerIdentity.objects.get(customer=customer).pk}


def _call(client, method: str, path: str, body, world: dict):
    path = path.format(**world)
    if body is not None:
        body = json.loads(json.dumps(body).replace('"{other_id}"', str(world["other_id"])))
    return client.delete(path) if method == "delete" else getattr(client, method)(path, body)


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_analyst_cannot_write_anything(api_client, analyst_user, token_for, world, method, path, body):
    client = api_client(token_for(analyst_user, "read"))
    before = domain_snapshot()
    assert_error(_call(client, method, path, body, world), 403, "forbidden")
    assert domain_snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_a_read_scope_token_cannot_write_even_for_an_admin(api_client, admin_user, token_for, world, method, path,
                                                           body):
    client = api_client(token_for(admin_user, "read"))
    before = domain_snapshot()
    error = assert_error(_call(client, method, path, body, world), 403, "forbidden")
    assert "you have read" in error["message"]
    assert domain_snapshot() == before


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
def test_a_write_scope_token_cannot_erase(api_client, make_user, token_for, world, role):
    client = api_client(token_for(make_user(role), "write"))
    before = domain_snapshot()
    error = assert_error(client.post(f"/api/v1/customers/{world['id']}/erase"), 403, "forbidden")
    assert "admin" in error["message"]
    assert domain_snapshot() == before
    assert Customer.objects.get(pk=world["id"]).erased_at is None


def test_an_agent_session_cannot_erase(client, agent_user, world):
    client.force_login(agent_user)
    assert_error(client.post(f"/api/v1/customers/{world['id']}/erase"), 403, "forbidden")


def test_analyst_session_cannot_create_customers(client, analyst_user):
    client.force_login(analyst_user)
    response = client.post("/api/v1/customers", {"display_name": "Nope"}, content_type="application/json")
    assert_error(response, 403, "forbidden")
    assert Customer.objects.count() == 0


def test_the_browser_session_writes_with_a_csrf_token_and_is_refused_without(agent_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent_user)
    assert browser.get("/api/v1/customers").status_code == 200  # reads need no CSRF token

    response = browser.post("/api/v1/customers", {"display_name": "No CSRF"}, content_type="application/json")
    assert assert_error(response, 403, "csrf_failed")["message"].startswith("CSRF check failed")
    assert Customer.objects.count() == 0

    secret = "a" * 32
    browser.cookies["csrftoken"] = secret
    response = browser.post("/api/v1/customers", {"display_name": "With CSRF"}, content_type="application/json",
                            headers={"X-CSRFToken": secret})
    assert response.status_code == 201
    assert list(Customer.objects.values_list("display_name", flat=True)) == ["With CSRF"]


def test_bearer_tokens_need_no_csrf_token(api_client, agent_user, token_for):
    client = api_client(token_for(agent_user, "write"))
    client.client = Client(enforce_csrf_checks=True)
    assert client.post("/api/v1/customers", {"display_name": "Integration"}).status_code == 201


# --- Organisations -------------------------------------------------------------------------------------
def test_organisations_create_get_patch_and_search(agent_api):
    response = agent_api.post("/api/v1/organizations", {"name": "Globex", "domain": "Globex.Example"})
    assert response.status_code == 201
    org = response.json()
    assert (org["name"], org["domain"], org["notes"]) == ("Globex", "globex.example", "")
    assert agent_api.get(f"/api/v1/organizations/{org['id']}").json() == org

    changed = agent_api.patch(f"/api/v1/organizations/{org['id']}", {"notes": "Key account"}).json()
    assert (changed["name"], changed["notes"]) == ("Globex", "Key account")

    agent_api.post("/api/v1/organizations", {"name": "Initech", "domain": "initech.example"})
    found = agent_api.get("/api/v1/organizations", q="globex").json()
    assert [o["name"] for o in found["results"]] == ["Globex"]
    assert_error(agent_api.get("/api/v1/organizations/99999"), 404, "not_found")


def test_organisation_names_are_unique_and_errors_change_nothing(agent_api, acme):
    before = domain_snapshot()
    assert_error(agent_api.post("/api/v1/organizations", {"name": "ACME corp"}), 409, "conflict")
    assert assert_error(agent_api.post("/api/v1/organizations", {"name": "  "}), 422)["fields"].keys() == {"name"}
    assert assert_error(agent_api.post("/api/v1/organizations", {"name": "Long", "domain": "d" * 254}),
                        422)["fields"].keys() == {"domain"}
    assert assert_error(agent_api.patch(f"/api/v1/organizations/{acme.pk}", {"website": "x"}),
                        422)["fields"] == {"website": "unknown field"}
    assert domain_snapshot() == before


def test_organisation_pages_walk_every_organisation_by_name(agent_api):
    names = [f"Org {n:02d}" for n in range(12)]
    for name in reversed(names):
        organization_create(actor=None, name=name)
    seen: list[str] = []
    page = agent_api.get("/api/v1/organizations", limit=5).json()
    while True:
        seen += [o["name"] for o in page["results"]]
        if not page["next"]:
            break
        page = agent_api.get("/api/v1/organizations", limit=5, cursor=page["next"]).json()
    assert seen == names
    previous = agent_api.get("/api/v1/organizations", limit=5, cursor=page["previous"]).json()
    assert [o["name"] for o in previous["results"]] == names[5:10]
    assert Organization.objects.count() == 12
