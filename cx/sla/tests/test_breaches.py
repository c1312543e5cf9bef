"""The ``sla.check`` periodic job: warnings before a breach, breaches marked once, escalation fired once,
however often the scheduler runs it."""

from __future__ import annotations

from datetime import timedelta

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.core.models import AuditEvent
from cx.core.periodic import run_due_jobs
from cx.sla import engine
from cx.sla.engine import SYSTEM_USERNAME, sla_check
from cx.sla.models import SlaClock, SlaEvent, SlaMetric
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_reply


def _run_check(clock, at) -> list[str]:
    clock.set(at)
    return run_due_jobs(now=at, only={"sla.check"})


def _events(ticket, kind: str) -> list[SlaEvent]:
    return list(SlaEvent.objects.filter(ticket_id=ticket.pk, kind=kind))


def test_a_breach_is_marked_once_and_escalation_fires_once_across_repeated_runs(
        clock, make_policy, open_ticket, make_user, admin_user):
    tier2 = team_create(actor=admin_user, name="Tier 2")
    senior = make_user(Role.AGENT, "sam")
    team_add_member(actor=admin_user, team=tier2, user=senior)
    make_policy(targets={"first_response": 30, "resolution": 600}, warn_before_minutes=0,
                escalate_priority="urgent", escalate_team_id=tier2.pk, escalate_assignee_id=senior.pk)
    ticket = open_ticket()
    created = clock.now

    assert _run_check(clock, created + timedelta(minutes=29)) == ["sla.check"]
    assert not SlaEvent.objects.exists()

    for minutes in (31, 32, 33, 45, 90):
        assert _run_check(clock, created + timedelta(minutes=minutes)) == ["sla.check"]

    first = SlaClock.objects.get(ticket_sla__ticket_id=ticket.pk, metric=SlaMetric.FIRST_RESPONSE)
    assert first.breached_at == created + timedelta(minutes=30)
    assert first.escalated_at == created + timedelta(minutes=31)
    assert len(_events(ticket, "breach")) == 1
    assert len(_events(ticket, "escalation")) == 1
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.priority, ticket.team_id, ticket.assignee_id) == ("urgent", tier2.pk, senior.pk)
    assert ticket.sla_breached_at == created + timedelta(minutes=30)
    # The change went through the tickets service as the automation user, once.
    updates = AuditEvent.objects.filter(target_type="ticket", target_id=ticket.pk, action="ticket.updated")
    assert [e.actor_label for e in updates] == [SYSTEM_USERNAME]
    assert AuditEvent.objects.filter(target_id=ticket.pk, action="sla.breach").count() == 1


def test_calling_the_check_directly_many_times_changes_nothing_more(clock, make_policy, open_ticket):
    make_policy(targets={"first_response": 30}, escalate_priority="high")
    ticket = open_ticket()
    later = clock.advance(minutes=40)
    results = [sla_check(later) for _ in range(3)]
    assert results[0]["breaches"] == 1
    assert results[1]["breaches"] == results[2]["breaches"] == 0
    assert len(_events(ticket, "breach")) == 1 and len(_events(ticket, "escalation")) == 1
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"


def test_escalation_never_lowers_priority(clock, make_policy, open_ticket):
    make_policy(targets={"first_response": 30}, escalate_priority="high")
    ticket = open_ticket(priority="urgent")
    sla_check(clock.advance(minutes=31))
    assert Ticket.objects.get(pk=ticket.pk).priority == "urgent"
    [escalation] = _events(ticket, "escalation")
    assert escalation.detail["changes"] == {}


def test_an_escalation_the_ticket_service_refuses_is_recorded_and_not_retried(
        clock, make_policy, open_ticket, make_user):
    senior = make_user(Role.AGENT, "sam")
    make_policy(targets={"first_response": 30}, escalate_priority="high", escalate_assignee_id=senior.pk)
    ticket = open_ticket()
    senior.is_active = False  # leaves after the policy was written
    senior.save(update_fields=["is_active"])

    sla_check(clock.advance(minutes=31))
    sla_check(clock.advance(minutes=2))

    [escalation] = _events(ticket, "escalation")
    assert escalation.detail["error"]["fields"] == {"assignee_id": "no such active agent"}
    assert len(_events(ticket, "breach")) == 1
    # The service validates everything before writing: nothing of the escalation was applied.
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.priority, ticket.assignee_id) == ("normal", None)


def test_an_escalation_that_crashes_keeps_the_breach_and_is_retried_next_run(
        clock, make_policy, open_ticket, monkeypatch):
    make_policy(targets={"first_response": 30}, escalate_priority="high")
    ticket = open_ticket()
    real_update = engine.ticket_update
    calls = {"n": 0}

    def flaky_update(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real_update(**kwargs)

    monkeypatch.setattr(engine, "ticket_update", flaky_update)
    first = sla_check(clock.advance(minutes=31))
    assert (first["breaches"], first["escalations"]) == (1, 0)
    assert len(_events(ticket, "breach")) == 1 and not _events(ticket, "escalation")

    second = sla_check(clock.advance(minutes=1))
    third = sla_check(clock.advance(minutes=1))
    assert (second["breaches"], second["escalations"], third["escalations"]) == (0, 1, 0)
    assert len(_events(ticket, "escalation")) == 1
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"


def test_a_warning_is_sent_once_before_the_breach(clock, make_policy, open_ticket):
    make_policy(targets={"first_response": 60}, warn_before_minutes=15)
    ticket = open_ticket()
    created = clock.now

    _run_check(clock, created + timedelta(minutes=40))
    assert not _events(ticket, "warning")

    _run_check(clock, created + timedelta(minutes=46))
    _run_check(clock, created + timedelta(minutes=50))
    [warning] = _events(ticket, "warning")
    assert warning.at == created + timedelta(minutes=46)
    assert warning.detail["minutes_left"] == 14
    assert SlaClock.objects.get(metric=SlaMetric.FIRST_RESPONSE).warning_sent_at == warning.at
    assert not _events(ticket, "breach")

    _run_check(clock, created + timedelta(minutes=61))
    assert len(_events(ticket, "breach")) == 1
    assert len(_events(ticket, "warning")) == 1


def test_an_answered_ticket_is_neither_warned_nor_breached(clock, make_policy, open_ticket, agent_user):
    make_policy(targets={"first_response": 60}, warn_before_minutes=15)
    ticket = open_ticket()
    created = clock.now
    clock.advance(minutes=20)
    ticket_reply(actor=agent_user, ticket=ticket, body="On it.")
    for minutes in (50, 70):
        _run_check(clock, created + timedelta(minutes=minutes))
    assert not SlaEvent.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).sla_breached_at is None


def test_a_paused_ticket_is_not_breached_while_paused(clock, make_policy, open_ticket, agent_user, status):
    make_policy(targets={"first_response": 10, "resolution": 60})
    ticket = open_ticket()
    created = clock.now
    clock.advance(minutes=5)
    ticket_reply(actor=agent_user, ticket=ticket, body="Which card?", status_id=status("pending").pk)
    _run_check(clock, created + timedelta(hours=5))
    assert not SlaEvent.objects.exists()
