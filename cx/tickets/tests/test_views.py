"""The agent workspace through HTTP, as a browser uses it: queues, filters, saved views, bulk actions, the
ticket page (reply, note, properties, canned replies, attachments, merge, split) and the permission limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.core.models import AuditEvent
from cx.core.pagination import cursor_encode
from cx.tickets.models import CannedReply, CustomField, Message, SavedView, StatusCategory, Ticket, TicketStatus
from cx.tickets.services import ticket_open_by_customer, ticket_update
from cx.tickets.workspace_services import canned_reply_create, placeholders_render, saved_view_create

HTMX = {"HX-Request": "true"}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _status(category: str) -> TicketStatus:
    return TicketStatus.objects.get(category=category, is_default=True)


def _row(ticket: Ticket) -> str:
    return f'id="ticket-row-{ticket.pk}"'


def _properties(ticket: Ticket, **overrides) -> dict:
    """The properties form as the page submits it: every field with its current value (also in the hidden
    ``initial-`` inputs that tell which fields the agent changed), with the overrides typed in."""
    ticket.refresh_from_db()
    data = {
        "status": ticket.status_id, "priority": ticket.priority, "ticket_type": ticket.ticket_type,
        "assignee": ticket.assignee_id or "", "team": ticket.team_id or "",
        "tags": ", ".join(t.name for t in ticket.tags.all()),
        "due_at": ticket.due_at.strftime("%Y-%m-%d %H:%M:%S") if ticket.due_at else "",
    }
    for field in CustomField.objects.filter(is_active=True):
        data[f"cf_{field.key}"] = ticket.custom_fields.get(field.key, "")
    data.update({f"initial-{name}": value for name, value in data.items()})
    data.update(overrides)
    return data


class _FormValues(HTMLParser):
    """The values a browser would submit from the form with the given id (inputs, selects, textareas)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.select, self.textarea = form_id, False, None, None
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        elif self.inside and tag == "input" and attrs.get("name") and attrs.get("type") not in ("checkbox", "radio"):
            self.values[attrs["name"]] = attrs.get("value") or ""
        elif self.inside and tag in ("input",) and "checked" in attrs:
            self.values[attrs["name"]] = attrs.get("value") or "on"
        elif self.inside and tag == "select":
            self.select = attrs["name"]
            self.values.setdefault(self.select, "")
        elif self.inside and tag == "option" and self.select and "selected" in attrs:
            self.values[self.select] = attrs.get("value") or ""
        elif self.inside and tag == "textarea":
            self.textarea = attrs["name"]
            self.values[self.textarea] = ""

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def _form_values(html: str, form_id: str) -> dict[str, str]:
    parser = _FormValues(form_id)
    parser.feed(html)
    return parser.values


@pytest.fixture
def restricted(make_user, open_ticket):
    """A restricted HR team with one member and one ticket."""
    hr = team_create(actor=None, name="HR", is_restricted=True)
    member = make_user(Role.AGENT, "hr-member")
    team_add_member(actor=None, team=hr, user=member)
    ticket = open_ticket(subject="Confidential complaint")
    ticket_update(actor=member, ticket=ticket, changes={"team_id": hr.pk})
    return {"team": hr, "member": member, "ticket": ticket}


# --- inbox -----------------------------------------------------------------------------------------------

