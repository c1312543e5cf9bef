"""The survey REST API with tokens: build, send, report (score with CI and breakdowns), follow-ups, policy."""

from __future__ import annotations

import pytest

from cx.surveys import services
from cx.surveys.models import Invitation


@pytest.fixture
def admin_api(api_client, token_for, survey_admin):
    return api_client(token_for(survey_admin, "admin"))


def test_build_activate_and_send_through_the_api(admin_api, customer, no_quiet_hours, mailoutbox,
                                                 django_capture_on_commit_callbacks):
    created = admin_api.post("/api/v1/surveys", {"name": "Support CES", "kind": "ces", "locale": "fr"})
    assert created.status_code == 201
    survey = created.json()
    assert survey["questions"][0]["scale"] == [1, 2, 3, 4, 5, 6, 7]
    assert survey["questions"][0]["wording_version"] == 1
    question = admin_api.post(f"/api/v1/surveys/{survey['id']}/questions",
                              {"kind": "rating", "text": "Rate the article", "scale_max": 10})
    assert question.status_code == 201 and question.json()["scale"] == list(range(1, 11))
    bad = admin_api.post(f"/api/v1/surveys/{survey['id']}/questions", {"kind": "nps", "text": "", "colour": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == {"colour": "unknown field"}
    reworded = admin_api.patch(f"/api/v1/surveys/{survey['id']}/questions/{survey['questions'][0]['id']}",
                               {"text": "It was easy to get my issue solved."})
    assert reworded.json()["wording_version"] == 2
    assert admin_api.patch(f"/api/v1/surveys/{survey['id']}", {"status": "active"}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        sent = admin_api.post(f"/api/v1/surveys/{survey['id']}/sends", {"customer_ids": [customer.pk]})
    assert sent.status_code == 202 and sent.json()["queued"] == 1
    assert Invitation.objects.get(survey_id=survey["id"]).source == "manual"
    assert mailoutbox[-1].subject == "Comment s'est passé votre échange ?"
    assert mailoutbox[-1].body.startswith("Bonjour ")
    assert admin_api.post(f"/api/v1/surveys/{survey['id']}/sends", {"customer_ids": "all"}).status_code == 422


def test_report_has_nps_with_interval_breakdowns_and_excludes_skips(admin_api, make_survey, make_customer,
                                                                     no_quiet_hours,
                                                                     django_capture_on_commit_callbacks):
    policy = services.policy_get()
    policy.loop_nps_max = -1
    policy.save()
    survey = make_survey("nps")
    headline = survey.questions.first()
    for score in [10, 9, 9, 10, 9, 7, 8, 8, 3, 6, None]:
        with django_capture_on_commit_callbacks(execute=True):
            invitation = services.survey_invitation_create(survey=survey, customer=make_customer())
        invitation.refresh_from_db()
        answers = [] if score is None else [{"question_id": headline.pk, "score": score}]
        services.response_submit(invitation=invitation, answers=answers, complete=True)
    report = admin_api.get(f"/api/v1/surveys/{survey.pk}/report").json()
    overall = report["overall"]
    assert overall["n"] == 10 and overall["score"] == pytest.approx(30.0)
    assert overall["ci95"][0] == pytest.approx(30 - 1.959964 * 24.6982, abs=1e-3)
    assert overall["small_sample"] is True and report["skipped"] == 1
    assert report["breakdowns"]["source"]["rows"] == [
        {"key": "api", "n": 10, "score": pytest.approx(30.0), "ci95": [pytest.approx(overall["ci95"][0]),
                                                                      pytest.approx(overall["ci95"][1])],
         "detail": "5 promoters, 3 passives, 2 detractors; SE 24.7", "small_sample": True}]
    assert sum(d["count"] for d in report["distribution"]) == 10
    assert report["funnel"]["answered"] == 11
    responses = admin_api.get("/api/v1/survey-responses", survey=survey.pk, score_max=6).json()
    assert sorted(r["score"] for r in responses["results"]) == [3, 6]
    assert admin_api.get(f"/api/v1/surveys/{survey.pk}/report", granularity="hour").status_code == 422


def test_readers_cannot_change_surveys_or_policy(api_client, token_for, analyst_user, make_survey):
    reader = api_client(token_for(analyst_user, "read"))
    survey = make_survey("csat")
    assert reader.get(f"/api/v1/surveys/{survey.pk}").status_code == 200
    assert reader.patch(f"/api/v1/surveys/{survey.pk}", {"name": "x"}).status_code == 403
    assert reader.patch("/api/v1/survey-policy", {"cooldown_days": 1}).status_code == 403
    assert api_client(None).get("/api/v1/surveys").status_code == 401


def test_policy_api_validates_every_field(admin_api):
    response = admin_api.patch("/api/v1/survey-policy", {"cooldown_days": -1, "quiet_start": "nope",
                                                         "loop_priority": "asap"})
    assert response.status_code == 422
    ok = admin_api.patch("/api/v1/survey-policy", {"cooldown_days": 3, "quiet_start": "22:00"})
    assert ok.status_code == 200 and ok.json()["cooldown_days"] == 3 and ok.json()["quiet_start"] == "22:00:00"


def test_follow_up_api_reports_and_moves_the_loop(admin_api, make_survey, customer, no_quiet_hours,
                                                  django_capture_on_commit_callbacks):
    survey = make_survey("csat")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.survey_invitation_create(survey=survey, customer=customer)
    invitation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(invitation=invitation, answers=[{"question_id": survey.questions.first().pk,
                                                                  "score": 1}])
    listing = admin_api.get("/api/v1/survey-follow-ups").json()
    assert listing["counts"] == {"open": 1, "contacted": 0, "resolved": 0}
    follow_up_id = listing["results"][0]["id"]
    bad = admin_api.post(f"/api/v1/survey-follow-ups/{follow_up_id}/state", {"state": "closed"})
    assert bad.status_code == 422
    moved = admin_api.post(f"/api/v1/survey-follow-ups/{follow_up_id}/state", {"state": "contacted"})
    assert moved.json()["state"] == "contacted"
    assert Invitation.objects.filter(source="followup").count() == 0


def test_sentiment_endpoint_for_any_text(api_client, token_for, analyst_user):
    reader = api_client(token_for(analyst_user, "read"))
    good = reader.post("/api/v1/sentiment", {"text": "Thanks, the agent fixed it in minutes. Brilliant!"})
    assert good.status_code == 200 and good.json()["label"] == "positive" and good.json()["score"] > 0.5
    empty = reader.post("/api/v1/sentiment", {"text": "  "})
    assert empty.status_code == 422 and "text" in empty.json()["error"]["fields"]
