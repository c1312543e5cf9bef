"""Conditions over churn scores, tickets, SLAs, survey answers and tags (the periodic sweep, ticket and survey
triggers), and every kind of action, through the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create
from cx.churn.selectors import ChurnReason
from cx.churn.services import churn_score_store
from cx.notifications.models import Notification
from cx.playbooks.models import CustomerTag, PlaybookRun, RunStatus
from cx.playbooks.services import playbooks_process_events, playbooks_sweep
from cx.sla.models import SlaClock, TicketSla
from cx.surveys import services as surveys
from cx.surveys.models import Invitation
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_open_by_customer

AT_RISK = [{"field": "churn_risk", "op": ">", "value": 0.7}, {"field": "open_tickets", "op": ">=", "value": 1}]


def _ticket(customer):
    return ticket_open_by_customer(requester=customer, subject="Still broken", body="Help", channel="email").ticket


@pytest.mark.django_db
def test_the_sweep_acts_on_high_churn_risk_with_an_open_ticket_once_a_day(make_customer, make_playbook, admin_user):
    team = team_create(actor=admin_user, name="Retention")
    playbook = make_playbook(name="Save at-risk customers", trigger_kind="sweep", trigger_event="",
                             conditions=AT_RISK, actions=[
                                 {"type": "tag_customer", "tags": ["At risk"]},
                                 {"type": "create_ticket", "subject": "Retention call: {{customer.name}}",
                                  "body": "High churn risk and an open ticket.", "team_id": team.pk,
                                  "priority": "high", "assign_to": "none"}])
    risky, calm, unscored = make_customer("Risky Rita"), make_customer(), make_customer()
    churn_score_store(customer_id=risky.pk, probability=0.82, model_version="t",
                      reasons=[ChurnReason("sla_breaches_90d", "2 SLA breaches in 90 days", 0.12)])
    churn_score_store(customer_id=calm.pk, probability=0.2, model_version="t")
    for customer in (risky, calm, unscored):
        _ticket(customer)
    risky_without_ticket = make_customer()
    churn_score_store(customer_id=risky_without_ticket.pk, probability=0.9, model_version="t")

    assert playbooks_sweep() == 1  # only customers both conditions name are evaluated
    run = PlaybookRun.objects.get(playbook=playbook, customer=risky)
    assert run.status == RunStatus.ACTED and "churn risk 0.82" in run.reason
    assert list(CustomerTag.objects.filter(customer=risky).values_list("name", flat=True)) == ["at-risk"]
    outreach = Ticket.objects.get(pk=run.results[1]["ticket_id"])
    assert (outreach.team_id, outreach.priority) == (team.pk, "high")
    assert not PlaybookRun.objects.filter(customer=risky_without_ticket).exists()  # sweeps record matches only
    # Later sweeps the same day change nothing.
    assert playbooks_sweep() == 1
    assert PlaybookRun.objects.filter(playbook=playbook).count() == 1


@pytest.mark.django_db
def test_sla_breaches_and_tags_as_conditions(make_customer, make_playbook):
    playbook = make_playbook(name="Breached VIPs", trigger_kind="sweep", trigger_event="", conditions=[
        {"field": "sla_breaches", "op": ">=", "value": 1, "window_hours": 48},
        {"field": "customer_tag", "op": "has", "value": "VIP"}],
        actions=[{"type": "tag_customer", "tags": ["apology-due"]}])
    vip, other = make_customer(), make_customer()
    now = timezone.now()
    for customer in (vip, other):
        ticket_sla, _ = TicketSla.objects.get_or_create(ticket=_ticket(customer),
                                                        defaults={"status_category": "open"})
        SlaClock.objects.update_or_create(ticket_sla=ticket_sla, metric="first_response", defaults={
            "started_at": now - timedelta(hours=3), "due_at": now - timedelta(hours=1),
            "breached_at": now - timedelta(hours=1)})
    CustomerTag.objects.create(customer=vip, name="vip")
    playbooks_sweep()
    assert list(PlaybookRun.objects.filter(playbook=playbook).values_list("customer_id", "status")) == [
        (vip.pk, RunStatus.ACTED)]
    assert "1 SLA breach(es) in 48 h" in PlaybookRun.objects.get(customer=vip).reason


@pytest.fixture
def nps_survey(admin_user):
    survey = surveys.survey_create(actor=admin_user, values={"name": "Relationship NPS", "kind": "nps",
                                                             "trigger": "manual"})
    return surveys.survey_update(actor=admin_user, survey=survey, values={"status": "active"})


def _answer(survey, customer, score):
    invitation = surveys.survey_invitation_create(survey=survey, customer=customer, source="manual")
    Invitation.objects.filter(pk=invitation.pk).update(status="sent", sent_at=timezone.now())  # as the mailer does
    surveys.response_submit(invitation=invitation, answers=[{"question_id": survey.questions.first().pk,
                                                             "score": score}], complete=True)


@pytest.mark.django_db
def test_a_detractor_answer_triggers_a_team_notification(make_customer, make_playbook, admin_user, make_user,
                                                         nps_survey):
    team = team_create(actor=admin_user, name="Success")
    lead = make_user(Role.TEAM_LEAD, "lena")
    team_add_member(actor=admin_user, team=team, user=lead)
    playbook = make_playbook(name="Detractor alert", trigger_kind="survey", trigger_event="nps",
                             conditions=[{"field": "nps_score", "op": "<=", "value": 6}],
                             actions=[{"type": "notify_team", "team_id": team.pk,
                                       "message": "{{customer.name}} is a detractor: call them today."}])
    detractor, promoter = make_customer("Dan Detractor"), make_customer()
    _answer(nps_survey, detractor, 3)
    _answer(nps_survey, promoter, 10)
    assert playbooks_process_events() == 2
    runs = dict(PlaybookRun.objects.filter(playbook=playbook).values_list("customer_id", "status"))
    assert runs == {detractor.pk: RunStatus.ACTED, promoter.pk: RunStatus.NOT_MATCHED}
    notification = Notification.objects.get(recipient=lead)
    assert notification.title == "Detractor alert: Dan Detractor"
    assert "is a detractor" in notification.body and notification.url == f"/customers/{detractor.pk}/"


@pytest.mark.django_db
def test_a_ticket_event_triggers_a_playbook_right_after_the_change(make_customer, make_playbook,
                                                                   django_capture_on_commit_callbacks):
    playbook = make_playbook(name="Repeat contact", trigger_kind="ticket", trigger_event="ticket.created",
                             conditions=[{"field": "open_tickets", "op": ">=", "value": 2}],
                             actions=[{"type": "tag_customer", "tags": ["repeat-contact"]}], cooldown_days=0)
    customer = make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        _ticket(customer)
    assert PlaybookRun.objects.get(playbook=playbook).status == RunStatus.NOT_MATCHED
    with django_capture_on_commit_callbacks(execute=True):
        _ticket(customer)  # the ticket observer enqueues the evaluation: no scheduler tick needed
    assert PlaybookRun.objects.filter(playbook=playbook, status=RunStatus.ACTED).count() == 1
    assert CustomerTag.objects.filter(customer=customer, name="repeat-contact").exists()


@pytest.mark.django_db
def test_actions_that_cannot_reach_the_customer_fail_with_a_reason_and_the_rest_still_run(
        make_customer, make_playbook, nps_survey):
    playbook = make_playbook(name="Everything", trigger_kind="sweep", trigger_event="", cooldown_days=0,
                             conditions=[{"field": "customer_tag", "op": "has", "value": "target"}],
                             actions=[{"type": "chat_invitation", "message": "Need a hand, {{customer.first_name}}?"},
                                      {"type": "send_sms", "body": "Hi from support"},
                                      {"type": "send_whatsapp", "body": "Hi from support"},
                                      {"type": "send_survey", "survey_id": nps_survey.pk},
                                      {"type": "tag_customer", "tags": ["reached"]}])
    customer = make_customer()
    CustomerTag.objects.create(customer=customer, name="target")
    playbooks_sweep()
    run = PlaybookRun.objects.get(playbook=playbook)
    assert run.status == RunStatus.FAILED and run.contacted
    results = {r["type"]: r for r in run.results}
    assert not results["chat_invitation"]["ok"] and "not on the site" in results["chat_invitation"]["detail"]
    assert not results["send_sms"]["ok"] and "no SMS conversation" in results["send_sms"]["detail"]
    assert not results["send_whatsapp"]["ok"] and "WhatsApp" in results["send_whatsapp"]["detail"]
    assert results["send_survey"]["ok"] and Invitation.objects.filter(customer=customer, survey=nps_survey).exists()
    assert results["tag_customer"]["ok"] and CustomerTag.objects.filter(customer=customer, name="reached").exists()
    assert "3 of 5 action(s) failed" in run.reason


@pytest.mark.django_db
def test_a_chat_invitation_reaches_the_customer_on_the_site(make_customer, make_playbook, admin_user):
    from cx.chat.models import ChatInbox, ChatVisitor

    inbox = ChatInbox.objects.create(name="Website", widget_key="wk-1", identity_secret="s" * 40,
                                     secret_rotated_at=timezone.now())
    customer = make_customer()
    ChatVisitor.objects.create(inbox=inbox, public_id="v-1", customer=customer, last_seen_at=timezone.now())
    CustomerTag.objects.create(customer=customer, name="target")
    playbook = make_playbook(name="Invite", trigger_kind="sweep", trigger_event="",
                             conditions=[{"field": "customer_tag", "op": "has", "value": "target"}],
                             actions=[{"type": "chat_invitation", "message": "Need a hand?"}])
    playbooks_sweep()
    run = PlaybookRun.objects.get(playbook=playbook)
    assert run.status == RunStatus.ACTED and "1 widget" in run.results[0]["detail"]


@pytest.mark.django_db
def test_merge_moves_tags_and_runs_and_export_includes_them(make_customer, make_playbook, admin_user):
    from cx.customers.services import customer_erase, customer_export, customer_merge

    playbook = make_playbook()
    source, target = make_customer(), make_customer()
    CustomerTag.objects.create(customer=source, name="vip")
    CustomerTag.objects.create(customer=target, name="vip")
    CustomerTag.objects.create(customer=source, name="at-risk")
    PlaybookRun.objects.create(playbook=playbook, customer=source, status=RunStatus.ACTED, contacted=True,
                               reason="Matched: x", trigger="event", trigger_key="tp:1", created_at=timezone.now())
    customer_merge(actor=admin_user, source=source, target=target)
    assert sorted(CustomerTag.objects.filter(customer=target).values_list("name", flat=True)) == ["at-risk", "vip"]
    assert PlaybookRun.objects.get().customer_id == target.pk
    exported = customer_export(actor=admin_user, customer=target)
    assert "at-risk" in str(exported) and "Checkout rescue" in str(exported)
    customer_erase(actor=admin_user, customer=target)
    assert not CustomerTag.objects.filter(customer=target).exists()
    assert PlaybookRun.objects.get().reason == ""


@pytest.mark.django_db
def test_whatsapp_outside_the_24_hour_window_sends_the_approved_template(make_customer, make_playbook, admin_user):
    from cx.messaging.models import Connector, Conversation, Outbound

    connector = Connector.objects.create(provider="whatsapp", name="WhatsApp line", webhook_key="wk",
                                         templates=[{"name": "order_help", "language": "en"}])
    customer = make_customer()
    Conversation.objects.create(connector=connector, contact_id="4915550001", customer=customer,
                                last_inbound_at=timezone.now() - timedelta(days=3))
    CustomerTag.objects.create(customer=customer, name="target")
    conditions = [{"field": "customer_tag", "op": "has", "value": "target"}]
    with pytest.raises(Exception) as refused:
        make_playbook(name="Bad template", trigger_kind="sweep", trigger_event="", conditions=conditions,
                      actions=[{"type": "send_whatsapp", "body": "Hi", "template": "no_such"}])
    assert "actions[0].template" in refused.value.fields
    playbook = make_playbook(name="WhatsApp nudge", trigger_kind="sweep", trigger_event="", conditions=conditions,
                             actions=[{"type": "send_whatsapp", "body": "Can we help?", "template": "order_help"}])
    playbooks_sweep()
    run = PlaybookRun.objects.get(playbook=playbook)
    assert run.status == RunStatus.ACTED and "template order_help queued" in run.results[0]["detail"]
    outbound = Outbound.objects.get(message__ticket_id=run.results[0]["ticket_id"])
    assert outbound.template_name == "order_help"
