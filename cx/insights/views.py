"""Insights pages: service and experience dashboards, the service-experience link, and the weekly digest.

Views parse the query string, call one selector and render; a table's ``?export=<slug>`` answers the CSV of
the very same table. Bad filters re-render the page with the form errors and a 400.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import User
from cx.core.errors import DomainError, ValidationFailed
from cx.core.tables import table_export_response
from cx.core.views import render_domain_error
from cx.insights import selectors, services
from cx.insights import tables as T
from cx.insights.models import DigestRun
from cx.insights.period import BREAKDOWNS, breakdown_from, filters_from, hours_from, period_from
from cx.tickets.models import Channel, Priority


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="insights")


def _form_context(request: HttpRequest) -> dict[str, Any]:
    from cx.accounts.models import Team

    return {"q": request.GET, "presets": [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"),
                                          ("custom", "Custom range")],
            "agents": User.objects.filter(is_system=False, is_active=True).order_by("first_name", "username"),
            "teams": Team.objects.order_by("name"), "channels": Channel.choices, "priorities": Priority.choices,
            "breakdowns": list(BREAKDOWNS.items())}


def _invalid(request: HttpRequest, template: str, tab: str, error: ValidationFailed) -> HttpResponse:
    return render(request, template, {**_form_context(request), "tab": tab, "form_error": error,
                                      "errors": error.fields}, status=400)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return redirect("insights:service")


@login_required
@require_GET
def service(request: HttpRequest) -> HttpResponse:
    try:
        selectors.insights_access_check(actor=request.user)
    except DomainError as error:
        return _error(request, error)
    try:
        period = period_from(request.GET)
        filters = filters_from(request.GET)
        breakdown = breakdown_from(request.GET)
    except ValidationFailed as error:
        return _invalid(request, "insights/service.html", "service", error)
    dashboard = selectors.service_dashboard(actor=request.user, filters=filters, period=period, breakdown=breakdown)
    tables = T.service_tables(dashboard)
    return table_export_response(request, tables.values()) or render(request, "insights/service.html", {
        **_form_context(request), "tab": "service", "dashboard": dashboard, "tables": tables,
        "cards": T.kpi_cards(dashboard.kpis), "charts": T.service_charts(dashboard)})


@login_required
@require_GET
def experience(request: HttpRequest) -> HttpResponse:
    try:
        selectors.insights_access_check(actor=request.user)
    except DomainError as error:
        return _error(request, error)
    try:
        period = period_from(request.GET)
    except ValidationFailed as error:
        return _invalid(request, "insights/experience.html", "experience", error)
    dashboard = selectors.experience_dashboard(actor=request.user, period=period)
    tables = T.experience_tables(dashboard)
    heat = tables["heatmap"]
    heat_rows = [list(zip(cells, levels, strict=True))
                 for cells, levels in zip(heat.cells(), T.heatmap_levels(dashboard), strict=True)]
    return table_export_response(request, tables.values()) or render(request, "insights/experience.html", {
        **_form_context(request), "tab": "experience", "dashboard": dashboard, "tables": tables,
        "cards": T.kpi_cards(dashboard.headline), "charts": T.experience_charts(dashboard), "heat_rows": heat_rows,
        "period_start": period.start, "period_end": period.end, "settings": selectors.insights_settings()})


@login_required
@require_POST
def main_funnel(request: HttpRequest) -> HttpResponse:
    try:
        services.main_funnel_set(actor=request.user, name=request.POST.get("name", ""),
                                 query=request.POST.get("query", ""))
    except DomainError as error:
        return _error(request, error)
    messages.success(request, "Main funnel saved.")
    return redirect("insights:experience")


@login_required
@require_GET
def link(request: HttpRequest) -> HttpResponse:
    try:
        selectors.insights_access_check(actor=request.user)
    except DomainError as error:
        return _error(request, error)
    try:
        period = period_from(request.GET)
        hours = hours_from(request.GET)
    except ValidationFailed as error:
        return _invalid(request, "insights/link.html", "link", error)
    report = selectors.link_report(actor=request.user, period=period, hours=hours)
    tables = T.link_tables(report)
    return table_export_response(request, tables.values()) or render(request, "insights/link.html", {
        **_form_context(request), "tab": "link", "report": report, "tables": tables,
        "charts": T.link_charts(report)})


@login_required
@require_http_methods(["GET", "POST"])
def digest(request: HttpRequest) -> HttpResponse:
    try:
        selectors.insights_access_check(actor=request.user)
        if request.method == "POST":
            if request.POST.get("action") == "unsubscribe":
                services.digest_unsubscribe(actor=request.user)
                messages.success(request, "You will no longer receive the weekly digest.")
            else:
                services.digest_subscribe(actor=request.user)
                messages.success(request, "Subscribed: the digest arrives every Monday.")
            return redirect("insights:digest")
    except DomainError as error:
        return _error(request, error)
    return render(request, "insights/digest.html", {
        "tab": "digest", "subscribed": selectors.digest_subscribed(user=request.user),
        "runs": DigestRun.objects.all()[:8]})
