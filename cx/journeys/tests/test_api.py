"""The timeline API: touchpoints recorded by integrations, read back newest first in stable pages."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from cx.customers.services import customer_create
from cx.journeys.models import Touchpoint
from cx.journeys.services import touchpoint_record


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Every 4xx has exactly the API error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def domain_snapshot() -> str:
    out = io.StringIO()
    call_command("dumpdata", "customers", "journeys", "core", stdout=out)
    return out.getvalue()


@pytest.fixture
def ana(db):
    return customer_create(actor=None, display_name="Ana Timeline")


@pytest.fixture
def agent_api(api_client, agent_user, token_for):
    return api_client(token_for(agent_user, "write"))


def test_record_a_touchpoint_from_an_integration(agent_api, ana):
    body = {"kind": "order.completed", "channel": "shop", "stage": "purchase",
            "occurred_at": "2025-03-01T09:30:00+01:00", "properties": {"order_id": "A-1", "total": 59.9}}
    response = agent_api.post(f"/api/v1/customers/{ana.pk}/touchpoints", body)
    assert response.status_code == 201
    created = response.json()
    assert (created["customer_id"], created["kind"], created["source"]) == (ana.pk, "order.completed", "api")
    assert created["occurred_at"] == "2025-03-01T08:30:00Z"
    assert created["properties"] == {"order_id": "A-1", "total": 59.9}
    stored = Touchpoint.objects.get(pk=created["id"])
    assert stored.occurred_at == datetime(2025, 3, 1, 8, 30, tzinfo=UTC)


def test_occurred_at_defaults_to_now(agent_api, ana):
    created = agent_api.post(f"/api/v1/customers/{ana.pk}/touchpoints",
                             {"kind": "page.viewed", "channel": "web", "stage": "awareness"}).json()
    occurred = datetime.fromisoformat(created["occurred_at"])
    assert abs(occurred - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_same_external_id_is_recorded_once(agent_api, ana):
    body = {"kind": "order.completed", "channel": "shop", "stage": "purchase", "external_id": "shop-order-991"}
    first = agent_api.post(f"/api/v1/customers/{ana.pk}/touchpoints", body).json()
    again = agent_api.post(f"/api/v1/customers/{ana.pk}/touchpoints", body).json()
    assert first["id"] == again["id"]
    assert Touchpoint.objects.filter(external_id="shop-order-991").count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "Order Completed!"}, "kind"),
    ({"channel": "E-Mail"}, "channel"),
    ({"stage": "retirement"}, "stage"),
    ({"occurred_at": "2025-03-01T09:30:00"}, "occurred_at"),  # no time zone
    ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"properties": ["not", "an", "object"]}, "properties"),
    ({"properties": {"blob": "x" * 17000}}, "properties"),
    ({"external_id": "x" * 129}, "external_id"),
    ({"customer_id": 5}, "customer_id"),
])
def test_an_invalid_touchpoint_names_the_field_and_stores_nothing(agent_api, ana, body, field):
    before = domain_snapshot()
    full = {"kind": "order.completed", "channel": "shop", "stage": "purchase", **body}
    error = assert_error(agent_api.post(f"/api/v1/customers/{ana.pk}/touchpoints", full), 422, "validation_error")
    assert field in error["fields"], error
    assert domain_snapshot() == before


def test_touchpoints_for_an_unknown_customer_are_404(agent_api):
    body = {"kind": "order.completed", "channel": "shop", "stage": "purchase"}
    assert_error(agent_api.post("/api/v1/customers/31337/touchpoints", body), 404, "not_found")
    assert_error(agent_api.get("/api/v1/customers/31337/timeline"), 404, "not_found")
    assert Touchpoint.objects.count() == 0


def test_an_erased_customer_gets_no_new_touchpoints(api_client, admin_user, token_for, ana):
    admin = api_client(token_for(admin_user, "admin"))
    assert admin.post(f"/api/v1/customers/{ana.pk}/erase").status_code == 200
    body = {"kind": "order.completed", "channel": "shop", "stage": "purchase"}
    assert_error(admin.post(f"/api/v1/customers/{ana.pk}/touchpoints", body), 409, "conflict")
    assert Touchpoint.objects.count() == 0


def test_analysts_and_read_tokens_cannot_record_touchpoints(api_client, analyst_user, admin_user, token_for, ana):
    body = {"kind": "order.completed", "channel": "shop", "stage": "purchase"}
    for token in (token_for(analyst_user, "read"), token_for(admin_user, "read")):
        assert_error(api_client(token).post(f"/api/v1/customers/{ana.pk}/touchpoints", body), 403, "forbidden")
        assert api_client(token).get(f"/api/v1/customers/{ana.pk}/timeline").status_code == 200
    assert Touchpoint.objects.count() == 0


def test_timeline_pages_newest_first_without_gaps_or_repeats(agent_api, ana):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    stages = ["awareness", "consideration", "purchase", "support"]
    created = [
        touchpoint_record(customer=ana, kind="event.seen", channel="web", stage=stages[n % 4],
                          occurred_at=start + timedelta(hours=n // 2), source="test")  # pairs share a time
        for n in range(11)
    ]
    seen: list[int] = []
    page = agent_api.get(f"/api/v1/customers/{ana.pk}/timeline", limit=4).json()
    while True:
        seen += [t["id"] for t in page["results"]]
        if page["next"] is None:
            break
        page = agent_api.get(f"/api/v1/customers/{ana.pk}/timeline", limit=4, cursor=page["next"]).json()
    expected = sorted(created, key=lambda t: (t.occurred_at, t.pk), reverse=True)
    assert seen == [t.pk for t in expected]


def test_timeline_filters_by_stage(agent_api, ana):
    for stage in ["support", "purchase", "support"]:
        touchpoint_record(customer=ana, kind="event.seen", channel="web", stage=stage, source="test")
    support = agent_api.get(f"/api/v1/customers/{ana.pk}/timeline", stage="support").json()["results"]
    assert [t["stage"] for t in support] == ["support", "support"]
    assert assert_error(agent_api.get(f"/api/v1/customers/{ana.pk}/timeline", stage="retirement"),
                        422)["fields"].keys() == {"stage"}


def test_timeline_rejects_bad_cursors_and_limits(agent_api, ana):
    error = assert_error(agent_api.get(f"/api/v1/customers/{ana.pk}/timeline", cursor="garbage!"), 422)
    assert error["fields"] == {"cursor": "malformed cursor"}
    assert assert_error(agent_api.get(f"/api/v1/customers/{ana.pk}/timeline", limit=0), 422)["fields"].keys() == {
        "limit"}
    assert assert_error(agent_api.get(f"/api/v1/customers/{ana.pk}/timeline", limit=201),
                        422)["fields"].keys() == {"limit"}


def test_timeline_query_count_does_not_grow_with_page_size(agent_api, ana, django_assert_max_num_queries):
    for n in range(40):
        touchpoint_record(customer=ana, kind="event.seen", channel="web", stage="usage", source="test",
                          occurred_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=n))
    agent_api.get("/api/v1/me")  # first use of a token records last_used_at; keep it out of the count
    for limit in (3, 30):
        with django_assert_max_num_queries(4):  # token, customer, its identities, touchpoints
            assert len(agent_api.get(f"/api/v1/customers/{ana.pk}/timeline", limit=limit).json()["results"]) == limit
