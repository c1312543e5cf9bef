"""The SLA API: calendars and policies (admin writes, validation with field reasons, nothing saved on error)
and a ticket's SLA section."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cx.accounts.services import team_add_member, team_create
from cx.core.models import AuditEvent
from cx.sla.engine import sla_check
from cx.sla.models import BusinessCalendarConfig, Holiday, SlaPolicy, SlaTarget
from cx.tickets.services import ticket_reply, ticket_update

WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}


@pytest.fixture
def admin_api(api_client, admin_user, token_for):
    return api_client(token_for(admin_user, "admin"))


def _calendar_payload(**overrides):
    return {"name": "Berlin office", "time_zone": "Europe/Berlin", "weekly_hours": WEEKDAYS_9_TO_5,
            "holidays": [{"name": "Tag der Arbeit", "date": "2024-05-01"}], **overrides}


# --- Calendars -----------------------------------------------------------------------------------------------


def test_an_admin_creates_a_calendar_and_reads_it_back_normalised(admin_api):
    response = admin_api.post("/api/v1/business-calendars", _calendar_payload(weekly_hours={
        "mon": [["13:00", "17:00"], ["09:00", "13:00"]], "6": [["10:00", "24:00"]]}))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["weekly_hours"]["monday"] == [["09:00", "17:00"]]  # sorted, touching intervals joined
    assert body["weekly_hours"]["sunday"] == [["10:00", "24:00"]]
    assert body["weekly_hours"]["tuesday"] == []
    assert body["holidays"] == [{"name": "Tag der Arbeit", "date": "2024-05-01"}]
    assert admin_api.get(f"/api/v1/business-calendars/{body['id']}").json()["time_zone"] == "Europe/Berlin"
    assert AuditEvent.objects.filter(action="sla.calendar_created", target_id=body["id"]).exists()


@pytest.mark.parametrize(("weekly_hours", "field", "reason_part"), [
    ({"monday": [["17:00", "09:00"]]}, "weekly_hours.monday", "reversed or empty"),
    ({"monday": [["09:00", "13:00"], ["12:00", "17:00"]]}, "weekly_hours.monday", "overlap"),
    ({"monday": [["9am", "5pm"]]}, "weekly_hours.monday.0", "HH:MM"),
    ({"monday": [["09:00"]]}, "weekly_hours.monday.0", "pair"),
    ({"funday": [["09:00", "17:00"]]}, "weekly_hours.funday", "unknown weekday"),
    ({"monday": []}, "weekly_hours", "at least one opening interval"),
])
def test_invalid_opening_hours_are_a_422_naming_the_day_and_nothing_is_saved(admin_api, weekly_hours, field,
                                                                             reason_part):
    response = admin_api.post("/api/v1/business-calendars", _calendar_payload(weekly_hours=weekly_hours))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert reason_part in error["fields"][field]
    assert not BusinessCalendarConfig.objects.exists() and not Holiday.objects.exists()


def test_an_unknown_time_zone_and_bad_holidays_are_reported_together(admin_api):
    response = admin_api.post("/api/v1/business-calendars", _calendar_payload(
        time_zone="Mars/Olympus_Mons",
        holidays=[{"date": "2024-12-25"}, {"name": "again", "date": "2024-12-25"}]))
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert "unknown time zone" in fields["time_zone"]
    assert fields["holidays.1.date"] == "2024-12-25 is listed twice"
    assert not BusinessCalendarConfig.objects.exists()


def test_a_malformed_holiday_date_is_rejected_by_the_schema(admin_api):
    response = admin_api.post("/api/v1/business-calendars", _calendar_payload(holidays=[{"date": "25.12.2024"}]))
    assert response.status_code == 422
    assert "holidays.0.date" in response.json()["error"]["fields"]
    assert not BusinessCalendarConfig.objects.exists()


def test_a_bad_patch_changes_nothing(admin_api):
    created = admin_api.post("/api/v1/business-calendars", _calendar_payload()).json()
    response = admin_api.patch(f"/api/v1/business-calendars/{created['id']}",
                               {"name": "Renamed", "time_zone": "Nowhere/Land"})
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"time_zone"}
    calendar = BusinessCalendarConfig.objects.get()
    assert (calendar.name, calendar.time_zone) == ("Berlin office", "Europe/Berlin")


def test_agents_and_read_tokens_cannot_change_calendars_but_can_read_them(
        api_client, admin_api, agent_user, analyst_user, admin_user, token_for):
    created = admin_api.post("/api/v1/business-calendars", _calendar_payload()).json()
    for client in (api_client(token_for(agent_user)), api_client(token_for(admin_user, "read"))):
        assert client.post("/api/v1/business-calendars", _calendar_payload(name="Mine")).status_code == 403
        assert client.patch(f"/api/v1/business-calendars/{created['id']}", {"name": "X"}).status_code == 403
        assert client.delete(f"/api/v1/business-calendars/{created['id']}").status_code == 403
    analyst = api_client(token_for(analyst_user, "read"))
    assert [c["name"] for c in analyst.get("/api/v1/business-calendars").json()] == ["Berlin office"]
    assert BusinessCalendarConfig.objects.get().name == "Berlin office"


def test_a_calendar_in_use_cannot_be_deleted(admin_api):
    calendar = admin_api.post("/api/v1/business-calendars", _calendar_payload()).json()
    admin_api.post("/api/v1/sla-policies", {"name": "Office hours", "calendar_id": calendar["id"]})
    response = admin_api.delete(f"/api/v1/business-calendars/{calendar['id']}")
    assert response.status_code == 409
    assert "Office hours" in response.json()["error"]["fields"]["calendar"]
    assert admin_api.get(f"/api/v1/business-calendars/{calendar['id']}").status_code == 200


# --- Policies ------------------------------------------------------------------------------------------------


def test_an_admin_creates_reorders_and_deletes_policies(admin_api):
    first = admin_api.post("/api/v1/sla-policies", {
        "name": "Standard", "targets": [{"priority": "normal", "metric": "first_response", "minutes": 60}]})
    assert first.status_code == 201, first.content
    second = admin_api.post("/api/v1/sla-policies", {
        "name": "VIP", "customer_segments": ["VIP Customers"], "priorities": ["urgent", "high"],
        "channels": ["chat"], "warn_before_minutes": 10,
        "targets": [{"priority": "urgent", "metric": "resolution", "minutes": 240}]}).json()
    assert second["customer_segments"] == ["vip-customers"]  # normalised like ticket tags
    assert second["priorities"] == ["high", "urgent"]
    assert second["position"] > first.json()["position"]

    moved = admin_api.patch(f"/api/v1/sla-policies/{second['id']}", {"position": 0})
    assert moved.status_code == 200
    assert [p["name"] for p in admin_api.get("/api/v1/sla-policies").json()] == ["VIP", "Standard"]

    assert admin_api.delete(f"/api/v1/sla-policies/{second['id']}").status_code == 204
    assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["Standard"]


def test_invalid_policies_get_every_field_reason_and_nothing_is_saved(admin_api, agent_user):
    response = admin_api.post("/api/v1/sla-policies", {
        "name": "Broken", "priorities": ["sometimes"], "channels": ["pigeon"], "calendar_id": 4242,
        "organization_ids": [777], "escalate_priority": "panic", "warn_before_minutes": -5,
        "targets": [{"priority": "normal", "metric": "first_response", "minutes": 0},
                    {"priority": "normal", "metric": "speed", "minutes": 10},
                    {"priority": "normal", "metric": "resolution", "minutes": 60},
                    {"priority": "normal", "metric": "resolution", "minutes": 90}]})
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"priorities", "channels", "calendar_id", "organization_ids", "escalate_priority",
                           "warn_before_minutes", "targets.0.minutes", "targets.1.metric", "targets.3"}
    assert fields["calendar_id"] == "no such business calendar"
    assert not SlaPolicy.objects.exists() and not SlaTarget.objects.exists()


def test_an_escalation_agent_outside_the_escalation_team_is_refused(admin_api, admin_user, agent_user):
    team = team_create(actor=admin_user, name="Tier 2")
    response = admin_api.post("/api/v1/sla-policies", {"name": "Escalating", "escalate_team_id": team.pk,
                                                       "escalate_assignee_id": agent_user.pk})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"escalate_assignee_id": "alex is not a member of Tier 2"}
    team_add_member(actor=admin_user, team=team, user=agent_user)
    assert admin_api.post("/api/v1/sla-policies", {"name": "Escalating", "escalate_team_id": team.pk,
                                                   "escalate_assignee_id": agent_user.pk}).status_code == 201


def test_duplicate_policy_names_conflict(admin_api):
    admin_api.post("/api/v1/sla-policies", {"name": "Standard"})
    response = admin_api.post("/api/v1/sla-policies", {"name": "standard"})
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"name": "already exists"}


def test_unknown_fields_are_refused(admin_api):
    response = admin_api.post("/api/v1/sla-policies", {"name": "Standard", "deadline": "soon"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"deadline": "unknown field"}


def test_editing_a_policy_through_the_api_recomputes_open_tickets(
        admin_api, clock, open_ticket, django_capture_on_commit_callbacks):
    policy = admin_api.post("/api/v1/sla-policies", {
        "name": "Standard", "targets": [{"priority": "normal", "metric": "resolution", "minutes": 480}]}).json()
    ticket = open_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.patch(f"/api/v1/sla-policies/{policy['id']}", {
            "targets": [{"priority": "normal", "metric": "resolution", "minutes": 30}]})
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.sla_next_due_at == ticket.created_at + timedelta(minutes=30)


# --- A ticket's SLA ------------------------------------------------------------------------------------------


def test_the_ticket_sla_section_shows_targets_pauses_and_state(
        api_client, admin_api, agent_user, token_for, clock, open_ticket, status):
    calendar = admin_api.post("/api/v1/business-calendars", _calendar_payload(time_zone="UTC", holidays=[])).json()
    admin_api.post("/api/v1/sla-policies", {
        "name": "Office hours", "calendar_id": calendar["id"],
        "targets": [{"priority": "normal", "metric": "first_response", "minutes": 60},
                    {"priority": "normal", "metric": "resolution", "minutes": 600}]})
    ticket = open_ticket()  # Monday 09:00 UTC
    agent = api_client(token_for(agent_user))

    body = agent.get(f"/api/v1/tickets/{ticket.pk}/sla").json()
    assert body["policy"]["name"] == "Office hours"
    assert body["state"] == "running"
    assert body["headline"]["metric"] == "first_response"
    assert body["headline"]["business_seconds_left"] == 3600
    assert body["next_due_at"] == "2024-06-03T10:00:00Z"
    resolution = next(c for c in body["clocks"] if c["metric"] == "resolution")
    assert resolution["due_at"] == "2024-06-04T11:00:00Z"  # 8h Monday + 2h Tuesday

    clock.advance(minutes=20)
    ticket_reply(actor=agent_user, ticket=ticket, body="Which card?", status_id=status("pending").pk)
    body = agent.get(f"/api/v1/tickets/{ticket.pk}/sla").json()
    assert body["state"] == "paused"
    resolution = next(c for c in body["clocks"] if c["metric"] == "resolution")
    assert resolution["state"] == "paused" and resolution["due_at"] is None
    assert resolution["paused_intervals"] == [["2024-06-03T09:20:00Z", None]]
    first = next(c for c in body["clocks"] if c["metric"] == "first_response")
    assert first["state"] == "achieved"


def test_a_breached_ticket_reports_when_and_what(api_client, agent_user, token_for, clock, open_ticket, make_policy):
    make_policy(targets={"first_response": 30})
    ticket = open_ticket()
    sla_check(clock.advance(minutes=95))
    body = api_client(token_for(agent_user)).get(f"/api/v1/tickets/{ticket.pk}/sla").json()
    assert body["state"] == "breached"
    assert body["breached_at"] == "2024-06-03T09:30:00Z"
    assert [e["kind"] for e in body["events"]] == ["breach", "escalation"]


def test_a_ticket_without_a_matching_policy_has_no_sla(api_client, agent_user, token_for, clock, open_ticket):
    ticket = open_ticket()
    body = api_client(token_for(agent_user)).get(f"/api/v1/tickets/{ticket.pk}/sla").json()
    assert (body["policy"], body["state"], body["next_due_at"]) == (None, "none", None)


def test_the_sla_of_a_restricted_teams_ticket_is_hidden_from_outsiders(
        api_client, admin_user, agent_user, token_for, clock, open_ticket, make_policy):
    make_policy()
    secret = team_create(actor=admin_user, name="Security", is_restricted=True)
    ticket = open_ticket()
    ticket_update(actor=admin_user, ticket=ticket, changes={"team_id": secret.pk})
    response = api_client(token_for(agent_user)).get(f"/api/v1/tickets/{ticket.pk}/sla")
    assert response.status_code == 404
    assert api_client(token_for(admin_user)).get(f"/api/v1/tickets/{ticket.pk}/sla").status_code == 200


def test_the_ticket_sla_needs_authentication(api_client, clock, open_ticket):
    ticket = open_ticket()
    assert api_client(None).get(f"/api/v1/tickets/{ticket.pk}/sla").status_code == 401

