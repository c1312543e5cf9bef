"""Background work for notifications: the email copy, sent by the task worker after the commit."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from cx.notifications.models import Notification
from cx.notifications.selectors import notification_link

logger = logging.getLogger("cx.notifications")


def _absolute(link: str) -> str:
    if not link or link.lower().startswith(("http://", "https://")):
        return link
    return f"{settings.CXDESK_BASE_URL}{link}"


@task()
def send_notification_email(*, notification_id: int) -> bool:
    """Mail one notification to its recipient; False when there is nothing (more) to send.

    Safe to run twice: the row is claimed by setting ``emailed_at`` first, so a second run finds it taken.
    If the mail server refuses, the claim is released and the error raised, so the failure is recorded.
    """
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now())
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    recipient = notification.recipient
    if not recipient.is_active or not recipient.email:
        return False
    context = {"notification": notification, "recipient": recipient,
               "link": _absolute(notification_link(notification)),
               "preferences_url": _absolute(reverse("notifications:preferences"))}
    subject = "".join(render_to_string("notifications/email/notification_subject.txt", context).splitlines())
    body = render_to_string("notifications/email/notification_body.txt", context)
    try:
        EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email]).send()
    except Exception:
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)
        raise
    logger.info("notification %s mailed to user %s", notification_id, recipient.pk)
    return True
