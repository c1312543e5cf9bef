"""Account pages through the HTTP client: login and lockout, logout, passwords, API tokens, settings, admin."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from cx.accounts import forms as account_forms
from cx.accounts.models import AgentStatus, ApiToken, Role
from cx.accounts.services import api_token_authenticate, api_token_create, team_add_member, team_create
from cx.core.models import AuditEvent

PASSWORD = "correct-horse-42"
LOGIN_URL = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_login_throttle():
    cache.clear()
    yield
    cache.clear()


def _login_attempt(client: Client, username: str, password: str):
    return client.post(LOGIN_URL, {"username": username, "password": password})


def _errors(response) -> list[str]:
    return re.findall(r'class="(?:flash-error|field-error)">([^<]+)<', response.content.decode())


def _logged_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


# --- Login and lockout ---------------------------------------------------------------------------


def test_login_page_has_labelled_username_and_password_fields(client, db):
    response = client.get(LOGIN_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<label for="id_username">Username</label>', html)
    assert re.search(r'<label for="id_password">Password</label>', html)
    assert ">Log in</button>" in html
    assert "csrfmiddlewaretoken" in html


def test_successful_login_redirects_home_and_starts_a_session(client, agent_user):
    response = _login_attempt(client, "alex", PASSWORD)
    assert response.status_code == 302
    assert response.url == "/"
    assert client.session["_auth_user_id"] == str(agent_user.pk)


def test_failed_login_shows_the_form_with_a_message_that_does_not_reveal_the_username(client, agent_user):
    wrong_password = _login_attempt(client, "alex", "not-the-password")
    unknown_user = _login_attempt(client, "nobody-here", "not-the-password")
    for response in (wrong_password, unknown_user):
        assert response.status_code == 200
        assert "That username and password do not match." in response.content.decode()
        assert 'name="username"' in response.content.decode()
    # The errors read the same whether or not the account exists.
    assert _errors(wrong_password) == _errors(unknown_user) == [
        "That username and password do not match. Both are case-sensitive."
    ]
    assert "_auth_user_id" not in client.session


def test_login_follows_a_safe_next_url(client, agent_user):
    response = client.post(f"{LOGIN_URL}?next=/accounts/tokens/",
                           {"username": "alex", "password": PASSWORD, "next": "/accounts/tokens/"})
    assert response.status_code == 302
    assert response.url == "/accounts/tokens/"


def test_login_ignores_a_next_url_on_another_site(client, agent_user):
    response = client.post(LOGIN_URL, {"username": "alex", "password": PASSWORD, "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response.url == "/"


def test_five_failed_logins_lock_the_username_even_with_the_right_password(client, agent_user):
    for _ in range(4):
        assert _login_attempt(client, "alex", "wrong-guess").status_code == 200
    fifth = _login_attempt(client, "alex", "wrong-guess")
    assert fifth.status_code == 429
    assert "Too many failed log-in attempts for this username. Try again in 15 minutes." in fifth.content.decode()

    locked = _login_attempt(client, "alex", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed log-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another username is not affected.
    other = Client()
    assert other.post(LOGIN_URL, {"username": "nia", "password": "wrong"}).status_code == 200


def test_the_lockout_ends_after_fifteen_minutes(client, agent_user, monkeypatch):
    start = 1_800_000_000.0
    monkeypatch.setattr(account_forms, "_now", lambda: start)
    for _ in range(5):
        _login_attempt(client, "alex", "wrong-guess")
    monkeypatch.setattr(account_forms, "_now", lambda: start + 14 * 60)
    still_locked = _login_attempt(client, "alex", PASSWORD)
    assert still_locked.status_code == 429
    assert "Try again in 1 minute." in still_locked.content.decode()

    monkeypatch.setattr(account_forms, "_now", lambda: start + 15 * 60 + 1)
    assert _login_attempt(client, "alex", PASSWORD).status_code == 302


def test_failures_older_than_fifteen_minutes_do_not_count(client, agent_user, monkeypatch):
    start = 1_800_000_000.0
    monkeypatch.setattr(account_forms, "_now", lambda: start)
    for _ in range(4):
        _login_attempt(client, "alex", "wrong-guess")
    monkeypatch.setattr(account_forms, "_now", lambda: start + 16 * 60)
    assert _login_attempt(client, "alex", "wrong-guess").status_code == 200
    assert _login_attempt(client, "alex", PASSWORD).status_code == 302


def test_unknown_usernames_lock_the_same_way(client, db):
    responses = [_login_attempt(client, "ghost", "wrong-guess") for _ in range(6)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429, 429]


def test_a_successful_login_resets_the_failure_count(client, agent_user):
    for _ in range(4):
        _login_attempt(client, "alex", "wrong-guess")
    assert _login_attempt(client, "alex", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _login_attempt(client, "alex", "wrong-guess").status_code == 200


def test_a_logged_in_user_visiting_login_is_sent_on(client, agent_user):
    response = _logged_in(client, agent_user).get(LOGIN_URL)
    assert response.status_code == 302


# --- Logout ----------------------------------------------------------------------------------------


def test_logout_refuses_get_and_keeps_the_session(client, agent_user):
    _logged_in(client, agent_user)
    response = client.get("/accounts/logout/")
    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(agent_user.pk)


def test_logout_by_post_ends_the_session(client, agent_user):
    _logged_in(client, agent_user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert "_auth_user_id" not in client.session
    assert client.get("/accounts/settings/").status_code == 302


def test_logout_needs_a_csrf_token(agent_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent_user)
    assert client.post("/accounts/logout/").status_code == 403
    assert client.session["_auth_user_id"] == str(agent_user.pk)


# --- Password change -------------------------------------------------------------------------------


def test_password_change_needs_the_old_password(client, agent_user):
    _logged_in(client, agent_user)
    response = client.post("/accounts/password/", {"old_password": "wrong", "new_password1": "blue-kettle-771",
                                                   "new_password2": "blue-kettle-771"})
    assert response.status_code == 422
    assert "Your old password was entered incorrectly" in response.content.decode()
    agent_user.refresh_from_db()
    assert agent_user.check_password(PASSWORD)


def test_password_change_rejects_a_weak_password(client, agent_user):
    _logged_in(client, agent_user)
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "short",
                                                   "new_password2": "short"})
    assert response.status_code == 422
    assert "too short" in response.content.decode()


def test_password_change_keeps_the_session_and_the_new_password_works(client, agent_user):
    _logged_in(client, agent_user)
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "blue-kettle-771",
                                                   "new_password2": "blue-kettle-771"}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/settings/"
    assert "Your password has been changed." in response.content.decode()
    assert client.session["_auth_user_id"] == str(agent_user.pk)
    fresh = Client()
    assert _login_attempt(fresh, "alex", PASSWORD).status_code == 200
    assert _login_attempt(fresh, "alex", "blue-kettle-771").status_code == 302


def test_password_change_page_requires_login(client, db):
    response = client.get("/accounts/password/")
    assert response.status_code == 302
    assert response.url.startswith(LOGIN_URL)


# --- Password reset --------------------------------------------------------------------------------


def _reset_link(mail_body: str) -> str:
    match = re.search(r"https?://\S+/accounts/password/reset/\S+/\S+/", mail_body)
    assert match, mail_body
    return match.group(0)


def test_password_reset_mail_goes_out_only_after_commit(client, agent_user, mailoutbox,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/accounts/password/reset/", {"email": agent_user.email})
    assert response.status_code == 302
    assert response.url == "/accounts/password/reset/sent/"
    assert mailoutbox == []  # the request did not send anything itself
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [agent_user.email]


def test_password_reset_end_to_end_with_the_request_host(agent_user, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    client = Client(HTTP_HOST="localhost:8123")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": agent_user.email.upper()})
    link = _reset_link(mailoutbox[0].body)
    assert link.startswith("http://localhost:8123/accounts/password/reset/")

    path = link.split("localhost:8123", 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(set_password_url, {"new_password1": "violet-harbour-93",
                                          "new_password2": "violet-harbour-93"})
    assert done.status_code == 302
    assert done.url == "/accounts/password/reset/complete/"
    assert _login_attempt(Client(), "alex", "violet-harbour-93").status_code == 302
    # The link is single-use.
    assert client.get(path).status_code == 400


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client, agent_user, mailoutbox,
                                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "stranger@example.test"})
    assert response.status_code == 302
    assert response.url == "/accounts/password/reset/sent/"
    assert mailoutbox == []


def test_password_reset_rejects_a_malformed_email(client, db):
    response = client.post("/accounts/password/reset/", {"email": "not an email"})
    assert response.status_code == 422
    assert "Enter a valid email address." in response.content.decode()


def test_an_altered_reset_link_is_refused(client, agent_user):
    response = client.get("/accounts/password/reset/MQ/bogus-token/")
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


def test_resetting_the_password_lifts_a_lockout(client, agent_user, mailoutbox, django_capture_on_commit_callbacks):
    for _ in range(5):
        _login_attempt(Client(), "alex", "wrong-guess")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": agent_user.email})
    path = re.sub(r"^https?://[^/]+", "", _reset_link(mailoutbox[0].body))
    set_password_url = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(set_password_url, {"new_password1": "violet-harbour-93", "new_password2": "violet-harbour-93"})
    assert _login_attempt(Client(), "alex", "violet-harbour-93").status_code == 302


# --- Settings --------------------------------------------------------------------------------------


def test_settings_show_name_email_role_and_teams(client, agent_user, django_assert_max_num_queries):
    for name in ("Billing", "Returns"):
        team = team_create(actor=None, name=name)
        team_add_member(actor=None, team=team, user=agent_user)
    _logged_in(client, agent_user)
    with django_assert_max_num_queries(6):
        response = client.get("/accounts/settings/")
    html = response.content.decode()
    assert response.status_code == 200
    for expected in ("Alex", "alex@agents.example.test", "Agent", "Billing, Returns",
                     'href="/accounts/password/"', 'href="/accounts/tokens/"'):
        assert expected in html


def test_settings_require_login(client, db):
    response = client.get("/accounts/settings/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/accounts/settings/"


def test_an_agent_sets_their_status(client, agent_user):
    _logged_in(client, agent_user)
    response = client.post("/accounts/settings/status/", {"status": AgentStatus.ONLINE}, follow=True)
    assert "Your status is now online." in response.content.decode()
    agent_user.refresh_from_db()
    assert agent_user.status == AgentStatus.ONLINE


def test_an_unknown_status_is_refused(client, agent_user):
    _logged_in(client, agent_user)
    response = client.post("/accounts/settings/status/", {"status": "asleep"})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    agent_user.refresh_from_db()
    assert agent_user.status == AgentStatus.OFFLINE


# --- API tokens ------------------------------------------------------------------------------------


def _secret_on(html: str) -> str | None:
    match = re.search(r'class="secret"[^>]*>([^<]+)<', html)
    return match.group(1).strip() if match else None


def test_a_new_token_is_shown_once_then_never(client, agent_user):
    _logged_in(client, agent_user)
    created = client.post("/accounts/tokens/", {"name": "nightly export", "scope": "write"})
    assert created.status_code == 302
    assert created.url == "/accounts/tokens/"

    first = client.get("/accounts/tokens/")
    html = first.content.decode()
    plaintext = _secret_on(html)
    assert plaintext and plaintext.startswith("cx_")
    assert "It will not be shown again." in html
    assert "no-store" in first["Cache-Control"]
    token = api_token_authenticate(plaintext=plaintext)
    assert token is not None and token.user == agent_user and token.name == "nightly export"

    again = client.get("/accounts/tokens/").content.decode()
    assert _secret_on(again) is None
    assert plaintext not in again
    assert "nightly export" in again  # still listed, by name and prefix only
    assert f"cx_{token.prefix}_" in again


def test_the_token_list_shows_only_my_tokens(client, agent_user, make_user):
    other = make_user(Role.AGENT, "bo")
    api_token_create(actor=other, name="bo's token", scope="read")
    api_token_create(actor=agent_user, name="my token", scope="read")
    html = _logged_in(client, agent_user).get("/accounts/tokens/").content.decode()
    assert "my token" in html
    assert "bo&#x27;s token" not in html and "bo's token" not in html


def test_a_token_needs_a_name(client, agent_user):
    _logged_in(client, agent_user)
    response = client.post("/accounts/tokens/", {"name": "   ", "scope": "read"})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_an_analyst_is_offered_and_can_create_only_a_read_token(client, analyst_user):
    _logged_in(client, analyst_user)
    page = client.get("/accounts/tokens/").content.decode()
    options = re.findall(r'<option value="(\w+)"', page)
    assert options == ["read"]

    refused = client.post("/accounts/tokens/", {"name": "sneaky", "scope": "write"})
    assert refused.status_code == 403
    html = refused.content.decode()
    assert "Your role cannot create a write token." in html
    assert "at most read" in html
    assert not ApiToken.objects.exists()

    assert client.post("/accounts/tokens/", {"name": "reporting", "scope": "read"}).status_code == 302
    assert ApiToken.objects.get().scope == 1


def test_revoking_a_token_on_the_page_stops_it_working(client, agent_user):
    issued = api_token_create(actor=agent_user, name="ci", scope="read")
    _logged_in(client, agent_user)
    page = client.get("/accounts/tokens/").content.decode()
    assert f'action="/accounts/tokens/{issued.token.pk}/revoke/"' in page
    assert "data-confirm=" in page

    response = client.post(f"/accounts/tokens/{issued.token.pk}/revoke/", follow=True)
    assert "is revoked" in response.content.decode()
    assert api_token_authenticate(plaintext=issued.plaintext) is None
    assert AuditEvent.objects.filter(action="api_token.revoked", target_id=issued.token.pk).exists()
    # A revoked token has no revoke button any more.
    assert f"/accounts/tokens/{issued.token.pk}/revoke/" not in response.content.decode()


def test_revoking_needs_post(client, agent_user):
    issued = api_token_create(actor=agent_user, name="ci", scope="read")
    response = _logged_in(client, agent_user).get(f"/accounts/tokens/{issued.token.pk}/revoke/")
    assert response.status_code == 405
    assert api_token_authenticate(plaintext=issued.plaintext) is not None


def test_an_agent_cannot_revoke_someone_elses_token(client, agent_user, make_user):
    other = make_user(Role.AGENT, "bo")
    issued = api_token_create(actor=other, name="bo's", scope="read")
    response = _logged_in(client, agent_user).post(f"/accounts/tokens/{issued.token.pk}/revoke/")
    assert response.status_code == 404
    assert "No such token." in response.content.decode()
    assert api_token_authenticate(plaintext=issued.plaintext) is not None


def test_token_pages_require_login(client, db):
    assert client.get("/accounts/tokens/").url == "/accounts/login/?next=/accounts/tokens/"
    assert client.post("/accounts/tokens/", {"name": "x", "scope": "read"}).status_code == 302
    assert not ApiToken.objects.exists()


# --- Django admin ----------------------------------------------------------------------------------


def test_only_staff_reach_the_admin(client, agent_user, admin_user):
    response = _logged_in(client, agent_user).get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    admin_client = _logged_in(Client(), admin_user)
    index = admin_client.get("/admin/")
    assert index.status_code == 200
    html = index.content.decode()
    for section in ("Users", "Teams", "Api tokens", "Audit events"):
        assert section in html


def test_the_admin_lists_tokens_without_their_hash_and_revokes_them(client, admin_user, agent_user):
    issued = api_token_create(actor=agent_user, name="ci", scope="write")
    secret_hash = ApiToken.objects.get(pk=issued.token.pk).secret_hash
    _logged_in(client, admin_user)
    listing = client.get("/admin/accounts/apitoken/").content.decode()
    detail = client.get(f"/admin/accounts/apitoken/{issued.token.pk}/change/").content.decode()
    for html in (listing, detail):
        assert issued.token.prefix in html
        assert secret_hash not in html
    assert "Revoke selected tokens" in listing
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403

    client.post("/admin/accounts/apitoken/", {"action": "revoke_tokens", "_selected_action": [issued.token.pk]})
    assert api_token_authenticate(plaintext=issued.plaintext) is None
    assert issued.token.prefix in client.get("/admin/accounts/apitoken/?status=revoked").content.decode()
    assert issued.token.prefix not in client.get("/admin/accounts/apitoken/?status=active").content.decode()


def test_the_audit_log_is_read_only_in_the_admin(client, admin_user, agent_user):
    event = AuditEvent.objects.filter(action="user.created").first()
    _logged_in(client, admin_user)
    assert client.get("/admin/core/auditevent/").status_code == 200
    detail = client.get(f"/admin/core/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    assert client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_making_someone_an_admin_in_the_admin_gives_staff_access_and_is_audited(client, admin_user, agent_user):
    _logged_in(client, admin_user)
    page = client.get(f"/admin/accounts/user/{agent_user.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"role": Role.ADMIN, "team_memberships-TOTAL_FORMS": "0", "team_memberships-INITIAL_FORMS": "0",
                 "date_joined_0": agent_user.date_joined.strftime("%Y-%m-%d"),
                 "date_joined_1": agent_user.date_joined.strftime("%H:%M:%S")})
    data.pop("date_joined", None)
    data.pop("password", None)
    response = client.post(f"/admin/accounts/user/{agent_user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    agent_user.refresh_from_db()
    assert agent_user.role == Role.ADMIN and agent_user.is_staff
    assert AuditEvent.objects.filter(action="user.updated", target_id=agent_user.pk,
                                     data__fields=["role"]).exists()


def test_the_admin_login_page_shares_the_lockout(client, admin_user):
    for _ in range(5):
        client.post("/admin/login/", {"username": "ada", "password": "wrong-guess"})
    response = client.post("/admin/login/", {"username": "ada", "password": PASSWORD})
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
