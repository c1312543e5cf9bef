"""The REST API: Django Ninja under /api/v1, OpenAPI docs at /api/docs.

Authentication is a personal API token (``Authorization: Bearer cx_...``) or the browser session (with
CSRF). Every 4xx has one shape: ``{"error": {"code": str, "message": str, "fields": {name: reason}}}``.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from cx.accounts.models import AccessLevel
from cx.accounts.services import api_token_authenticate
from cx.core.errors import DomainError, PermissionDenied

logger = logging.getLogger("cx.api")

NUL_REASON = "must not contain NUL characters"


class BearerTokenAuth(HttpBearer):
    """Personal API tokens; the token's scope travels on the request as ``auth_scope``."""

    def authenticate(self, request: HttpRequest, token: str):
        issued = api_token_authenticate(plaintext=token)
        if issued is None:
            return None
        request.user = issued.user
        request.auth_scope = AccessLevel(issued.scope)
        return issued.user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session, with Django's CSRF check on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest):
        # A presented token must stand on its own: never fall back to the cookie, and never answer a bad
        # token with a CSRF error (it is a 401). Anonymous requests are a 401 too, not a CSRF failure.
        if request.headers.get("Authorization"):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise PermissionDenied(
                "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header.",
                code="csrf_failed",
            )
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None):
        request.auth_scope = None
        return request.user


class _NulInBody(ValueError):
    """A JSON string with a NUL character: PostgreSQL cannot store it, so it is refused up front."""

    def __init__(self, path: tuple):
        super().__init__(path)
        self.path = path


def _find_nul(value: Any, path: tuple = ()) -> tuple | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*path, key)
            found = _find_nul(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, (*path, index))
            if found is not None:
                return found
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class StrictJsonParser(Parser):
    """JSON as RFC 8259 defines it (no NaN/Infinity), and no NUL characters in bodies or query strings."""

    def parse_body(self, request: HttpRequest) -> dict:
        data = json.loads(request.body, parse_constant=_reject_constant)
        nul_path = _find_nul(data)
        if nul_path is not None:
            raise _NulInBody(nul_path)
        return data

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str], request: HttpRequest) -> dict:
        for key, values in data.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                raise ValidationError([{"loc": ("query", key), "msg": NUL_REASON, "type": "nul_character"}])
        return super().parse_querydict(data, list_fields, request)


class CxNinjaAPI(NinjaAPI):
    """NinjaAPI whose 405 answers use the API error shape like every other 4xx."""

    def _get_urls(self):
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _error_shaped_405(pattern.callback)
        return urls