def test_home_opens_the_inbox_and_the_nav_links_it(agent_user):
    client = _client(agent_user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/tickets/"
    page = client.get("/tickets/").content.decode()
    assert '<a href="/tickets/"' in page and ">Inbox</a>" in page


def test_queues_show_the_right_tickets(agent_user, make_user, open_ticket):
    mine = open_ticket(subject="Assigned to me")
    ticket_update(actor=agent_user, ticket=mine, changes={"assignee_id": agent_user.pk})
    colleague = make_user(Role.AGENT, "colleague")
    theirs = open_ticket(subject="Assigned to a colleague")
    ticket_update(actor=agent_user, ticket=theirs, changes={"assignee_id": colleague.pk})
    waiting = open_ticket(subject="Nobody has it")
    solved = open_ticket(subject="Done already")
    ticket_update(actor=agent_user, ticket=solved, changes={"status_id": _status("solved").pk})
    client = _client(agent_user)

    my_open = client.get("/tickets/").content.decode()  # agents land on "My open"
    assert _row(mine) in my_open and _row(theirs) not in my_open and _row(waiting) not in my_open

    unassigned = client.get("/tickets/?queue=unassigned").content.decode()
    assert _row(waiting) in unassigned and _row(mine) not in unassigned and _row(solved) not in unassigned

    recently_solved = client.get("/tickets/?queue=recently-solved").content.decode()
    assert _row(solved) in recently_solved and _row(waiting) not in recently_solved

    everything = client.get("/tickets/?queue=all").content.decode()
    assert all(_row(t) in everything for t in (mine, theirs, waiting)) and _row(solved) not in everything
    assert 'data-queue="unassigned"' in everything and 'data-live-url="/ws/tickets/queues/"' in everything


def test_sidebar_counts_and_live_rows_partial(agent_user, open_ticket):
    open_ticket(subject="One")
    open_ticket(subject="Two")
    client = _client(agent_user)
    counts = client.get("/tickets/counts/?queue=unassigned").content.decode()
    assert 'data-queue="unassigned"' in counts and 'aria-label="2 tickets"' in counts

    rows = client.get("/tickets/?queue=unassigned", headers={**HTMX, "HX-Target": "ticket-rows"})
    assert rows.status_code == 200
    assert "<html" not in rows.content.decode() and rows.content.decode().count("data-ticket-row") == 2


def test_filters_sort_and_load_more(agent_user, open_ticket):
    urgent = open_ticket(subject="Server on fire")
    ticket_update(actor=agent_user, ticket=urgent, changes={"priority": "urgent", "tags": ["outage"]})
    calm = open_ticket(subject="Question about colours")
    client = _client(agent_user)

    page = client.get("/tickets/", {"queue": "all", "priority": "urgent"}).content.decode()
    assert _row(urgent) in page and _row(calm) not in page
    page = client.get("/tickets/", {"queue": "all", "tag": "Outage"}).content.decode()
    assert _row(urgent) in page and _row(calm) not in page
    oldest = client.get("/tickets/", {"queue": "all", "sort": "oldest"}).content.decode()
    assert oldest.index(_row(urgent)) < oldest.index(_row(calm))

    bad = client.get("/tickets/", {"queue": "all", "priority": "whenever", "sort": "random"})
    assert bad.status_code == 422 and "priority" in bad.content.decode()
    impossible_date = cursor_encode(["2026-13-45T00:00:00+00:00", 5])
    for cursor in ("garbage", impossible_date):
        response = client.get("/tickets/", {"queue": "all", "cursor": cursor}, headers=HTMX)
        assert response.status_code == 422 and "The cursor is not valid." in response.content.decode()

    for n in range(55):
        open_ticket(subject=f"Bulk {n}")
    first = client.get("/tickets/", {"queue": "all"}).content.decode()
    assert first.count("data-ticket-row") == 50 and "Load more" in first
    cursor = first.split("cursor=")[1].split('"')[0]
    more = client.get(f"/tickets/?queue=all&cursor={cursor}", headers=HTMX).content.decode()
    assert more.count("data-ticket-row") == 7 and "Load more" not in more


def test_inbox_query_count_does_not_grow_with_page_size(agent_user, open_ticket, make_user):
    team = team_create(actor=None, name="Billing")
    team_add_member(actor=None, team=team, user=agent_user)
    for n in range(3):
        ticket = open_ticket(subject=f"Early {n}")
        ticket_update(actor=agent_user, ticket=ticket, changes={"team_id": team.pk, "assignee_id": agent_user.pk,
                                                                "tags": ["a", "b"]})
    client = _client(agent_user)
    client.get("/tickets/?queue=all")  # warm up sessions and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get("/tickets/?queue=all").status_code == 200
    for n in range(30):
        ticket = open_ticket(subject=f"Later {n}")
        ticket_update(actor=agent_user, ticket=ticket, changes={"team_id": team.pk, "assignee_id": agent_user.pk,
                                                                "tags": [f"t{n}"]})
    with CaptureQueriesContext(connection) as many:
        page = client.get("/tickets/?queue=all")
    assert page.content.decode().count("data-ticket-row") == 33
    assert len(many) == len(few)


def test_sidebar_counts_cost_the_same_queries_however_many_tickets(agent_user, open_ticket):
    """The counts partial the inbox fetches after every page view: capped counts, one query per queue."""
    open_ticket(subject="First")
    client = _client(agent_user)
    client.get("/tickets/counts/?queue=all", headers=HTMX)  # warm up sessions
    cache.clear()
    with CaptureQueriesContext(connection) as few:
        assert client.get("/tickets/counts/?queue=all", headers=HTMX).status_code == 200
    for n in range(12):
        ticket = open_ticket(subject=f"More {n}")
        ticket_update(actor=agent_user, ticket=ticket, changes={"assignee_id": agent_user.pk})
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert client.get("/tickets/counts/?queue=all", headers=HTMX).status_code == 200
    assert len(many) == len(few)


def _my_open_count(client) -> str:
    html = client.get("/tickets/counts/?queue=all", headers=HTMX).content.decode()
    return html.split('data-queue="my-open"', 1)[1].split('class="queue-count"', 1)[1].split(">", 1)[1].split("<")[0]


def test_sidebar_counts_are_cached_per_agent_until_a_ticket_changes(agent_user, open_ticket, make_user):
    cache.clear()
    client = _client(agent_user)
    first = open_ticket(subject="First")
    ticket_update(actor=agent_user, ticket=first, changes={"assignee_id": agent_user.pk})
    assert _my_open_count(client) == "1"
    with CaptureQueriesContext(connection) as cached:
        assert _my_open_count(client) == "1"
    assert not [q for q in cached.captured_queries if "COUNT" in q["sql"]]  # served from the cache
    # Another agent's counts are their own.
    other = make_user(Role.AGENT, "otto")
    assert _my_open_count(_client(other)) == "0"
    # Any ticket change makes every cached count stale at once.
    second = open_ticket(subject="Second")
    ticket_update(actor=agent_user, ticket=second, changes={"assignee_id": agent_user.pk})
    assert _my_open_count(client) == "2"
    # A ticket saved by another process renews no generation in this process's cache; its new updated_at
    # (part of the key) still makes the counts stale.
    third = open_ticket(subject="Third")
    assert _my_open_count(client) == "2"
    Ticket.objects.filter(pk=third.pk).update(assignee=agent_user, updated_at=datetime.now(UTC))
    assert _my_open_count(client) == "3"
    # So does joining a team (team membership decides restricted-team visibility and My teams).
    with CaptureQueriesContext(connection) as again:
        _my_open_count(client)
    assert not [q for q in again.captured_queries if "COUNT" in q["sql"]]
    team_add_member(actor=None, team=team_create(actor=None, name="Night shift"), user=agent_user)
    with CaptureQueriesContext(connection) as recount:
        _my_open_count(client)
    assert [q for q in recount.captured_queries if "COUNT" in q["sql"]]


def test_ticket_page_query_count_does_not_grow_with_the_conversation(agent_user, open_ticket, requester):
    """Messages, attachments, tags, followers, the audit trail and the customer's other tickets are loaded in
    a fixed number of queries: a long ticket costs what a short one does."""
    from cx.tickets.services import ticket_reply

    short, long = open_ticket(subject="Short"), open_ticket(subject="Long")
    client = _client(agent_user)
    client.get(f"/tickets/{short.pk}/")  # warm up sessions and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/tickets/{short.pk}/").status_code == 200
    for n in range(12):
        ticket_reply(actor=agent_user, ticket=long, body=f"Answer {n}", visibility="internal" if n % 2 else "public",
                     attachments=[SimpleUploadedFile(f"a{n}.txt", b"x")])
        open_ticket(subject=f"Other {n}")
    ticket_update(actor=agent_user, ticket=long, changes={"tags": ["a", "b", "c"], "priority": "high"})
    long.followers.add(agent_user)
    with CaptureQueriesContext(connection) as many:
        page = client.get(f"/tickets/{long.pk}/")
    assert page.status_code == 200 and page.content.decode().count("Answer ") >= 12
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- saved views -----------------------------------------------------------------------------------------

def test_agents_save_private_and_shared_views(agent_user, make_user, open_ticket):
    other = make_user(Role.AGENT, "otto")
    urgent = open_ticket(subject="Urgent thing")
    ticket_update(actor=agent_user, ticket=urgent, changes={"priority": "urgent"})
    client = _client(agent_user)

    response = client.post("/tickets/views/", {"name": "My urgent", "queue": "all", "priority": "urgent",
                                               "sort": "oldest"})
    assert response.status_code == 302
    private = SavedView.objects.get(name="My urgent")
    assert private.filters == {"queue": "all", "priority": "urgent"} and private.sort == "oldest"
    assert not private.is_shared
    client.post("/tickets/views/", {"name": "Team urgent", "queue": "all", "priority": "urgent", "is_shared": "on"})
    assert SavedView.objects.get(name="Team urgent").is_shared

    page = client.get(response["Location"]).content.decode()
    assert "<h1 id=\"inbox-title\">My urgent</h1>" in page and _row(urgent) in page

    others_page = _client(other).get("/tickets/").content.decode()
    assert "Team urgent" in others_page and "My urgent" not in others_page
    assert _client(other).post(f"/tickets/views/{private.pk}/delete/").status_code == 404
    shared = SavedView.objects.get(name="Team urgent")
    assert _client(other).post(f"/tickets/views/{shared.pk}/delete/").status_code == 403
    assert AuditEvent.objects.filter(action="saved_view.created", target_id=shared.pk).exists()


def test_saved_views_reject_bad_filters_and_duplicate_names(agent_user, analyst_user):
    client = _client(agent_user)
    client.post("/tickets/views/", {"name": "Mine", "queue": "all"})
    client.post("/tickets/views/", {"name": "mine", "queue": "all"})
    client.post("/tickets/views/", {"name": "Weird", "queue": "all", "channel": "carrier-pigeon"})
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Mine"]
    # Analysts may keep private views but not share them with everyone.
    assert _client(analyst_user).post("/tickets/views/", {"name": "Read", "queue": "all"}).status_code == 302
    shared = _client(analyst_user).post("/tickets/views/", {"name": "Loud", "queue": "all", "is_shared": "on"})
    assert shared.status_code == 403
    with pytest.raises(Exception, match="Unknown sort"):
        saved_view_create(actor=agent_user, name="Sorted", filters={}, sort="sideways")


# --- bulk actions ----------------------------------------------------------------------------------------

def test_bulk_actions_change_each_ticket_and_report_refusals(agent_user, make_user, open_ticket):
    team = team_create(actor=None, name="Returns")
    outsider = make_user(Role.AGENT, "outsider")
    one, two = open_ticket(subject="One"), open_ticket(subject="Two")
    in_team = open_ticket(subject="Three")
    ticket_update(actor=agent_user, ticket=in_team, changes={"team_id": team.pk})
    client = _client(agent_user)

    response = client.post("/tickets/bulk/", {"ticket_ids": [one.pk, two.pk], "action": "set_priority",
                                              "priority": "high"}, headers=HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "tickets-changed"
    assert set(Ticket.objects.filter(pk__in=[one.pk, two.pk]).values_list("priority", flat=True)) == {"high"}

    client.post("/tickets/bulk/", {"ticket_ids": [one.pk, two.pk], "action": "add_tag", "tag": "VIP"}, headers=HTMX)
    assert [t.name for t in one.tags.all()] == ["vip"] and [t.name for t in two.tags.all()] == ["vip"]

    # The outsider is not in in_team's team: that ticket is refused and named, the other one is assigned.
    response = client.post("/tickets/bulk/", {"ticket_ids": [one.pk, in_team.pk], "action": "assign_agent",
                                              "assignee": str(outsider.pk)}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and f"#{in_team.pk}</a>: " in body and "not a member" in body
    one.refresh_from_db()
    in_team.refresh_from_db()
    assert one.assignee == outsider and in_team.assignee is None

    response = client.post("/tickets/bulk/", {"ticket_ids": [one.pk], "action": "set_status",
                                              "status": str(_status("solved").pk)})
    assert response.status_code == 302
    one.refresh_from_db()
    assert one.status_category == StatusCategory.SOLVED


def test_bulk_actions_validate_input_and_permissions(agent_user, analyst_user, open_ticket, restricted):
    ticket = open_ticket()
    client = _client(agent_user)
    assert client.post("/tickets/bulk/", {"ticket_ids": [ticket.pk], "action": "explode"}, headers=HTMX
                       ).status_code == 422
    assert client.post("/tickets/bulk/", {"ticket_ids": [], "action": "set_priority", "priority": "low"},
                       headers=HTMX).status_code == 422
    assert client.post("/tickets/bulk/", {"ticket_ids": ["1; drop"], "action": "set_priority", "priority": "low"},
                       headers=HTMX).status_code == 422
    hidden = client.post("/tickets/bulk/", {"ticket_ids": [restricted["ticket"].pk], "action": "set_priority",
                                            "priority": "low"}, headers=HTMX)
    assert hidden.status_code == 422 and "No such ticket." in hidden.content.decode()
    denied = _client(analyst_user).post("/tickets/bulk/", {"ticket_ids": [ticket.pk], "action": "set_priority",
                                                            "priority": "urgent"})
    assert denied.status_code == 403
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


# --- ticket page -----------------------------------------------------------------------------------------

def test_ticket_page_shows_the_conversation_escaped_with_notes_set_apart(agent_user, open_ticket, requester):
    ticket = ticket_open_by_customer(requester=requester, subject="Help", channel="email",
                                     body="<script>alert(1)</script>\nsecond line").ticket
    client = _client(agent_user)
    client.post(f"/tickets/{ticket.pk}/reply/", {"body": "Checking the logs", "visibility": "internal"})
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in page
    assert "message-internal" in page and "Internal note" in page
    assert f'data-ticket-socket="/ws/tickets/{ticket.pk}/"' in page
    assert f'href="/customers/{requester.pk}/"' in page
    assert f'hx-get="/journeys/customers/{requester.pk}/timeline/"' in page
    assert f'hx-get="/sla/tickets/{ticket.pk}/badge/"' in page  # the SLA app is installed
    assert f'hx-get="/automation/tickets/{ticket.pk}/macros/"' in page


def test_agent_replies_and_solves_from_the_page(agent_user, open_ticket, requester):
    ticket = open_ticket()
    client = _client(agent_user)

    response = client.post(f"/tickets/{ticket.pk}/reply/", {"body": "Hi Rita, fixed it.", "visibility": "public",
                                                            "submit_as": _status("solved").pk}, headers=HTMX)
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"ticket-replied": True, "cx:flash": "Reply sent."}
    assert 'id="composer"' in response.content.decode() and "Hi Rita, fixed it." not in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status_category == StatusCategory.SOLVED and ticket.assignee == agent_user
    reply = ticket.messages.order_by("-id").first()
    assert (reply.author_agent, reply.visibility, reply.body_text) == (agent_user, "public", "Hi Rita, fixed it.")

    conversation = client.get(f"/tickets/{ticket.pk}/conversation/").content.decode()
    assert "Hi Rita, fixed it." in conversation and "Public reply" in conversation


def test_empty_reply_is_refused_with_the_draft_kept(agent_user, open_ticket):
    ticket = open_ticket()
    client = _client(agent_user)
    response = client.post(f"/tickets/{ticket.pk}/reply/", {"body": "   ", "visibility": "public",
                                                            "submit_as": "999999"}, headers=HTMX)
    assert response.status_code == 422
    assert ticket.messages.count() == 1


def test_reply_with_attachments_and_download_permission(agent_user, make_user, open_ticket, restricted):
    ticket = open_ticket()
    client = _client(agent_user)
    upload = SimpleUploadedFile("invoice.html", b"<h1>not rendered</h1>", content_type="text/html")
    response = client.post(f"/tickets/{ticket.pk}/reply/", {"body": "Invoice attached.", "visibility": "public",
                                                            "attachments": [upload]})
    assert response.status_code == 302
    attachment = Message.objects.get(body_text="Invoice attached.").attachments.get()
    assert f'href="/tickets/attachments/{attachment.pk}/"' in client.get(f"/tickets/{ticket.pk}/").content.decode()

    download = client.get(f"/tickets/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;") and 'filename="invoice.html"' in \
        download["Content-Disposition"]
    assert b"".join(download.streaming_content) == b"<h1>not rendered</h1>"

    # Move the ticket into the restricted team: outsiders can no longer download its files.
    ticket_update(actor=restricted["member"], ticket=ticket,
                  changes={"team_id": restricted["team"].pk, "assignee_id": restricted["member"].pk})
    assert client.get(f"/tickets/attachments/{attachment.pk}/").status_code == 404
    assert _client(restricted["member"]).get(f"/tickets/attachments/{attachment.pk}/").status_code == 200
    assert client.get("/tickets/attachments/999999/").status_code == 404


def test_property_changes_are_saved_and_audited(agent_user, open_ticket):
    field = CustomField.objects.create(key="order_total", label="Order total", field_type="number")
    ticket = open_ticket()
    client = _client(agent_user)
    response = client.post(f"/tickets/{ticket.pk}/properties/",
                           _properties(ticket, priority="high", tags="billing, refund", cf_order_total="49.90",
                                       due_at="2030-01-02T09:30"), headers=HTMX)
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"properties-saved": True, "cx:flash": "Saved."}
    ticket.refresh_from_db()
    assert ticket.priority == "high" and ticket.custom_fields == {field.key: 49.9}
    assert sorted(t.name for t in ticket.tags.all()) == ["billing", "refund"]
    assert ticket.due_at.isoformat() == "2030-01-02T09:30:00+00:00"  # agents without a time zone are on UTC
    last = AuditEvent.objects.filter(target_id=ticket.pk, action="ticket.updated").order_by("id").last()
    changes = last.data["changes"]
    assert set(changes) == {"priority", "tags", "custom_fields", "due_at"}
    audit = client.get(f"/tickets/{ticket.pk}/audit/").content.decode()
    assert "priority: normal → high" in audit


def test_saving_the_panel_as_rendered_changes_nothing(agent_user, open_ticket):
    CustomField.objects.create(key="vip", label="VIP", field_type="checkbox")
    CustomField.objects.create(key="ordered_on", label="Ordered on", field_type="date")
    ticket = open_ticket()
    ticket_update(actor=agent_user, ticket=ticket, changes={
        "tags": ["x"], "custom_fields": {"vip": True, "ordered_on": "2026-01-31"},
        "due_at": datetime(2030, 5, 6, 7, 8, tzinfo=UTC)})
    client = _client(agent_user)
    values = _form_values(client.get(f"/tickets/{ticket.pk}/properties/").content.decode(), "properties-form")
    assert values["initial-priority"] == "normal" and values["due_at"] == "2030-05-06T07:08"
    before = AuditEvent.objects.count()
    assert client.post(f"/tickets/{ticket.pk}/properties/", values).status_code == 302
    assert AuditEvent.objects.count() == before

    values["priority"] = "low"
    del values["cf_vip"]  # an unticked checkbox sends nothing
    assert client.post(f"/tickets/{ticket.pk}/properties/", values).status_code == 302
    ticket.refresh_from_db()
    assert ticket.priority == "low" and ticket.custom_fields == {"vip": False, "ordered_on": "2026-01-31"}
    last = AuditEvent.objects.filter(action="ticket.updated").order_by("id").last()
    assert set(last.data["changes"]) == {"priority", "custom_fields"}


def test_a_stale_panel_only_sends_what_the_agent_changed(agent_user, make_user, open_ticket):
    colleague = make_user(Role.AGENT, "colleague")
    ticket = open_ticket()
    stale_form = _properties(ticket, priority="high")  # rendered before the colleague took the ticket
    ticket_update(actor=colleague, ticket=ticket, changes={"assignee_id": colleague.pk})
    assert _client(agent_user).post(f"/tickets/{ticket.pk}/properties/", stale_form).status_code == 302
    ticket.refresh_from_db()
    assert ticket.priority == "high" and ticket.assignee == colleague


def test_invalid_properties_get_422_with_the_reason_and_change_nothing(agent_user, make_user, open_ticket):
    CustomField.objects.create(key="order_total", label="Order total", field_type="number")
    team = team_create(actor=None, name="Logistics")
    outsider = make_user(Role.AGENT, "not-in-logistics")
    ticket = open_ticket()
    client = _client(agent_user)

    response = client.post(f"/tickets/{ticket.pk}/properties/",
                           _properties(ticket, priority="urgent", cf_order_total="lots"), headers=HTMX)
    assert response.status_code == 422
    assert "Some custom fields are invalid." in response.content.decode()
    assert "must be a number" in response.content.decode()

    response = client.post(f"/tickets/{ticket.pk}/properties/",
                           _properties(ticket, team=team.pk, assignee=outsider.pk))
    assert response.status_code == 422
    assert "is not a member of Logistics" in response.content.decode()

    response = client.post(f"/tickets/{ticket.pk}/properties/", _properties(ticket, status="999999"), headers=HTMX)
    assert response.status_code == 422

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.team, ticket.assignee, ticket.custom_fields) == ("normal", None, None, {})
    assert not AuditEvent.objects.filter(target_id=ticket.pk, action="ticket.updated").exists()


