"""Notification pages: the agent's inbox (mark read, mark all read), the unread badge partial that the
page header loads by htmx and refreshes on each live event, and the preferences form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.core.errors import DomainError
from cx.notifications.forms import NotificationPreferencesForm
from cx.notifications.selectors import (
    notification_link,
    notification_page,
    notification_preferences_of,
    notification_unread_count,
)
from cx.notifications.services import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences_update,
)

PAGE_SIZE = 30


def _error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(request, "notifications/error.html", {"error": exc}, status=exc.status)


@login_required
@require_GET
def notification_list_page(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    try:
        page = notification_page(actor=request.user, unread_only=unread_only, cursor=request.GET.get("cursor"),
                                 limit=PAGE_SIZE)
    except DomainError as exc:
        return _error_page(request, exc)
    context = {
        "notifications": [(n, notification_link(n)) for n in page.items],
        "next_cursor": page.next_cursor,
        "unread_only": unread_only,
        "unread_count": notification_unread_count(actor=request.user),
    }
    return render(request, "notifications/list.html", context)


@login_required
@require_GET
def notification_badge(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/partials/badge.html",
                  {"unread_count": notification_unread_count(actor=request.user)})


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        notification = notification_mark_read(actor=request.user, notification_id=notification_id)
    except DomainError as exc:
        return _error_page(request, exc)
    link = notification_link(notification)
    if request.POST.get("open") and link and url_has_allowed_host_and_scheme(
            link, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(link)
    if request.htmx:
        return render(request, "notifications/partials/row.html", {"notification": notification, "link": link})
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    try:
        marked = notification_mark_all_read(actor=request.user)
    except DomainError as exc:
        return _error_page(request, exc)
    messages.success(request, f"Marked {marked} notification{'' if marked == 1 else 's'} read.")
    return redirect("notifications:list")


@login_required
@require_http_methods(["GET", "POST"])
def preferences_page(request: HttpRequest) -> HttpResponse:
    rows = notification_preferences_of(actor=request.user)
    if request.method == "GET":
        form = NotificationPreferencesForm(rows=rows)
        return render(request, "notifications/preferences.html", {"form": form})
    form = NotificationPreferencesForm(request.POST, rows=rows)
    if not form.is_valid():
        return render(request, "notifications/preferences.html", {"form": form}, status=422)
    try:
        notification_preferences_update(actor=request.user, preferences=form.choices())
    except DomainError as exc:
        form.add_error(None, exc.message)
        return render(request, "notifications/preferences.html", {"form": form}, status=exc.status)
    messages.success(request, "Your notification preferences are saved.")
    return redirect("notifications:preferences")
