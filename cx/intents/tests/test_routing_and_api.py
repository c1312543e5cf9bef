"""Intent routing through the paths people use: the API, the ticket observer, the admin page, the ticket panel,
the train command and the schedule."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cx.accounts.services import team_create
from cx.core.models import AuditEvent
from cx.customers.services import customer_create
from cx.intents.models import ExampleSource, IntentExample, IntentLabel, IntentModel, ModelStatus, TicketIntent
from cx.intents.services import intent_retrain_job, intent_settings_update
from cx.tickets.models import Priority, Ticket
from cx.tickets.services import ticket_open_by_customer


def open_ticket(subject: str, body: str = "") -> Ticket:
    customer = customer_create(actor=None, display_name="Robin Customer")
    return ticket_open_by_customer(requester=customer, subject=subject, body=body or subject, channel="web").ticket


@pytest.fixture
def cards_team(db):
    return team_create(actor=None, name="Cards")


@pytest.fixture
def mapped(trained, cards_team, admin_user):
    label = IntentLabel.objects.get(name="lost_or_stolen_card")
    label.team, label.priority, label.tags = cards_team, Priority.URGENT, ["card-security"]
    label.save()
    intent_settings_update(actor=admin_user, values={"threshold": 0.3})
    return label


def test_a_confident_prediction_routes_the_new_ticket_by_the_mapping(mapped, cards_team):
    ticket = open_ticket("My card was stolen", "Someone stole my wallet with my card in it, please block it")
    ticket.refresh_from_db()
    intent = TicketIntent.objects.get(ticket=ticket)
    assert intent.label == mapped and intent.confidence >= 0.3 and intent.routed
    assert ticket.team_id == cards_team.pk and ticket.priority == Priority.URGENT
    assert list(ticket.tags.values_list("name", flat=True)) == ["card-security"]
    routed = AuditEvent.objects.filter(target_type="ticket", target_id=ticket.pk, actor_label="system-intent-routing")
    assert routed.exists()


def test_below_the_threshold_the_prediction_is_shown_but_nothing_is_routed(mapped, admin_user):
    intent_settings_update(actor=admin_user, values={"threshold": 1.0})
    ticket = open_ticket("My card was stolen", "Someone stole my card")
    ticket.refresh_from_db()
    intent = TicketIntent.objects.get(ticket=ticket)
    assert intent.label is not None and not intent.routed
    assert ticket.team_id is None and ticket.priority == Priority.NORMAL


def test_without_a_model_tickets_are_not_classified(db):
    ticket = open_ticket("Where is my card?")
    assert not TicketIntent.objects.filter(ticket=ticket).exists()


def test_agents_see_the_prediction_on_the_ticket_page_and_correct_it(mapped, agent_user):
    ticket = open_ticket("Exchange rate question", "What exchange rate do you use for dollars?")
    client = Client()
    client.force_login(agent_user)
    page = client.get(reverse("tickets:detail", args=[ticket.pk]))
    panel_url = reverse("intents:ticket_panel", args=[ticket.pk])
    assert panel_url in page.content.decode()
    panel = client.get(panel_url, headers={"HX-Request": "true"})
    assert panel.status_code == 200 and 'id="intent-label"' in panel.content.decode()
    right = IntentLabel.objects.get(name="top_up_failed")
    response = client.post(reverse("intents:ticket_correct", args=[ticket.pk]), {"label_id": right.pk},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "top_up_failed" in response.content.decode()
    example = IntentExample.objects.get(ticket=ticket)
    assert example.label == right and example.source == ExampleSource.CORRECTION
    assert "Exchange rate question" in example.text
    bad = client.post(reverse("intents:ticket_correct", args=[ticket.pk]), {"label_id": "x"})
    assert bad.status_code == 422 and "Choose an intent" in bad.content.decode()


def test_correction_through_the_api_and_prediction_endpoint(mapped, agent_user, token_for, api_client):
    ticket = open_ticket("Card has not arrived", "I ordered a card two weeks ago and it has not arrived")
    api = api_client(token_for(agent_user))
    got = api.get(f"/api/v1/tickets/{ticket.pk}/intent")
    assert got.status_code == 200 and got.json()["label"] == "card_arrival"
    label = IntentLabel.objects.get(name="card_arrival")
    put = api.put(f"/api/v1/tickets/{ticket.pk}/intent", {"label_id": label.pk})
    assert put.status_code == 200 and put.json()["corrected_label"] == "card_arrival"
    assert IntentExample.objects.get(ticket=ticket).source == ExampleSource.CONFIRMATION
    unknown = api.put(f"/api/v1/tickets/{ticket.pk}/intent", {"label_id": 999999})
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"] == {"label_id": "No such intent."}
    assert api.get("/api/v1/tickets/999999/intent").status_code == 404
    predicted = api.post("/api/v1/intents/predict", {"text": "what exchange rate will I get"})
    assert predicted.status_code == 200 and predicted.json()["label"] == "exchange_rate"
    assert api.post("/api/v1/intents/predict", {"text": "  "}).status_code == 422


def test_admin_api_imports_examples_maps_labels_and_trains(admin_user, token_for, api_client, cards_team,
                                                          django_capture_on_commit_callbacks):
    from cx.intents.tests.conftest import fixture_rows

    api = api_client(token_for(admin_user, "admin"))
    thin = api.post("/api/v1/intents/examples", {"examples": [{"text": "hi", "category": "greeting"}]})
    assert thin.status_code == 201
    too_little = api.post("/api/v1/intents/train")
    assert too_little.status_code == 422 and too_little.json()["error"]["code"] == "not_enough_data"
    assert "need at least 2 intents" in too_little.json()["error"]["message"]
    rows = fixture_rows("intents_train.csv")
    imported = api.post("/api/v1/intents/examples",
                        {"examples": [{"text": r["text"], "category": r["category"]} for r in rows]})
    assert imported.status_code == 201 and len(imported.json()["labels_created"]) == 4
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post("/api/v1/intents/train")
    assert queued.status_code == 202
    run = api.get(f"/api/v1/intents/models/{queued.json()['id']}").json()
    assert run["status"] == "ready" and run["is_active"] and run["skipped_labels"] == {"greeting": 1}
    label_id = next(lbl["id"] for lbl in api.get("/api/v1/intents/labels").json() if lbl["name"] == "card_arrival")
    patched = api.patch(f"/api/v1/intents/labels/{label_id}",
                        {"team_id": cards_team.pk, "priority": "high", "tags": ["Card Delivery"]})
    assert patched.status_code == 200 and patched.json()["tags"] == ["card-delivery"]
    bad = api.patch(f"/api/v1/intents/labels/{label_id}", {"priority": "asap", "team_id": 424242})
    assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {"priority", "team_id"}
    settings = api.patch("/api/v1/intents/settings", {"threshold": 1.5})
    assert settings.status_code == 422 and "threshold" in settings.json()["error"]["fields"]
    assert api.patch("/api/v1/intents/settings", {"threshold": 0.8}).json()["threshold"] == 0.8


def test_agents_cannot_change_the_mapping_or_train(agent_user, token_for, api_client, trained):
    api = api_client(token_for(agent_user))
    assert api.patch("/api/v1/intents/settings", {"threshold": 0.1}).status_code == 403
    assert api.post("/api/v1/intents/train").status_code == 403
    assert api.post("/api/v1/intents/labels", {"name": "new"}).status_code == 403
    client = Client()
    client.force_login(agent_user)
    assert client.get(reverse("intents:admin")).status_code == 403


def test_admin_page_shows_status_and_saves_mapping_and_settings(trained, admin_user, cards_team):
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("intents:admin"))
    assert page.status_code == 200 and f"Active model #{trained.pk}" in page.content.decode()
    label = IntentLabel.objects.get(name="exchange_rate")
    client.post(reverse("intents:label_update", args=[label.pk]),
                {"name": "exchange_rate", "team_id": cards_team.pk, "priority": "low", "tags": "fx, rates"})
    label.refresh_from_db()
    assert (label.team_id, label.priority, label.tags) == (cards_team.pk, "low", ["fx", "rates"])
    response = client.post(reverse("intents:settings"), {"threshold": "abc", "retrain_every_hours": "24"}, follow=True)
    assert "threshold: Must be a number." in response.content.decode()
    client.post(reverse("intents:settings"), {"threshold": "0.55", "routing_enabled": "on",
                                              "retrain_every_hours": "12"})
    client.post(reverse("intents:examples_upload"),
                {"file": io.BytesIO(b"text,category\nplease refund me,refund\n")})
    assert IntentLabel.objects.filter(name="refund").exists()
    bad_csv = client.post(reverse("intents:examples_upload"), {"file": io.BytesIO(b"a,b\n1,2\n")}, follow=True)
    assert "needs a header row with the columns text and category" in bad_csv.content.decode()


def test_train_command_imports_and_trains_and_explains_thin_data(admin_user, tmp_path):
    thin = tmp_path / "thin.csv"
    thin.write_text("text,category\nhello,greeting\n")
    with pytest.raises(CommandError, match="Too little labelled data") as error:
        call_command("train", "intents", "--examples", str(thin))
    assert error.value.returncode == 2
    assert IntentModel.objects.get().status == ModelStatus.FAILED
    from cx.intents.tests.conftest import FIXTURES

    out = io.StringIO()
    call_command("train", "intents", "--examples", str(FIXTURES / "intents_train.csv"), stdout=out)
    assert "imported 60 examples" in out.getvalue() and "active: 4 intents" in out.getvalue()
    assert IntentModel.objects.filter(is_active=True).count() == 1


def test_scheduled_retraining_runs_when_due_and_there_are_new_examples(trained, admin_user,
                                                                       django_capture_on_commit_callbacks):
    assert intent_retrain_job(timezone.now()) == "not due"
    later = timezone.now() + timedelta(hours=25)
    assert intent_retrain_job(later) == "no new examples"
    ticket = open_ticket("Top up failed", "My top up did not work")
    from cx.intents.services import ticket_intent_correct

    ticket_intent_correct(actor=admin_user, ticket=ticket, label_id=IntentLabel.objects.get(name="top_up_failed").pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert intent_retrain_job(later) == "queued"
    newest = IntentModel.objects.order_by("-pk").first()
    assert newest.status == ModelStatus.READY and newest.is_active and newest.trigger == "schedule"
    assert newest.examples == 61


def test_agents_outside_a_restricted_team_cannot_see_or_correct_its_tickets_intent(trained, agent_user, token_for,
                                                                                    api_client, admin_user):
    hr = team_create(actor=None, name="HR", is_restricted=True)
    ticket = open_ticket("Card still not here", "My card has not arrived")
    from cx.tickets.services import ticket_update

    ticket_update(actor=admin_user, ticket=ticket, changes={"team_id": hr.pk})
    label = IntentLabel.objects.get(name="card_arrival")
    api = api_client(token_for(agent_user))
    assert api.get(f"/api/v1/tickets/{ticket.pk}/intent").status_code == 404
    assert api.put(f"/api/v1/tickets/{ticket.pk}/intent", {"label_id": label.pk}).status_code == 404
    client = Client()
    client.force_login(agent_user)
    assert client.get(reverse("intents:ticket_panel", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("intents:ticket_correct", args=[ticket.pk]), {"label_id": label.pk}).status_code == 404
    assert not IntentExample.objects.filter(ticket=ticket).exists()