def test_solving_requires_the_required_fields(agent_user, open_ticket):
    CustomField.objects.create(key="reason", label="Contact reason", field_type="text", required_on_solve=True)
    ticket = open_ticket()
    response = _client(agent_user).post(f"/tickets/{ticket.pk}/solve/", headers=HTMX)
    assert response.status_code == 422 and "Contact reason is required to solve" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status_category == StatusCategory.NEW


def test_assign_to_me_and_solve_buttons(agent_user, open_ticket):
    ticket = open_ticket()
    client = _client(agent_user)
    assert client.post(f"/tickets/{ticket.pk}/assign-to-me/", headers=HTMX).status_code == 200
    assert client.post(f"/tickets/{ticket.pk}/solve/").status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent_user and ticket.status_category == StatusCategory.SOLVED


def test_analyst_sees_tickets_but_cannot_change_them(analyst_user, open_ticket):
    ticket = open_ticket()
    client = _client(analyst_user)
    page = client.get(f"/tickets/{ticket.pk}/")
    assert page.status_code == 200
    assert 'id="composer-form"' not in page.content.decode() and "can read tickets but not change" in \
        page.content.decode()
    assert client.get("/tickets/").status_code == 200
    assert client.post(f"/tickets/{ticket.pk}/reply/", {"body": "Hi", "visibility": "public"}).status_code == 403
    assert client.post(f"/tickets/{ticket.pk}/properties/", _properties(ticket, priority="urgent")).status_code == 403
    assert client.post(f"/tickets/{ticket.pk}/solve/").status_code == 403
    assert client.get(f"/tickets/{ticket.pk}/merge/").status_code == 403
    ticket.refresh_from_db()
    assert ticket.priority == "normal" and ticket.messages.count() == 1


