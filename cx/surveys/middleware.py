"""CORS for the public survey endpoints, so the chat widget (on a customer's website, another origin) answers
through them. The signed invitation token in the path is the only credential (no cookies are sent or read),
so any origin may call them; every other path is left alone. The in-app endpoints (keyed by a widget key,
with the widget's signed visitor token in the body) check the inbox's allowed origins themselves."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PUBLIC_PREFIXES = ("/api/v1/public/surveys/", "/api/v1/public/in-app/")


class PublicSurveyCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "600"
        else:
            response = self.get_response(request)
        response["Access-Control-Allow-Origin"] = "*"
        return response
