"""Forms for logging in, resetting a password, API tokens and agent settings.

Login attempts are throttled per username (5 failures in 15 minutes lock it for 15 minutes) in Django's
cache, for every username alike, so the lock never tells whether an account exists.
"""

from __future__ import annotations

import hashlib
import math
import time
from functools import partial

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from cx.accounts.models import AccessLevel, AgentStatus, User
from cx.accounts.tasks import send_password_reset_email

MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = 15 * 60  # seconds in which MAX_FAILED_LOGINS failures lock the username
LOCKOUT_SECONDS = 15 * 60


def _now() -> float:
    return time.time()


class LoginThrottle:
    """Failed log-in attempts for one username, kept in the cache (shared by every login form)."""

    def __init__(self, username: str) -> None:
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
        self._failures_key = f"cx:login:failures:{digest}"
        self._lock_key = f"cx:login:locked-until:{digest}"

    def locked_for(self) -> int:
        """Seconds until the username may try again (0: not locked)."""
        until = cache.get(self._lock_key)
        if until is None:
            return 0
        return max(0, math.ceil(until - _now()))

    def record_failure(self) -> bool:
        """Count one failure; True when it locks the username."""
        now = _now()
        recent = [t for t in cache.get(self._failures_key, []) if now - t < FAILED_LOGIN_WINDOW]
        recent.append(now)
        if len(recent) >= MAX_FAILED_LOGINS:
            cache.set(self._lock_key, now + LOCKOUT_SECONDS, LOCKOUT_SECONDS)
            cache.delete(self._failures_key)
            return True
        cache.set(self._failures_key, recent, FAILED_LOGIN_WINDOW)
        return False

    def clear(self) -> None:
        cache.delete_many([self._failures_key, self._lock_key])


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed log-in attempts for this username. Try again in {minutes} {unit}."


class ThrottledLoginMixin:
    """Refuse a locked username before checking its password; count wrong passwords."""

    @sensitive_variables()
    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        throttle = LoginThrottle(username)
        wait = throttle.locked_for()
        if wait:
            raise ValidationError(lockout_message(wait), code="locked")
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            if throttle.record_failure():
                raise ValidationError(lockout_message(LOCKOUT_SECONDS), code="locked")
            raise self.get_invalid_login_error()
        throttle.clear()
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    @property
    def is_locked_out(self) -> bool:
        return any(error.code == "locked" for error in self.non_field_errors().as_data())


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        # The same words whether the username is unknown or the password wrong.
        "invalid_login": "That username and password do not match. Both are case-sensitive.",
    }


class StaffLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The Django admin's login form, under the same lockout as the main login page."""


class PasswordResetRequestForm(PasswordResetForm):
    """Queues the reset email as a background task after commit, so the request never waits on SMTP."""

    def save(self, *, request, use_https: bool = False, domain_override: str | None = None, **_unused) -> int:
        domain = domain_override or request.get_host()
        queued = 0
        for user in self.get_users(self.cleaned_data["email"]):
            transaction.on_commit(
                partial(send_password_reset_email.enqueue, user_id=user.pk, domain=domain, use_https=use_https)
            )
            queued += 1
        return queued


def scope_choices_for(user: User) -> list[tuple[str, str]]:
    """The token scopes a role may hand out: never above its own access level."""
    described = {
        AccessLevel.READ: "read: view only",
        AccessLevel.WRITE: "write: view and change",
        AccessLevel.ADMIN: "admin: everything, including settings",
    }
    return [(level.label, described[level]) for level in AccessLevel if level <= user.access_level]


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="What the token is for, e.g. “nightly export”.")
    scope = forms.ChoiceField(label="Scope")

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Any known scope passes the form, so the service is the one that refuses a scope above the role
        # (with its own message); the select offers only what the role allows.
        self.fields["scope"].choices = [(level.label, level.label) for level in AccessLevel]
        self.fields["scope"].widget.choices = scope_choices_for(user)
        self.fields["scope"].initial = AccessLevel.READ.label


class AgentStatusForm(forms.Form):
    status = forms.ChoiceField(label="Your status", choices=AgentStatus.choices)
