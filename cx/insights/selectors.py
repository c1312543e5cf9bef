"""The figures behind the Insights pages, the API and the weekly digest (one implementation for all three).

Every metric is defined here and, word for word, in docs/insights.md. A service page reads each data set once
per period for all its breakdowns (``service_figure_sets``): rows with their group keys and their instants as
microsecond integers (``EpochMicros``), worked out with numpy — counts, rates, medians and 90th percentiles,
business-hours durations — and SLA clocks and survey scores as grouped counts; survey scores go to
cx.surveys' own score functions (NPS with its standard error, CSAT with a Wilson interval, CES with a normal
interval of the mean). The numbers equal the one-query-per-figure definitions in tests/reference.py exactly.

Business hours: a ticket whose current SLA policy (cx.sla ``TicketSla.policy``) has a business calendar is
measured in that calendar's open time, from the SLA app's own clock (``BusinessCalendarConfig.to_calendar`` and
its ``open_intervals``, summed once per calendar, see ``BusinessClock``); every other ticket in elapsed (24/7)
time. Each duration figure says how many of its values were measured in business hours.
"""

from __future__ import annotations

import gc
import logging
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.http import QueryDict
from django.utils import timezone

from cx.accounts.models import AccessLevel, Role, Team, User
from cx.accounts.services import require_access
from cx.churn.selectors import churn_outcomes
from cx.core.errors import PermissionDenied
from cx.insights.models import DigestSubscription, InsightsSettings
from cx.insights.period import BREAKDOWNS, Period, ServiceFilters
from cx.insights.stats import SMALL_SAMPLE, Delta, percentile_of_sorted, ratio
from cx.journeys.models import Stage
from cx.journeys.selectors import orders
from cx.sla.models import BusinessCalendarConfig, SlaClock, TicketSla
from cx.surveys.models import Response, SurveyKind
from cx.surveys.scoring import wilson_interval
from cx.surveys.selectors import ScoreRow, score_of
from cx.tickets.business_hours import BusinessCalendar, open_intervals
from cx.tickets.models import (
    UNRESOLVED_CATEGORIES,
    AuthorType,
    Channel,
    Message,
    Priority,
    StatusCategory,
    Ticket,
    Visibility,
)

logger = logging.getLogger("cx.insights")

INSIGHTS_ROLES = (Role.ADMIN, Role.TEAM_LEAD, Role.ANALYST)
DONE = (StatusCategory.SOLVED, StatusCategory.CLOSED)
ALL = "all"
CONTACT_LOOKBACK = timedelta(days=90)
TOUCHPOINT_LOOKBACK = timedelta(days=30)


# --- Who may see Insights -------------------------------------------------------------------------------------


def can_view_insights(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active
                and (user.is_superuser or user.role in INSIGHTS_ROLES))


def insights_access_check(*, actor: User, token_scope: AccessLevel | None = None) -> None:
    """Admins, team leads and analysts (read access is enough); agents get a 403."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if not can_view_insights(actor):
        raise PermissionDenied("Insights are for admins, team leads and analysts.")


# --- Helpers --------------------------------------------------------------------------------------------------


def _calendars(ids: Iterable[int], known: dict[int, BusinessCalendar]) -> dict[int, BusinessCalendar]:
    """The business calendars of ``ids``; ``known`` is the page's cache (filled here), so one page reads each
    calendar once whatever the number of tickets."""
    wanted = {i for i in ids if i not in known}
    if wanted:
        configs = BusinessCalendarConfig.objects.filter(pk__in=wanted).prefetch_related("holidays")
        known.update({c.pk: c.to_calendar([h.date for h in c.holidays.all()]) for c in configs})
    return known


def _calendar_of(ticket_path: str) -> Coalesce:
    """The business calendar id of the ticket's current SLA policy (NO_CALENDAR: no policy or a 24/7 one)."""
    return Coalesce(Subquery(TicketSla.objects.filter(ticket_id=OuterRef(ticket_path))
                             .values("policy__calendar_id")[:1]), Value(NO_CALENDAR), output_field=IntegerField())


NO_CALENDAR = -1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _us(moment: datetime) -> int:
    """An aware instant as whole microseconds since 1970 (exact)."""
    return (moment - _EPOCH) // _MICROSECOND


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


class EpochMicros(Func):
    """A timestamp column or subquery as whole microseconds since 1970 (NULL stays NULL). The figures need
    differences of instants; integers come out of the driver several times faster than datetimes, and their
    differences are exact, so ``(b - a) / 1e6`` is the very float ``(b - a).total_seconds()`` gives."""

    arity = 1
    output_field = BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL (EXTRACT gives an exact numeric)
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"ROUND(EXTRACT(EPOCH FROM {sql}) * 1000000)::bigint", params

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores UTC as text, 'YYYY-MM-DD HH:MM:SS' and an optional fraction of a second (6 digits, or 3
        # from SQLite's own clock). strftime only gets the whole seconds: it would round a fraction up.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return (f"(CAST(strftime('%%s', substr({sql}, 1, 19)) AS INTEGER) * 1000000"
                f" + CAST(ROUND(CAST(substr({sql}, 20) AS REAL) * 1000000) AS INTEGER))", (*params, *params))


