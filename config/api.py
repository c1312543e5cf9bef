"""The REST API: Django Ninja under /api/v1, OpenAPI docs at /api/docs.

Authentication is a personal API token (``Authorization: Bearer cx_...``) or the browser session (with
CSRF). Every 4xx has one shape: ``{"error": {"code": str, "message": str, "fields": {name: reason}}}``.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from cx.accounts.services import api_token_authenticate
from cx.core.errors import DomainError


class BearerTokenAuth(HttpBearer):
    """Personal API tokens; the token's scope travels on the request as ``auth_scope``."""

    def authenticate(self, request: HttpRequest, token: str):
        issued = api_token_authenticate(plaintext=token)
        if issued is None:
            return None
        request.user = issued.user
        request.auth_scope = issued.scope
        return issued.user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session, with Django's CSRF check on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None):
        if request.headers.get("Authorization"):
            return None  # a presented token must stand on its own, never fall back to the cookie
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            request.auth_scope = None
            return user
        return None


api = NinjaAPI(
    title="cxdesk API",
    version="1",
    description=(
        "Customer service and customer experience in one system. Authenticate with "
        "`Authorization: Bearer <token>` (create tokens under Settings → API tokens). Errors: "
        '`{"error": {"code", "message", "fields"}}`. Lists use cursor pagination (`next`, `previous`).'
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=[BearerTokenAuth(), SessionAuth()],
)


def error_response(request: HttpRequest, *, status: int, code: str, message: str,
                   fields: dict[str, str] | None = None) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


def _field_name(loc: list | tuple) -> str:
    # Drop the parameter-source prefix ninja adds ("body", "query", "path") and the payload name.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "payload":
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
    code = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
            429: "rate_limited"}.get(exc.status_code, "error")
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


def _register_routers() -> None:
    from cx.accounts.api import router as accounts_router
    from cx.customers.api import router as customers_router
    from cx.journeys.api import router as journeys_router

    api.add_router("/v1/", accounts_router)
    api.add_router("/v1/", customers_router)
    api.add_router("/v1/", journeys_router)


_register_routers()
