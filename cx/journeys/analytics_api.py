"""Journey analytics over the API: funnels (with drop-off lists), paths, retention, friction, journey map and
stage conversion, plus the touchpoint catalog. Read access is enough for analytics; the catalog needs write.

Times in requests are ISO-8601 date-times with a time zone; durations are seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import AwareDatetime, ConfigDict

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.core.errors import NotFound
from cx.journeys import analytics as A
from cx.journeys import services
from cx.journeys.catalog import catalog_entries
from cx.journeys.models import Department, Stage, TouchpointDefinition
from cx.journeys.store import store_engine

router = Router(tags=["journey analytics"])


def _read(request: HttpRequest) -> None:
    require_access(request.auth, AccessLevel.READ, token_scope=getattr(request, "auth_scope", None))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class FilterIn(Strict):
    property: str = Field(min_length=1, max_length=100)
    op: Literal["eq", "neq", "contains", "gt", "lt"] = "eq"
    value: str = Field(max_length=200)


class StepIn(Strict):
    event: str = Field(min_length=1, max_length=200)
    filters: list[FilterIn] = Field(default_factory=list, max_length=5)
    window_seconds: int | None = Field(None, gt=0, description="From the previous required step")
    optional: bool = False


class ExclusionIn(Strict):
    event: str = Field(min_length=1, max_length=200)
    after_step: int = Field(ge=0, description="0-based index of a required step")
    before_step: int = Field(ge=0)
    filters: list[FilterIn] = Field(default_factory=list, max_length=5)


class FunnelIn(Strict):
    steps: list[StepIn] = Field(min_length=2, max_length=A.MAX_STEPS)
    start: AwareDatetime
    end: AwareDatetime
    window_seconds: int = Field(14 * 86400, gt=0)
    exclusions: list[ExclusionIn] = Field(default_factory=list, max_length=5)
    breakdown: str | None = Field(None, max_length=100)


class DropoffIn(FunnelIn):
    step: int = Field(ge=0, description="A required step (0-based): people who reached it but not the next one")
    breakdown_value: str | None = None
    limit: int = Field(100, ge=1, le=10_000)


def _filters(items: list[FilterIn]) -> tuple[A.PropertyFilter, ...]:
    return tuple(A.PropertyFilter(f.property, f.op, f.value) for f in items)


def _funnel(payload: FunnelIn) -> A.FunnelSpec:
    spec = A.FunnelSpec(
        steps=tuple(A.FunnelStep(s.event, _filters(s.filters), s.window_seconds, s.optional) for s in payload.steps),
        start_ms=_ms(payload.start), end_ms=_ms(payload.end), window_seconds=payload.window_seconds,
        exclusions=tuple(A.FunnelExclusion(x.event, x.after_step, x.before_step, _filters(x.filters))
                         for x in payload.exclusions),
        breakdown=payload.breakdown or None)
    spec.validate()
    return spec


@router.post("/journeys/funnel", summary="Funnel: people per step, per breakdown value, with times to convert")
def funnel(request: HttpRequest, payload: FunnelIn) -> dict[str, Any]:
    _read(request)
    spec = _funnel(payload)
    with store_engine() as engine:
        result = A.funnel_run(engine, spec)
    return {"steps": [s.event for s in spec.steps],
            "rows": [{"breakdown": r.breakdown, "counts": r.counts, "median_seconds": r.median_seconds,
                      "avg_seconds": r.avg_seconds, "median_total_seconds": r.median_total_seconds}
                     for r in result.rows]}


@router.post("/journeys/funnel/dropoff", summary="People who dropped off after a step (with their customer id)")
def funnel_dropoff(request: HttpRequest, payload: DropoffIn) -> dict[str, Any]:
    _read(request)
    spec = _funnel(payload)
    with store_engine() as engine:
        people = A.funnel_dropoff(engine, spec, step=payload.step, breakdown=payload.breakdown_value,
                                  limit=payload.limit)
    return {"people": [{"person_id": p, "customer_id": c} for p, c in people]}


class RuleIn(Strict):
    pattern: str = Field(min_length=1, max_length=200)
    label: str = Field(min_length=1, max_length=200)


class PathsIn(Strict):
    event: str = Field(min_length=1, max_length=200)
    start: AwareDatetime
    end: AwareDatetime
    direction: Literal["after", "before"] = "after"
    steps: int = Field(3, ge=1, le=10)
    rules: list[RuleIn] = Field(default_factory=list, max_length=20)


@router.post("/journeys/paths", summary="The N steps after or before an event, with path-cleaning rules")
def paths(request: HttpRequest, payload: PathsIn) -> dict[str, Any]:
    _read(request)
    spec = A.PathSpec(event=payload.event, start_ms=_ms(payload.start), end_ms=_ms(payload.end),
                      direction=payload.direction, steps=payload.steps,
                      rules=tuple(A.CleaningRule(r.pattern, r.label) for r in payload.rules))
    with store_engine() as engine:
        result = A.paths_run(engine, spec)
    return {"anchor_people": result["anchor_people"],
            "links": [{"depth": d, "from": a, "to": b, "people": n} for d, a, b, n in result["links"]]}


class RetentionIn(Strict):
    start_event: str = Field(min_length=1, max_length=200)
    return_event: str = Field(min_length=1, max_length=200)
    start: AwareDatetime
    end: AwareDatetime
    period_days: int = Field(7, ge=1, le=90)
    periods: int = Field(8, ge=1, le=52)


@router.post("/journeys/retention", summary="Retention cohorts")
def retention(request: HttpRequest, payload: RetentionIn) -> dict[str, Any]:
    _read(request)
    spec = A.RetentionSpec(start_event=payload.start_event, return_event=payload.return_event,
                           start_ms=_ms(payload.start), end_ms=_ms(payload.end), period_days=payload.period_days,
                           periods=payload.periods)
    with store_engine() as engine:
        return {"cohorts": A.retention_run(engine, spec)}


class FrictionIn(Strict):
    outcome: Literal["support", "churn", "low_score"]
    start: AwareDatetime
    end: AwareDatetime
    lookback_days: int = Field(14, ge=1, le=365)
    churn_days: int = Field(30, ge=1, le=365)
    score_max: float = Field(6, ge=0, le=10)
    min_people: int = Field(5, ge=1)


@router.post("/journeys/friction", summary="Touchpoints preceding support contact, churn or a low score, by lift")
def friction(request: HttpRequest, payload: FrictionIn) -> dict[str, Any]:
    _read(request)
    spec = A.FrictionSpec(outcome=payload.outcome, start_ms=_ms(payload.start), end_ms=_ms(payload.end),
                          lookback_days=payload.lookback_days, churn_days=payload.churn_days,
                          score_max=payload.score_max, min_people=payload.min_people)
    with store_engine() as engine:
        return A.friction_run(engine, catalog_entries(), spec)


@router.get("/journeys/map", summary="Journey map: stages x touchpoints with volume, conversion, satisfaction, "
                                     "contact rate and owner; and stage conversion with time in stage")
def journey_map(request: HttpRequest, start: AwareDatetime, end: AwareDatetime) -> dict[str, Any]:
    _read(request)
    entries = catalog_entries()
    with store_engine() as engine:
        return {"touchpoints": A.journey_map_run(engine, entries, start_ms=_ms(start), end_ms=_ms(end)),
                "stages": A.stage_conversion_run(engine, entries, start_ms=_ms(start), end_ms=_ms(end))}


class DefinitionIn(Strict):
    event: str = Field(min_length=1, max_length=200)
    property_name: str = Field("", max_length=100)
    property_value: str = Field("", max_length=200)
    name: str = Field(min_length=1, max_length=120)
    stage: Stage
    channel: str = Field("web", max_length=32)
    department: Department
    description: str = ""


class DefinitionOut(Schema):
    id: int
    event: str
    property_name: str
    property_value: str
    name: str
    stage: str
    channel: str
    department: str
    description: str


@router.get("/journeys/catalog", response=list[DefinitionOut], summary="The touchpoint catalog")
def catalog_list(request: HttpRequest):
    _read(request)
    return list(TouchpointDefinition.objects.all())


@router.get("/journeys/catalog/unmapped", summary="Events that arrive but are not in the catalog (triage)")
def catalog_unmapped(request: HttpRequest) -> dict[str, Any]:
    _read(request)
    mapped = set(TouchpointDefinition.objects.values_list("event", flat=True))
    with store_engine() as engine:
        known = A.event_names(engine, limit=1000)
    return {"events": [{"event": e, "type": t, "count": n} for e, t, n in known if e not in mapped]}


@router.post("/journeys/catalog", response={201: DefinitionOut}, summary="Add a touchpoint to the catalog")
def catalog_create(request: HttpRequest, payload: DefinitionIn):
    require_access(request.auth, AccessLevel.WRITE, token_scope=getattr(request, "auth_scope", None))
    return services.touchpoint_definition_save(actor=request.auth, instance=None,
                                               values=payload.model_dump(mode="json"))


@router.delete("/journeys/catalog/{int:definition_id}", response={204: None}, summary="Remove a catalog entry")
def catalog_delete(request: HttpRequest, definition_id: int):
    require_access(request.auth, AccessLevel.WRITE, token_scope=getattr(request, "auth_scope", None))
    definition = TouchpointDefinition.objects.filter(pk=definition_id).first()
    if definition is None:
        raise NotFound("No such catalog entry.")
    services.touchpoint_definition_delete(actor=request.auth, definition=definition)
