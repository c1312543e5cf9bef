"""Surveys on SMS and WhatsApp: when a ticket of that channel is solved the headline question goes out as a
message through cx.messaging's outbound path (to the local fake provider server), and the customer's reply
that is just a number answers it; out-of-range numbers get a clear reply and are not recorded."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from cx.messaging.tests.conftest import fake_provider, make_connector, post_webhook  # noqa: F401
from cx.messaging.tests.test_outbound import INBOUND, SMS
from cx.surveys.models import Invitation, InvitationStatus, Response
from cx.tickets.models import StatusCategory, Ticket


def _sms(connector, sid: str, body: str):
    assert post_webhook(connector, {**SMS, "MessageSid": sid, "SmsSid": sid, "Body": body}).status_code == 200


def _whatsapp(connector, wamid: str, body: str):
    payload = json.loads(INBOUND["whatsapp"].read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, timestamp=str(int(timezone.now().timestamp())), text={"body": body})
    assert post_webhook(connector, payload).status_code == 200


def _sent_texts(fake, provider: str) -> list[str]:
    if provider == "twilio_sms":
        return [r.form()["Body"] for r in fake.requests if r.path.endswith("/Messages.json")]
    return [r.json()["text"]["body"] for r in fake.requests if r.path.endswith("/messages")]


@pytest.mark.parametrize("provider", ["twilio_sms", "whatsapp"])
def test_the_question_goes_out_on_the_channel_and_a_number_reply_answers_it(
        provider, make_connector, fake_provider, make_survey, no_quiet_hours, solve,  # noqa: F811
        django_capture_on_commit_callbacks):
    make_survey("csat", trigger="ticket_solved")
    connector = make_connector(provider)
    inbound = _sms if provider == "twilio_sms" else _whatsapp
    with django_capture_on_commit_callbacks(execute=True):
        inbound(connector, "in-1", "My parcel never arrived")
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = solve(ticket)
    invitation = Invitation.objects.get(ticket=ticket)
    assert invitation.channel == ticket.channel and invitation.status == InvitationStatus.SENT
    question = _sent_texts(fake_provider, provider)[-1]
    assert "satisfied" in question and "Reply with a number from 1" in question and "to 5" in question

    with django_capture_on_commit_callbacks(execute=True):
        inbound(connector, "in-2", "9")
    assert "9 is not on the scale" in _sent_texts(fake_provider, provider)[-1]
    assert not Response.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        inbound(connector, "in-3", " 4 ")
    response = Response.objects.get()
    assert response.csat_score == 4 and response.ticket_id == ticket.pk
    assert "Thank you" in _sent_texts(fake_provider, provider)[-1]
    ticket.refresh_from_db()
    assert ticket.status_category == StatusCategory.SOLVED  # the answer is not a customer reply
    assert not ticket.messages.filter(body_text__in=["9", " 4 ", "4"]).exists()

    # After the answer, a number is an ordinary message (recorded once, never a second score).
    with django_capture_on_commit_callbacks(execute=True):
        inbound(connector, "in-4", "5")
    assert Response.objects.count() == 1
    assert Ticket.objects.filter(messages__body_text="5").exists()


def test_a_text_reply_is_an_ordinary_message_and_the_cooldown_suppresses_a_second_survey(
        make_connector, fake_provider, make_survey, no_quiet_hours, solve,  # noqa: F811
        django_capture_on_commit_callbacks):
    make_survey("csat", trigger="ticket_solved")
    connector = make_connector("twilio_sms")
    with django_capture_on_commit_callbacks(execute=True):
        _sms(connector, "in-1", "Hello")
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        solve(ticket)
    with django_capture_on_commit_callbacks(execute=True):
        _sms(connector, "in-2", "Actually one more question")
    ticket.refresh_from_db()
    assert ticket.messages.filter(body_text="Actually one more question").exists()
    assert not Response.objects.exists()
    asked = len(_sent_texts(fake_provider, "twilio_sms"))
    with django_capture_on_commit_callbacks(execute=True):
        solve(ticket)  # solved again: within the cooldown, and the ticket was already surveyed
    assert len(_sent_texts(fake_provider, "twilio_sms")) == asked
    assert Invitation.objects.count() == 1
