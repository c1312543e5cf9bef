"""The routing API: rules are admin-only and refuse invalid conditions with a 422 naming the field;
routing profiles are read and changed by the agent themself or an admin."""

from __future__ import annotations

import pytest

from cx.core.models import AuditEvent
from cx.customers.services import organization_create
from cx.routing.engine import routing_actor
from cx.routing.models import RoutingRule
from cx.routing.selectors import SYSTEM_USERNAME

RULES = "/api/v1/routing/rules"


@pytest.fixture
def admin_api(api_client, token_for, admin_user):
    return api_client(token_for(admin_user, "admin"))


def test_an_admin_creates_reads_changes_and_deletes_a_rule(admin_api, team, admin_user):
    billing = team("Billing")
    acme = organization_create(actor=None, name="Acme")

    created = admin_api.post(RULES, {
        "name": "Spanish billing", "position": 5, "channels": ["email", "chat"], "tags": ["Billing"],
        "languages": ["ES"], "priorities": ["high", "urgent"], "organization_ids": [acme.pk],
        "team_id": billing.pk, "method": "load_balanced", "required_skills": ["billing"],
        "require_agent_language": True,
    })

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["team"] == {"id": billing.pk, "name": "Billing"}
    assert (body["tags"], body["languages"], body["method"]) == (["billing"], ["es"], "load_balanced")
    rule_id = body["id"]
    assert admin_api.get(RULES).json()[0]["id"] == rule_id
    assert admin_api.get(f"{RULES}/{rule_id}").json()["name"] == "Spanish billing"

    changed = admin_api.patch(f"{RULES}/{rule_id}", {"is_active": False, "channels": []})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["is_active"], changed.json()["channels"], changed.json()["priorities"]) == (
        False, [], ["high", "urgent"])

    assert admin_api.delete(f"{RULES}/{rule_id}").status_code == 204
    assert admin_api.get(f"{RULES}/{rule_id}").status_code == 404
    actions = list(AuditEvent.objects.filter(target_type="routing_rule", target_id=rule_id)
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["routing_rule.created", "routing_rule.updated", "routing_rule.deleted"]


@pytest.mark.parametrize(("change", "field"), [
    ({"channels": ["pigeon"]}, "channels"),
    ({"priorities": ["whenever"]}, "priorities"),
    ({"languages": ["Spanish!"]}, "languages"),
    ({"organization_ids": [987654]}, "organization_ids"),
    ({"team_id": 987654}, "team_id"),
    ({"method": "random"}, "method"),
    ({"method": "manual", "required_skills": ["billing"]}, "required_skills"),
    ({"method": "manual", "require_agent_language": True}, "require_agent_language"),
    ({"position": -1}, "position"),
    ({"name": "   "}, "name"),
    ({"tags": "billing"}, "tags"),
    ({"tags": ["x" * 60]}, "tags"),
    ({"colour": "red"}, "colour"),
])
def test_a_rule_with_an_invalid_condition_or_action_is_refused_with_422(admin_api, team, change, field):
    support = team()
    response = admin_api.post(RULES, {"name": "Bad rule", "team_id": support.pk, **change})
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not RoutingRule.objects.exists()


def test_an_invalid_change_to_a_rule_changes_nothing(admin_api, team, rule):
    support = team()
    existing = rule(support, channels=["email"])
    response = admin_api.patch(f"{RULES}/{existing.pk}", {"channels": ["chat"], "priorities": ["asap"]})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"priorities": "unknown asap; use low, normal, high, urgent"}
    existing.refresh_from_db()
    assert existing.channels == ["email"] and existing.priorities == []
    null_list = admin_api.patch(f"{RULES}/{existing.pk}", {"tags": None})
    assert null_list.status_code == 422 and "tags" in null_list.json()["error"]["fields"]


def test_rule_names_are_unique(admin_api, team):
    support = team()
    assert admin_api.post(RULES, {"name": "Default", "team_id": support.pk}).status_code == 201
    again = admin_api.post(RULES, {"name": "default", "team_id": support.pk})
    assert again.status_code == 409 and again.json()["error"]["fields"] == {"name": "already exists"}


