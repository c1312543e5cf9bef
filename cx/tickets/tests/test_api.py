"""The tickets API: lists with filters and keyset cursors, create and change, the conversation with attachments,
merge and split, the audit trail, statuses, custom fields and tags; who may do what (role, token scope,
restricted teams); and bad input that gets the error shape and changes nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.core.models import AuditEvent
from cx.customers.services import customer_create
from cx.tickets.models import Attachment, CustomField, Message, Ticket, TicketStatus
from cx.tickets.services import MAX_ATTACHMENTS, MAX_BODY, ticket_reply


# --- Helpers -----------------------------------------------------------------------------------------
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


def domain_snapshot() -> str:
    """Every ticket, message, status, custom field, tag, customer, touchpoint and audit row."""
    out = io.StringIO()
    call_command("dumpdata", "tickets", "customers", "journeys", "core", stdout=out)
    return out.getvalue()


@pytest.fixture
def unchanged(db):
    """Asserts after the test that its bad requests changed nothing (fixtures it uses are created first)."""

    class _Guard:
        def __enter__(self):
            self.before = domain_snapshot()
            return self

        def __exit__(self, *exc):
            assert domain_snapshot() == self.before
            return False

    return _Guard


def status_id(category: str) -> int:
    return TicketStatus.objects.get(category=category, is_default=True).pk


def audit_of(client, ticket_id: int) -> list[dict]:
    response = client.get(f"/api/v1/tickets/{ticket_id}/audit", limit=100)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def upload(client_token: str, path: str, data: dict):
    return Client().post(path, data, headers={"Authorization": f"Bearer {client_token}"})


@pytest.fixture
def agent_token(agent_user, token_for):
    return token_for(agent_user, "write")


@pytest.fixture
def agent_api(api_client, agent_token):
    return api_client(agent_token)


@pytest.fixture
def admin_api(api_client, admin_user, token_for):
    return api_client(token_for(admin_user, "admin"))


@pytest.fixture
def analyst_api(api_client, analyst_user, token_for):
    return api_client(token_for(analyst_user, "read"))


@pytest.fixture
def read_scope_api(api_client, agent_user, token_for):
    """An agent's token limited to reading."""
    return api_client(token_for(agent_user, "read"))


@pytest.fixture
def billing(make_user, agent_user):
    team = team_create(actor=None, name="Billing")
    team_add_member(actor=None, team=team, user=agent_user)
    return team


@pytest.fixture
def outsider(make_user):
    return make_user(Role.AGENT, "otto")


@pytest.fixture
def plan_field(db):
    return CustomField.objects.create(key="plan", label="Plan", field_type="dropdown", options=["free", "pro"])


def create_ticket(client, requester, **fields) -> dict:
    body = {"requester_id": requester.pk, "subject": "Card declined", "body": "Calling about your card.", **fields}
    response = client.post("/api/v1/tickets", body)
    assert response.status_code == 201, response.content
    return response.json()


# --- Create and read ---------------------------------------------------------------------------------
def test_an_agent_opens_a_ticket_for_a_customer(agent_api, agent_user, requester, billing, plan_field):
    created = create_ticket(agent_api, requester, subject="  Refund   for order 42 ", body="Customer called.",
                            priority="high", ticket_type="incident", channel="phone", tags=["Refund", "VIP client"],
                            team_id=billing.pk, assignee_id=agent_user.pk, custom_fields={"plan": "pro"})
    assert created["subject"] == "Refund for order 42"
    assert created["status"] == {"id": status_id("open"), "name": "Open", "category": "open"}
    assert (created["priority"], created["ticket_type"], created["channel"]) == ("high", "incident", "phone")
    assert created["tags"] == ["refund", "vip-client"]
    assert created["team"] == {"id": billing.pk, "name": "Billing"}
    assert created["assignee"] == {"id": agent_user.pk, "username": "alex", "display_name": "Alex"}
    assert created["requester"] == {"id": requester.pk, "name": "Rita Requester"}
    assert created["custom_fields"] == {"plan": "pro"}
    assert created["first_response_at"] is not None

    fetched = agent_api.get(f"/api/v1/tickets/{created['id']}").json()
    assert fetched == created
    messages = agent_api.get(f"/api/v1/tickets/{created['id']}/messages").json()["results"]
    assert [(m["author_type"], m["visibility"], m["body_text"]) for m in messages] == [
        ("agent", "public", "Customer called.")]
    assert [(e["actor"], e["action"]) for e in audit_of(agent_api, created["id"])] == [("alex", "ticket.created")]


def test_a_ticket_opened_with_an_internal_note_has_no_first_response(agent_api, requester):
    created = create_ticket(agent_api, requester, visibility="internal")
    assert created["status"]["category"] == "new" and created["first_response_at"] is None


def test_a_ticket_shows_followers_ccs_sla_times_and_merge_pointer(agent_api, agent_user, requester, open_ticket):
    ticket = open_ticket()
    ticket.ccs.add(customer_create(actor=None, display_name="Carl CC"))
    agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"follower_ids": [agent_user.pk]})
    # Set as the SLA app would (its observer recomputes these on every change, so after the change).
    due = timezone.now() + timedelta(hours=2)
    Ticket.objects.filter(pk=ticket.pk).update(sla_next_due_at=due)
    body = agent_api.get(f"/api/v1/tickets/{ticket.pk}").json()
    assert body["followers"] == [{"id": agent_user.pk, "username": "alex", "display_name": "Alex"}]
    assert [c["name"] for c in body["ccs"]] == ["Carl CC"]
    assert body["sla_next_due_at"] is not None and body["sla_breached_at"] is None
    assert body["merged_into_id"] is None
    assert set(body) >= {"created_at", "updated_at", "solved_at", "closed_at", "last_customer_message_at", "due_at"}


def test_an_unknown_requester_is_a_422_and_nothing_is_created(agent_api, requester, unchanged):
    with unchanged():
        error = assert_error(agent_api.post("/api/v1/tickets", {"requester_id": 999999, "subject": "x", "body": "y"}),
                             422, "validation_error")
    assert error["fields"] == {"requester_id": "no such customer"}