def test_restricted_team_tickets_are_not_found_for_outsiders(agent_user, restricted):
    ticket = restricted["ticket"]
    client = _client(agent_user)
    for url in (f"/tickets/{ticket.pk}/", f"/tickets/{ticket.pk}/conversation/", f"/tickets/{ticket.pk}/audit/",
                f"/tickets/{ticket.pk}/properties/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/tickets/{ticket.pk}/reply/", {"body": "Hi", "visibility": "public"}).status_code == 404
    assert _row(ticket) not in client.get("/tickets/?queue=all").content.decode()
    assert _client(restricted["member"]).get(f"/tickets/{ticket.pk}/").status_code == 200


# --- canned replies --------------------------------------------------------------------------------------

def test_canned_reply_placeholders_are_filled_for_the_ticket(agent_user, open_ticket):
    ticket = open_ticket(subject="Card declined")
    reply = canned_reply_create(actor=agent_user, title="Greeting", body=(
        "Hi {{customer.first_name}} ({{ customer.name }}), about #{{ticket.id}} “{{ticket.subject}}”. "
        "— {{agent.first_name}}"))
    client = _client(agent_user)

    text = client.get(f"/tickets/{ticket.pk}/canned/{reply.pk}/")
    assert text["Content-Type"].startswith("text/plain")
    assert text.content.decode() == (f"Hi Rita (Rita Requester), about #{ticket.pk} “Card declined”. — Alex")

    page = client.get(f"/tickets/{ticket.pk}/?canned={reply.pk}").content.decode()  # the no-JavaScript path
    assert f"Hi Rita (Rita Requester), about #{ticket.pk}" in page


