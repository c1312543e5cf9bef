"""The agent workspace's API: saved views and their tickets, canned replies rendered for a ticket, and bulk
changes; who may do what (role, token scope, owners, restricted teams); and bad input that gets the error shape
and changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.core.models import AuditEvent
from cx.tickets.models import CannedReply, SavedView, Ticket, TicketStatus


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


@pytest.fixture
def unchanged(db):
    """Asserts that the requests inside the block changed no ticket, view, canned reply or audit row."""

    def snapshot() -> str:
        out = io.StringIO()
        call_command("dumpdata", "tickets", "core", stdout=out)
        return out.getvalue()

    class _Guard:
        def __enter__(self):
            self.before = snapshot()
            return self

        def __exit__(self, *exc):
            assert snapshot() == self.before
            return False

    return _Guard


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def status_id(category: str) -> int:
    return TicketStatus.objects.get(category=category, is_default=True).pk


@pytest.fixture
def agent_api(api_client, agent_user, token_for):
    return api_client(token_for(agent_user, "write"))


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
def outsider(make_user):
    return make_user(Role.AGENT, "otto")


@pytest.fixture
def outsider_api(api_client, outsider, token_for):
    return api_client(token_for(outsider, "write"))


@pytest.fixture
def hr(make_user, api_client, token_for, open_ticket):
    """A restricted team, its member Ines, and one of its tickets (high priority, tagged payroll)."""
    team = team_create(actor=None, name="HR", is_restricted=True)
    ines = make_user(Role.AGENT, "ines")
    team_add_member(actor=None, team=team, user=ines)
    ticket = open_ticket(subject="Salary question")
    Ticket.objects.filter(pk=ticket.pk).update(team=team, priority="high")
    return {"team": team, "ines_api": api_client(token_for(ines)), "ticket": Ticket.objects.get(pk=ticket.pk)}


def create_view(client, **fields) -> dict:
    response = client.post("/api/v1/views", {"name": "Urgent VIPs", **fields})
    assert response.status_code == 201, response.content
    return response.json()


def create_reply(client, **fields) -> dict:
    body = {"title": "Greeting", "body": "Hi {{customer.first_name}}, about #{{ticket.id}}. {{agent.first_name}}",
            **fields}
    response = client.post("/api/v1/canned-replies", body)
    assert response.status_code == 201, response.content
    return response.json()


# --- Saved views -------------------------------------------------------------------------------------
def test_an_agent_saves_changes_and_deletes_a_view(agent_api, agent_user):
    view = create_view(agent_api, filters={"priority": "high", "tag": "VIP Client", "assignee": "me"},
                       sort="created")
    assert view["name"] == "Urgent VIPs" and view["is_shared"] is False and view["sort"] == "created"
    assert view["filters"] == {"priority": "high", "tag": "vip-client", "assignee": "me"}
    assert view["owner"]["id"] == agent_user.pk
    assert [v["id"] for v in agent_api.get("/api/v1/views").json()] == [view["id"]]

    response = agent_api.patch(f"/api/v1/views/{view['id']}", {"name": " Hot   VIPs ", "is_shared": True,
                                                               "filters": {"priority": "urgent"}})
    assert response.status_code == 200, response.content
    changed = response.json()
    assert (changed["name"], changed["is_shared"], changed["filters"], changed["sort"]) == (
        "Hot VIPs", True, {"priority": "urgent"}, "created")
    assert agent_api.get(f"/api/v1/views/{view['id']}").json() == changed

    assert agent_api.delete(f"/api/v1/views/{view['id']}").status_code == 204
    assert_error(agent_api.get(f"/api/v1/views/{view['id']}"), 404, "not_found")
    assert agent_api.get("/api/v1/views").json() == []
    actions = list(AuditEvent.objects.filter(target_type="saved_view").order_by("id").values_list("action", flat=True))
    assert actions == ["saved_view.created", "saved_view.updated", "saved_view.deleted"]


def test_a_views_tickets_follow_its_filters_and_sort_in_keyset_pages(agent_api, open_ticket):
    first, second, third = (open_ticket(subject=f"Order {n}") for n in range(3))
    Ticket.objects.filter(pk__in=[first.pk, third.pk]).update(priority="high")
    view = create_view(agent_api, filters={"priority": "high"}, sort="oldest")

    page = agent_api.get(f"/api/v1/views/{view['id']}/tickets", limit=1)
    assert ids(page) == [first.pk] and page.json()["next"]
    rest = agent_api.get(f"/api/v1/views/{view['id']}/tickets", limit=1, cursor=page.json()["next"])
    assert ids(rest) == [third.pk] and rest.json()["next"] is None
    # The rows are exactly those of GET /tickets with the same filters.
    same = agent_api.get("/api/v1/tickets", priority="high", sort="oldest")
    assert page.json()["results"] + rest.json()["results"] == same.json()["results"]
    assert second.pk not in ids(agent_api.get(f"/api/v1/views/{view['id']}/tickets"))


def test_a_views_ticket_page_costs_the_same_queries_whatever_its_size(agent_api, agent_user, open_ticket):
    view = create_view(agent_api, name="All", filters={"queue": "any"})

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert agent_api.get(f"/api/v1/views/{view['id']}/tickets").status_code == 200
        return len(captured.captured_queries)

    open_ticket(subject="First")
    few = queries_for_page()
    for n in range(6):
        ticket = open_ticket(subject=f"More {n}")
        Ticket.objects.filter(pk=ticket.pk).update(assignee=agent_user)
    assert queries_for_page() == few


def test_others_private_views_are_invisible_and_shared_ones_are_read_only(agent_api, outsider_api, admin_api,
                                                                          open_ticket, unchanged):
    open_ticket()
    private = create_view(outsider_api, name="Otto's private")
    shared = create_view(outsider_api, name="Team shared", is_shared=True)
    listed = [v["id"] for v in agent_api.get("/api/v1/views").json()]
    assert listed == [shared["id"]]
    with unchanged():
        for response in (
            agent_api.get(f"/api/v1/views/{private['id']}"),
            agent_api.get(f"/api/v1/views/{private['id']}/tickets"),
            agent_api.patch(f"/api/v1/views/{private['id']}", {"name": "Mine now"}),
            agent_api.delete(f"/api/v1/views/{private['id']}"),
            admin_api.get(f"/api/v1/views/{private['id']}"),
        ):
            assert "Otto" not in json.dumps(assert_error(response, 404, "not_found"))
        assert agent_api.get(f"/api/v1/views/{shared['id']}").status_code == 200
        assert agent_api.get(f"/api/v1/views/{shared['id']}/tickets").status_code == 200
        assert_error(agent_api.patch(f"/api/v1/views/{shared['id']}", {"name": "Mine now"}), 403, "forbidden")
        assert_error(agent_api.delete(f"/api/v1/views/{shared['id']}"), 403, "forbidden")
    # An admin looks after shared views.
    renamed = admin_api.patch(f"/api/v1/views/{shared['id']}", {"name": "Everyone's queue"})
    assert renamed.status_code == 200 and renamed.json()["owner"]["username"] == "otto"
    assert admin_api.delete(f"/api/v1/views/{shared['id']}").status_code == 204
    assert SavedView.objects.filter(pk=private["id"]).exists()


def test_analysts_and_read_tokens_keep_private_views_but_cannot_share_them(analyst_api, read_scope_api, unchanged):
    # As in the inbox page, a private view is a personal preference open to read-only users.
    own = create_view(analyst_api, name="My report queue", filters={"status_category": "solved"})
    mine = create_view(read_scope_api, name="Reading list")
    with unchanged():
        for client, path, method, body in (
            (analyst_api, "/api/v1/views", "post", {"name": "For all", "is_shared": True}),
            (read_scope_api, "/api/v1/views", "post", {"name": "For all", "is_shared": True}),
            (analyst_api, f"/api/v1/views/{own['id']}", "patch", {"is_shared": True}),
            (read_scope_api, f"/api/v1/views/{mine['id']}", "patch", {"is_shared": True}),
        ):
            assert_error(getattr(client, method)(path, body), 403, "forbidden")


def test_bad_view_input_names_the_field_and_changes_nothing(agent_api, unchanged):
    view = create_view(agent_api, name="Refunds")
    create_view(agent_api, name="Billing")
    with unchanged():
        for body, fields in (
            ({"name": "   "}, {"name": "required"}),
            ({"name": "x" * 81}, {"name": "at most 80 characters"}),
            ({"name": "REFUNDS"}, {"name": "already used"}),
            ({"name": "A", "sort": "sideways"}, {"sort": "one of updated, created, oldest"}),
            ({"name": "A", "filters": {"priority": "asap"}}, {"filters.priority": "one of low, normal, high, urgent"}),
            ({"name": "A", "filters": {"assignee": "bob"}}, {"filters.assignee": "an agent id, me or none"}),
            ({"name": "A", "filters": {"colour": "red"}}, {"filters.colour": "unknown field"}),
            ({"name": "A", "owner_id": 1}, {"owner_id": "unknown field"}),
        ):
            error = assert_error(agent_api.post("/api/v1/views", body), 422, "validation_error")
            assert error["fields"] == fields, body
        for body, field in (({"name": "billing"}, "name"), ({"name": None}, "name"), ({"sort": "up"}, "sort"),
                            ({"filters": {"queue": "nowhere"}}, "filters.queue"), ({"colour": "red"}, "colour")):
            error = assert_error(agent_api.patch(f"/api/v1/views/{view['id']}", body), 422, "validation_error")
            assert list(error["fields"]) == [field], body
        assert_error(agent_api.post("/api/v1/views", raw="{not json"), 400)
        assert_error(agent_api.get(f"/api/v1/views/{view['id']}/tickets", limit=0), 422)
        assert_error(agent_api.get(f"/api/v1/views/{view['id']}/tickets", cursor="garbage"), 422)


def test_restricted_team_tickets_never_appear_in_views(agent_api, hr, open_ticket):
    visible = open_ticket(subject="Public one")
    Ticket.objects.filter(pk=visible.pk).update(priority="high")
    hidden = hr["ticket"].pk
    everything = create_view(agent_api, name="Everything")
    high = create_view(agent_api, name="High", filters={"priority": "high"})
    by_team = create_view(agent_api, name="HR", filters={"team": str(hr["team"].pk)})
    assert ids(agent_api.get(f"/api/v1/views/{everything['id']}/tickets")) == [visible.pk]
    assert ids(agent_api.get(f"/api/v1/views/{high['id']}/tickets")) == [visible.pk]
    assert ids(agent_api.get(f"/api/v1/views/{by_team['id']}/tickets")) == []
    # A member's shared view of the team is visible to everyone, its tickets only to the members.
    shared = create_view(hr["ines_api"], name="HR queue", filters={"team": hr["team"].pk}, is_shared=True)
    assert ids(hr["ines_api"].get(f"/api/v1/views/{shared['id']}/tickets")) == [hidden]
    assert ids(agent_api.get(f"/api/v1/views/{shared['id']}/tickets")) == []


# --- Canned replies ----------------------------------------------------------------------------------
def test_an_agent_writes_renders_changes_and_deletes_a_canned_reply(agent_api, agent_user, open_ticket):
    ticket = open_ticket()
    reply = create_reply(agent_api)
    assert reply["is_shared"] is True and reply["owner"]["id"] == agent_user.pk
    assert [r["id"] for r in agent_api.get("/api/v1/canned-replies").json()] == [reply["id"]]

    rendered = agent_api.post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{reply['id']}/render")
    assert rendered.status_code == 200, rendered.content
    assert rendered.json() == {"reply_id": reply["id"], "ticket_id": ticket.pk,
                               "text": f"Hi Rita, about #{ticket.pk}. Alex"}

    response = agent_api.patch(f"/api/v1/canned-replies/{reply['id']}",
                               {"title": "Hello", "body": "Re: {{ticket.subject}}", "is_shared": False})
    assert response.status_code == 200, response.content
    assert {k: response.json()[k] for k in ("title", "body", "is_shared")} == {
        "title": "Hello", "body": "Re: {{ticket.subject}}", "is_shared": False}
    rendered = agent_api.post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{reply['id']}/render")
    assert rendered.json()["text"] == "Re: My card was declined"

    assert agent_api.delete(f"/api/v1/canned-replies/{reply['id']}").status_code == 204
    assert_error(agent_api.get(f"/api/v1/canned-replies/{reply['id']}"), 404, "not_found")
    actions = list(AuditEvent.objects.filter(target_type="canned_reply").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["canned_reply.created", "canned_reply.updated", "canned_reply.deleted"]


def test_read_only_users_use_canned_replies_but_cannot_write_them(agent_api, analyst_api, read_scope_api,
                                                                   open_ticket, unchanged):
    ticket = open_ticket()
    reply = create_reply(agent_api)
    with unchanged():
        for client in (analyst_api, read_scope_api):
            assert [r["id"] for r in client.get("/api/v1/canned-replies").json()] == [reply["id"]]
            rendered = client.post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{reply['id']}/render")
            assert rendered.status_code == 200 and rendered.json()["text"].startswith("Hi Rita")
            assert_error(client.post("/api/v1/canned-replies", {"title": "T", "body": "B"}), 403, "forbidden")
            assert_error(client.patch(f"/api/v1/canned-replies/{reply['id']}", {"title": "T"}), 403, "forbidden")
            assert_error(client.delete(f"/api/v1/canned-replies/{reply['id']}"), 403, "forbidden")


def test_others_private_replies_are_invisible_and_shared_ones_belong_to_their_author(
        agent_api, outsider_api, admin_api, open_ticket, unchanged):
    ticket = open_ticket()
    private = create_reply(outsider_api, title="Otto's secret", is_shared=False)
    shared = create_reply(outsider_api, title="Team answer")
    assert [r["id"] for r in agent_api.get("/api/v1/canned-replies").json()] == [shared["id"]]
    with unchanged():
        for response in (
            agent_api.get(f"/api/v1/canned-replies/{private['id']}"),
            agent_api.patch(f"/api/v1/canned-replies/{private['id']}", {"title": "Mine"}),
            agent_api.delete(f"/api/v1/canned-replies/{private['id']}"),
            agent_api.post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{private['id']}/render"),
        ):
            assert "secret" not in json.dumps(assert_error(response, 404, "not_found"))
        assert_error(agent_api.patch(f"/api/v1/canned-replies/{shared['id']}", {"title": "Mine"}), 403)
        assert_error(agent_api.delete(f"/api/v1/canned-replies/{shared['id']}"), 403)
    # Rendering fills in the caller, not the author.
    rendered = agent_api.post(f"/api/v1/tickets/{ticket.pk}/canned-replies/{shared['id']}/render")
    assert rendered.json()["text"].endswith(". Alex")
    assert admin_api.patch(f"/api/v1/canned-replies/{shared['id']}", {"title": "Edited"}).status_code == 200
    assert admin_api.delete(f"/api/v1/canned-replies/{shared['id']}").status_code == 204


def test_bad_canned_reply_input_names_the_field_and_changes_nothing(agent_api, hr, open_ticket, unchanged):
    ticket = open_ticket()
    reply = create_reply(agent_api)
    with unchanged():
        for body, field in (
            ({"title": "T", "body": "Hi {{customer.password}}"}, "body"),
            ({"title": "T", "body": "   "}, "body"),
            ({"title": "", "body": "B"}, "title"),
            ({"title": "x" * 101, "body": "B"}, "title"),
            ({"title": "T"}, "body"),
            ({"title": "T", "body": "B", "owner_id": 1}, "owner_id"),
        ):
            error = assert_error(agent_api.post("/api/v1/canned-replies", body), 422, "validation_error")
            assert list(error["fields"]) == [field], body
        error = assert_error(agent_api.patch(f"/api/v1/canned-replies/{reply['id']}",
                                             {"title": "Fine", "body": "{{ ticket.secret }}"}), 422)
        assert "unknown {{ticket.secret}}" in error["fields"]["body"]
        assert_error(agent_api.post(f"/api/v1/tickets/{ticket.pk}/canned-replies/999999/render"), 404)
        assert_error(agent_api.post(f"/api/v1/tickets/999999/canned-replies/{reply['id']}/render"), 404)
        # A restricted team's ticket is not there at all for outsiders, so nothing about it leaks.
        hidden = assert_error(agent_api.post(f"/api/v1/tickets/{hr['ticket'].pk}/canned-replies/{reply['id']}/render"),
                              404, "not_found")
        assert "Rita" not in json.dumps(hidden)
    assert CannedReply.objects.get(pk=reply["id"]).title == "Greeting"


# --- Bulk changes ------------------------------------------------------------------------------------
def test_a_bulk_change_updates_each_ticket_and_reports_the_rest(agent_api, agent_user, open_ticket):
    one, two = open_ticket(subject="One"), open_ticket(subject="Two")
    response = agent_api.post("/api/v1/tickets/bulk", {"ticket_ids": [one.pk, 999999, two.pk, one.pk],
                                                       "changes": {"priority": "urgent"}})
    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 2, "failed": 1, "results": [
        {"ticket_id": one.pk, "result": "updated", "reason": None},
        {"ticket_id": 999999, "result": "error", "reason": "No such ticket."},
        {"ticket_id": two.pk, "result": "updated", "reason": None},
    ]}
    assert set(Ticket.objects.filter(pk__in=[one.pk, two.pk]).values_list("priority", flat=True)) == {"urgent"}

    assert agent_api.post("/api/v1/tickets/bulk", {"ticket_ids": [one.pk, two.pk],
                                                   "changes": {"assignee_id": agent_user.pk}}).json()["updated"] == 2
    assert set(Ticket.objects.filter(pk__in=[one.pk, two.pk]).values_list("assignee_id", flat=True)) == {
        agent_user.pk}
    assert agent_api.post("/api/v1/tickets/bulk", {"ticket_ids": [one.pk],
                                                   "changes": {"assignee_id": None}}).json()["updated"] == 1
    assert Ticket.objects.get(pk=one.pk).assignee_id is None

    agent_api.post("/api/v1/tickets/bulk", {"ticket_ids": [one.pk, two.pk], "changes": {"add_tag": "VIP Client"}})
    assert agent_api.get(f"/api/v1/tickets/{two.pk}").json()["tags"] == ["vip-client"]
    pending = agent_api.post("/api/v1/tickets/bulk", {"ticket_ids": [one.pk],
                                                      "changes": {"status_id": status_id("pending")}})
    assert pending.json()["updated"] == 1 and Ticket.objects.get(pk=one.pk).status_category == "pending"
    # Each ticket's own audit trail shows the changes, as if made on its page.
    assert AuditEvent.objects.filter(target_type="ticket", target_id=two.pk, action="ticket.updated").count() == 3
    assert AuditEvent.objects.filter(action="tickets.bulk_updated").count() == 5


def test_a_ticket_that_refuses_a_bulk_change_is_left_as_it_was(agent_api, make_user, open_ticket):
    one, two = open_ticket(subject="One"), open_ticket(subject="Two")
    analyst = make_user(Role.ANALYST, "reader")
    response = agent_api.post("/api/v1/tickets/bulk", {"ticket_ids": [one.pk, two.pk],
                                                       "changes": {"assignee_id": analyst.pk}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["updated"] == 0 and body["failed"] == 2
    assert all(row["result"] == "error" and row["reason"] for row in body["results"])
    assert Ticket.objects.filter(pk__in=[one.pk, two.pk], assignee__isnull=True).count() == 2


def test_bulk_changes_never_reach_restricted_team_tickets(agent_api, hr, open_ticket):
    mine = open_ticket(subject="Public one")
    hidden = hr["ticket"]
    response = agent_api.post("/api/v1/tickets/bulk", {"ticket_ids": [hidden.pk, mine.pk],
                                                       "changes": {"priority": "low"}})
    assert response.json()["results"] == [
        {"ticket_id": hidden.pk, "result": "error", "reason": "No such ticket."},
        {"ticket_id": mine.pk, "result": "updated", "reason": None},
    ]
    assert "Salary" not in response.content.decode()
    assert Ticket.objects.get(pk=hidden.pk).priority == "high"
    # A member of the team can.
    assert hr["ines_api"].post("/api/v1/tickets/bulk", {"ticket_ids": [hidden.pk],
                                                        "changes": {"priority": "low"}}).json()["updated"] == 1


def test_analysts_and_read_tokens_cannot_bulk_change(analyst_api, read_scope_api, open_ticket, unchanged):
    ticket = open_ticket()
    with unchanged():
        for client in (analyst_api, read_scope_api):
            response = client.post("/api/v1/tickets/bulk", {"ticket_ids": [ticket.pk], "changes": {"priority": "low"}})
            assert_error(response, 403, "forbidden")


def test_bad_bulk_input_names_the_field_and_changes_nothing(agent_api, open_ticket, unchanged):
    ticket = open_ticket()
    with unchanged():
        for body, field in (
            ({"ticket_ids": [ticket.pk], "changes": {}}, "changes"),
            ({"ticket_ids": [ticket.pk], "changes": {"priority": "low", "add_tag": "x"}}, "changes"),
            ({"ticket_ids": [ticket.pk], "changes": {"priority": "asap"}}, "changes.priority"),
            ({"ticket_ids": [ticket.pk], "changes": {"colour": "red"}}, "changes.colour"),
            ({"ticket_ids": [ticket.pk], "changes": {"add_tag": "   "}}, "changes.add_tag"),
            ({"ticket_ids": [ticket.pk], "changes": {"status_id": None}}, "changes.status_id"),
            ({"ticket_ids": [], "changes": {"priority": "low"}}, "ticket_ids"),
            ({"ticket_ids": list(range(1, 102)), "changes": {"priority": "low"}}, "ticket_ids"),
            ({"ticket_ids": ["1; drop"], "changes": {"priority": "low"}}, "ticket_ids.0"),
            ({"changes": {"priority": "low"}}, "ticket_ids"),
            ({"ticket_ids": [ticket.pk], "changes": {"priority": "low"}, "action": "x"}, "action"),
        ):
            error = assert_error(agent_api.post("/api/v1/tickets/bulk", body), 422, "validation_error")
            assert list(error["fields"]) == [field], (body, error)
    assert Ticket.objects.get(pk=ticket.pk).priority == "normal"
