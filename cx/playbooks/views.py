"""Playbook pages. Views parse input, call one service or selector, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.selectors import agent_list
from cx.accounts.services import require_access
from cx.core.errors import DomainError, PermissionDenied
from cx.core.tables import Column, DataTable, table_export_response
from cx.core.views import render_domain_error
from cx.customers.selectors import customer_get_for
from cx.tickets.selectors import ticket_get_for

from . import selectors, services
from .forms import PlaybookForm, SettingsForm, apply_service_errors
from .models import RunStatus

NEW_PLAYBOOK: dict[str, Any] = {
    "trigger_kind": "event", "trigger_event": "checkout_failed", "match": "all",
    "conditions": [{"field": "event_count", "event": "checkout_failed", "window_hours": 24, "op": ">=", "value": 2}],
    "actions": [
        {"type": "create_ticket", "subject": "Checkout trouble: {{customer.name}}",
         "body": "{{customer.name}} failed to check out twice today. Call or email them to help finish the order.",
         "assign_to": "owner"},
        {"type": "send_email", "subject": "Can we help with your order?",
         "body": "Hi {{customer.first_name|there}},\n\nWe noticed your checkout did not go through. "
                 "Reply to this email and we will sort it out for you.\n\nThe support team"},
    ],
    "cooldown_days": 7, "holdout_percent": 10, "goal_kind": "event", "goal_event": "Order Completed",
    "goal_window_days": 14, "is_active": True,
}


def _error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="playbooks")


def _require(request: HttpRequest, level: AccessLevel) -> HttpResponse | None:
    try:
        require_access(request.user, level)
    except PermissionDenied as error:
        return _error_page(request, error)
    return None


def _agents(request: HttpRequest) -> list[tuple[int, str]]:
    return [(a.pk, a.display_name) for a in agent_list(actor=request.user)]


@login_required
@require_GET
def playbook_list(request: HttpRequest) -> HttpResponse:
    try:
        playbooks = selectors.playbook_list(actor=request.user)
    except DomainError as error:
        return _error_page(request, error)
    cap = services.playbook_settings_get()
    form = SettingsForm(initial={"max_contacts": cap.max_contacts, "window_days": cap.window_days})
    return render(request, "playbooks/list.html", {"playbooks": playbooks, "cap": cap, "settings_form": form,
                                                   "is_admin": request.user.access_level >= AccessLevel.ADMIN})


@login_required
@require_POST
def settings_update(request: HttpRequest) -> HttpResponse:
    if (denied := _require(request, AccessLevel.ADMIN)) is not None:
        return denied
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            services.playbook_settings_update(actor=request.user, values=form.cleaned_data)
        except DomainError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Global contact cap saved.")
            return redirect("playbooks:list")
    playbooks = selectors.playbook_list(actor=request.user)
    return render(request, "playbooks/list.html", {"playbooks": playbooks, "settings_form": form, "is_admin": True,
                                                   "cap": services.playbook_settings_get()}, status=422)


def _form_page(request: HttpRequest, form: PlaybookForm, playbook: Any, status: int = 200) -> HttpResponse:
    return render(request, "playbooks/form.html", {"form": form, "playbook": playbook,
                                                   "reference": selectors.reference()}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def playbook_create(request: HttpRequest) -> HttpResponse:
    if (denied := _require(request, AccessLevel.ADMIN)) is not None:
        return denied
    if request.method == "GET":
        return _form_page(request, PlaybookForm(initial=NEW_PLAYBOOK, agents=_agents(request)), None)
    form = PlaybookForm(request.POST, agents=_agents(request))
    if form.is_valid():
        try:
            playbook = services.playbook_create(actor=request.user, values=form.service_values())
        except DomainError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Playbook “{playbook.name}” created.")
            return redirect("playbooks:detail", playbook.pk)
    return _form_page(request, form, None, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def playbook_edit(request: HttpRequest, playbook_id: int) -> HttpResponse:
    if (denied := _require(request, AccessLevel.ADMIN)) is not None:
        return denied
    try:
        playbook = selectors.playbook_get_for(actor=request.user, playbook_id=playbook_id)
    except DomainError as error:
        return _error_page(request, error)
    if request.method == "GET":
        initial = {name: getattr(playbook, name) for name in services.FIELDS if name != "owner_id"}
        initial["owner"] = playbook.owner_id
        return _form_page(request, PlaybookForm(initial=initial, agents=_agents(request)), playbook)
    form = PlaybookForm(request.POST, agents=_agents(request))
    if form.is_valid():
        try:
            services.playbook_update(actor=request.user, playbook=playbook, values=form.service_values())
        except DomainError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Playbook saved.")
            return redirect("playbooks:detail", playbook.pk)
    return _form_page(request, form, playbook, status=422)


@login_required
@require_POST
def playbook_delete(request: HttpRequest, playbook_id: int) -> HttpResponse:
    try:
        playbook = selectors.playbook_get_for(actor=request.user, playbook_id=playbook_id)
        services.playbook_delete(actor=request.user, playbook=playbook)
    except DomainError as error:
        return _error_page(request, error)
    messages.success(request, f"Playbook “{playbook.name}” deleted.")
    return redirect("playbooks:list")


def _outcome_table(outcome: selectors.Outcome) -> DataTable:
    lift = outcome.uplift
    rows = []
    for label, group, pending in (("Contacted", lift.contacted, outcome.pending_contacted),
                                  ("Holdout (not contacted)", lift.holdout, outcome.pending_holdout)):
        if group.n or pending:
            rows.append({"group": label, "n": group.n, "reached": group.reached, "rate": group.rate,
                         "ci": None if group.rate is None else f"{group.ci_low:.1f} to {group.ci_high:.1f}%",
                         "pending": pending})
    if lift.difference is not None:
        rows.append({"group": "Difference (contacted - holdout)", "n": lift.contacted.n + lift.holdout.n,
                     "reached": None, "rate": None, "pending": None,
                     "difference": lift.difference, "ci": f"{lift.ci_low:+.1f} to {lift.ci_high:+.1f} pp"})
    note = (f"Goal: {outcome.goal}. Only customers whose {outcome.window_days}-day window has ended are counted; "
            "each customer counts once (first contact or hold-out). 95% intervals: Wilson per group, Newcombe for "
            "the difference.")
    return DataTable(slug="outcome", title="Measured outcome", note=note, rows=rows, columns=[
        Column("group", "Group"), Column("n", "Customers", "int", numeric=True),
        Column("reached", "Reached goal", "int", numeric=True), Column("rate", "Rate", "pct", numeric=True),
        Column("difference", "Difference (pp)", "float1", numeric=True), Column("ci", "95% CI"),
        Column("pending", "Window not ended yet", "int", numeric=True)])


def _runs_table(runs: list[Any]) -> DataTable:
    rows = [{"when": run.created_at, "customer": run.customer.name, "customer_id": run.customer_id,
             "status": run.get_status_display(), "trigger": f"{run.trigger} ({run.trigger_key})",
             "actions": "; ".join(f"{r['type']}: {'ok' if r['ok'] else 'failed'} — {r['detail']}"
                                  for r in run.results),
             "reason": run.reason} for run in runs]
    return DataTable(slug="runs", title="Run audit", rows=rows,
                     links={"customer": lambda row: reverse("customers:detail", args=[row["customer_id"]])},
                     columns=[Column("when", "When", "datetime"), Column("customer", "Customer"),
                              Column("status", "Result"), Column("trigger", "Trigger"),
                              Column("actions", "Actions"), Column("reason", "Reason")])


@login_required
@require_GET
def playbook_detail(request: HttpRequest, playbook_id: int) -> HttpResponse:
    status = request.GET.get("status", "")
    try:
        playbook = selectors.playbook_get_for(actor=request.user, playbook_id=playbook_id)
        runs = selectors.run_list(actor=request.user, playbook=playbook, status=status,
                                  limit=1000 if request.GET.get("export") else selectors.RUN_PAGE)
    except DomainError as error:
        return _error_page(request, error)
    outcome = selectors.playbook_outcome(playbook=playbook)
    tables = [_outcome_table(outcome), _runs_table(runs)]
    return table_export_response(request, tables) or render(request, "playbooks/detail.html", {
        "playbook": playbook, "outcome": outcome, "outcome_table": tables[0], "runs_table": tables[1],
        "counts": selectors.run_counts(playbook=playbook), "statuses": RunStatus.choices, "status": status,
        "is_admin": request.user.access_level >= AccessLevel.ADMIN})


@login_required
@require_GET
def next_best_action_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
        card = selectors.next_best_action(actor=request.user, customer=ticket.requester, exclude_ticket_id=ticket.pk)
    except DomainError as error:
        return _error_page(request, error)
    return render(request, "playbooks/partials/next_best_action.html", {"card": card, "ticket": ticket})


@login_required
@require_POST
def playbook_run(request: HttpRequest, playbook_id: int, customer_id: int) -> HttpResponse:
    """One click on a suggested action: run the playbook for the customer, then show the card again."""
    ticket_id = request.POST.get("ticket_id", "")
    try:
        playbook = selectors.playbook_get_for(actor=request.user, playbook_id=playbook_id)
        customer = customer_get_for(actor=request.user, customer_id=customer_id)
        run = services.playbook_run_now(actor=request.user, playbook=playbook, customer=customer)
        ticket = ticket_get_for(actor=request.user, ticket_id=int(ticket_id)) if ticket_id.isdigit() else None
        card = selectors.next_best_action(actor=request.user, customer=customer,
                                          exclude_ticket_id=ticket.pk if ticket else None)
    except DomainError as error:
        return _error_page(request, error)
    if not getattr(request, "htmx", False):
        messages.info(request, f"{playbook.name}: {run.get_status_display().lower()}.")
        return redirect(reverse("tickets:detail", args=[ticket.pk]) if ticket else
                        reverse("customers:detail", args=[customer.pk]))
    return render(request, "playbooks/partials/next_best_action.html", {"card": card, "ticket": ticket, "run": run})


def _customer_panel(request: HttpRequest, customer_id: int, status: int = 200,
                    error: DomainError | None = None) -> HttpResponse:
    customer = customer_get_for(actor=request.user, customer_id=customer_id)
    return render(request, "playbooks/partials/customer_panel.html", {
        "customer": customer, "tags": selectors.customer_tags(customer=customer),
        "runs": selectors.customer_runs(actor=request.user, customer=customer), "error": error,
        "can_write": request.user.access_level >= AccessLevel.WRITE}, status=status)


@login_required
@require_GET
def customer_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer page's card: tags (add / remove) and the latest playbook runs."""
    try:
        return _customer_panel(request, customer_id)
    except DomainError as error:
        return _error_page(request, error)


@login_required
@require_POST
def customer_tag_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    try:
        customer = customer_get_for(actor=request.user, customer_id=customer_id)
        services.customer_tag_add(actor=request.user, customer=customer, tag=request.POST.get("tag", ""))
    except DomainError as error:
        if isinstance(error, PermissionDenied) or not getattr(request, "htmx", False):
            return _error_page(request, error)
        return _customer_panel(request, customer_id, status=error.status, error=error)
    if not getattr(request, "htmx", False):
        return redirect("customers:detail", customer_id)
    return _customer_panel(request, customer_id)


@login_required
@require_POST
def customer_tag_remove(request: HttpRequest, customer_id: int, tag: str) -> HttpResponse:
    try:
        customer = customer_get_for(actor=request.user, customer_id=customer_id)
        services.customer_tag_remove(actor=request.user, customer=customer, tag=tag)
    except DomainError as error:
        return _error_page(request, error)
    if not getattr(request, "htmx", False):
        return redirect("customers:detail", customer_id)
    return _customer_panel(request, customer_id)
