"""Timeline pages: the customer timeline partial the customer page loads with htmx, and adding touchpoints.

The customer page (customers app, below this one) cannot import journeys, so it fetches these views by URL.
Every request that asks for a partial (htmx) gets a fragment; a plain browser request gets a whole page, so
the links also work without JavaScript.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.core.errors import DomainError, NotFound, PermissionDenied
from cx.customers.models import Customer
from cx.customers.selectors import customer_get_for
from cx.journeys.models import Stage, Touchpoint
from cx.journeys.selectors import CATEGORIES, stage_counts, timeline_channels, timeline_page
from cx.journeys.services import touchpoint_record_by_agent

TIMELINE_PAGE_SIZE = 20
COMPACT_PROPERTIES = 6
COMPACT_VALUE_CHARS = 80
COMMON_CHANNELS = ("email", "chat", "phone", "web", "whatsapp", "sms", "in-person", "self-service")


class TouchpointForm(forms.Form):
    """Parses the agent's input; the journeys service validates kind, channel, stage and time."""

    kind = forms.CharField(label="Kind", max_length=100, help_text="e.g. call.completed, order.completed")
    channel = forms.CharField(label="Channel", max_length=32, help_text="e.g. phone, email, web",
                              widget=forms.TextInput(attrs={"list": "touchpoint-channels"}))
    stage = forms.ChoiceField(label="Stage", choices=Stage.choices, initial=Stage.SUPPORT)
    occurred_at = forms.DateTimeField(
        label="When", required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In your time zone; empty means now.",
    )
    properties = forms.CharField(
        label="Properties (JSON)", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Optional JSON object, e.g. {"order_id": "A-1001", "total": 49.9}',
    )

    def clean_properties(self) -> dict:
        raw = self.cleaned_data["properties"].strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Must be a JSON object, e.g. {"key": "value"}.')
        return value


@contextmanager
def _user_time_zone(request: HttpRequest) -> Iterator[None]:
    """Show and read times in the agent's own time zone."""
    try:
        zone = ZoneInfo(getattr(request.user, "time_zone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    with timezone.override(zone):
        yield


def _compact(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= COMPACT_VALUE_CHARS else text[: COMPACT_VALUE_CHARS - 1] + "…"


def _entry(touchpoint: Touchpoint) -> dict[str, Any]:
    """A touchpoint with its properties shortened for the timeline; all of them stay one click away.

    Keys are sorted because PostgreSQL's jsonb does not keep insertion order; the page reads the same everywhere.
    """
    items = sorted(touchpoint.properties.items())
    return {
        "touchpoint": touchpoint,
        "properties": [(key, _compact(value)) for key, value in items[:COMPACT_PROPERTIES]],
        "hidden_properties": max(0, len(items) - COMPACT_PROPERTIES),
        "properties_json": json.dumps(dict(items), ensure_ascii=False, indent=2) if items else "",
    }


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    template = "journeys/partials/error.html" if request.htmx else "journeys/error.html"
    return render(request, template, {"error": error}, status=error.status)


@login_required
@require_GET
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """A page of the timeline, newest first; ``cursor`` continues with older entries, ``stage`` filters."""
    stage = request.GET.get("stage") or None
    cursor = request.GET.get("cursor") or None
    category = request.GET.get("category") or None
    channel = request.GET.get("channel") or None
    try:
        customer = customer_get_for(actor=request.user, customer_id=customer_id)
        page = timeline_page(actor=request.user, customer_id=customer.pk, cursor=cursor, stage=stage,
                             limit=TIMELINE_PAGE_SIZE, category=category, channel=channel)
    except DomainError as error:
        return _error(request, error)
    context = {
        "customer": customer,
        "entries": [_entry(t) for t in page.items],
        "next_cursor": page.next_cursor,
        "stage": stage or "",
        "stages": Stage.choices,
        "category": category or "",
        "categories": [(key, label) for key, (label, _) in CATEGORIES.items()],
        "channel": channel or "",
        "channels": timeline_channels(customer_id=customer.pk),
        "filtered": bool(stage or category or channel),
        "cursor": cursor,
    }
    if request.htmx and not request.htmx.history_restore_request:
        template = "journeys/partials/timeline_entries.html" if cursor else "journeys/partials/timeline.html"
    else:
        template = "journeys/timeline_page.html"
    with _user_time_zone(request):
        return render(request, template, context)


@login_required
@require_GET
def customer_timeline_summary(request: HttpRequest, customer_id: int) -> HttpResponse:
    """How many touchpoints a customer has per stage (shown before a merge moves them)."""
    try:
        customer = customer_get_for(actor=request.user, customer_id=customer_id)
    except DomainError as error:
        return _error(request, error)
    labels = dict(Stage.choices)
    counts = {labels[stage]: n for stage, n in stage_counts(customer_id=customer.pk).items() if n}
    return render(request, "journeys/partials/timeline_summary.html",
                  {"customer": customer, "counts": counts, "total": sum(counts.values())})


def _touchpoint_form_response(request: HttpRequest, customer: Customer, form: TouchpointForm, *,
                              status: int = 200, recorded: Touchpoint | None = None) -> HttpResponse:
    context = {"customer": customer, "form": form, "recorded": recorded, "channels": COMMON_CHANNELS}
    template = "journeys/partials/touchpoint_form.html" if request.htmx else "journeys/touchpoint_form.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def touchpoint_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    """An agent records a touchpoint (a call, a visit, an order) on the customer's timeline."""
    try:
        customer = customer_get_for(actor=request.user, customer_id=customer_id)
        require_access(request.user, AccessLevel.WRITE)
    except DomainError as error:
        return _error(request, error)
    if request.method == "GET":
        return _touchpoint_form_response(request, customer, TouchpointForm(prefix="touchpoint"))

    form = TouchpointForm(request.POST, prefix="touchpoint")
    with _user_time_zone(request):
        valid = form.is_valid()
    if not valid:
        return _touchpoint_form_response(request, customer, form, status=422)
    try:
        touchpoint = touchpoint_record_by_agent(actor=request.user, customer=customer, **form.cleaned_data)
    except (PermissionDenied, NotFound) as error:
        return _error(request, error)
    except DomainError as error:
        placed = False
        for name, reason in error.fields.items():
            if name in form.fields:
                form.add_error(name, reason)
                placed = True
        if not placed:
            form.add_error(None, error.message)
        return _touchpoint_form_response(request, customer, form, status=error.status)
    if request.htmx:
        response = _touchpoint_form_response(request, customer, TouchpointForm(prefix="touchpoint"),
                                             recorded=touchpoint)
        # The timeline on the page listens for this, so it refreshes even without a WebSocket.
        response["HX-Trigger"] = "cx:timeline-changed"
        return response
    messages.success(request, f"Touchpoint {touchpoint.kind} recorded.")
    return redirect("customers:detail", customer.pk)
