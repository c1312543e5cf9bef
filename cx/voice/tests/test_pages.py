"""The IVR editor (admins) and the calls panel with "log a call" on every ticket page (agents)."""

from __future__ import annotations

from django.test import Client

from cx.customers.services import customer_create
from cx.journeys.models import Touchpoint
from cx.tickets.services import ticket_open_by_customer
from cx.voice.models import Call, IvrMenu


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _menu_post(**extra) -> dict:
    data = {"name": "Support line", "phone_number": "+18005550100", "account_sid": "AC9", "auth_token": "tok-SECRET-1",
            "is_active": "on", "greeting": "Welcome to Acme.", "language": "en-US", "team": "", "calendar": "",
            "after_hours_message": "", "after_hours_action": "voicemail",
            "voicemail_prompt": "Leave a message.", "options-TOTAL_FORMS": "3", "options-INITIAL_FORMS": "0",
            "options-MIN_NUM_FORMS": "0", "options-MAX_NUM_FORMS": "12",
            "options-0-digit": "1", "options-0-label": "Billing", "options-0-action": "forward",
            "options-0-forward_number": "+15550002222", "options-1-digit": "2", "options-1-label": "a message",
            "options-1-action": "voicemail", "options-2-digit": "", "options-2-action": "forward"}
    data.update(extra)
    return data


def test_admin_defines_an_ivr_menu(admin_user, teams):
    client = _client(admin_user)
    assert client.get("/voice/menus/new/").status_code == 200
    response = client.post("/voice/menus/new/", _menu_post(**{"options-0-team": str(teams["sales"].pk)}))
    menu = IvrMenu.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/voice/menus/{menu.pk}/"
    assert [(o.digit, o.action, o.forward_number) for o in menu.options.all()] == [
        ("1", "forward", "+15550002222"), ("2", "voicemail", "")]
    page = client.get(response["Location"]).content.decode()
    assert "tok-SECRET-1" not in page and f"/voice/hooks/{menu.webhook_key}/incoming/" in page
    # Saving without the token keeps it; removing a row's key drops the option.
    client.post(response["Location"], _menu_post(**{"auth_token": "", "options-1-digit": ""}))
    menu.refresh_from_db()
    assert menu.auth_token == "tok-SECRET-1" and menu.options.count() == 1
    assert "Support line" in client.get("/voice/menus/").content.decode()


def test_ivr_form_errors_name_the_field(admin_user, teams):
    client = _client(admin_user)
    response = client.post("/voice/menus/new/", _menu_post(**{"phone_number": "0800 CALL US",
                                                               "options-1-digit": "1",
                                                               "options-0-forward_number": ""}))
    assert response.status_code == 422
    body = response.content.decode()
    assert "an international number" in body and "used twice" in body
    assert not IvrMenu.objects.exists()


def test_agents_cannot_edit_ivr_menus(agent_user, db):
    assert _client(agent_user).get("/voice/menus/").status_code == 403


def test_agent_logs_a_call_by_hand_on_a_ticket(agent_user, db):
    customer = customer_create(actor=None, display_name="Maya",
                               identities=[{"kind": "phone", "value": "+4915112345678"}])
    ticket = ticket_open_by_customer(requester=customer, subject="Invoice", body="Wrong amount", channel="email").ticket
    client = _client(agent_user)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"/voice/tickets/{ticket.pk}/calls/" in page
    panel = client.get(f"/voice/tickets/{ticket.pk}/calls/").content.decode()
    assert "Log a call" in panel and "+4915112345678" in panel
    response = client.post(f"/voice/tickets/{ticket.pk}/calls/log/", {
        "direction": "outbound", "phone_number": "+4915112345678", "started_at": "2026-01-05T10:30",
        "minutes": "4", "seconds": "10", "outcome": "answered", "notes": "Explained the invoice."})
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.agent == agent_user and call.duration_seconds == 250 and call.ticket == ticket and call.logged_manually
    note = ticket.messages.get(visibility="internal")
    assert "Outbound call to +4915112345678: answered, 4m 10s" in note.body_text
    assert Touchpoint.objects.filter(kind="call.answered", channel="phone", customer=customer).exists()
    assert "Explained the invoice." in client.get(f"/voice/tickets/{ticket.pk}/calls/").content.decode()


def test_logging_a_call_with_bad_input_changes_nothing(agent_user, analyst_user, db):
    customer = customer_create(actor=None, display_name="Maya")
    ticket = ticket_open_by_customer(requester=customer, subject="Invoice", body="Hi", channel="email").ticket
    client = _client(agent_user)
    response = client.post(f"/voice/tickets/{ticket.pk}/calls/log/", {
        "direction": "outbound", "phone_number": "12", "started_at": "2026-01-05T10:30", "minutes": "1",
        "seconds": "0", "outcome": "answered"})
    assert response.status_code == 422 and "international number" in response.content.decode()
    response = client.post(f"/voice/tickets/{ticket.pk}/calls/log/", {"direction": "sideways"})
    assert response.status_code == 422
    analyst = _client(analyst_user).post(f"/voice/tickets/{ticket.pk}/calls/log/", {
        "direction": "outbound", "started_at": "2026-01-05T10:30", "minutes": "1", "seconds": "0",
        "outcome": "answered"})
    assert analyst.status_code == 403
    assert not Call.objects.exists() and ticket.messages.count() == 1


def test_a_public_reply_on_a_phone_ticket_says_it_was_not_sent(agent_user, db):
    from cx.tickets.services import ticket_reply

    customer = customer_create(actor=None, display_name="Maya")
    ticket = ticket_open_by_customer(requester=customer, subject="Voicemail", body="Call me", channel="phone").ticket
    message = ticket_reply(actor=agent_user, ticket=ticket, body="We will call you.")
    message.refresh_from_db()
    assert message.delivery_status == "failed" and "Call them back" in message.delivery_error
    note = ticket_reply(actor=agent_user, ticket=ticket, body="Tried, no answer.", visibility="internal")
    note.refresh_from_db()
    assert note.delivery_status == ""
