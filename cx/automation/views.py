"""Automation pages: macros for every agent, triggers and time rules for admins, and the macro menu partial a
ticket page loads with htmx. Views parse input, call one service or selector, and render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.selectors import team_list
from cx.accounts.services import require_access
from cx.core.errors import DomainError, PermissionDenied
from cx.core.views import render_domain_error
from cx.tickets.selectors import ticket_get_for

from . import selectors, services
from .forms import MacroForm, TimeRuleForm, TriggerForm, apply_service_errors
from .models import Macro, Outcome

NEW_TRIGGER = {
    "conditions": {"all": [{"field": "event", "op": "is", "value": "created"},
                           {"field": "subject", "op": "contains", "value": "refund"}], "any": []},
    "actions": [{"type": "add_tags", "tags": ["refund"]}],
}
NEW_TIME_RULE = {
    "conditions": {"all": [{"field": "status_category", "op": "is", "value": "pending"},
                           {"field": "hours_in_status", "op": "gte", "value": 48}], "any": []},
    "actions": [{"type": "notify", "recipients": ["assignee"],
                 "message": "Ticket #{{ticket.id}} has been pending for 2 days."}],
}
NEW_MACRO = {
    "actions": [{"type": "send_reply", "body": "Hi {{customer.first_name|there}},\n\n\n\nBest,\n{{agent.first_name}}"},
                {"type": "set_status", "category": "pending"}],
}


def _error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="automation")


def _require(request: HttpRequest, level: AccessLevel) -> HttpResponse | None:
    try:
        require_access(request.user, level)
    except PermissionDenied as error:
        return _error_page(request, error)
    return None


# --- Triggers and time rules (admins) ---------------------------------------------------------------------

@dataclass(frozen=True)
class _RuleKind:
    """What differs between the trigger and the time-rule pages."""

    label: str
    plural: str
    list_url: str
    form_class: type[TriggerForm] | type[TimeRuleForm]
    new_values: dict[str, Any]
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]
    get: Callable[..., Any]
    activity: Callable[..., Any]


TRIGGERS = _RuleKind(
    label="trigger", plural="Triggers", list_url="automation:triggers", form_class=TriggerForm,
    new_values=NEW_TRIGGER,
    create=lambda actor, values: services.trigger_create(actor=actor, values=values),
    update=lambda actor, rule, values: services.trigger_update(actor=actor, trigger=rule, values=values),
    delete=lambda actor, rule: services.trigger_delete(actor=actor, trigger=rule),
    get=lambda actor, pk: selectors.trigger_get_for(actor=actor, trigger_id=pk),
    activity=lambda rule: selectors.trigger_firings(trigger=rule),
)
TIME_RULES = _RuleKind(
    label="time rule", plural="Time rules", list_url="automation:time_rules", form_class=TimeRuleForm,
    new_values=NEW_TIME_RULE,
    create=lambda actor, values: services.time_rule_create(actor=actor, values=values),
    update=lambda actor, rule, values: services.time_rule_update(actor=actor, rule=rule, values=values),
    delete=lambda actor, rule: services.time_rule_delete(actor=actor, rule=rule),
    get=lambda actor, pk: selectors.time_rule_get_for(actor=actor, time_rule_id=pk),
    activity=lambda rule: selectors.time_rule_runs(rule=rule),
)


@login_required
@require_GET
def trigger_list(request: HttpRequest) -> HttpResponse:
    denied = _require(request, AccessLevel.ADMIN)
    if denied:
        return denied
    rules = selectors.trigger_list(actor=request.user).annotate(
        fired_count=Count("firings", filter=Q(firings__outcome=Outcome.FIRED)),
        failed_count=Count("firings", filter=Q(firings__outcome=Outcome.FAILED)),
    )
    return render(request, "automation/rule_list.html", {"kind": TRIGGERS, "rules": rules, "tab": "triggers"})


@login_required
@require_GET
def time_rule_list(request: HttpRequest) -> HttpResponse:
    denied = _require(request, AccessLevel.ADMIN)
    if denied:
        return denied
    rules = selectors.time_rule_list(actor=request.user).annotate(
        fired_count=Count("runs", filter=Q(runs__outcome=Outcome.FIRED)),
        failed_count=Count("runs", filter=Q(runs__outcome=Outcome.FAILED)),
    )
    return render(request, "automation/rule_list.html", {"kind": TIME_RULES, "rules": rules, "tab": "time_rules"})


def _render_rule_form(request: HttpRequest, kind: _RuleKind, form, rule=None, status: int = 200) -> HttpResponse:
    context = {"kind": kind, "form": form, "rule": rule, "reference": selectors.rule_reference(),
               "tab": "triggers" if kind is TRIGGERS else "time_rules",
               "activity": kind.activity(rule) if rule else []}
    return render(request, "automation/rule_form.html", context, status=status)


def _rule_create(request: HttpRequest, kind: _RuleKind) -> HttpResponse:
    denied = _require(request, AccessLevel.ADMIN)
    if denied:
        return denied
    if request.method == "GET":
        return _render_rule_form(request, kind, kind.form_class(initial=dict(kind.new_values, is_active=True)))
    form = kind.form_class(request.POST)
    if form.is_valid():
        try:
            rule = kind.create(request.user, form.service_values())
        except DomainError as error:
            apply_service_errors(form, error)
            return _render_rule_form(request, kind, form, status=error.status)
        messages.success(request, f"The {kind.label} “{rule.name}” was saved.")
        return redirect(kind.list_url)
    return _render_rule_form(request, kind, form, status=422)


def _rule_edit(request: HttpRequest, kind: _RuleKind, pk: int) -> HttpResponse:
    try:
        rule = kind.get(request.user, pk)
    except DomainError as error:
        return _error_page(request, error)
    if request.method == "GET":
        initial = {name: getattr(rule, name) for name in kind.form_class.base_fields if hasattr(rule, name)}
        return _render_rule_form(request, kind, kind.form_class(initial=initial), rule)
    form = kind.form_class(request.POST)
    if form.is_valid():
        try:
            kind.update(request.user, rule, form.service_values())
        except DomainError as error:
            apply_service_errors(form, error)
            return _render_rule_form(request, kind, form, rule, status=error.status)
        messages.success(request, f"The {kind.label} “{rule.name}” was saved.")
        return redirect(kind.list_url)
    return _render_rule_form(request, kind, form, rule, status=422)


def _rule_delete(request: HttpRequest, kind: _RuleKind, pk: int) -> HttpResponse:
    try:
        rule = kind.get(request.user, pk)
        kind.delete(request.user, rule)
    except DomainError as error:
        return _error_page(request, error)
    messages.success(request, f"The {kind.label} “{rule.name}” was deleted.")
    return redirect(kind.list_url)


@login_required
@require_http_methods(["GET", "POST"])
def trigger_create(request: HttpRequest) -> HttpResponse:
    return _rule_create(request, TRIGGERS)


@login_required
@require_http_methods(["GET", "POST"])
def trigger_edit(request: HttpRequest, trigger_id: int) -> HttpResponse:
    return _rule_edit(request, TRIGGERS, trigger_id)


@login_required
@require_POST
def trigger_delete(request: HttpRequest, trigger_id: int) -> HttpResponse:
    return _rule_delete(request, TRIGGERS, trigger_id)


@login_required
@require_http_methods(["GET", "POST"])
def time_rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_create(request, TIME_RULES)


@login_required
@require_http_methods(["GET", "POST"])
def time_rule_edit(request: HttpRequest, time_rule_id: int) -> HttpResponse:
    return _rule_edit(request, TIME_RULES, time_rule_id)


@login_required
@require_POST
def time_rule_delete(request: HttpRequest, time_rule_id: int) -> HttpResponse:
    return _rule_delete(request, TIME_RULES, time_rule_id)


# --- Macros (every agent) ---------------------------------------------------------------------------------

def _teams(request: HttpRequest) -> list[tuple[int, str]]:
    return [(team.pk, team.name) for team in team_list(actor=request.user)]


def _render_macro_form(request: HttpRequest, form: MacroForm, macro: Macro | None = None,
                       status: int = 200) -> HttpResponse:
    context = {"form": form, "macro": macro, "reference": selectors.rule_reference(), "tab": "macros"}
    return render(request, "automation/macro_form.html", context, status=status)


@login_required
@require_GET
def macro_list(request: HttpRequest) -> HttpResponse:
    try:
        macros = selectors.macro_list_for(actor=request.user, include_inactive=True)
    except DomainError as error:
        return _error_page(request, error)
    rows = [{"macro": m, "can_edit": selectors.macro_editable_by(actor=request.user, macro=m)} for m in macros]
    return render(request, "automation/macro_list.html", {"rows": rows, "tab": "macros"})


@login_required
@require_http_methods(["GET", "POST"])
def macro_create(request: HttpRequest) -> HttpResponse:
    denied = _require(request, AccessLevel.WRITE)
    if denied:
        return denied
    can_share = request.user.is_cx_admin
    teams = _teams(request) if can_share else []
    if request.method == "GET":
        form = MacroForm(initial=dict(NEW_MACRO, is_active=True), teams=teams, can_share=can_share)
        return _render_macro_form(request, form)
    form = MacroForm(request.POST, teams=teams, can_share=can_share)
    if form.is_valid():
        try:
            macro = services.macro_create(actor=request.user, values=form.service_values(),
                                          shared=bool(form.cleaned_data.get("shared")))
        except DomainError as error:
            apply_service_errors(form, error)
            return _render_macro_form(request, form, status=error.status)
        messages.success(request, f"The macro “{macro.name}” was saved.")
        return redirect("automation:macros")
    return _render_macro_form(request, form, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def macro_edit(request: HttpRequest, macro_id: int) -> HttpResponse:
    try:
        macro = selectors.macro_get_for(actor=request.user, macro_id=macro_id)
        services.macro_require_editor(actor=request.user, macro=macro)
    except DomainError as error:
        return _error_page(request, error)
    can_share = request.user.is_cx_admin
    teams = _teams(request) if can_share else []
    options = {"teams": teams, "can_share": can_share, "editing_shared": macro.is_shared}
    if request.method == "GET":
        initial = {"name": macro.name, "description": macro.description, "actions": macro.actions,
                   "is_active": macro.is_active, "team": macro.team_id}
        return _render_macro_form(request, MacroForm(initial=initial, **options), macro)
    form = MacroForm(request.POST, **options)
    if form.is_valid():
        try:
            services.macro_update(actor=request.user, macro=macro, values=form.service_values())
        except DomainError as error:
            apply_service_errors(form, error)
            return _render_macro_form(request, form, macro, status=error.status)
        messages.success(request, f"The macro “{macro.name}” was saved.")
        return redirect("automation:macros")
    return _render_macro_form(request, form, macro, status=422)


@login_required
@require_POST
def macro_delete(request: HttpRequest, macro_id: int) -> HttpResponse:
    try:
        macro = selectors.macro_get_for(actor=request.user, macro_id=macro_id)
        services.macro_delete(actor=request.user, macro=macro)
    except DomainError as error:
        return _error_page(request, error)
    messages.success(request, f"The macro “{macro.name}” was deleted.")
    return redirect("automation:macros")


# --- The macro menu of a ticket page ---------------------------------------------------------------------

def _render_menu(request: HttpRequest, ticket, *, error: DomainError | None = None, status: int = 200,
                 applied: Macro | None = None) -> HttpResponse:
    macros = selectors.macro_list_for(actor=request.user) if request.user.can_write else []
    context = {"ticket": ticket, "macros": macros, "error": error, "applied": applied,
               "can_write": request.user.can_write}
    return render(request, "automation/partials/macro_menu.html", context, status=status)


@login_required
@require_GET
def macro_menu(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The macros the agent may apply to this ticket (loaded into the ticket page with htmx)."""
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
    except DomainError as error:
        return _error_page(request, error)
    return _render_menu(request, ticket)


def _ticket_page(request: HttpRequest, ticket_id: int) -> str:
    """The ticket's page when the tickets UI provides one, else where the agent came from, else macros."""
    try:
        return reverse("tickets:detail", args=[ticket_id])
    except NoReverseMatch:
        referer = request.headers.get("Referer", "")
        if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                       require_https=request.is_secure()):
            return referer
        return reverse("automation:macros")


@login_required
@require_POST
def macro_apply(request: HttpRequest, ticket_id: int, macro_id: int) -> HttpResponse:
    """Apply a macro. htmx gets 204 with HX-Refresh (the ticket page reloads with the changes); a plain
    form post is redirected to the ticket. Refusals re-render the menu with the reason and a 4xx."""
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
    except DomainError as error:
        return _error_page(request, error)
    try:
        macro = selectors.macro_get_for(actor=request.user, macro_id=macro_id)
        services.macro_apply(actor=request.user, ticket=ticket, macro=macro)
    except DomainError as error:
        if request.htmx:
            return _render_menu(request, ticket, error=error, status=error.status)
        return _error_page(request, error)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    messages.success(request, f"Macro “{macro.name}” applied to ticket #{ticket.pk}.")
    return redirect(_ticket_page(request, ticket.pk))
