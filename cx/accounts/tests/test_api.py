"""The accounts API: who am I, the agent and team directory, and personal tokens (shown once, scoped, revocable)."""

from __future__ import annotations

import pytest

from cx.accounts.models import ApiToken, Role
from cx.accounts.services import team_add_member, team_create


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Every 4xx has exactly the API error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def support_team(admin_user, agent_user, make_user):
    team = team_create(actor=None, name="Tier 1", description="First line")
    lead = make_user(Role.TEAM_LEAD, "lena")
    team_add_member(actor=None, team=team, user=lead, is_lead=True)
    team_add_member(actor=None, team=team, user=agent_user)
    return team


def test_me_shows_role_token_scope_and_effective_access(api_client, admin_user, token_for):
    response = api_client(token_for(admin_user, "read")).get("/api/v1/me")
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "ada"
    assert me["role"] == "admin"
    assert (me["access"], me["token_scope"], me["effective_access"]) == ("admin", "read", "read")


def test_me_through_the_browser_session_has_no_token_scope(client, agent_user):
    client.force_login(agent_user)
    me = client.get("/api/v1/me").json()
    assert (me["username"], me["token_scope"], me["effective_access"]) == ("alex", None, "write")


def test_agent_directory_lists_active_agents_with_their_teams(api_client, analyst_user, support_team, token_for,
                                                             make_user):
    retired = make_user(Role.AGENT, "rita")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    client = api_client(token_for(analyst_user, "read"))
    response = client.get("/api/v1/agents")
    assert response.status_code == 200
    by_name = {a["username"]: a for a in response.json()}
    assert set(by_name) == {"ada", "alex", "lena", "nia"}
    assert by_name["alex"]["teams"] == [{"id": support_team.pk, "name": "Tier 1"}]
    assert by_name["lena"]["role"] == "team_lead"

    one = client.get(f"/api/v1/agents/{by_name['alex']['id']}")
    assert one.status_code == 200 and one.json()["display_name"] == "Alex"
    assert_error(client.get(f"/api/v1/agents/{retired.pk}"), 404, "not_found")


def test_teams_list_members_and_marks_the_lead(api_client, agent_user, support_team, token_for):
    client = api_client(token_for(agent_user, "read"))
    teams = client.get("/api/v1/teams").json()
    assert [t["name"] for t in teams] == ["Tier 1"]
    team = client.get(f"/api/v1/teams/{support_team.pk}").json()
    members = {m["username"]: m["is_lead"] for m in team["members"]}
    assert members == {"lena": True, "alex": False}
    assert team["description"] == "First line"
    assert_error(client.get("/api/v1/teams/999999"), 404, "not_found")


def test_agent_and_team_lists_do_not_query_per_row(api_client, admin_user, make_user, token_for,
                                                   django_assert_max_num_queries):
    team = team_create(actor=None, name="Billing")
    for n in range(15):
        team_add_member(actor=None, team=team, user=make_user(Role.AGENT, f"agent{n}"))
    client = api_client(token_for(admin_user, "read"))
    client.get("/api/v1/me")  # first use of a token records last_used_at; keep it out of the count
    with django_assert_max_num_queries(3):
        assert len(client.get("/api/v1/agents").json()) == 16
    with django_assert_max_num_queries(3):
        assert len(client.get("/api/v1/teams").json()[0]["members"]) == 15


def test_a_created_token_is_shown_once_and_then_works(api_client, agent_user, token_for):
    client = api_client(token_for(agent_user, "write"))
    response = client.post("/api/v1/tokens", {"name": "shop sync", "scope": "read"})
    assert response.status_code == 201
    created = response.json()
    assert created["scope"] == "read" and created["name"] == "shop sync"
    assert created["token"].startswith(f"cx_{created['prefix']}_")

    listed = client.get("/api/v1/tokens").json()
    assert {t["name"] for t in listed} == {"shop sync", "write token"}
    assert all(set(t) == {"id", "name", "prefix", "scope", "created_at", "last_used_at", "revoked_at"}
               for t in listed)
    stored_hash = ApiToken.objects.get(pk=created["id"]).secret_hash
    assert created["token"] not in client.get("/api/v1/tokens").content.decode()
    assert stored_hash not in client.get("/api/v1/tokens").content.decode()

    new_client = api_client(created["token"])
    assert new_client.get("/api/v1/me").json()["effective_access"] == "read"
    assert new_client.get("/api/v1/tokens").json()[0]["last_used_at"] is not None


def test_token_list_shows_only_your_own_tokens(api_client, agent_user, admin_user, token_for):
    token_for(admin_user, "admin")
    listed = api_client(token_for(agent_user, "read")).get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["read token"]


