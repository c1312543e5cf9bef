"""Background work for the inbox: the confirmation email to a visitor who opened a ticket by web form."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from cx.inbox.models import WebFormSubmission

logger = logging.getLogger("cx.inbox")


@task()
def send_web_form_confirmation(*, submission_id: int) -> bool:
    """Mail "we received your request [#<ticket>]" once; False when already sent or there is no address.

    The row is claimed by setting ``confirmation_sent_at`` first, so running the task twice sends one mail;
    if the mail server refuses, the claim is released and the error raised for the task backend to record.
    """
    claimed = WebFormSubmission.objects.filter(pk=submission_id, confirmation_sent_at__isnull=True).exclude(
        email="").update(confirmation_sent_at=timezone.now())
    if not claimed:
        return False
    submission = WebFormSubmission.objects.select_related("ticket", "ticket__requester").get(pk=submission_id)
    ticket = submission.ticket
    context = {"ticket": ticket, "customer": ticket.requester, "email": submission.email}
    subject = "".join(render_to_string("inbox/email/confirmation_subject.txt", context).splitlines())
    body = render_to_string("inbox/email/confirmation_body.txt", context)
    try:
        EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [submission.email]).send()
    except Exception:
        WebFormSubmission.objects.filter(pk=submission_id).update(confirmation_sent_at=None)
        raise
    logger.info("web form confirmation for ticket %s sent", ticket.pk)
    return True
