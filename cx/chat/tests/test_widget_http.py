"""The widget's HTTP endpoints as the widget calls them from a customer's website: the script, the session
(visitor token, identity), uploads, attachments and leave-a-message; every bad input gets a clear 4xx and
changes nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cx.chat.identity import identity_signature
from cx.chat.models import ChatConversation, ChatVisitor
from cx.chat.services import MAX_UPLOAD_BYTES, chat_conversation_start
from cx.customers.models import Customer, CustomerIdentity
from cx.customers.services import customer_create
from cx.journeys.models import Touchpoint
from cx.tickets.models import Channel, Message, Ticket

pytestmark = pytest.mark.django_db


def test_widget_script_is_served_small_and_cacheable(client):
    response = client.get("/chat/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    source = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"attachShadow" in source and len(source) < 40_000


def test_a_new_visitor_gets_a_token_and_keeps_it_across_reloads(widget, chat_inbox):
    w = widget(chat_inbox)
    first = w.session()
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["visitor_token"] and body["conversation"] is None
    assert body["inbox"]["name"] == "Website" and body["inbox"]["pre_chat_fields"][0]["name"] == "name"
    assert body["availability"] == {"open": False, "within_hours": True, "agents_online": False}
    assert body["socket_path"] == f"/ws/chat/visitor/{chat_inbox.widget_key}/"
    assert first["Access-Control-Allow-Origin"] == "https://shop.example.com"
    again = w.session(page_url="https://shop.example.com/checkout", page_title="Checkout")
    assert again.status_code == 200
    assert ChatVisitor.objects.count() == 1
    assert ChatVisitor.objects.get().current_title == "Checkout"


def test_a_token_of_another_inbox_or_a_tampered_one_starts_a_new_visitor(widget, chat_inbox, inbox_with_secret):
    other = inbox_with_secret(name="Other").inbox
    token = widget(other).session().json()["visitor_token"]
    w = widget(chat_inbox)
    assert w.session(visitor_token=token).status_code == 200
    assert w.session(visitor_token=token[:-2] + "xx").status_code == 200
    assert ChatVisitor.objects.filter(inbox=chat_inbox).count() == 2


def test_unknown_or_disabled_inbox_keys_get_404(widget, chat_inbox, admin_user):
    from cx.chat.services import chat_inbox_update

    w = widget(chat_inbox)
    w.inbox = type(chat_inbox)(widget_key="no-such-key")
    response = w.session()
    assert response.status_code == 404
    assert response.json()["error"]["fields"] == {"inbox": "unknown or disabled widget key"}
    chat_inbox_update(actor=admin_user, inbox=chat_inbox, values={"is_active": False})
    assert widget(chat_inbox).session().status_code == 404
    assert not ChatVisitor.objects.exists()


def test_pages_outside_the_allowed_origins_are_refused(widget, inbox_with_secret):
    inbox = inbox_with_secret(allowed_origins=["https://shop.example.com"]).inbox
    assert widget(inbox).session().status_code == 200
    refused = widget(inbox, origin="https://evil.example.net").session()
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    preflight = Client().options(f"/chat/widget/{inbox.widget_key}/session", headers={"Origin": "https://shop.example.com"})
    assert preflight.status_code == 204 and "X-Visitor-Token" in preflight["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"identity": "me"}', b'{"identity": {"user_id": true}}'])
def test_malformed_session_bodies_get_422(widget, chat_inbox, raw):
    response = widget(chat_inbox).post("/session", raw=raw)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["fields"]
    assert not ChatVisitor.objects.exists()


def test_a_signed_identity_joins_the_existing_customer(widget, inbox_with_secret):
    created = inbox_with_secret()
    known = customer_create(actor=None, display_name="Grace",
                            identities=[{"kind": "email", "value": "grace@example.com"}])
    signature = identity_signature(secret=created.identity_secret, user_id="u-42", email="Grace@Example.com")
    response = widget(created.inbox).session(identity={"user_id": "u-42", "email": "Grace@Example.com", "name": "Grace",
                                                       "signature": signature})
    assert response.status_code == 200, response.content
    assert response.json()["visitor"]["identified"] is True
    visitor = ChatVisitor.objects.get()
    assert visitor.customer_id == known.pk and visitor.external_user_id == "u-42"
    assert CustomerIdentity.objects.filter(customer=known, kind="external", value="u-42").exists()


def test_a_forged_identity_signature_gets_403_and_joins_nobody(widget, inbox_with_secret):
    created = inbox_with_secret()
    victim = customer_create(actor=None, display_name="Victim",
                             identities=[{"kind": "email", "value": "v@example.com"}])
    wrong = identity_signature(secret="not-the-secret", user_id="", email="v@example.com")
    w = widget(created.inbox)
    w.session()
    response = w.session(identity={"email": "v@example.com", "signature": wrong})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "identity_signature_invalid"
    assert ChatVisitor.objects.get().customer_id is None
    assert CustomerIdentity.objects.filter(customer=victim).count() == 1


def test_an_anonymous_visitor_who_chatted_merges_into_the_customer_when_identified(widget, inbox_with_secret,
                                                                                   online_agent):
    online_agent()
    created = inbox_with_secret()
    w = widget(created.inbox)
    w.session()
    visitor = ChatVisitor.objects.get()
    conversation = chat_conversation_start(visitor=visitor, fields={"name": "Anon", "email": "anon@example.com"},
                                           body="Hello?")
    anonymous = conversation.ticket.requester
    assert CustomerIdentity.objects.filter(customer=anonymous, kind="anonymous").exists()
    known = customer_create(actor=None, display_name="Real", identities=[{"kind": "external", "value": "acct-7"}])
    signature = identity_signature(secret=created.identity_secret, user_id="acct-7", email="")
    assert w.session(identity={"user_id": "acct-7", "signature": signature}).status_code == 200
    anonymous.refresh_from_db()
    assert anonymous.merged_into_id == known.pk
    assert Ticket.objects.get(pk=conversation.ticket_id).requester_id == known.pk
    assert ChatVisitor.objects.get().customer_id == known.pk
    assert Touchpoint.objects.filter(customer=known, channel="chat", kind="chat.started").exists()


def _live_chat(widget, inbox):
    w = widget(inbox)
    w.session()
    visitor = ChatVisitor.objects.get(inbox=inbox)
    chat_conversation_start(visitor=visitor, fields={"name": "Lin", "email": "lin@example.com"}, body="Hi")
    return w, visitor


def test_a_visitor_uploads_a_file_into_the_chat_and_downloads_it(widget, chat_inbox, online_agent):
    online_agent()
    w, _visitor = _live_chat(widget, chat_inbox)
    upload = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt", content_type="application/pdf")
    response = w.client.post(f"/chat/widget/{chat_inbox.widget_key}/upload", {"file": upload},
                             headers={"Origin": w.origin, "X-Visitor-Token": w.token})
    assert response.status_code == 201, response.content
    frame = response.json()["message"]
    assert frame["author"] == "visitor" and frame["attachments"][0]["name"] == "receipt.pdf"
    message = Message.objects.get(pk=frame["id"])
    assert message.channel == Channel.CHAT and message.attachments.count() == 1
    url = frame["attachments"][0]["url"]
    assert w.client.get(url, {"token": w.token}).status_code == 200
    assert w.client.get(url, {"token": "forged"}).status_code == 403
    other = widget(chat_inbox)
    other.session()
    assert other.client.get(url, {"token": other.token}).status_code == 404


def test_oversize_and_forbidden_uploads_are_refused(widget, chat_inbox, online_agent, settings):
    online_agent()
    w, _visitor = _live_chat(widget, chat_inbox)
    before = Message.objects.count()
    big = SimpleUploadedFile("big.png", b"x" * (MAX_UPLOAD_BYTES + 1), content_type="image/png")
    response = w.client.post(f"/chat/widget/{chat_inbox.widget_key}/upload", {"file": big},
                             headers={"Origin": w.origin, "X-Visitor-Token": w.token})
    assert response.status_code == 413 and response.json()["error"]["fields"]["file"]
    exe = SimpleUploadedFile("setup.exe", b"MZ...", content_type="application/x-msdownload")
    response = w.client.post(f"/chat/widget/{chat_inbox.widget_key}/upload", {"file": exe},
                             headers={"Origin": w.origin, "X-Visitor-Token": w.token})
    assert response.status_code == 422 and "file" in response.json()["error"]["fields"]
    response = w.client.post(f"/chat/widget/{chat_inbox.widget_key}/upload", {},
                             headers={"Origin": w.origin, "X-Visitor-Token": w.token})
    assert response.status_code == 422
    response = w.client.post(f"/chat/widget/{chat_inbox.widget_key}/upload", {"file": exe},
                             headers={"Origin": w.origin})
    assert response.status_code == 403
    assert Message.objects.count() == before


def test_leaving_a_message_opens_a_web_ticket_and_sends_the_confirmation(widget, chat_inbox,
                                                                        django_capture_on_commit_callbacks):
    w = widget(chat_inbox)
    w.session()
    with django_capture_on_commit_callbacks(execute=True):
        response = w.post("/offline", {"visitor_token": w.token, "name": "Omar", "email": "omar@example.com",
                                       "message": "Call me back about my order"})
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["ticket_id"])
    assert ticket.channel == Channel.WEB and ticket.requester.name == "Omar"
    assert "pricing" in ticket.messages.get().body_text
    assert [m.to for m in mail.outbox] == [["omar@example.com"]]
    assert ChatVisitor.objects.get().customer_id == ticket.requester_id
    assert Touchpoint.objects.filter(customer=ticket.requester, kind="chat.message_left", channel="chat").exists()


def test_leaving_a_message_with_bad_fields_changes_nothing(widget, chat_inbox):
    w = widget(chat_inbox)
    response = w.post("/offline", {"name": "Omar", "email": "not-an-address", "message": "Hi"})
    assert response.status_code == 422 and "email" in response.json()["error"]["fields"]
    response = w.post("/offline", {"name": "Omar", "email": "o@example.com", "message": ""})
    assert response.status_code == 422 and "message" in response.json()["error"]["fields"]
    response = w.post("/offline", {})
    assert set(response.json()["error"]["fields"]) == {"name", "email", "message"}
    assert not Ticket.objects.exists() and not mail.outbox
    assert not Customer.objects.exists()
    assert not ChatConversation.objects.exists()
