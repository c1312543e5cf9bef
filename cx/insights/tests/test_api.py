"""The Insights API: the same figures as the pages, permissions, bad input and the digest subscription."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cx.insights.models import DigestSubscription

WEEK = {"period": "custom", "from": "2024-06-03", "to": "2024-06-09"}


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 6, day, hour, tzinfo=UTC)


@pytest.fixture
def week(desk, customer, clock):
    a = desk.open(at(3, 9), customer)
    desk.reply(a, at(3, 11), solve=True)
    clock.set(at(12, 12))


def test_service_figures_match_the_page(week, lead_user, token_for, api_client, client):
    api = api_client(token_for(lead_user, "read"))
    body = api.get("/api/v1/insights/service", **WEEK).json()
    kpis = {k["key"]: k for k in body["kpis"]}
    assert kpis["frt_median"]["value"] == 7200.0 and kpis["frt_median"]["n"] == 1
    assert kpis["frt_median"]["previous"] is None and kpis["frt_median"]["direction"] == ""
    assert kpis["resolution_rate"]["value"] == 100.0
    assert body["leaderboard"][0]["solved"] == 1
    assert body["period"]["first_day"] == "2024-06-03" and body["previous_period"]["first_day"] == "2024-05-27"
    client.force_login(lead_user)
    page = client.get("/insights/service/", WEEK).content.decode()
    assert "2.0h" in page  # the same 7200 s on the page


def test_experience_and_link_answer_with_no_data_as_null(lead_user, token_for, api_client):
    api = api_client(token_for(lead_user, "read"))
    experience = api.get("/api/v1/insights/experience", period="7")
    assert experience.status_code == 200
    assert {k["key"]: k["value"] for k in experience.json()["headline"]} == {"nps": None, "csat": None, "ces": None}
    link = api.get("/api/v1/insights/link", period="90", hours="12").json()
    assert link["hours"] == 12 and link["retention_ratio"] is None


def test_agents_get_403_and_bad_input_a_422_with_the_field(agent_user, lead_user, token_for, api_client):
    assert api_client(token_for(agent_user)).get("/api/v1/insights/service").status_code == 403
    api = api_client(token_for(lead_user, "read"))
    bad = api.get("/api/v1/insights/service", period="custom", **{"from": "2024-06-09", "to": "2024-06-01"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {"to": "on or after the start date"}
    assert api.get("/api/v1/insights/link", hours="9999").json()["error"]["fields"]["hours"]


def test_subscribe_and_unsubscribe_through_the_api(lead_user, token_for, api_client):
    api = api_client(token_for(lead_user))
    assert api.get("/api/v1/insights/digest/subscription").json() == {"subscribed": False}
    assert api.put("/api/v1/insights/digest/subscription").json() == {"subscribed": True}
    assert api.put("/api/v1/insights/digest/subscription").json() == {"subscribed": True}
    assert DigestSubscription.objects.filter(user=lead_user).count() == 1
    assert api.delete("/api/v1/insights/digest/subscription").json() == {"subscribed": False}
    assert not DigestSubscription.objects.exists()


def test_experience_api_gives_scores_trends_and_heatmap_with_n(week, customer, lead_user, token_for, api_client):
    from cx.insights.tests.factories import answer
    from cx.surveys.models import SurveyKind

    for score in (10, 9, 5):
        answer(kind=SurveyKind.NPS, score=score, at=at(4, 12), customer=customer)
    body = api_client(token_for(lead_user, "read")).get("/api/v1/insights/experience", **WEEK).json()
    nps = next(k for k in body["headline"] if k["key"] == "nps")
    assert round(nps["value"], 1) == 33.3 and nps["n"] == 3 and nps["small_sample"] is True
    assert body["nps_trend"] == [{"week": "2024-06-03", "n": 3, "value": nps["value"], "ci_low": nps["ci_low"],
                                  "ci_high": nps["ci_high"], "small_sample": True}]
    support = next(h for h in body["heatmap"] if h["stage"] == "support")
    assert support["nps"]["n"] == 3 and support["csat"]["n"] == 0 and support["csat"]["value"] is None