@contextmanager
def _without_jit() -> Iterator[None]:
    """On PostgreSQL, the figures' reads without the JIT compiler: their correlated subqueries have a high
    estimated cost, so the JIT (on by default) compiles them, which takes longer than running them (measured:
    about 0.3 s per read at 100,000 tickets). ``set_config(..., true)`` is ``SET LOCAL``: only inside this
    transaction (or savepoint), and the previous value is put back."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
            previous = cursor.fetchone()[0]
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', %s, true)", [previous])


class BusinessClock:
    """Business time between any two instants inside ``[low, high]`` of one calendar, by prefix sums over the
    SLA app's own open stretches (``open_intervals``), computed once: a dashboard measures thousands of tickets
    against the same calendar, and all of them are then measured at once (``seconds_between_us``, a vectorised
    binary search) instead of a walk over the days each. Equal to ``business_time_between`` (tested)."""

    def __init__(self, calendar: BusinessCalendar, low: datetime, high: datetime) -> None:
        self.spans = list(open_intervals(calendar, low, high))
        self.starts = [start for start, _ in self.spans]
        self.before: list[float] = []  # business seconds before each span
        total = 0.0
        for start, end in self.spans:
            self.before.append(total)
            total += (end - start).total_seconds()
        self._starts_us = np.array([_us(start) for start, _ in self.spans], dtype=np.int64)
        self._ends_us = np.array([_us(end) for _, end in self.spans], dtype=np.int64)
        self._before = np.array(self.before, dtype=np.float64)

    def _until(self, moment: datetime) -> float:
        index = bisect_right(self.starts, moment) - 1
        if index < 0:
            return 0.0
        start, end = self.spans[index]
        return self.before[index] + (min(moment, end) - start).total_seconds()

    def seconds_between(self, start: datetime, end: datetime) -> float:
        return max(0.0, self._until(end) - self._until(start))

    def _until_us(self, moments: np.ndarray) -> np.ndarray:
        if not len(self.spans):
            return np.zeros(len(moments))
        index = np.searchsorted(self._starts_us, moments, side="right") - 1
        at = np.maximum(index, 0)
        # The same float operations as _until, element by element.
        inside = (np.minimum(moments, self._ends_us[at]) - self._starts_us[at]) / 1e6
        return np.where(index < 0, 0.0, self._before[at] + inside)

    def seconds_between_us(self, start_us: np.ndarray, end_us: np.ndarray) -> np.ndarray:
        """``seconds_between`` of many (start, end) pairs given in microseconds since 1970."""
        return np.maximum(0.0, self._until_us(end_us) - self._until_us(start_us))


@dataclass
class DurationStat:
    """Median and 90th percentile in seconds over ``n`` values, ``business_hours`` of them in business time."""

    n: int = 0
    median: float | None = None
    p90: float | None = None
    business_hours: int = 0


def _seconds(start_us: np.ndarray, end_us: np.ndarray, calendar_ids: np.ndarray,
             calendars: dict[int, BusinessCalendar]) -> tuple[np.ndarray, np.ndarray]:
    """end - start in seconds (never negative) for each row, in business time for rows whose ticket has a
    business calendar; and which rows those were. One clock per calendar spans that calendar's rows."""
    seconds = np.maximum(0.0, (end_us - start_us) / 1e6)
    business = np.zeros(len(start_us), dtype=bool)
    for calendar_id in np.unique(calendar_ids).tolist():
        if calendar_id == NO_CALENDAR or calendar_id not in calendars:
            continue
        rows = calendar_ids == calendar_id
        business |= rows
        measured = rows & (end_us > start_us)
        seconds[rows] = 0.0
        if measured.any():
            clock = BusinessClock(calendars[calendar_id], _instant(start_us[measured].min()),
                                  _instant(end_us[measured].max()))
            seconds[measured] = clock.seconds_between_us(start_us[measured], end_us[measured])
    return seconds, business


def _duration_stat(seconds: np.ndarray, business: np.ndarray) -> DurationStat:
    ordered = np.sort(seconds).tolist()
    return DurationStat(n=len(ordered), median=percentile_of_sorted(ordered, 0.5),
                        p90=percentile_of_sorted(ordered, 0.9), business_hours=int(business.sum()))


def _score_lists(rows: Iterable[tuple[Any, int, int]]) -> dict[Any, list[int]]:
    """(group, score, count) rows from a GROUP BY → per group the list of scores the score functions take."""
    out: dict[Any, list[int]] = defaultdict(list)
    for group, score, count in rows:
        out[group].extend([int(score)] * int(count))
    return out


# --- Service figures ---------------------------------------------------------------------------------------------

GROUP_FIELDS = {"agent": "assignee_id", "team": "team_id", "channel": "channel", "priority": "priority"}


@dataclass
class ServiceFigures:
    """One period's service KPIs for one group of tickets (all of them, or one agent/team/channel/priority)."""

    created: int = 0
    solved: int = 0
    first_response: DurationStat = field(default_factory=DurationStat)
    next_response: DurationStat = field(default_factory=DurationStat)
    resolution: DurationStat = field(default_factory=DurationStat)
    resolved_of_created: int = 0
    resolution_rate: float | None = None
    fcr_base: int = 0
    fcr_count: int = 0
    fcr_rate: float | None = None
    reopened: int = 0
    reopen_rate: float | None = None
    backlog: int = 0
    backlog_age_median: float | None = None
    backlog_age_p90: float | None = None
    sla_settled: int = 0
    sla_met: int = 0
    sla_attainment: float | None = None
    csat: ScoreRow | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["csat"] = None if self.csat is None else {
            "n": self.csat.n, "value": self.csat.value, "ci_low": self.csat.ci_low, "ci_high": self.csat.ci_high,
            "small_sample": self.csat.small_sample}
        return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a read's rows become arrays: the hundreds of thousands of short-lived
    tuples and ints (which cannot form cycles) would otherwise set off full collections over the whole
    process's heap — measured: three quarters of the dashboard's Python time at 100,000 tickets."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


NO_ID = 0  # a missing assignee or team in the rows (database ids start at 1)


