"""Answer bot pages: settings (admins) and the outcome report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.bot import services
from cx.bot.models import BotAnswer
from cx.core.errors import DomainError, ValidationFailed
from cx.core.views import render_domain_error


@login_required
@require_http_methods(["GET"])
def admin_page(request: HttpRequest) -> HttpResponse:
    try:
        require_access(request.user, AccessLevel.ADMIN)
    except DomainError as error:
        return render_domain_error(request, error, app="bot")
    return render(request, "bot/admin.html", {"settings": services.bot_settings_get()})


@login_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    try:
        try:
            threshold = float(request.POST.get("threshold", ""))
        except ValueError:
            raise ValidationFailed("Invalid bot settings.", fields={"threshold": "a number from 0 to 1"}) from None
        services.bot_settings_update(actor=request.user, values={
            "threshold": threshold,
            "chat_enabled": request.POST.get("chat_enabled") == "on",
            "email_enabled": request.POST.get("email_enabled") == "on",
            "web_enabled": request.POST.get("web_enabled") == "on",
        })
    except DomainError as error:
        if error.status in (403, 404):
            return render_domain_error(request, error, app="bot")
        reasons = "; ".join(f"{name}: {reason}" for name, reason in error.fields.items())
        messages.error(request, f"{error.message} {reasons}".strip())
    else:
        messages.success(request, "Bot settings saved.")
    return redirect("bot:admin")


@login_required
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 0
    try:
        report = services.bot_report(actor=request.user, days=days)
    except DomainError as error:
        return render_domain_error(request, error, app="bot")
    recent = BotAnswer.objects.select_related("ticket")[:50]
    return render(request, "bot/report.html", {"report": report, "recent": recent})