def test_placeholders_never_reach_the_template_engine():
    values = {"customer.name": "{{ticket.id}} {% debug %}", "ticket.id": "7"}
    assert placeholders_render("{{customer.name}} / {{ticket.id}} / {{settings.SECRET_KEY}} / {% now 'Y' %}",
                               values) == "{{ticket.id}} {% debug %} / 7 / {{settings.SECRET_KEY}} / {% now 'Y' %}"


def test_canned_replies_page_creates_and_rejects_unknown_placeholders(agent_user, make_user):
    client = _client(agent_user)
    ok = client.post("/tickets/canned-replies/", {"title": "Thanks", "body": "Thanks {{customer.first_name}}!",
                                                  "is_shared": "on"})
    assert ok.status_code == 302 and CannedReply.objects.get(title="Thanks").is_shared
    bad = client.post("/tickets/canned-replies/", {"title": "Leak", "body": "{{settings.SECRET_KEY}}"})
    assert bad.status_code == 422 and "unknown {{settings.SECRET_KEY}}" in bad.content.decode()
    private = client.post("/tickets/canned-replies/", {"title": "Mine only", "body": "Hello"})
    assert private.status_code == 302
    other_page = _client(make_user(Role.AGENT, "other")).get("/tickets/canned-replies/").content.decode()
    assert "Thanks" in other_page and "Mine only" not in other_page


