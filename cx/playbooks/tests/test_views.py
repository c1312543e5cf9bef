"""The playbook pages (editor with form errors, the playbook page with outcome and run audit, CSV) and the
next-best-action card in the ticket sidebar with its one-click action."""

import json

import pytest
from django.test import Client

from cx.churn.selectors import ChurnReason
from cx.churn.services import churn_score_store
from cx.journeys.services import touchpoint_record
from cx.playbooks.models import CustomerTag, Playbook, PlaybookRun, RunStatus
from cx.tickets.services import ticket_open_by_customer

from .conftest import CHECKOUT


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides):
    data = {"name": "Checkout rescue", "trigger_kind": "event", "trigger_event": "checkout_failed", "match": "all",
            "conditions": json.dumps(CHECKOUT["conditions"]), "actions": json.dumps(CHECKOUT["actions"]),
            "cooldown_days": "7", "holdout_percent": "10", "goal_kind": "event", "goal_event": "Order Completed",
            "goal_window_days": "14", "is_active": "on", "owner": ""}
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_an_admin_creates_a_playbook_in_the_editor(admin_user):
    client = _client(admin_user)
    page = client.get("/playbooks/new/")
    assert page.status_code == 200 and b"checkout_failed" in page.content and b"Reference" in page.content
    response = client.post("/playbooks/new/", _form())
    playbook = Playbook.objects.get()
    assert response.status_code == 302 and response.url == f"/playbooks/{playbook.pk}/"
    detail = client.get(response.url)
    assert b"Measured outcome" in detail.content and b"Run audit" in detail.content
    assert b"Playbooks" in client.get("/playbooks/").content


@pytest.mark.django_db
def test_editor_errors_name_the_field_and_nothing_is_saved(admin_user):
    client = _client(admin_user)
    bad = client.post("/playbooks/new/", _form(conditions=json.dumps(
        [{"field": "churn_risk", "op": ">", "value": 3}])))
    assert bad.status_code == 422
    assert "conditions[0].value: out of range: a number from 0 to 1" in bad.content.decode()
    malformed = client.post("/playbooks/new/", _form(actions="[{not json"))
    assert malformed.status_code == 422 and "Not valid JSON" in malformed.content.decode()
    missing_template = client.post("/playbooks/new/", _form(actions=json.dumps([{"type": "send_email",
                                                                                  "subject": "Hi"}])))
    assert missing_template.status_code == 422
    assert "actions[0].body: required (the template is missing)" in missing_template.content.decode()
    assert not Playbook.objects.exists()


@pytest.mark.django_db
def test_agents_cannot_open_the_editor(agent_user):
    assert _client(agent_user).get("/playbooks/new/").status_code == 403
    assert _client(agent_user).post("/playbooks/new/", _form()).status_code == 403
    assert not Playbook.objects.exists()


@pytest.mark.django_db
def test_the_run_audit_filters_and_exports_what_the_screen_shows(admin_user, make_playbook, make_customer):
    playbook = make_playbook()
    customer = make_customer("Bea Buyer")
    from django.utils import timezone
    PlaybookRun.objects.create(playbook=playbook, customer=customer, status=RunStatus.THROTTLED,
                               reason="already acted: at most once per 7 day(s)", trigger="event", trigger_key="tp:1",
                               created_at=timezone.now())
    PlaybookRun.objects.create(playbook=playbook, customer=customer, status=RunStatus.ACTED, contacted=True,
                               trigger="event", trigger_key="tp:2", created_at=timezone.now(),
                               results=[{"type": "tag_customer", "ok": True, "detail": "tagged x"}])
    client = _client(admin_user)
    page = client.get(f"/playbooks/{playbook.pk}/?status=throttled").content.decode()
    assert "at most once per 7 day(s)" in page and "tagged x" not in page
    csv = client.get(f"/playbooks/{playbook.pk}/?export=runs").content.decode()
    assert csv.splitlines()[0] == "When,Customer,Result,Trigger,Actions,Reason"
    assert "Throttled" in csv and "Acted" in csv and "tag_customer: ok — tagged x" in csv
    assert client.get(f"/playbooks/{playbook.pk}/?status=bogus").status_code == 422


