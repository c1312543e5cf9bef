"""Surveys in a real browser against the real server (issue 7's acceptance tests): a CSAT email taken from
the SMTP sink is answered by clicking a score and adding a comment on the public page, and the score appears
on the ticket; an NPS detractor creates a follow-up ticket assigned to the agent who handled the customer."""

from __future__ import annotations

import re
import uuid
from datetime import time

from playwright.sync_api import Browser, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.customers.services import customer_create, organization_create
from cx.surveys import services as surveys
from cx.surveys.models import FollowUp, Response
from cx.tickets.models import StatusCategory, Ticket
from cx.tickets.services import default_status, ticket_open_by_customer, ticket_statuses_ensure_defaults, ticket_update
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def _user(role: str, first_name: str) -> str:
    username = f"{first_name.lower()}-{uuid.uuid4().hex[:6]}"
    user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                role=role, first_name=first_name)
    return username


def _survey(kind: str, trigger: str, admin_username: str):
    from cx.accounts.models import User

    admin = User.objects.get(username=admin_username)
    policy = surveys.policy_get()
    policy.quiet_start = policy.quiet_end = time(0)  # the test must not depend on the hour it runs at
    policy.save()
    survey = surveys.survey_create(actor=admin, values={"name": f"{kind.upper()} {uuid.uuid4().hex[:4]}",
                                                        "kind": kind, "trigger": trigger, "delay_minutes": 0,
                                                        "brand_name": "Acme"})
    return surveys.survey_update(actor=admin, survey=survey, values={"status": "active"})


def _score_link(mail, score: int) -> str:
    body = mail.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"(?m)^{score}: (http://\S+?/score/{score}/)\s*$", body).group(1)


def test_csat_email_is_answered_by_a_click_and_a_comment_and_shows_on_the_ticket(
        browser: Browser, server_url, e2e_db, smtp_sink, login):
    ticket_statuses_ensure_defaults()
    admin = _user(Role.ADMIN, "Sam")
    agent = _user(Role.AGENT, "Ana")
    _survey("csat", "ticket_solved", admin)
    email = f"rita-{uuid.uuid4().hex[:8]}@example.com"

    def open_ticket() -> Ticket:
        customer = customer_create(actor=None, display_name="Rita Requester",
                                   identities=[{"kind": "email", "value": email}])
        return ticket_open_by_customer(requester=customer, subject="Card declined", body="Why?",
                                       channel="email").ticket

    ticket = in_worker_thread(open_ticket)

    # The agent solves the ticket in the workspace; the server schedules the CSAT (delay 0) and mails it.
    agent_page = browser.new_context().new_page()
    login(agent_page, agent)
    agent_page.goto(f"{server_url}/tickets/{ticket.pk}/")
    agent_page.get_by_label("Status", exact=True).select_option(label="Solved")
    agent_page.get_by_role("button", name="Save properties").click()
    expect(agent_page.locator("#ticket-status")).to_have_text("Solved")

    mail = smtp_sink.wait_for(to=email)
    assert f"[#{ticket.pk}]" in mail["Subject"]

    # The customer clicks "4" in the email: no login, the score is recorded, the page asks for the rest.
    customer_page = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    customer_page.goto(_score_link(mail, 4))
    expect(customer_page.locator(".survey-answered")).to_contain_text("4")
    assert Response.objects.get(ticket_id=ticket.pk).csat_score == 4
    comment = customer_page.get_by_label(re.compile("Anything else you would like to tell us"))
    comment.fill("Quick and friendly, thank you!")
    customer_page.get_by_role("button", name="Send feedback").click()
    # Tasks run inline on this server: the first comment loads the sentiment model (seconds on a busy machine).
    expect(customer_page.get_by_role("heading", name="Thank you for your feedback!")).to_be_visible(timeout=90_000)

    # The same link again is refused and changes nothing.
    customer_page.goto(_score_link(mail, 1))
    expect(customer_page.get_by_role("heading")).to_contain_text("already been answered")
    response = Response.objects.get(ticket_id=ticket.pk)
    assert response.csat_score == 4 and response.comment == "Quick and friendly, thank you!"

    # The score is on the ticket, in the customer sidebar.
    agent_page.reload()
    card = agent_page.locator(".survey-ticket-card")
    expect(card).to_contain_text("CSAT 4/5")
    expect(card).to_contain_text("Quick and friendly, thank you!")


