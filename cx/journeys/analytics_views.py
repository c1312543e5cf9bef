"""Journey pages: touchpoint catalog, funnels, paths, retention, friction finder and the journey map.

Analytics read the analytics store (DuckDB by default) through cx.journeys.analytics; everyone with read
access (analysts included) may use them; editing the catalog needs write access.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.core.errors import DomainError, ValidationFailed
from cx.core.views import render_domain_error
from cx.journeys import analytics as A
from cx.journeys import services
from cx.journeys.catalog import catalog_entries
from cx.journeys.models import Department, Stage, TouchpointDefinition
from cx.journeys.store import store_engine

MAX_FORM_STEPS = 6
STAGE_LABELS = dict(Stage.choices)
CHART_COLOURS = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2"]


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="journeys")


def _read(request: HttpRequest) -> None:
    require_access(request.user, AccessLevel.READ)


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _range(query: QueryDict, errors: dict[str, str], *, default_days: int = 90) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    values = []
    for name, fallback in (("from", today - timedelta(days=default_days)), ("to", today)):
        raw = query.get(name, "")
        if not raw:
            values.append(fallback)
            continue
        try:
            values.append(date.fromisoformat(raw))
        except ValueError:
            errors[name] = "a date like 2026-01-31"
            values.append(fallback)
    if values[1] < values[0]:
        errors["to"] = "on or after the start"
    return values[0], values[1]


def _int(query: QueryDict, name: str, default: int, low: int, high: int, errors: dict[str, str]) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        errors[name] = "a whole number"
        return default
    if not low <= value <= high:
        errors[name] = f"{low} to {high}"
        return default
    return value


def _filters(query: QueryDict, prefix: str, errors: dict[str, str]) -> tuple[A.PropertyFilter, ...]:
    prop = query.get(f"{prefix}-prop", "").strip()
    if not prop:
        return ()
    op = query.get(f"{prefix}-op", "eq")
    value = query.get(f"{prefix}-value", "")
    if op not in A.OPS:
        errors[f"{prefix}-op"] = f"one of {', '.join(A.OPS)}"
        return ()
    if op in ("gt", "lt"):
        try:
            float(value)
        except ValueError:
            errors[f"{prefix}-value"] = "a number for greater/less than"
            return ()
    return (A.PropertyFilter(prop, op, value),)


def funnel_spec_from(query: QueryDict) -> tuple[A.FunnelSpec | None, dict[str, str], list[dict[str, Any]]]:
    """The funnel in the builder's query string; returns (spec or None, errors, rows to redisplay)."""
    errors: dict[str, str] = {}
    rows = []
    steps = []
    for i in range(MAX_FORM_STEPS):
        prefix = f"step-{i}"
        event = query.get(f"{prefix}-event", "").strip()
        row = {"index": i, "number": i + 1, "event": event, "prop": query.get(f"{prefix}-prop", ""),
               "op": query.get(f"{prefix}-op", "eq"), "value": query.get(f"{prefix}-value", ""),
               "window": query.get(f"{prefix}-window", ""), "optional": query.get(f"{prefix}-optional") == "on"}
        rows.append(row)
        if not event:
            continue
        window_hours = _int(query, f"{prefix}-window", 0, 0, 24 * 365, errors)
        steps.append(A.FunnelStep(event=event, filters=_filters(query, prefix, errors),
                                  window_seconds=window_hours * 3600 or None, optional=row["optional"]))
    start, end = _range(query, errors)
    window_days = _int(query, "window", 14, 1, 365, errors)
    exclusions = []
    ex_event = query.get("ex-event", "").strip()
    if ex_event:
        after = _int(query, "ex-after", 1, 1, MAX_FORM_STEPS, errors) - 1
        before = _int(query, "ex-before", 2, 1, MAX_FORM_STEPS, errors) - 1
        exclusions.append(A.FunnelExclusion(event=ex_event, after_step=after, before_step=before,
                                            filters=_filters(query, "ex", errors)))
    if len(steps) < 2:
        errors["step-1-event"] = "a funnel needs at least two steps"
    if errors:
        return None, errors, rows
    spec = A.FunnelSpec(steps=tuple(steps), start_ms=_ms(start), end_ms=_ms(end + timedelta(days=1)),
                        window_seconds=window_days * 86400, exclusions=tuple(exclusions),
                        breakdown=query.get("breakdown", "").strip() or None)
    try:
        spec.validate()
    except ValidationFailed as exc:
        return None, exc.fields, rows
    return spec, {}, rows


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _event_choices() -> list[tuple[str, str, int]]:
    with store_engine() as engine:
        return A.event_names(engine, limit=300)


