"""Ticket lifecycle: create, update with validation, replies, reopen, follow-up, merge, split, audit,
touchpoints and restricted-team visibility."""

from __future__ import annotations

import pytest

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cx.core.models import AuditEvent
from cx.journeys.models import Touchpoint
from cx.tickets.hooks import TicketChange, register_ticket_observer
from cx.tickets.models import CustomField, Message, StatusCategory, Ticket, TicketStatus
from cx.tickets.selectors import queue_page, ticket_get_for
from cx.tickets.services import (
    message_split,
    ticket_create_by_agent,
    ticket_customer_reply,
    ticket_merge,
    ticket_reply,
    ticket_update,
)


def _status(category: str) -> TicketStatus:
    return TicketStatus.objects.get(category=category, is_default=True)


def _kinds(customer) -> list[str]:
    return list(Touchpoint.objects.filter(customer=customer).order_by("id").values_list("kind", flat=True))


def test_a_customer_ticket_starts_new_and_writes_a_support_touchpoint(open_ticket, requester):
    ticket = open_ticket()
    assert ticket.status_category == StatusCategory.NEW
    assert ticket.messages.get().author_type == "customer"
    touchpoint = Touchpoint.objects.get(customer=requester)
    assert (touchpoint.kind, touchpoint.stage, touchpoint.channel) == ("ticket.created", "support", "email")
    assert AuditEvent.objects.filter(target_type="ticket", target_id=ticket.pk, action="ticket.created").exists()


def test_reply_opens_assigns_and_sets_first_response(open_ticket, agent_user, requester):
    ticket = open_ticket()
    ticket_reply(actor=agent_user, ticket=ticket, body="Hi Rita, let me check.")
    ticket.refresh_from_db()
    assert ticket.status_category == StatusCategory.OPEN
    assert ticket.assignee == agent_user
    assert ticket.first_response_at is not None
    assert "ticket.agent_replied" in _kinds(requester)


def test_internal_notes_are_not_a_response(open_ticket, agent_user, requester):
    ticket = open_ticket()
    ticket_reply(actor=agent_user, ticket=ticket, body="Checking with payments.", visibility="internal")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None and ticket.status_category == StatusCategory.NEW
    assert "ticket.agent_replied" not in _kinds(requester)


def test_solving_then_a_customer_reply_reopens(open_ticket, agent_user, requester):
    ticket = open_ticket()
    ticket_reply(actor=agent_user, ticket=ticket, body="Fixed.", status_id=_status("solved").pk)
    ticket.refresh_from_db()
    assert ticket.status_category == StatusCategory.SOLVED and ticket.solved_at is not None
    ticket_customer_reply(ticket=ticket, customer=requester, body="Still broken!", channel="email")
    ticket.refresh_from_db()
    assert ticket.status_category == StatusCategory.OPEN and ticket.solved_at is None
    kinds = _kinds(requester)
    assert kinds.index("ticket.solved") < kinds.index("ticket.customer_replied") < kinds.index("ticket.reopened")


def test_a_reply_to_a_closed_ticket_starts_a_follow_up(open_ticket, agent_user, requester):
    ticket = open_ticket()
    ticket_update(actor=agent_user, ticket=ticket, changes={"status_id": _status("closed").pk})
    message = ticket_customer_reply(ticket=ticket, customer=requester, body="One more thing", channel="email")
    assert message.ticket_id != ticket.pk
    assert message.ticket.subject.startswith("Follow-up: ")
    ticket.refresh_from_db()
    assert ticket.status_category == StatusCategory.CLOSED


def test_update_validates_everything_before_writing(open_ticket, agent_user, make_user):
    ticket = open_ticket()
    team = team_create(actor=None, name="Billing")
    outsider = make_user(Role.AGENT, "outsider")
    before = (Ticket.objects.get(pk=ticket.pk).priority, AuditEvent.objects.count())
    cases = [
        ({"status_id": 99999}, "status_id"),
        ({"priority": "whenever"}, "priority"),
        ({"team_id": team.pk, "assignee_id": outsider.pk, "priority": "high"}, "assignee_id"),
        ({"custom_fields": {"nope": 1}}, "custom_fields.nope"),
        ({"colour": "red"}, "colour"),
        ({"subject": ""}, "subject"),
    ]
    for changes, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            ticket_update(actor=agent_user, ticket=ticket, changes=changes)
        assert field in exc.value.fields, changes
    assert (Ticket.objects.get(pk=ticket.pk).priority, AuditEvent.objects.count()) == before