@pytest.mark.django_db
def test_next_best_action_shows_risk_reasons_open_loops_and_runs_the_suggestion(agent_user, make_playbook,
                                                                                make_customer):
    playbook = make_playbook(name="Save at-risk customers", trigger_kind="sweep", trigger_event="", holdout_percent=0,
                             conditions=[{"field": "churn_risk", "op": ">", "value": 0.7}],
                             actions=[{"type": "tag_customer", "tags": ["retention"]}])
    customer = make_customer("Rita Risky")
    churn_score_store(customer_id=customer.pk, probability=0.83, model_version="t", reasons=[
        ChurnReason("sla_breaches_90d", "2 SLA breaches in 90 days", 0.12),
        ChurnReason("days_since_order", "No order for 80 days", 0.08)])
    ticket = ticket_open_by_customer(requester=customer, subject="Where is my refund", body="?", channel="email").ticket
    other = ticket_open_by_customer(requester=customer, subject="Login broken", body="!", channel="email").ticket
    touchpoint_record(customer=customer, kind="checkout_failed", channel="web", stage="purchase",
                      properties={"event": "checkout_failed"}, source="test")
    client = _client(agent_user)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"/playbooks/next-best-action/tickets/{ticket.pk}/" in page  # the slot loads the card
    card = client.get(f"/playbooks/next-best-action/tickets/{ticket.pk}/").content.decode()
    assert "High churn risk" in card and "83%" in card and "2 SLA breaches in 90 days" in card
    assert f"#{other.pk} Login broken" in card and "checkout_failed 1 times in 7 days" in card
    assert "Save at-risk customers" in card and "Run playbook" in card

    ran = client.post(f"/playbooks/{playbook.pk}/run/{customer.pk}/", {"ticket_id": ticket.pk},
                      headers={"HX-Request": "true"})
    assert ran.status_code == 200
    assert "Save at-risk customers: acted" in ran.content.decode()
    assert CustomerTag.objects.filter(customer=customer, name="retention").exists()
    run = PlaybookRun.objects.get(playbook=playbook)
    assert run.trigger == "manual" and run.actor == agent_user
    # Now throttled: the card says why instead of offering the button again.
    card = client.get(f"/playbooks/next-best-action/tickets/{ticket.pk}/").content.decode()
    assert "at most once per 7 day(s)" in card


@pytest.mark.django_db
def test_analysts_see_the_card_but_cannot_run_a_playbook(analyst_user, make_playbook, make_customer):
    playbook = make_playbook(trigger_kind="sweep", trigger_event="", holdout_percent=0,
                             conditions=[{"field": "churn_risk", "op": ">", "value": 0.5}],
                             actions=[{"type": "tag_customer", "tags": ["x"]}])
    customer = make_customer()
    churn_score_store(customer_id=customer.pk, probability=0.6, model_version="t")
    ticket = ticket_open_by_customer(requester=customer, subject="Hi", body="?", channel="email").ticket
    client = _client(analyst_user)
    assert "Medium churn risk" in client.get(f"/playbooks/next-best-action/tickets/{ticket.pk}/").content.decode()
    assert client.post(f"/playbooks/{playbook.pk}/run/{customer.pk}/").status_code == 403
    assert not PlaybookRun.objects.exists()


@pytest.mark.django_db
def test_the_customer_page_shows_tags_and_runs_and_agents_tag_customers(agent_user, make_customer, make_playbook):
    customer = make_customer()
    playbook = make_playbook()
    from django.utils import timezone
    PlaybookRun.objects.create(playbook=playbook, customer=customer, status=RunStatus.HELD_OUT, trigger="event",
                               trigger_key="tp:1", created_at=timezone.now())
    client = _client(agent_user)
    assert f"/playbooks/customers/{customer.pk}/" in client.get(f"/customers/{customer.pk}/").content.decode()
    added = client.post(f"/playbooks/customers/{customer.pk}/tags/", {"tag": "Big Spender"},
                        headers={"HX-Request": "true"}).content.decode()
    assert "big-spender" in added and "Checkout rescue</a>: held out" in added
    bad = client.post(f"/playbooks/customers/{customer.pk}/tags/", {"tag": "  "}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "tag: 1 to 50 characters" in bad.content.decode()
    client.post(f"/playbooks/customers/{customer.pk}/tags/big-spender/remove/", headers={"HX-Request": "true"})
    assert not CustomerTag.objects.filter(customer=customer).exists()