def test_only_admins_with_an_admin_scope_manage_rules(api_client, token_for, agent_user, admin_user, team):
    support = team()
    payload = {"name": "Sneaky", "team_id": support.pk}
    assert api_client(token_for(agent_user)).get(RULES).status_code == 403
    assert api_client(token_for(agent_user)).post(RULES, payload).status_code == 403
    assert api_client(token_for(admin_user, "write")).post(RULES, payload).status_code == 403
    assert api_client(None).get(RULES).status_code == 401
    assert not RoutingRule.objects.exists()


def test_a_new_rule_reoffers_the_teams_waiting_tickets(admin_api, team, agent, agent_ticket):
    support = team()
    member = agent(support)
    ticket = agent_ticket(team_id=support.pk)
    ticket.refresh_from_db()
    assert ticket.assignee_id is None
    assert admin_api.post(RULES, {"name": "Support", "team_id": support.pk}).status_code == 201
    ticket.refresh_from_db()
    assert ticket.assignee_id == member.pk


def test_an_agent_reads_and_changes_their_own_routing_profile(api_client, token_for, agent_user):
    client = api_client(token_for(agent_user))
    path = f"/api/v1/routing/profiles/{agent_user.pk}"
    initial = client.get(path)
    assert initial.status_code == 200
    assert initial.json() == {"user_id": agent_user.pk, "username": "alex", "status": "offline", "capacity": 10,
                              "languages": [], "skills": [], "open_tickets": 0, "last_routed_at": None}

    changed = client.patch(path, {"capacity": 4, "skills": ["Billing", "billing", "Premium Support"],
                                  "languages": ["es", "pt_BR"]})

    assert changed.status_code == 200, changed.content
    assert {k: changed.json()[k] for k in ("capacity", "skills", "languages")} == {
        "capacity": 4, "skills": ["billing", "premium-support"], "languages": ["es", "pt-br"]}
    assert client.get(path).json()["capacity"] == 4


@pytest.mark.parametrize(("payload", "field"), [
    ({"capacity": -1}, "capacity"),
    ({"capacity": 100000}, "capacity"),
    ({"capacity": None}, "capacity"),
    ({"languages": ["english please"]}, "languages"),
    ({"skills": [1, 2]}, "skills.0"),
    ({"status": "online"}, "status"),
])
def test_invalid_profile_values_are_refused_with_422(api_client, token_for, agent_user, payload, field):
    client = api_client(token_for(agent_user))
    response = client.patch(f"/api/v1/routing/profiles/{agent_user.pk}", payload)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert client.get(f"/api/v1/routing/profiles/{agent_user.pk}").json()["capacity"] == 10


def test_only_the_agent_or_an_admin_sees_and_changes_a_profile(api_client, token_for, agent_user, make_user,
                                                               admin_user, analyst_user):
    colleague = make_user("agent", "colleague")
    path = f"/api/v1/routing/profiles/{colleague.pk}"
    assert api_client(token_for(agent_user)).get(path).status_code == 403
    assert api_client(token_for(agent_user)).patch(path, {"capacity": 0}).status_code == 403
    assert api_client(token_for(colleague, "read")).patch(path, {"capacity": 0}).status_code == 403
    assert api_client(token_for(admin_user, "write")).patch(path, {"capacity": 0}).status_code == 403
    admin = api_client(token_for(admin_user, "admin"))
    assert admin.patch(path, {"capacity": 3}).json()["capacity"] == 3
    assert admin.get(path).json()["capacity"] == 3
    # Analysts cannot take tickets, and the routing account is not an agent: neither has a profile.
    assert admin.get(f"/api/v1/routing/profiles/{analyst_user.pk}").status_code == 404
    assert admin.get(f"/api/v1/routing/profiles/{routing_actor().pk}").status_code == 404
    assert admin.get("/api/v1/routing/profiles/987654").status_code == 404
    assert routing_actor().username == SYSTEM_USERNAME
