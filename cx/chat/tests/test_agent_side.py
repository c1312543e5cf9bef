"""The agent's side through the pages and the API: the console's queue, accept, transfer to an agent or a
team, end (the ticket keeps the transcript), the chat box on the ticket page (current page, touchpoints,
read receipts), proactive messages, the concurrent chat limit and routing capacity."""

from __future__ import annotations

import pytest
from django.test import Client

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.chat.models import ChatConversation, ChatVisitor, ConversationStatus
from cx.chat.services import chat_accept, chat_conversation_start, chat_inbox_update, chat_visitor_message
from cx.core.audit import AuditEvent
from cx.journeys.models import Touchpoint
from cx.routing.services import routing_rule_create
from cx.tickets.models import Message, Ticket, Visibility
from cx.tickets.services import ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def start_chat(widget, chat_inbox):
    def _start(name: str = "Lin", body: str = "Hello", inbox=None):
        w = widget(inbox or chat_inbox)
        w.session(page_url="https://shop.example.com/cart", page_title="Your cart")
        visitor = ChatVisitor.objects.filter(inbox=inbox or chat_inbox).order_by("-pk").first()
        return chat_conversation_start(visitor=visitor, fields={"name": name, "email": f"{name.lower()}@example.com"},
                                       body=body)

    return _start


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_waiting_chats_show_in_the_console_and_an_agent_accepts_one(online_agent, start_chat):
    agent = online_agent("sam")
    conversation = start_chat()
    client = _login(agent)
    page = client.get("/chat/")
    assert page.status_code == 200
    assert b"Lin" in page.content and b"Accept chat with Lin" in page.content and b"Your cart" in page.content
    assert b'data-chat-socket="/ws/chat/agents/"' in page.content
    accepted = client.post(f"/chat/conversations/{conversation.pk}/accept/")
    assert accepted.status_code == 302 and accepted["Location"] == f"/tickets/{conversation.ticket_id}/"
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.ACTIVE and conversation.agent_id == agent.pk
    assert Ticket.objects.get(pk=conversation.ticket_id).assignee_id == agent.pk
    again = client.post(f"/chat/conversations/{conversation.pk}/accept/")
    assert again.status_code == 409
    assert Touchpoint.objects.filter(kind="chat.accepted", channel="chat").exists()


def test_the_ticket_page_shows_the_chat_box_with_the_visitors_page_and_touchpoints(online_agent, start_chat):
    agent = online_agent("sam")
    conversation = start_chat()
    chat_accept(actor=agent, conversation=conversation)
    client = _login(agent)
    detail = client.get(f"/tickets/{conversation.ticket_id}/")
    assert f'hx-get="/chat/tickets/{conversation.ticket_id}/panel/"'.encode() in detail.content
    panel = client.get(f"/chat/tickets/{conversation.ticket_id}/panel/")
    assert panel.status_code == 200
    text = panel.content.decode()
    assert "Your cart" in text and "https://shop.example.com/cart" in text
    assert "chat.started" in text and "End chat" in text and "Transfer" in text
    conversation.refresh_from_db()
    assert conversation.agent_read_message_id == Message.objects.filter(ticket_id=conversation.ticket_id).first().pk

    reply = ticket_reply(actor=agent, ticket=conversation.ticket, body="Hi, I'm Sam")
    ChatConversation.objects.filter(pk=conversation.pk).update(visitor_read_message_id=reply.pk)
    assert "Seen by the visitor" in client.get(f"/chat/tickets/{conversation.ticket_id}/panel/").content.decode()


def test_the_chat_box_is_empty_on_other_tickets(online_agent, start_chat, admin_user):
    from cx.customers.services import customer_create
    from cx.tickets.services import ticket_create_by_agent

    agent = online_agent("sam")
    customer = customer_create(actor=None, display_name="Email person")
    ticket = ticket_create_by_agent(actor=admin_user, requester=customer, subject="Mail", body="Hi").ticket
    client = _login(agent)
    assert b"/chat/tickets/" not in client.get(f"/tickets/{ticket.pk}/").content
    assert client.get(f"/chat/tickets/{ticket.pk}/panel/").content == b""


def test_transfer_to_an_agent_and_to_a_team_and_end(online_agent, start_chat):
    sam, kim = online_agent("sam"), online_agent("kim")
    billing = team_create(actor=None, name="Billing")
    team_add_member(actor=None, team=billing, user=kim)
    conversation = start_chat()
    chat_accept(actor=sam, conversation=conversation)
    client = _login(sam)
    moved = client.post(f"/chat/conversations/{conversation.pk}/transfer/", {"agent_id": kim.pk})
    assert moved.status_code == 302
    conversation.refresh_from_db()
    assert conversation.agent_id == kim.pk and conversation.status == ConversationStatus.ACTIVE
    assert Ticket.objects.get(pk=conversation.ticket_id).assignee_id == kim.pk
    note = Message.objects.filter(ticket_id=conversation.ticket_id, visibility=Visibility.INTERNAL).last()
    assert "transferred by Sam" in note.body_text.lower() or "transferred by" in note.body_text

    kim_client = _login(kim)
    to_team = kim_client.post(f"/chat/conversations/{conversation.pk}/transfer/", {"team_id": billing.pk})
    assert to_team.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.WAITING and conversation.agent_id is None
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    assert ticket.team_id == billing.pk and ticket.assignee_id is None

    neither = kim_client.post(f"/chat/conversations/{conversation.pk}/transfer/", {})
    assert neither.status_code == 422
    both = kim_client.post(f"/chat/conversations/{conversation.pk}/transfer/",
                           {"agent_id": sam.pk, "team_id": billing.pk})
    assert both.status_code == 422

    chat_accept(actor=kim, conversation=conversation)
    ended = kim_client.post(f"/chat/conversations/{conversation.pk}/end/")
    assert ended.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.ENDED and conversation.ended_by == "agent"
    transcript = list(Message.objects.filter(ticket_id=conversation.ticket_id, visibility=Visibility.PUBLIC)
                      .values_list("body_text", flat=True))
    assert transcript == ["Hello"]
    assert kim_client.post(f"/chat/conversations/{conversation.pk}/end/").status_code == 409
    assert Touchpoint.objects.filter(kind="chat.ended", channel="chat").exists()
    assert AuditEvent.objects.filter(action="chat.transferred").count() == 2


