"""The password reset mail task: a working one-use link, nothing for accounts that cannot reset, safe to repeat."""

from __future__ import annotations

import re

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django_tasks import TaskResultStatus

from cx.accounts.tasks import send_password_reset_email


def _link(body: str) -> re.Match:
    match = re.search(r"(https?)://([^/\s]+)/accounts/password/reset/([^/\s]+)/([^/\s]+)/", body)
    assert match, body
    return match


def test_the_task_mails_a_valid_reset_link_for_the_given_host(agent_user, mailoutbox):
    result = send_password_reset_email.enqueue(user_id=agent_user.pk, domain="help.example.test", use_https=True)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value is True
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [agent_user.email]
    assert mail.subject == "Reset your cxdesk password"
    scheme, host, uidb64, token = _link(mail.body).groups()
    assert (scheme, host) == ("https", "help.example.test")
    assert force_str(urlsafe_base64_decode(uidb64)) == str(agent_user.pk)
    assert default_token_generator.check_token(agent_user, token)
    assert "expires after 3 hours" in mail.body


def test_running_the_task_twice_sends_two_links_that_both_work_until_the_password_changes(agent_user, mailoutbox):
    for _ in range(2):
        send_password_reset_email.enqueue(user_id=agent_user.pk, domain="localhost", use_https=False)
    tokens = [_link(mail.body).group(4) for mail in mailoutbox]
    assert len(tokens) == 2
    assert all(default_token_generator.check_token(agent_user, token) for token in tokens)
    agent_user.set_password("a-different-pass-91")
    agent_user.save(update_fields=["password"])
    assert not any(default_token_generator.check_token(agent_user, token) for token in tokens)


def test_no_mail_for_a_deactivated_account(agent_user, mailoutbox):
    agent_user.is_active = False
    agent_user.save(update_fields=["is_active"])
    result = send_password_reset_email.enqueue(user_id=agent_user.pk, domain="localhost", use_https=False)
    assert result.return_value is False
    assert mailoutbox == []


def test_no_mail_for_an_account_without_a_password_or_a_deleted_one(make_user, mailoutbox):
    sso_only = make_user(username="sso-only", password="")
    assert not sso_only.has_usable_password()
    assert send_password_reset_email.enqueue(user_id=sso_only.pk, domain="localhost",
                                             use_https=False).return_value is False
    assert send_password_reset_email.enqueue(user_id=987654, domain="localhost",
                                             use_https=False).return_value is False
    assert mailoutbox == []
