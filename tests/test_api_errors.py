"""Every API error has one shape, ``{"error": {"code", "message", "fields"}}``, names the field and reason, and
leaves the database exactly as it was. Also: the OpenAPI document and the docs page are served."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from cx import conftest as cx_fixtures
from cx.customers.models import Customer, CustomerIdentity
from cx.customers.services import customer_create

# The shared fixtures live in cx/conftest.py, which pytest applies only below cx/.
make_user = cx_fixtures.make_user
agent_user = cx_fixtures.agent_user
analyst_user = cx_fixtures.analyst_user
token_for = cx_fixtures.token_for
api_client = cx_fixtures.api_client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in error["fields"].items())
    return error


def domain_snapshot() -> str:
    """Every customer, organisation, identity, touchpoint and audit row."""
    out = io.StringIO()
    call_command("dumpdata", "customers", "journeys", "core", stdout=out)
    return out.getvalue()


@pytest.fixture
def api(api_client, agent_user, token_for):
    return api_client(token_for(agent_user, "write"))


@pytest.fixture
def kim(db):
    return customer_create(actor=None, display_name="Kim", identities=[{"kind": "email", "value": "kim@x.test"}])


@pytest.fixture
def unchanged(kim, api):
    """Asserts after the test that bad requests changed nothing in the domain tables."""
    before = domain_snapshot()
    counts = (Customer.objects.count(), CustomerIdentity.objects.count())
    yield
    assert (Customer.objects.count(), CustomerIdentity.objects.count()) == counts
    assert domain_snapshot() == before


@pytest.mark.parametrize("raw", ['{"display_name": "Kim"', "display_name=Kim", '{"a": NaN}', "\xff\xfe"])
def test_malformed_json_is_a_400(api, unchanged, raw):
    error = assert_error(api.post("/api/v1/customers", raw=raw), 400, "malformed_json")
    assert error["fields"] == {"body": "not valid JSON"}


def test_malformed_json_on_patch_is_a_400(api, kim, unchanged):
    assert_error(api.patch(f"/api/v1/customers/{kim.pk}", raw="{notes: 1}"), 400, "malformed_json")


def test_an_unknown_field_is_a_422_naming_it(api, unchanged):
    error = assert_error(api.post("/api/v1/customers", {"display_name": "New", "emial": "new@x.test"}), 422,
                         "validation_error")
    assert error["fields"] == {"emial": "unknown field"}


def test_an_unknown_field_inside_a_list_is_named_with_its_position(api, unchanged):
    body = {"display_name": "New", "identities": [{"kind": "email", "value": "a@x.test"},
                                                  {"kind": "email", "value": "b@x.test", "primary": True}]}
    error = assert_error(api.post("/api/v1/customers", body), 422, "validation_error")
    assert error["fields"] == {"identities.1.primary": "unknown field"}


@pytest.mark.parametrize(("body", "field"), [
    ({"display_name": 42}, "display_name"),
    ({"organization_id": "acme"}, "organization_id"),
    ({"identities": "kim@x.test"}, "identities"),
    ({"identities": [{"kind": "email"}]}, "identities.0.value"),
    ({"identities": [{"kind": "pager", "value": "1"}]}, "identities.0.kind"),
    ({"identities": [{"kind": "email", "value": "a@x.test", "is_primary": "sometimes"}]}, "identities.0.is_primary"),
])
def test_a_wrong_type_is_a_422_naming_the_field(api, unchanged, body, field):
    error = assert_error(api.post("/api/v1/customers", body), 422, "validation_error")
    assert field in error["fields"], error


def test_a_body_that_is_not_an_object_is_a_422(api, unchanged):
    assert_error(api.post("/api/v1/customers", raw="[1, 2]"), 422, "validation_error")
    assert_error(api.post("/api/v1/customers", raw=""), 422, "validation_error")


def test_invalid_values_are_a_422_with_the_reason(api, unchanged):
    body = {"display_name": "x" * 201, "time_zone": "Nowhere/Land"}
    error = assert_error(api.post("/api/v1/customers", body), 422, "validation_error")
    assert error["fields"] == {"display_name": "at most 200 characters",
                               "time_zone": "not a known IANA time zone, e.g. Europe/Berlin"}
    error = assert_error(api.post("/api/v1/customers", {"identities": [{"kind": "email", "value": "not-an-email"}]}),
                         422, "validation_error")
    assert error["fields"] == {"identities[0]": "not a valid email address"}


def test_a_nul_character_is_a_422_not_a_database_error(api, kim, unchanged):
    error = assert_error(api.post("/api/v1/customers", raw='{"display_name": "Ki\\u0000m"}'), 422, "validation_error")
    assert error["fields"] == {"display_name": "must not contain NUL characters"}
    touchpoint = '{"kind": "a.b", "channel": "web", "stage": "usage", "properties": {"x": "\\u0000"}}'
    error = assert_error(api.post(f"/api/v1/customers/{kim.pk}/touchpoints", raw=touchpoint), 422,
                         "validation_error")
    assert error["fields"] == {"properties.x": "must not contain NUL characters"}
    error = assert_error(api.get("/api/v1/customers", q="Ki\x00m"), 422, "validation_error")
    assert error["fields"] == {"q": "must not contain NUL characters"}


def test_a_duplicate_identity_is_a_409(api, unchanged):
    body = {"display_name": "Impostor", "identities": [{"kind": "email", "value": "KIM@x.test"}]}
    error = assert_error(api.post("/api/v1/customers", body), 409, "conflict")
    assert error["fields"] == {"identities[email]": "kim@x.test is already in use"}


def test_an_identity_listed_twice_is_a_422(api, unchanged):
    body = {"identities": [{"kind": "email", "value": "twin@x.test"}, {"kind": "email", "value": "Twin@x.test"}]}
    error = assert_error(api.post("/api/v1/customers", body), 422, "validation_error")
    assert error["fields"] == {"identities[1]": "listed twice"}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_oversize_payload_is_a_413(api, unchanged):
    body = json.dumps({"display_name": "Big", "notes": "x" * 2000})
    error = assert_error(api.post("/api/v1/customers", raw=body), 413, "payload_too_large")
    assert error["fields"] == {"body": "too large"}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_payload_under_the_limit_is_accepted(api):
    assert api.post("/api/v1/customers", {"display_name": "Small", "notes": "x" * 500}).status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/customers", "/api/v1/customers/kim", "/api/",
                                  "/api/v1/customers/1/nope"])
def test_an_unknown_endpoint_is_a_404_in_the_error_shape(api, path):
    assert_error(api.get(path), 404, "not_found")


def test_an_unknown_record_is_a_404_in_the_error_shape(api):
    error = assert_error(api.get("/api/v1/customers/999999"), 404, "not_found")
    assert "999999" in error["message"]


def test_a_wrong_method_is_a_405_in_the_error_shape(api, kim, unchanged):
    response = api.put(f"/api/v1/customers/{kim.pk}", {"display_name": "Kim"})
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, PATCH"


@pytest.fixture
def analyst_api(api_client, analyst_user, token_for):
    return api_client(token_for(analyst_user, "read"))


def test_authentication_and_permission_errors_have_the_shape(api_client, analyst_api, unchanged):
    assert_error(api_client(None).get("/api/v1/customers"), 401, "not_authenticated")
    assert_error(api_client("cx_nope_nope").post("/api/v1/customers", {"display_name": "x"}), 401,
                 "not_authenticated")
    assert_error(analyst_api.post("/api/v1/customers", {"display_name": "x"}), 403, "forbidden")


def test_a_session_write_without_csrf_is_a_403_in_the_error_shape(agent_user, unchanged):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent_user)
    response = browser.post("/api/v1/customers", {"display_name": "x"}, content_type="application/json")
    assert_error(response, 403, "csrf_failed")


def test_openapi_lists_the_foundation_endpoints(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    expected = {
        "/api/v1/me": {"get"},
        "/api/v1/agents": {"get"},
        "/api/v1/agents/{agent_id}": {"get"},
        "/api/v1/teams": {"get"},
        "/api/v1/teams/{team_id}": {"get"},
        "/api/v1/tokens": {"get", "post"},
        "/api/v1/tokens/{token_id}": {"delete"},
        "/api/v1/customers": {"get", "post"},
        "/api/v1/customers/{customer_id}": {"get", "patch"},
        "/api/v1/customers/{customer_id}/identities": {"post"},
        "/api/v1/customers/{customer_id}/identities/{identity_id}": {"delete"},
        "/api/v1/customers/{customer_id}/merge": {"post"},
        "/api/v1/customers/{customer_id}/export": {"get"},
        "/api/v1/customers/{customer_id}/erase": {"post"},
        "/api/v1/customers/{customer_id}/timeline": {"get"},
        "/api/v1/customers/{customer_id}/touchpoints": {"post"},
        "/api/v1/organizations": {"get", "post"},
        "/api/v1/organizations/{organization_id}": {"get", "patch"},
    }
    documented = {path: set(ops) for path, ops in paths.items()}
    # Every foundation endpoint is documented with exactly its methods; later apps add their own paths.
    assert {path: documented.get(path) for path in expected} == expected
    assert all(path.startswith("/api/v1/") for path in documented)
    assert {"BearerTokenAuth", "SessionAuth"} <= set(schema["components"]["securitySchemes"])
    customer_in = schema["components"]["schemas"]["CustomerIn"]
    assert customer_in["additionalProperties"] is False


def test_the_docs_page_is_served(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"/api/openapi.json" in response.content
    assert b"cdn." not in response.content  # Swagger UI is served from our own static files


def test_an_unexpected_failure_is_a_500_in_the_error_shape_without_details(api, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("secret internals: db password is hunter2")

    monkeypatch.setattr("cx.customers.selectors.customer_search", broken)
    response = api.get("/api/v1/customers")
    error = assert_error(response, 500, "server_error")
    assert "hunter2" not in response.content.decode() and error["fields"] == {}