def test_the_concurrent_chat_limit_stops_accepting_more(online_agent, start_chat, admin_user, chat_inbox):
    chat_inbox_update(actor=admin_user, inbox=chat_inbox, values={"agent_chat_limit": 1})
    sam = online_agent("sam")
    first, second = start_chat("Ann"), start_chat("Bob")
    client = _login(sam)
    assert client.post(f"/chat/conversations/{first.pk}/accept/").status_code == 302
    refused = client.post(f"/chat/conversations/{second.pk}/accept/")
    assert refused.status_code == 409 and b"limit is 1" in refused.content
    second.refresh_from_db()
    assert second.status == ConversationStatus.WAITING


def test_routing_gives_chat_tickets_only_to_agents_below_the_chat_limit(online_agent, widget, admin_user,
                                                                        chat_inbox, start_chat):
    chat_inbox_update(actor=admin_user, inbox=chat_inbox, values={"agent_chat_limit": 1})
    team = team_create(actor=None, name="Chat team")
    sam, kim = online_agent("sam"), online_agent("kim")
    for agent in (sam, kim):
        team_add_member(actor=None, team=team, user=agent)
    routing_rule_create(actor=admin_user, values={"name": "Chats", "channels": ["chat"], "team_id": team.pk,
                                                  "method": "round_robin"})
    first = start_chat("Ann")
    first_agent = Ticket.objects.get(pk=first.ticket_id).assignee
    chat_accept(actor=first_agent, conversation=first)
    second = start_chat("Bob")
    second_agent = Ticket.objects.get(pk=second.ticket_id).assignee_id
    assert {first_agent.pk, second_agent} == {sam.pk, kim.pk}
    chat_accept(actor=Ticket.objects.get(pk=second.ticket_id).assignee, conversation=second)
    third = start_chat("Cy")
    assert Ticket.objects.get(pk=third.ticket_id).assignee_id is None  # both agents are at their limit


def test_proactive_message_from_the_console(online_agent, widget, chat_inbox, django_capture_on_commit_callbacks):
    sam = online_agent("sam")
    w = widget(chat_inbox)
    w.session()
    visitor = ChatVisitor.objects.get()
    client = _login(sam)
    assert b"Visitors on your sites now" in client.get("/chat/").content
    assert f"/chat/visitors/{visitor.pk}/proactive/".encode() in client.get("/chat/queue/").content
    response = client.post(f"/chat/visitors/{visitor.pk}/proactive/", {"body": "Need a hand with pricing?"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="chat.proactive_sent").exists()
    assert client.post(f"/chat/visitors/{visitor.pk}/proactive/", {"body": ""}).status_code == 422
    assert client.post("/chat/visitors/999999/proactive/", {"body": "hi"}).status_code == 404


def test_the_api_accepts_transfers_and_ends_chats(api_client, token_for, online_agent, start_chat):
    sam, kim = online_agent("sam"), online_agent("kim")
    conversation = start_chat()
    api = api_client(token_for(sam))
    queue = api.get("/api/v1/chat/queue").json()
    assert [c["id"] for c in queue["waiting"]] == [conversation.pk]
    accepted = api.post(f"/api/v1/chat/conversations/{conversation.pk}/accept")
    assert accepted.status_code == 200 and accepted.json()["agent_id"] == sam.pk
    assert api.post(f"/api/v1/chat/conversations/{conversation.pk}/transfer", {"agent_id": "x"}).status_code == 422
    assert api.post(f"/api/v1/chat/conversations/{conversation.pk}/transfer", {"colour": 1}).status_code == 422
    moved = api.post(f"/api/v1/chat/conversations/{conversation.pk}/transfer", {"agent_id": kim.pk})
    assert moved.status_code == 200 and moved.json()["agent_id"] == kim.pk
    ended = api_client(token_for(kim)).post(f"/api/v1/chat/conversations/{conversation.pk}/end")
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert api.post("/api/v1/chat/conversations/999/accept").status_code == 404
    reader = api_client(token_for(online_agent("ria", Role.ANALYST), "read"))
    assert reader.post(f"/api/v1/chat/conversations/{conversation.pk}/accept").status_code == 403


def test_internal_notes_never_reach_the_widget(online_agent, start_chat, widget, chat_inbox):
    sam = online_agent("sam")
    conversation = start_chat()
    chat_accept(actor=sam, conversation=conversation)
    ticket_reply(actor=sam, ticket=conversation.ticket, body="VIP, be nice", visibility=Visibility.INTERNAL)
    ticket_reply(actor=sam, ticket=conversation.ticket, body="Happy to help")
    chat_visitor_message(visitor=conversation.visitor, body="Thanks")
    w = widget(chat_inbox)
    w.token = ""
    from cx.chat.identity import visitor_token_issue

    w.token = visitor_token_issue(inbox_id=chat_inbox.pk, visitor_public_id=conversation.visitor.public_id)
    history = w.session().json()["conversation"]["messages"]
    assert [m["body"] for m in history] == ["Hello", "Happy to help", "Thanks"]
    assert [m["author"] for m in history] == ["visitor", "agent", "visitor"]