def test_an_unknown_ticket_is_a_404(agent_api):
    assert_error(agent_api.get("/api/v1/tickets/999999"), 404, "not_found")
    assert_error(agent_api.patch("/api/v1/tickets/999999", {"priority": "low"}), 404, "not_found")
    assert_error(agent_api.get("/api/v1/tickets/999999/messages"), 404, "not_found")


# --- Lists, filters, sorting, cursors ----------------------------------------------------------------
@pytest.fixture
def assorted(agent_api, agent_user, make_user, requester, billing):
    """Five tickets that differ in every filterable property; returned by name."""
    other_agent = make_user(Role.AGENT, "olga")
    other_customer = customer_create(actor=None, display_name="Oscar Other")
    tickets = {
        "mine": create_ticket(agent_api, requester, subject="Mine", assignee_id=agent_user.pk, tags=["refund"],
                              priority="high", channel="phone"),
        "olgas": create_ticket(agent_api, requester, subject="Olga's", assignee_id=other_agent.pk, channel="email"),
        "unassigned": create_ticket(agent_api, other_customer, subject="Nobody's", tags=["refund", "vip"],
                                    channel="chat"),
        "billing": create_ticket(agent_api, requester, subject="Billing", team_id=billing.pk, priority="urgent"),
        "solved": create_ticket(agent_api, requester, subject="Solved", assignee_id=agent_user.pk),
    }
    agent_api.patch(f"/api/v1/tickets/{tickets['solved']['id']}", {"status_id": status_id("solved")})
    tickets["other_agent"] = other_agent
    tickets["other_customer"] = other_customer
    return tickets


def test_filters_narrow_the_list(agent_api, assorted, billing, requester):
    def listed(**params) -> set[str]:
        rows = agent_api.get("/api/v1/tickets", **params)
        assert rows.status_code == 200, rows.content
        return {r["subject"] for r in rows.json()["results"]}

    assert listed() == {"Mine", "Olga's", "Nobody's", "Billing", "Solved"}
    assert listed(queue="my-open") == {"Mine"}
    assert listed(queue="unassigned") == {"Nobody's", "Billing"}
    assert listed(queue="my-team") == {"Billing"}
    assert listed(queue="recently-solved") == {"Solved"}
    assert listed(status_category="solved") == {"Solved"}
    assert listed(status_id=status_id("open")) == {"Mine", "Olga's"}
    assert listed(priority="urgent") == {"Billing"}
    assert listed(assignee_id="me") == {"Mine", "Solved"}
    assert listed(assignee_id="none") == {"Nobody's", "Billing"}
    assert listed(assignee_id=str(assorted["other_agent"].pk)) == {"Olga's"}
    assert listed(team_id=billing.pk) == {"Billing"}
    assert listed(requester_id=assorted["other_customer"].pk) == {"Nobody's"}
    assert listed(tag="refund") == {"Mine", "Nobody's"}
    assert listed(tag="VIP") == {"Nobody's"}
    assert listed(channel="chat") == {"Nobody's"}
    assert listed(tag="refund", assignee_id="me") == {"Mine"}

    long_ago = timezone.now() - timedelta(days=30)
    Ticket.objects.filter(pk=assorted["mine"]["id"]).update(created_at=long_ago, updated_at=long_ago)
    cut = (timezone.now() - timedelta(days=1)).isoformat()
    assert listed(created_before=cut) == {"Mine"}
    assert "Mine" not in listed(created_after=cut)
    assert "Mine" not in listed(updated_after=cut) and len(listed(updated_after=cut)) == 4


def test_sorts_by_updated_created_and_oldest(agent_api, requester, open_ticket):
    first, second, third = (open_ticket(subject=s) for s in ("First", "Second", "Third"))
    agent_api.patch(f"/api/v1/tickets/{first.pk}", {"priority": "high"})  # touched last
    assert ids(agent_api.get("/api/v1/tickets")) == [first.pk, third.pk, second.pk]
    assert ids(agent_api.get("/api/v1/tickets", sort="created")) == [third.pk, second.pk, first.pk]
    assert ids(agent_api.get("/api/v1/tickets", sort="oldest")) == [first.pk, second.pk, third.pk]


