"""Phone pages and Twilio Voice webhooks.

* Webhooks (``/voice/hooks/<key>/...``): no login and no CSRF; each request must carry a valid
  ``X-Twilio-Signature`` for the menu's auth token (403 otherwise, nothing stored). Answers are TwiML.
* Admin pages: IVR menus with one row per key.
* The ticket panel: the ticket's calls (recordings, transcripts) and the "log a call" form.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.selectors import team_list
from cx.core.errors import DomainError
from cx.core.views import render_domain_error
from cx.sla.selectors import business_calendar_list
from cx.tickets.selectors import ticket_get_for
from cx.voice import selectors, services
from cx.voice.forms import CallLogForm, IvrMenuForm, IvrOptionFormSet

TWIML = "text/xml"


def _error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="voice")


# --- Twilio webhooks --------------------------------------------------------------------------------------

def _twilio(request: HttpRequest, webhook_key: str):
    """The menu for a signed Twilio request (raises NotFound / PermissionDenied)."""
    menu = services.voice_menu_for_webhook(webhook_key=webhook_key)
    query = request.META.get("QUERY_STRING", "")
    url = settings.CXDESK_BASE_URL + request.path + (f"?{query}" if query else "")
    services.twilio_request_verify(menu=menu, url=url, form=request.POST, headers=request.headers)
    return menu


def _hook(handler):
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest, webhook_key: str) -> HttpResponse:
        try:
            menu = _twilio(request, webhook_key)
            result = handler(request, menu)
        except DomainError as error:
            return JsonResponse(error.as_dict(), status=error.status)
        if result is None:
            return HttpResponse(status=204)
        return HttpResponse(result, content_type=TWIML)

    view.__name__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


@_hook
def incoming(request: HttpRequest, menu) -> str:
    """“A call comes in”: the menu (or the after-hours branch)."""
    return services.call_incoming(menu=menu, form=request.POST, retry=request.GET.get("retry") == "1")


@_hook
def gather(request: HttpRequest, menu) -> str:
    digits = request.POST.get("Digits") or request.GET.get("Digits") or ""
    return services.call_gather(menu=menu, form=request.POST, digits=digits)


@_hook
def dial_status(request: HttpRequest, menu) -> str:
    return services.call_dial_finished(menu=menu, form=request.POST)


@_hook
def recording(request: HttpRequest, menu) -> str:
    return services.call_recording_received(menu=menu, form=request.POST)


@_hook
def transcription(request: HttpRequest, menu) -> None:
    services.call_transcription_received(menu=menu, form=request.POST)


@_hook
def status(request: HttpRequest, menu) -> None:
    """The number's status callback: the call ended (duration, outcome)."""
    services.call_status_received(menu=menu, form=request.POST)


# --- Admin: IVR menus -------------------------------------------------------------------------------------

def _choices(request: HttpRequest) -> tuple[list, list]:
    return list(team_list(actor=request.user)), list(business_calendar_list(actor=request.user))


def _menu_values(form: IvrMenuForm, options: IvrOptionFormSet) -> dict:
    data = dict(form.cleaned_data)
    data["team_id"] = data.pop("team") or None
    data["calendar_id"] = data.pop("calendar") or None
    rows = []
    for row in options.cleaned_data:
        if row and row.get("digit"):
            rows.append({"digit": row["digit"], "label": row.get("label", ""), "action": row["action"],
                         "team_id": int(row["team"]) if row.get("team") else None,
                         "forward_number": row.get("forward_number", "")})
    data["options"] = rows
    return data


def _apply_errors(form: IvrMenuForm, options: IvrOptionFormSet, error: DomainError) -> None:
    form.add_error(None, error.message)
    rows = [i for i, row in enumerate(options.cleaned_data) if row and row.get("digit")]
    for field, reason in error.fields.items():
        parts = field.split(".")
        if parts[0] == "options" and len(parts) == 3 and int(parts[1]) < len(rows):
            target = options.forms[rows[int(parts[1])]]
            name = {"team_id": "team"}.get(parts[2], parts[2])
            target.add_error(name if name in target.fields else None, reason)
        else:
            name = {"team_id": "team", "calendar_id": "calendar"}.get(field, field)
            known = name in form.fields
            form.add_error(name if known else None, reason if known else f"{field}: {reason}")


