"""View helpers shared by every app's pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cx.core.errors import DomainError


def render_domain_error(request: HttpRequest, error: DomainError, *, app: str) -> HttpResponse:
    """A domain error as the app's error page (or its partial for htmx requests), with the error's 4xx."""
    template = f"{app}/partials/error.html" if getattr(request, "htmx", False) else f"{app}/error.html"
    return render(request, template, {"error": error}, status=error.status)