@pytest.mark.parametrize("sort", ["updated", "created", "oldest"])
def test_walking_the_cursor_visits_every_ticket_once(agent_api, open_ticket, sort):
    made = [open_ticket(subject=f"Ticket {n}").pk for n in range(11)]
    # Ties on the sort time are broken by id, so equal timestamps neither repeat nor drop rows.
    same = timezone.now() - timedelta(hours=1)
    Ticket.objects.filter(pk__in=made[3:8]).update(created_at=same, updated_at=same)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, "sort": sort, **({"cursor": cursor} if cursor else {})}
        page = agent_api.get("/api/v1/tickets", **params).json()
        seen += [row["id"] for row in page["results"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == len(set(seen)) == 11 and set(seen) == set(made)


def test_the_list_costs_the_same_queries_for_any_page_size(agent_api, agent_user, requester, billing,
                                                            django_assert_max_num_queries):
    for n in range(3):
        create_ticket(agent_api, requester, subject=f"Small {n}", tags=["a", "b"], team_id=billing.pk,
                      assignee_id=agent_user.pk)
    with django_assert_max_num_queries(4):
        small = agent_api.get("/api/v1/tickets", limit=3)
    assert len(small.json()["results"]) == 3
    for n in range(37):
        create_ticket(agent_api, requester, subject=f"Big {n}", tags=["a", f"t{n}"], team_id=billing.pk,
                      assignee_id=agent_user.pk)
    with django_assert_max_num_queries(4):
        big = agent_api.get("/api/v1/tickets", limit=40)
    assert len(big.json()["results"]) == 40
    with django_assert_max_num_queries(5):
        filtered = agent_api.get("/api/v1/tickets", limit=40, queue="my-team", tag="a")
    assert len(filtered.json()["results"]) == 40


def test_a_ticket_and_its_messages_cost_a_fixed_number_of_queries(agent_api, agent_user, open_ticket,
                                                                  django_assert_max_num_queries):
    small, big = open_ticket(subject="Short"), open_ticket(subject="Long")
    agent_api.get("/api/v1/me")  # the token's first use records last_used_at; keep that out of the counts
    for n in range(15):
        ticket_reply(actor=agent_user, ticket=big, body=f"Note {n}", visibility="internal",
                     attachments=[SimpleUploadedFile(f"n{n}.txt", b"x")])
    big.followers.add(agent_user)
    with CaptureQueriesContext(connection) as baseline:
        assert len(agent_api.get(f"/api/v1/tickets/{small.pk}/messages").json()["results"]) == 1
        assert agent_api.get(f"/api/v1/tickets/{small.pk}").status_code == 200
    with django_assert_max_num_queries(len(baseline)):
        assert len(agent_api.get(f"/api/v1/tickets/{big.pk}/messages", limit=16).json()["results"]) == 16
        assert agent_api.get(f"/api/v1/tickets/{big.pk}").status_code == 200


@pytest.mark.parametrize(("params", "field"), [
    ({"queue": "everything"}, "queue"),
    ({"sort": "random"}, "sort"),
    ({"assignee_id": "bob"}, "assignee_id"),
    ({"status_category": "archived"}, "status_category"),
    ({"priority": "critical"}, "priority"),
    ({"channel": "fax"}, "channel"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"status_id": "open"}, "status_id"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"created_after": "2026-01-01T00:00:00"}, "created_after"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "WyIyMDI2LTEzLTQ1VDAwOjAwOjAwWiIsMV0"}, "cursor"),  # ["2026-13-45T00:00:00Z", 1]
])
def test_bad_list_parameters_are_a_422_naming_them(agent_api, params, field):
    error = assert_error(agent_api.get("/api/v1/tickets", **params), 422, "validation_error")
    assert field in error["fields"], error


# --- Changes -----------------------------------------------------------------------------------------
def test_every_change_is_applied_and_appears_in_the_audit_trail(agent_api, agent_user, make_user, requester,
                                                                billing, plan_field):
    lead = make_user(Role.TEAM_LEAD, "lena")
    ticket = create_ticket(agent_api, requester)
    response = agent_api.patch(f"/api/v1/tickets/{ticket['id']}", {
        "subject": "Refund issued twice", "status_id": status_id("pending"), "priority": "urgent",
        "ticket_type": "problem", "team_id": billing.pk, "assignee_id": agent_user.pk, "tags": ["Refund"],
        "custom_fields": {"plan": "free"}, "due_at": "2030-01-02T09:00:00+01:00", "follower_ids": [lead.pk],
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["subject"] == "Refund issued twice"
    assert body["status"]["name"] == "Pending"
    assert (body["priority"], body["ticket_type"], body["tags"]) == ("urgent", "problem", ["refund"])
    assert body["team"]["id"] == billing.pk and body["assignee"]["id"] == agent_user.pk
    assert body["custom_fields"] == {"plan": "free"} and body["due_at"] == "2030-01-02T08:00:00Z"
    assert [f["username"] for f in body["followers"]] == ["lena"]

    update = audit_of(agent_api, ticket["id"])[-1]
    assert (update["actor"], update["actor_id"], update["action"]) == ("alex", agent_user.pk, "ticket.updated")
    assert set(update["data"]["changes"]) == {"subject", "status", "priority", "ticket_type", "team_id",
                                              "assignee_id", "tags", "custom_fields", "due_at", "follower_ids"}
    assert update["data"]["changes"]["status"] == ["New", "Pending"]

    cleared = agent_api.patch(f"/api/v1/tickets/{ticket['id']}", {"assignee_id": None, "team_id": None,
                                                                  "due_at": None, "custom_fields": {"plan": None}})
    assert cleared.status_code == 200, cleared.content
    assert (cleared.json()["assignee"], cleared.json()["team"], cleared.json()["due_at"]) == (None, None, None)
    assert cleared.json()["custom_fields"] == {}
    assert set(audit_of(agent_api, ticket["id"])[-1]["data"]["changes"]) == {
        "assignee_id", "team_id", "due_at", "custom_fields"}


def test_a_change_to_the_same_values_records_nothing(agent_api, open_ticket):
    ticket = open_ticket()
    before = agent_api.get(f"/api/v1/tickets/{ticket.pk}").json()
    for change in ({}, {"priority": before["priority"], "subject": before["subject"], "tags": []}):
        response = agent_api.patch(f"/api/v1/tickets/{ticket.pk}", change)
        assert response.status_code == 200, response.content
        after = response.json()
        assert {k: v for k, v in after.items() if k != "updated_at"} == \
            {k: v for k, v in before.items() if k != "updated_at"}
    assert [e["action"] for e in audit_of(agent_api, ticket.pk)] == ["ticket.created"]


@pytest.fixture
def solve_field(db):
    return CustomField.objects.create(key="cause", label="Root cause", field_type="text", required_on_solve=True)


@pytest.mark.parametrize(("change", "fields"), [
    ({"status_id": 999999}, {"status_id": "no such active status"}),
    ({"custom_fields": {"plan": "enterprise"}}, {"custom_fields.plan": "must be one of: free, pro"}),
    ({"custom_fields": {"colour": "red"}}, {"custom_fields.colour": "unknown custom field"}),
    ({"assignee_id": 999999}, {"assignee_id": "no such active agent"}),
    ({"team_id": 999999}, {"team_id": "no such team"}),
    ({"priority": "critical"}, None),
    ({"subject": None}, None),
    ({"subject": " "}, {"subject": "required"}),
    ({"subject": "x" * 251}, {"subject": "at most 250 characters"}),
    ({"due_at": "2030-01-02T09:00:00"}, {"due_at": "a time-zone-aware date and time"}),
    ({"tags": "refund"}, None),
    ({"follower_ids": [999999]}, {"follower_ids": "every id must be an active agent"}),
    ({"status": "solved"}, {"status": "unknown field"}),
    ({"status_id": "solved"}, None),
])
def test_bad_changes_are_a_422_and_change_nothing(agent_api, open_ticket, plan_field, unchanged, change, fields):
    ticket = open_ticket()
    with unchanged():
        error = assert_error(agent_api.patch(f"/api/v1/tickets/{ticket.pk}", change), 422, "validation_error")
    if fields is None:
        assert set(error["fields"]) == set(change), error
    else:
        assert error["fields"] == fields


def test_assigning_to_someone_outside_the_team_is_a_422_and_changes_nothing(agent_api, outsider, requester, billing,
                                                                            unchanged):
    ticket = create_ticket(agent_api, requester, team_id=billing.pk)
    with unchanged():
        error = assert_error(agent_api.patch(f"/api/v1/tickets/{ticket['id']}", {"assignee_id": outsider.pk}), 422,
                             "validation_error")
    assert error["fields"] == {"assignee_id": "otto is not a member of Billing"}
    with unchanged():
        error = assert_error(agent_api.post("/api/v1/tickets", {"requester_id": requester.pk, "subject": "x",
                                                                "body": "y", "team_id": billing.pk,
                                                                "assignee_id": outsider.pk}), 422)
    assert error["fields"] == {"assignee_id": "otto is not a member of Billing"}


def test_solving_without_a_required_field_is_a_422_and_changes_nothing(agent_api, open_ticket, solve_field, unchanged):
    ticket = open_ticket()
    with unchanged():
        error = assert_error(agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"status_id": status_id("solved")}), 422)
    assert error["fields"] == {"custom_fields.cause": "Root cause is required to solve"}
    solved = agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"status_id": status_id("solved"),
                                                              "custom_fields": {"cause": "Expired card"}})
    assert solved.status_code == 200 and solved.json()["solved_at"] is not None


