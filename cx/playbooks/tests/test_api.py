"""The playbooks API: create, read, change, delete; every invalid condition or action is refused with the
failing path and reason, and nothing is saved."""

import pytest

from cx.playbooks.models import Playbook

from .conftest import CHECKOUT


@pytest.fixture
def admin_api(api_client, admin_user, token_for):
    return api_client(token_for(admin_user, "admin"))


@pytest.mark.django_db
def test_an_admin_creates_reads_changes_and_deletes_a_playbook(admin_api, agent_user):
    created = admin_api.post("/api/v1/playbooks", {**CHECKOUT, "owner_id": agent_user.pk})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["conditions"][0] == {"field": "event_count", "event": "checkout_failed", "window_hours": 24,
                                     "op": ">=", "value": 2}
    assert body["owner_id"] == agent_user.pk
    pid = body["id"]
    assert admin_api.get(f"/api/v1/playbooks/{pid}").json()["name"] == "Checkout rescue"
    changed = admin_api.patch(f"/api/v1/playbooks/{pid}", {"holdout_percent": 20, "is_active": False})
    assert changed.status_code == 200 and changed.json()["holdout_percent"] == 20
    assert [p["id"] for p in admin_api.get("/api/v1/playbooks").json()] == [pid]
    outcome = admin_api.get(f"/api/v1/playbooks/{pid}/outcome").json()
    assert outcome["contacted"]["n"] == 0 and outcome["difference"] is None
    assert admin_api.get(f"/api/v1/playbooks/{pid}/runs").json() == []
    assert admin_api.delete(f"/api/v1/playbooks/{pid}").status_code == 204
    assert not Playbook.objects.exists()


BAD = [
    ({"conditions": [{"field": "event_name", "op": "=", "value": 1}]}, "conditions[0].field", "unknown field"),
    ({"conditions": [{"field": "churn_risk", "op": "~", "value": 0.7}]}, "conditions[0].op", "one of"),
    ({"conditions": [{"field": "churn_risk", "op": ">", "value": 1.7}]}, "conditions[0].value", "out of range"),
    ({"conditions": [{"field": "nps_score", "op": "<=", "value": 11}]}, "conditions[0].value", "0 to 10"),
    ({"conditions": [{"field": "event_count", "op": ">=", "value": 2}]}, "conditions[0].event", "tracked event"),
    ({"conditions": [{"field": "event_count", "event": "x", "window_hours": 0, "op": ">=", "value": 2}]},
     "conditions[0].window_hours", "from 1"),
    ({"conditions": [{"field": "churn_risk", "op": ">", "value": 0.7, "colour": "red"}]}, "conditions[0].colour",
     "unknown key"),
    ({"actions": [{"type": "send_email", "subject": "Hello"}]}, "actions[0].body", "template is missing"),
    ({"actions": [{"type": "send_email", "subject": "Hi", "body": "  "}]}, "actions[0].body", "template is missing"),
    ({"actions": [{"type": "send_email", "subject": "Hi", "body": "{{ticket.id}}"}]}, "actions[0].body",
     "not available in playbooks"),
    ({"actions": [{"type": "send_email", "subject": "Hi", "body": "{{customer.shoe_size}}"}]}, "actions[0].body",
     "unknown placeholder"),
    ({"actions": [{"type": "launch_rocket"}]}, "actions[0].type", "unknown action"),
    ({"actions": []}, "actions", "non-empty"),
    ({"actions": [{"type": "notify_team", "team_id": 999, "message": "x"}]}, "actions[0].team_id", "no such team"),
    ({"actions": [{"type": "send_survey", "survey_id": 999}]}, "actions[0].survey_id", "no such active survey"),
    ({"holdout_percent": 80}, "holdout_percent", "0 to 50"),
    ({"trigger_event": ""}, "trigger_event", "required"),
    ({"trigger_kind": "sweep", "conditions": []}, "conditions", "at least one condition"),
    ({"owner_id": 12345}, "owner_id", "no such active agent"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "path", "reason"), BAD)
def test_invalid_playbooks_are_refused_with_the_path_and_reason_and_nothing_is_saved(admin_api, change, path,
                                                                                     reason):
    response = admin_api.post("/api/v1/playbooks", {**CHECKOUT, **change})
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert path in error["fields"], error
    assert reason in error["fields"][path]
    assert not Playbook.objects.exists()


