"""The service figures as first written, kept as the executable definition the fast path is tested against.

One query per figure and per group, durations fetched as datetimes and measured one by one (a bisect per
business-hours duration): slow on a large history, obviously right. ``cx.insights.selectors.service_figures``
must give exactly the same numbers on the same data (test_fast_path.py, on SQLite and PostgreSQL).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from cx.insights.period import Period, ServiceFilters
from cx.insights.selectors import ALL, DONE, DurationStat, ServiceFigures, _score_lists
from cx.insights.stats import percentile, ratio
from cx.sla.models import BusinessCalendarConfig, SlaClock, TicketSla
from cx.surveys.models import Response, SurveyKind
from cx.surveys.selectors import score_of
from cx.tickets.business_hours import BusinessCalendar, open_intervals
from cx.tickets.models import UNRESOLVED_CATEGORIES, AuthorType, Message, Ticket, Visibility


def _calendars(ids: Iterable[int | None]) -> dict[int, BusinessCalendar]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    configs = BusinessCalendarConfig.objects.filter(pk__in=wanted).prefetch_related("holidays")
    return {c.pk: c.to_calendar([h.date for h in c.holidays.all()]) for c in configs}


def _calendar_of(ticket_path: str) -> Subquery:
    """The business calendar id of the ticket's current SLA policy (None: no policy or a 24/7 one)."""
    return Subquery(TicketSla.objects.filter(ticket_id=OuterRef(ticket_path)).values("policy__calendar_id")[:1])


class BisectClock:
    """Business time between any two instants inside ``[low, high]`` of one calendar, by prefix sums over the
    SLA app's own open stretches (``open_intervals``), computed once: a dashboard measures thousands of tickets
    against the same calendar, and each measurement is then a binary search instead of a walk over the days.
    Equal to ``business_time_between`` by construction (tested)."""

    def __init__(self, calendar: BusinessCalendar, low: datetime, high: datetime) -> None:
        self.spans = list(open_intervals(calendar, low, high))
        self.starts = [start for start, _ in self.spans]
        self.before: list[float] = []  # business seconds before each span
        total = 0.0
        for start, end in self.spans:
            self.before.append(total)
            total += (end - start).total_seconds()

    def _until(self, moment: datetime) -> float:
        index = bisect_right(self.starts, moment) - 1
        if index < 0:
            return 0.0
        start, end = self.spans[index]
        return self.before[index] + (min(moment, end) - start).total_seconds()

    def seconds_between(self, start: datetime, end: datetime) -> float:
        return max(0.0, self._until(end) - self._until(start))


def _durations(rows: Iterable[tuple[Any, datetime, datetime, int | None]]) -> dict[Any, DurationStat]:
    """(group, start, end, calendar id) rows → per group the median and p90 of end - start, in business time
    for rows with a calendar."""
    rows = list(rows)
    calendars = _calendars(row[3] for row in rows)
    clocks: dict[int, BisectClock] = {}
    for calendar_id, calendar in calendars.items():
        measured = [(start, end) for _, start, end, cid in rows if cid == calendar_id and end > start]
        if measured:
            clocks[calendar_id] = BisectClock(calendar, min(a for a, _ in measured), max(b for _, b in measured))
    values: dict[Any, list[float]] = defaultdict(list)
    business: dict[Any, int] = defaultdict(int)
    for group, start, end, calendar_id in rows:
        if calendar_id is not None and calendar_id in calendars:
            clock = clocks.get(calendar_id)
            seconds = clock.seconds_between(start, end) if clock is not None and end > start else 0.0
            business[group] += 1
        else:
            seconds = (end - start).total_seconds()
        values[group].append(max(0.0, seconds))
    return {group: DurationStat(n=len(v), median=percentile(v, 0.5), p90=percentile(v, 0.9),
                                business_hours=business[group]) for group, v in values.items()}


def _grouped(qs, group_path: str | None, **aggregates) -> dict[Any, dict[str, Any]]:
    if group_path is None:
        return {ALL: qs.aggregate(**aggregates)}
    return {row.pop("g"): row for row in qs.annotate(g=F(group_path)).values("g").annotate(**aggregates)
            .order_by()}


def _group_path(prefix: str, group: str | None) -> str | None:
    if group is None:
        return None
    return prefix + {"agent": "assignee_id", "team": "team_id", "channel": "channel", "priority": "priority"}[group]


def _values(qs, group_path: str | None, *fields: str):
    if group_path is None:
        return ((ALL, *row) for row in qs.values_list(*fields))
    return qs.annotate(g=F(group_path)).values_list("g", *fields)


