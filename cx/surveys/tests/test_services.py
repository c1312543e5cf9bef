"""Invitations under the delivery policy, single-use tokens, answers recorded exactly once, triggers and
the closed loop, through the services and the task queue (tasks run immediately in tests)."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.core import signing
from django.utils import timezone

from cx.core.errors import Conflict, NotFound, ValidationFailed
from cx.journeys.models import Touchpoint
from cx.surveys import services, triggers
from cx.surveys.models import Answer, FollowUp, Invitation, InvitationStatus, LoopState, Response
from cx.tickets.models import StatusCategory, Ticket
from cx.tickets.services import default_status, ticket_reply


def _invite(survey, customer, **kwargs):
    return services.survey_invitation_create(survey=survey, customer=customer, **kwargs)


@pytest.fixture
def sent(make_survey, customer, no_quiet_hours, mailoutbox, django_capture_on_commit_callbacks):
    def _sent(kind="csat", who=None, **kwargs):
        survey = make_survey(kind)
        with django_capture_on_commit_callbacks(execute=True):
            invitation = _invite(survey, who or customer, **kwargs)
        invitation.refresh_from_db()
        return invitation

    return _sent


def test_email_invitation_is_sent_with_one_click_score_links(sent, mailoutbox):
    invitation = sent("csat")
    assert invitation.status == InvitationStatus.SENT and invitation.sent_at is not None
    mail = mailoutbox[-1]
    assert mail.to == ["rita@example.com"]
    links = re.findall(r"/surveys/s/([^/\s]+)/score/(\d+)/", mail.body)
    assert [int(score) for _, score in links] == [1, 2, 3, 4, 5]  # CSAT is 1-5
    assert services.invitation_from_token(links[0][0]).pk == invitation.pk
    assert 'href="http://' in mail.alternatives[0][0] and "/score/5/" in mail.alternatives[0][0]
    assert Touchpoint.objects.filter(kind="survey.sent", customer=invitation.customer).count() == 1


def test_cooldown_applies_across_all_surveys(sent, make_survey, customer, mailoutbox,
                                             django_capture_on_commit_callbacks):
    sent("csat")
    nps = make_survey("nps")
    with django_capture_on_commit_callbacks(execute=True):
        second = _invite(nps, customer)
    second.refresh_from_db()
    assert second.status == InvitationStatus.SUPPRESSED
    assert "asked within the last 7 days" in second.status_reason
    assert len(mailoutbox) == 1


def test_cooldown_over_after_its_days(sent, make_survey, customer, django_capture_on_commit_callbacks):
    first = sent("csat")
    Invitation.objects.filter(pk=first.pk).update(sent_at=timezone.now() - timedelta(days=8))
    nps = make_survey("nps")
    with django_capture_on_commit_callbacks(execute=True):
        second = _invite(nps, customer)
    second.refresh_from_db()
    assert second.status == InvitationStatus.SENT


def test_monthly_cap_is_hard_across_surveys(make_survey, customer, no_quiet_hours,
                                            django_capture_on_commit_callbacks):
    policy = services.policy_get()
    policy.cooldown_days = 0
    policy.monthly_cap = 2
    policy.save()
    surveys = [make_survey("csat"), make_survey("ces"), make_survey("nps")]
    results = []
    for survey in surveys:
        with django_capture_on_commit_callbacks(execute=True):
            invitation = _invite(survey, customer)
        invitation.refresh_from_db()
        results.append(invitation.status)
    assert results == [InvitationStatus.SENT, InvitationStatus.SENT, InvitationStatus.SUPPRESSED]
    assert "monthly cap of 2" in Invitation.objects.get(survey=surveys[2]).status_reason


def test_quiet_hours_hold_the_send_until_morning_in_customer_zone(make_survey, make_customer, mailoutbox,
                                                                   django_capture_on_commit_callbacks):
    policy = services.policy_get()
    now = timezone.now()
    # Make "now" quiet in the customer's zone whatever the clock says: quiet from an hour ago to an hour ahead.
    customer = make_customer(time_zone="Asia/Tokyo")
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo("Asia/Tokyo"))
    policy.quiet_start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    policy.quiet_end = (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    policy.save()
    survey = make_survey("csat")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(survey, customer)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.status_reason == "held for quiet hours"
    expected = (local + timedelta(hours=1)).replace(second=0, microsecond=0)
    assert invitation.send_at.astimezone(ZoneInfo("Asia/Tokyo")).replace(second=0) == expected
    assert mailoutbox == []
    # The periodic job sends it once quiet hours are over.
    with django_capture_on_commit_callbacks(execute=True):
        triggers.send_due(invitation.send_at + timedelta(seconds=1))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SCHEDULED  # the task checks the real clock: still quiet
    policy.quiet_start = policy.quiet_end = time(0)
    policy.save()
    Invitation.objects.filter(pk=invitation.pk).update(send_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        triggers.send_due(timezone.now())
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT and len(mailoutbox) == 1


def test_sampling_zero_percent_sends_nothing(make_survey, customer, mailoutbox, django_capture_on_commit_callbacks):
    survey = make_survey("csat", sampling_percent=0)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(survey, customer)
    assert invitation.status == InvitationStatus.SUPPRESSED and "sample" in invitation.status_reason
    assert mailoutbox == []


def test_forged_and_tampered_tokens_are_refused(sent):
    invitation = sent("csat")
    token = services.invitation_token(invitation)
    assert services.invitation_from_token(token).pk == invitation.pk
    with pytest.raises(NotFound, match="not valid"):
        services.invitation_from_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    forged = signing.dumps([invitation.pk, "guessed-nonce"], salt=services.TOKEN_SALT)
    with pytest.raises(NotFound, match="not valid"):
        services.invitation_from_token(forged)
    with pytest.raises(NotFound):
        services.invitation_from_token("garbage")


def test_a_token_records_one_response_and_is_spent_after(sent, django_capture_on_commit_callbacks):
    invitation = sent("csat")
    headline, better, anything = list(invitation.survey.questions.all())
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(invitation=invitation, answers=[{"question_id": headline.pk, "score": 2}])
    # The follow-up question for low scores is now visible.
    payload = services.invitation_public_payload(invitation)
    assert better.pk in payload["remaining_question_ids"] and not payload["complete"]
    with pytest.raises(Conflict, match="already been answered"):
        services.response_submit(invitation=invitation, answers=[{"question_id": headline.pk, "score": 5}])
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(invitation=invitation, answers=[{"question_id": better.pk,
                                                                  "text": "Faster answers please"}],
                                 complete=True)
    with pytest.raises(Conflict, match="already been answered"):
        services.response_submit(invitation=invitation, answers=[{"question_id": anything.pk, "text": "again"}])
    response = Response.objects.get(invitation=invitation)
    assert response.csat_score == 2 and response.completed_at is not None
    assert Answer.objects.filter(response=response).count() == 3  # score, comment, last one skipped
    assert Answer.objects.get(response=response, question=anything).skipped
    kinds = list(Touchpoint.objects.filter(customer=invitation.customer, kind__startswith="survey.")
                 .values_list("kind", flat=True))
    assert kinds.count("survey.answered") == 2 and kinds.count("survey.skipped") == 1


@pytest.mark.parametrize(("answer", "field", "reason"), [
    ({"score": 6}, "answers[0].score", "a whole number 1 to 5"),
    ({"score": 0}, "answers[0].score", "a whole number 1 to 5"),
    ({"score": "five"}, "answers[0].score", "a whole number 1 to 5"),
    ({"score": True}, "answers[0].score", "a whole number 1 to 5"),
])
def test_out_of_range_scores_are_clear_errors_and_record_nothing(sent, answer, field, reason):
    invitation = sent("csat")
    headline = invitation.survey.questions.first()
    with pytest.raises(ValidationFailed) as caught:
        services.response_submit(invitation=invitation, answers=[{"question_id": headline.pk, **answer}])
    assert caught.value.fields == {field: reason}
    assert not Response.objects.exists() and not Answer.objects.exists()


def test_oversize_comment_is_refused_and_nothing_recorded(sent):
    invitation = sent("csat")
    headline, better, _ = list(invitation.survey.questions.all())
    with pytest.raises(ValidationFailed) as caught:
        services.response_submit(invitation=invitation, answers=[
            {"question_id": headline.pk, "score": 1}, {"question_id": better.pk, "text": "x" * 2001}])
    assert caught.value.fields == {"answers[1].text": "at most 2000 characters"}
    assert not Answer.objects.exists()


def test_same_question_twice_in_one_request_is_refused(sent):
    invitation = sent("nps")
    headline = invitation.survey.questions.first()
    with pytest.raises(ValidationFailed, match="answered twice"):
        services.response_submit(invitation=invitation, answers=[{"question_id": headline.pk, "score": 9},
                                                                 {"question_id": headline.pk, "score": 3}])
    assert not Answer.objects.exists()


def test_unknown_question_and_choice_are_refused(sent, survey_admin):
    invitation = sent("nps")
    question = services.question_add(actor=survey_admin, survey=invitation.survey, values={
        "kind": "single_choice", "text": "Which plan?", "options": ["Basic", "Pro"]})
    with pytest.raises(ValidationFailed, match="Unknown question"):
        services.response_submit(invitation=invitation, answers=[{"question_id": 999999, "score": 1}])
    with pytest.raises(ValidationFailed, match="Unknown choice"):
        services.response_submit(invitation=invitation, answers=[{"question_id": question.pk, "choices": ["Gold"]}])
    assert not Answer.objects.exists()


def test_solving_a_ticket_schedules_csat_after_the_delay_once(make_survey, customer, ticket_of, solve, mailoutbox,
                                                               no_quiet_hours, django_capture_on_commit_callbacks):
    survey = make_survey("csat", trigger="ticket_solved", delay_minutes=60)
    ticket = ticket_of(customer)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = solve(ticket)
    invitation = Invitation.objects.get(ticket=ticket)
    assert invitation.status == InvitationStatus.SCHEDULED and invitation.source == "ticket_solved"
    assert invitation.send_at == ticket.solved_at + timedelta(minutes=60)
    assert invitation.agent_id == ticket.assignee_id
    assert mailoutbox == []
    # Reopened and solved again: still one invitation for the ticket.
    from cx.tickets.services import ticket_update

    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(actor=ticket.assignee, ticket=ticket, changes={"status_id": default_status("open").pk})
        ticket_update(actor=ticket.assignee, ticket=Ticket.objects.get(pk=ticket.pk),
                      changes={"status_id": default_status(StatusCategory.SOLVED).pk})
    assert Invitation.objects.filter(survey=survey).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        triggers.send_due(timezone.now() + timedelta(minutes=61))
    assert len(mailoutbox) == 0  # the task checks the real time: not due yet
    Invitation.objects.filter(pk=invitation.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        triggers.send_due(timezone.now())
    assert len(mailoutbox) == 1 and f"[#{ticket.pk}]" in mailoutbox[0].subject


def test_journey_event_triggers_nps_days_after_the_first_purchase(make_survey, customer, no_quiet_hours,
                                                                    django_capture_on_commit_callbacks):
    from cx.journeys.services import touchpoint_record

    survey = make_survey("nps", trigger="journey_event", event_kind="order.completed", event_delay_days=30)
    now = timezone.now()
    touchpoint_record(customer=customer, kind="order.completed", channel="web", stage="purchase",
                      occurred_at=now - timedelta(days=31), source="test")
    touchpoint_record(customer=customer, kind="order.completed", channel="web", stage="purchase",
                      occurred_at=now - timedelta(days=2), source="test")
    with django_capture_on_commit_callbacks(execute=True):
        assert triggers.journey_events(now) == 1
        assert triggers.journey_events(now) == 0  # once per customer
    invitation = Invitation.objects.get(survey=survey)
    assert invitation.touchpoint_kind == "order.completed" and invitation.source == "journey_event"


def test_recurring_relationship_nps_asks_each_customer_once_per_period(make_survey, customer, no_quiet_hours,
                                                                         django_capture_on_commit_callbacks):
    survey = make_survey("nps", trigger="recurring", recurring_days=90)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert triggers.recurring(now) == 1
        assert triggers.recurring(now + timedelta(days=10)) == 0
    assert Invitation.objects.filter(survey=survey, customer=customer).count() == 1


def test_detractor_creates_follow_up_ticket_for_the_rated_tickets_agent(
        make_survey, customer, ticket_of, solve, agent_user, no_quiet_hours, django_capture_on_commit_callbacks):
    survey = make_survey("nps")
    ticket = solve(ticket_of(customer))
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(survey, customer, ticket=ticket)
    invitation.refresh_from_db()
    headline = survey.questions.first()
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(invitation=invitation, answers=[{"question_id": headline.pk, "score": 3}])
    follow_up = FollowUp.objects.get(response__invitation=invitation)
    assert follow_up.owner == agent_user and follow_up.state == LoopState.OPEN
    assert "NPS 3" in follow_up.reason
    loop_ticket = follow_up.ticket
    assert loop_ticket.assignee == agent_user and loop_ticket.priority == "high"
    assert loop_ticket.due_at is not None and loop_ticket.requester == customer
    assert not Invitation.objects.filter(ticket=loop_ticket).exists()
    # Replying moves the loop to contacted; solving it resolves it and re-surveys the customer.
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(actor=agent_user, ticket=loop_ticket, body="Sorry! We called and fixed it.")
    follow_up.refresh_from_db()
    assert follow_up.state == LoopState.CONTACTED
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(actor=agent_user, ticket=Ticket.objects.get(pk=loop_ticket.pk), body="Done.",
                     status_id=default_status(StatusCategory.SOLVED).pk)
    follow_up.refresh_from_db()
    assert follow_up.state == LoopState.RESOLVED and follow_up.resurvey is not None
    # The re-survey skips the cooldown (the customer was asked moments ago) but nothing else.
    assert follow_up.resurvey.status == InvitationStatus.SENT
    assert not Invitation.objects.filter(ticket=loop_ticket).exists()  # no CSAT about the follow-up itself


def test_promoter_creates_no_follow_up(sent, django_capture_on_commit_callbacks):
    invitation = sent("nps")
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(invitation=invitation,
                                 answers=[{"question_id": invitation.survey.questions.first().pk, "score": 10}])
    assert not FollowUp.objects.exists()


def test_negative_comment_creates_follow_up_even_with_a_good_score(sent, django_capture_on_commit_callbacks):
    invitation = sent("csat")
    headline, _, anything = list(invitation.survey.questions.all())
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(invitation=invitation, answers=[
            {"question_id": headline.pk, "score": 4},
            {"question_id": anything.pk, "text": "Terrible app, it crashes all the time and I hate it."}],
            complete=True)
    response = Response.objects.get(invitation=invitation)
    assert response.sentiment == "negative" and response.sentiment_score < -0.5
    assert FollowUp.objects.get(response=response).reason == "negative comment"


def test_channel_adapter_invitation_is_sent_or_suppressed_by_policy(make_survey, customer):
    survey = make_survey("csat")
    first = _invite(survey, customer, channel="chat", source="api")
    assert first.status == InvitationStatus.SENT
    token = services.invitation_token(first)
    assert services.invitation_public_payload(services.invitation_from_token(token))["channel"] == "chat"
    second = _invite(make_survey("nps"), customer, channel="whatsapp")
    assert second.status == InvitationStatus.SUPPRESSED


def test_invalid_invitation_input_is_a_field_error(make_survey, customer):
    survey = make_survey("csat", activate=False)
    with pytest.raises(ValidationFailed) as caught:
        _invite(survey, customer, channel="pigeon")
    assert caught.value.fields == {"channel": "one of email, chat, sms, whatsapp, in_app, portal, web",
                                   "survey": "the survey is not active"}


def test_merge_export_and_erase_reach_survey_data(sent, make_customer, survey_admin,
                                                  django_capture_on_commit_callbacks):
    from cx.customers.services import customer_erase, customer_export, customer_merge

    invitation = sent("csat")
    headline, _, anything = list(invitation.survey.questions.all())
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(invitation=invitation, answers=[
            {"question_id": headline.pk, "score": 5}, {"question_id": anything.pk, "text": "Lovely people"}],
            complete=True)
    target = make_customer()
    customer_merge(actor=survey_admin, source=invitation.customer, target=target)
    response = Response.objects.get(invitation=invitation)
    assert response.customer_id == target.pk and Invitation.objects.get(pk=invitation.pk).customer_id == target.pk
    exported = customer_export(actor=survey_admin, customer=target)
    assert "Lovely people" in str(exported)
    customer_erase(actor=survey_admin, customer=target)
    response.refresh_from_db()
    assert response.comment == "" and response.csat_score == 5
    assert not Answer.objects.filter(response=response).exclude(text="").exists()