def _menu_form(request: HttpRequest, menu=None) -> HttpResponse:
    teams, calendars = _choices(request)
    initial, option_initial = {}, []
    if menu is not None:
        initial = {"name": menu.name, "phone_number": menu.phone_number, "account_sid": menu.account_sid,
                   "is_active": menu.is_active, "greeting": menu.greeting, "language": menu.language,
                   "team": str(menu.team_id or ""), "calendar": str(menu.calendar_id or ""),
                   "after_hours_message": menu.after_hours_message, "after_hours_action": menu.after_hours_action,
                   "voicemail_prompt": menu.voicemail_prompt}
        option_initial = [{"digit": o.digit, "label": o.label, "action": o.action, "team": str(o.team_id or ""),
                           "forward_number": o.forward_number} for o in menu.options.all()]
    data = request.POST if request.method == "POST" else None
    form = IvrMenuForm(data, initial=initial, teams=teams, calendars=calendars,
                       token_set=bool(menu and menu.auth_token))
    options = IvrOptionFormSet(data, initial=option_initial, prefix="options", form_kwargs={"teams": teams})
    if request.method == "POST" and form.is_valid() and options.is_valid():
        values = _menu_values(form, options)
        try:
            if menu is None:
                menu = services.ivr_menu_create(actor=request.user, values=values)
            else:
                services.ivr_menu_update(actor=request.user, menu=menu, values=values)
        except DomainError as error:
            _apply_errors(form, options, error)
        else:
            messages.success(request, "IVR menu saved. Point the Twilio number's voice webhooks at the URLs below.")
            return redirect("voice:menu_edit", menu.pk)
    context = {"form": form, "options": options, "menu": menu if menu and menu.pk else None}
    if menu is not None and menu.pk:
        context["incoming_url"] = services.webhook_urls(menu).incoming
        context["status_url"] = services.status_callback_url(menu)
    failed = request.method == "POST" and (form.errors or any(f.errors for f in options.forms)
                                           or options.non_form_errors())
    return render(request, "voice/menu_form.html", context, status=422 if failed else 200)


@login_required
@require_GET
def menu_list(request: HttpRequest) -> HttpResponse:
    try:
        menus = list(selectors.ivr_menu_list(actor=request.user))
    except DomainError as error:
        return _error_page(request, error)
    rows = [{"menu": m, "incoming_url": services.webhook_urls(m).incoming} for m in menus]
    return render(request, "voice/menu_list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def menu_create(request: HttpRequest) -> HttpResponse:
    try:
        selectors.ivr_menu_list(actor=request.user)
    except DomainError as error:
        return _error_page(request, error)
    return _menu_form(request)


@login_required
@require_http_methods(["GET", "POST"])
def menu_edit(request: HttpRequest, menu_id: int) -> HttpResponse:
    try:
        menu = selectors.ivr_menu_get_for(actor=request.user, menu_id=menu_id)
    except DomainError as error:
        return _error_page(request, error)
    return _menu_form(request, menu)


@login_required
@require_POST
def menu_delete(request: HttpRequest, menu_id: int) -> HttpResponse:
    try:
        menu = selectors.ivr_menu_get_for(actor=request.user, menu_id=menu_id)
        services.ivr_menu_delete(actor=request.user, menu=menu)
    except DomainError as error:
        return _error_page(request, error)
    messages.success(request, "IVR menu deleted.")
    return redirect("voice:menus")


# --- Ticket panel: calls and "log a call" -----------------------------------------------------------------

def _panel(request: HttpRequest, ticket_id: int, *, form: CallLogForm | None = None, status: int = 200,
           error: DomainError | None = None) -> HttpResponse:
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
        calls = list(selectors.calls_of_ticket(actor=request.user, ticket_id=ticket_id))
    except DomainError as exc:
        return _error_page(request, exc)
    phone = ticket.requester.identities.filter(kind="phone").values_list("value", flat=True).first() or ""
    return render(request, "voice/partials/ticket_panel.html",
                  {"ticket": ticket, "calls": calls, "error": error,
                   "form": form or CallLogForm(initial={"phone_number": phone}),
                   "can_write": request.user.can_write and ticket.merged_into_id is None}, status=status)


@login_required
@require_GET
def ticket_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _panel(request, ticket_id)


@login_required
@require_POST
def call_log(request: HttpRequest, ticket_id: int) -> HttpResponse:
    form = CallLogForm(request.POST)
    if not form.is_valid():
        return _panel(request, ticket_id, form=form, status=422)
    data = form.cleaned_data
    started: datetime = data["started_at"]
    if timezone.is_naive(started):
        started = timezone.make_aware(started)
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
        services.call_log_manual(actor=request.user, ticket=ticket, call=services.ManualCall(
            direction=data["direction"], phone_number=data.get("phone_number", ""), started_at=started,
            duration_seconds=data["minutes"] * 60 + data["seconds"], outcome=data["outcome"],
            notes=data.get("notes", "")))
    except DomainError as error:
        for field, reason in error.fields.items():
            form.add_error(field if field in form.fields else None, reason)
        if not error.fields:
            form.add_error(None, error.message)
        return _panel(request, ticket_id, form=form, status=error.status)
    if request.htmx:
        response = _panel(request, ticket_id)
        response["HX-Trigger"] = "ticket-replied"
        return response
    messages.success(request, "Call logged.")
    return redirect(reverse("tickets:detail", args=[ticket_id]))
