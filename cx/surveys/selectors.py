"""Reads for surveys: permission-checked getters, the score report (trend and breakdowns with small-sample
warnings), the filtered response list (screen and CSV share it), themes, follow-ups and a ticket's score."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound, ValidationFailed
from cx.surveys import scoring
from cx.surveys.models import (
    FollowUp,
    Invitation,
    InvitationStatus,
    LoopState,
    Question,
    Response,
    Sentiment,
    Survey,
    SurveyKind,
    Theme,
)

METRIC_FIELD = {SurveyKind.NPS: "nps_score", SurveyKind.CSAT: "csat_score", SurveyKind.CES: "ces_score"}
BREAKDOWNS = {
    "agent": ("invitation__agent__username", "Agent"),
    "team": ("invitation__team__name", "Team"),
    "channel": ("invitation__ticket_channel", "Ticket channel"),
    "survey_channel": ("invitation__channel", "Survey channel (email, chat, in-app, ...)"),
    "ticket_type": ("invitation__ticket_type", "Ticket type"),
    "segment": ("customer__organization__name", "Customer segment (organisation)"),
    "touchpoint": ("invitation__touchpoint_kind", "Journey touchpoint"),
    "source": ("invitation__source", "Trigger"),
}
PAGE_SIZE = 50


def survey_list(*, actor: User) -> QuerySet[Survey]:
    require_access(actor, AccessLevel.READ)
    return Survey.objects.annotate(response_count=Count("responses", distinct=True)).order_by("status", "name")


def survey_get_for(*, actor: User, survey_id: int, token_scope: AccessLevel | None = None) -> Survey:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(f"Survey {survey_id} does not exist.")
    return survey


def question_get_for(*, actor: User, survey: Survey, question_id: int) -> Question:
    require_access(actor, AccessLevel.READ)
    question = survey.questions.filter(pk=question_id).first()
    if question is None:
        raise NotFound(f"Question {question_id} is not part of survey {survey.pk}.")
    return question


def follow_up_get_for(*, actor: User, follow_up_id: int, token_scope: AccessLevel | None = None) -> FollowUp:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    follow_up = FollowUp.objects.select_related("response__survey", "response__customer", "owner", "ticket") \
        .filter(pk=follow_up_id).first()
    if follow_up is None:
        raise NotFound(f"Follow-up {follow_up_id} does not exist.")
    return follow_up


# --- filters ----------------------------------------------------------------------------------------------

@dataclass
class ResponseFilter:
    survey_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    score_min: int | None = None
    score_max: int | None = None
    sentiment: str = ""
    agent_id: int | None = None
    team_id: int | None = None
    channel: str = ""
    theme_id: int | None = None
    loop_state: str = ""
    has_comment: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> ResponseFilter:
        """Parse query parameters (a QueryDict or dict); bad values are collected, never guessed."""
        result = cls()

        def number(name: str) -> int | None:
            raw = (params.get(name) or "").strip()
            if not raw:
                return None
            if not raw.lstrip("-").isdigit() or len(raw) > 9:
                result.errors[name] = "a whole number"
                return None
            return int(raw)

        def day(name: str) -> date | None:
            raw = (params.get(name) or "").strip()
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                result.errors[name] = "a date like 2026-11-23"
                return None

        result.survey_id = number("survey")
        result.date_from, result.date_to = day("from"), day("to")
        result.score_min, result.score_max = number("score_min"), number("score_max")
        result.agent_id, result.team_id, result.theme_id = number("agent"), number("team"), number("theme")
        result.sentiment = (params.get("sentiment") or "").strip()
        if result.sentiment and result.sentiment not in Sentiment.values:
            result.errors["sentiment"] = f"one of {', '.join(Sentiment.values)}"
        result.channel = (params.get("channel") or "").strip()[:16]
        result.loop_state = (params.get("loop") or "").strip()
        if result.loop_state and result.loop_state not in [*LoopState.values, "none"]:
            result.errors["loop"] = f"one of {', '.join(LoopState.values)}, none"
        result.has_comment = (params.get("comment") or "") in ("1", "on", "true")
        return result

    def as_params(self) -> dict[str, str]:
        values = {"survey": self.survey_id, "from": self.date_from, "to": self.date_to, "score_min": self.score_min,
                  "score_max": self.score_max, "sentiment": self.sentiment, "agent": self.agent_id,
                  "team": self.team_id, "channel": self.channel, "theme": self.theme_id, "loop": self.loop_state,
                  "comment": "1" if self.has_comment else ""}
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _day_start(value: date) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min))


def responses_filtered(*, actor: User, filters: ResponseFilter,
                       token_scope: AccessLevel | None = None) -> QuerySet[Response]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if filters.errors:
        raise ValidationFailed("Some filters are invalid.", fields=filters.errors)
    qs = Response.objects.select_related("survey", "customer", "customer__organization", "invitation__agent",
                                         "invitation__team", "theme", "ticket", "follow_up")
    if filters.survey_id is not None:
        qs = qs.filter(survey_id=filters.survey_id)
    if filters.date_from:
        qs = qs.filter(started_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(started_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    score = Q()
    if filters.score_min is not None or filters.score_max is not None:
        low = filters.score_min if filters.score_min is not None else -1
        high = filters.score_max if filters.score_max is not None else 99
        score = (Q(nps_score__gte=low, nps_score__lte=high) | Q(csat_score__gte=low, csat_score__lte=high)
                 | Q(ces_score__gte=low, ces_score__lte=high))
    qs = qs.filter(score)
    if filters.sentiment:
        qs = qs.filter(sentiment=filters.sentiment)
    if filters.agent_id is not None:
        qs = qs.filter(invitation__agent_id=filters.agent_id)
    if filters.team_id is not None:
        qs = qs.filter(invitation__team_id=filters.team_id)
    if filters.channel:
        qs = qs.filter(Q(invitation__ticket_channel=filters.channel) | Q(invitation__channel=filters.channel))
    if filters.theme_id is not None:
        qs = qs.filter(theme_id=filters.theme_id)
    if filters.loop_state == "none":
        qs = qs.filter(follow_up__isnull=True)
    elif filters.loop_state:
        qs = qs.filter(follow_up__state=filters.loop_state)
    if filters.has_comment:
        qs = qs.exclude(comment="")
    return qs.order_by("-started_at", "-id")


def response_row(response: Response) -> dict[str, Any]:
    """One response as the list shows it and the CSV exports it (same columns, same order)."""
    follow_up = getattr(response, "follow_up", None) if hasattr(response, "follow_up") else None
    return {
        "id": response.pk,
        "date": timezone.localtime(response.started_at).strftime("%Y-%m-%d %H:%M"),
        "survey": response.survey.name,
        "customer": response.customer.name,
        "segment": response.customer.organization.name if response.customer.organization else "",
        "score": next((s for s in (response.nps_score, response.csat_score, response.ces_score) if s is not None),
                      ""),
        "comment": response.comment,
        "sentiment": response.sentiment,
        "theme": response.theme.label if response.theme else "",
        "agent": response.invitation.agent.username if response.invitation.agent else "",
        "team": response.invitation.team.name if response.invitation.team else "",
        "ticket": response.ticket_id or "",
        "loop": follow_up.state if follow_up else "",
        "status": "complete" if response.completed_at else "partial",
    }


CSV_COLUMNS = ["id", "date", "survey", "customer", "segment", "score", "comment", "sentiment", "theme", "agent",
               "team", "ticket", "loop", "status"]


# --- scores -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoreRow:
    key: str
    n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    detail: str
    small_sample: bool


def score_of(kind: str, scores: list[int], key: str = "") -> ScoreRow:
    if kind == SurveyKind.NPS:
        r = scoring.nps(scores)
        detail = f"{r.promoters} promoters, {r.passives} passives, {r.detractors} detractors" if r.n else ""
        if r.standard_error is not None:
            detail += f"; SE {r.standard_error:.1f}"
        return ScoreRow(key, r.n, r.nps, r.ci_low, r.ci_high, detail, r.small_sample)
    if kind == SurveyKind.CSAT:
        r = scoring.csat(scores)
        detail = f"{r.satisfied} of {r.n} satisfied (4-5); mean {r.mean:.2f}" if r.n else ""
        return ScoreRow(key, r.n, r.csat, r.ci_low, r.ci_high, detail, r.small_sample)
    r = scoring.ces(scores)
    detail = f"{r.agree_percent:.0f}% agree (5-7)" if r.n else ""
    return ScoreRow(key, r.n, r.mean, r.ci_low, r.ci_high, detail, r.small_sample)


@dataclass
class SurveyReport:
    survey: Survey
    metric: str | None
    overall: ScoreRow | None
    trend: list[ScoreRow]
    breakdowns: dict[str, tuple[str, list[ScoreRow]]]
    distribution: list[tuple[int, int]]
    funnel: dict[str, int]
    loop: dict[str, int]
    skipped: int


def survey_report(*, actor: User, survey: Survey, filters: ResponseFilter, granularity: str = "week",
                  token_scope: AccessLevel | None = None) -> SurveyReport:
    filters.survey_id = survey.pk
    qs = responses_filtered(actor=actor, filters=filters, token_scope=token_scope)
    metric = survey.kind if survey.kind in METRIC_FIELD else None
    overall = None
    trend: list[ScoreRow] = []
    breakdowns: dict[str, tuple[str, list[ScoreRow]]] = {}
    distribution: list[tuple[int, int]] = []
    skipped = 0
    if metric:
        score_field = METRIC_FIELD[metric]
        scored = qs.filter(**{f"{score_field}__isnull": False})
        values = list(scored.values_list(score_field, flat=True))
        overall = score_of(metric, values)
        skipped = qs.filter(**{f"{score_field}__isnull": True}).count()
        buckets: dict[str, list[int]] = defaultdict(list)
        for started, value in scored.values_list("started_at", score_field):
            local = timezone.localtime(started).date()
            if granularity == "month":
                bucket = local.strftime("%Y-%m")
            elif granularity == "day":
                bucket = local.isoformat()
            else:
                monday = local - timedelta(days=local.weekday())
                bucket = monday.isoformat()
            buckets[bucket].append(value)
        trend = [score_of(metric, buckets[key], key) for key in sorted(buckets)]
        for name, (path, label) in BREAKDOWNS.items():
            groups: dict[str, list[int]] = defaultdict(list)
            for group, value in scored.values_list(path, score_field):
                groups[group or "—"].append(value)
            if len(groups) > 1 or (groups and "—" not in groups):
                rows = [score_of(metric, vals, key) for key, vals in groups.items()]
                breakdowns[name] = (label, sorted(rows, key=lambda r: (-r.n, r.key)))
        counts = dict(scored.order_by().values_list(score_field).annotate(n=Count("id")))
        low, high = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5), SurveyKind.CES: (1, 7)}[metric]
        distribution = [(s, counts.get(s, 0)) for s in range(low, high + 1)]
    invitations = Invitation.objects.filter(survey=survey)
    funnel = {
        "sent": invitations.filter(sent_at__isnull=False).count(),
        "opened": invitations.filter(opened_at__isnull=False).count(),
        "answered": invitations.filter(status=InvitationStatus.ANSWERED).count(),
        "suppressed": invitations.filter(status=InvitationStatus.SUPPRESSED).count(),
        "scheduled": invitations.filter(status=InvitationStatus.SCHEDULED).count(),
    }
    loop = dict(FollowUp.objects.filter(response__survey=survey).values_list("state").annotate(n=Count("id")))
    return SurveyReport(survey=survey, metric=metric, overall=overall, trend=trend, breakdowns=breakdowns,
                        distribution=distribution, funnel=funnel,
                        loop={state: loop.get(state, 0) for state in LoopState.values}, skipped=skipped)


@dataclass(frozen=True)
class ThemeSummary:
    theme: Theme
    n: int
    mean_sentiment: float | None
    negative_share: float | None
    trend: list[tuple[str, int]]


def theme_summaries(*, actor: User, survey_id: int | None = None) -> list[ThemeSummary]:
    require_access(actor, AccessLevel.READ)
    summaries = []
    for theme in Theme.objects.all():
        qs = theme.responses.all()
        if survey_id is not None:
            qs = qs.filter(survey_id=survey_id)
        rows = list(qs.values_list("started_at", "sentiment", "sentiment_score"))
        if not rows:
            continue
        scores = [s for _, _, s in rows if s is not None]
        months: dict[str, int] = defaultdict(int)
        for started, _, _ in rows:
            months[timezone.localtime(started).strftime("%Y-%m")] += 1
        summaries.append(ThemeSummary(theme=theme, n=len(rows),
                                      mean_sentiment=sum(scores) / len(scores) if scores else None,
                                      negative_share=100 * sum(1 for _, s, _ in rows if s == "negative") / len(rows),
                                      trend=sorted(months.items())))
    return summaries


def follow_ups(*, actor: User, state: str = "", token_scope: AccessLevel | None = None) -> QuerySet[FollowUp]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    qs = FollowUp.objects.select_related("response__survey", "response__customer", "owner", "team", "ticket",
                                         "resurvey__response")
    if state:
        if state not in LoopState.values:
            raise ValidationFailed("Unknown state.", fields={"state": f"one of {', '.join(LoopState.values)}"})
        qs = qs.filter(state=state)
    return qs.order_by("state", "-created_at")


def loop_counts() -> dict[str, int]:
    counts = dict(FollowUp.objects.values_list("state").annotate(n=Count("id")))
    return {state: counts.get(state, 0) for state in LoopState.values}


def ticket_satisfaction(*, actor: User, ticket_id: int) -> list[Response]:
    """The survey responses about a ticket, newest first (usually one)."""
    require_access(actor, AccessLevel.READ)
    return list(Response.objects.filter(ticket_id=ticket_id).select_related("survey", "follow_up")
                .order_by("-started_at")[:5])


def customer_satisfaction(*, actor: User, customer_id: int) -> list[Response]:
    require_access(actor, AccessLevel.READ)
    return list(Response.objects.filter(customer_id=customer_id).select_related("survey")
                .order_by("-started_at")[:5])


def segment_customer_ids(*, actor: User, organization_id: int | None = None, language: str = "",
                         touchpoint_kind: str = "", within_days: int | None = None,
                         ticket_solved_days: int | None = None, limit: int = 50_000) -> list[int]:
    """A segment for a manual send: live customers with an email address, narrowed by organisation,
    language, a journey event within N days, or a ticket solved within N days."""
    from cx.customers.models import Customer, IdentityKind
    from cx.journeys.models import Touchpoint

    require_access(actor, AccessLevel.READ)
    now = timezone.now()
    qs = Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True,
                                 identities__kind=IdentityKind.EMAIL)
    if organization_id:
        qs = qs.filter(organization_id=organization_id)
    if language:
        qs = qs.filter(language__iexact=language)
    if touchpoint_kind:
        events = Touchpoint.objects.filter(kind=touchpoint_kind)
        if within_days:
            events = events.filter(occurred_at__gte=now - timedelta(days=within_days))
        qs = qs.filter(pk__in=events.values("customer_id"))
    if ticket_solved_days:
        from cx.tickets.models import Ticket

        qs = qs.filter(pk__in=Ticket.objects.filter(solved_at__gte=now - timedelta(days=ticket_solved_days))
                       .values("requester_id"))
    return list(qs.distinct().order_by("pk").values_list("pk", flat=True)[:limit])
