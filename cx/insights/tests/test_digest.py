"""The weekly digest: managers subscribe in the UI, the periodic job queues one digest per week, and the task
mails it (HTML and text) to subscribers only, never twice."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core import mail
from django.test import Client

from cx.core.periodic import run_due_jobs
from cx.insights.models import DigestDelivery, DigestRun
from cx.insights.services import digest_schedule, digest_send


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 6, day, hour, tzinfo=UTC)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_subscribe_in_the_ui_then_the_periodic_job_mails_last_weeks_figures_once(
        desk, customer, clock, lead_user, admin_user, analyst_user, agent_user, django_capture_on_commit_callbacks):
    ticket = desk.open(at(4, 9), customer)
    desk.reply(ticket, at(4, 10), solve=True)
    lead = login(lead_user)
    response = lead.post("/insights/digest/", {"action": "subscribe"})
    assert response.status_code == 302
    assert "You are subscribed" in lead.get("/insights/digest/").content.decode()
    login(analyst_user).post("/insights/digest/", {"action": "subscribe"})
    login(analyst_user).post("/insights/digest/", {"action": "unsubscribe"})
    assert login(agent_user).post("/insights/digest/", {"action": "subscribe"}).status_code == 403

    clock.set(at(10, 6))  # Monday: the week of 3 June is complete
    with django_capture_on_commit_callbacks(execute=True):
        assert run_due_jobs(only={"insights.weekly_digest"}) == ["insights.weekly_digest"]
    assert [m.to for m in mail.outbox] == [[lead_user.email]]
    message = mail.outbox[0]
    assert "week of 2024-06-03" in message.subject
    assert "First response time (median): 1.0h (previous no data" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html" and "Service dashboard" in html and "1.0h" in html

    # Later runs in the same week (and a rerun of the task) send nothing more.
    clock.set(at(10, 9))
    with django_capture_on_commit_callbacks(execute=True):
        run_due_jobs(only={"insights.weekly_digest"})
        assert digest_schedule(at(12, 9)) is None
    assert digest_send(run_id=DigestRun.objects.get().pk) == 0
    assert len(mail.outbox) == 1
    assert DigestDelivery.objects.count() == 1

    # The next Monday is a new week.
    clock.set(at(17, 6))
    with django_capture_on_commit_callbacks(execute=True):
        run_due_jobs(only={"insights.weekly_digest"})
    assert len(mail.outbox) == 2 and "week of 2024-06-10" in mail.outbox[1].subject


def test_a_subscriber_who_lost_access_gets_no_digest(lead_user, clock, django_capture_on_commit_callbacks):
    login(lead_user).post("/insights/digest/", {"action": "subscribe"})
    lead_user.role = "agent"
    lead_user.save(update_fields=["role"])
    with django_capture_on_commit_callbacks(execute=True):
        digest_schedule(at(10, 6))
    assert mail.outbox == []