def test_an_nps_detractor_creates_a_follow_up_ticket_for_the_customers_agent(
        browser: Browser, server_url, e2e_db, smtp_sink, login):
    ticket_statuses_ensure_defaults()
    admin = _user(Role.ADMIN, "Sam")
    agent = _user(Role.AGENT, "Ben")
    survey = _survey("nps", "manual", admin)
    email = f"otto-{uuid.uuid4().hex[:8]}@example.com"
    org_name = f"Otto GmbH {uuid.uuid4().hex[:6]}"

    def customer_with_handled_ticket() -> Ticket:
        from cx.accounts.models import User

        ben = User.objects.get(username=agent)
        org = organization_create(actor=None, name=org_name)
        customer = customer_create(actor=None, display_name="Otto Owner", organization_id=org.pk,
                                   identities=[{"kind": "email", "value": email}])
        ticket = ticket_open_by_customer(requester=customer, subject="Invoice wrong", body="Please fix",
                                         channel="email").ticket
        ticket = ticket_update(actor=ben, ticket=ticket, changes={"assignee_id": ben.pk})
        return ticket_update(actor=ben, ticket=Ticket.objects.get(pk=ticket.pk),
                             changes={"status_id": default_status(StatusCategory.SOLVED).pk})

    handled = in_worker_thread(customer_with_handled_ticket)

    # The admin sends the relationship NPS to the organisation's segment from the survey page.
    admin_page = browser.new_context().new_page()
    login(admin_page, admin)
    admin_page.goto(f"{server_url}/surveys/{survey.pk}/")
    admin_page.get_by_label("Organisation").select_option(label=org_name)
    admin_page.get_by_role("button", name="Send survey").click()
    expect(admin_page.locator(".flash")).to_contain_text("Survey queued for 1 customers")

    mail = smtp_sink.wait_for(to=email)
    page = browser.new_context().new_page()
    page.goto(_score_link(mail, 2))
    expect(page.get_by_label("What could we do better?")).to_be_visible()  # follow-up for 0-6
    page.get_by_label("What could we do better?").fill("Nobody called me back about the invoice.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("heading", name="Thank you for your feedback!")).to_be_visible(timeout=90_000)

    follow_up = FollowUp.objects.select_related("ticket__assignee", "owner").get(response__survey=survey)
    assert follow_up.owner.username == agent and follow_up.ticket.assignee.username == agent
    assert follow_up.ticket.requester_id == handled.requester_id and follow_up.ticket.priority == "high"
    assert "NPS 2" in follow_up.reason

    # The agent finds it in the workspace and the loop shows on the follow-ups page.
    agent_page = browser.new_context().new_page()
    login(agent_page, agent)
    agent_page.goto(f"{server_url}/tickets/{follow_up.ticket.pk}/")
    expect(agent_page.get_by_role("heading", level=1)).to_contain_text("Follow up: NPS 2/10")
    admin_page.goto(f"{server_url}/surveys/follow-ups/?state=open")
    expect(admin_page.locator("table")).to_contain_text("NPS 2 (detractor)")
    expect(admin_page.locator("table")).to_contain_text(agent)

    # The dashboard draws its charts (vendored Chart.js) without script errors and shows the score.
    errors: list[str] = []
    admin_page.on("pageerror", lambda error: errors.append(str(error)))
    admin_page.goto(f"{server_url}/surveys/{survey.pk}/dashboard/")
    expect(admin_page.get_by_test_id("overall-score")).to_have_text("-100.0")
    expect(admin_page.locator("#survey-distribution")).to_be_visible()
    assert admin_page.evaluate("typeof Chart") == "function" and errors == []


def test_the_public_page_can_be_answered_with_the_keyboard_alone(browser: Browser, server_url, e2e_db):
    admin = _user(Role.ADMIN, "Kim")
    survey = _survey("ces", "manual", admin)
    customer = customer_create(actor=None, display_name="Kai Keyboard",
                               identities=[{"kind": "email", "value": f"kai-{uuid.uuid4().hex[:8]}@example.com"}])
    invitation = surveys.survey_invitation_create(survey=survey, customer=customer, channel="web")
    assert invitation.status == "sent"
    page = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    page.goto(f"{server_url}/surveys/s/{surveys.invitation_token(invitation)}/")
    expect(page.get_by_role("group", name=re.compile("Acme made it easy"))).to_be_visible()

    page.keyboard.press("Tab")  # into the 1-7 scale
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="6")).to_be_checked()
    page.keyboard.press("Tab")  # "skip" is only offered for optional scores; next is the comment
    page.keyboard.type("Easy enough, thanks.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send feedback")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you for your feedback!")).to_be_visible(timeout=90_000)
    response = Response.objects.get(invitation=invitation)
    assert response.ces_score == 6 and response.comment == "Easy enough, thanks."