def test_a_revoked_token_gets_401(api_client, agent_user, token_for):
    plaintext = token_for(agent_user, "write")
    other = api_client(token_for(agent_user, "write"))
    token_id = ApiToken.objects.get(prefix=plaintext.split("_")[1]).pk
    response = other.delete(f"/api/v1/tokens/{token_id}")
    assert response.status_code == 200 and response.json()["revoked_at"] is not None
    assert_error(api_client(plaintext).get("/api/v1/me"), 401, "not_authenticated")
    assert_error(api_client(plaintext).post("/api/v1/customers", {"display_name": "x"}), 401)


def test_a_token_can_revoke_itself(api_client, agent_user, token_for):
    plaintext = token_for(agent_user, "write")
    client = api_client(plaintext)
    token_id = client.get("/api/v1/tokens").json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 200
    assert_error(client.get("/api/v1/tokens"), 401, "not_authenticated")


@pytest.mark.parametrize("header", [None, "Bearer garbage", "Bearer cx_deadbeef_not-a-real-secret",
                                    "Basic Zm9vOmJhcg=="])
def test_missing_or_garbage_credentials_get_401(client, agent_user, header):
    headers = {"Authorization": header} if header else {}
    for method, path in [("get", "/api/v1/me"), ("get", "/api/v1/agents"), ("post", "/api/v1/tokens")]:
        response = getattr(client, method)(path, headers=headers, content_type="application/json",
                                           **({"data": {"name": "x", "scope": "read"}} if method == "post" else {}))
        error = assert_error(response, 401, "not_authenticated")
        assert "token" in error["message"]
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert ApiToken.objects.count() == 0


def test_a_garbage_token_is_not_rescued_by_a_valid_session(client, agent_user):
    client.force_login(agent_user)
    assert client.get("/api/v1/me").status_code == 200
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer garbage"}), 401)


def test_a_read_token_cannot_create_or_revoke_tokens_even_for_an_admin(api_client, admin_user, token_for):
    client = api_client(token_for(admin_user, "read"))
    error = assert_error(client.post("/api/v1/tokens", {"name": "escalate", "scope": "admin"}), 403, "forbidden")
    assert "write" in error["message"]
    assert_error(client.post("/api/v1/tokens", {"name": "same", "scope": "read"}), 403, "forbidden")
    token_id = client.get("/api/v1/tokens").json()[0]["id"]
    assert_error(client.delete(f"/api/v1/tokens/{token_id}"), 403, "forbidden")
    assert ApiToken.objects.filter(user=admin_user).count() == 1
    assert ApiToken.objects.get(pk=token_id).revoked_at is None


def test_a_token_cannot_mint_a_stronger_token(api_client, admin_user, token_for):
    client = api_client(token_for(admin_user, "write"))
    error = assert_error(client.post("/api/v1/tokens", {"name": "stronger", "scope": "admin"}), 403, "forbidden")
    assert error["fields"] == {"scope": "at most write"}
    assert client.post("/api/v1/tokens", {"name": "equal", "scope": "write"}).status_code == 201


def test_a_role_caps_the_scope_of_new_tokens(client, analyst_user):
    client.force_login(analyst_user)
    response = client.post("/api/v1/tokens", {"name": "reports", "scope": "write"}, content_type="application/json")
    assert assert_error(response, 403, "forbidden")["fields"] == {"scope": "at most read"}
    # An analyst may still make itself a read token in the browser: it is its own credential, not CX data.
    response = client.post("/api/v1/tokens", {"name": "reports", "scope": "read"}, content_type="application/json")
    assert response.status_code == 201


def test_token_input_is_validated(api_client, agent_user, token_for):
    client = api_client(token_for(agent_user, "write"))
    assert assert_error(client.post("/api/v1/tokens", {"name": "x", "scope": "root"}), 422)["fields"].keys() == {
        "scope"}
    assert assert_error(client.post("/api/v1/tokens", {"name": "", "scope": "read"}), 422)["fields"].keys() == {
        "name"}
    assert assert_error(client.post("/api/v1/tokens", {"name": "x", "scope": "read", "expires": "never"}),
                        422)["fields"] == {"expires": "unknown field"}
    assert ApiToken.objects.count() == 1


def test_revoking_someone_elses_token_looks_like_it_does_not_exist(api_client, agent_user, make_user, token_for):
    other_token = token_for(make_user(Role.AGENT, "otto"), "read")
    other_id = ApiToken.objects.get(prefix=other_token.split("_")[1]).pk
    assert_error(api_client(token_for(agent_user, "write")).delete(f"/api/v1/tokens/{other_id}"), 404, "not_found")
    assert ApiToken.objects.get(pk=other_id).revoked_at is None
