"""The public web form: no login. Invalid input answers 422 with the form, too many submissions 429, a
filled honeypot the usual thank-you page (bots learn nothing) while nothing is created."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cx.core.errors import DomainError
from cx.inbox.forms import WebFormTicketForm
from cx.inbox.services import RateLimited, web_form_check_limit, web_form_spam_trapped, web_form_ticket_open

# The ticket number waits here for the one thank-you page view that follows the redirect.
THANKS_SESSION_KEY = "inbox.web_form_ticket"
# Service field names that differ from the form's.
_FORM_FIELD = {"body": "message", "attachments": "attachment"}


def _client_ip(request: HttpRequest) -> str:
    # The socket's address: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "")


def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = render(request, "inbox/rate_limited.html", {"error": exc}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@require_http_methods(["GET", "POST"])
def web_form(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "inbox/web_form.html", {"form": WebFormTicketForm()})
    client_ip = _client_ip(request)
    try:
        web_form_check_limit(client_ip=client_ip)
    except RateLimited as exc:
        return _rate_limited(request, exc)
    form = WebFormTicketForm(request.POST, request.FILES)
    if form.is_spam:
        web_form_spam_trapped(client_ip=client_ip)
        return redirect("inbox:web_form_thanks")
    if not form.is_valid():
        return render(request, "inbox/web_form.html", {"form": form}, status=422)
    data = form.cleaned_data
    try:
        result = web_form_ticket_open(name=data["name"], email=data["email"], subject=data["subject"],
                                      message=data["message"], attachment=data["attachment"], client_ip=client_ip)
    except RateLimited as exc:
        return _rate_limited(request, exc)
    except DomainError as exc:
        form.add_error(None, exc.message)
        for field, reason in exc.fields.items():
            name = _FORM_FIELD.get(field, field)
            form.add_error(name if name in form.fields else None, reason)
        return render(request, "inbox/web_form.html", {"form": form}, status=exc.status)
    request.session[THANKS_SESSION_KEY] = {"ticket_id": result.ticket.pk, "email": result.submission.email}
    return redirect("inbox:web_form_thanks")


@require_GET
def web_form_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "inbox/thanks.html", {"opened": request.session.pop(THANKS_SESSION_KEY, None)})
