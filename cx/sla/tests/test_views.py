"""The SLA badge partial the ticket page loads by htmx, and the Django admin pages for calendars and policies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from cx.accounts.services import team_create
from cx.sla.engine import sla_check
from cx.sla.models import BusinessCalendarConfig, SlaPolicy, TicketSla
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_reply, ticket_update


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _badge(client: Client, ticket) -> tuple[int, str]:
    response = client.get(reverse("sla:ticket_badge", args=[ticket.pk]), headers={"HX-Request": "true"})
    return response.status_code, response.content.decode()


def test_the_badge_shows_business_time_left_and_turns_amber_near_the_due_time(
        clock, agent_user, make_calendar, make_policy, open_ticket):
    office = make_calendar(time_zone="UTC")
    make_policy(calendar_id=office.pk, warn_before_minutes=30, targets={"first_response": 120})
    clock.advance(hours=7)  # Monday 16:00: one business hour left today
    ticket = open_ticket()
    client = _client(agent_user)

    status, html = _badge(client, ticket)
    assert status == 200
    assert 'class="badge ok"' in html
    assert "First response: 2h business time left" in html
    assert 'datetime="2024-06-04T10:00:00+00:00"' in html  # Tuesday 10:00: overnight is not business time

    clock.set(clock.now.replace(day=4, hour=9, minute=45))
    status, html = _badge(_client(agent_user), ticket)  # a new session: the old one expired overnight
    assert 'class="badge warn"' in html and "First response: 15m business time left" in html


def test_the_badge_says_when_the_target_was_breached(clock, agent_user, make_policy, open_ticket):
    make_policy(targets={"first_response": 30})
    ticket = open_ticket()
    sla_check(clock.advance(minutes=31))
    clock.advance(hours=2)
    _, html = _badge(_client(agent_user), ticket)
    assert 'class="badge danger"' in html
    assert "First response breached 2h 1m ago" in html


def test_the_badge_says_paused_while_pending(clock, agent_user, make_policy, open_ticket, status):
    make_policy(targets={"first_response": 30, "resolution": 600})
    ticket = open_ticket()
    ticket_reply(actor=agent_user, ticket=ticket, body="Which card?", status_id=status("pending").pk)
    _, html = _badge(_client(agent_user), ticket)
    assert "SLA paused" in html and 'data-sla-state="paused"' in html


def test_the_badge_without_a_policy_and_after_solving(clock, agent_user, make_policy, open_ticket, status):
    ticket = open_ticket("No policy yet")
    _, html = _badge(_client(agent_user), ticket)
    assert "No SLA" in html
    make_policy(targets={"resolution": 600})
    solved = open_ticket("Solved fast")
    ticket_update(actor=agent_user, ticket=solved, changes={"status_id": status("solved").pk})
    _, html = _badge(_client(agent_user), solved)
    assert "SLA met" in html


def test_the_badge_of_a_hidden_ticket_is_a_404_and_anonymous_users_go_to_login(
        clock, admin_user, agent_user, make_policy, open_ticket):
    make_policy()
    ticket = open_ticket()
    ticket_update(actor=admin_user, ticket=ticket,
                  changes={"team_id": team_create(actor=admin_user, name="HR", is_restricted=True).pk})
    status, html = _badge(_client(agent_user), ticket)
    assert status == 404 and "not found" in html
    assert _badge(_client(admin_user), ticket)[0] == 200
    response = Client().get(reverse("sla:ticket_badge", args=[ticket.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Django admin --------------------------------------------------------------------------------------------


def _admin_calendar_form(**overrides) -> dict:
    data = {"name": "Support desk", "time_zone": "Europe/Berlin",
            "weekly_hours": '{"monday": [["09:00", "17:00"]]}',
            "holidays-TOTAL_FORMS": "1", "holidays-INITIAL_FORMS": "0", "holidays-MIN_NUM_FORMS": "0",
            "holidays-MAX_NUM_FORMS": "1000", "holidays-0-name": "Christmas", "holidays-0-date": "2024-12-25"}
    return {**data, **overrides}


def test_admin_adds_a_calendar_with_holidays(clock, admin_user):
    response = _client(admin_user).post(reverse("admin:sla_businesscalendarconfig_add"), _admin_calendar_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    calendar = BusinessCalendarConfig.objects.get()
    assert calendar.weekly_hours["monday"] == [["09:00", "17:00"]] and calendar.weekly_hours["sunday"] == []
    assert [str(h.date) for h in calendar.holidays.all()] == ["2024-12-25"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"weekly_hours": '{"monday": [["17:00", "09:00"]]}'}, "reversed or empty"),
    ({"time_zone": "Atlantis/Capital"}, "unknown time zone"),
])
def test_admin_shows_calendar_errors_and_saves_nothing(clock, admin_user, overrides, message):
    response = _client(admin_user).post(reverse("admin:sla_businesscalendarconfig_add"),
                                        _admin_calendar_form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BusinessCalendarConfig.objects.exists()


def test_admin_edits_a_policy_and_open_tickets_follow(clock, admin_user, make_policy, open_ticket,
                                                      django_capture_on_commit_callbacks):
    policy = make_policy(targets={"resolution": 480}, target_priorities=("normal",))
    ticket = open_ticket()
    target = policy.targets.get()
    data = {
        "name": "Standard", "description": "", "position": "10", "is_active": "on", "priorities": "[]",
        "organization_ids": "[]", "customer_segments": "[]", "channels": "[]", "calendar": "",
        "pause_on_pending": "on", "pause_on_hold": "on", "warn_before_minutes": "60", "escalate_notify": "on",
        "escalate_priority": "", "escalate_team": "", "escalate_assignee": "",
        "targets-TOTAL_FORMS": "1", "targets-INITIAL_FORMS": "1", "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000", "targets-0-id": str(target.pk), "targets-0-policy": str(policy.pk),
        "targets-0-priority": "normal", "targets-0-metric": "resolution", "targets-0-minutes": "45",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(admin_user).post(reverse("admin:sla_slapolicy_change", args=[policy.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Ticket.objects.get(pk=ticket.pk).sla_next_due_at == ticket.created_at + timedelta(minutes=45)

    data["priorities"] = '["someday"]'
    response = _client(admin_user).post(reverse("admin:sla_slapolicy_change", args=[policy.pk]), data)
    assert response.status_code == 200 and "unknown someday" in response.content.decode()
    assert SlaPolicy.objects.get().priorities == []


def test_agents_do_not_see_the_sla_admin(clock, agent_user):
    agent_user.is_staff = True
    agent_user.save(update_fields=["is_staff"])
    response = _client(agent_user).get(reverse("admin:sla_slapolicy_changelist"))
    assert response.status_code == 403


def test_admin_reads_a_tickets_sla_clocks_and_events(clock, admin_user, make_policy, open_ticket):
    make_policy(targets={"first_response": 30})
    ticket = open_ticket()
    sla_check(clock.advance(minutes=31))
    client = _client(admin_user)
    sla = TicketSla.objects.get(ticket=ticket)
    page = client.get(reverse("admin:sla_ticketsla_change", args=[sla.pk]))
    assert page.status_code == 200 and "first_response" in page.content.decode()
    events = client.get(reverse("admin:sla_slaevent_changelist"))
    assert events.status_code == 200 and "Breach" in events.content.decode()