@pytest.mark.parametrize("raw", ['{"priority": "low"', "priority=low", '{"priority": NaN}'])
def test_malformed_json_is_a_400_and_changes_nothing(agent_api, open_ticket, unchanged, raw):
    ticket = open_ticket()
    with unchanged():
        assert_error(agent_api.patch(f"/api/v1/tickets/{ticket.pk}", raw=raw), 400, "malformed_json")
        assert_error(agent_api.post(f"/api/v1/tickets/{ticket.pk}/messages", raw=raw), 400, "malformed_json")
        assert_error(agent_api.post("/api/v1/tickets", raw=raw), 400, "malformed_json")


def test_bad_new_tickets_are_a_422_and_create_nothing(agent_api, requester, plan_field, unchanged):
    base = {"requester_id": requester.pk, "subject": "Card", "body": "Hello"}
    cases = [
        ({"body": "x" * (MAX_BODY + 1)}, {"body": f"at most {MAX_BODY} characters"}),
        ({"body": "   "}, {"body": "required"}),
        ({"custom_fields": {"plan": "gold"}}, {"custom_fields.plan": "must be one of: free, pro"}),
        ({"tags": ["x" * 51]}, {"tags": "xxxxxxxxxxxxxxxxxxxx… is over 50 characters"}),
        ({"tags": [f"t{n}" for n in range(31)]}, {"tags": "at most 30"}),
        ({"assignee": 1}, {"assignee": "unknown field"}),
    ]
    with unchanged():
        for extra, fields in cases:
            error = assert_error(agent_api.post("/api/v1/tickets", {**base, **extra}), 422, "validation_error")
            assert error["fields"] == fields, extra
        error = assert_error(agent_api.post("/api/v1/tickets", {"requester_id": requester.pk}), 422)
        assert set(error["fields"]) == {"subject", "body"}


# --- Conversation ------------------------------------------------------------------------------------
def test_replies_and_notes_are_listed_with_internal_notes_for_agents(agent_api, analyst_api, open_ticket):
    ticket = open_ticket()
    note = agent_api.post(f"/api/v1/tickets/{ticket.pk}/messages",
                          {"body": "Asked payments.", "visibility": "internal"})
    assert note.status_code == 201, note.content
    reply = agent_api.post(f"/api/v1/tickets/{ticket.pk}/messages",
                           {"body": "It works now.", "status_id": status_id("solved")})
    assert reply.status_code == 201, reply.content
    assert (reply.json()["visibility"], reply.json()["author_agent"]["username"]) == ("public", "alex")
    for client in (agent_api, analyst_api):
        messages = client.get(f"/api/v1/tickets/{ticket.pk}/messages").json()["results"]
        assert [(m["author_type"], m["visibility"]) for m in messages] == [
            ("customer", "public"), ("agent", "internal"), ("agent", "public")]
    detail = agent_api.get(f"/api/v1/tickets/{ticket.pk}").json()
    assert detail["status"]["category"] == "solved" and detail["assignee"]["username"] == "alex"
    actions = [(e["action"], e["data"]) for e in audit_of(agent_api, ticket.pk)]
    assert ("ticket.noted", {"message_id": note.json()["id"]}) in actions
    assert ("ticket.replied", {"message_id": reply.json()["id"]}) in actions
    assert ("ticket.updated", {"changes": {"status": ["New", "Solved"]}}) in actions


