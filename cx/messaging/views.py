"""Messaging pages and webhooks.

* Webhooks (``/messaging/hooks/<key>/``): no login and no CSRF (providers sign their requests instead).
  GET answers Meta's verification handshake; POST stores the events. A wrong signature answers 403, a
  malformed payload 400 with the reason; nothing is stored in either case.
* Admin pages: the connector list and per-provider forms (secrets are write-only).
* The ticket panel (loaded by the ticket page with htmx): where replies go, WhatsApp's 24-hour window,
  approved templates, and each reply's delivery state with "send again" for failed ones.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.selectors import team_list
from cx.core.errors import DomainError, NotFound
from cx.core.views import render_domain_error
from cx.messaging import selectors, services
from cx.messaging.adapters import ADAPTERS
from cx.messaging.adapters.base import WebhookRequest
from cx.messaging.forms import ConnectorForm, templates_to_text
from cx.messaging.models import PROVIDER_CHANNEL, Provider
from cx.tickets.selectors import ticket_get_for

logger = logging.getLogger("cx.messaging")


def _error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="messaging")


def _json_error(error: DomainError) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=error.status)


# --- Webhooks ---------------------------------------------------------------------------------------------

@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, webhook_key: str) -> HttpResponse:
    try:
        connector = services.webhook_connector_get(webhook_key=webhook_key)
        if request.method == "GET":
            challenge = services.webhook_verification_answer(
                connector=connector, mode=request.GET.get("hub.mode", ""),
                token=request.GET.get("hub.verify_token", ""), challenge=request.GET.get("hub.challenge", ""))
            return HttpResponse(challenge, content_type="text/plain")
        body = request.body
        form = request.POST if request.content_type == "application/x-www-form-urlencoded" else None
        incoming = WebhookRequest(url=services.webhook_url(connector) + _query(request), headers=request.headers,
                                  body=body, form=form)
        result = services.webhook_receive(connector=connector, request=incoming)
    except DomainError as error:
        return _json_error(error)
    if connector.provider == Provider.TWILIO_SMS:
        # Twilio reads the answer as TwiML: an empty Response sends no automatic reply.
        return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml")
    return JsonResponse(result.as_dict())


def _query(request: HttpRequest) -> str:
    query = request.META.get("QUERY_STRING", "")
    return f"?{query}" if query else ""


# --- Admin: connectors ------------------------------------------------------------------------------------

def _secrets_set(connector) -> dict[str, bool]:
    return {key: bool(connector.secrets.get(key)) for key in ADAPTERS[connector.provider].secret_fields}


def _apply_errors(form: ConnectorForm, error: DomainError) -> None:
    form.add_error(None, error.message)
    for field, reason in error.fields.items():
        form.add_error(form.field_name_for(field), reason if form.field_name_for(field) else f"{field}: {reason}")


@login_required
@require_GET
def connector_list(request: HttpRequest) -> HttpResponse:
    try:
        connectors = list(selectors.connector_list(actor=request.user))
    except DomainError as error:
        return _error_page(request, error)
    rows = [{"connector": c, "webhook_url": services.webhook_url(c)} for c in connectors]
    return render(request, "messaging/connector_list.html", {"rows": rows, "providers": Provider.choices})


@login_required
@require_http_methods(["GET", "POST"])
def connector_create(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        selectors.connector_list(actor=request.user)  # admin check
    except DomainError as error:
        return _error_page(request, error)
    if provider not in Provider.values:
        return _error_page(request, NotFound(f"No messaging provider {provider!r}."))
    teams = list(team_list(actor=request.user))
    form = ConnectorForm(request.POST or None, provider=provider, teams=teams)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        try:
            connector = services.connector_create(actor=request.user, provider=provider, **values)
        except DomainError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Connector “{connector.name}” saved. Give the provider its webhook URL.")
            return redirect("messaging:connector_edit", connector.pk)
    return render(request, "messaging/connector_form.html",
                  {"form": form, "provider_label": Provider(provider).label, "connector": None},
                  status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def connector_edit(request: HttpRequest, connector_id: int) -> HttpResponse:
    try:
        connector = selectors.connector_get_for(actor=request.user, connector_id=connector_id)
    except DomainError as error:
        return _error_page(request, error)
    teams = list(team_list(actor=request.user))
    initial = {"name": connector.name, "team": str(connector.team_id or ""), "is_active": connector.is_active,
               "api_base_url": connector.api_base_url, "templates": templates_to_text(connector.templates),
               **{f"setting_{k}": v for k, v in connector.settings.items()}}
    form = ConnectorForm(request.POST or None, initial=initial, provider=connector.provider, teams=teams,
                         secrets_set=_secrets_set(connector))
    if request.method == "POST" and form.is_valid():
        try:
            services.connector_update(actor=request.user, connector=connector, values=form.service_values())
        except DomainError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Connector saved.")
            return redirect("messaging:connector_edit", connector.pk)
    return render(request, "messaging/connector_form.html",
                  {"form": form, "provider_label": connector.get_provider_display(), "connector": connector,
                   "webhook_url": services.webhook_url(connector)},
                  status=422 if form.errors else 200)


@login_required
@require_POST
def connector_delete(request: HttpRequest, connector_id: int) -> HttpResponse:
    try:
        connector = selectors.connector_get_for(actor=request.user, connector_id=connector_id)
        services.connector_delete(actor=request.user, connector=connector)
    except DomainError as error:
        return _error_page(request, error)
    messages.success(request, "Connector deleted.")
    return redirect("messaging:connectors")


# --- Ticket panel -----------------------------------------------------------------------------------------

def _panel(request: HttpRequest, ticket_id: int, *, status: int = 200, error: DomainError | None = None
           ) -> HttpResponse:
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
        if ticket.channel not in PROVIDER_CHANNEL.values():
            return HttpResponse("")  # not a messaging ticket: the ticket page shows no panel
        state = selectors.ticket_messaging_state(actor=request.user, ticket_id=ticket_id)
    except DomainError as exc:
        return _error_page(request, exc)
    return render(request, "messaging/partials/ticket_panel.html",
                  {"ticket": ticket, "state": state, "error": error, "can_write": request.user.can_write},
                  status=status)


@login_required
@require_GET
def ticket_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _panel(request, ticket_id)


@login_required
@require_POST
def ticket_template_send(request: HttpRequest, ticket_id: int) -> HttpResponse:
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
        services.whatsapp_template_send(actor=request.user, ticket=ticket,
                                        template_name=request.POST.get("template", ""))
    except DomainError as error:
        if request.htmx:
            return _panel(request, ticket_id, status=error.status, error=error)
        return _error_page(request, error)
    if request.htmx:
        response = _panel(request, ticket_id)
        response["HX-Trigger"] = "ticket-replied"
        return response
    return redirect(reverse("tickets:detail", args=[ticket_id]))


@login_required
@require_POST
def outbound_retry(request: HttpRequest, outbound_id: int) -> HttpResponse:
    try:
        outbound = selectors.outbound_get_for(actor=request.user, outbound_id=outbound_id)
        services.outbound_retry_now(actor=request.user, outbound=outbound)
    except DomainError as error:
        return _error_page(request, error)
    if request.htmx:
        return _panel(request, outbound.message.ticket_id)
    return redirect(reverse("tickets:detail", args=[outbound.message.ticket_id]))
