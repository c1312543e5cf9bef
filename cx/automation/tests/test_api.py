"""The automation API: triggers and time rules for admins, macros for agents, applying a macro to a ticket."""

from __future__ import annotations

import pytest

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.automation.models import Macro, TimeRule, Trigger
from cx.core.models import AuditEvent
from cx.tickets.models import Message, Ticket
from cx.tickets.services import ticket_update

TRIGGER = {
    "name": "Tag refunds",
    "conditions": {"all": [{"field": "event", "op": "is", "value": "created"}],
                   "any": [{"field": "body", "op": "contains", "value": "refund"}]},
    "actions": [{"type": "add_tags", "tags": ["refund"]}],
}


@pytest.fixture
def admin_api(api_client, admin_user, token_for):
    return api_client(token_for(admin_user, "admin"))


@pytest.fixture
def agent_api(api_client, agent_user, token_for):
    return api_client(token_for(agent_user))


def test_admins_create_list_change_and_delete_triggers(admin_api):
    created = admin_api.post("/api/v1/triggers", TRIGGER)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["conditions"]["any"][0]["value"] == "refund" and body["position"] == 10 and body["is_active"]

    assert [t["name"] for t in admin_api.get("/api/v1/triggers").json()] == ["Tag refunds"]
    changed = admin_api.patch(f"/api/v1/triggers/{body['id']}", {"is_active": False, "position": 3})
    assert changed.status_code == 200 and changed.json()["is_active"] is False and changed.json()["position"] == 3
    assert admin_api.delete(f"/api/v1/triggers/{body['id']}").status_code == 204
    assert admin_api.get(f"/api/v1/triggers/{body['id']}").status_code == 404
    actions = list(AuditEvent.objects.filter(target_type="trigger").values_list("action", flat=True))
    assert sorted(actions) == ["trigger.created", "trigger.deleted", "trigger.updated"]


@pytest.mark.parametrize(("conditions", "path", "reason"), [
    ({"all": [{"field": "channel", "op": "is", "value": "email"}, {"field": "channel", "op": "resembles",
                                                                   "value": "x"}]},
     "conditions.all[1].op", "unknown operator 'resembles'"),
    ({"all": [{"field": "mood", "op": "is", "value": "sad"}]}, "conditions.all[0].field", "unknown field 'mood'"),
    ({"any": [{"field": "body", "op": "matches", "value": "refund("}]}, "conditions.any[0].value", None),
    ({"all": [{"field": "priority", "op": "is", "value": 3}]}, "conditions.all[0].value",
     "one of low, normal, high, urgent"),
])
def test_an_invalid_condition_is_a_422_naming_the_path_and_nothing_is_saved(admin_api, conditions, path, reason):
    response = admin_api.post("/api/v1/triggers", {**TRIGGER, "conditions": conditions})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert path in error["fields"]
    if reason:
        assert error["fields"][path] == reason
    assert not Trigger.objects.exists()
    assert not AuditEvent.objects.filter(target_type="trigger").exists()


def test_invalid_actions_are_a_422_naming_the_path(admin_api):
    response = admin_api.post("/api/v1/triggers", {**TRIGGER, "actions": [
        {"type": "add_tags", "tags": ["ok"]}, {"type": "set_priority", "priority": "asap"},
        {"type": "send_reply", "body": "Hi {{customer.password}}"}, {"type": "explode"}]})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "actions[1].priority": "one of low, normal, high, urgent",
        "actions[2].body": "unknown placeholder {{customer.password}}",
        "actions[3].type": "one of " + ", ".join([
            "set_status", "set_priority", "set_type", "set_team", "assign", "add_tags", "remove_tags",
            "set_custom_field", "add_internal_note", "send_reply", "notify", "follow"]),
    }
    assert not Trigger.objects.exists()