class _Rows:
    """One query's rows as columns: numbers as numpy arrays, and per requested breakdown each row's group code.

    The rows are read with the connection's cursor, not through the queryset: Django would pass every value
    through a converter (a Python call per value, most of the time at 100,000 tickets)."""

    def __init__(self, qs, prefix: str, groups: Sequence[str | None], *fields: str) -> None:
        keyed = [g for g in groups if g is not None]
        names = {f"group_{g}": (Coalesce(F(prefix + GROUP_FIELDS[g]), Value(NO_ID)) if g in ("agent", "team")
                                else F(prefix + GROUP_FIELDS[g])) for g in keyed}
        sql, params = qs.annotate(**names).values_list(*names, *fields).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            with _gc_paused():
                rows = cursor.fetchall()
                position = {column[0]: i for i, column in enumerate(cursor.description)}
                columns = list(zip(*rows, strict=True)) if rows else [()] * len(position)
                self.n = len(rows)
                self.columns = {name: np.array(columns[position[name]], dtype=np.int64) for name in fields}
                del rows
        self.codes: dict[str, tuple[list[Any], np.ndarray]] = {}
        for g in keyed:
            values, codes = np.unique(np.array(columns[position[f"group_{g}"]]), return_inverse=True)
            keys = [None if g in ("agent", "team") and v == NO_ID else v for v in values.tolist()]
            self.codes[g] = keys, codes.reshape(-1)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def split(self, group: str | None, rows: np.ndarray | None = None) -> Iterator[tuple[Any, np.ndarray]]:
        """(group key, row positions) for each key among ``rows`` (a boolean mask; all rows by default)."""
        selected = np.arange(self.n) if rows is None else np.flatnonzero(rows)
        if group is None:
            if len(selected):
                yield ALL, selected
            return
        keys, all_codes = self.codes[group]
        codes = all_codes[selected]
        counts = np.bincount(codes, minlength=len(keys))
        ends = np.cumsum(counts)
        order = np.argsort(codes, kind="stable")
        for code in np.flatnonzero(counts).tolist():
            yield keys[code], selected[order[ends[code] - counts[code]:ends[code]]]


def _sum_by(rows: Iterable[dict[str, Any]], group: str | None, *counts: str) -> dict[Any, dict[str, int]]:
    """Counts from a GROUP BY over every requested breakdown key, added up per key of one breakdown."""
    out: dict[Any, dict[str, int]] = {}
    for row in rows:
        key = ALL if group is None else row[f"group_{group}"]
        total = out.setdefault(key, dict.fromkeys(counts, 0))
        for name in counts:
            total[name] += row[name] or 0
    return out


def _count_rows(qs, prefix: str, groups: Sequence[str | None], **aggregates) -> list[dict[str, Any]]:
    """``aggregates`` grouped by the keys of every requested breakdown at once (one query, at most a row per
    combination of keys: independent of the number of tickets)."""
    keyed = [g for g in groups if g is not None]
    if not keyed:
        return [qs.aggregate(**aggregates)]
    names = {f"group_{g}": F(prefix + GROUP_FIELDS[g]) for g in keyed}
    return list(qs.annotate(**names).values(*names).annotate(**aggregates).order_by())


def service_figure_sets(*, filters: ServiceFilters, period: Period, groups: Sequence[str | None] = (None,),
                        now: datetime | None = None, calendars: dict[int, BusinessCalendar] | None = None
                        ) -> dict[str | None, dict[Any, ServiceFigures]]:
    """The service KPIs of ``period`` for several breakdowns at once: per entry of ``groups`` (None for all
    tickets, key ``"all"``; or "agent", "team", "channel", "priority") the figures per group key. Each data set
    is read once whatever the number of breakdowns, with the durations as microsecond integers, and measured
    with numpy; the numbers are exactly those of the definitions in docs/insights.md (tested against the
    one-query-per-figure reference). ``calendars``: a cache of business calendars shared by calls of one page."""
    now = now or timezone.now()
    groups = list(dict.fromkeys(groups))
    with _without_jit():
        return _figure_sets(filters=filters, period=period, groups=groups, now=now,
                            calendars={} if calendars is None else calendars)


