"""Surveys on other channels: inline CSAT in the chat widget at chat end (the chat end observer creates a
``chat`` invitation and pushes a ``survey`` frame; the widget answers through the public endpoints)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cx.accounts.models import Role
from cx.accounts.services import user_set_status
from cx.chat import push
from cx.chat.services import chat_conversation_start, chat_inbox_create, chat_session_open, chat_visitor_end
from cx.surveys import services
from cx.surveys.models import Invitation, InvitationStatus, Response


@pytest.fixture
def frames(monkeypatch):
    sent: list[dict] = []
    monkeypatch.setattr(push, "to_visitor_on_commit", lambda *, visitor_id, frame: sent.append(frame))
    return sent


@pytest.fixture
def end_chat(survey_admin, make_user):
    inbox = chat_inbox_create(actor=survey_admin, values={"name": "Website"}).inbox
    user_set_status(actor=make_user(Role.AGENT, "ria"), status="online")

    def _end(name: str = "Lin"):
        visitor = chat_session_open(inbox=inbox, page_url="https://shop.example.com/").visitor
        conversation = chat_conversation_start(visitor=visitor, fields={"name": name,
                                                                        "email": f"{name.lower()}@example.com"},
                                               body="Hello")
        chat_visitor_end(visitor=visitor)
        return conversation

    return _end


def _survey_frame(frames: list[dict]) -> dict:
    found = [f for f in frames if f["type"] == "survey"]
    assert len(found) == 1
    return found[0]["survey"]


def test_chat_end_offers_inline_csat_and_the_answer_is_recorded_once_on_the_ticket(make_survey, frames, end_chat):
    make_survey("csat", trigger="ticket_solved")
    conversation = end_chat()
    offer = _survey_frame(frames)
    invitation = Invitation.objects.get(ticket_id=conversation.ticket_id)
    assert invitation.channel == "chat" and invitation.status == InvitationStatus.SENT
    assert offer["question"]["kind"] == "csat" and offer["question"]["scale"] == [1, 2, 3, 4, 5]
    low, anything = offer["comments"]
    assert low["show_if"]["max"] == 3 and anything["show_if"] is None

    client = Client()
    preflight = client.options(f"{offer['path']}/answers", headers={"Origin": "https://shop.example.com"})
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"
    body = {"answers": [{"question_id": offer["question"]["id"], "score": 6}], "complete": True}
    bad = client.post(f"{offer['path']}/answers", json.dumps(body), content_type="application/json")
    assert bad.status_code == 422 and bad["Access-Control-Allow-Origin"] == "*"
    assert not Response.objects.filter(invitation=invitation).exists()

    body = {"answers": [{"question_id": offer["question"]["id"], "score": 5},
                        {"question_id": anything["id"], "text": "Fast and kind"}], "complete": True}
    ok = client.post(f"{offer['path']}/answers", json.dumps(body), content_type="application/json")
    assert ok.status_code == 201 and ok.json()["complete"] is True
    again = client.post(f"{offer['path']}/answers", json.dumps(body), content_type="application/json")
    assert again.status_code == 409
    response = Response.objects.get(invitation=invitation)
    assert response.csat_score == 5 and response.ticket_id == conversation.ticket_id
    assert response.comment == "Fast and kind"


def test_the_chat_survey_respects_the_cooldown_and_the_ticket_is_not_asked_again_by_email(make_survey, frames,
                                                                                          end_chat):
    make_survey("csat", trigger="ticket_solved")
    first = end_chat("Lin")
    assert _survey_frame(frames)
    frames.clear()
    end_chat("Lin")  # same customer (same email), within the 7-day cooldown
    assert not [f for f in frames if f["type"] == "survey"]
    second = Invitation.objects.exclude(ticket_id=first.ticket_id).get()
    assert second.status == InvitationStatus.SUPPRESSED and "days" in second.status_reason
    # Solving the first ticket later does not send an email survey: the chat invitation holds its key.
    again = services.survey_invitation_create(survey=second.survey, customer=second.customer,
                                              ticket=first.ticket, source="ticket_solved",
                                              source_key=f"ticket:{first.ticket_id}")
    assert again.channel == "chat"


def test_no_active_survey_means_no_offer(frames, end_chat, make_survey):
    make_survey("csat", trigger="manual")
    end_chat()
    assert not [f for f in frames if f["type"] == "survey"]


def test_the_portal_lists_the_customers_open_survey_invitations(client, make_survey, mailoutbox,
                                                                django_capture_on_commit_callbacks):
    from cx.customers.services import customer_create
    from cx.portal.tests.test_portal import _sign_in

    carla = customer_create(actor=None, display_name="Carla",
                            identities=[{"kind": "email", "value": "carla@acme.test"}])
    dan = customer_create(actor=None, display_name="Dan", identities=[{"kind": "email", "value": "dan@acme.test"}])
    nps, csat = make_survey("nps", name="Relationship NPS"), make_survey("csat", name="Support CSAT")
    open_one = services.survey_invitation_create(survey=nps, customer=carla, channel="portal", ignore_cooldown=True)
    answered = services.survey_invitation_create(survey=csat, customer=carla, channel="portal",
                                                 ignore_cooldown=True)
    services.response_submit(invitation=answered, answers=[{"question_id": csat.questions.first().pk, "score": 5}],
                             complete=True)
    services.survey_invitation_create(survey=csat, customer=dan, channel="portal")
    assert open_one.status == "sent"

    _sign_in(client, "carla@acme.test", mailoutbox, django_capture_on_commit_callbacks)
    page = client.get("/portal/").content.decode()
    assert "Surveys waiting for your answer" in page and "Relationship NPS" in page
    assert "Support CSAT" not in page  # answered, and Dan's invitation is not Carla's
    link = f"/surveys/s/{services.invitation_token(open_one)}/"
    assert f'href="{link}"' in page
    assert client.get(link).status_code == 200