def test_a_bad_update_changes_nothing(admin_api):
    trigger_id = admin_api.post("/api/v1/triggers", TRIGGER).json()["id"]
    response = admin_api.patch(f"/api/v1/triggers/{trigger_id}", {
        "name": "Renamed", "conditions": {"all": [{"field": "tags", "op": "gt", "value": 1}]}})
    assert response.status_code == 422 and "conditions.all[0].op" in response.json()["error"]["fields"]
    assert Trigger.objects.get(pk=trigger_id).name == "Tag refunds"


def test_unknown_fields_in_the_body_are_refused(admin_api):
    response = admin_api.post("/api/v1/triggers", {**TRIGGER, "when": "always"})
    assert response.status_code == 422 and response.json()["error"]["fields"] == {"when": "unknown field"}


def test_agents_and_write_tokens_cannot_manage_triggers_or_time_rules(agent_api, api_client, admin_user,
                                                                      token_for):
    admin_with_write_token = api_client(token_for(admin_user, "write"))
    for client in (agent_api, admin_with_write_token):
        assert client.get("/api/v1/triggers").status_code == 403
        assert client.post("/api/v1/triggers", TRIGGER).status_code == 403
        assert client.get("/api/v1/time-rules").status_code == 403
    assert not Trigger.objects.exists()


def test_time_rules_crud_and_the_hours_condition_rule(admin_api):
    listed = admin_api.get("/api/v1/time-rules").json()
    assert {"Close solved tickets after 4 days", "Remind pending tickets after 3 days"} <= {r["name"] for r in listed}

    no_hours = admin_api.post("/api/v1/time-rules", {
        "name": "Every pending ticket", "conditions": {"all": [{"field": "status_category", "op": "is",
                                                                 "value": "pending"}]},
        "actions": [{"type": "add_tags", "tags": ["pending"]}]})
    assert no_hours.status_code == 422
    assert "conditions.all" in no_hours.json()["error"]["fields"]

    created = admin_api.post("/api/v1/time-rules", {
        "name": "On hold for a week", "conditions": {"all": [{"field": "status_category", "op": "is",
                                                               "value": "on_hold"},
                                                              {"field": "hours_in_status", "op": "gte",
                                                               "value": 168}]},
        "actions": [{"type": "notify", "recipients": ["assignee", "followers"], "message": "Still on hold."}]})
    assert created.status_code == 201, created.json()
    rule_id = created.json()["id"]
    assert admin_api.patch(f"/api/v1/time-rules/{rule_id}", {"is_active": False}).json()["is_active"] is False
    assert admin_api.delete(f"/api/v1/time-rules/{rule_id}").status_code == 204
    assert not TimeRule.objects.filter(pk=rule_id).exists()


def test_the_reference_lists_fields_actions_and_placeholders(agent_api):
    reference = agent_api.get("/api/v1/automation/reference").json()
    assert "changed_to" in reference["fields"]["priority"]
    assert "send_reply" in reference["actions"] and "customer.first_name" in reference["placeholders"]


# --- Macros -----------------------------------------------------------------------------------------------

MACRO = {
    "name": "Ask for the order number",
    "actions": [{"type": "send_reply", "body": "Hi {{customer.first_name}}, could you send the order number? "
                                               "— {{agent.first_name}}"},
                {"type": "set_status", "category": "pending"}, {"type": "add_tags", "tags": ["needs-info"]}],
}


def test_agents_create_personal_macros_and_apply_them(agent_api, agent_user, open_ticket):
    created = agent_api.post("/api/v1/macros", MACRO)
    assert created.status_code == 201, created.json()
    macro = created.json()
    assert macro["shared"] is False and macro["owner_id"] == agent_user.pk
    ticket = open_ticket()

    applied = agent_api.post(f"/api/v1/tickets/{ticket.pk}/macros/{macro['id']}/apply")

    assert applied.status_code == 200, applied.json()
    body = applied.json()
    assert body["changes"]["tags"] == ["needs-info"] and len(body["message_ids"]) == 1
    ticket.refresh_from_db()
    assert ticket.status_category == "pending" and ticket.assignee == agent_user
    reply = Message.objects.get(pk=body["message_ids"][0])
    assert reply.body_text == "Hi Rita, could you send the order number? — Alex"
    assert reply.author_agent == agent_user and reply.visibility == "public"
    assert Macro.objects.get(pk=macro["id"]).applied_count == 1
    assert AuditEvent.objects.filter(target_id=ticket.pk, action="macro.applied", actor=agent_user).exists()