def _figure_sets(*, filters: ServiceFilters, period: Period, groups: list[str | None], now: datetime,
                 calendars: dict[int, BusinessCalendar]) -> dict[str | None, dict[Any, ServiceFigures]]:
    start, end = period.start, period.end
    known = calendars
    sets: dict[str | None, dict[Any, ServiceFigures]] = {g: defaultdict(ServiceFigures) for g in groups}
    tickets = Ticket.objects.filter(**filters.ticket_filter())

    # Created in the period: counts, resolution rate (solved or closed before the period ended) and the first
    # response time (first public agent reply - created, tickets the customer opened that were answered).
    created = _Rows(
        tickets.filter(created_at__gte=start, created_at__lt=end).annotate(
            created_us=EpochMicros("created_at"),
            first_us=Coalesce(EpochMicros("first_response_at"), Value(0), output_field=BigIntegerField()),
            resolved=Case(When(Q(status_category__in=DONE, solved_at__lt=end), then=Value(1)), default=Value(0),
                          output_field=IntegerField()),
            cal=_calendar_of("pk")),
        "", groups, "created_us", "first_us", "resolved", "cal")

    # Next response time: from each customer message that follows a public agent reply to the next public
    # agent reply (customer messages in the period).
    public = Message.objects.filter(ticket_id=OuterRef("ticket_id"), visibility=Visibility.PUBLIC)
    previous_author = Subquery(public.filter(created_at__lt=OuterRef("created_at"))
                               .order_by("-created_at", "-id").values("author_type")[:1])
    next_reply = Subquery(public.filter(author_type=AuthorType.AGENT, created_at__gt=OuterRef("created_at"))
                          .order_by("created_at", "id").values("created_at")[:1])
    waits = _Rows(Message.objects.filter(author_type=AuthorType.CUSTOMER, visibility=Visibility.PUBLIC,
                                         created_at__gte=start, created_at__lt=end,
                                         **filters.ticket_filter("ticket__"))
                  .annotate(previous_author=previous_author).filter(previous_author=AuthorType.AGENT)
                  .annotate(asked_us=EpochMicros("created_at"),
                            replied_us=Coalesce(EpochMicros(next_reply), Value(0), output_field=BigIntegerField()),
                            cal=_calendar_of("ticket_id")),
                  "ticket__", groups, "asked_us", "replied_us", "cal")
    replied = waits["replied_us"] > 0  # not yet answered: 0 (filtered here, so the subquery runs once a row)

    # Solved in the period (last solve): full resolution time, first-contact resolution and reopens.
    agent_replies = Subquery(Message.objects.filter(ticket_id=OuterRef("pk"), visibility=Visibility.PUBLIC,
                                                    author_type=AuthorType.AGENT)
                             .order_by().values("ticket_id").annotate(n=Count("pk")).values("n")[:1])
    was_reopened = Exists(SlaClock.objects.filter(ticket_sla__ticket_id=OuterRef("pk"), metric="resolution")
                      .exclude(resumed_gaps=[]))
    solved = _Rows(tickets.filter(status_category__in=DONE, solved_at__gte=start, solved_at__lt=end).annotate(
        created_us=EpochMicros("created_at"), solved_us=EpochMicros("solved_at"), cal=_calendar_of("pk"),
        agent_replies=Coalesce(agent_replies, Value(0), output_field=IntegerField()),
        reopened=Case(When(was_reopened, then=Value(1)), default=Value(0), output_field=IntegerField())),
        "", groups, "created_us", "solved_us", "cal", "agent_replies", "reopened")

    _calendars((i for i in np.unique(np.concatenate([created["cal"], waits["cal"], solved["cal"]])).tolist()
                if i != NO_CALENDAR), known)
    answered = created["first_us"] > created["created_us"]  # (no reply: first_us is 0)
    frt = _seconds(created["created_us"], created["first_us"], created["cal"], known)  # read where answered
    nrt = _seconds(waits["asked_us"], waits["replied_us"], waits["cal"], known)
    resolution = _seconds(solved["created_us"], solved["solved_us"], solved["cal"], known)
    fcr_base = solved["agent_replies"] >= 1
    fcr = (solved["agent_replies"] == 1) & (solved["reopened"] == 0)

    # Backlog at the end of the period (or now): created before it and not solved by then.
    at = min(end, now)
    backlog = _Rows(tickets.filter(created_at__lt=at).filter(Q(status_category__in=UNRESOLVED_CATEGORIES)
                                                             | Q(status_category__in=DONE, solved_at__gte=at))
                    .annotate(created_us=EpochMicros("created_at")), "", groups, "created_us")
    ages = (_us(at) - backlog["created_us"]) / 1e6

    # SLA attainment: targets settled in the period (achieved, or breached while still running) that were met.
    clocks = (SlaClock.objects.filter(due_at__isnull=False, **filters.ticket_filter("ticket_sla__ticket__"))
              .filter(Q(achieved_at__gte=start, achieved_at__lt=end)
                      | Q(achieved_at__isnull=True, breached_at__gte=start, breached_at__lt=end)))
    sla_rows = _count_rows(clocks, "ticket_sla__ticket__", groups, n=Count("pk"),
                           met=Count("pk", filter=Q(achieved_at__isnull=False, breached_at__isnull=True)))

    # CSAT of ticket surveys answered in the period.
    responses = Response.objects.filter(csat_score__isnull=False, ticket__isnull=False, started_at__gte=start,
                                        started_at__lt=end, **filters.ticket_filter("ticket__"))
    keyed = [g for g in groups if g is not None]
    names = {f"group_{g}": F("ticket__" + GROUP_FIELDS[g]) for g in keyed}
    csat_rows = list(responses.annotate(**names).values(*names, "csat_score").annotate(n=Count("pk")).order_by())

    for group in groups:
        figures = sets[group]
        for key, rows in created.split(group):
            figure = figures[key]
            figure.created, figure.resolved_of_created = len(rows), int(created["resolved"][rows].sum())
            figure.resolution_rate = ratio(figure.resolved_of_created, figure.created)
        for key, rows in created.split(group, answered):
            figures[key].first_response = _duration_stat(frt[0][rows], frt[1][rows])
        for key, rows in waits.split(group, replied):
            figures[key].next_response = _duration_stat(nrt[0][rows], nrt[1][rows])
        for key, rows in solved.split(group):
            figure = figures[key]
            figure.resolution = _duration_stat(resolution[0][rows], resolution[1][rows])
            figure.solved, figure.fcr_base = len(rows), int(fcr_base[rows].sum())
            figure.fcr_count, figure.reopened = int(fcr[rows].sum()), int(solved["reopened"][rows].sum())
            figure.fcr_rate = ratio(figure.fcr_count, figure.fcr_base)
            figure.reopen_rate = ratio(figure.reopened, figure.solved)
        for key, rows in backlog.split(group):
            figure = figures[key]
            ordered = np.sort(ages[rows]).tolist()
            figure.backlog = len(ordered)
            figure.backlog_age_median = percentile_of_sorted(ordered, 0.5)
            figure.backlog_age_p90 = percentile_of_sorted(ordered, 0.9)
        for key, row in _sum_by(sla_rows, group, "n", "met").items():
            figure = figures[key]
            figure.sla_settled, figure.sla_met = row["n"], row["met"]
            figure.sla_attainment = ratio(figure.sla_met, figure.sla_settled)
        lists = _score_lists((ALL if group is None else row[f"group_{group}"], row["csat_score"], row["n"])
                             for row in csat_rows)
        for key, scores in lists.items():
            figures[key].csat = score_of(SurveyKind.CSAT, scores)
        if group is None:
            figures.setdefault(ALL, ServiceFigures())  # an empty period still has its (empty) row
    return {group: dict(figures) for group, figures in sets.items()}


