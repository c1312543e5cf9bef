"""Automation pages through the Django test client: the macro menu partial and applying a macro with htmx,
the trigger editor with inline validation errors, and who may see what."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cx.accounts.models import Role
from cx.automation.models import Macro, TimeRule, Trigger
from cx.automation.services import macro_create
from cx.tickets.models import CustomField, Message, Ticket

HTMX = {"HX-Request": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pending_macro(agent_user):
    return macro_create(actor=agent_user, values={"name": "Waiting for customer", "description": "Ask and wait",
                                                  "actions": [{"type": "add_tags", "tags": ["waiting"]},
                                                              {"type": "set_status", "category": "pending"}]})


def test_the_macro_menu_lists_the_agents_macros(agent_user, pending_macro, open_ticket, make_user):
    someone_elses = macro_create(actor=make_user(Role.AGENT, "bo"), values={
        "name": "Bo's secret macro", "actions": [{"type": "add_tags", "tags": ["bo"]}]})
    ticket = open_ticket()

    response = client_for(agent_user).get(reverse("automation:macro_menu", args=[ticket.pk]), headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Waiting for customer" in html and "Ask and wait" in html
    assert someone_elses.name not in html
    assert reverse("automation:macro_apply", args=[ticket.pk, pending_macro.pk]) in html


def test_applying_a_macro_with_htmx_refreshes_the_ticket_page(agent_user, pending_macro, open_ticket):
    ticket = open_ticket()

    response = client_for(agent_user).post(reverse("automation:macro_apply", args=[ticket.pk, pending_macro.pk]),
                                           headers=HTMX)

    assert response.status_code == 204 and response["HX-Refresh"] == "true"
    ticket.refresh_from_db()
    assert ticket.status_category == "pending"
    assert list(ticket.tags.values_list("name", flat=True)) == ["waiting"]


def test_applying_a_macro_without_htmx_redirects_back(agent_user, pending_macro, open_ticket):
    ticket = open_ticket()
    response = client_for(agent_user).post(reverse("automation:macro_apply", args=[ticket.pk, pending_macro.pk]),
                                           headers={"Referer": "http://testserver/somewhere/"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).status_category == "pending"


def test_a_refused_macro_shows_the_reason_in_the_menu_and_changes_nothing(agent_user, open_ticket):
    CustomField.objects.create(key="root_cause", label="Root cause", field_type="text", required_on_solve=True)
    solve = macro_create(actor=agent_user, values={"name": "Solve", "actions": [
        {"type": "add_internal_note", "body": "Solved by macro."}, {"type": "set_status", "category": "solved"}]})
    ticket = open_ticket()

    response = client_for(agent_user).post(reverse("automation:macro_apply", args=[ticket.pk, solve.pk]),
                                           headers=HTMX)

    assert response.status_code == 422
    assert "Root cause is required to solve" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status_category == "new"
    assert not Message.objects.filter(ticket=ticket, body_text="Solved by macro.").exists()


def test_analysts_see_a_read_only_menu_and_cannot_apply(analyst_user, admin_user, open_ticket):
    shared = macro_create(actor=admin_user, shared=True, values={"name": "Tag it", "actions": [
        {"type": "add_tags", "tags": ["x"]}]})
    ticket = open_ticket()
    client = client_for(analyst_user)

    menu = client.get(reverse("automation:macro_menu", args=[ticket.pk]), headers=HTMX)
    assert menu.status_code == 200
    assert "can read tickets but not change them" in menu.content.decode()
    assert "Tag it" not in menu.content.decode()

    response = client.post(reverse("automation:macro_apply", args=[ticket.pk, shared.pk]), headers=HTMX)
    assert response.status_code == 403
    assert not Ticket.objects.get(pk=ticket.pk).tags.exists()


def test_the_menu_of_an_unknown_ticket_is_a_404(agent_user):
    response = client_for(agent_user).get(reverse("automation:macro_menu", args=[999999]), headers=HTMX)
    assert response.status_code == 404


# --- Trigger editor ---------------------------------------------------------------------------------------

def _trigger_form(**overrides) -> dict[str, str]:
    data = {
        "name": "VIP tag", "description": "", "position": "", "is_active": "on",
        "conditions": json.dumps({"all": [{"field": "requester.email", "op": "matches", "value": "@vip\\."}]}),
        "actions": json.dumps([{"type": "add_tags", "tags": ["vip"]}]),
    }
    data.update(overrides)
    return data


def test_the_trigger_editor_shows_condition_errors_inline_and_saves_nothing(admin_user):
    client = client_for(admin_user)
    bad = json.dumps({"all": [{"field": "requester.email", "op": "looks_like", "value": "vip"}]})

    response = client.post(reverse("automation:trigger_create"), _trigger_form(conditions=bad))

    assert response.status_code == 422
    html = response.content.decode()
    assert "conditions.all[0].op: unknown operator &#x27;looks_like&#x27;" in html
    assert "looks_like" in html  # the admin's text is kept for fixing
    assert not Trigger.objects.exists()


def test_the_trigger_editor_reports_broken_json(admin_user):
    response = client_for(admin_user).post(reverse("automation:trigger_create"),
                                           _trigger_form(actions='[{"type": "add_tags",'))
    assert response.status_code == 422
    assert "Not valid JSON" in response.content.decode()
    assert not Trigger.objects.exists()


def test_admins_create_and_edit_triggers_in_the_editor(admin_user):
    client = client_for(admin_user)
    assert client.get(reverse("automation:trigger_create")).status_code == 200

    response = client.post(reverse("automation:trigger_create"), _trigger_form())
    assert response.status_code == 302
    trigger = Trigger.objects.get()
    assert trigger.actions == [{"type": "add_tags", "tags": ["vip"]}]

    listing = client.get(reverse("automation:triggers")).content.decode()
    assert "VIP tag" in listing
    edit_page = client.get(reverse("automation:trigger_edit", args=[trigger.pk])).content.decode()
    assert "requester.email" in edit_page

    client.post(reverse("automation:trigger_edit", args=[trigger.pk]), _trigger_form(name="VIP customers"))
    trigger.refresh_from_db()
    assert trigger.name == "VIP customers"
    assert client.post(reverse("automation:trigger_delete", args=[trigger.pk])).status_code == 302
    assert not Trigger.objects.exists()


def test_time_rules_page_and_editor(admin_user):
    client = client_for(admin_user)
    listing = client.get(reverse("automation:time_rules")).content.decode()
    assert "Close solved tickets after 4 days" in listing
    rule = TimeRule.objects.get(name="Close solved tickets after 4 days")
    response = client.post(reverse("automation:time_rule_edit", args=[rule.pk]), {
        "name": rule.name, "description": rule.description, "position": "10", "is_active": "on",
        "conditions": json.dumps({"all": [{"field": "status_category", "op": "is", "value": "solved"}]}),
        "actions": json.dumps(rule.actions)})
    assert response.status_code == 422
    assert "needs an hours condition" in response.content.decode()
    assert TimeRule.objects.get(pk=rule.pk).conditions["all"][1]["field"] == "hours_since_solved"


def test_agents_cannot_open_the_trigger_pages(agent_user):
    client = client_for(agent_user)
    assert client.get(reverse("automation:triggers")).status_code == 403
    assert client.post(reverse("automation:trigger_create"), _trigger_form()).status_code == 403
    assert client.get(reverse("automation:time_rules")).status_code == 403
    assert not Trigger.objects.exists()


def test_agents_create_personal_macros_in_the_editor(agent_user, admin_user):
    client = client_for(agent_user)
    page = client.get(reverse("automation:macro_create")).content.decode()
    assert "Shared with other agents" not in page  # only admins share

    response = client.post(reverse("automation:macro_create"), {
        "name": "Thanks", "description": "", "is_active": "on",
        "actions": json.dumps([{"type": "send_reply", "body": "Thanks {{customer.first_name}}!"}])})
    assert response.status_code == 302
    macro = Macro.objects.get()
    assert macro.owner == agent_user
    assert "Thanks" in client.get(reverse("automation:macros")).content.decode()
    assert "Thanks" not in client_for(admin_user).get(reverse("automation:macros")).content.decode()


def test_the_macro_editor_rejects_unknown_placeholders(agent_user):
    response = client_for(agent_user).post(reverse("automation:macro_create"), {
        "name": "Oops", "is_active": "on", "actions": json.dumps([{"type": "send_reply", "body": "Hi {{name}}"}])})
    assert response.status_code == 422
    assert "actions[0].body: unknown placeholder {{name}}" in response.content.decode()
    assert not Macro.objects.exists()


def test_the_navigation_links_to_automations(agent_user):
    page = client_for(agent_user).get(reverse("automation:macros")).content.decode()
    assert 'href="/automation/"' in page
    assert reverse("automation:triggers") not in page  # agents do not see the admin tabs


def test_editing_someone_elses_macro_is_refused(agent_user, make_user, admin_user):
    mine = macro_create(actor=agent_user, values={"name": "Mine", "actions": [{"type": "add_tags", "tags": ["a"]}]})
    shared = macro_create(actor=admin_user, shared=True, values={
        "name": "Shared", "actions": [{"type": "add_tags", "tags": ["b"]}]})
    other = client_for(make_user(Role.AGENT, "bo"))
    assert other.get(reverse("automation:macro_edit", args=[mine.pk])).status_code == 404
    assert other.get(reverse("automation:macro_edit", args=[shared.pk])).status_code == 403
    assert other.post(reverse("automation:macro_delete", args=[shared.pk])).status_code == 403
    assert Macro.objects.count() == 2


def test_the_trigger_page_shows_recent_activity(admin_user, open_ticket):
    client = client_for(admin_user)
    client.post(reverse("automation:trigger_create"), _trigger_form(
        conditions=json.dumps({"all": [{"field": "event", "op": "is", "value": "created"}]})))
    trigger = Trigger.objects.get()
    ticket = open_ticket()

    page = client.get(reverse("automation:trigger_edit", args=[trigger.pk])).content.decode()

    assert f"#{ticket.pk}" in page and "Acted" in page
    listing = client.get(reverse("automation:triggers")).content.decode()
    assert "<td>1</td>" in listing  # acted once


def test_nul_characters_in_rules_are_refused(admin_user):
    response = client_for(admin_user).post(reverse("automation:trigger_create"), _trigger_form(
        actions='[{"type": "add_internal_note", "body": "a\\u0000b"}]'))
    assert response.status_code == 422
    assert "actions[0].body: contains a NUL character" in response.content.decode()
    assert not Trigger.objects.exists()


def test_pages_need_the_same_queries_for_many_macros_as_for_one(agent_user, admin_user, open_ticket):
    ticket = open_ticket()
    client = client_for(agent_user)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, headers=HTMX).status_code == 200
        return len(ctx.captured_queries)

    macro_create(actor=agent_user, values={"name": "M0", "actions": [{"type": "add_tags", "tags": ["a"]}]})
    menu_one, list_one = count(reverse("automation:macro_menu", args=[ticket.pk])), count(reverse("automation:macros"))
    for n in range(1, 8):
        macro_create(actor=admin_user, shared=True, values={"name": f"M{n}", "actions": [
            {"type": "add_tags", "tags": ["a"]}]})
    assert count(reverse("automation:macro_menu", args=[ticket.pk])) == menu_one
    assert count(reverse("automation:macros")) == list_one
