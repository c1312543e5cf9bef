"""Triggers run on real ticket changes (a customer opens or answers a ticket, an agent updates it) and act
through the tickets services as the automation agent, with loop protection."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cx.accounts.models import Role
from cx.accounts.services import team_create
from cx.automation.models import TicketStatusEntry, TriggerFiring
from cx.automation.services import AUTOMATION_USERNAME, MAX_AUTOMATION_DEPTH, trigger_create
from cx.core.models import AuditEvent
from cx.customers.services import customer_create
from cx.notifications.models import Notification
from cx.tickets.models import CustomField, Message, StatusCategory, Ticket
from cx.tickets.services import ticket_customer_reply, ticket_reply, ticket_update


def _tags(ticket: Ticket) -> list[str]:
    return sorted(Ticket.objects.get(pk=ticket.pk).tags.values_list("name", flat=True))


def _trigger(admin, name, conditions, actions, **extra):
    return trigger_create(actor=admin, values={"name": name, "conditions": conditions, "actions": actions, **extra})


def test_a_trigger_on_create_sets_the_team_and_a_tag(admin_user, open_ticket, billing_team):
    _trigger(admin_user, "Billing emails to Billing",
             {"all": [{"field": "event", "op": "is", "value": "created"},
                      {"field": "channel", "op": "is", "value": "email"},
                      {"field": "subject", "op": "contains", "value": "card"}]},
             [{"type": "set_team", "team_id": billing_team.pk}, {"type": "add_tags", "tags": ["Payments"]}])

    ticket = open_ticket(subject="My card was declined")
    other = open_ticket(subject="Where is my parcel?")

    ticket.refresh_from_db()
    assert ticket.team == billing_team
    assert _tags(ticket) == ["payments"]
    other.refresh_from_db()
    assert other.team is None and _tags(other) == []
    event = AuditEvent.objects.get(target_type="ticket", target_id=ticket.pk, action="ticket.updated")
    assert event.actor_label == AUTOMATION_USERNAME
    assert AuditEvent.objects.filter(target_id=ticket.pk, action="automation.fired",
                                     data__trigger="Billing emails to Billing").exists()


def test_a_customer_reply_mentioning_a_refund_adds_a_tag(admin_user, open_ticket, requester, agent_user):
    _trigger(admin_user, "Refund requests",
             {"all": [{"field": "event", "op": "is", "value": "customer_replied"},
                      {"field": "body", "op": "matches", "value": r"\brefund"}]},
             [{"type": "add_tags", "tags": ["refund"]}])
    ticket = open_ticket(body="I would like a refund please")  # created, not a reply: no tag yet
    assert _tags(ticket) == []
    ticket_reply(actor=agent_user, ticket=ticket, body="Could you tell me the order number?")

    ticket_customer_reply(ticket=ticket, customer=requester, body="It is 1234. I still want a REFUND.",
                          channel="email")

    assert _tags(ticket) == ["refund"]


def test_a_templated_reply_renders_placeholders_and_leaves_the_ticket_unassigned(admin_user, open_ticket):
    _trigger(admin_user, "Acknowledge",
             {"all": [{"field": "event", "op": "is", "value": "created"}]},
             [{"type": "send_reply",
               "body": "Hi {{customer.first_name}}, we got ticket #{{ticket.id}} ({{ticket.subject}}). "
                       "{{agent.first_name|Our team}} will answer soon."}])

    ticket = open_ticket(subject="Broken {{agent.name}} widget")

    reply = Message.objects.get(ticket=ticket, visibility="public", author_type="system")
    assert reply.body_text == (f"Hi Rita, we got ticket #{ticket.pk} (Broken {{{{agent.name}}}} widget). "
                               "Our team will answer soon.")
    assert reply.author_agent.username == AUTOMATION_USERNAME
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.first_response_at is None  # an automated answer is no response


def test_a_trigger_that_would_set_itself_off_again_acts_once(admin_user, agent_user, open_ticket):
    trigger = _trigger(admin_user, "Escalate on any priority change",
                       {"all": [{"field": "priority", "op": "changed"}]},
                       [{"type": "set_priority", "priority": "urgent"},
                        {"type": "add_internal_note", "body": "Escalated by a trigger."}])
    ticket = open_ticket()

    ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "high"})

    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    assert TriggerFiring.objects.filter(trigger=trigger, ticket=ticket).count() == 1
    assert Message.objects.filter(ticket=ticket, body_text="Escalated by a trigger.").count() == 1
    skipped = AuditEvent.objects.get(target_id=ticket.pk, action="automation.skipped_loop")
    assert skipped.data["trigger_id"] == trigger.pk and skipped.data["depth"] == 1


def test_two_triggers_that_undo_each_other_stop(admin_user, agent_user, open_ticket):
    up = _trigger(admin_user, "Up", {"all": [{"field": "priority", "op": "changed"}]},
                  [{"type": "set_priority", "priority": "high"}])
    down = _trigger(admin_user, "Down", {"all": [{"field": "priority", "op": "changed"}]},
                    [{"type": "set_priority", "priority": "low"}])
    ticket = open_ticket()

    ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "urgent"})

    ticket.refresh_from_db()
    assert ticket.priority == "low"  # Up acted, Down answered it, and neither acted twice
    assert TriggerFiring.objects.filter(trigger=up).count() == 1
    assert TriggerFiring.objects.filter(trigger=down).count() == 1


def test_a_long_chain_of_triggers_stops_at_the_depth_limit(admin_user, agent_user, open_ticket):
    for step in range(MAX_AUTOMATION_DEPTH + 2):
        _trigger(admin_user, f"Step {step}", {"all": [{"field": "tags", "op": "changed_to", "value": f"s{step}"}]},
                 [{"type": "add_tags", "tags": [f"s{step + 1}"]}])
    ticket = open_ticket()

    ticket_update(actor=agent_user, ticket=ticket, changes={"tags": ["s0"]})

    assert _tags(ticket) == [f"s{i}" for i in range(MAX_AUTOMATION_DEPTH + 1)]
    stopped = AuditEvent.objects.get(target_id=ticket.pk, action="automation.loop_stopped")
    assert stopped.data["depth"] == MAX_AUTOMATION_DEPTH


def test_fire_once_per_ticket_acts_only_the_first_time(admin_user, agent_user, open_ticket):
    trigger = _trigger(admin_user, "First update note", {"all": [{"field": "event", "op": "is", "value": "updated"}]},
                       [{"type": "add_internal_note", "body": "First change seen."}], fire_once_per_ticket=True)
    ticket = open_ticket()
    ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "high"})
    ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "low"})

    assert TriggerFiring.objects.filter(trigger=trigger, ticket=ticket).count() == 1
    assert Message.objects.filter(ticket=ticket, body_text="First change seen.").count() == 1


def test_a_failing_trigger_never_loses_the_customers_message(admin_user, make_user, open_ticket, billing_team):
    outsider = make_user(Role.AGENT, "outsider")
    _trigger(admin_user, "Broken", {"all": [{"field": "event", "op": "is", "value": "created"}]},
             [{"type": "set_team", "team_id": billing_team.pk}, {"type": "assign", "assignee_id": outsider.pk}])

    ticket = open_ticket(subject="Please help")

    ticket.refresh_from_db()
    assert ticket.messages.filter(author_type="customer").count() == 1
    assert ticket.team is None and ticket.assignee is None  # the trigger's changes were rolled back together
    firing = TriggerFiring.objects.get(ticket=ticket)
    assert firing.outcome == "failed" and "not a member of Billing" in firing.error
    assert AuditEvent.objects.filter(target_id=ticket.pk, action="automation.failed").exists()


def test_conditions_on_the_requester_and_custom_fields(admin_user, agent_user, open_ticket):
    CustomField.objects.create(key="plan", label="Plan", field_type="dropdown", options=["free", "pro"])
    vip = customer_create(actor=None, display_name="Victor", first_name="Victor",
                          identities=[{"kind": "email", "value": "victor@bigcorp.example"}])
    _trigger(admin_user, "Pro customers from bigcorp",
             {"all": [{"field": "requester.email", "op": "matches", "value": r"@bigcorp\.example$"},
                      {"field": "custom_fields.plan", "op": "changed_to", "value": "pro"}]},
             [{"type": "set_priority", "priority": "high"}, {"type": "follow", "agent_ids": [agent_user.pk]}])
    theirs, ours = open_ticket(customer=vip), open_ticket()

    for ticket in (theirs, ours):
        ticket_update(actor=admin_user, ticket=ticket, changes={"custom_fields": {"plan": "pro"}})

    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert theirs.priority == "high" and list(theirs.followers.all()) == [agent_user]
    assert ours.priority == "normal"


def test_notify_tells_the_assignee_through_notifications(admin_user, agent_user, open_ticket):
    _trigger(admin_user, "Tell the assignee about urgent tickets",
             {"all": [{"field": "priority", "op": "changed_to", "value": "urgent"}]},
             [{"type": "notify", "recipients": ["assignee"],
               "message": "Ticket #{{ticket.id}} from {{customer.name}} is now urgent."}])
    ticket = open_ticket()
    ticket_update(actor=admin_user, ticket=ticket, changes={"assignee_id": agent_user.pk})

    ticket_update(actor=admin_user, ticket=ticket, changes={"priority": "urgent"})

    notification = Notification.objects.get(recipient=agent_user, kind="automation")
    assert notification.ticket_id == ticket.pk
    assert notification.body == f"Ticket #{ticket.pk} from Rita Requester is now urgent."
    assert AuditEvent.objects.get(target_id=ticket.pk, action="automation.notified").data["recipient_ids"] == [
        agent_user.pk]


def test_triggers_also_act_on_tickets_of_restricted_teams(admin_user, agent_user, open_ticket):
    secret = team_create(actor=None, name="Security", is_restricted=True)
    _trigger(admin_user, "Tag security", {"all": [{"field": "team_id", "op": "is", "value": secret.pk}]},
             [{"type": "add_tags", "tags": ["security"]}])
    ticket = open_ticket()

    ticket_update(actor=admin_user, ticket=ticket, changes={"team_id": secret.pk})

    assert _tags(ticket) == ["security"]


def test_inactive_triggers_do_nothing(admin_user, open_ticket):
    _trigger(admin_user, "Off", {"all": [{"field": "event", "op": "is", "value": "created"}]},
             [{"type": "add_tags", "tags": ["x"]}], is_active=False)
    assert _tags(open_ticket()) == []


def test_the_status_clock_restarts_when_the_status_changes(agent_user, open_ticket, status_of):
    ticket = open_ticket()
    entry = TicketStatusEntry.objects.get(ticket=ticket)
    assert entry.entered_at == ticket.created_at and entry.status.category == StatusCategory.NEW

    ticket_update(actor=agent_user, ticket=ticket, changes={"status_id": status_of("pending").pk})

    entry.refresh_from_db()
    assert entry.status.category == StatusCategory.PENDING and entry.entered_at > ticket.created_at


@pytest.mark.parametrize("event", ["replied", "noted"])
def test_agent_messages_are_events_too(admin_user, agent_user, open_ticket, event):
    _trigger(admin_user, "Seen", {"all": [{"field": "event", "op": "is", "value": event},
                                          {"field": "body", "op": "contains", "value": "escalate"}]},
             [{"type": "add_tags", "tags": ["escalated"]}])
    ticket = open_ticket()
    ticket_reply(actor=agent_user, ticket=ticket, body="Please escalate this.",
                 visibility="public" if event == "replied" else "internal")
    assert _tags(ticket) == ["escalated"]


def test_moving_to_a_team_hands_the_ticket_to_that_team(admin_user, agent_user, make_user, open_ticket,
                                                        billing_team):
    outsider = make_user(Role.AGENT, "outsider")
    _trigger(admin_user, "Invoices to Billing", {"all": [{"field": "tags", "op": "changed_to", "value": "invoice"}]},
             [{"type": "set_team", "team_id": billing_team.pk}])
    ticket = open_ticket()
    ticket_update(actor=admin_user, ticket=ticket, changes={"assignee_id": outsider.pk})

    ticket_update(actor=outsider, ticket=ticket, changes={"tags": ["invoice"]})

    ticket.refresh_from_db()
    assert ticket.team == billing_team and ticket.assignee is None


def test_ticket_changes_cost_the_same_queries_with_many_triggers_that_do_not_match(admin_user, agent_user,
                                                                                   open_ticket):
    ticket = open_ticket()

    def queries_for_one_update(priority: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            ticket_update(actor=agent_user, ticket=ticket, changes={"priority": priority})
        return len(ctx.captured_queries)

    _trigger(admin_user, "T0", {"all": [{"field": "channel", "op": "is", "value": "chat"}]},
             [{"type": "add_tags", "tags": ["chat"]}])
    one = queries_for_one_update("high")
    for n in range(1, 10):
        _trigger(admin_user, f"T{n}", {"all": [{"field": "channel", "op": "is", "value": "chat"}]},
                 [{"type": "add_tags", "tags": ["chat"]}])
    assert queries_for_one_update("low") == one
