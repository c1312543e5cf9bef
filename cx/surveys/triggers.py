"""When to ask: the ticket observer (solved → CSAT/CES after a delay; follow-up tickets move the loop), and
the periodic jobs (due sends, journey events, recurring relationship NPS, theme rebuilding)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min

from cx.journeys.models import Touchpoint
from cx.surveys import channels, services
from cx.surveys.models import FollowUp, Invitation, LoopState, Survey, SurveyStatus, Trigger
from cx.tickets.hooks import TicketChange
from cx.tickets.models import StatusCategory, Ticket

JOURNEY_LOOKBACK = timedelta(days=7)  # events this much older than the delay are not surveyed late
RECURRING_BATCH = 1000


def on_ticket_change(change: TicketChange) -> None:
    if change.event not in ("updated", "replied", "customer_replied") and "status" not in change.changes:
        return
    follow_up = FollowUp.objects.filter(ticket_id=change.ticket_id).first()
    if follow_up is not None:
        _advance_loop(follow_up, change)
        return
    if "status" not in change.changes:
        return
    ticket = Ticket.objects.select_related("requester").get(pk=change.ticket_id)
    if ticket.status_category != StatusCategory.SOLVED or ticket.merged_into_id is not None:
        return
    surveys = Survey.objects.filter(status=SurveyStatus.ACTIVE, trigger=Trigger.TICKET_SOLVED)
    for survey in surveys:
        if ticket.requester.merged_into_id or ticket.requester.erased_at:
            return
        if ticket.channel in channels.MESSAGING_CHANNELS:
            channels.messaging_survey_send(survey=survey, ticket=ticket)
            continue
        services.survey_invitation_create(
            survey=survey, customer=ticket.requester, channel="email", ticket=ticket, source="ticket_solved",
            source_key=f"ticket:{ticket.pk}",
            send_at=(ticket.solved_at or change_time()) + timedelta(minutes=survey.delay_minutes))


def change_time() -> datetime:
    from django.utils import timezone

    return timezone.now()


def _advance_loop(follow_up: FollowUp, change: TicketChange) -> None:
    ticket = Ticket.objects.get(pk=change.ticket_id)
    if ticket.status_category in (StatusCategory.SOLVED, StatusCategory.CLOSED):
        services.follow_up_set_state(actor=None, follow_up=follow_up, state=LoopState.RESOLVED)
    elif change.event == "replied" and follow_up.state == LoopState.OPEN:
        services.follow_up_set_state(actor=None, follow_up=follow_up, state=LoopState.CONTACTED)


def send_due(now: datetime) -> None:
    from cx.surveys.tasks import send_survey_invitation

    for invitation_id in services.invitations_due(now=now):
        transaction.on_commit(lambda i=invitation_id: send_survey_invitation.enqueue(invitation_id=i))


def journey_events(now: datetime) -> int:
    """NPS N days after a journey event (e.g. the first order.completed touchpoint)."""
    created = 0
    for survey in Survey.objects.filter(status=SurveyStatus.ACTIVE, trigger=Trigger.JOURNEY_EVENT):
        due_before = now - timedelta(days=survey.event_delay_days)
        window = Touchpoint.objects.filter(kind=survey.event_kind)
        if survey.event_first_only:
            firsts = (window.values("customer_id").annotate(first=Min("occurred_at"))
                      .filter(first__lte=due_before, first__gt=due_before - JOURNEY_LOOKBACK))
            rows = [(row["customer_id"], f"customer:{row['customer_id']}") for row in firsts[:RECURRING_BATCH]]
        else:
            events = window.filter(occurred_at__lte=due_before, occurred_at__gt=due_before - JOURNEY_LOOKBACK)
            rows = [(cid, f"touchpoint:{tid}") for tid, cid in events.values_list("pk", "customer_id")
                    [:RECURRING_BATCH]]
        from cx.customers.models import Customer

        live = {c.pk: c for c in Customer.objects.filter(pk__in=[r[0] for r in rows], merged_into__isnull=True,
                                                         erased_at__isnull=True)}
        done = set(Invitation.objects.filter(survey=survey, source_key__in=[r[1] for r in rows])
                   .values_list("source_key", flat=True))
        for customer_id, key in rows:
            if key in done or customer_id not in live:
                continue
            services.survey_invitation_create(survey=survey, customer=live[customer_id], source="journey_event",
                                              source_key=key, touchpoint_kind=survey.event_kind)
            created += 1
    return created


def recurring(now: datetime) -> int:
    """Relationship NPS every N days per customer: each customer is due once per period of N days."""
    from cx.customers.models import Customer, IdentityKind

    created = 0
    day = (now - datetime(2020, 1, 1, tzinfo=now.tzinfo)).days
    for survey in Survey.objects.filter(status=SurveyStatus.ACTIVE, trigger=Trigger.RECURRING):
        period = max(1, survey.recurring_days)
        recent = Invitation.objects.filter(survey=survey, created_at__gt=now - timedelta(days=period))
        customers = (Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True,
                                             identities__kind=IdentityKind.EMAIL)
                     .exclude(pk__in=recent.values("customer_id")).distinct().order_by("pk")[:RECURRING_BATCH])
        for customer in customers:
            key = f"recurring:{customer.pk}:{day // period}"
            services.survey_invitation_create(survey=survey, customer=customer, source="recurring",
                                              source_key=key)
            created += 1
    return created


def rebuild_themes(now: datetime) -> None:
    from cx.surveys.text.themes import themes_rebuild

    themes_rebuild(now=now)
