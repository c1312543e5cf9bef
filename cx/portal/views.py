"""Customer portal pages under /portal/: sign in by magic link, list and read requests, reply, open a new
request with suggested articles while typing the subject (opening one counts toward deflection)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.core.errors import DomainError
from cx.customers.models import Customer
from cx.kb.selectors import PORTAL_SESSION_KEY, article_search, article_url_path, public_article_by_id, session_customer
from cx.kb.services import help_center_settings, suggestion_open_record
from cx.portal import selectors, services
from cx.portal.forms import LoginForm, NewRequestForm, ReplyForm
from cx.portal.registry import portal_panels

SUGGESTIONS = 5


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _context(request: HttpRequest, **extra) -> dict:
    brand = help_center_settings()
    return {"brand": brand, "locale": brand.default_locale, "locales": brand.locale_list,
            "portal_customer": getattr(request, "portal_customer", None), **extra}


def portal_login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        customer = session_customer(request.session)
        if customer is None:
            return redirect(f"{reverse('portal:login')}?{urlencode({'next': request.get_full_path()})}")
        request.portal_customer = customer
        return view(request, *args, customer=customer, **kwargs)

    return wrapper


def _error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(request, "portal/error.html", _context(request, error=exc), status=exc.status)


def _apply_errors(form, exc: DomainError) -> None:
    form.add_error(None, exc.message)
    for field, reason in exc.fields.items():
        form.add_error(field if field in form.fields else None, reason)


# --- signing in -------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_path = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "GET":
        if session_customer(request.session) is not None:
            return redirect("portal:home")
        return render(request, "portal/login.html", _context(request, form=LoginForm(), next=next_path))
    form = LoginForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/login.html", _context(request, form=form, next=next_path), status=422)
    try:
        services.magic_link_request(email=form.cleaned_data["email"], client_ip=_client_ip(request),
                                    next_path=next_path)
    except services.RateLimited as exc:
        response = render(request, "portal/login.html", _context(request, form=form, next=next_path, error=exc),
                          status=429)
        response["Retry-After"] = "3600"
        return response
    except DomainError as exc:
        _apply_errors(form, exc)
        return render(request, "portal/login.html", _context(request, form=form, next=next_path), status=exc.status)
    # The same answer for known and unknown addresses: nobody learns who has an account.
    return render(request, "portal/check_email.html", _context(request, email=form.cleaned_data["email"]))


@require_http_methods(["GET", "POST"])
def redeem(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners that prefetch links do not use them up); POST signs in."""
    try:
        if request.method == "GET":
            services.magic_link_find(token=token)
            return render(request, "portal/redeem.html", _context(request, token=token))
        link = services.magic_link_redeem(token=token)
    except DomainError as exc:
        return _error(request, exc)
    request.session.cycle_key()
    request.session[PORTAL_SESSION_KEY] = link.customer.pk
    return redirect(link.next_path or "portal:home")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.pop(PORTAL_SESSION_KEY, None)
    request.session.cycle_key()
    return redirect("portal:login")


# --- requests -------------------------------------------------------------------------------------------

@require_GET
@portal_login_required
def home(request: HttpRequest, *, customer: Customer) -> HttpResponse:
    tickets = list(selectors.portal_tickets(customer=customer)[:200])
    return render(request, "portal/home.html", _context(
        request, tickets=tickets, shared=selectors.organization_shares_tickets(customer=customer),
        panels=portal_panels(customer)))


@require_GET
@portal_login_required
def ticket(request: HttpRequest, ticket_id: int, *, customer: Customer) -> HttpResponse:
    try:
        found = selectors.portal_ticket_get(customer=customer, ticket_id=ticket_id)
    except DomainError as exc:
        return _error(request, exc)
    return render(request, "portal/ticket.html", _context(
        request, ticket=found, messages_=selectors.portal_messages(ticket=found), form=ReplyForm()))


@require_POST
@portal_login_required
def reply(request: HttpRequest, ticket_id: int, *, customer: Customer) -> HttpResponse:
    try:
        found = selectors.portal_ticket_get(customer=customer, ticket_id=ticket_id)
    except DomainError as exc:
        return _error(request, exc)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.portal_reply(customer=customer, ticket=found, body=form.cleaned_data["body"],
                                  attachment=form.cleaned_data["attachment"])
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("portal:ticket", ticket_id=found.pk)
    return render(request, "portal/ticket.html", _context(
        request, ticket=found, messages_=selectors.portal_messages(ticket=found), form=form), status=422)


@require_http_methods(["GET", "POST"])
@portal_login_required
def new_request(request: HttpRequest, *, customer: Customer) -> HttpResponse:
    if request.method == "GET":
        return render(request, "portal/new_request.html", _context(request, form=NewRequestForm()))
    form = NewRequestForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            opened = services.portal_request_open(customer=customer, subject=form.cleaned_data["subject"],
                                                  body=form.cleaned_data["body"],
                                                  attachment=form.cleaned_data["attachment"])
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("portal:ticket", ticket_id=opened.pk)
    return render(request, "portal/new_request.html", _context(request, form=form), status=422)


@require_GET
@portal_login_required
def suggest(request: HttpRequest, *, customer: Customer) -> HttpResponse:
    """Articles for the subject being typed (htmx, debounced). Not logged: every pause in typing would be a
    "search"; what counts is whether the customer opens a suggestion (recorded) and then submits."""
    subject = request.GET.get("subject", "")
    try:
        hits = article_search(query=subject, limit=SUGGESTIONS)
    except DomainError:
        hits = []
    return render(request, "portal/partials/suggestions.html", {"hits": hits, "subject": subject})


@require_GET
@portal_login_required
def suggested(request: HttpRequest, article_id: int, *, customer: Customer) -> HttpResponse:
    """Open a suggested article: recorded, then on to the help center page."""
    try:
        article = public_article_by_id(article_id=article_id)
        suggestion_open_record(article=article, customer=customer, query=request.GET.get("q", "")[:250])
    except DomainError as exc:
        return _error(request, exc)
    return redirect(article_url_path(article))


@require_GET
@portal_login_required
def attachment(request: HttpRequest, attachment_id: int, *, customer: Customer) -> HttpResponse:
    try:
        found = selectors.portal_attachment_get(customer=customer, attachment_id=attachment_id)
    except DomainError as exc:
        return _error(request, exc)
    response = FileResponse(found.file.open("rb"), content_type=found.content_type, as_attachment=True,
                            filename=found.filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response
