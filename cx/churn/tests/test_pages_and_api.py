"""Churn risk where people see it: the customer card, the Insights churn page (with CSV), the experience panel,
"Retrain now", the REST API, and the customer data handler (export / merge / erase)."""

from __future__ import annotations

import csv
import io

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cx.churn.models import ChurnModelRun, ChurnScore, RunStatus
from cx.churn.selectors import ChurnReason
from cx.churn.services import churn_score_store
from cx.churn.tests import builders as b
from cx.customers.services import customer_erase, customer_export

pytestmark = pytest.mark.django_db


def scored_customers():
    high, medium, low = b.customer("Hana High"), b.customer("Mo Medium"), b.customer("Lou Low")
    churn_score_store(customer_id=high.pk, probability=0.83, model_version="churn-v1", reasons=[
        ChurnReason("sla_breaches_90d", "3 SLA breaches in 90 days", 0.21),
        ChurnReason("last_nps", "Last NPS 2 (detractor)", 0.09),
        ChurnReason("orders_90d", "4 orders in 90 days", -0.05)])
    churn_score_store(customer_id=medium.pk, probability=0.45, model_version="churn-v1",
                      reasons=[ChurnReason("days_since_last_touchpoint", "Last activity 60 days ago", 0.12)])
    churn_score_store(customer_id=low.pk, probability=0.05, model_version="churn-v1")
    return high, medium, low


def test_customer_page_card_shows_probability_level_reasons_and_when(agent_user):
    high, _, low = scored_customers()
    client = Client()
    client.force_login(agent_user)
    page = client.get(reverse("customers:detail", args=[high.pk])).content.decode()
    assert reverse("churn:customer_panel", args=[high.pk]) in page  # the slot loads the card by htmx
    card = client.get(reverse("churn:customer_panel", args=[high.pk]), headers={"HX-Request": "true"})
    html = card.content.decode()
    assert card.status_code == 200 and "High risk" in html and "83%" in html
    assert "3 SLA breaches in 90 days" in html and "+21 pts" in html
    assert "Lowering the risk" in html and "4 orders in 90 days" in html
    assert "churn-v1" in html and "Scored" in html
    unscored = b.customer("New")
    html = client.get(reverse("churn:customer_panel", args=[unscored.pk])).content.decode()
    assert "No churn model has been trained yet" in html
    missing = client.get(reverse("churn:customer_panel", args=[999999]), headers={"HX-Request": "true"})
    assert missing.status_code == 404 and "No customer with id 999999" in missing.content.decode()
    assert "Low risk" in client.get(reverse("churn:customer_panel", args=[low.pk])).content.decode()