def service_figures(*, filters: ServiceFilters, period: Period, group: str | None = None,
                    now: datetime | None = None) -> dict[Any, ServiceFigures]:
    """The service KPIs of ``period`` per group (key ``"all"`` without a group). Definitions: docs/insights.md."""
    return service_figure_sets(filters=filters, period=period, groups=(group,), now=now)[group]


KpiSpec = tuple[str, str, str, bool, Callable[[ServiceFigures], float | None], Callable[[ServiceFigures], int]]
KPI_SPECS: list[KpiSpec] = [
    # key, label, format, higher is better, value, sample size
    ("frt_median", "First response time (median)", "duration", False, lambda f: f.first_response.median,
     lambda f: f.first_response.n),
    ("frt_p90", "First response time (p90)", "duration", False, lambda f: f.first_response.p90,
     lambda f: f.first_response.n),
    ("nrt_median", "Next response time (median)", "duration", False, lambda f: f.next_response.median,
     lambda f: f.next_response.n),
    ("nrt_p90", "Next response time (p90)", "duration", False, lambda f: f.next_response.p90,
     lambda f: f.next_response.n),
    ("resolution_median", "Full resolution time (median)", "duration", False, lambda f: f.resolution.median,
     lambda f: f.resolution.n),
    ("resolution_p90", "Full resolution time (p90)", "duration", False, lambda f: f.resolution.p90,
     lambda f: f.resolution.n),
    ("resolution_rate", "Resolution rate", "pct", True, lambda f: f.resolution_rate, lambda f: f.created),
    ("fcr_rate", "First-contact resolution", "pct", True, lambda f: f.fcr_rate, lambda f: f.fcr_base),
    ("reopen_rate", "Reopen rate", "pct", False, lambda f: f.reopen_rate, lambda f: f.solved),
    ("backlog", "Backlog at period end", "int", False, lambda f: f.backlog, lambda f: f.backlog),
    ("backlog_age_median", "Backlog age (median)", "duration", False, lambda f: f.backlog_age_median,
     lambda f: f.backlog),
    ("sla_attainment", "SLA attainment", "pct", True, lambda f: f.sla_attainment, lambda f: f.sla_settled),
    ("csat", "CSAT", "pct", True, lambda f: f.csat.value if f.csat else None, lambda f: f.csat.n if f.csat else 0),
    ("created", "Tickets created", "int", True, lambda f: f.created, lambda f: f.created),
    ("solved", "Tickets solved", "int", True, lambda f: f.solved, lambda f: f.solved),
]


@dataclass
class Kpi:
    key: str
    label: str
    fmt: str
    value: float | None
    previous: float | None
    n: int
    delta: Delta
    business_hours: int = 0  # durations: how many values were measured in business hours
    ci: tuple[float | None, float | None] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "value": self.value, "previous": self.previous, "n": self.n,
                "change": self.delta.change, "direction": self.delta.direction, "verdict": self.delta.verdict,
                "business_hours": self.business_hours,
                "ci_low": self.ci[0] if self.ci else None, "ci_high": self.ci[1] if self.ci else None,
                "small_sample": self.n < SMALL_SAMPLE}


def kpis_compare(current: ServiceFigures, previous: ServiceFigures) -> list[Kpi]:
    out = []
    for key, label, fmt, better_up, value, size in KPI_SPECS:
        v = value(current)
        # A count of zero is a real figure; a rate or duration of nothing is "no data".
        cur = v if (v is not None and (fmt == "int" or size(current))) else None
        prev_v = value(previous)
        prev = prev_v if (prev_v is not None and (fmt == "int" or size(previous))) else None
        business = 0
        if key.startswith("frt"):
            business = current.first_response.business_hours
        elif key.startswith("nrt"):
            business = current.next_response.business_hours
        elif key.startswith("resolution_") and fmt == "duration":
            business = current.resolution.business_hours
        ci = (current.csat.ci_low, current.csat.ci_high) if key == "csat" and current.csat else None
        out.append(Kpi(key, label, fmt, cur, prev, size(current), Delta(cur, prev, better_up), business, ci))
    return out


@dataclass
class ServiceDashboard:
    period: Period
    previous: Period
    filters: ServiceFilters
    breakdown: str
    kpis: list[Kpi]
    current: ServiceFigures
    groups: list[tuple[str, ServiceFigures]]
    leaderboard: list[tuple[str, int | None, ServiceFigures]]
    daily: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period.as_dict(), "previous_period": self.previous.as_dict(),
                "filters": self.filters.as_dict(), "breakdown": self.breakdown,
                "kpis": [k.as_dict() for k in self.kpis],
                "breakdown_rows": [{"group": label, **f.as_dict()} for label, f in self.groups],
                "leaderboard": [{"agent": label, "agent_id": agent_id, **f.as_dict()}
                                for label, agent_id, f in self.leaderboard],
                "daily": [{**d, "day": d["day"].isoformat()} for d in self.daily]}


def _group_labels(group: str, keys: Iterable[Any]) -> dict[Any, str]:
    keys = list(keys)
    if group == "agent":
        names = {u.pk: u.display_name for u in User.objects.filter(pk__in=[k for k in keys if k is not None])}
        return {k: names.get(k, f"Agent {k}") if k is not None else "(unassigned)" for k in keys}
    if group == "team":
        names = dict(Team.objects.filter(pk__in=[k for k in keys if k is not None]).values_list("pk", "name"))
        return {k: names.get(k, f"Team {k}") if k is not None else "(no team)" for k in keys}
    labels = dict(Channel.choices) if group == "channel" else dict(Priority.choices)
    return {k: labels.get(k, str(k)) for k in keys}


