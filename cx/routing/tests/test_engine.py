"""Routing behaviour through the services agents and customers use: round robin, load balancing by
capacity, skills and language, offline/away skip, re-offer when an agent comes online or has room again,
the periodic safety net, and re-entry safety."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from cx.accounts import services as account_services
from cx.accounts.services import register_agent_status_observer, team_add_member, user_set_status
from cx.core.models import AuditEvent
from cx.core.periodic import run_due_jobs
from cx.routing import engine
from cx.routing.models import AgentRoutingProfile
from cx.routing.selectors import SYSTEM_USERNAME
from cx.tickets import hooks
from cx.tickets.hooks import TicketChange
from cx.tickets.models import StatusCategory, Ticket, TicketStatus
from cx.tickets.selectors import queue_page
from cx.tickets.services import ticket_reply, ticket_update


def _status(category: str) -> TicketStatus:
    return TicketStatus.objects.get(category=category, is_default=True)


def _assignee(ticket: Ticket) -> int | None:
    ticket.refresh_from_db()
    return ticket.assignee_id


def test_round_robin_cycles_through_online_members_in_order_and_skips_offline_and_away(
        team, agent, rule, customer_ticket):
    support = team()
    first, away, second, offline, third = (agent(support), agent(support, status="away"), agent(support),
                                           agent(support, status="offline"), agent(support))
    rule(support, method="round_robin")

    got = [_assignee(customer_ticket(subject=f"Question {i}")) for i in range(6)]

    assert got == [first.pk, second.pk, third.pk, first.pk, second.pk, third.pk]
    assert away.pk not in got and offline.pk not in got


def test_round_robin_continues_after_the_last_agent_when_they_go_offline(team, agent, rule, customer_ticket):
    support = team()
    first, second, third = agent(support), agent(support), agent(support)
    rule(support, method="round_robin")
    assert _assignee(customer_ticket()) == first.pk
    user_set_status(actor=first, status="offline")
    assert [_assignee(customer_ticket()) for _ in range(3)] == [second.pk, third.pk, second.pk]


def test_load_balanced_picks_the_least_loaded_agent_and_never_exceeds_capacity(
        team, agent, rule, customer_ticket, admin_user):
    support = team()
    busy, idle = agent(support, capacity=3), agent(support, capacity=2)
    ticket_update(actor=admin_user, ticket=customer_ticket(), changes={"team_id": support.pk,
                                                                      "assignee_id": busy.pk})
    ticket_update(actor=admin_user, ticket=customer_ticket(), changes={"team_id": support.pk,
                                                                      "assignee_id": busy.pk})
    rule(support, method="load_balanced")

    got = [_assignee(customer_ticket(subject=f"Question {i}")) for i in range(4)]

    # idle 0→1, then 1 vs 2 → idle 2 (full), then busy 2→3 (full), then nobody has room.
    assert got == [idle.pk, idle.pk, busy.pk, None]
    loads = {u.pk: Ticket.objects.filter(assignee=u, status_category__in=["new", "open"]).count()
             for u in (busy, idle)}
    assert loads == {busy.pk: 3, idle.pk: 2}


def test_load_balanced_ties_go_to_the_agent_routed_longest_ago(team, agent, rule, customer_ticket, admin_user):
    support = team()
    early, late = agent(support, capacity=10), agent(support, capacity=10)
    AgentRoutingProfile.objects.filter(user=early).update(last_routed_at=timezone.now() - timedelta(hours=2))
    AgentRoutingProfile.objects.filter(user=late).update(last_routed_at=timezone.now() - timedelta(hours=3))
    rule(support, method="load_balanced")
    assert _assignee(customer_ticket()) == late.pk
    ticket_update(actor=admin_user, ticket=Ticket.objects.get(assignee=late), changes={"status_id":
                                                                                       _status("solved").pk})
    # Both have 0 open again; "late" was just routed, so "early" is now the longest idle.
    assert _assignee(customer_ticket()) == early.pk


def test_a_spanish_ticket_tagged_billing_goes_to_the_agent_with_spanish_and_billing(
        team, agent, rule, agent_ticket):
    general, billing_es = team("General"), team("Billing ES")
    agent(general)
    agent(billing_es, skills=["billing"], languages=["en"])  # no Spanish
    agent(billing_es, skills=["refunds"], languages=["es"])  # no billing skill
    specialist = agent(billing_es, skills=["Billing", "refunds"], languages=["es", "en"])
    rule(billing_es, tags=["billing"], languages=["es"], required_skills=["billing"], require_agent_language=True,
         position=1)
    rule(general, position=2)

    ticket = agent_ticket(language="es-MX", tags=["billing"])

    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.assignee_id) == (billing_es.pk, specialist.pk)
    english = agent_ticket(language="en", tags=["billing"])
    english.refresh_from_db()
    assert english.team_id == general.pk


def test_tagging_a_waiting_ticket_later_routes_it_by_the_tag_rule(team, agent, rule, customer_ticket, admin_user):
    billing = team("Billing")
    specialist = agent(billing, skills=["billing"])
    rule(billing, tags=["billing"], required_skills=["billing"])
    ticket = customer_ticket()
    assert _assignee(ticket) is None
    ticket_update(actor=admin_user, ticket=ticket, changes={"tags": ["billing"]})
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.assignee_id) == (billing.pk, specialist.pk)


def test_nobody_eligible_leaves_the_ticket_unassigned_in_the_team_queue(team, agent, rule, customer_ticket):
    support = team()
    member = agent(support, status="away")
    agent(support, status="offline")
    agent(support, capacity=0)
    rule(support)

    ticket = customer_ticket()

    ticket.refresh_from_db()
    assert ticket.team_id == support.pk and ticket.assignee_id is None
    assert ticket.status_category == StatusCategory.NEW
    team_queue = queue_page(actor=member, queue="my-team").items
    assert [t.pk for t in team_queue] == [ticket.pk]


def test_a_manual_rule_only_puts_the_ticket_in_the_team_queue(team, agent, rule, customer_ticket):
    vip = team("VIP")
    agent(vip)
    rule(vip, method="manual", priorities=["urgent"])
    ticket = customer_ticket(priority="urgent")
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.assignee_id) == (vip.pk, None)
    assert run_due_jobs(only={"routing.reoffer"}) == ["routing.reoffer"]
    assert _assignee(ticket) is None


def test_an_agent_coming_online_in_settings_takes_the_oldest_waiting_tickets_up_to_capacity(
        team, agent, rule, customer_ticket):
    support = team()
    late_riser = agent(support, status="offline", capacity=2)
    rule(support)
    waiting = [customer_ticket(subject=f"Waiting {i}") for i in range(3)]
    assert [_assignee(t) for t in waiting] == [None, None, None]

    browser = Client()
    browser.force_login(late_riser)
    response = browser.post("/accounts/settings/status/", {"status": "online"})

    assert response.status_code == 302
    assert [_assignee(t) for t in waiting] == [late_riser.pk, late_riser.pk, None]


def test_going_away_does_not_reoffer_and_the_status_hook_reports_old_and_new(team, agent, rule, customer_ticket,
                                                                            monkeypatch):
    seen: list[tuple[str, str]] = []

    def spy(*, user, old_status, new_status):
        seen.append((old_status, new_status))

    monkeypatch.setattr(account_services, "_agent_status_observers", list(account_services._agent_status_observers))
    register_agent_status_observer(spy)
    register_agent_status_observer(spy)  # registering twice is harmless
    support = team()
    member = agent(support, status="offline")
    rule(support)
    ticket = customer_ticket()
    user_set_status(actor=member, status="away")
    user_set_status(actor=member, status="away")  # no change, no call
    assert _assignee(ticket) is None
    user_set_status(actor=member, status="online")
    assert _assignee(ticket) == member.pk
    assert seen == [("offline", "away"), ("away", "online")]


def test_solving_a_ticket_frees_capacity_and_the_next_waiting_ticket_is_assigned(
        team, agent, rule, customer_ticket):
    support = team()
    solo = agent(support, capacity=1)
    rule(support)
    first, second, third = (customer_ticket(subject=f"T{i}") for i in range(3))
    assert [_assignee(t) for t in (first, second, third)] == [solo.pk, None, None]

    ticket_reply(actor=solo, ticket=first, body="Done, thanks!", status_id=_status("solved").pk)

    assert [_assignee(t) for t in (second, third)] == [solo.pk, None]
    ticket_update(actor=solo, ticket=second, changes={"status_id": _status("closed").pk})
    assert _assignee(third) == solo.pk


def test_reassigning_a_ticket_frees_the_previous_agents_capacity(team, agent, rule, customer_ticket, admin_user):
    support = team()
    first, second = agent(support, capacity=1), agent(support, capacity=5)
    rule(support)
    a = customer_ticket()
    b = customer_ticket()
    c = customer_ticket()
    assert [_assignee(t) for t in (a, b, c)] == [first.pk, second.pk, second.pk]
    user_set_status(actor=second, status="offline")
    d = customer_ticket()
    assert _assignee(d) is None  # first is full, second is offline
    ticket_update(actor=admin_user, ticket=a, changes={"assignee_id": second.pk})
    assert _assignee(d) == first.pk


def test_with_capacity_one_a_second_ticket_waits_instead_of_overloading_the_agent(
        team, agent, rule, customer_ticket):
    support = team()
    solo = agent(support, capacity=1)
    rule(support, method="load_balanced")
    tickets = [customer_ticket(subject=f"T{i}") for i in range(2)]
    assert [_assignee(t) for t in tickets] == [solo.pk, None]


def test_routed_assignments_are_audited_as_the_routing_account_and_routing_does_not_re_enter(
        team, agent, rule, customer_ticket, monkeypatch):
    calls: list[str] = []
    real_pick = engine._pick_agent

    def counting_pick(**kwargs):
        calls.append("pick")
        return real_pick(**kwargs)

    monkeypatch.setattr(engine, "_pick_agent", counting_pick)
    depths: list[int] = []
    monkeypatch.setitem(hooks._observers, "test-depth-spy", lambda change: depths.append(change.automation_depth))
    support = team()
    member = agent(support)
    rule(support)
    ticket = customer_ticket()

    assert calls == ["pick"]
    event = AuditEvent.objects.get(target_type="ticket", target_id=ticket.pk, action="ticket.updated")
    assert event.actor_label == SYSTEM_USERNAME
    assert event.data["changes"]["assignee_id"] == [None, member.pk]
    assert event.data["changes"]["team_id"] == [None, support.pk]
    # Routing's own change (observed first, as it happens inside the creation's observers) is automated.
    assert depths == [1, 0]


def test_the_routing_account_cannot_log_in_and_is_never_routed_a_ticket(team, agent, rule, customer_ticket):
    support = team()
    rule(support)
    customer_ticket()
    account = engine.routing_actor()
    assert account.username == SYSTEM_USERNAME and not account.has_usable_password()
    assert engine.routing_actor().pk == account.pk
    team_add_member(actor=None, team=support, user=account)
    user_set_status(actor=account, status="online")
    assert _assignee(customer_ticket()) is None
    assert not Client().login(username=SYSTEM_USERNAME, password="")


def test_a_ticket_created_with_an_assignee_is_left_alone(team, agent, rule, agent_ticket):
    support, other = team(), team()
    chosen = agent(other)
    agent(support)
    rule(support)
    ticket = agent_ticket(team_id=other.pk, assignee_id=chosen.pk)
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.assignee_id) == (other.pk, chosen.pk)


def test_a_team_chosen_by_an_agent_is_kept_and_routed_only_by_that_teams_rules(team, agent, rule, agent_ticket):
    first_line, second_line = team("First line"), team("Second line")
    agent(first_line)
    expert = agent(second_line)
    rule(first_line, position=1)
    ticket = agent_ticket(team_id=second_line.pk)
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.assignee_id) == (second_line.pk, None)  # no rule for second line yet
    rule(second_line, position=2, method="load_balanced")  # a new rule re-offers the team's waiting tickets
    assert _assignee(ticket) == expert.pk


def test_moving_an_unassigned_ticket_to_another_team_routes_it_there(team, agent, rule, customer_ticket, admin_user):
    first_line, second_line = team("First line"), team("Second line")
    agent(first_line, status="away")
    expert = agent(second_line)
    rule(first_line, position=1)
    rule(second_line, position=2)
    ticket = customer_ticket()
    assert (_assignee(ticket), ticket.team_id) == (None, first_line.pk)
    ticket_update(actor=admin_user, ticket=ticket, changes={"team_id": second_line.pk})
    assert _assignee(ticket) == expert.pk


def test_raising_capacity_reoffers_waiting_tickets(team, agent, rule, customer_ticket, api_client, token_for):
    support = team()
    solo = agent(support, capacity=1)
    rule(support)
    tickets = [customer_ticket() for _ in range(3)]
    assert [_assignee(t) for t in tickets] == [solo.pk, None, None]
    response = api_client(token_for(solo)).patch(f"/api/v1/routing/profiles/{solo.pk}", {"capacity": 2})
    assert response.status_code == 200, response.content
    assert [_assignee(t) for t in tickets] == [solo.pk, solo.pk, None]


def test_the_periodic_job_assigns_tickets_the_observers_missed(team, agent, rule, customer_ticket):
    support = team()
    member = agent(support)
    rule(support)
    ticket = customer_ticket()
    # A change made behind the services' back (a data fix, a bulk import) is caught by the safety net.
    Ticket.objects.filter(pk=ticket.pk).update(assignee=None)
    assert run_due_jobs(only={"routing.reoffer"}) == ["routing.reoffer"]
    assert _assignee(ticket) == member.pk


def test_a_routing_failure_never_loses_the_customers_ticket(team, agent, rule, customer_ticket, monkeypatch):
    support = team()
    agent(support)
    rule(support)

    def broken(**kwargs):
        raise RuntimeError("routing bug")

    monkeypatch.setattr(engine, "_pick_agent", broken)
    ticket = customer_ticket()
    ticket.refresh_from_db()
    assert ticket.assignee_id is None and ticket.team_id is None  # the savepoint rolled routing back
    assert ticket.messages.count() == 1


def test_routing_ignores_its_own_changes_coming_back_through_the_hooks(team, agent, rule, customer_ticket):
    support = team()
    member = agent(support)
    rule(support)
    ticket = customer_ticket()
    token = engine._routing_active.set(True)
    try:
        engine.on_ticket_change(TicketChange(ticket_id=ticket.pk, event="updated", actor_id=None,
                                             changes={"assignee_id": [member.pk, None]}))
    finally:
        engine._routing_active.reset(token)
    assert _assignee(ticket) == member.pk