def test_churn_page_segments_at_risk_table_csv_and_runs(agent_user):
    scored_customers()
    ChurnModelRun.objects.create(status=RunStatus.FAILED, trigger="schedule", customers=8, churned=2,
                                 error="Too little data to train a churn model: 8 customers (2 churned, 6 stayed).")
    client = Client()
    client.force_login(agent_user)
    response = client.get(reverse("churn:page"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/insights/churn/"' in html and ">Churn risk</a>" in html  # the insights.tabs tab
    assert "High risk" in html and "Medium risk" in html and "Low risk" in html
    assert "Hana High" in html and "Mo Medium" in html and "Lou Low" not in html  # default: medium and high
    assert "Too little data to train a churn model: 8 customers" in html
    assert "Retrain now" not in html  # agents see the runs but cannot retrain
    exported = client.get(reverse("churn:page"), {"level": "high", "export": "churn-at-risk"})
    assert exported["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == ["Customer", "Churn probability", "Level", "Top reasons", "Scored"]
    assert [r[:3] for r in rows[1:]] == [["Hana High", "83.0%", "high"]]
    assert rows[1][3] == "3 SLA breaches in 90 days; Last NPS 2 (detractor)"
    segments = list(csv.reader(io.StringIO(client.get(reverse("churn:page"), {"export": "churn-segments"})
                                           .content.decode())))
    assert segments[1:] == [["High risk", "≥ 0.70", "1", "33.3%"], ["Medium risk", "0.40-0.69", "1", "33.3%"],
                            ["Low risk", "< 0.40", "1", "33.3%"]]
    assert client.get(reverse("churn:page"), {"export": "nope"}).status_code == 404


def test_empty_instance_shows_no_data_not_zeros(agent_user):
    client = Client()
    client.force_login(agent_user)
    html = client.get(reverse("churn:page")).content.decode()
    assert "No churn model has been trained yet" in html and "No data for this period." in html
    panel = client.get(reverse("churn:experience_panel")).content.decode()
    assert "No data: no customer has a churn score yet." in panel


def test_experience_dashboard_panel_and_slot(agent_user, rf):
    scored_customers()
    client = Client()
    client.force_login(agent_user)
    panel = client.get(reverse("churn:experience_panel")).content.decode()
    assert "Churn-risk segments" in panel and "3 active customers scored" in panel
    assert "?level=high" in panel
    request = rf.get("/insights/")
    request.user = agent_user
    slot = render_to_string("churn/slots/experience_panel.html", {"request": request,
                                                                  "period_start": timezone.now()}, request)
    assert reverse("churn:experience_panel") in slot


def test_retrain_now_button_is_for_admins(admin_user, agent_user, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(agent_user)
    assert client.post(reverse("churn:train")).status_code == 403
    client.force_login(admin_user)
    assert "Retrain now" in client.get(reverse("churn:page")).content.decode()
    b.population(timezone.now(), customers=6)
    response = client.post(reverse("churn:train"), follow=True)
    assert "Too little data to train a churn model: 6 customers" in response.content.decode()
    assert not ChurnModelRun.objects.exists()
    b.population(timezone.now(), customers=40)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("churn:train"), follow=True)
    assert "Retraining queued" in response.content.decode()
    run = ChurnModelRun.objects.get()
    assert run.status == RunStatus.READY and run.trigger == "admin" and run.customers == 46
    html = client.get(reverse("churn:page")).content.decode()
    assert run.version in html and "What drives churn" in html


def test_api_risk_segments_at_risk_and_runs(admin_user, agent_user, token_for, api_client,
                                            django_capture_on_commit_callbacks):
    high, _, _ = scored_customers()
    agent = api_client(token_for(agent_user, "read"))
    body = agent.get(f"/api/v1/customers/{high.pk}/churn-risk").json()
    assert body["scored"] is True and body["probability"] == 0.83 and body["level"] == "high"
    assert body["reasons"][0] == {"feature": "sla_breaches_90d", "label": "3 SLA breaches in 90 days",
                                  "effect": 0.21}
    fresh = b.customer("Fresh")
    assert agent.get(f"/api/v1/customers/{fresh.pk}/churn-risk").json() == {
        "customer_id": fresh.pk, "scored": False, "probability": None, "level": None, "reasons": [],
        "model_version": None, "scored_at": None}
    missing = agent.get("/api/v1/customers/999999/churn-risk")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert [(s["level"], s["customers"]) for s in agent.get("/api/v1/churn/segments").json()] == [
        ("high", 1), ("medium", 1), ("low", 1)]
    assert [r["customer"] for r in agent.get("/api/v1/churn/at-risk", minimum="0.4").json()] == [
        "Hana High", "Mo Medium"]
    bad = agent.get("/api/v1/churn/at-risk", minimum="2")
    assert bad.status_code == 422 and "minimum" in str(bad.json()["error"]["fields"])
    assert agent.post("/api/v1/churn/model-runs").status_code == 403
    admin = api_client(token_for(admin_user, "admin"))
    b.population(timezone.now(), customers=5)
    refused = admin.post("/api/v1/churn/model-runs")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_enough_data"
    assert "Too little data to train a churn model: 5 customers" in refused.json()["error"]["message"]
    b.population(timezone.now(), customers=40)
    queued = admin.post("/api/v1/churn/model-runs")  # the task runs on commit, which this test never reaches
    assert queued.status_code == 202 and queued.json()["status"] == "queued" and queued.json()["trigger"] == "api"
    again = admin.post("/api/v1/churn/model-runs")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    ChurnModelRun.objects.all().delete()
    ChurnModelRun.objects.create(status=RunStatus.FAILED, trigger="command", customers=5, error="Too little data")
    runs = agent.get("/api/v1/churn/model-runs").json()
    assert runs[0]["status"] == "failed" and runs[0]["error"] == "Too little data" and runs[0]["customers"] == 5
    assert agent.get("/api/v1/churn/segments", headers={}).status_code == 200
    assert api_client(None).get("/api/v1/churn/segments").status_code == 401


def test_customer_data_handler_exports_and_erases_the_score(admin_user):
    high, _, _ = scored_customers()
    document = customer_export(actor=admin_user, customer=high)
    assert document["churn_scores"][0]["probability"] == 0.83
    customer_erase(actor=admin_user, customer=high)
    assert not ChurnScore.objects.filter(customer_id=high.pk).exists()
