"""Pages through the Django test client: builder, public pages (one click, comment, second use, forged),
dashboard, responses and CSV, follow-ups, policy, the ticket page's satisfaction card."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from cx.surveys import services
from cx.surveys.models import Answer, Invitation, InvitationStatus, Question, Response, Survey


@pytest.fixture
def admin_client(survey_admin):
    client = Client()
    client.force_login(survey_admin)
    return client


@pytest.fixture
def invitation(make_survey, customer, ticket_of, solve, no_quiet_hours, django_capture_on_commit_callbacks):
    survey = make_survey("csat", brand_name="Acme")
    ticket = solve(ticket_of(customer))
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.survey_invitation_create(survey=survey, customer=customer, ticket=ticket)
    invitation.refresh_from_db()
    return invitation


def test_admin_builds_a_survey_in_the_ui(admin_client):
    response = admin_client.post(reverse("surveys:list"), {"name": "Onboarding NPS", "kind": "nps"})
    survey = Survey.objects.get(name="Onboarding NPS")
    assert response.status_code == 302 and response["Location"] == reverse("surveys:detail", args=[survey.pk])
    page = admin_client.get(response["Location"])
    assert page.status_code == 200 and "How likely are you to recommend us" in page.content.decode()
    headline = survey.questions.first()
    assert (headline.scale_min, headline.scale_max, headline.wording_version) == (0, 10, 1)
    # Add a multiple-choice question shown only to detractors.
    response = admin_client.post(reverse("surveys:question_add", args=[survey.pk]), {
        "kind": "multiple_choice", "text": "What went wrong?", "options": "Speed\nPrice\nQuality",
        "show_if_question_id": str(headline.pk), "show_if_min": "0", "show_if_max": "6"})
    assert response.status_code == 302
    question = survey.questions.get(text="What went wrong?")
    assert question.options == ["Speed", "Price", "Quality"] and question.show_if_question == headline
    # Reword the headline: a new wording version.
    admin_client.post(reverse("surveys:question_edit", args=[survey.pk, headline.pk]), {
        "action": "save", "text": "Would you recommend Acme?", "low_label": "No", "high_label": "Yes"})
    headline.refresh_from_db()
    assert headline.wording_version == 2 and headline.scale_max == 10
    # Settings: branding, locale, trigger.
    response = admin_client.post(reverse("surveys:detail", args=[survey.pk]), {
        "name": "Onboarding NPS", "locale": "de", "brand_name": "Acme", "brand_color": "#0f766e", "intro_text": "",
        "thank_you_text": "Danke!", "email_subject": "", "trigger": "journey_event", "delay_minutes": "0",
        "event_kind": "order.completed", "event_delay_days": "30", "event_first_only": "on", "recurring_days": "90",
        "sampling_percent": "50"})
    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.locale, survey.trigger, survey.sampling_percent) == ("de", "journey_event", 50)
    assert admin_client.post(reverse("surveys:status", args=[survey.pk]), {"status": "active"}).status_code == 302
    preview = admin_client.get(reverse("surveys:preview", args=[survey.pk]))
    assert preview.status_code == 200 and "What went wrong?" in preview.content.decode()
    assert "Feedback senden" in preview.content.decode()


def test_builder_shows_field_errors_and_changes_nothing(admin_client, make_survey):
    survey = make_survey("csat")
    response = admin_client.post(reverse("surveys:detail", args=[survey.pk]), {
        "name": "", "locale": "en", "brand_color": "red", "trigger": "journey_event", "event_kind": "",
        "delay_minutes": "-5", "event_delay_days": "30", "recurring_days": "90", "sampling_percent": "150"})
    assert response.status_code == 422
    body = response.content.decode()
    for reason in ("1 to 120 characters", "a colour like #1d4ed8", "a whole number 0 to 100",
                   "the touchpoint kind that starts the survey"):
        assert reason in body
    survey.refresh_from_db()
    assert survey.name == "csat survey" and survey.trigger == "manual"
    response = admin_client.post(reverse("surveys:question_add", args=[survey.pk]), {
        "kind": "single_choice", "text": "Pick", "options": "Only one"})
    assert response.status_code == 422 and "2 to 20 options" in response.content.decode()


def test_agents_cannot_build_surveys(client, agent_user):
    client.force_login(agent_user)
    response = client.post(reverse("surveys:list"), {"name": "X", "kind": "nps"})
    assert response.status_code == 403 and not Survey.objects.exists()


def test_one_click_score_then_comment_then_link_is_spent(client, invitation, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    link = re.search(r"http://[^/]+(/surveys/s/[^/\s]+/score/2/)", mailoutbox[-1].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(link)
    assert response.status_code == 302
    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200 and "Your score: <strong>2</strong>" in body
    assert "What could we do better?" in body  # the low-score follow-up
    assert 'for="q' in body and "<legend>" not in body.split("What could we do better?")[0][-200:]
    response_row = Response.objects.get(invitation=invitation)
    assert response_row.csat_score == 2
    better = invitation.survey.questions.get(text="What could we do better?")
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(response["Location"], {f"q{better.pk}": "Answer the first time, please."})
    assert done.status_code == 302
    thanks = client.get(done["Location"])
    assert "Thank you for your feedback!" in thanks.content.decode()
    # A second click on another score changes nothing and says so.
    again = client.get(link.replace("/score/2/", "/score/5/"))
    assert again.status_code == 410 and "already been answered" in again.content.decode()
    resubmit = client.post(response["Location"], {f"q{better.pk}": "twice"})
    assert resubmit.status_code == 410
    assert Answer.objects.filter(response=response_row).count() == 3
    response_row.refresh_from_db()
    assert response_row.csat_score == 2 and response_row.comment == "Answer the first time, please."
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED and invitation.opened_at is not None


def test_forged_link_and_out_of_range_click_are_refused(client, invitation):
    token = services.invitation_token(invitation)
    forged = client.get(reverse("surveys:public", args=[token[:-3] + "xyz"]))
    assert forged.status_code == 404 and "not valid" in forged.content.decode()
    out_of_range = client.get(reverse("surveys:public_score", args=[token, 9]))
    assert out_of_range.status_code == 422 and "a whole number 1 to 5" in out_of_range.content.decode()
    assert not Response.objects.exists()


def test_oversize_comment_on_the_page_is_a_clear_error(client, invitation):
    token = services.invitation_token(invitation)
    headline, _better, anything = list(invitation.survey.questions.all())
    response = client.post(reverse("surveys:public", args=[token]),
                           {f"q{headline.pk}": "4", f"q{anything.pk}": "y" * 2500})
    assert response.status_code == 422 and "at most 2000 characters" in response.content.decode()
    assert not Answer.objects.exists()


def test_public_page_is_accessible_markup(client, invitation):
    token = services.invitation_token(invitation)
    body = client.get(reverse("surveys:public", args=[token])).content.decode()
    assert '<html lang="en">' in body and 'name="viewport"' in body
    assert "<fieldset" in body and "<legend>" in body
    for value in range(1, 6):
        assert f'<label for="q{invitation.survey.questions.first().pk}-{value}">{value}</label>' in body


def test_public_json_endpoint_for_channel_adapters(client, make_survey, customer):
    invitation = services.survey_invitation_create(survey=make_survey("csat"), customer=customer, channel="chat")
    token = services.invitation_token(invitation)
    got = client.get(f"/api/v1/public/surveys/{token}")
    assert got.status_code == 200
    data = got.json()
    headline = data["survey"]["questions"][0]
    assert headline["kind"] == "csat" and headline["scale"] == [1, 2, 3, 4, 5]
    url = f"/api/v1/public/surveys/{token}/answers"
    bad = client.post(url, {"answers": [{"question_id": headline["id"], "score": 7}]}, content_type="application/json")
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {"answers[0].score": "a whole number 1 to 5"}
    ok = client.post(url, {"answers": [{"question_id": headline["id"], "score": 5}], "complete": True},
                     content_type="application/json")
    assert ok.status_code == 201 and ok.json()["complete"] is True
    twice = client.post(url, {"answers": [{"question_id": headline["id"], "score": 4}]},
                        content_type="application/json")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_answered"
    forged = client.get("/api/v1/public/surveys/forged-token")
    assert forged.status_code == 404 and forged.json()["error"]["code"] == "invalid_link"
    assert Answer.objects.filter(score__isnull=False).count() == 1


def _answer(invitation, score, comment="", django_capture_on_commit_callbacks=None):
    headline, _, anything = list(invitation.survey.questions.all())
    answers = [{"question_id": headline.pk, "score": score}]
    if comment:
        answers.append({"question_id": anything.pk, "text": comment})
    services.response_submit(invitation=invitation, answers=answers, complete=True)


def test_dashboard_responses_and_csv_match(admin_client, make_survey, make_customer, no_quiet_hours,
                                           django_capture_on_commit_callbacks):
    policy = services.policy_get()
    policy.loop_csat_max = -1
    policy.loop_negative_comment = False
    policy.save()
    survey = make_survey("csat")
    for score, comment in [(5, "Great help, thank you!"), (4, ""), (1, "Nobody answered for a week."),
                           (5, "=HYPERLINK(\"x\")"), (None, "")]:
        with django_capture_on_commit_callbacks(execute=True):
            invitation = services.survey_invitation_create(survey=survey, customer=make_customer())
        invitation.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            if score is None:
                services.response_submit(invitation=invitation, answers=[], complete=True)
            else:
                _answer(invitation, score, comment)
    dashboard = admin_client.get(reverse("surveys:dashboard", args=[survey.pk]))
    body = dashboard.content.decode()
    assert dashboard.status_code == 200
    assert 'data-testid="overall-score">75.0%' in body  # 3 of 4 scored; the skip is not counted
    assert "1 response without a score (skipped) are not counted" in body
    assert "Small sample" in body and "vendor/chartjs/chart.umd.min.js" in body
    listing = admin_client.get(reverse("surveys:responses"), {"survey": survey.pk, "score_max": "4"})
    assert listing.status_code == 200
    listing_body = listing.content.decode()
    assert "Nobody answered for a week." in listing_body and "Great help" not in listing_body
    export = admin_client.get(reverse("surveys:responses_csv"), {"survey": survey.pk, "score_max": "4"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:6] == ["id", "date", "survey", "customer", "segment", "score"]
    assert sorted(r[5] for r in rows[1:]) == ["1", "4"]
    full = admin_client.get(reverse("surveys:responses_csv"), {"survey": survey.pk})
    comments = [r[6] for r in csv.reader(io.StringIO(b"".join(full.streaming_content).decode()))]
    assert "'=HYPERLINK(\"x\")" in comments  # formulas neutralised
    bad = admin_client.get(reverse("surveys:responses"), {"from": "yesterday"})
    assert bad.status_code == 422 and "a date like 2026-11-23" in bad.content.decode()


def test_score_appears_on_the_ticket_page(admin_client, invitation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _answer(invitation, 5, "Quick and friendly, thanks!")
    page = admin_client.get(reverse("tickets:detail", args=[invitation.ticket_id]))
    assert reverse("surveys:ticket_satisfaction", args=[invitation.ticket_id]) in page.content.decode()
    card = admin_client.get(reverse("surveys:ticket_satisfaction", args=[invitation.ticket_id]))
    body = card.content.decode()
    assert "CSAT 5/5" in body and "Quick and friendly" in body and "Positive" in body


def test_follow_up_page_moves_the_loop(admin_client, make_survey, customer, no_quiet_hours,
                                       django_capture_on_commit_callbacks):
    survey = make_survey("nps")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.survey_invitation_create(survey=survey, customer=customer)
    invitation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(invitation=invitation,
                                 answers=[{"question_id": survey.questions.first().pk, "score": 2}])
    follow_up = invitation.response.follow_up
    page = admin_client.get(reverse("surveys:follow_ups"))
    assert "NPS 2 (detractor)" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("surveys:follow_ups"), {"follow_up": follow_up.pk, "state": "resolved"})
    follow_up.refresh_from_db()
    assert follow_up.state == "resolved" and follow_up.contacted_at and follow_up.resurvey_id
    assert Invitation.objects.get(pk=follow_up.resurvey_id).source == "followup"


def test_policy_page_validates(admin_client):
    response = admin_client.post(reverse("surveys:policy"), {
        "cooldown_days": "7", "monthly_cap": "abc", "quiet_start": "25:00", "quiet_end": "08:00",
        "default_time_zone": "Nowhere/City", "loop_nps_max": "6", "loop_csat_max": "2", "loop_ces_max": "2",
        "loop_priority": "high", "loop_due_hours": "24"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "a time like 21:00" in body
    ok = admin_client.post(reverse("surveys:policy"), {
        "cooldown_days": "14", "monthly_cap": "2", "quiet_start": "22:00", "quiet_end": "07:30",
        "default_time_zone": "Europe/Berlin", "loop_nps_max": "6", "loop_csat_max": "2", "loop_ces_max": "2",
        "loop_priority": "urgent", "loop_due_hours": "8", "loop_negative_comment": "on"})
    assert ok.status_code == 302
    policy = services.policy_get()
    assert (policy.cooldown_days, policy.monthly_cap, policy.loop_priority) == (14, 2, "urgent")


def test_send_to_segment_from_the_builder(admin_client, make_survey, make_customer, no_quiet_hours, mailoutbox,
                                          django_capture_on_commit_callbacks):
    survey = make_survey("nps")
    make_customer(), make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("surveys:send", args=[survey.pk]), {"organization": ""})
    assert response.status_code == 302
    assert Invitation.objects.filter(survey=survey, source="manual").count() == 2 and len(mailoutbox) == 2
    assert Question.objects.filter(survey=survey).count() == 3


def test_admin_rebuilds_themes_from_the_dashboard(admin_client, make_survey, client, agent_user):
    survey = make_survey("csat")
    response = admin_client.post(reverse("surveys:themes_rebuild", args=[survey.pk]))
    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert "Not enough comments yet" in page.content.decode()
    client.force_login(agent_user)
    assert client.post(reverse("surveys:themes_rebuild", args=[survey.pk])).status_code == 403


def test_response_list_query_count_does_not_grow_with_rows(admin_client, make_survey, make_customer,
                                                           no_quiet_hours, django_assert_max_num_queries,
                                                           django_capture_on_commit_callbacks):
    survey = make_survey("nps")
    policy = services.policy_get()
    policy.cooldown_days = 0
    policy.save()

    def add(n):
        for _ in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                invitation = services.survey_invitation_create(survey=survey, customer=make_customer())
            invitation.refresh_from_db()
            with django_capture_on_commit_callbacks(execute=True):
                services.response_submit(invitation=invitation,
                                         answers=[{"question_id": survey.questions.first().pk, "score": 3}])

    add(2)
    with django_assert_max_num_queries(20) as few:
        admin_client.get(reverse("surveys:responses"))
    add(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(reverse("surveys:responses"))
    assert response.content.decode().count('class="survey-score"') == 8