def test_typed_custom_fields_and_required_on_solve(open_ticket, agent_user):
    CustomField.objects.create(key="order_number", label="Order number", field_type="number",
                               required_on_solve=True)
    CustomField.objects.create(key="plan", label="Plan", field_type="dropdown", options=["free", "pro"])
    ticket = open_ticket()
    with pytest.raises(ValidationFailed) as exc:
        ticket_update(actor=agent_user, ticket=ticket, changes={"custom_fields": {"order_number": "abc"}})
    assert exc.value.fields == {"custom_fields.order_number": "must be a number"}
    with pytest.raises(ValidationFailed) as exc:
        ticket_update(actor=agent_user, ticket=ticket, changes={"status_id": _status("solved").pk})
    assert "custom_fields.order_number" in exc.value.fields
    ticket_update(actor=agent_user, ticket=ticket, changes={"custom_fields": {"order_number": "1042", "plan": "pro"}})
    ticket = ticket_update(actor=agent_user, ticket=ticket, changes={"status_id": _status("solved").pk})
    assert ticket.custom_fields == {"order_number": 1042, "plan": "pro"}
    assert ticket.status_category == StatusCategory.SOLVED


def test_every_change_is_in_the_audit_trail(open_ticket, agent_user):
    ticket = open_ticket()
    ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "urgent", "tags": ["VIP", "card"]})
    event = AuditEvent.objects.filter(target_type="ticket", target_id=ticket.pk, action="ticket.updated").get()
    assert event.actor == agent_user
    assert event.data["changes"]["priority"] == ["normal", "urgent"]
    assert event.data["changes"]["tags"] == [[], ["card", "vip"]]


def test_analysts_cannot_change_tickets(open_ticket, analyst_user):
    ticket = open_ticket()
    with pytest.raises(PermissionDenied):
        ticket_update(actor=analyst_user, ticket=ticket, changes={"priority": "high"})
    with pytest.raises(PermissionDenied):
        ticket_reply(actor=analyst_user, ticket=ticket, body="hello")


def test_merge_moves_the_conversation_and_later_replies_land_in_the_survivor(open_ticket, agent_user, requester):
    first = open_ticket("Card declined")
    second = open_ticket("Card declined again")
    ticket_merge(actor=agent_user, source=second, target=first)
    second.refresh_from_db()
    assert second.merged_into_id == first.pk and second.status_category == StatusCategory.CLOSED
    assert first.messages.filter(author_type="customer").count() == 2
    message = ticket_customer_reply(ticket=second, customer=requester, body="Any news?", channel="email")
    assert message.ticket_id == first.pk
    with pytest.raises(Conflict):
        ticket_merge(actor=agent_user, source=second, target=first)


def test_split_moves_one_customer_message_into_a_new_ticket(open_ticket, agent_user, requester):
    ticket = open_ticket("Two questions")
    extra = ticket_customer_reply(ticket=ticket, customer=requester, body="Also: how do I close my account?",
                                  channel="email")
    new_ticket = message_split(actor=agent_user, message=extra)
    assert new_ticket.subject == "Also: how do I close my account?"
    assert Message.objects.get(pk=extra.pk).ticket_id == new_ticket.pk
    assert ticket.messages.filter(author_type="customer").count() == 1


def test_restricted_team_tickets_are_invisible_to_outsiders(open_ticket, agent_user, make_user, admin_user):
    hr = team_create(actor=None, name="HR", is_restricted=True)
    insider = make_user(Role.AGENT, "insider")
    team_add_member(actor=None, team=hr, user=insider)
    ticket = open_ticket("Payroll question")
    ticket_update(actor=insider, ticket=ticket, changes={"team_id": hr.pk})
    with pytest.raises(NotFound):
        ticket_get_for(actor=agent_user, ticket_id=ticket.pk)
    assert ticket_get_for(actor=insider, ticket_id=ticket.pk).pk == ticket.pk
    assert ticket_get_for(actor=admin_user, ticket_id=ticket.pk).pk == ticket.pk
    assert ticket.pk not in [t.pk for t in queue_page(actor=agent_user, queue="all").items]


def test_queues_page_with_a_cursor(open_ticket, agent_user):
    ids = {open_ticket(f"Question {n}").pk for n in range(7)}
    seen, cursor = [], None
    while True:
        page = queue_page(actor=agent_user, queue="unassigned", cursor=cursor, limit=3)
        seen += [t.pk for t in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert set(seen) == ids and len(seen) == 7


def test_observers_hear_every_change_inside_the_transaction(open_ticket, agent_user):
    heard: list[TicketChange] = []
    register_ticket_observer("test-recorder", heard.append)
    try:
        ticket = open_ticket()
        ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "high"})
        ticket_reply(actor=agent_user, ticket=ticket, body="On it")
    finally:
        from cx.tickets import hooks

        hooks._observers.pop("test-recorder")
    assert [c.event for c in heard] == ["created", "updated", "replied"]
    assert heard[1].changes == {"priority": ["normal", "high"]}


def test_agents_create_tickets_for_customers(agent_user, requester):
    created = ticket_create_by_agent(actor=agent_user, requester=requester, subject="Callback about refund",
                                     body="Called Rita, she wants a refund.", channel="phone",
                                     assignee_id=agent_user.pk)
    assert created.ticket.status_category == StatusCategory.OPEN
    assert created.ticket.first_response_at is not None
