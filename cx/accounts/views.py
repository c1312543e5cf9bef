"""Account pages: log in and out, password change and reset, API tokens, and the agent's own settings.

Passwords go through Django's auth views (with cxdesk's forms and templates); token and status changes go
through ``cx.accounts.services``. Domain errors become form errors with their 4xx status.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.forms import (
    AgentStatusForm,
    ApiTokenCreateForm,
    LoginForm,
    LoginThrottle,
    PasswordResetRequestForm,
)
from cx.accounts.selectors import agent_get_for, api_token_list
from cx.accounts.services import api_token_create, api_token_revoke, user_set_status
from cx.core.errors import DomainError

# The plaintext of a just-created token waits here for exactly one page view (then it is gone for good).
NEW_TOKEN_SESSION_KEY = "accounts.new_api_token"  # noqa: S105 - a session key name, not a secret


def form_add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's refusal on the form: its message on top, each field's reason beside the field."""
    form.add_error(None, exc.message)
    for field, reason in exc.fields.items():
        form.add_error(field if field in form.fields else None, reason)


class InvalidFormStatusMixin:
    """Re-rendered forms answer 422, so clients and tests see that nothing was done."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 422
        return response


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.is_locked_out:
            response.status_code = 429
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django refuses GET with 405), so a link or image cannot log anyone out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have logged out.")
        return response


class PasswordChangeView(InvalidFormStatusMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password has been changed.")
        return response


class PasswordResetView(InvalidFormStatusMixin, auth_views.PasswordResetView):
    form_class = PasswordResetRequestForm
    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(InvalidFormStatusMixin, auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        if not self.validlink and response.status_code == 200:
            response.status_code = 400  # an expired or altered link is bad input, not a page
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever proved they own the mailbox may log in at once, even if the username was locked.
        LoginThrottle(self.user.get_username()).clear()
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def _render_settings(request: HttpRequest, *, status_form: AgentStatusForm, status: int = 200) -> HttpResponse:
    agent = agent_get_for(actor=request.user, agent_id=request.user.pk)
    return render(request, "accounts/settings.html", {"agent": agent, "status_form": status_form}, status=status)


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    return _render_settings(request, status_form=AgentStatusForm(initial={"status": request.user.status}))


@login_required
@require_POST
def status_update(request: HttpRequest) -> HttpResponse:
    form = AgentStatusForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, status_form=form, status=422)
    try:
        user_set_status(actor=request.user, status=form.cleaned_data["status"])
    except DomainError as exc:
        form_add_domain_error(form, exc)
        return _render_settings(request, status_form=form, status=exc.status)
    messages.success(request, f"Your status is now {request.user.get_status_display().lower()}.")
    return redirect("accounts:settings")


def _render_tokens(request: HttpRequest, *, form: ApiTokenCreateForm, new_token: dict | None = None,
                   status: int = 200) -> HttpResponse:
    context = {"tokens": api_token_list(actor=request.user), "form": form, "new_token": new_token}
    return render(request, "accounts/tokens.html", context, status=status)


@never_cache  # the page may carry a secret: browsers must not keep it for Back or a reload
@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        new_token = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
        return _render_tokens(request, form=ApiTokenCreateForm(user=request.user), new_token=new_token)
    form = ApiTokenCreateForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_tokens(request, form=form, status=422)
    try:
        issued = api_token_create(actor=request.user, name=form.cleaned_data["name"],
                                  scope=form.cleaned_data["scope"])
    except DomainError as exc:
        form_add_domain_error(form, exc)
        return _render_tokens(request, form=form, status=exc.status)
    # Redirect, then show the secret on the next GET only: a reload can neither repeat it nor mint another.
    request.session[NEW_TOKEN_SESSION_KEY] = {"id": issued.token.pk, "name": issued.token.name,
                                              "plaintext": issued.plaintext}
    return redirect("accounts:tokens")


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = api_token_revoke(actor=request.user, token_id=token_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _render_tokens(request, form=ApiTokenCreateForm(user=request.user), status=exc.status)
    messages.success(request, f"The token “{token.name}” is revoked; requests using it are now refused.")
    return redirect("accounts:tokens")