def _daily(*, filters: ServiceFilters, period: Period) -> list[dict[str, Any]]:
    tickets = Ticket.objects.filter(**filters.ticket_filter())
    tz = timezone.get_current_timezone()
    created = dict(tickets.filter(created_at__gte=period.start, created_at__lt=period.end)
                   .annotate(day=TruncDate("created_at", tzinfo=tz)).values("day").annotate(n=Count("pk"))
                   .order_by().values_list("day", "n"))
    solved = dict(tickets.filter(status_category__in=DONE, solved_at__gte=period.start, solved_at__lt=period.end)
                  .annotate(day=TruncDate("solved_at", tzinfo=tz)).values("day").annotate(n=Count("pk"))
                  .order_by().values_list("day", "n"))
    days = []
    day = period.first_day
    while day <= period.last_day:
        days.append({"day": day, "created": created.get(day, 0), "solved": solved.get(day, 0)})
        day += timedelta(days=1)
    return days


def service_dashboard(*, actor: User, filters: ServiceFilters, period: Period, breakdown: str = "channel",
                      token_scope: AccessLevel | None = None, now: datetime | None = None) -> ServiceDashboard:
    insights_access_check(actor=actor, token_scope=token_scope)
    previous = period.previous()
    calendars: dict[int, BusinessCalendar] = {}
    sets = service_figure_sets(filters=filters, period=period, groups=(None, breakdown, "agent"), now=now,
                               calendars=calendars)
    current, grouped, by_agent = sets[None][ALL], sets[breakdown], sets["agent"]
    before = service_figure_sets(filters=filters, period=previous, now=now, calendars=calendars)[None][ALL]
    labels = _group_labels(breakdown, grouped)
    groups = sorted(((labels[k], f) for k, f in grouped.items() if f.created or f.solved or f.backlog
                     or f.next_response.n or f.sla_settled or (f.csat and f.csat.n)),
                    key=lambda item: (-item[1].created, item[0]))
    agent_labels = _group_labels("agent", by_agent)
    leaderboard = sorted(((agent_labels[k], k, f) for k, f in by_agent.items() if k is not None and f.solved),
                         key=lambda item: (-item[2].solved, item[2].resolution.median or 0, item[0]))
    return ServiceDashboard(period=period, previous=previous, filters=filters, breakdown=breakdown,
                            kpis=kpis_compare(current, before), current=current, groups=groups, leaderboard=leaderboard,
                            daily=_daily(filters=filters, period=period))


# --- Experience figures ------------------------------------------------------------------------------------------

SCORE_FIELDS = {SurveyKind.NPS: "nps_score", SurveyKind.CSAT: "csat_score", SurveyKind.CES: "ces_score"}


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def score_overall(*, kind: str, period: Period) -> ScoreRow:
    score_field = SCORE_FIELDS[kind]
    rows = (Response.objects.filter(**{f"{score_field}__isnull": False}, started_at__gte=period.start,
                                    started_at__lt=period.end)
            .values_list(score_field).annotate(n=Count("pk")).order_by())
    return score_of(kind, _score_lists((ALL, s, n) for s, n in rows).get(ALL, []))


def score_trend(*, kind: str, period: Period) -> list[ScoreRow]:
    """Weekly (Monday-start) scores with their intervals; weeks without answers are left out."""
    score_field = SCORE_FIELDS[kind]
    tz = timezone.get_current_timezone()
    rows = (Response.objects.filter(**{f"{score_field}__isnull": False}, started_at__gte=period.start,
                                    started_at__lt=period.end)
            .annotate(day=TruncDate("started_at", tzinfo=tz)).values_list("day", score_field)
            .annotate(n=Count("pk")).order_by())
    lists = _score_lists((_week(day), score, n) for day, score, n in rows)
    return [score_of(kind, lists[week], week.isoformat()) for week in sorted(lists)]


@dataclass
class HeatmapRow:
    stage: str
    label: str
    scores: dict[str, ScoreRow]


def touchpoint_heatmap(*, period: Period) -> list[HeatmapRow]:
    """Per journey stage: the scores of survey answers (in the period) whose customer had a touchpoint of that
    stage in the 30 days up to the answer; each answer counts once per stage."""
    out: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for kind, score_field in SCORE_FIELDS.items():
        rows = (Response.objects.filter(**{f"{score_field}__isnull": False}, started_at__gte=period.start,
                                        started_at__lt=period.end,
                                        customer__touchpoints__occurred_at__lte=F("started_at"),
                                        customer__touchpoints__occurred_at__gte=F("started_at") - TOUCHPOINT_LOOKBACK)
                .values_list("customer__touchpoints__stage", score_field)
                .annotate(n=Count("pk", distinct=True)).order_by())
        for stage, scores in _score_lists(rows).items():
            out[stage][kind] = scores
    labels = dict(Stage.choices)
    return [HeatmapRow(stage=stage, label=labels[stage],
                       scores={kind: score_of(kind, out[stage].get(kind, [])) for kind in SCORE_FIELDS})
            for stage in Stage.values if stage in out]


@dataclass
class FunnelView:
    """The main funnel: ``steps`` of (label, people, % of first step); ``source`` says which funnel it is."""

    name: str
    source: str  # "saved" or "stages"
    steps: list[dict[str, Any]]
    link: str = ""
    error: str = ""


