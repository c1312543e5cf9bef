"""The Django admin saves routing rules and profiles through the services: same checks, audit and re-offer."""

from __future__ import annotations

from django.test import Client

from cx.core.models import AuditEvent
from cx.routing.models import AgentRoutingProfile, RoutingRule


def _admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rule_form(team_id: int, **overrides) -> dict:
    form = {"name": "Phone and email to support", "position": "1", "is_active": "on",
            "channels": '["agent", "email"]', "tags": "[]", "languages": "[]", "priorities": "[]",
            "organization_ids": "[]", "team": str(team_id), "method": "round_robin", "required_skills": "[]"}
    return {**form, **overrides}


def test_the_admin_refuses_an_invalid_rule_with_the_same_reason_as_the_api(admin_user, team):
    support = team()
    response = _admin_client(admin_user).post("/admin/routing/routingrule/add/",
                                              _rule_form(support.pk, channels='["pigeon"]'))
    assert response.status_code == 200
    assert "unknown pigeon" in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_a_rule_added_in_the_admin_is_audited_and_routes_waiting_tickets(admin_user, team, agent, agent_ticket):
    support = team()
    member = agent(support)
    ticket = agent_ticket(team_id=support.pk, tags=["refund-request"])
    response = _admin_client(admin_user).post("/admin/routing/routingrule/add/",
                                              _rule_form(support.pk, tags='["Refund Request"]'))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = RoutingRule.objects.get()
    assert rule.tags == ["refund-request"]
    assert AuditEvent.objects.filter(action="routing_rule.created", target_id=rule.pk).exists()
    ticket.refresh_from_db()
    assert ticket.assignee_id == member.pk


def test_agents_cannot_open_routing_in_the_admin(agent_user):
    assert _admin_client(agent_user).get("/admin/routing/routingrule/").status_code in (302, 403)


def test_the_admin_changes_a_profile_through_the_service(admin_user, team, agent):
    member = agent(team(), capacity=5)
    url = f"/admin/routing/agentroutingprofile/{member.pk}/change/"
    client = _admin_client(admin_user)
    bad = client.post(url, {"capacity": "3", "languages": '["not a code"]', "skills": "[]"})
    assert bad.status_code == 200 and "is not a language code" in bad.content.decode()
    good = client.post(url, {"capacity": "3", "languages": '["es"]', "skills": '["Billing"]'})
    assert good.status_code == 302
    profile = AgentRoutingProfile.objects.get(user=member)
    assert (profile.capacity, profile.languages, profile.skills) == (3, ["es"], ["billing"])
    assert AuditEvent.objects.filter(action="routing_profile.updated", target_id=member.pk).count() == 2
