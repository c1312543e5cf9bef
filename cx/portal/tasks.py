"""Background work for the portal: the sign-in email."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from cx.portal.models import MagicLink

logger = logging.getLogger("cx.portal")


@task()
def send_magic_link(*, link_id: int) -> bool:
    """Mail the sign-in link once (the row is claimed by ``sent_at``); False when already sent, used or expired."""
    from cx.portal.services import magic_link_token

    claimed = MagicLink.objects.filter(pk=link_id, sent_at__isnull=True, used_at__isnull=True,
                                       expires_at__gt=timezone.now()).update(sent_at=timezone.now())
    if not claimed:
        return False
    link = MagicLink.objects.select_related("customer").get(pk=link_id)
    url = settings.CXDESK_BASE_URL + reverse("portal:redeem", args=[magic_link_token(link)])
    context = {"customer": link.customer, "url": url, "minutes": int((link.expires_at - link.created_at)
                                                                      .total_seconds() // 60)}
    subject = "".join(render_to_string("portal/email/magic_link_subject.txt", context).splitlines())
    body = render_to_string("portal/email/magic_link_body.txt", context)
    try:
        EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [link.email]).send()
    except Exception:
        MagicLink.objects.filter(pk=link_id).update(sent_at=None)
        raise
    logger.info("portal sign-in link %s sent", link_id)  # never the token
    return True