@pytest.mark.django_db
def test_an_invalid_change_leaves_the_playbook_as_it_was(admin_api):
    pid = admin_api.post("/api/v1/playbooks", CHECKOUT).json()["id"]
    response = admin_api.patch(f"/api/v1/playbooks/{pid}", {"conditions": [{"field": "churn_risk", "op": ">",
                                                                             "value": 7}], "name": "Renamed"})
    assert response.status_code == 422
    assert "conditions[0].value" in response.json()["error"]["fields"]
    assert Playbook.objects.get().name == "Checkout rescue"


@pytest.mark.django_db
def test_unknown_fields_and_malformed_json_are_refused(admin_api):
    assert admin_api.post("/api/v1/playbooks", {**CHECKOUT, "colour": "red"}).status_code == 422
    assert admin_api.post("/api/v1/playbooks", raw=b"{not json").status_code == 400
    assert not Playbook.objects.exists()


@pytest.mark.django_db
def test_agents_and_analysts_read_but_cannot_write_playbooks(api_client, agent_user, analyst_user, token_for):
    agent = api_client(token_for(agent_user, "write"))
    assert agent.post("/api/v1/playbooks", CHECKOUT).status_code == 403
    analyst = api_client(token_for(analyst_user, "read"))
    assert analyst.get("/api/v1/playbooks").status_code == 200
    assert analyst.get("/api/v1/playbooks/reference").json()["fields"]
    assert api_client(None).get("/api/v1/playbooks").status_code == 401
    assert not Playbook.objects.exists()


@pytest.mark.django_db
def test_global_cap_settings_and_customer_tags(admin_api, make_customer):
    assert admin_api.patch("/api/v1/playbooks/settings", {"max_contacts": 2, "window_days": 14}).json() == {
        "max_contacts": 2, "window_days": 14}
    bad = admin_api.patch("/api/v1/playbooks/settings", {"window_days": 0})
    assert bad.status_code == 422 and "window_days" in bad.json()["error"]["fields"]
    customer = make_customer()
    assert admin_api.post(f"/api/v1/customers/{customer.pk}/tags", {"tag": "VIP Customer"}).json() == ["vip-customer"]
    assert admin_api.post(f"/api/v1/customers/{customer.pk}/tags", {"tag": " "}).status_code == 422
    assert admin_api.delete(f"/api/v1/customers/{customer.pk}/tags/vip-customer").json() == []


@pytest.mark.django_db
def test_an_agent_runs_a_playbook_for_one_customer_through_the_api(admin_api, api_client, agent_user, token_for,
                                                                   make_customer):
    from cx.playbooks.models import CustomerTag

    customer = make_customer()
    CustomerTag.objects.create(customer=customer, name="vip")
    pid = admin_api.post("/api/v1/playbooks", {
        **CHECKOUT, "name": "VIP welcome", "trigger_kind": "sweep", "trigger_event": "", "holdout_percent": 0,
        "conditions": [{"field": "customer_tag", "op": "has", "value": "vip"}],
        "actions": [{"type": "tag_customer", "tags": ["welcomed"]}]}).json()["id"]
    agent = api_client(token_for(agent_user, "write"))
    ran = agent.post(f"/api/v1/playbooks/{pid}/run", {"customer_id": customer.pk})
    assert ran.status_code == 201, ran.content
    assert ran.json()["status"] == "acted" and ran.json()["trigger"] == "manual"
    again = agent.post(f"/api/v1/playbooks/{pid}/run", {"customer_id": customer.pk}).json()
    assert again["status"] == "throttled"
    runs = agent.get(f"/api/v1/playbooks/{pid}/runs", status="throttled").json()
    assert [r["id"] for r in runs] == [again["id"]]
    assert agent.get(f"/api/v1/playbooks/{pid}/runs", status="nope").status_code == 422
    assert agent.post(f"/api/v1/playbooks/{pid}/run", {"customer_id": 999999}).status_code == 404
    read_only = api_client(token_for(agent_user, "read"))
    assert read_only.post(f"/api/v1/playbooks/{pid}/run", {"customer_id": customer.pk}).status_code == 403
    counts = agent.get(f"/api/v1/playbooks/{pid}/outcome").json()["counts"]
    assert counts["acted"] == 1 and counts["throttled"] == 1 and counts["matched"] == 2
