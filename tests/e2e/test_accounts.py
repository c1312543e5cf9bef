"""Accounts in a real browser against the real server: log in and out, password reset by email, API tokens."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid

import pytest
from playwright.sync_api import Page, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create

PASSWORD = "correct-horse-42"


@pytest.fixture
def agent(e2e_db, settings):
    # The server runs config.settings (PBKDF2); the test settings' fast MD5 hashes would not verify there.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    name = f"agent-{uuid.uuid4().hex[:8]}"
    return user_create(actor=None, username=name, email=f"{name}@agents.example.test", password=PASSWORD,
                       role=Role.AGENT, first_name="Robin", last_name="Quill")


def _api_get(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_an_agent_logs_in_and_out(page: Page, server_url, login, agent):
    login(page, agent.username)
    page.goto(f"{server_url}/accounts/settings/")
    expect(page.get_by_role("heading", name="Your settings")).to_be_visible()
    expect(page.locator(".usermenu")).to_contain_text("Robin Quill")
    expect(page.locator("dl.props")).to_contain_text(agent.email)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{server_url}/accounts/login/")
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    page.goto(f"{server_url}/accounts/settings/")
    expect(page).to_have_url(f"{server_url}/accounts/login/?next=/accounts/settings/")


def test_a_wrong_password_is_refused_with_a_message(page: Page, server_url, login, agent):
    login(page, agent.username, "not-my-password")
    expect(page).to_have_url(f"{server_url}/accounts/login/")
    expect(page.get_by_role("alert")).to_contain_text("That username and password do not match.")
    expect(page.get_by_label("Username")).to_have_value(agent.username)
    expect(page.locator(".usermenu")).to_have_count(0)


def test_login_returns_to_the_page_that_asked_for_it(page: Page, server_url, agent):
    page.goto(f"{server_url}/accounts/tokens/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server_url}/accounts/tokens/")
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()


def test_a_forgotten_password_is_reset_through_the_emailed_link(page: Page, server_url, login, agent, smtp_sink):
    page.goto(f"{server_url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(agent.email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    mail = smtp_sink.wait_for(to=agent.email)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/accounts/password/reset/\S+/\S+/", body).group(0)
    assert link.startswith(f"{server_url}/accounts/password/reset/")  # the host the request came in on

    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("violet-harbour-93")
    page.get_by_label("New password confirmation").fill("violet-harbour-93")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("heading", name="Your password is set")).to_be_visible()

    login(page, agent.username, PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    login(page, agent.username, "violet-harbour-93")
    page.goto(f"{server_url}/accounts/settings/")
    expect(page.get_by_role("heading", name="Your settings")).to_be_visible()

    page.goto(link)  # the link worked once and is now dead
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()


def test_an_api_token_made_in_the_ui_works_until_it_is_revoked(page: Page, server_url, login, agent):
    login(page, agent.username)
    page.goto(f"{server_url}/accounts/settings/")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("laptop script")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_text("It will not be shown again.")).to_be_visible()
    token = page.locator(".secret").inner_text().strip()
    assert token.startswith("cx_")

    status, me = _api_get(f"{server_url}/api/v1/me", token)
    assert status == 200, me
    assert me["username"] == agent.username

    page.reload()
    expect(page.locator(".secret")).to_have_count(0)
    assert token not in page.content()
    row = page.get_by_role("row", name=re.compile("laptop script"))
    expect(row).to_contain_text("read")
    expect(row).to_contain_text("active")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke laptop script").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("laptop script"))).to_contain_text("revoked")

    status, body = _api_get(f"{server_url}/api/v1/me", token)
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"


def test_dismissing_the_revoke_confirmation_keeps_the_token(page: Page, server_url, login, agent):
    login(page, agent.username)
    page.goto(f"{server_url}/accounts/tokens/")
    page.get_by_label("Name").fill("keep me")
    page.get_by_role("button", name="Create token").click()
    token = page.locator(".secret").inner_text().strip()

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke keep me").click()
    expect(page.get_by_role("row", name=re.compile("keep me"))).to_contain_text("active")
    assert _api_get(f"{server_url}/api/v1/me", token)[0] == 200