def test_personal_macros_are_private_and_sharing_needs_an_admin(agent_api, make_user, api_client, token_for,
                                                               open_ticket):
    macro_id = agent_api.post("/api/v1/macros", MACRO).json()["id"]
    colleague = api_client(token_for(make_user(Role.AGENT, "bo")))
    ticket = open_ticket()

    assert colleague.get("/api/v1/macros").json() == []
    assert colleague.post(f"/api/v1/tickets/{ticket.pk}/macros/{macro_id}/apply").status_code == 404
    assert colleague.patch(f"/api/v1/macros/{macro_id}", {"name": "Mine now"}).status_code == 404
    shared = agent_api.post("/api/v1/macros", {**MACRO, "shared": True})
    assert shared.status_code == 403 and shared.json()["error"]["fields"] == {"shared": "admins only"}


def test_team_macros_are_visible_to_the_team_only(admin_api, agent_user, make_user, api_client, token_for,
                                                 agent_api):
    team = team_create(actor=None, name="Returns")
    team_add_member(actor=None, team=team, user=agent_user)
    created = admin_api.post("/api/v1/macros", {**MACRO, "shared": True, "team_id": team.pk})
    assert created.status_code == 201 and created.json()["shared"] is True
    outsider = api_client(token_for(make_user(Role.AGENT, "olga")))

    assert [m["name"] for m in agent_api.get("/api/v1/macros").json()] == [MACRO["name"]]
    assert outsider.get("/api/v1/macros").json() == []
    assert agent_api.patch(f"/api/v1/macros/{created.json()['id']}", {"name": "x"}).status_code == 403


def test_a_macro_that_the_tickets_service_refuses_changes_nothing(agent_api, open_ticket, make_user):
    other = make_user(Role.AGENT, "zed")
    team = team_create(actor=None, name="Tier 2")
    macro_id = agent_api.post("/api/v1/macros", {"name": "Hand over", "actions": [
        {"type": "add_internal_note", "body": "Handing over."},
        {"type": "set_team", "team_id": team.pk}, {"type": "assign", "assignee_id": other.pk}]}).json()["id"]
    ticket = open_ticket()

    response = agent_api.post(f"/api/v1/tickets/{ticket.pk}/macros/{macro_id}/apply")

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"assignee_id": "zed is not a member of Tier 2"}
    ticket.refresh_from_db()
    assert ticket.team is None and not Message.objects.filter(ticket=ticket, body_text="Handing over.").exists()


def test_analysts_cannot_apply_macros_and_restricted_tickets_stay_hidden(api_client, analyst_user, token_for,
                                                                         admin_api, agent_api, open_ticket,
                                                                         admin_user):
    macro_id = admin_api.post("/api/v1/macros", {**MACRO, "shared": True}).json()["id"]
    ticket = open_ticket()
    analyst = api_client(token_for(analyst_user, "read"))
    assert analyst.post(f"/api/v1/tickets/{ticket.pk}/macros/{macro_id}/apply").status_code == 403
    assert analyst.post("/api/v1/macros", MACRO).status_code == 403

    secret = team_create(actor=None, name="HR", is_restricted=True)
    ticket_update(actor=admin_user, ticket=ticket, changes={"team_id": secret.pk})
    assert agent_api.post(f"/api/v1/tickets/{ticket.pk}/macros/{macro_id}/apply").status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).status_category == "new"


def test_an_inactive_macro_cannot_be_applied(agent_api, open_ticket):
    macro_id = agent_api.post("/api/v1/macros", {**MACRO, "is_active": False}).json()["id"]
    ticket = open_ticket()
    response = agent_api.post(f"/api/v1/tickets/{ticket.pk}/macros/{macro_id}/apply")
    assert response.status_code == 422 and response.json()["error"]["fields"] == {"macro_id": "inactive macro"}
