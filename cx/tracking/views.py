"""Sources and write keys (admin pages), and the Tracking API for non-ASGI deployments and the test client.

Under ASGI (daphne, uvicorn) /v1/ is answered by cx.tracking.handler.TrackingASGI before Django; this view
runs the same cycle for WSGI servers and Django's test client.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.core.errors import DomainError
from cx.core.views import render_domain_error
from cx.tracking import handler, services
from cx.tracking.models import Profile, Source, SourceKind


@csrf_exempt
def tracking_endpoint(request: HttpRequest, endpoint: str) -> HttpResponse:
    if request.method == "OPTIONS":
        reply = handler.Reply(204, None, {})
    elif request.method != "POST":
        reply = handler.Reply(405, {"error": {"code": "method_not_allowed", "message": "Use POST.", "fields": {}}},
                              {"allow": "POST, OPTIONS"})
    else:
        headers = {"authorization": request.headers.get("Authorization", ""),
                   "content-encoding": request.headers.get("Content-Encoding", "")}
        reply = handler.handle_sync(endpoint, headers, request.read())
    response = HttpResponse(reply.content(), status=reply.status,
                            content_type="application/json" if reply.body is not None else None)
    for name, value in {**handler.CORS_HEADERS, **reply.headers}.items():
        response[name] = value
    return response


class SourceForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="e.g. Website, iOS app, Shop backend")
    kind = forms.ChoiceField(label="Kind", choices=SourceKind.choices)
    channel = forms.CharField(label="Channel", max_length=32, initial="web",
                              help_text="Timeline channel of this source's events that the catalog does not map")


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="tracking")


@login_required
@require_GET
def sources(request: HttpRequest) -> HttpResponse:
    try:
        require_access(request.user, AccessLevel.ADMIN)
    except DomainError as error:
        return _error(request, error)
    return render(request, "tracking/sources.html", {
        "sources": Source.objects.all(), "form": SourceForm(),
        "profiles": Profile.objects.filter(merged_into__isnull=True).count(),
        "identified": Profile.objects.filter(merged_into__isnull=True, user_id__isnull=False).count(),
    })


@login_required
@require_POST
def source_create(request: HttpRequest) -> HttpResponse:
    form = SourceForm(request.POST)
    status = 422
    issued = None
    if form.is_valid():
        try:
            issued = services.source_create(actor=request.user, **form.cleaned_data)
            status = 201
        except DomainError as error:
            if error.status == 403:
                return _error(request, error)
            for name, reason in error.fields.items():
                form.add_error(name if name in form.fields else None, reason)
            status = error.status
    context = {"sources": Source.objects.all(), "form": SourceForm() if issued else form, "issued": issued,
               "profiles": Profile.objects.filter(merged_into__isnull=True).count(),
               "identified": Profile.objects.filter(merged_into__isnull=True, user_id__isnull=False).count()}
    return render(request, "tracking/sources.html", context, status=200 if issued else status)


@login_required
@require_POST
def source_rotate(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=source_id)
    try:
        issued = services.source_rotate_key(actor=request.user, source=source)
    except DomainError as error:
        return _error(request, error)
    return render(request, "tracking/sources.html", {
        "sources": Source.objects.all(), "form": SourceForm(), "issued": issued,
        "profiles": Profile.objects.filter(merged_into__isnull=True).count(),
        "identified": Profile.objects.filter(merged_into__isnull=True, user_id__isnull=False).count()})


@login_required
@require_POST
def source_revoke(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=source_id)
    try:
        services.source_revoke(actor=request.user, source=source)
    except DomainError as error:
        return _error(request, error)
    return sources(request)
