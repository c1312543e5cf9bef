"""In-app surveys through the chat widget: the placement API (admins), the widget's public endpoints (which
surveys a visitor may see, showing one, answering and dismissing it), and eligibility: recurrence, sampling,
and the delivery policy shared with every channel (cooldown across all surveys, monthly cap, quiet hours)."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cx.chat.identity import identity_signature
from cx.chat.models import ChatVisitor
from cx.chat.services import chat_inbox_create
from cx.journeys.models import Touchpoint
from cx.surveys import in_app, services
from cx.surveys.models import InAppPlacement, Invitation, InvitationStatus, Response

ORIGIN = "https://shop.example.com"
PRICING = "https://shop.example.com/pricing"


@pytest.fixture
def admin_api(api_client, token_for, survey_admin):
    return api_client(token_for(survey_admin, "admin"))


@pytest.fixture
def site(survey_admin):
    created = chat_inbox_create(actor=survey_admin, values={"name": "Shop", "allowed_origins": [ORIGIN]})
    return created


@pytest.fixture
def inbox(site):
    return site.inbox


@pytest.fixture
def nps(make_survey, no_quiet_hours):
    return make_survey("nps", brand_name="Acme")


@pytest.fixture
def place(survey_admin, inbox):
    def _place(survey, **values):
        values.setdefault("inbox_id", inbox.pk)
        values.setdefault("page_rules", [{"action": "include", "match": "exact", "value": "/pricing"}])
        return in_app.in_app_placement_save(actor=survey_admin, survey=survey, values=values)

    return _place


class Browser:
    """A visitor's browser with the widget: a session (visitor token), then the in-app endpoints."""

    def __init__(self, inbox, identity: dict | None = None):
        self.inbox = inbox
        self.client = Client()
        data = {"page_url": PRICING}
        if identity:
            data["identity"] = identity
        session = self._post(f"/chat/widget/{inbox.widget_key}/session", data)
        assert session.status_code == 200, session.content
        self.token = session.json()["visitor_token"]

    def _post(self, path, data, origin=ORIGIN):
        return self.client.post(path, data=json.dumps(data), content_type="application/json",
                                headers={"Origin": origin})

    def eligible(self, **extra):
        response = self._post(f"/api/v1/public/in-app/{self.inbox.widget_key}/surveys",
                              {"visitor_token": self.token, **extra})
        assert response.status_code == 200, response.content
        return response.json()["surveys"]

    def show(self, placement, url=PRICING, event=None, **extra):
        return self._post(f"/api/v1/public/in-app/{self.inbox.widget_key}/surveys/{placement.pk}/show",
                          {"visitor_token": self.token, "url": url, "event": event, **extra})

    def answer(self, path, answers, complete=True):
        return self._post(f"{path}/answers", {"answers": answers, "complete": complete})

    def dismiss(self, path):
        return self._post(f"{path}/dismiss", {})

    @property
    def visitor(self):
        return ChatVisitor.objects.get(inbox=self.inbox, public_id__isnull=False, pk=self._visitor_id())

    def _visitor_id(self):
        from cx.chat.identity import visitor_token_claims

        return visitor_token_claims(self.token)[2]


# --- the placement API ------------------------------------------------------------------------------------

def test_admins_place_a_survey_in_app_through_the_api(admin_api, nps, inbox):
    body = {"inbox_id": inbox.pk, "page_rules": [{"action": "include", "match": "wildcard", "value": "/account/*"},
                                                  {"action": "exclude", "match": "exact", "value": "/account/delete"}],
            "event_rules": [{"event": "checkout_completed",
                             "filters": [{"property": "total", "operator": "greater_than", "value": "50"}]}],
            "delay_seconds": 5, "scroll_percent": 40, "position": "bottom_left", "recurrence": "recurring",
            "recurrence_days": 30, "sampling_percent": 25}
    created = admin_api.put(f"/api/v1/surveys/{nps.pk}/in-app", body)
    assert created.status_code == 200, created.content
    placement = created.json()
    assert placement["inbox"] == "Shop" and placement["is_enabled"] is True
    assert placement["event_rules"][0]["filters"][0]["value"] == 50.0  # numeric comparisons store a number
    assert admin_api.get(f"/api/v1/surveys/{nps.pk}/in-app").json()["sampling_percent"] == 25
    changed = admin_api.put(f"/api/v1/surveys/{nps.pk}/in-app", {"is_enabled": False})
    assert changed.json()["is_enabled"] is False and changed.json()["delay_seconds"] == 5  # the rest is kept
    assert admin_api.delete(f"/api/v1/surveys/{nps.pk}/in-app").status_code == 204
    assert admin_api.get(f"/api/v1/surveys/{nps.pk}/in-app").status_code == 404
    assert admin_api.delete(f"/api/v1/surveys/{nps.pk}/in-app").status_code == 404


