"""The SLA clock as tickets move: policy matching, first/next response, pauses across weekends, holidays and
DST, reopen, and recomputation after calendar and policy edits. Tickets change only through the tickets
services, exactly as agents and customers change them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cx.customers.services import customer_create, organization_create
from cx.sla.engine import sla_recompute_open_tickets
from cx.sla.models import SlaClock, SlaEvent, SlaMetric, TicketSla
from cx.sla.services import business_calendar_update, sla_policy_update
from cx.tickets.business_hours import add_business_time_with_pauses
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_create_by_agent, ticket_customer_reply, ticket_reply, ticket_update

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def _clock(ticket: Ticket, metric: str) -> SlaClock:
    return SlaClock.objects.filter(ticket_sla__ticket_id=ticket.pk, metric=metric).order_by("-started_at", "-id")[0]


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- Policy matching -----------------------------------------------------------------------------------------


def test_the_first_active_matching_policy_by_position_applies(clock, make_policy, open_ticket):
    make_policy("Catch-all", position=50)
    urgent = make_policy("Urgent only", priorities=["urgent"], position=10)
    make_policy("Disabled first", position=0, is_active=False)

    normal_ticket = open_ticket(priority="normal")
    urgent_ticket = open_ticket(priority="urgent")

    assert TicketSla.objects.get(ticket=normal_ticket).policy.name == "Catch-all"
    assert TicketSla.objects.get(ticket=urgent_ticket).policy == urgent


def test_conditions_on_organisation_segment_tags_and_channel_must_all_hold(clock, make_policy, agent_user):
    acme = organization_create(actor=None, name="Acme")
    vip = customer_create(actor=None, display_name="Vic", organization_id=acme.pk)
    other = customer_create(actor=None, display_name="Olga")
    make_policy("Acme VIP chat", organization_ids=[acme.pk], customer_segments=["VIP"], channels=["chat"])

    def _ticket(customer, channel, tags):
        return ticket_create_by_agent(actor=agent_user, requester=customer, subject="Help", body="Note",
                                      visibility="internal", channel=channel, tags=tags).ticket

    matching = _ticket(vip, "chat", ["vip", "billing"])
    wrong_channel = _ticket(vip, "email", ["vip"])
    no_tag = _ticket(vip, "chat", ["billing"])
    other_org = _ticket(other, "chat", ["vip"])

    assert TicketSla.objects.get(ticket=matching).policy.name == "Acme VIP chat"
    for ticket in (wrong_channel, no_tag, other_org):
        sla = TicketSla.objects.get(ticket=ticket)
        assert sla.policy is None
        assert _fresh(ticket).sla_next_due_at is None


def test_changing_priority_moves_the_ticket_to_the_matching_policy(clock, make_policy, open_ticket, agent_user):
    make_policy("Normal", priorities=["normal"], targets={"first_response": 240})
    make_policy("Urgent", priorities=["urgent"], targets={"first_response": 30})
    ticket = open_ticket()
    assert _fresh(ticket).sla_next_due_at == clock.now + timedelta(minutes=240)

    clock.advance(minutes=10)
    ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "urgent"})

    assert TicketSla.objects.get(ticket=ticket).policy.name == "Urgent"
    # Measured from the ticket's creation, with the new target.
    assert _fresh(ticket).sla_next_due_at == ticket.created_at + timedelta(minutes=30)


# --- First and next response ---------------------------------------------------------------------------------


def test_first_response_is_achieved_by_the_first_public_reply_not_by_an_internal_note(
        clock, make_policy, open_ticket, agent_user):
    make_policy(targets={"first_response": 60, "resolution": 600})
    ticket = open_ticket()
    created = clock.now

    clock.advance(minutes=10)
    ticket_reply(actor=agent_user, ticket=ticket, body="Asking payments.", visibility="internal")
    first = _clock(ticket, SlaMetric.FIRST_RESPONSE)
    assert first.achieved_at is None and first.due_at == created + timedelta(minutes=60)
    assert _fresh(ticket).sla_next_due_at == created + timedelta(minutes=60)

    clock.advance(minutes=20)
    ticket_reply(actor=agent_user, ticket=ticket, body="Hi Rita, looking into it.")
    first.refresh_from_db()
    assert first.achieved_at == created + timedelta(minutes=30)
    assert first.breached_at is None
    # Only resolution is still running now.
    assert _fresh(ticket).sla_next_due_at == created + timedelta(minutes=600)


def test_a_customer_reply_starts_next_response_and_the_agent_answer_achieves_it(
        clock, make_policy, open_ticket, agent_user, requester):
    make_policy(targets={"first_response": 60, "next_response": 120, "resolution": 6000})
    ticket = open_ticket()
    clock.advance(minutes=5)
    ticket_reply(actor=agent_user, ticket=ticket, body="Hello!")
    assert not SlaClock.objects.filter(metric=SlaMetric.NEXT_RESPONSE).exists()

    clock.advance(minutes=30)
    asked = clock.now
    ticket_customer_reply(ticket=ticket, customer=requester, body="Any news?", channel="email")
    clock.advance(minutes=15)
    ticket_customer_reply(ticket=ticket, customer=requester, body="Hello??", channel="email")
    next_response = _clock(ticket, SlaMetric.NEXT_RESPONSE)
    assert next_response.started_at == asked  # the oldest unanswered message counts
    assert next_response.due_at == asked + timedelta(minutes=120)
    assert _fresh(ticket).sla_next_due_at == asked + timedelta(minutes=120)

    clock.advance(minutes=10)
    ticket_reply(actor=agent_user, ticket=ticket, body="Fixed it.")
    next_response.refresh_from_db()
    assert next_response.achieved_at == clock.now
    assert SlaClock.objects.filter(metric=SlaMetric.NEXT_RESPONSE).count() == 1


def test_a_target_met_late_is_recorded_as_breached_without_escalation(clock, make_policy, open_ticket, agent_user):
    make_policy(targets={"first_response": 30}, escalate_priority="urgent")
    ticket = open_ticket()
    created = clock.now
    clock.advance(minutes=45)  # the minute check never ran
    ticket_reply(actor=agent_user, ticket=ticket, body="Sorry for the wait.")

    first = _clock(ticket, SlaMetric.FIRST_RESPONSE)
    assert first.achieved_at == created + timedelta(minutes=45)
    assert first.breached_at == created + timedelta(minutes=30)
    assert _fresh(ticket).sla_breached_at == created + timedelta(minutes=30)
    assert list(SlaEvent.objects.values_list("kind", flat=True)) == ["breach"]
    assert _fresh(ticket).priority == "normal"


# --- Pauses, weekends, holidays, DST -------------------------------------------------------------------------


def test_pending_stops_the_clock_and_resuming_extends_the_due_time_across_a_weekend_and_a_holiday(
        clock, make_calendar, make_policy, open_ticket, agent_user, requester, status):
    office = make_calendar("New York office", time_zone="America/New_York",
                           holidays=[{"name": "Christmas Day", "date": "2024-12-25"}])
    make_policy(calendar_id=office.pk, targets={"first_response": 480, "next_response": 120, "resolution": 1440})
    clock.set(datetime(2024, 12, 20, 9, 0, tzinfo=NEW_YORK))  # Friday
    ticket = open_ticket()
    resolution = _clock(ticket, SlaMetric.RESOLUTION)
    # Unpaused: Friday, Monday and Tuesday (24 business hours) -> Tuesday 24 December 17:00.
    assert resolution.due_at == datetime(2024, 12, 24, 17, 0, tzinfo=NEW_YORK)

    clock.set(datetime(2024, 12, 20, 13, 0, tzinfo=NEW_YORK))  # 4 business hours used
    ticket_reply(actor=agent_user, ticket=ticket, body="Can you send a screenshot?", status_id=status("pending").pk)
    resolution.refresh_from_db()
    assert resolution.due_at is None  # paused: no due time
    assert resolution.paused_intervals == [[clock.now.isoformat(), None]]
    assert _fresh(ticket).sla_next_due_at is None

    clock.set(datetime(2024, 12, 23, 11, 0, tzinfo=NEW_YORK))  # Monday: the customer answers
    ticket_customer_reply(ticket=ticket, customer=requester, body="Here it is.", channel="email")
    resolution.refresh_from_db()
    # 20h left: Monday 11-17 (6h), Tuesday (8h), Wednesday is Christmas, Thursday 09:00 + 6h.
    expected = datetime(2024, 12, 26, 15, 0, tzinfo=NEW_YORK)
    assert resolution.due_at == expected
    assert resolution.due_at == add_business_time_with_pauses(
        office.to_calendar(), ticket.created_at, timedelta(hours=24),
        [(datetime(2024, 12, 20, 13, 0, tzinfo=NEW_YORK), datetime(2024, 12, 23, 11, 0, tzinfo=NEW_YORK))])
    next_due = datetime(2024, 12, 23, 13, 0, tzinfo=NEW_YORK)  # next response: Monday 11:00 + 2h
    assert _fresh(ticket).sla_next_due_at == next_due


def test_a_policy_that_does_not_pause_on_pending_keeps_counting(
        clock, make_calendar, make_policy, open_ticket, agent_user, requester, status):
    office = make_calendar("NY", time_zone="America/New_York")
    make_policy(calendar_id=office.pk, pause_on_pending=False, targets={"resolution": 1440})
    clock.set(datetime(2024, 12, 20, 9, 0, tzinfo=NEW_YORK))
    ticket = open_ticket()
    clock.set(datetime(2024, 12, 20, 13, 0, tzinfo=NEW_YORK))
    ticket_reply(actor=agent_user, ticket=ticket, body="Screenshot?", status_id=status("pending").pk)
    assert _clock(ticket, SlaMetric.RESOLUTION).due_at == datetime(2024, 12, 24, 17, 0, tzinfo=NEW_YORK)


def test_on_hold_pauses_only_when_the_policy_says_so(clock, make_policy, open_ticket, agent_user, status):
    make_policy(pause_on_hold=False, targets={"resolution": 120})
    ticket = open_ticket()
    ticket_update(actor=agent_user, ticket=ticket, changes={"status_id": status("on_hold").pk})
    assert _clock(ticket, SlaMetric.RESOLUTION).due_at == ticket.created_at + timedelta(minutes=120)


@pytest.mark.parametrize(("zone", "created", "expected"), [
    # Berlin springs forward on Sunday 31 March 2024: Friday 16:00 CET + 8 business hours = Monday 16:00 CEST.
    ("Europe/Berlin", datetime(2024, 3, 29, 16, 0, tzinfo=BERLIN), datetime(2024, 4, 1, 14, 0, tzinfo=UTC)),
    # New York falls back on Sunday 3 November 2024: Friday 16:00 EDT + 8 business hours = Monday 16:00 EST.
    ("America/New_York", datetime(2024, 11, 1, 16, 0, tzinfo=NEW_YORK), datetime(2024, 11, 4, 21, 0, tzinfo=UTC)),
])
def test_due_times_follow_the_local_office_hours_through_a_dst_change(
        clock, make_calendar, make_policy, open_ticket, zone, created, expected):
    office = make_calendar(zone, time_zone=zone)
    make_policy(calendar_id=office.pk, targets={"resolution": 480})
    clock.set(created)
    ticket = open_ticket()
    assert _clock(ticket, SlaMetric.RESOLUTION).due_at == expected
    assert _fresh(ticket).sla_next_due_at == expected


def test_solving_achieves_every_target_and_a_reopen_resumes_resolution_without_the_solved_time(
        clock, make_policy, open_ticket, agent_user, requester, status):
    make_policy(targets={"first_response": 60, "next_response": 60, "resolution": 240})
    ticket = open_ticket()
    created = clock.now
    clock.advance(minutes=30)
    ticket_reply(actor=agent_user, ticket=ticket, body="Done.", status_id=status("solved").pk)
    resolution = _clock(ticket, SlaMetric.RESOLUTION)
    assert resolution.achieved_at == created + timedelta(minutes=30)
    assert _fresh(ticket).sla_next_due_at is None

    clock.advance(hours=5)  # solved for five hours, then the customer writes again
    ticket_customer_reply(ticket=ticket, customer=requester, body="It broke again.", channel="email")
    resolution.refresh_from_db()
    assert resolution.achieved_at is None
    # 30 minutes used before the solve, 210 left from the reopen.
    assert resolution.due_at == clock.now + timedelta(minutes=210)
    assert _clock(ticket, SlaMetric.NEXT_RESPONSE).due_at == clock.now + timedelta(minutes=60)


def test_a_ticket_created_by_an_agent_with_a_public_message_has_its_first_response_already(
        clock, make_policy, requester, agent_user):
    make_policy(targets={"first_response": 60, "resolution": 480})
    ticket = ticket_create_by_agent(actor=agent_user, requester=requester, subject="Your order",
                                    body="We shipped it.").ticket
    assert _clock(ticket, SlaMetric.FIRST_RESPONSE).achieved_at == clock.now
    assert _fresh(ticket).sla_next_due_at == clock.now + timedelta(minutes=480)


# --- Recomputation after edits -------------------------------------------------------------------------------


def test_editing_the_calendar_recomputes_open_tickets(clock, admin_user, make_calendar, make_policy, open_ticket,
                                                      django_capture_on_commit_callbacks):
    office = make_calendar(time_zone="UTC")
    make_policy(calendar_id=office.pk, targets={"resolution": 480})
    ticket = open_ticket()  # Monday 09:00 UTC
    assert _fresh(ticket).sla_next_due_at == datetime(2024, 6, 3, 17, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        business_calendar_update(actor=admin_user, calendar=office, values={
            "weekly_hours": {day: [["09:00", "13:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": [{"name": "Office party", "date": "2024-06-04"}],
        })
    # 4h on Monday, Tuesday is a holiday, 4h on Wednesday.
    assert _fresh(ticket).sla_next_due_at == datetime(2024, 6, 5, 13, 0, tzinfo=UTC)
    assert _clock(ticket, SlaMetric.RESOLUTION).due_at == datetime(2024, 6, 5, 13, 0, tzinfo=UTC)


def test_editing_a_policy_recomputes_open_tickets_but_not_solved_ones(
        clock, admin_user, make_policy, open_ticket, agent_user, status, django_capture_on_commit_callbacks):
    policy = make_policy(targets={"resolution": 480})
    solved = open_ticket("Solved one")
    ticket_update(actor=agent_user, ticket=solved, changes={"status_id": status("solved").pk})
    ticket = open_ticket("Open one")

    with django_capture_on_commit_callbacks(execute=True):
        sla_policy_update(actor=admin_user, policy=policy, values={
            "targets": [{"priority": "normal", "metric": "resolution", "minutes": 60}]})

    assert _fresh(ticket).sla_next_due_at == ticket.created_at + timedelta(minutes=60)
    assert _clock(solved, SlaMetric.RESOLUTION).due_at == solved.created_at + timedelta(minutes=480)


def test_recompute_applies_a_new_policy_to_tickets_older_than_it(clock, make_policy, open_ticket):
    ticket = open_ticket()
    assert TicketSla.objects.get(ticket=ticket).policy is None
    make_policy(targets={"resolution": 480})
    assert sla_recompute_open_tickets() == 1
    assert _fresh(ticket).sla_next_due_at == ticket.created_at + timedelta(minutes=480)


def test_tickets_from_before_the_sla_app_get_their_record_on_the_next_change(
        clock, make_policy, open_ticket, agent_user):
    make_policy(targets={"first_response": 60, "resolution": 480})
    ticket = open_ticket()
    TicketSla.objects.all().delete()
    clock.advance(minutes=20)
    ticket_reply(actor=agent_user, ticket=ticket, body="Hi!")
    assert _clock(ticket, SlaMetric.FIRST_RESPONSE).achieved_at == clock.now
    assert _fresh(ticket).sla_next_due_at == ticket.created_at + timedelta(minutes=480)