def reference_service_figures(*, filters: ServiceFilters, period: Period, group: str | None = None,
                    now: datetime | None = None) -> dict[Any, ServiceFigures]:
    """The service KPIs of ``period`` per group, one query per figure and group (the definitions as first written)."""
    now = now or timezone.now()
    start, end = period.start, period.end
    figures: dict[Any, ServiceFigures] = defaultdict(ServiceFigures)
    tickets = Ticket.objects.filter(**filters.ticket_filter())
    g = _group_path("", group)

    # Created in the period; resolution rate = solved (or closed) before the period ended / created.
    created = tickets.filter(created_at__gte=start, created_at__lt=end)
    for key, row in _grouped(created, g, n=Count("pk"), resolved=Count(
            "pk", filter=Q(status_category__in=DONE, solved_at__lt=end))).items():
        figure = figures[key]
        figure.created, figure.resolved_of_created = row["n"] or 0, row["resolved"] or 0
        figure.resolution_rate = ratio(figure.resolved_of_created, figure.created)

    # First response time: the first public agent reply - created, for tickets the customer opened.
    answered = created.filter(first_response_at__isnull=False, first_response_at__gt=F("created_at"))
    for key, stat in _durations(_values(answered.annotate(cal=_calendar_of("pk")), g,
                                        "created_at", "first_response_at", "cal")).items():
        figures[key].first_response = stat

    # Next response time: from each customer message that follows a public agent reply to the next public
    # agent reply (customer messages in the period).
    public = Message.objects.filter(ticket_id=OuterRef("ticket_id"), visibility=Visibility.PUBLIC)
    previous_author = Subquery(public.filter(created_at__lt=OuterRef("created_at"))
                               .order_by("-created_at", "-id").values("author_type")[:1])
    next_reply = Subquery(public.filter(author_type=AuthorType.AGENT, created_at__gt=OuterRef("created_at"))
                          .order_by("created_at", "id").values("created_at")[:1])
    waits = (Message.objects.filter(author_type=AuthorType.CUSTOMER, visibility=Visibility.PUBLIC,
                                    created_at__gte=start, created_at__lt=end,
                                    **filters.ticket_filter("ticket__"))
             .annotate(previous_author=previous_author, replied_at=next_reply, cal=_calendar_of("ticket_id"))
             .filter(previous_author=AuthorType.AGENT, replied_at__isnull=False))
    for key, stat in _durations(_values(waits, _group_path("ticket__", group),
                                        "created_at", "replied_at", "cal")).items():
        figures[key].next_response = stat

    # Solved in the period: full resolution time, first-contact resolution and reopens.
    solved = tickets.filter(status_category__in=DONE, solved_at__gte=start, solved_at__lt=end)
    for key, stat in _durations(_values(solved.annotate(cal=_calendar_of("pk")), g,
                                        "created_at", "solved_at", "cal")).items():
        figures[key].resolution = stat
    agent_replies = Subquery(Message.objects.filter(ticket_id=OuterRef("pk"), visibility=Visibility.PUBLIC,
                                                    author_type=AuthorType.AGENT)
                             .order_by().values("ticket_id").annotate(n=Count("pk")).values("n")[:1])
    reopened = Exists(SlaClock.objects.filter(ticket_sla__ticket_id=OuterRef("pk"), metric="resolution")
                      .exclude(resumed_gaps=[]))
    annotated = solved.annotate(agent_replies=agent_replies, was_reopened=reopened)
    for key, row in _grouped(annotated, g, n=Count("pk"),
                             fcr_base=Count("pk", filter=Q(agent_replies__gte=1)),
                             fcr=Count("pk", filter=Q(agent_replies=1, was_reopened=False)),
                             reopened=Count("pk", filter=Q(was_reopened=True))).items():
        figure = figures[key]
        figure.solved, figure.fcr_base, figure.fcr_count = row["n"] or 0, row["fcr_base"] or 0, row["fcr"] or 0
        figure.reopened = row["reopened"] or 0
        figure.fcr_rate = ratio(figure.fcr_count, figure.fcr_base)
        figure.reopen_rate = ratio(figure.reopened, figure.solved)

    # Backlog at the end of the period (or now): created before it and not solved by then.
    at = min(end, now)
    backlog = tickets.filter(created_at__lt=at).filter(Q(status_category__in=UNRESOLVED_CATEGORIES)
                                                       | Q(status_category__in=DONE, solved_at__gte=at))
    ages: dict[Any, list[float]] = defaultdict(list)
    for key, created_at in _values(backlog, g, "created_at"):
        ages[key].append((at - created_at).total_seconds())
    for key, values in ages.items():
        figure = figures[key]
        figure.backlog = len(values)
        figure.backlog_age_median, figure.backlog_age_p90 = percentile(values, 0.5), percentile(values, 0.9)

    # SLA attainment: targets settled in the period (achieved, or breached while still running) that were met.
    clocks = (SlaClock.objects.filter(due_at__isnull=False, **filters.ticket_filter("ticket_sla__ticket__"))
              .filter(Q(achieved_at__gte=start, achieved_at__lt=end)
                      | Q(achieved_at__isnull=True, breached_at__gte=start, breached_at__lt=end)))
    for key, row in _grouped(clocks, _group_path("ticket_sla__ticket__", group), n=Count("pk"),
                             met=Count("pk", filter=Q(achieved_at__isnull=False, breached_at__isnull=True))).items():
        figure = figures[key]
        figure.sla_settled, figure.sla_met = row["n"] or 0, row["met"] or 0
        figure.sla_attainment = ratio(figure.sla_met, figure.sla_settled)

    # CSAT of ticket surveys answered in the period.
    responses = Response.objects.filter(csat_score__isnull=False, ticket__isnull=False, started_at__gte=start,
                                        started_at__lt=end, **filters.ticket_filter("ticket__"))
    rg = _group_path("ticket__", group)
    score_rows = (responses.values_list("csat_score").annotate(n=Count("pk")).order_by() if rg is None else
                  responses.annotate(g=F(rg)).values_list("g", "csat_score").annotate(n=Count("pk")).order_by())
    lists = _score_lists(((ALL, s, n) for s, n in score_rows) if rg is None else score_rows)
    for key, scores in lists.items():
        figures[key].csat = score_of(SurveyKind.CSAT, scores)
    if group is None:
        figures.setdefault(ALL, ServiceFigures())  # an empty period still has its (empty) row
    return dict(figures)