def test_walking_the_conversation_cursor_visits_every_message_once(agent_api, agent_user, open_ticket):
    ticket = open_ticket()
    for n in range(8):
        ticket_reply(actor=agent_user, ticket=ticket, body=f"Note {n}", visibility="internal")
    seen, cursor = [], None
    while True:
        page = agent_api.get(f"/api/v1/tickets/{ticket.pk}/messages", limit=4,
                             **({"cursor": cursor} if cursor else {})).json()
        seen += [m["body_text"] for m in page["results"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["Why was my card declined at the shop?"] + [f"Note {n}" for n in range(8)]


@pytest.mark.parametrize(("body", "fields"), [
    ({"body": "x" * (MAX_BODY + 1)}, {"body": f"at most {MAX_BODY} characters"}),
    ({"body": ""}, {"body": "required"}),
    ({"body": "Hi", "visibility": "secret"}, None),
    ({"body": "Hi", "status_id": 999999}, {"status_id": "no such active status"}),
    ({"body": "Hi", "attachments": []}, {"attachments": "unknown field"}),
    ({}, {"body": "Field required"}),
])
def test_bad_replies_are_a_422_and_change_nothing(agent_api, open_ticket, unchanged, body, fields):
    ticket = open_ticket()
    with unchanged():
        error = assert_error(agent_api.post(f"/api/v1/tickets/{ticket.pk}/messages", body), 422, "validation_error")
    if fields is None:
        assert set(error["fields"]) == {"visibility"}
    else:
        assert error["fields"] == fields


def test_a_reply_with_attachments_stores_them(agent_api, agent_token, open_ticket):
    ticket = open_ticket()
    response = upload(agent_token, f"/api/v1/tickets/{ticket.pk}/messages/upload", {
        "body": "Here is the receipt.", "visibility": "internal",
        "attachments": [SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt", content_type="application/pdf"),
                        SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")],
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["visibility"] == "internal"
    assert [(a["filename"], a["content_type"], a["size"]) for a in body["attachments"]] == [
        ("receipt.pdf", "application/pdf", 16), ("note.txt", "text/plain", 5)]
    stored = Attachment.objects.get(filename="receipt.pdf")
    assert stored.file.read() == b"%PDF-1.4 receipt"
    listed = agent_api.get(f"/api/v1/tickets/{ticket.pk}/messages").json()["results"][-1]
    assert [a["filename"] for a in listed["attachments"]] == ["receipt.pdf", "note.txt"]


def test_too_many_or_too_large_or_no_attachments_are_a_422_and_store_nothing(agent_token, open_ticket, monkeypatch,
                                                                               unchanged):
    ticket = open_ticket()
    path = f"/api/v1/tickets/{ticket.pk}/messages/upload"
    with unchanged():
        many = [SimpleUploadedFile(f"f{n}.txt", b"x") for n in range(MAX_ATTACHMENTS + 1)]
        error = assert_error(upload(agent_token, path, {"body": "Files", "attachments": many}), 422)
        assert error["fields"] == {"attachments": f"at most {MAX_ATTACHMENTS}"}
        error = assert_error(upload(agent_token, path, {"body": "No files"}), 422)
        assert set(error["fields"]) == {"attachments"}
        error = assert_error(upload(agent_token, path, {"attachments": [SimpleUploadedFile("a.txt", b"x")]}), 422)
        assert error["fields"] == {"body": "Field required"}
        monkeypatch.setattr("cx.tickets.services.MAX_ATTACHMENT_BYTES", 2 * 1024 * 1024)
        big = SimpleUploadedFile("big.bin", b"x" * (2 * 1024 * 1024 + 1))
        with monkeypatch.context() as patched:
            patched.setattr("django.conf.settings.DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
            error = assert_error(upload(agent_token, path, {"body": "Big", "attachments": [big]}), 422)
        assert error["fields"] == {"attachments": "big.bin is over 2 MB"}
    assert not Attachment.objects.exists()


def test_replying_to_a_merged_ticket_is_a_409(agent_api, open_ticket, unchanged):
    source, target = open_ticket(subject="Dup"), open_ticket(subject="Main")
    agent_api.post(f"/api/v1/tickets/{target.pk}/merge", {"source_id": source.pk})
    with unchanged():
        error = assert_error(agent_api.post(f"/api/v1/tickets/{source.pk}/messages", {"body": "Hi"}), 409, "conflict")
    assert str(target.pk) in error["message"]


# --- Merge and split ---------------------------------------------------------------------------------
def test_merge_moves_the_conversation_and_is_audited_on_both_tickets(agent_api, open_ticket):
    source, target = open_ticket(subject="Duplicate"), open_ticket(subject="Original")
    response = agent_api.post(f"/api/v1/tickets/{target.pk}/merge", {"source_id": source.pk})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == target.pk
    merged = agent_api.get(f"/api/v1/tickets/{source.pk}").json()
    assert merged["merged_into_id"] == target.pk and merged["status"]["category"] == "closed"
    bodies = [m["author_type"] for m in agent_api.get(f"/api/v1/tickets/{target.pk}/messages").json()["results"]]
    assert bodies == ["customer", "customer", "system"]
    assert any(e["action"] == "ticket.merged" and e["data"]["source_id"] == source.pk
               for e in audit_of(agent_api, target.pk))
    assert any(e["action"] == "ticket.merged_away" and e["data"] == {"target_id": target.pk}
               for e in audit_of(agent_api, source.pk))
    assert_error(agent_api.post(f"/api/v1/tickets/{target.pk}/merge", {"source_id": source.pk}), 409, "conflict")


def test_bad_merges_are_refused_and_change_nothing(agent_api, open_ticket, unchanged):
    ticket = open_ticket()
    with unchanged():
        error = assert_error(agent_api.post(f"/api/v1/tickets/{ticket.pk}/merge", {"source_id": 999999}), 422)
        assert error["fields"] == {"source_id": "no such ticket"}
        error = assert_error(agent_api.post(f"/api/v1/tickets/{ticket.pk}/merge", {"source_id": ticket.pk}), 422)
        assert error["fields"] == {"source_id": "same as target"}
        error = assert_error(agent_api.post(f"/api/v1/tickets/{ticket.pk}/merge", {}), 422)
        assert error["fields"] == {"source_id": "Field required"}


def test_split_moves_a_customer_message_into_a_new_ticket(agent_api, open_ticket, requester):
    from cx.tickets.services import ticket_customer_reply

    ticket = open_ticket()
    second = ticket_customer_reply(ticket=ticket, customer=requester, body="Also: change my address\nto Berlin.",
                                   channel="email")
    response = agent_api.post(f"/api/v1/messages/{second.pk}/split")
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["id"] != ticket.pk and new["subject"] == "Also: change my address"
    assert new["requester"]["id"] == requester.pk and new["status"]["category"] == "new"
    moved = agent_api.get(f"/api/v1/tickets/{new['id']}/messages").json()["results"]
    assert second.pk in [m["id"] for m in moved]
    assert second.pk not in [m["id"] for m in agent_api.get(f"/api/v1/tickets/{ticket.pk}/messages")
                             .json()["results"]]
    assert any(e["action"] == "ticket.split" and e["data"]["new_ticket_id"] == new["id"]
               for e in audit_of(agent_api, ticket.pk))
    assert any(e["action"] == "ticket.created" and e["data"] == {"split_from": ticket.pk}
               for e in audit_of(agent_api, new["id"]))


def test_bad_splits_are_refused_and_change_nothing(agent_api, agent_user, open_ticket, unchanged):
    ticket = open_ticket()
    only = Message.objects.get(ticket=ticket)
    note = ticket_reply(actor=agent_user, ticket=ticket, body="note", visibility="internal")
    with unchanged():
        error = assert_error(agent_api.post(f"/api/v1/messages/{note.pk}/split"), 422)
        assert error["fields"] == {"message_id": "not a customer message"}
        assert_error(agent_api.post("/api/v1/messages/999999/split"), 404, "not_found")
    lone = open_ticket(subject="Lone")
    with unchanged():
        error = assert_error(agent_api.post(f"/api/v1/messages/{Message.objects.get(ticket=lone).pk}/split"), 422)
        assert error["fields"] == {"message_id": "nothing to split from"}
    assert only.pk


# --- Permissions -------------------------------------------------------------------------------------
def test_read_only_tokens_and_analysts_cannot_write(analyst_api, read_scope_api, agent_user, open_ticket, requester,
                                                    unchanged):
    ticket = open_ticket()
    other = open_ticket(subject="Other")
    customer_message = Message.objects.get(ticket=ticket)
    for client in (analyst_api, read_scope_api):
        assert client.get("/api/v1/tickets").status_code == 200
        assert client.get(f"/api/v1/tickets/{ticket.pk}/audit").status_code == 200
        with unchanged():
            assert_error(client.post("/api/v1/tickets", {"requester_id": requester.pk, "subject": "x", "body": "y"}),
                         403, "forbidden")
            assert_error(client.patch(f"/api/v1/tickets/{ticket.pk}", {"priority": "high"}), 403, "forbidden")
            assert_error(client.post(f"/api/v1/tickets/{ticket.pk}/messages", {"body": "Hi"}), 403, "forbidden")
            assert_error(client.post(f"/api/v1/tickets/{ticket.pk}/merge", {"source_id": other.pk}), 403, "forbidden")
            assert_error(client.post(f"/api/v1/messages/{customer_message.pk}/split"), 403, "forbidden")
            response = Client().post(f"/api/v1/tickets/{ticket.pk}/messages/upload",
                                     {"body": "Hi", "attachments": [SimpleUploadedFile("a.txt", b"x")]},
                                     headers=client.headers)
            assert_error(response, 403, "forbidden")
    assert not Attachment.objects.exists()


def test_requests_without_a_valid_token_are_a_401(api_client, open_ticket):
    ticket = open_ticket()
    assert_error(api_client(None).get("/api/v1/tickets"), 401, "not_authenticated")
    assert_error(api_client("cx_nope_nope").get(f"/api/v1/tickets/{ticket.pk}"), 401, "not_authenticated")


def test_a_browser_session_reads_and_needs_csrf_to_write(agent_user, open_ticket, unchanged):
    ticket = open_ticket()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent_user)
    assert browser.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    with unchanged():
        response = browser.patch(f"/api/v1/tickets/{ticket.pk}", {"priority": "low"}, content_type="application/json")
        assert_error(response, 403, "csrf_failed")


@pytest.fixture
def hr(make_user, api_client, token_for, requester):
    """A restricted team, its member Ines, and one of its tickets with a customer message and a private tag."""
    team = team_create(actor=None, name="HR", is_restricted=True)
    ines = make_user(Role.AGENT, "ines")
    team_add_member(actor=None, team=team, user=ines)
    ines_api = api_client(token_for(ines))
    ticket = create_ticket(ines_api, requester, subject="Salary question", team_id=team.pk, tags=["payroll"])
    from cx.tickets.services import ticket_customer_reply

    message = ticket_customer_reply(ticket=Ticket(pk=ticket["id"]), customer=requester, body="And my bonus?",
                                    channel="email")
    return {"team": team, "ines_api": ines_api, "ticket": ticket, "message": message}


def test_an_agent_outside_a_restricted_team_cannot_see_or_touch_its_tickets(agent_api, agent_token, hr, open_ticket,
                                                                             unchanged):
    hidden = hr["ticket"]["id"]
    mine = open_ticket(subject="Public one")
    with unchanged():
        for response in (
            agent_api.get(f"/api/v1/tickets/{hidden}"),
            agent_api.patch(f"/api/v1/tickets/{hidden}", {"priority": "low"}),
            agent_api.get(f"/api/v1/tickets/{hidden}/messages"),
            agent_api.post(f"/api/v1/tickets/{hidden}/messages", {"body": "Peek"}),
            agent_api.get(f"/api/v1/tickets/{hidden}/audit"),
            agent_api.post(f"/api/v1/tickets/{hidden}/merge", {"source_id": mine.pk}),
            agent_api.post(f"/api/v1/messages/{hr['message'].pk}/split"),
            upload(agent_token, f"/api/v1/tickets/{hidden}/messages/upload",
                   {"body": "x", "attachments": [SimpleUploadedFile("a.txt", b"x")]}),
        ):
            error = assert_error(response, 404, "not_found")
            assert "Salary" not in json.dumps(error)
        error = assert_error(agent_api.post(f"/api/v1/tickets/{mine.pk}/merge", {"source_id": hidden}), 422)
        assert error["fields"] == {"source_id": "no such ticket"}
    listed = ids(agent_api.get("/api/v1/tickets"))
    assert hidden not in listed and mine.pk in listed
    assert hidden not in ids(agent_api.get("/api/v1/tickets", team_id=hr["team"].pk))
    assert "payroll" not in [t["name"] for t in agent_api.get("/api/v1/tags").json()]


def test_members_and_admins_see_restricted_tickets(hr, admin_api):
    hidden = hr["ticket"]["id"]
    for client in (hr["ines_api"], admin_api):
        assert client.get(f"/api/v1/tickets/{hidden}").status_code == 200
        assert hidden in ids(client.get("/api/v1/tickets"))
        assert {"name": "payroll", "ticket_count": 1} in client.get("/api/v1/tags").json()


def test_moving_a_ticket_into_a_restricted_team_answers_the_writer_then_hides_it(agent_api, hr, open_ticket):
    ticket = open_ticket()
    response = agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"team_id": hr["team"].pk})
    assert response.status_code == 200, response.content
    assert response.json()["team"]["name"] == "HR"
    assert_error(agent_api.get(f"/api/v1/tickets/{ticket.pk}"), 404, "not_found")


# --- Tags --------------------------------------------------------------------------------------------
def test_tags_are_listed_with_counts_most_used_first(agent_api, requester):
    create_ticket(agent_api, requester, tags=["refund", "vip"])
    create_ticket(agent_api, requester, tags=["refund"])
    create_ticket(agent_api, requester, tags=["shipping"])
    assert agent_api.get("/api/v1/tags").json() == [
        {"name": "refund", "ticket_count": 2}, {"name": "shipping", "ticket_count": 1},
        {"name": "vip", "ticket_count": 1}]
    assert agent_api.get("/api/v1/tags", q="Sh").json() == [{"name": "shipping", "ticket_count": 1}]
    assert len(agent_api.get("/api/v1/tags", limit=1).json()) == 1
    assert_error(agent_api.get("/api/v1/tags", q="x" * 51), 422, "validation_error")


# --- Statuses ----------------------------------------------------------------------------------------
def test_an_admin_adds_renames_and_deactivates_statuses(admin_api, agent_api, admin_user, open_ticket):
    created = admin_api.post("/api/v1/ticket-statuses", {"name": " Waiting  on vendor ", "category": "on_hold",
                                                         "position": 45})
    assert created.status_code == 201, created.content
    status = created.json()
    assert status == {"id": status["id"], "name": "Waiting on vendor", "category": "on_hold", "is_default": False,
                      "position": 45, "is_active": True}
    assert status in agent_api.get("/api/v1/ticket-statuses").json()

    ticket = open_ticket()
    moved = agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"status_id": status["id"]})
    assert moved.json()["status"] == {"id": status["id"], "name": "Waiting on vendor", "category": "on_hold"}

    renamed = admin_api.patch(f"/api/v1/ticket-statuses/{status['id']}", {"name": "Vendor", "is_default": True})
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["is_default"] is True
    assert TicketStatus.objects.get(name="On hold").is_default is False

    deactivated = admin_api.patch(f"/api/v1/ticket-statuses/{status['id']}", {"is_active": False})
    assert deactivated.status_code == 200, deactivated.content
    assert deactivated.json()["is_active"] is False and deactivated.json()["is_default"] is False
    assert TicketStatus.objects.get(name="On hold").is_default is True  # the default moved back
    assert status["id"] not in [s["id"] for s in agent_api.get("/api/v1/ticket-statuses").json()]
    assert status["id"] in [s["id"] for s in agent_api.get("/api/v1/ticket-statuses", include_inactive=True).json()]
    # Tickets already in it keep it; it can no longer be chosen.
    assert agent_api.get(f"/api/v1/tickets/{ticket.pk}").json()["status"]["name"] == "Vendor"
    error = assert_error(agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"status_id": status["id"]}), 422)
    assert error["fields"] == {"status_id": "no such active status"}

    actions = list(AuditEvent.objects.filter(target_type="ticket_status", target_id=status["id"])
                   .order_by("id").values_list("action", "actor"))
    assert actions == [("ticket_status.created", admin_user.pk)] + [("ticket_status.updated", admin_user.pk)] * 2


