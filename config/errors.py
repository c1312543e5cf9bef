"""Errors that happen before a request reaches the API (unknown /api/ paths) keep the API error shape."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found


def api_aware_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "No such API endpoint.", "fields": {}}}, status=404
        )
    return page_not_found(request, exception)
