"""Insights writes: the main journey funnel, digest subscriptions, and the weekly digest (queue + send)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import ValidationFailed
from cx.core.tables import Column
from cx.insights.models import DigestDelivery, DigestRun, DigestSubscription, InsightsSettings
from cx.insights.period import Period, ServiceFilters, period_for_days
from cx.insights.selectors import (
    ALL,
    digest_subscribers,
    experience_headline,
    insights_access_check,
    kpis_compare,
    service_figures,
)

logger = logging.getLogger("cx.insights")

DIGEST_KPIS = ("created", "solved", "frt_median", "resolution_median", "fcr_rate", "reopen_rate", "sla_attainment",
               "csat", "backlog")


# --- Main funnel ---------------------------------------------------------------------------------------------


@transaction.atomic
def main_funnel_set(*, actor: User, name: str, query: str, token_scope: AccessLevel | None = None
                    ) -> InsightsSettings:
    """Choose the experience dashboard's main funnel (admin): the query string (or full link) of a funnel
    from Journeys → Funnels; empty resets to the lifecycle stage funnel. An invalid funnel saves nothing."""
    from cx.journeys.analytics_views import funnel_spec_from

    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    name = (name or "").strip()
    query = (query or "").strip()
    if "?" in query:
        query = query.split("?", 1)[1]
    errors: dict[str, str] = {}
    if len(name) > 120:
        errors["name"] = "at most 120 characters"
    if query:
        parsed = QueryDict(query, mutable=True)
        for key in ("from", "to", "csrfmiddlewaretoken"):
            parsed.pop(key, None)
        spec, funnel_errors, _ = funnel_spec_from(parsed)
        if spec is None:
            errors["query"] = "not a valid funnel: " + "; ".join(f"{k} {v}" for k, v in funnel_errors.items())
        query = parsed.urlencode()
    if errors:
        raise ValidationFailed("The main funnel is invalid.", fields=errors)
    row, _ = InsightsSettings.objects.get_or_create(pk=1)
    row.main_funnel_name = name if query else ""
    row.main_funnel_query = query
    row.updated_by = actor
    row.save()
    audit_record(actor=actor, action="insights.main_funnel_set", target_type="insights_settings", target_id=1,
                 data={"name": row.main_funnel_name, "query": query})
    return row


# --- Digest subscriptions -------------------------------------------------------------------------------------


@transaction.atomic
def digest_subscribe(*, actor: User, token_scope: AccessLevel | None = None) -> DigestSubscription:
    """Subscribe yourself to the weekly digest (anyone who may see Insights); subscribing twice is harmless."""
    insights_access_check(actor=actor, token_scope=token_scope)
    if not actor.email:
        raise ValidationFailed("Add an email address to your account first.", fields={"email": "required"})
    subscription, created = DigestSubscription.objects.get_or_create(user=actor)
    if created:
        audit_record(actor=actor, action="insights.digest_subscribed", target_type="user", target_id=actor.pk)
    return subscription


@transaction.atomic
def digest_unsubscribe(*, actor: User, token_scope: AccessLevel | None = None) -> bool:
    """Stop your weekly digest; True if you were subscribed."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    deleted, _ = DigestSubscription.objects.filter(user=actor).delete()
    if deleted:
        audit_record(actor=actor, action="insights.digest_unsubscribed", target_type="user", target_id=actor.pk)
    return bool(deleted)


# --- The weekly digest ------------------------------------------------------------------------------------------


def digest_week_for(now: datetime) -> date:
    """The Monday of the last complete week (Monday-Sunday, local time) before ``now``."""
    today = timezone.localtime(now).date()
    return today - timedelta(days=today.weekday() + 7)


def digest_schedule(now: datetime) -> int | None:
    """The periodic job: queue last week's digest once (the run row is unique per week); the send task is
    enqueued after commit. Returns the new run's id, or None when the week was already queued."""
    week_start = digest_week_for(now)
    try:
        with transaction.atomic():
            run = DigestRun.objects.create(week_start=week_start)
    except IntegrityError:
        return None
    from cx.insights.tasks import send_weekly_digest

    transaction.on_commit(partial(send_weekly_digest.enqueue, run_id=run.pk))
    logger.info("weekly digest for %s queued", week_start)
    return run.pk


def digest_content(*, week_start: date, now: datetime | None = None) -> dict[str, Any]:
    """Both dashboards' headline figures for the week against the week before."""
    period: Period = period_for_days(week_start, week_start + timedelta(days=6), "7")
    previous = period.previous()
    current = service_figures(filters=ServiceFilters(), period=period, now=now)[ALL]
    before = service_figures(filters=ServiceFilters(), period=previous, now=now)[ALL]
    service = [k for k in kpis_compare(current, before) if k.key in DIGEST_KPIS]
    experience = experience_headline(period=period)
    rows = []
    for section, kpis in (("Service", service), ("Experience", experience)):
        for kpi in kpis:
            column = Column(kpi.key, kpi.label, kpi.fmt)
            arrow = {"up": "▲", "down": "▼", "flat": "="}.get(kpi.delta.direction, "")
            rows.append({"section": section, "label": kpi.label, "value": column.format(kpi.value),
                         "previous": column.format(kpi.previous), "arrow": arrow, "verdict": kpi.delta.verdict,
                         "n": kpi.n})
    base = settings.CXDESK_BASE_URL
    return {"period": period, "previous": previous, "rows": rows,
            "service_url": base + reverse("insights:service") + f"?period=custom&from={period.first_day}"
                                                                f"&to={period.last_day}",
            "experience_url": base + reverse("insights:experience") + f"?period=custom&from={period.first_day}"
                                                                      f"&to={period.last_day}",
            "settings_url": base + reverse("insights:digest")}


def digest_send(*, run_id: int, now: datetime | None = None) -> int:
    """Mail the run's digest to every current subscriber who has not had it yet; returns how many were sent.

    Each delivery row is written in the same transaction as its send, and is unique per week and user: a
    rerun (or a second worker) skips whoever already got it, and a failed send rolls its row back for a retry.
    """
    run = DigestRun.objects.filter(pk=run_id).first()
    if run is None:
        return 0
    content = digest_content(week_start=run.week_start, now=now)
    subject = f"cxdesk weekly digest: week of {run.week_start.isoformat()}"
    sent = 0
    for user in digest_subscribers():
        try:
            with transaction.atomic():
                DigestDelivery.objects.create(run=run, user=user, email=user.email)
                context = {**content, "user": user}
                text = render_to_string("insights/email/digest.txt", context)
                html = render_to_string("insights/email/digest.html", context)
                message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
                message.attach_alternative(html, "text/html")
                message.send()
        except IntegrityError:
            continue  # already sent this week
        sent += 1
    DigestRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    logger.info("weekly digest %s sent to %d subscriber(s)", run.week_start, sent)
    return sent
