"""Background work for accounts: password reset email, sent outside the request that asked for it."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import task

from cx.accounts.models import User

logger = logging.getLogger("cx.accounts")


@task()
def send_password_reset_email(*, user_id: int, domain: str, use_https: bool) -> bool:
    """Mail a one-use reset link to the user; False (nothing sent) if the account can no longer reset.

    The link is made here rather than in the request, so it is fresh when the mail leaves. Running the
    task twice sends a second, equally valid link; both die once the password changes.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password() or not user.email:
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    context = {
        "user": user,
        "reset_url": f"{'https' if use_https else 'http'}://{domain}{path}",
        "domain": domain,
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    subject = "".join(render_to_string("accounts/email/password_reset_subject.txt", context).splitlines())
    body = render_to_string("accounts/email/password_reset_body.txt", context)
    # Failures raise, so the task backend records the failed attempt instead of losing it silently.
    EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]).send()
    logger.info("password reset mail sent to user %s", user.pk)
    return True