@pytest.mark.parametrize(("values", "fields"), [
    ({"page_rules": [{"action": "include", "match": "regex", "value": "^/x$"}]},
     {"page_rules[0].match": "one of exact, contains, wildcard"}),
    ({"page_rules": [], "event_rules": []},
     {"page_rules": "add a page rule (a wildcard * is every page) or an event rule"}),
    ({"event_rules": [{"event": "paid", "filters": [{"property": "total", "operator": "greater_than",
                                                     "value": "a lot"}]}]},
     {"event_rules[0].filters[0].value": "a number"}),
    ({"inbox_id": 999_999}, {"inbox_id": "the id of a chat inbox (its widget shows the survey)"}),
    ({"sampling_percent": 0}, {"sampling_percent": "a whole number 1 to 100"}),
    ({"delay_seconds": -1, "position": "top"},
     {"delay_seconds": "a whole number 0 to 3600", "position": "one of bottom_right, bottom_left, center"}),
    ({"recurrence": "daily"}, {"recurrence": "one of once, recurring"}),
    ({"colour": "red"}, {"colour": "unknown field"}),
])
def test_an_invalid_placement_is_a_400_naming_the_field_and_changes_nothing(admin_api, nps, inbox, values, fields):
    body = {"inbox_id": inbox.pk, "page_rules": [{"action": "include", "match": "exact", "value": "/pricing"}],
            **values}
    response = admin_api.put(f"/api/v1/surveys/{nps.pk}/in-app", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_targeting" and error["fields"] == fields
    assert not InAppPlacement.objects.exists()


def test_agents_without_admin_rights_cannot_place_surveys(api_client, token_for, agent_user, nps, inbox):
    agent = api_client(token_for(agent_user, "write"))
    response = agent.put(f"/api/v1/surveys/{nps.pk}/in-app", {"inbox_id": inbox.pk, "page_rules": []})
    assert response.status_code == 403


# --- the widget's public endpoints ------------------------------------------------------------------------

def test_unknown_inbox_key_is_404_and_a_bad_visitor_token_or_origin_403(inbox, nps, place):
    place(nps)
    client = Client()
    unknown = client.post("/api/v1/public/in-app/nope/surveys", data="{}", content_type="application/json")
    assert unknown.status_code == 404 and unknown.json()["error"]["fields"] == {"inbox": "unknown or disabled "
                                                                                          "widget key"}
    forged = client.post(f"/api/v1/public/in-app/{inbox.widget_key}/surveys", data=json.dumps(
        {"visitor_token": "x"}), content_type="application/json")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "invalid_visitor_token"
    browser = Browser(inbox)
    other_site = browser._post(f"/api/v1/public/in-app/{inbox.widget_key}/surveys",
                               {"visitor_token": browser.token}, origin="https://evil.example")
    assert other_site.status_code == 403 and other_site.json()["error"]["code"] == "origin_not_allowed"
    preflight = client.options(f"/api/v1/public/in-app/{inbox.widget_key}/surveys", headers={"Origin": ORIGIN})
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"


def test_showing_answering_and_the_score_counts_like_any_channel(inbox, nps, place, admin_api):
    placement = place(nps, position="center", delay_seconds=3)
    browser = Browser(inbox)
    listed = browser.eligible(time_zone="Europe/Berlin")
    assert listed == [{"id": placement.pk, "survey_id": nps.pk, "name": nps.name,
                       "page_rules": [{"action": "include", "match": "exact", "value": "/pricing"}],
                       "event_rules": [], "delay_seconds": 3, "scroll_percent": 0, "position": "center",
                       "brand_color": nps.brand_color}]
    elsewhere = browser.show(placement, url="https://shop.example.com/blog")
    assert elsewhere.json() == {"show": False, "reason": "this page is not targeted"}
    assert not Invitation.objects.exists()

    shown = browser.show(placement)
    assert shown.status_code == 200 and shown.json()["show"] is True
    data = shown.json()
    invitation = Invitation.objects.get()
    assert invitation.channel == "in_app" and invitation.source == "in_app"
    assert invitation.status == InvitationStatus.OPENED and invitation.customer.identities.get().kind == "anonymous"
    assert browser.visitor.customer_id == invitation.customer_id
    assert data["survey"]["survey"]["questions"][0]["scale"] == list(range(11))
    kinds = set(Touchpoint.objects.filter(customer=invitation.customer).values_list("kind", "channel"))
    assert {("survey.sent", "in-app"), ("survey.opened", "in-app")} <= kinds

    again = browser.show(placement)  # the next page (or a reload) shows the same invitation
    assert services.invitation_from_token(again.json()["token"]).pk == invitation.pk
    assert Invitation.objects.count() == 1

    headline = data["survey"]["survey"]["questions"][0]["id"]
    out_of_range = browser.answer(data["path"], [{"question_id": headline, "score": 11}], complete=False)
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"]["fields"] == {"answers[0].score": "a whole number 0 to 10"}
    scored = browser.answer(data["path"], [{"question_id": headline, "score": 9}], complete=False)
    assert scored.status_code == 201 and not scored.json()["complete"]
    last = scored.json()["remaining_question_ids"]
    done = browser.answer(data["path"], [{"question_id": last[0], "text": "Great pricing page"}])
    assert done.json()["complete"] is True
    assert browser.answer(data["path"], [{"question_id": headline, "score": 3}]).status_code == 409
    assert Response.objects.get().nps_score == 9

    report = admin_api.get(f"/api/v1/surveys/{nps.pk}/report").json()
    assert report["overall"]["n"] == 1 and report["overall"]["score"] == 100.0
    assert report["breakdowns"]["survey_channel"]["rows"][0]["key"] == "in_app"
    assert report["breakdowns"]["source"]["rows"][0]["key"] == "in_app"
    assert browser.eligible() == []  # answered: never shown again ("once")
    assert browser.show(placement).json() == {"show": False, "reason": "already shown to this visitor"}
    assert Touchpoint.objects.filter(customer=invitation.customer, kind="survey.answered",
                                     channel="in-app").exists()


def test_dismiss_is_a_skip_and_the_survey_is_not_shown_again(inbox, nps, place, admin_api):
    placement = place(nps)
    browser = Browser(inbox)
    data = browser.show(placement).json()
    dismissed = browser.dismiss(data["path"])
    assert dismissed.status_code == 201 and dismissed.json()["complete"] is True
    response = Response.objects.get()
    assert response.nps_score is None and response.completed_at is not None
    skip = Touchpoint.objects.get(customer=response.customer, kind="survey.skipped")
    assert skip.channel == "in-app" and skip.properties["dismissed"] is True
    assert Invitation.objects.get().status_reason == "dismissed by the customer"
    assert browser.dismiss(data["path"]).status_code == 409  # the token is spent
    report = admin_api.get(f"/api/v1/surveys/{nps.pk}/report").json()
    assert report["overall"]["n"] == 0 and report["skipped"] == 1  # never in a denominator
    assert browser.eligible() == []
    assert browser.show(placement).json()["show"] is False


def test_an_event_targeted_survey_shows_only_after_a_matching_tracked_event(inbox, nps, place):
    placement = place(nps, page_rules=[], event_rules=[{"event": "checkout_completed", "filters": [
        {"property": "plan", "operator": "equals", "value": "pro"}]}])
    browser = Browser(inbox)
    assert browser.eligible()[0]["event_rules"][0]["event"] == "checkout_completed"
    assert browser.show(placement).json() == {"show": False,
                                              "reason": "shown after a tracked event this page has not sent"}
    wrong = browser.show(placement, event={"name": "checkout_completed", "properties": {"plan": "free"}})
    assert wrong.json()["show"] is False
    shown = browser.show(placement, url="https://shop.example.com/thanks",
                         event={"name": "checkout_completed", "properties": {"plan": "pro"}})
    assert shown.json()["show"] is True
    assert Invitation.objects.get().touchpoint_kind == "checkout_completed"
    malformed = browser.show(placement, event={"name": 7})
    assert malformed.status_code == 422 and malformed.json()["error"]["fields"] == {
        "event.name": "the tracked event's name"}
    no_url = browser.show(placement, url="javascript:alert(1)")
    assert no_url.status_code == 422 and "url" in no_url.json()["error"]["fields"]


def test_an_identified_visitor_is_surveyed_as_their_customer(site, nps, place, customer):
    placement = place(nps)
    signature = identity_signature(secret=site.identity_secret, email="rita@example.com")
    browser = Browser(site.inbox, identity={"email": "rita@example.com", "signature": signature})
    assert browser.show(placement).json()["show"] is True
    assert Invitation.objects.get().customer_id == customer.pk


def test_the_cooldown_across_all_surveys_and_the_monthly_cap_apply(inbox, nps, place, make_survey, customer, site):
    placement = place(nps)
    signature = identity_signature(secret=site.identity_secret, email="rita@example.com")
    browser = Browser(inbox, identity={"email": "rita@example.com", "signature": signature})
    csat = make_survey("csat")
    earlier = services.survey_invitation_create(survey=csat, customer=customer, channel="chat")
    assert earlier.status == InvitationStatus.SENT
    assert browser.eligible() == []
    assert browser.show(placement).json() == {"show": False, "reason": "asked within the last 7 days"}
    Invitation.objects.filter(pk=earlier.pk).update(sent_at=timezone.now() - timedelta(days=8))
    assert [s["id"] for s in browser.eligible()] == [placement.pk]
    policy = services.policy_get()
    policy.monthly_cap = 1
    policy.save()
    now = timezone.now()
    if (now - timedelta(days=8)).month == now.month:
        assert browser.show(placement).json() == {"show": False, "reason": "monthly cap of 1 reached"}
    else:
        assert browser.show(placement).json()["show"] is True


def test_quiet_hours_use_the_visitors_time_zone(inbox, nps, place):
    placement = place(nps)
    policy = services.policy_get()
    now_utc = timezone.now().astimezone(timezone.get_fixed_timezone(0)).time()
    # Quiet from one hour ago to one hour ahead in UTC: a visitor in UTC is in quiet hours now.
    policy.quiet_start = time((now_utc.hour - 1) % 24, 0)
    policy.quiet_end = time((now_utc.hour + 1) % 24, 59)
    policy.default_time_zone = "UTC"
    policy.save()
    browser = Browser(inbox)
    assert browser.eligible(time_zone="UTC") == []
    assert browser.show(placement, time_zone="UTC").json() == {"show": False, "reason": "quiet hours"}
    # Twelve hours away it is the middle of their day.
    far = "Etc/GMT+12" if now_utc.hour >= 12 else "Etc/GMT-12"
    assert browser.show(placement, time_zone=far).json()["show"] is True


def test_sampling_is_sticky_per_visitor_and_close_to_the_percentage(nps, place):
    placement = place(nps, sampling_percent=30)
    now = timezone.now()
    chosen = [in_app.sampled_in(placement=placement, subject=f"visitor:{n}", now=now) for n in range(2000)]
    assert 0.26 < sum(chosen) / len(chosen) < 0.34
    assert chosen == [in_app.sampled_in(placement=placement, subject=f"visitor:{n}", now=now) for n in range(2000)]


def test_a_visitor_left_out_of_the_sample_is_never_shown_it(inbox, nps, place, monkeypatch):
    placement = place(nps, sampling_percent=50)
    monkeypatch.setattr(in_app, "sampled_in", lambda **kwargs: False)
    browser = Browser(inbox)
    assert browser.eligible() == []
    assert browser.show(placement).json() == {"show": False, "reason": "not in the 50% sample"}
    assert not Invitation.objects.exists()


def test_a_recurring_placement_asks_again_after_its_days(inbox, nps, place):
    placement = place(nps, recurrence="recurring", recurrence_days=30)
    browser = Browser(inbox)
    data = browser.show(placement).json()
    browser.dismiss(data["path"])
    assert browser.show(placement).json() == {"show": False, "reason": "shown within the last 30 days"}
    Invitation.objects.update(sent_at=timezone.now() - timedelta(days=31))
    again = browser.show(placement).json()
    assert again["show"] is True
    assert services.invitation_from_token(again["token"]).pk != services.invitation_from_token(data["token"]).pk
    assert Invitation.objects.count() == 2


def test_an_ignored_survey_is_shown_again_for_a_day_then_not_when_once(inbox, nps, place):
    placement = place(nps)
    browser = Browser(inbox)
    first = browser.show(placement).json()
    assert browser.eligible()[0]["id"] == placement.pk  # shown, not answered: still on offer today
    Invitation.objects.update(sent_at=timezone.now() - timedelta(hours=25))
    assert browser.eligible() == []
    assert browser.show(placement).json()["show"] is False
    assert first["show"] is True


def test_disabled_placements_and_inactive_surveys_are_not_offered(inbox, nps, place, survey_admin):
    placement = place(nps, is_enabled=False)
    browser = Browser(inbox)
    assert browser.eligible() == []
    in_app.in_app_placement_save(actor=survey_admin, survey=nps, values={"is_enabled": True})
    assert len(browser.eligible()) == 1
    services.survey_update(actor=survey_admin, survey=nps, values={"status": "archived"})
    assert browser.eligible() == []
    assert browser.show(placement).json() == {"show": False, "reason": "not active"}


# --- the admin page ---------------------------------------------------------------------------------------

def test_admins_set_up_the_placement_on_the_survey_page(client, survey_admin, nps, inbox):
    client.force_login(survey_admin)
    url = f"/surveys/{nps.pk}/in-app/"
    page = client.get(url)
    assert page.status_code == 200 and b"In-app on your website" in page.content
    form = {"inbox_id": str(inbox.pk), "is_enabled": "on", "page_rows": "3",
            "page_action_0": "include", "page_match_0": "wildcard", "page_value_0": "/account/*",
            "page_action_1": "exclude", "page_match_1": "exact", "page_value_1": "/account/delete",
            "page_action_2": "include", "page_match_2": "exact", "page_value_2": "",
            "event_rows": "2", "event_name_0": "checkout_completed", "event_filters_0": "plan = pro; total > 100",
            "event_name_1": "", "event_filters_1": "", "delay_seconds": "2", "scroll_percent": "0",
            "position": "bottom_left", "recurrence": "once", "recurrence_days": "90", "sampling_percent": "100"}
    saved = client.post(url, form)
    assert saved.status_code == 302
    placement = InAppPlacement.objects.get(survey=nps)
    assert placement.page_rules == [{"action": "include", "match": "wildcard", "value": "/account/*"},
                                    {"action": "exclude", "match": "exact", "value": "/account/delete"}]
    assert placement.event_rules == [{"event": "checkout_completed", "filters": [
        {"property": "plan", "operator": "equals", "value": "pro"},
        {"property": "total", "operator": "greater_than", "value": 100.0}]}]
    again = client.get(url)
    assert b'value="plan = pro; total &gt; 100"' in again.content and inbox.widget_key.encode() in again.content
    tested = client.get(url, {"test_url": "https://shop.example.com/account/delete"})
    assert "✘ This page is not targeted." in tested.content.decode()
    assert "✔" in client.get(url, {"test_url": "https://shop.example.com/account/plan"}).content.decode()

    bad = client.post(url, form | {"page_match_0": "regex", "event_filters_0": "plan"})
    assert bad.status_code == 400
    assert "Event rule 1, filter 1: property, operator" in bad.content.decode()
    bad = client.post(url, form | {"page_match_0": "regex"})
    assert bad.status_code == 400 and "Page rule 1, match: one of exact, contains, wildcard" in bad.content.decode()
    assert InAppPlacement.objects.get(survey=nps).page_rules[0]["match"] == "wildcard"  # nothing changed

    assert client.post(url, {"action": "delete"}).status_code == 302
    assert not InAppPlacement.objects.filter(survey=nps).exists()


def test_agents_see_the_placement_page_but_cannot_change_it(client, agent_user, nps, inbox, place):
    place(nps)
    client.force_login(agent_user)
    page = client.get(f"/surveys/{nps.pk}/in-app/")
    assert page.status_code == 200 and b"Save placement" not in page.content
    refused = client.post(f"/surveys/{nps.pk}/in-app/", {"inbox_id": str(inbox.pk), "page_rows": "0",
                                                        "event_rows": "0"})
    assert refused.status_code == 403


def test_the_survey_script_is_served_to_any_website_and_the_widget_stays_small(client):
    script = client.get("/surveys/in-app.js")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert script["Access-Control-Allow-Origin"] == "*" and b"__cxdeskInApp" in script.content
    widget = client.get("/chat/widget.js")
    source = b"".join(widget.streaming_content) if widget.streaming else widget.content
    assert b"/surveys/in-app.js" in source and len(source) < 40_000  # the card loads only when needed


def test_the_card_uses_the_brand_colour_only_when_white_text_on_it_is_readable(inbox, make_survey, place,
                                                                               no_quiet_hours):
    yellow = make_survey("csat", brand_color="#ffff00")
    place(yellow)
    assert Browser(inbox).eligible()[0]["brand_color"] == "#1d4ed8"
    navy = make_survey("nps", brand_color="#102a43")
    in_app.in_app_placement_save(actor=navy.created_by, survey=navy, values={"inbox_id": inbox.pk, "page_rules": [
        {"action": "include", "match": "wildcard", "value": "*"}]})
    assert in_app.placement_public_dict(InAppPlacement.objects.get(survey=navy))["brand_color"] == "#102a43"
