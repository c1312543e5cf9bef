"""Journey analytics over the API (token auth), with the same generated journeys as the other tests."""

import shutil

import pytest
from django.conf import settings

from cx.journeys.store import COLUMN_NAMES, TABLE, store_engine
from cx.journeys.tests import analytics_data as D

START, END = "2023-11-01T00:00:00Z", "2024-02-01T00:00:00Z"


@pytest.fixture
def store(db):
    shutil.rmtree(settings.CXDESK_HOME / "analytics", ignore_errors=True)
    with store_engine(write=True) as engine:
        engine.insert_rows(TABLE, COLUMN_NAMES, D.as_tuples(D.generate(people=150)))
    yield
    shutil.rmtree(settings.CXDESK_HOME / "analytics", ignore_errors=True)


def test_funnel_dropoff_paths_retention_friction_and_map(store, api_client, token_for, analyst_user):
    client = api_client(token_for(analyst_user, "read"))
    funnel = client.post("/api/v1/journeys/funnel", {
        "steps": [{"event": "A"}, {"event": "X", "optional": True},
                  {"event": "C", "filters": [{"property": "amount", "op": "gt", "value": "10"}]}],
        "start": START, "end": END, "breakdown": "plan",
        "exclusions": [{"event": "B", "after_step": 0, "before_step": 2}]})
    assert funnel.status_code == 200, funnel.content
    rows = funnel.json()["rows"]
    assert {r["breakdown"] for r in rows} == {"free", "pro", "team"} and all(len(r["counts"]) == 3 for r in rows)
    drop = client.post("/api/v1/journeys/funnel/dropoff", {"steps": [{"event": "A"}, {"event": "C"}],
                                                           "start": START, "end": END, "step": 0, "limit": 5})
    assert drop.status_code == 200 and len(drop.json()["people"]) == 5
    paths = client.post("/api/v1/journeys/paths", {"event": "B", "start": START, "end": END, "steps": 2,
                                                    "rules": [{"pattern": "^page /product/", "label": "product"}]})
    assert paths.status_code == 200 and any(link["to"] == "product" for link in paths.json()["links"])
    retention = client.post("/api/v1/journeys/retention", {"start_event": "A", "return_event": "D", "start": START,
                                                            "end": END})
    assert retention.status_code == 200 and retention.json()["cohorts"]
    friction = client.post("/api/v1/journeys/friction", {"outcome": "support", "start": START, "end": END})
    assert friction.status_code == 200 and friction.json()["touchpoints"][0]["lift"] is not None
    journey_map = client.get(f"/api/v1/journeys/map?start={START}&end={END}".replace("+", "%2B"))
    assert journey_map.status_code == 200 and len(journey_map.json()["stages"]) == 8


def test_bad_analytics_requests_are_4xx_with_fields(store, api_client, token_for, analyst_user):
    client = api_client(token_for(analyst_user, "read"))
    one_step = client.post("/api/v1/journeys/funnel", {"steps": [{"event": "A"}], "start": START, "end": END})
    assert one_step.status_code == 422 and "steps" in str(one_step.json()["error"]["fields"])
    optional_last = client.post("/api/v1/journeys/funnel", {"steps": [{"event": "A"}, {"event": "B", "optional": True}],
                                                            "start": START, "end": END})
    assert optional_last.status_code == 422
    assert optional_last.json()["error"]["fields"]["steps"] == "the first and the last step cannot be optional"
    bad_regex = client.post("/api/v1/journeys/paths", {"event": "B", "start": START, "end": END,
                                                        "rules": [{"pattern": "(", "label": "x"}]})
    assert bad_regex.status_code == 422 and "rules[0].pattern" in bad_regex.json()["error"]["fields"]
    assert client.post("/api/v1/journeys/friction", {"outcome": "mood", "start": START,
                                                     "end": END}).status_code == 422
    naive = client.post("/api/v1/journeys/retention", {"start_event": "A", "return_event": "D",
                                                        "start": "2023-11-01T00:00:00", "end": END})
    assert naive.status_code == 422


def test_catalog_over_the_api(store, api_client, token_for, agent_user, analyst_user):
    writer = api_client(token_for(agent_user, "write"))
    created = writer.post("/api/v1/journeys/catalog", {"event": "A", "name": "Ad click", "stage": "awareness",
                                                       "channel": "ads", "department": "marketing"})
    assert created.status_code == 201, created.content
    listed = writer.get("/api/v1/journeys/catalog").json()
    assert [d["name"] for d in listed] == ["Ad click"]
    unmapped = {e["event"] for e in writer.get("/api/v1/journeys/catalog/unmapped").json()["events"]}
    assert "A" not in unmapped and "B" in unmapped
    reader = api_client(token_for(analyst_user, "read"))
    assert reader.post("/api/v1/journeys/catalog", {"event": "B", "name": "B", "stage": "usage",
                                                    "department": "product"}).status_code == 403
    assert writer.delete(f"/api/v1/journeys/catalog/{created.json()['id']}").status_code == 204
    assert writer.delete(f"/api/v1/journeys/catalog/{created.json()['id']}").status_code == 404