api = CxNinjaAPI(
    title="cxdesk API",
    version="1",
    description=(
        "Customer service and customer experience in one system. Authenticate with "
        "`Authorization: Bearer <token>` (create one on the API tokens page at /accounts/tokens/ or with "
        "`POST /api/v1/tokens`; the secret is shown once) or with the browser session (send the `X-CSRFToken` "
        "header on writes). Errors: "
        '`{"error": {"code", "message", "fields"}}`. Customer and organisation lists use keyset cursors: pass '
        "the `next` or `previous` value of a page as `cursor`."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=[BearerTokenAuth(), SessionAuth()],
    parser=StrictJsonParser(),
)


def error_response(request: HttpRequest, *, status: int, code: str, message: str,
                   fields: dict[str, str] | None = None) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


def _method_not_allowed(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    allowed = ", ".join(sorted(m.strip() for m in response["Allow"].split(",")))
    shaped = error_response(request, status=405, code="method_not_allowed",
                            message=f"{request.method} is not allowed here; use {allowed}.")
    shaped["Allow"] = allowed
    return shaped


def _error_shaped_405(view: Callable) -> Callable:
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = await view(request, *args, **kwargs)
            if isinstance(response, HttpResponseNotAllowed):
                return _method_not_allowed(request, response)
            return response

        return async_wrapper

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            return _method_not_allowed(request, response)
        return response

    return wrapper


def _field_name(loc: list | tuple) -> str:
    # Drop the parameter-source prefix ninja adds ("body", "query", "path") and the payload name.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(request, status=exc.status, code=exc.code, message=exc.message, fields=exc.fields)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        if isinstance(error, dict) and "loc" in error:
            name = _field_name(error["loc"])
            reason = error.get("msg", "invalid")
            if error.get("type") == "extra_forbidden":
                reason = "unknown field"
            fields.setdefault(name, reason)
        elif isinstance(error, dict):
            for key, value in error.items():
                fields.setdefault(str(key), str(value))
    return error_response(request, status=422, code="validation_error",
                          message="Some fields are missing or invalid.", fields=fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(request, status=401, code="not_authenticated",
                              message="A valid API token or session is required.")
    response["WWW-Authenticate"] = 'Bearer realm="cxdesk"'
    return response


@api.exception_handler(AuthorizationError)
def _unauthorized(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error_response(request, status=403, code="forbidden", message=str(exc))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, _NulInBody):
        return _validation_error(request, ValidationError(
            [{"loc": ("body", *exc.__cause__.path), "msg": NUL_REASON, "type": "nul_character"}]
        ))
    code = {400: "invalid_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            413: "payload_too_large", 429: "rate_limited"}.get(exc.status_code, "error")
    message = str(exc)
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        message = "The request body is not valid JSON."
        return error_response(request, status=400, code="malformed_json", message=message,
                              fields={"body": "not valid JSON"})
    return error_response(request, status=exc.status_code, code=code, message=message)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, status=404, code="not_found", message="Not found.")


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, status=413, code="payload_too_large",
                          message="The request body is larger than this server accepts.",
                          fields={"body": "too large"})


@api.exception_handler(TooManyFilesSent)
@api.exception_handler(TooManyFieldsSent)
def _too_many_parts(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, status=413, code="payload_too_large",
                          message="The request has more files or form fields than this server accepts.",
                          fields={"body": "too many files or fields"})


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # In debug mode Django's technical 500 page is more useful; in production clients get the error shape.
    if settings.DEBUG:
        raise exc
    logger.exception("API request %s %s failed", request.method, request.path)
    return error_response(request, status=500, code="server_error",
                          message="Something went wrong on the server.")


def _register_routers() -> None:
    from cx.accounts.api import router as accounts_router
    from cx.customers.api import router as customers_router
    from cx.journeys.api import router as journeys_router
    from cx.routing.api import router as routing_router

    api.add_router("/v1/", accounts_router)
    api.add_router("/v1/", customers_router)
    api.add_router("/v1/", journeys_router)
    api.add_router("/v1/", "cx.journeys.analytics_api.router")
    api.add_router("/v1/", "cx.sla.api.router")
    api.add_router("/v1/", routing_router)
    api.add_router("/v1/", "cx.tickets.api.router")
    api.add_router("/v1/", "cx.notifications.api.router")
    api.add_router("/v1/", "cx.webhooks.api.router")
    api.add_router("/v1/", "cx.automation.api.router")
    api.add_router("/v1/", "cx.playbooks.api.router")
    api.add_router("/v1/", "cx.surveys.api.router")
    api.add_router("/v1/", "cx.messaging.api.router")
    api.add_router("/v1/", "cx.voice.api.router")
    api.add_router("/v1/", "cx.kb.api.router")
    api.add_router("/v1/", "cx.intents.api.router")
    api.add_router("/v1/", "cx.bot.api.router")
    api.add_router("/v1/", "cx.chat.api.router")
    api.add_router("/v1/", "cx.mail.api.router")
    api.add_router("/v1/", "cx.insights.api.router")
    api.add_router("/v1/", "cx.churn.api.router")
    api.add_router("/v1/", "cx.clv.api.router")
    api.add_router("/v1/", "cx.drivers.api.router")


_register_routers()
