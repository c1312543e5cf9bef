"""The ticket table's rows written by ``{% ticket_rows %}`` are exactly what the former template loop wrote:
escaping, tags, empty assignee/team, priority labels and times in the agent's time zone."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.test import Client
from django.utils import timezone

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.customers.services import customer_create
from cx.tickets.models import Ticket
from cx.tickets.selectors import ticket_page, ticket_row_page, visible_tickets
from cx.tickets.services import ticket_open_by_customer, ticket_update

# The row loop as tickets/partials/ticket_rows.html had it before the rows moved to the template tag.
TEMPLATE_LOOP = (Path(__file__).parent / "former_ticket_rows.html").read_text()


def _normalised(html: str) -> str:
    return re.sub(r"\s+", " ", html).replace("> <", "><").strip()


def _tickets(make_user):
    agent = make_user(Role.AGENT, "o'brien")
    agent.first_name, agent.last_name = "Åsa <b>", "O'Brien & Co"
    agent.save()
    team = team_create(actor=None, name="Billing & <Payments>")
    team_add_member(actor=None, team=team, user=agent)
    odd = customer_create(actor=None, display_name='"Quoted" <customer> & sons',
                          identities=[{"kind": "email", "value": "odd@example.com"}])
    plain = customer_create(actor=None, display_name="", first_name="Pia", last_name="Plain",
                            identities=[{"kind": "email", "value": "pia@example.com"}])
    first = ticket_open_by_customer(requester=odd, subject="<script>alert('x')</script> & more", body="Hi",
                                    channel="email").ticket
    ticket_update(actor=agent, ticket=first, changes={"assignee_id": agent.pk, "team_id": team.pk,
                                                      "priority": "urgent", "tags": ["vip", "b&w", "<x>"]})
    ticket_open_by_customer(requester=plain, subject="Plain one", body="Hello", channel="chat")
    nameless = customer_create(actor=None, display_name="", identities=[{"kind": "email", "value": "n@example.com"}])
    ticket_open_by_customer(requester=nameless, subject="Who am I", body="Hello", channel="web")
    return agent


def test_rows_match_the_former_template_loop(make_user):
    agent = _tickets(make_user)
    for zone in ("UTC", "Pacific/Chatham", "America/St_Johns"):
        with timezone.override(ZoneInfo(zone)):
            rows = ticket_row_page(actor=agent, qs=visible_tickets(actor=agent)).items
            full = ticket_page(actor=agent, qs=visible_tickets(actor=agent)).items
            for can_write, selectable in ((True, True), (True, False), (False, True)):
                context = {"rows": rows, "can_write": can_write, "selectable": selectable}
                expected = Template(TEMPLATE_LOOP).render(Context({**context, "rows": full}))
                actual = Template("{% load ticket_rows %}{% ticket_rows rows %}").render(Context(context))
                assert _normalised(actual) == _normalised(expected)
                assert "<script>" not in actual and "&lt;script&gt;" in actual


def test_inbox_rows_escape_and_show_every_column(make_user):
    agent = _tickets(make_user)
    agent.time_zone = "Asia/Kolkata"
    agent.save()
    client = Client()
    client.force_login(agent)
    html = client.get("/tickets/?queue=all").content.decode()
    assert html.count("data-ticket-row") == 3
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert '<span class="badge tag">b&amp;w</span>' in html and '<span class="badge tag">&lt;x&gt;</span>' in html
    assert "&quot;Quoted&quot; &lt;customer&gt; &amp; sons" in html and "<td>Pia Plain</td>" in html
    assert "Åsa &lt;b&gt; O&#x27;Brien &amp; Co" in html and "Billing &amp; &lt;Payments&gt;" in html
    assert '<span class="priority priority-urgent">Urgent</span>' in html
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+\+05:30">\d{4}-\d\d-\d\d \d\d:\d\d</time>', html)
    assert 'name="ticket_ids"' in html  # agents can select rows for bulk actions


def test_rows_partial_and_search_cost_the_same_queries_for_3_or_33_rows(agent_user, open_ticket):
    """The live refresh and Load more partials and the search page: two queries for the rows (columns and
    tags) whatever the number of rows, tags, assignees and restricted teams."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    restricted = team_create(actor=None, name="HR", is_restricted=True)
    hidden = open_ticket(subject="Confidential")
    Ticket.objects.filter(pk=hidden.pk).update(team=restricted)
    for n in range(3):
        ticket_update(actor=agent_user, ticket=open_ticket(subject=f"Refund {n}"),
                      changes={"assignee_id": agent_user.pk, "tags": ["a", f"t{n}"]})
    client = Client()
    client.force_login(agent_user)
    rows_url, htmx = "/tickets/?queue=all", {"HX-Request": "true", "HX-Target": "ticket-rows"}
    client.get(rows_url, headers=htmx)  # warm up sessions and caches
    with CaptureQueriesContext(connection) as few_rows:
        few_html = client.get(rows_url, headers=htmx).content.decode()
    with CaptureQueriesContext(connection) as few_search:
        client.get("/tickets/search/?q=refund")
    for n in range(30):
        ticket_update(actor=agent_user, ticket=open_ticket(subject=f"Refund later {n}"),
                      changes={"assignee_id": agent_user.pk, "tags": [f"x{n}", f"y{n}"]})
    with CaptureQueriesContext(connection) as many_rows:
        many_html = client.get(rows_url, headers=htmx).content.decode()
    with CaptureQueriesContext(connection) as many_search:
        search_html = client.get("/tickets/search/?q=refund").content.decode()
    assert few_html.count("data-ticket-row") == 3 and many_html.count("data-ticket-row") == 33
    assert "Confidential" not in many_html and search_html.count("data-ticket-row") == 33
    assert len(many_rows) == len(few_rows), [q["sql"] for q in many_rows.captured_queries]
    assert len(many_search) == len(few_search)