def insights_settings() -> InsightsSettings:
    return InsightsSettings.objects.filter(pk=1).first() or InsightsSettings(pk=1)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def main_funnel(*, period: Period) -> FunnelView:
    """The admin's chosen journey funnel (cx.journeys analytics) over the period, or the lifecycle stage funnel."""
    from cx.journeys import analytics
    from cx.journeys.analytics_views import funnel_spec_from
    from cx.journeys.catalog import catalog_entries
    from cx.journeys.store import store_engine

    chosen = insights_settings()
    try:
        if chosen.main_funnel_query:
            query = QueryDict(chosen.main_funnel_query, mutable=True)
            query["from"], query["to"] = period.first_day.isoformat(), period.last_day.isoformat()
            spec, errors, _ = funnel_spec_from(query)
            if spec is None:
                reasons = "; ".join(f"{k}: {v}" for k, v in errors.items())
                return FunnelView(chosen.main_funnel_name or "Main funnel", "saved", [],
                                  error=f"The saved funnel is invalid: {reasons}")
            with store_engine() as engine:
                result = analytics.funnel_run(engine, spec)
            counts = result.total.counts if result.rows else [0] * len(spec.steps)
            first = counts[0] if counts else 0
            steps = [{"label": f"{i + 1}. {step.event}", "people": counts[i],
                      "of_first": ratio(counts[i], first)} for i, step in enumerate(spec.steps)]
            return FunnelView(chosen.main_funnel_name or "Main funnel", "saved", steps if first else [],
                              link="/journeys/analytics/?" + query.urlencode())
        with store_engine() as engine:
            stages = analytics.stage_conversion_run(engine, catalog_entries(), start_ms=_ms(period.start),
                                                    end_ms=_ms(period.end))
    except Exception:  # the analytics store may not exist yet (no events loaded): show "no data", log why
        logger.warning("main funnel unavailable", exc_info=True)
        return FunnelView(chosen.main_funnel_name or "Lifecycle stages", "saved" if chosen.main_funnel_query
                          else "stages", [], error="The journey analytics store has no events yet.")
    labels = dict(Stage.choices)
    first = next((row["entered"] for row in stages if row["entered"]), 0)
    steps = [{"label": labels[row["stage"]], "people": row["entered"], "of_first": ratio(row["entered"], first),
              "conversion": None if row["conversion"] is None else 100 * row["conversion"]}
             for row in stages]
    return FunnelView("Lifecycle stages (people entering each stage)", "stages",
                      steps if any(s["people"] for s in steps) else [])


@dataclass
class ExperienceDashboard:
    period: Period
    previous: Period
    headline: list[Kpi]
    nps_trend: list[ScoreRow]
    ces_trend: list[ScoreRow]
    heatmap: list[HeatmapRow]
    funnel: FunnelView

    def as_dict(self) -> dict[str, Any]:
        def row(r: ScoreRow) -> dict[str, Any]:
            return {"week": r.key, "n": r.n, "value": r.value, "ci_low": r.ci_low, "ci_high": r.ci_high,
                    "small_sample": r.small_sample}

        return {"period": self.period.as_dict(), "previous_period": self.previous.as_dict(),
                "headline": [k.as_dict() for k in self.headline],
                "nps_trend": [row(r) for r in self.nps_trend], "ces_trend": [row(r) for r in self.ces_trend],
                "heatmap": [{"stage": h.stage, **{kind: {k: v for k, v in row(s).items() if k != "week"}
                                                  for kind, s in h.scores.items()}} for h in self.heatmap],
                "funnel": {"name": self.funnel.name, "source": self.funnel.source, "steps": self.funnel.steps,
                           "error": self.funnel.error}}


EXPERIENCE_KPIS = [(SurveyKind.NPS, "NPS", "float1", True), (SurveyKind.CSAT, "CSAT (all surveys)", "pct", True),
                   (SurveyKind.CES, "CES (mean, 1-7)", "float2", True)]


def experience_headline(*, period: Period) -> list[Kpi]:
    out = []
    for kind, label, fmt, better_up in EXPERIENCE_KPIS:
        cur, prev = score_overall(kind=kind, period=period), score_overall(kind=kind, period=period.previous())
        out.append(Kpi(kind, label, fmt, cur.value, prev.value, cur.n, Delta(cur.value, prev.value, better_up),
                       ci=(cur.ci_low, cur.ci_high)))
    return out


def experience_dashboard(*, actor: User, period: Period, token_scope: AccessLevel | None = None
                         ) -> ExperienceDashboard:
    insights_access_check(actor=actor, token_scope=token_scope)
    return ExperienceDashboard(period=period, previous=period.previous(), headline=experience_headline(period=period),
                               nps_trend=score_trend(kind=SurveyKind.NPS, period=period),
                               ces_trend=score_trend(kind=SurveyKind.CES, period=period),
                               heatmap=touchpoint_heatmap(period=period), funnel=main_funnel(period=period))


# --- The link between service and experience -------------------------------------------------------------------


@dataclass
class Proportion:
    """``k`` of ``n`` with a Wilson 95% interval, in percent (None when n = 0)."""

    label: str
    n: int
    k: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE

    @classmethod
    def of(cls, label: str, k: int, n: int) -> Proportion:
        if n == 0:
            return cls(label, 0, 0, None, None, None)
        low, high = wilson_interval(k, n)
        return cls(label, n, k, 100 * k / n, low, high)


@dataclass
class LinkReport:
    period: Period
    hours: int
    as_of: datetime
    retention: list[Proportion]
    retention_ratio: float | None
    repeat: list[Proportion]
    repeat_ratio: float | None
    nps_by_contacts: list[ScoreRow]
    churn_by_breaches: list[Proportion]

    def as_dict(self) -> dict[str, Any]:
        def prop(p: Proportion) -> dict[str, Any]:
            return {"group": p.label, "n": p.n, "k": p.k, "rate": p.rate, "ci_low": p.ci_low, "ci_high": p.ci_high,
                    "small_sample": p.small_sample}

        return {"period": self.period.as_dict(), "hours": self.hours, "as_of": self.as_of.isoformat(),
                "retention": [prop(p) for p in self.retention], "retention_ratio": self.retention_ratio,
                "repeat_purchase": [prop(p) for p in self.repeat], "repeat_purchase_ratio": self.repeat_ratio,
                "nps_by_contacts": [{"contacts": r.key, "n": r.n, "nps": r.value, "ci_low": r.ci_low,
                                     "ci_high": r.ci_high, "small_sample": r.small_sample}
                                    for r in self.nps_by_contacts],
                "churn_by_sla_breaches": [prop(p) for p in self.churn_by_breaches]}


