"""The journey pages through the Django test client, on data loaded into the analytics store."""

import shutil

import pytest
from django.conf import settings
from django.test import Client

from cx.journeys.models import TouchpointDefinition
from cx.journeys.store import COLUMN_NAMES, TABLE, store_engine
from cx.journeys.tests import analytics_data as D


@pytest.fixture
def store(db):
    shutil.rmtree(settings.CXDESK_HOME / "analytics", ignore_errors=True)
    with store_engine(write=True) as engine:
        engine.insert_rows(TABLE, COLUMN_NAMES, D.as_tuples(D.generate(people=120)))
    yield
    shutil.rmtree(settings.CXDESK_HOME / "analytics", ignore_errors=True)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


RANGE = "from=2023-11-01&to=2024-02-01"


def test_analyst_builds_a_funnel_with_breakdown_and_sees_dropoffs(store, analyst_user):
    client = _client(analyst_user)
    response = client.get(f"/journeys/analytics/?step-0-event=A&step-1-event=B&step-2-event=C&breakdown=plan&{RANGE}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-chart="funnel-chart"' in html and "plan = <strong>pro</strong>" in html
    dropoff = client.get(f"/journeys/analytics/funnel/dropoff/?step-0-event=A&step-1-event=B&{RANGE}&drop=0")
    assert dropoff.status_code == 200 and "Customer " in dropoff.content.decode()


def test_funnel_form_errors_are_422_with_reasons(store, analyst_user):
    response = _client(analyst_user).get(f"/journeys/analytics/?step-0-event=A&{RANGE}&window=0")
    assert response.status_code == 422
    html = response.content.decode()
    assert "a funnel needs at least two steps" in html and "window: 1 to 365" in html


def test_paths_retention_friction_and_map_pages(store, analyst_user):
    client = _client(analyst_user)
    rule = "^page%20/product/.*%20=>%20product"
    paths = client.get(f"/journeys/analytics/paths/?event=B&steps=2&{RANGE}&rules={rule}")
    assert paths.status_code == 200 and "product" in paths.content.decode()
    bad_rule = client.get(f"/journeys/analytics/paths/?event=B&{RANGE}&rules=no-arrow")
    assert bad_rule.status_code == 422 and "regex =&gt; label" in bad_rule.content.decode()
    retention = client.get(f"/journeys/analytics/retention/?start_event=A&return_event=D&{RANGE}")
    assert retention.status_code == 200 and 'data-chart="retention-chart"' in retention.content.decode()
    for outcome in ("support", "churn", "low_score"):
        friction = client.get(f"/journeys/analytics/friction/?outcome={outcome}&{RANGE}&min_people=2")
        assert friction.status_code == 200 and "Lift" in friction.content.decode()
    journey_map = client.get(f"/journeys/map/?{RANGE}")
    assert journey_map.status_code == 200
    html = journey_map.content.decode()
    assert "Support" in html and "Contact rate" in html and 'data-chart="stage-chart"' in html


def test_catalog_maps_an_unmapped_event_and_needs_write_access(store, agent_user, analyst_user):
    page = _client(agent_user).get("/journeys/catalog/")
    assert page.status_code == 200 and "<code>A</code>" in page.content.decode()
    response = _client(agent_user).post("/journeys/catalog/", {
        "event": "A", "name": "Ad click", "stage": "awareness", "channel": "ads", "department": "marketing"})
    assert response.status_code == 302
    assert TouchpointDefinition.objects.get(event="A").department == "marketing"
    html = _client(agent_user).get("/journeys/catalog/").content.decode()
    assert "Ad click" in html
    duplicate = _client(agent_user).post("/journeys/catalog/", {
        "event": "A", "name": "Again", "stage": "awareness", "channel": "ads", "department": "marketing"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.content.decode()
    half = _client(agent_user).post("/journeys/catalog/", {
        "event": "B", "property_name": "plan", "name": "B", "stage": "usage", "channel": "web",
        "department": "product"})
    assert half.status_code == 422
    denied = _client(analyst_user).post("/journeys/catalog/", {
        "event": "B", "name": "B", "stage": "usage", "channel": "web", "department": "product"})
    assert denied.status_code == 403 and not TouchpointDefinition.objects.filter(event="B").exists()
