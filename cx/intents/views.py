"""Intent routing pages: the admin page (mapping, threshold, examples, training status) and the panel the
ticket page loads by htmx (prediction, confidence, the agent's correction)."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.selectors import team_list
from cx.accounts.services import require_access
from cx.core.errors import DomainError, ValidationFailed
from cx.core.views import render_domain_error
from cx.intents import selectors, services
from cx.tickets.models import Priority
from cx.tickets.selectors import ticket_get_for

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _error_message(error: DomainError) -> str:
    reasons = "; ".join(f"{name}: {reason}" for name, reason in error.fields.items())
    return f"{error.message} {reasons}".strip()


@login_required
@require_http_methods(["GET"])
def admin_page(request: HttpRequest) -> HttpResponse:
    try:
        require_access(request.user, AccessLevel.ADMIN)
        context = {
            "settings": services.intent_settings_get(),
            "labels": list(selectors.intent_label_list(actor=request.user)),
            "runs": selectors.intent_model_list(actor=request.user, limit=10),
            "example_counts": selectors.intent_example_counts(actor=request.user),
            "teams": team_list(actor=request.user),
            "priorities": Priority.choices,
        }
    except DomainError as error:
        return render_domain_error(request, error, app="intents")
    context["active"] = next((run for run in context["runs"] if run.is_active), None)
    return render(request, "intents/admin.html", context)


def _after_post(request: HttpRequest, action, success: str) -> HttpResponse:
    try:
        action()
    except DomainError as error:
        if error.status in (403, 404):
            return render_domain_error(request, error, app="intents")
        messages.error(request, _error_message(error))
    else:
        messages.success(request, success)
    return redirect("intents:admin")


def _float(value: str, field: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationFailed("Invalid intent settings.", fields={field: "Must be a number."}) from None


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("Invalid intent settings.", fields={field: "Must be a whole number."}) from None


@login_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    def action():
        services.intent_settings_update(actor=request.user, values={
            "threshold": _float(request.POST.get("threshold"), "threshold"),
            "routing_enabled": request.POST.get("routing_enabled") == "on",
            "retrain_every_hours": _int(request.POST.get("retrain_every_hours"), "retrain_every_hours"),
        })

    return _after_post(request, action, "Settings saved.")


def _label_values(request: HttpRequest) -> dict:
    team = request.POST.get("team_id") or None
    return {
        "name": request.POST.get("name", ""),
        "description": request.POST.get("description", ""),
        "team_id": _int(team, "team_id") if team else None,
        "priority": request.POST.get("priority", ""),
        "tags": [t for t in request.POST.get("tags", "").replace(",", " ").split() if t],
    }


@login_required
@require_POST
def label_create(request: HttpRequest) -> HttpResponse:
    return _after_post(request, lambda: services.intent_label_create(actor=request.user, values=_label_values(request)),
                       "Intent added.")


@login_required
@require_POST
def label_update(request: HttpRequest, label_id: int) -> HttpResponse:
    def action():
        label = selectors.intent_label_get_for(actor=request.user, label_id=label_id)
        services.intent_label_update(actor=request.user, label=label, values=_label_values(request))

    return _after_post(request, action, "Intent saved.")


@login_required
@require_POST
def label_delete(request: HttpRequest, label_id: int) -> HttpResponse:
    def action():
        label = selectors.intent_label_get_for(actor=request.user, label_id=label_id)
        services.intent_label_delete(actor=request.user, label=label)

    return _after_post(request, action, "Intent deleted.")


def parse_examples_csv(data: bytes) -> list[tuple[str, str]]:
    """Rows of an uploaded CSV with a header containing text and category."""
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        if not reader.fieldnames or not {"text", "category"} <= set(reader.fieldnames):
            raise ValidationFailed("The CSV needs a header row with the columns text and category.",
                                   fields={"file": f"found: {', '.join(reader.fieldnames or []) or 'no header'}"})
        return [(row.get("text") or "", row.get("category") or "") for row in reader]
    except UnicodeDecodeError:
        raise ValidationFailed("The file is not UTF-8 text.", fields={"file": "not UTF-8"}) from None
    except csv.Error as exc:
        raise ValidationFailed("The file is not a valid CSV.", fields={"file": str(exc)}) from None


@login_required
@require_POST
def examples_upload(request: HttpRequest) -> HttpResponse:
    def action():
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed("Choose a CSV file to import.", fields={"file": "required"})
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationFailed("The file is too large.", fields={"file": "at most 20 MB"})
        result = services.intent_examples_import(actor=request.user, rows=parse_examples_csv(upload.read()))
        created = ", ".join(result.labels_created)
        messages.info(request, f"Imported {result.created} examples{'; new intents: ' + created if created else ''}.")

    return _after_post(request, action, "Examples imported.")


@login_required
@require_POST
def train_now(request: HttpRequest) -> HttpResponse:
    return _after_post(request, lambda: services.intent_training_request(actor=request.user, trigger="admin"),
                       "Training queued: the model is replaced when it finishes.")


def _panel(request: HttpRequest, ticket_id: int, status: int = 200, error: DomainError | None = None):
    try:
        intent = selectors.ticket_intent_for(actor=request.user, ticket_id=ticket_id)
        labels = list(selectors.intent_label_list(actor=request.user))
    except DomainError as domain_error:
        return render_domain_error(request, domain_error, app="intents")
    return render(request, "intents/partials/ticket_panel.html",
                  {"ticket_id": ticket_id, "intent": intent, "labels": labels, "error": error,
                   "can_write": request.user.can_write}, status=status)


@login_required
@require_GET
def ticket_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _panel(request, ticket_id)


@login_required
@require_POST
def ticket_correct(request: HttpRequest, ticket_id: int) -> HttpResponse:
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
        label_id = request.POST.get("label_id", "")
        if not label_id.isdigit():
            raise ValidationFailed("Choose an intent.", fields={"label_id": "required"})
        services.ticket_intent_correct(actor=request.user, ticket=ticket, label_id=int(label_id))
    except DomainError as error:
        if error.status in (403, 404):
            return render_domain_error(request, error, app="intents")
        return _panel(request, ticket_id, status=error.status, error=error)
    return _panel(request, ticket_id)
