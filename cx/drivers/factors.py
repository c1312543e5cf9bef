"""Build the rows driver analysis regresses: one per survey answer (NPS, CSAT) or per customer (churn).

Each row describes what the customer went through in a window before the outcome: the tickets they opened
(how many, first response and resolution time, SLA breaches, reopenings, the channel) and which kinds of
touchpoints and journey stages they had. NPS and CSAT look at the 30 days before the answer. Churn is
prospective: customers active in the 90 days before the churn definition's inactivity window starts, their
factors from those 90 days, their label from ``cx.churn.selectors.churn_outcomes`` at the end of the period,
so the factors never contain the churn itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Q

from cx.churn.selectors import churn_outcomes
from cx.drivers.analysis import Factor
from cx.journeys.models import Stage, Touchpoint
from cx.surveys.models import Response
from cx.tickets.models import Channel, Ticket

SURVEY_WINDOW = timedelta(days=30)
CHURN_WINDOW = timedelta(days=90)
MAX_KINDS = 10
SKIPPED_KIND_PREFIXES = ("ticket.", "survey")  # ticket facts are their own factors; survey events are the outcome


@dataclass
class Dataset:
    factors: list[Factor]
    X: np.ndarray
    y: list  # the outcome per row: a score, or True/False churned
    window: str
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class _Ticket:
    created_at: datetime
    first_response_at: datetime | None
    solved_at: datetime | None
    breached: bool
    channel: str


def _tickets_by_customer(customer_ids: set[int], since: datetime, until: datetime) -> dict[int, list[_Ticket]]:
    found: dict[int, list[_Ticket]] = defaultdict(list)
    rows = (Ticket.objects.filter(requester_id__in=customer_ids, created_at__gte=since, created_at__lt=until,
                                  merged_into__isnull=True)
            .values_list("requester_id", "created_at", "first_response_at", "solved_at", "sla_breached_at", "channel")
            .order_by("created_at"))
    for customer_id, created, first, solved, breached, channel in rows.iterator():
        found[customer_id].append(_Ticket(created, first, solved, breached is not None, channel))
    return found


def _touchpoints_by_customer(customer_ids: set[int], since: datetime,
                             until: datetime) -> dict[int, list[tuple[datetime, str, str]]]:
    churn_events = set(settings.CXDESK_CHURN_EVENTS)
    found: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    rows = (Touchpoint.objects.filter(customer_id__in=customer_ids, occurred_at__gte=since, occurred_at__lt=until)
            .values_list("customer_id", "occurred_at", "kind", "stage", "properties").order_by("occurred_at"))
    for customer_id, at, kind, stage, properties in rows.iterator():
        if isinstance(properties, dict) and properties.get("event") in churn_events:
            continue  # the outcome itself, never a factor
        found[customer_id].append((at, kind, stage))
    return found


def _features(tickets: list[_Ticket], touchpoints: list[tuple[datetime, str, str]], start: datetime,
              end: datetime) -> dict[str, float]:
    window_tickets = [t for t in tickets if start <= t.created_at < end]
    in_window = [(kind, stage) for at, kind, stage in touchpoints if start <= at < end]
    kinds = {kind for kind, _ in in_window}
    features: dict[str, float] = {"had_ticket": float(bool(window_tickets)), "contacts": float(len(window_tickets))}
    responded = [(t.first_response_at - t.created_at).total_seconds() / 3600 for t in window_tickets
                 if t.first_response_at and t.first_response_at <= end]
    solved = [(t.solved_at - t.created_at).total_seconds() / 3600 for t in window_tickets
              if t.solved_at and t.solved_at <= end]
    features["first_response_hours"] = float(np.mean(responded)) if responded else 0.0
    features["resolution_hours"] = float(np.mean(solved)) if solved else 0.0
    features["sla_breached"] = float(any(t.breached for t in window_tickets))
    features["reopened"] = float("ticket.reopened" in kinds)
    if window_tickets:
        features[f"channel:{window_tickets[-1].channel}"] = 1.0
    for kind, stage in in_window:
        if not kind.startswith(SKIPPED_KIND_PREFIXES):
            features[f"kind:{kind}"] = 1.0
            features[f"stage:{stage}"] = 1.0
    return features


BASE_FACTORS = [
    Factor("had_ticket", "Contacted support", binary=True),
    Factor("contacts", "Number of tickets", unit="ticket", binary=False),
    Factor("first_response_hours", "First response time", unit="hour", binary=False),
    Factor("resolution_hours", "Resolution time", unit="hour", binary=False),
    Factor("sla_breached", "SLA breached", binary=True),
    Factor("reopened", "Ticket reopened", binary=True),
]


def _matrix(feature_rows: list[dict[str, float]], window_label: str) -> tuple[list[Factor], np.ndarray, list[str]]:
    """Columns: the base factors, ticket channels (the most common one is the baseline), the most common
    touchpoint kinds."""
    notes: list[str] = []
    factors = list(BASE_FACTORS)
    channels = Counter(key for row in feature_rows for key in row if key.startswith("channel:"))
    if channels:
        baseline = channels.most_common(1)[0][0]
        label = dict(Channel.choices)
        notes.append(f"Channel effects compare with tickets on {label.get(baseline[8:], baseline[8:])}.")
        for key, _count in channels.most_common():
            if key != baseline:
                factors.append(Factor(key, f"Ticket channel: {label.get(key[8:], key[8:])}"))
    kinds = Counter(key for row in feature_rows for key in row if key.startswith("kind:"))
    for key, _count in kinds.most_common(MAX_KINDS):
        factors.append(Factor(key, f"Touchpoint {key[5:]} ({window_label})"))
    if len(kinds) > MAX_KINDS:
        notes.append(f"Only the {MAX_KINDS} most common touchpoint kinds are factors ({len(kinds)} seen).")
    # Stages come after kinds: a stage that only repeats a kind is then the one dropped as collinear.
    stage_labels = dict(Stage.choices)
    for key, _count in Counter(key for row in feature_rows for key in row if key.startswith("stage:")).most_common():
        factors.append(Factor(key, f"Journey stage {stage_labels.get(key[6:], key[6:])} ({window_label})"))
    X = np.array([[row.get(f.key, 0.0) for f in factors] for row in feature_rows], dtype=float)
    return factors, X.reshape(len(feature_rows), len(factors)), notes


def survey_dataset(*, score: str, since: datetime, until: datetime) -> Dataset:
    """One row per NPS (``score="nps"``) or CSAT answer given in [since, until)."""
    field_name = {"nps": "nps_score", "csat": "csat_score"}[score]
    answers = list(Response.objects.filter(**{f"{field_name}__isnull": False}, started_at__gte=since,
                                           started_at__lt=until)
                   .values_list("customer_id", "started_at", field_name).order_by("started_at", "id"))
    customers = {customer_id for customer_id, _, _ in answers}
    tickets = _tickets_by_customer(customers, since - SURVEY_WINDOW, until)
    touchpoints = _touchpoints_by_customer(customers, since - SURVEY_WINDOW, until)
    rows = [_features(tickets.get(c, []), touchpoints.get(c, []), at - SURVEY_WINDOW, at) for c, at, _ in answers]
    factors, X, notes = _matrix(rows, "in the 30 days before")
    return Dataset(factors, X, [value for _, _, value in answers], "the 30 days before each answer", notes)


def churn_dataset(*, as_of: datetime) -> Dataset:
    """One row per customer active in the observation window; the label is churned by ``as_of``."""
    window_end = as_of - timedelta(days=settings.CXDESK_CHURN_INACTIVE_DAYS)
    window_start = window_end - CHURN_WINDOW
    churn_events = list(settings.CXDESK_CHURN_EVENTS)
    active = set(Touchpoint.objects.filter(occurred_at__gte=window_start, occurred_at__lt=window_end)
                 .exclude(Q(properties__has_key="event") & Q(properties__event__in=churn_events))
                 .values_list("customer_id", flat=True).distinct())
    # Customers who had already left before the window opened are not at risk in it.
    gone_before = set(Touchpoint.objects.filter(customer_id__in=active, occurred_at__lt=window_start,
                                                properties__event__in=churn_events)
                      .values_list("customer_id", flat=True))
    population = sorted(active - gone_before)
    labels = churn_outcomes(as_of=as_of, customer_ids=population)
    tickets = _tickets_by_customer(set(population), window_start, window_end)
    touchpoints = _touchpoints_by_customer(set(population), window_start, window_end)
    customers = [c for c in population if c in labels]
    rows = [_features(tickets.get(c, []), touchpoints.get(c, []), window_start, window_end) for c in customers]
    factors, X, notes = _matrix(rows, "in the window")
    window = (f"customers active {window_start:%Y-%m-%d} to {window_end:%Y-%m-%d}, churned by {as_of:%Y-%m-%d} "
              f"(event {', '.join(churn_events) or 'none'} or {settings.CXDESK_CHURN_INACTIVE_DAYS} days inactive)")
    return Dataset(factors, X, [bool(labels[c]) for c in customers], window, notes)