# --- merge and split -------------------------------------------------------------------------------------

def test_merge_through_the_page(agent_user, open_ticket):
    source = open_ticket(subject="Duplicate about the blender")
    target = open_ticket(subject="Blender broken")
    client = _client(agent_user)
    candidates = client.get(f"/tickets/{source.pk}/merge/", {"q": "blender"}, headers=HTMX).content.decode()
    assert f"?target={target.pk}" in candidates and f"?target={source.pk}" not in candidates
    confirm = client.get(f"/tickets/{source.pk}/merge/", {"target": target.pk})
    assert confirm.status_code == 200 and f"Merge into #{target.pk}" in confirm.content.decode()
    response = client.post(f"/tickets/{source.pk}/merge/", {"target_id": target.pk})
    assert response.status_code == 302 and response["Location"] == f"/tickets/{target.pk}/"
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    assert client.post(f"/tickets/{target.pk}/merge/", {"target_id": target.pk}).status_code == 422


def test_split_a_customer_message_through_the_page(agent_user, open_ticket, requester):
    from cx.tickets.services import ticket_customer_reply

    ticket = open_ticket()
    second = ticket_customer_reply(ticket=ticket, customer=requester, body="Also: my address changed",
                                   channel="email")
    client = _client(agent_user)
    assert f"/tickets/{ticket.pk}/messages/{second.pk}/split/" in client.get(f"/tickets/{ticket.pk}/").content.decode()
    response = client.post(f"/tickets/{ticket.pk}/messages/{second.pk}/split/")
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.ticket_id != ticket.pk and response["Location"] == f"/tickets/{second.ticket_id}/"
    first = ticket.messages.filter(author_type="customer").first()
    # The first message is the only customer message left: splitting it is refused with a reason.
    other = client.post(f"/tickets/{second.ticket_id}/messages/{first.pk}/split/")
    assert other.status_code == 404  # not a message of that ticket