def test_status_conflicts_and_bad_input_change_nothing(admin_api, unchanged):
    pending = TicketStatus.objects.get(name="Pending")
    with unchanged():
        error = assert_error(admin_api.post("/api/v1/ticket-statuses", {"name": "pending", "category": "open"}), 409,
                             "conflict")
        assert error["fields"] == {"name": "already exists"}
        error = assert_error(admin_api.patch(f"/api/v1/ticket-statuses/{pending.pk}", {"name": "OPEN"}), 409)
        assert error["fields"] == {"name": "already exists"}
        error = assert_error(admin_api.patch(f"/api/v1/ticket-statuses/{pending.pk}", {"is_active": False}), 409,
                             "conflict")
        assert error["fields"] == {"is_active": "the last active pending status; add another one first"}
        error = assert_error(admin_api.patch(f"/api/v1/ticket-statuses/{pending.pk}", {"category": "open"}), 422)
        assert error["fields"] == {
            "category": "cannot be changed; add a status in the other category and deactivate this one"}
        error = assert_error(admin_api.patch(f"/api/v1/ticket-statuses/{pending.pk}", {"is_default": False}), 422)
        assert error["fields"] == {"is_default": "make another status of this category the default instead"}
        for body, field in (({"name": "", "category": "open"}, "name"),
                            ({"name": "x" * 61, "category": "open"}, "name"),
                            ({"name": "Later", "category": "later"}, "category"),
                            ({"name": "Later", "category": "open", "position": -1}, "position"),
                            ({"name": "Later", "category": "open", "colour": "red"}, "colour")):
            error = assert_error(admin_api.post("/api/v1/ticket-statuses", body), 422, "validation_error")
            assert set(error["fields"]) == {field}, body
        assert_error(admin_api.patch("/api/v1/ticket-statuses/999999", {"name": "Ghost"}), 404, "not_found")


