"""Who is told what: assignment, customer replies, @mentions, per-agent preferences, email after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from cx.accounts.services import team_add_member, team_create
from cx.core.errors import ValidationFailed
from cx.notifications.models import Notification, NotificationKind, NotificationPreference
from cx.notifications.selectors import notification_unread_count
from cx.notifications.services import notification_preferences_update, notify_agent
from cx.notifications.tasks import send_notification_email
from cx.tickets.services import ticket_create_by_agent, ticket_customer_reply, ticket_reply, ticket_update


def _kinds(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", flat=True))


def test_assigning_a_ticket_to_someone_else_notifies_the_assignee(open_ticket, agent_user, bea):
    ticket = open_ticket()
    ticket_update(actor=agent_user, ticket=ticket, changes={"assignee_id": bea.pk})

    notification = Notification.objects.get(recipient=bea)
    assert notification.kind == NotificationKind.TICKET_ASSIGNED
    assert notification.ticket_id == ticket.pk
    assert notification.title == f"Ticket #{ticket.pk} was assigned to you"
    assert "by Alex" in notification.body
    assert _kinds(agent_user) == []


def test_a_ticket_created_for_another_agent_notifies_them(requester, agent_user, bea):
    created = ticket_create_by_agent(actor=agent_user, requester=requester, subject="Call back about refund",
                                     body="Rita called.", assignee_id=bea.pk)
    assert Notification.objects.get(recipient=bea).ticket_id == created.ticket.pk


def test_taking_a_ticket_yourself_notifies_nobody(open_ticket, agent_user):
    ticket = open_ticket()
    ticket_update(actor=agent_user, ticket=ticket, changes={"assignee_id": agent_user.pk})
    ticket_reply(actor=agent_user, ticket=ticket, body="On it.")
    assert not Notification.objects.exists()


def test_a_customer_reply_notifies_the_assignee_and_followers_once_each(open_ticket, requester, agent_user, bea,
                                                                        make_user):
    carl = make_user(username="carl")
    ticket = open_ticket()
    ticket_update(actor=agent_user, ticket=ticket,
                  changes={"assignee_id": agent_user.pk, "follower_ids": [agent_user.pk, bea.pk, carl.pk]})
    ticket_customer_reply(ticket=ticket, customer=requester, body="Any news about my card?", channel="email")

    for agent in (agent_user, bea, carl):
        replied = Notification.objects.filter(recipient=agent, kind=NotificationKind.CUSTOMER_REPLIED)
        assert replied.count() == 1
    notification = Notification.objects.get(recipient=bea, kind=NotificationKind.CUSTOMER_REPLIED)
    assert notification.title.startswith(f"Rita Requester replied on #{ticket.pk}")
    assert notification.body == "Any news about my card?"


def test_followers_outside_a_restricted_team_are_not_told(open_ticket, requester, admin_user, agent_user, bea):
    hr = team_create(actor=admin_user, name="HR", is_restricted=True)
    team_add_member(actor=admin_user, team=hr, user=agent_user)
    ticket = open_ticket("Salary question")
    ticket_update(actor=admin_user, ticket=ticket,
                  changes={"team_id": hr.pk, "assignee_id": agent_user.pk, "follower_ids": [bea.pk]})
    ticket_customer_reply(ticket=ticket, customer=requester, body="Private details", channel="email")

    assert _kinds(agent_user) == [NotificationKind.TICKET_ASSIGNED, NotificationKind.CUSTOMER_REPLIED]
    assert _kinds(bea) == []


def test_a_mention_in_an_internal_note_tells_the_mentioned_agent(open_ticket, agent_user, bea, make_user):
    make_user(username="dora")
    ticket = open_ticket()
    ticket_reply(actor=agent_user, ticket=ticket, visibility="internal",
                 body="@bea, can you check the card? Thanks @alex. Mail me at x@example.com")

    mention = Notification.objects.get(recipient=bea)
    assert mention.kind == NotificationKind.MENTIONED
    assert mention.title.startswith(f"Alex mentioned you on #{ticket.pk}")
    assert _kinds(agent_user) == []  # mentioning yourself tells nobody
    assert Notification.objects.count() == 1


def test_email_goes_out_after_commit_when_the_preference_says_so(agent_user, mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify_agent(recipient=agent_user, kind=NotificationKind.SLA_WARNING,
                                    title="Ticket #7 breaches its first-response target in 10 minutes",
                                    body="Customer: Rita", url="/tickets/7/")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [agent_user.email]
    assert mail.subject == "[cxdesk] Ticket #7 breaches its first-response target in 10 minutes"
    assert "/tickets/7/" in mail.body and "/notifications/preferences/" in mail.body
    notification.refresh_from_db()
    assert notification.emailed_at is not None and notification.in_app


def test_customer_replies_are_not_emailed_by_default(agent_user, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify_agent(recipient=agent_user, kind=NotificationKind.CUSTOMER_REPLIED, title="Rita replied")
    assert mailoutbox == []
    assert notification_unread_count(actor=agent_user) == 1


def test_email_only_preference_mails_without_filling_the_inbox(agent_user, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    notification_preferences_update(actor=agent_user, preferences={
        "ticket_assigned": {"in_app": False, "email": True}})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify_agent(recipient=agent_user, kind=NotificationKind.TICKET_ASSIGNED, title="Ticket #3 is yours")
    assert len(mailoutbox) == 1
    assert notification_unread_count(actor=agent_user) == 0
    assert len(callbacks) == 1  # the email only: nothing is pushed to an inbox the agent switched off


def test_both_channels_off_stores_nothing(agent_user, django_capture_on_commit_callbacks):
    notification_preferences_update(actor=agent_user, preferences={
        "automation": {"in_app": False, "email": False}})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = notify_agent(recipient=agent_user, kind=NotificationKind.AUTOMATION, title="Rule fired")
    assert result is None and callbacks == []
    assert not Notification.objects.exists()


def test_inactive_agents_are_not_notified(agent_user):
    agent_user.is_active = False
    agent_user.save(update_fields=["is_active"])
    assert notify_agent(recipient=agent_user, kind=NotificationKind.AUTOMATION, title="Rule fired") is None


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kind": "gossip"}, "kind"),
    ({"title": "   "}, "title"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "//evil.example/x"}, "url"),
    ({"ticket_id": 999999}, "ticket_id"),
])
def test_bad_notifications_are_refused_and_store_nothing(agent_user, kwargs, field):
    values = {"kind": NotificationKind.AUTOMATION, "title": "Rule fired", **kwargs}
    with pytest.raises(ValidationFailed) as caught:
        notify_agent(recipient=agent_user, **values)
    assert field in caught.value.fields
    assert not Notification.objects.exists()


def test_a_rolled_back_change_sends_nothing(agent_user, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        notify_agent(recipient=agent_user, kind=NotificationKind.MENTIONED, title="Mentioned")
        transaction.set_rollback(True)
    assert callbacks == [] and mailoutbox == []
    assert not Notification.objects.exists()


def test_the_email_task_is_safe_to_run_twice(agent_user, mailoutbox):
    notification = notify_agent(recipient=agent_user, kind=NotificationKind.MENTIONED, title="Mentioned")
    assert send_notification_email.call(notification_id=notification.pk) is True
    assert send_notification_email.call(notification_id=notification.pk) is False
    assert len(mailoutbox) == 1


def test_long_titles_are_shortened_not_refused(agent_user):
    notification = notify_agent(recipient=agent_user, kind=NotificationKind.AUTOMATION, title="x" * 500)
    assert len(notification.title) == 200 and notification.title.endswith("…")


def test_preferences_refuse_unknown_kinds_and_change_nothing(agent_user):
    with pytest.raises(ValidationFailed) as caught:
        notification_preferences_update(actor=agent_user, preferences={
            "ticket_assigned": {"in_app": False, "email": False}, "gossip": {"in_app": True, "email": True}})
    assert "gossip" in caught.value.fields
    assert not NotificationPreference.objects.exists()