def _ratio_of(a: Proportion, b: Proportion) -> float | None:
    if a.rate is None or b.rate is None or b.rate == 0:
        return None
    return a.rate / b.rate


def link_report(*, actor: User, period: Period, hours: int = 24, token_scope: AccessLevel | None = None,
                now: datetime | None = None) -> LinkReport:
    """Outcomes of customers by how fast their issues were resolved, NPS by contacts, churn by SLA breaches."""
    insights_access_check(actor=actor, token_scope=token_scope)
    now = now or timezone.now()
    threshold = timedelta(hours=hours)
    duration = ExpressionWrapper(F("solved_at") - F("created_at"), output_field=DurationField())
    solved = (Ticket.objects.filter(merged_into__isnull=True, status_category__in=DONE, solved_at__gte=period.start,
                                    solved_at__lt=period.end)
              .values("requester_id").annotate(slowest=Max(duration), last_solved=Max("solved_at")).order_by())
    speed: dict[int, tuple[bool, datetime]] = {}
    for row in solved:
        slowest = row["slowest"]
        if isinstance(slowest, int | float):  # some backends hand an aggregated duration back in microseconds
            slowest = timedelta(microseconds=slowest)
        speed[row["requester_id"]] = (slowest <= threshold, row["last_solved"])
    fast_label, slow_label = f"All issues resolved within {hours} h", f"Some issue took longer than {hours} h"

    outcomes = churn_outcomes(as_of=now, customer_ids=list(speed)) if speed else {}
    counts = {True: [0, 0], False: [0, 0]}  # fast → [retained, known]
    for customer_id, (fast, _) in speed.items():
        if customer_id in outcomes:
            counts[fast][1] += 1
            counts[fast][0] += 0 if outcomes[customer_id] else 1
    retention = [Proportion.of(fast_label, *counts[True]), Proportion.of(slow_label, *counts[False])]

    bought: set[int] = set()
    if speed:
        for order in orders(since=period.start, customer_ids=list(speed)):
            if order.occurred_at > speed[order.customer_id][1]:
                bought.add(order.customer_id)
    repeat_counts = {True: [0, 0], False: [0, 0]}
    for customer_id, (fast, _) in speed.items():
        repeat_counts[fast][1] += 1
        repeat_counts[fast][0] += customer_id in bought
    repeat = [Proportion.of(fast_label, *repeat_counts[True]), Proportion.of(slow_label, *repeat_counts[False])]

    contacts = Subquery(Ticket.objects.filter(requester_id=OuterRef("customer_id"), merged_into__isnull=True,
                                              created_at__lt=OuterRef("started_at"),
                                              created_at__gte=OuterRef("started_at") - CONTACT_LOOKBACK)
                        .order_by().values("requester_id").annotate(n=Count("pk")).values("n")[:1])
    rows = (Response.objects.filter(nps_score__isnull=False, started_at__gte=period.start, started_at__lt=period.end)
            .annotate(contacts=contacts).values_list("contacts", "nps_score").annotate(n=Count("pk")).order_by())
    buckets = _score_lists((min(c or 0, 3), s, n) for c, s, n in rows)
    nps_by_contacts = [score_of(SurveyKind.NPS, buckets.get(b, []), ["0", "1", "2", "3+"][b]) for b in range(4)]

    customers = set(Ticket.objects.filter(merged_into__isnull=True, created_at__gte=period.start,
                                          created_at__lt=period.end).values_list("requester_id", flat=True))
    breaches = dict(SlaClock.objects.filter(breached_at__isnull=False, ticket_sla__ticket__created_at__gte=period.start,
                                            ticket_sla__ticket__created_at__lt=period.end)
                    .values("ticket_sla__ticket__requester_id").annotate(n=Count("pk")).order_by()
                    .values_list("ticket_sla__ticket__requester_id", "n"))
    churned = churn_outcomes(as_of=now, customer_ids=list(customers)) if customers else {}
    churn_counts = {b: [0, 0] for b in range(3)}
    for customer_id in customers:
        if customer_id not in churned:
            continue
        bucket = min(breaches.get(customer_id, 0), 2)
        churn_counts[bucket][1] += 1
        churn_counts[bucket][0] += churned[customer_id]
    churn_by_breaches = [Proportion.of(label, *churn_counts[b])
                         for b, label in enumerate(["No SLA breach", "1 SLA breach", "2+ SLA breaches"])]
    return LinkReport(period=period, hours=hours, as_of=now, retention=retention,
                      retention_ratio=_ratio_of(retention[0], retention[1]), repeat=repeat,
                      repeat_ratio=_ratio_of(repeat[0], repeat[1]), nps_by_contacts=nps_by_contacts,
                      churn_by_breaches=churn_by_breaches)


# --- Digest ----------------------------------------------------------------------------------------------------


def digest_subscribed(*, user: User) -> bool:
    return DigestSubscription.objects.filter(user=user).exists()


def digest_subscribers() -> list[User]:
    """Active subscribers who may still see Insights and have an email address."""
    users = User.objects.filter(pk__in=DigestSubscription.objects.values("user_id"), is_active=True).exclude(email="")
    return [u for u in users.order_by("pk") if can_view_insights(u)]


BREAKDOWN_LABELS = BREAKDOWNS