def _base_context(request: HttpRequest, tab: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {"tab": tab, "events": _event_choices(), "default_from": (today - timedelta(days=90)).isoformat(),
            "default_to": today.isoformat(), "q": request.GET}


@login_required
@require_GET
def funnel(request: HttpRequest) -> HttpResponse:
    try:
        _read(request)
    except DomainError as error:
        return _error(request, error)
    context = _base_context(request, "funnel")
    spec, errors, rows = funnel_spec_from(request.GET)
    context.update({"rows": rows, "errors": {}, "ops": A.OPS, "submitted": bool(request.GET),
                    "ex": {k: request.GET.get(f"ex-{k}", "") for k in ("event", "prop", "op", "value", "after",
                                                                      "before")}})
    status = 200
    if spec is not None:
        with store_engine() as engine:
            result = A.funnel_run(engine, spec)
        context["result"] = _funnel_table(spec, result)
        context["chart"] = _funnel_chart(spec, result)
        context["query_string"] = request.GET.urlencode()
    elif request.GET:
        status = 422
        context["errors"] = errors
    return render(request, "journeys/analytics_funnel.html", context, status=status)


def _funnel_table(spec: A.FunnelSpec, result: A.FunnelResult) -> list[dict[str, Any]]:
    groups = []
    for row in result.rows[:20]:
        first = row.counts[0] or 1
        steps = []
        for i, step in enumerate(spec.steps):
            label = step.event + (f" ({step.filters[0].property} {step.filters[0].op} {step.filters[0].value})"
                                  if step.filters else "")
            previous = row.counts[i - 1] if i else row.counts[0]
            steps.append({"index": i, "number": i + 1, "label": label, "optional": step.optional,
                          "people": row.counts[i], "of_first": 100 * row.counts[i] / first,
                          "of_previous": 100 * row.counts[i] / previous if previous else 0,
                          "median": _duration(row.median_seconds[i]), "can_drop": not step.optional
                          and i < len(spec.steps) - 1})
        groups.append({"breakdown": row.breakdown, "steps": steps,
                       "median_total": _duration(row.median_total_seconds),
                       "converted": 100 * row.counts[-1] / first})
    return groups


def _funnel_chart(spec: A.FunnelSpec, result: A.FunnelResult) -> dict[str, Any]:
    datasets = []
    for i, row in enumerate(result.rows[:6]):
        datasets.append({"label": row.breakdown or "All people", "data": row.counts,
                         "backgroundColor": CHART_COLOURS[i % len(CHART_COLOURS)]})
    return {"type": "bar", "data": {"labels": [f"{i + 1}. {s.event}" for i, s in enumerate(spec.steps)],
                                    "datasets": datasets},
            "options": {"responsive": True, "animation": False, "plugins": {"legend": {"display": True}},
                        "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "People"}}}}}


@login_required
@require_GET
def funnel_dropoff(request: HttpRequest) -> HttpResponse:
    try:
        _read(request)
        spec, errors, _ = funnel_spec_from(request.GET)
        if spec is None:
            raise ValidationFailed("The funnel is invalid.", fields=errors)
        step = _int(request.GET, "drop", 0, 0, MAX_FORM_STEPS, errors)
        breakdown = request.GET.get("bd")
        with store_engine() as engine:
            people = A.funnel_dropoff(engine, spec, step=step, breakdown=breakdown, limit=200)
    except DomainError as error:
        return _error(request, error)
    required = [i for i, s in enumerate(spec.steps) if not s.optional]
    following = min(i for i in required if i > step)
    return render(request, "journeys/analytics_dropoff.html", {
        "people": people, "step": spec.steps[step], "next": spec.steps[following], "number": step + 1,
        "breakdown": breakdown, "back": request.GET.urlencode()})


@login_required
@require_GET
def paths(request: HttpRequest) -> HttpResponse:
    try:
        _read(request)
    except DomainError as error:
        return _error(request, error)
    context = _base_context(request, "paths")
    errors: dict[str, str] = {}
    start, end = _range(request.GET, errors)
    rules_text = request.GET.get("rules", "")
    rules = []
    for n, line in enumerate(rules_text.splitlines(), start=1):
        if not line.strip():
            continue
        pattern, arrow, label = line.partition("=>")
        if not arrow or not pattern.strip() or not label.strip():
            errors["rules"] = f"line {n}: write regex => label"
            continue
        rules.append(A.CleaningRule(pattern.strip(), label.strip()))
    event = request.GET.get("event", "").strip()
    status = 200
    if event and not errors:
        try:
            spec = A.PathSpec(event=event, start_ms=_ms(start), end_ms=_ms(end + timedelta(days=1)),
                              direction=request.GET.get("direction", "after"),
                              steps=_int(request.GET, "steps", 3, 1, 10, errors), rules=tuple(rules))
            with store_engine() as engine:
                result = A.paths_run(engine, spec)
            columns: dict[int, list] = {}
            for depth, label, people in result["nodes"]:
                columns.setdefault(depth, []).append({"label": label, "people": people})
            context["result"] = {"anchor_people": result["anchor_people"],
                                 "columns": [columns[d][:8] for d in sorted(columns)],
                                 "links": result["links"][:60], "direction": spec.direction}
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        status = 422
    context.update({"errors": errors, "rules_text": rules_text})
    return render(request, "journeys/analytics_paths.html", context, status=status)


@login_required
@require_GET
def retention(request: HttpRequest) -> HttpResponse:
    try:
        _read(request)
    except DomainError as error:
        return _error(request, error)
    context = _base_context(request, "retention")
    errors: dict[str, str] = {}
    start, end = _range(request.GET, errors)
    status = 200
    start_event, return_event = request.GET.get("start_event", "").strip(), request.GET.get("return_event", "").strip()
    if start_event and return_event and not errors:
        spec = A.RetentionSpec(start_event=start_event, return_event=return_event, start_ms=_ms(start),
                               end_ms=_ms(end + timedelta(days=1)),
                               period_days=_int(request.GET, "period_days", 7, 1, 90, errors),
                               periods=_int(request.GET, "periods", 8, 1, 52, errors))
        if not errors:
            with store_engine() as engine:
                cohorts = A.retention_run(engine, spec)
            for cohort in cohorts:
                cohort["start"] = datetime.fromtimestamp(cohort["cohort_ms"] / 1000, UTC).date()
                cohort["shares"] = [100 * n / cohort["size"] if cohort["size"] else 0 for n in cohort["retained"]]
            context["cohorts"] = cohorts
            context["periods"] = list(range(spec.periods))
            total = sum(c["size"] for c in cohorts) or 1
            context["chart"] = {"type": "line", "data": {
                "labels": [f"{spec.period_days * k}d" for k in range(spec.periods)],
                "datasets": [{"label": "Retained (all cohorts)", "borderColor": CHART_COLOURS[0],
                              "data": [round(100 * sum(c["retained"][k] for c in cohorts) / total, 1)
                                       for k in range(spec.periods)]}]},
                "options": {"animation": False, "scales": {"y": {"beginAtZero": True, "max": 100,
                                                                 "title": {"display": True, "text": "%"}}}}}
    if errors:
        status = 422
    context["errors"] = errors
    return render(request, "journeys/analytics_retention.html", context, status=status)


@login_required
@require_GET
def friction(request: HttpRequest) -> HttpResponse:
    try:
        _read(request)
    except DomainError as error:
        return _error(request, error)
    context = _base_context(request, "friction")
    errors: dict[str, str] = {}
    start, end = _range(request.GET, errors)
    outcome = request.GET.get("outcome", "support")
    status = 200
    try:
        spec = A.FrictionSpec(outcome=outcome, start_ms=_ms(start), end_ms=_ms(end + timedelta(days=1)),
                              lookback_days=_int(request.GET, "lookback_days", 14, 1, 365, errors),
                              churn_days=_int(request.GET, "churn_days", 30, 1, 365, errors),
                              score_max=float(_int(request.GET, "score_max", 6, 0, 10, errors)),
                              min_people=_int(request.GET, "min_people", 5, 1, 100000, errors))
        if not errors:
            with store_engine() as engine:
                context["result"] = A.friction_run(engine, catalog_entries(), spec)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        status = 422
    context.update({"errors": errors, "outcome": outcome})
    return render(request, "journeys/analytics_friction.html", context, status=status)


@login_required
@require_GET
def journey_map(request: HttpRequest) -> HttpResponse:
    try:
        _read(request)
    except DomainError as error:
        return _error(request, error)
    context = _base_context(request, "map")
    errors: dict[str, str] = {}
    start, end = _range(request.GET, errors)
    entries = catalog_entries()
    with store_engine() as engine:
        cells = A.journey_map_run(engine, entries, start_ms=_ms(start), end_ms=_ms(end + timedelta(days=1)))
        stages = A.stage_conversion_run(engine, entries, start_ms=_ms(start), end_ms=_ms(end + timedelta(days=1)))
    columns = []
    for stage in stages:
        touchpoints = [c for c in cells if c["stage"] == stage["stage"]][:12]
        columns.append({**stage, "label": STAGE_LABELS[stage["stage"]], "touchpoints": touchpoints,
                        "time_in_stage": _duration(stage["median_seconds_in_stage"])})
    context.update({"columns": columns, "errors": errors, "chart": {
        "type": "bar",
        "data": {"labels": [c["label"] for c in columns],
                 "datasets": [{"label": "Entered", "data": [c["entered"] for c in columns],
                               "backgroundColor": CHART_COLOURS[0]},
                              {"label": "Moved on to a later stage", "data": [c["moved_on"] for c in columns],
                               "backgroundColor": CHART_COLOURS[1]}]},
        "options": {"animation": False, "scales": {"y": {"beginAtZero": True}}}}})
    return render(request, "journeys/journey_map.html", context, status=422 if errors else 200)


# --- catalog -------------------------------------------------------------------------------------------------


class DefinitionForm(forms.ModelForm):
    class Meta:
        model = TouchpointDefinition
        fields = ["event", "property_name", "property_value", "name", "stage", "channel", "department",
                  "description"]
        labels = {"event": "Event name", "property_name": "Only when property", "property_value": "equals",
                  "name": "Touchpoint", "department": "Owning department"}
        help_texts = {"event": "As sent by the SDK (e.g. Order Completed, page) or an internal kind "
                               "(ticket.created)", "property_name": "Optional, e.g. path for pages"}
        widgets = {"description": forms.Textarea(attrs={"rows": 2}),
                   "event": forms.TextInput(attrs={"list": "known-events"})}


@login_required
@require_http_methods(["GET", "POST"])
def catalog(request: HttpRequest, definition_id: int | None = None) -> HttpResponse:
    try:
        _read(request)
        if request.method == "POST":
            require_access(request.user, AccessLevel.WRITE)
    except DomainError as error:
        return _error(request, error)
    instance = get_object_or_404(TouchpointDefinition, pk=definition_id) if definition_id else None
    status = 200
    if request.method == "POST":
        form = DefinitionForm(request.POST, instance=instance)
        if form.is_valid():
            try:
                saved = services.touchpoint_definition_save(actor=request.user, instance=instance,
                                                            values=form.cleaned_data)
            except DomainError as error:
                for name, reason in error.fields.items():
                    form.add_error(name if name in form.fields else None, reason)
                status = error.status
            else:
                messages.success(request, f"Touchpoint {saved.name} saved.")
                return redirect("journeys:catalog")
        else:
            status = 422
    else:
        initial = {k: request.GET[k] for k in ("event", "property_name", "property_value", "name")
                   if k in request.GET}
        form = DefinitionForm(instance=instance, initial=initial)
    definitions = list(TouchpointDefinition.objects.all())
    mapped = {d.event for d in definitions}
    with store_engine() as engine:
        known = A.event_names(engine, limit=1000)
    unmapped = [(event, mtype, n) for event, mtype, n in known if event not in mapped]
    return render(request, "journeys/catalog.html", {
        "form": form, "definitions": definitions, "unmapped": unmapped, "editing": instance,
        "events": known, "stages": Stage.choices, "departments": Department.choices}, status=status)


@login_required
@require_POST
def catalog_delete(request: HttpRequest, definition_id: int) -> HttpResponse:
    definition = get_object_or_404(TouchpointDefinition, pk=definition_id)
    try:
        services.touchpoint_definition_delete(actor=request.user, definition=definition)
    except DomainError as error:
        return _error(request, error)
    messages.success(request, f"Touchpoint {definition.name} removed from the catalog.")
    return redirect("journeys:catalog")
