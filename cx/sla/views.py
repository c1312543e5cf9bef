"""The SLA badge the ticket page and queues load by htmx (the tickets app sits below this one, so it
fetches the badge by URL: ``hx-get="{% url 'sla:ticket_badge' ticket.pk %}" hx-trigger="load, cx:live"``)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cx.core.errors import DomainError
from cx.sla.selectors import TicketSlaState, ticket_sla_state


def duration_text(span: timedelta, *, days: bool = True) -> str:
    """Short human durations: "3h 20m", "45m", "2d 4h"; ``days=False`` keeps business time in hours."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 1:
        return "under 1m"
    d, rest = divmod(minutes, 24 * 60) if days else (0, minutes)
    h, m = divmod(rest, 60)
    if d:
        return f"{d}d {h}h" if h else f"{d}d"
    if h:
        return f"{h}h {m}m" if m else f"{h}h"
    return f"{m}m"


def badge_context(state: TicketSlaState) -> dict:
    """What the badge says and how it is coloured, for each SLA state."""
    headline = state.headline
    metric = headline.metric_label if headline else ""
    if state.state == "breached":
        since = timezone.now() - (headline.clock.breached_at or headline.clock.due_at)
        return {"css": "danger", "label": f"{metric} breached {duration_text(since)} ago"}
    if state.state == "running":
        left = duration_text(headline.business_time_left or timedelta(0), days=False)
        hours = " business time" if state.policy and state.policy.calendar_id else ""
        return {"css": "warn" if state.warning else "ok", "label": f"{metric}: {left}{hours} left",
                "due_at": headline.clock.due_at}
    if state.state == "paused":
        return {"css": "", "label": "SLA paused"}
    if state.state == "met":
        return {"css": "ok", "label": "SLA met"}
    if state.state == "missed":
        return {"css": "danger", "label": "SLA missed"}
    return {"css": "", "label": "No SLA"}


@login_required
@require_GET
def ticket_badge(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket's SLA in one badge: time left in business hours, "breached 2h ago", or "paused"."""
    try:
        state = ticket_sla_state(actor=request.user, ticket_id=ticket_id)
    except DomainError as error:
        return render(request, "sla/partials/badge_error.html", {"error": error}, status=error.status)
    try:
        zone = ZoneInfo(getattr(request.user, "time_zone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    with timezone.override(zone):
        return render(request, "sla/partials/ticket_badge.html", {"sla": state, **badge_context(state)})