def test_only_admins_change_statuses_and_custom_fields(agent_api, api_client, admin_user, token_for, unchanged):
    admin_read = api_client(token_for(admin_user, "read"))
    pending = TicketStatus.objects.get(name="Pending")
    field = CustomField.objects.create(key="plan", label="Plan", field_type="text")
    with unchanged():
        for client in (agent_api, admin_read):
            assert_error(client.post("/api/v1/ticket-statuses", {"name": "Later", "category": "open"}), 403,
                         "forbidden")
            assert_error(client.patch(f"/api/v1/ticket-statuses/{pending.pk}", {"name": "Later"}), 403, "forbidden")
            assert_error(client.post("/api/v1/custom-fields", {"key": "x", "label": "X", "field_type": "text"}), 403,
                         "forbidden")
            assert_error(client.patch(f"/api/v1/custom-fields/{field.pk}", {"label": "P"}), 403, "forbidden")
            assert client.get("/api/v1/ticket-statuses").status_code == 200
            assert client.get("/api/v1/custom-fields").status_code == 200


# --- Custom fields -----------------------------------------------------------------------------------
def test_an_admin_defines_custom_fields_that_tickets_then_validate(admin_api, agent_api, admin_user, open_ticket):
    created = admin_api.post("/api/v1/custom-fields", {"key": "plan", "label": "Plan", "field_type": "dropdown",
                                                       "options": ["Free", " Pro "], "position": 2})
    assert created.status_code == 201, created.content
    field = created.json()
    assert field == {"id": field["id"], "key": "plan", "label": "Plan", "field_type": "dropdown",
                     "options": ["Free", "Pro"], "required_on_solve": False, "is_active": True, "position": 2}
    assert agent_api.get("/api/v1/custom-fields").json() == [field]

    ticket = open_ticket()
    assert agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"custom_fields": {"plan": "Pro"}}).status_code == 200
    error = assert_error(agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"custom_fields": {"plan": "Gold"}}), 422)
    assert error["fields"] == {"custom_fields.plan": "must be one of: Free, Pro"}

    changed = admin_api.patch(f"/api/v1/custom-fields/{field['id']}", {"label": "Plan tier",
                                                                        "options": ["Free", "Pro", "Gold"],
                                                                        "required_on_solve": True})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["label"], changed.json()["options"]) == ("Plan tier", ["Free", "Pro", "Gold"])
    assert agent_api.patch(f"/api/v1/tickets/{ticket.pk}", {"custom_fields": {"plan": "Gold"}}).status_code == 200

    admin_api.patch(f"/api/v1/custom-fields/{field['id']}", {"is_active": False})
    assert agent_api.get("/api/v1/custom-fields").json() == []
    assert [f["key"] for f in agent_api.get("/api/v1/custom-fields", include_inactive=True).json()] == ["plan"]
    actions = list(AuditEvent.objects.filter(target_type="custom_field", target_id=field["id"])
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["custom_field.created", "custom_field.updated", "custom_field.updated"]


@pytest.mark.parametrize(("body", "fields"), [
    ({"key": "plan", "label": "Plan", "field_type": "dropdown"}, {"options": "a dropdown needs at least one option"}),
    ({"key": "plan", "label": "Plan", "field_type": "dropdown", "options": ["a", "a"]},
     {"options": "a is listed twice"}),
    ({"key": "plan", "label": "Plan", "field_type": "dropdown", "options": ["a", " "]},
     {"options": "options must not be empty"}),
    ({"key": "plan", "label": "Plan", "field_type": "text", "options": ["a"]},
     {"options": "only dropdown fields have options"}),
    ({"key": "Plan Tier", "label": "Plan", "field_type": "text"},
     {"key": "lowercase letters, digits, - and _, starting with a letter, at most 50 characters"}),
    ({"key": "plan", "label": " ", "field_type": "text"}, {"label": "required"}),
    ({"key": "plan", "label": "Plan", "field_type": "colour"}, None),
    ({"key": "plan", "label": "Plan", "field_type": "text", "default": "x"}, {"default": "unknown field"}),
])
def test_bad_custom_fields_are_a_422_and_create_nothing(admin_api, unchanged, body, fields):
    with unchanged():
        error = assert_error(admin_api.post("/api/v1/custom-fields", body), 422, "validation_error")
    if fields is None:
        assert set(error["fields"]) == {"field_type"}
    else:
        assert error["fields"] == fields


def test_custom_field_conflicts_and_fixed_properties_change_nothing(admin_api, plan_field, unchanged):
    with unchanged():
        duplicate = {"key": "plan", "label": "P", "field_type": "text"}
        error = assert_error(admin_api.post("/api/v1/custom-fields", duplicate), 409, "conflict")
        assert error["fields"] == {"key": "already exists"}
        error = assert_error(admin_api.patch(f"/api/v1/custom-fields/{plan_field.pk}",
                                             {"key": "tier", "field_type": "text"}), 422)
        assert error["fields"] == {"field_type": "cannot be changed; add a new field and deactivate this one",
                                   "key": "cannot be changed; tickets store values under it"}
        error = assert_error(admin_api.patch(f"/api/v1/custom-fields/{plan_field.pk}", {"options": []}), 422)
        assert error["fields"] == {"options": "a dropdown needs at least one option"}
        assert_error(admin_api.patch("/api/v1/custom-fields/999999", {"label": "Ghost"}), 404, "not_found")


# --- Documentation -----------------------------------------------------------------------------------
def test_openapi_documents_the_ticket_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    expected = {
        "/api/v1/tickets": {"get", "post"},
        "/api/v1/tickets/{ticket_id}": {"get", "patch"},
        "/api/v1/tickets/{ticket_id}/messages": {"get", "post"},
        "/api/v1/tickets/{ticket_id}/messages/upload": {"post"},
        "/api/v1/tickets/{ticket_id}/merge": {"post"},
        "/api/v1/tickets/{ticket_id}/audit": {"get"},
        "/api/v1/messages/{message_id}/split": {"post"},
        "/api/v1/tags": {"get"},
        "/api/v1/ticket-statuses": {"get", "post"},
        "/api/v1/ticket-statuses/{status_id}": {"patch"},
        "/api/v1/custom-fields": {"get", "post"},
        "/api/v1/custom-fields/{field_id}": {"patch"},
    }
    assert {path: set(paths[path]) for path in expected} == expected
