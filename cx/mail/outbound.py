"""Agent replies (and auto-acknowledgements) on ``email`` and ``web`` tickets go out by email.

The ticket observer records an ``OutboundEmail`` (with its Message-ID) inside the reply's transaction and
queues the send after commit. The task sends through Django's email backend (SMTP, or an anymail provider by
setting) from the ticket's mailbox with In-Reply-To / References / ``[#id]``, HTML and text parts and the
attachments; temporary failures (4xx, connection errors) are retried with backoff by a periodic job, permanent
ones mark the message as not delivered.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape, linebreaks
from django_tasks import task

from cx.core.errors import DomainError
from cx.customers.models import CustomerIdentity
from cx.journeys.services import touchpoint_record
from cx.mail.models import EmailThreadId, InboundEmail, Mailbox, OutboundEmail, OutboundStatus, ThreadDirection
from cx.tickets.hooks import TicketChange
from cx.tickets.models import AuthorType, Channel, Message, Visibility

logger = logging.getLogger("cx.mail")

EMAIL_CHANNELS = (Channel.EMAIL, Channel.WEB)
MAX_ATTEMPTS = 5
RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


def _mailbox_for(ticket_id: int) -> Mailbox | None:
    inbound = InboundEmail.objects.filter(ticket_id=ticket_id, mailbox__isnull=False).order_by("id").first()
    if inbound is not None and inbound.mailbox and inbound.mailbox.is_active:
        return inbound.mailbox
    return Mailbox.objects.filter(is_active=True).order_by("id").first()


def _customer_address(customer_id: int) -> str:
    identity = CustomerIdentity.objects.filter(customer_id=customer_id, kind="email").order_by(
        "-is_primary", "id").first()
    return identity.value if identity else ""


def send_agent_reply_by_email(change: TicketChange) -> None:
    """Ticket observer: a public agent or system reply on an email/web ticket becomes an outbound email."""
    if change.event not in ("replied", "created") or change.message_id is None:
        return
    message = Message.objects.select_related("ticket").filter(pk=change.message_id).first()
    if message is None or message.visibility != Visibility.PUBLIC:
        return
    if message.author_type not in (AuthorType.AGENT, AuthorType.SYSTEM):
        return
    ticket = message.ticket
    if ticket.channel not in EMAIL_CHANNELS:
        return
    mailbox = _mailbox_for(ticket.pk)
    address = _customer_address(ticket.requester_id)
    if not address:
        Message.objects.filter(pk=message.pk).update(delivery_status="failed",
                                                     delivery_error="The customer has no email address.")
        return
    domain = (mailbox.address if mailbox else settings.DEFAULT_FROM_EMAIL).rsplit("@", 1)[-1].strip(">").strip()
    outbound = OutboundEmail.objects.create(ticket_message=message, mailbox=mailbox, to_address=address,
                                            message_id=make_msgid(domain=domain or "cxdesk.localhost")[1:-1])
    EmailThreadId.objects.create(message_id=outbound.message_id, ticket=ticket, ticket_message=message,
                                 direction=ThreadDirection.OUTBOUND)
    Message.objects.filter(pk=message.pk).update(delivery_status="queued", delivery_error="")
    transaction.on_commit(partial(send_outbound_email.enqueue, outbound_id=outbound.pk))


def build_email(outbound: OutboundEmail) -> EmailMultiAlternatives:
    message = outbound.ticket_message
    ticket = message.ticket
    mailbox = outbound.mailbox
    sender = formataddr((mailbox.brand_name, mailbox.address)) if mailbox is not None else settings.DEFAULT_FROM_EMAIL
    thread = list(EmailThreadId.objects.filter(ticket=ticket).exclude(message_id=outbound.message_id)
                  .order_by("created_at", "id").values_list("message_id", "direction"))
    references = [f"<{mid}>" for mid, _ in thread][-20:]
    last_inbound = [mid for mid, direction in thread if direction == ThreadDirection.INBOUND]
    headers = {"Message-ID": f"<{outbound.message_id}>", "X-Cxdesk-Ticket": str(ticket.pk)}
    if last_inbound or references:
        headers["In-Reply-To"] = f"<{last_inbound[-1]}>" if last_inbound else references[-1]
        headers["References"] = " ".join(references)
    if message.author_type == AuthorType.SYSTEM:
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: other robots must not answer it
    subject = ticket.subject
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    subject = f"{subject} [#{ticket.pk}]"
    signature = mailbox.signature.strip() if mailbox and message.author_type == AuthorType.AGENT else ""
    text = message.body_text + (f"\n\n-- \n{signature}" if signature else "")
    html = message.body_html or linebreaks(escape(message.body_text))
    if signature:
        html += f'<div class="signature">{linebreaks(escape(signature))}</div>'
    ccs = [i.value for i in CustomerIdentity.objects.filter(customer__in=ticket.ccs.all(), kind="email",
                                                           is_primary=True)]
    email = EmailMultiAlternatives(subject=subject, body=text, from_email=sender, to=[outbound.to_address],
                                   cc=[c for c in ccs if c != outbound.to_address], headers=headers,
                                   reply_to=[mailbox.address] if mailbox else None)
    email.attach_alternative(f"<html><body>{html}</body></html>", "text/html")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type or "application/octet-stream")
    return email


def _temporary(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | TimeoutError
                      | OSError)


@task()
def send_outbound_email(*, outbound_id: int) -> str:
    """Send one outbound email; safe to run twice (a sent one is not sent again)."""
    pending = [OutboundStatus.QUEUED, OutboundStatus.RETRYING]
    claimed = OutboundEmail.objects.filter(pk=outbound_id, status__in=pending).update(
        status=OutboundStatus.QUEUED, next_attempt_at=None)
    if not claimed:
        return "skipped"
    outbound = OutboundEmail.objects.select_related("ticket_message", "ticket_message__ticket", "mailbox").get(
        pk=outbound_id)
    attempts = outbound.attempts + 1
    try:
        email = build_email(outbound)
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([email])
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"[:480]
        if _temporary(error) and attempts < MAX_ATTEMPTS:
            delay = RETRY_BACKOFF[min(attempts - 1, len(RETRY_BACKOFF) - 1)]
            OutboundEmail.objects.filter(pk=outbound_id).update(
                status=OutboundStatus.RETRYING, attempts=attempts, last_error=reason,
                next_attempt_at=timezone.now() + delay)
            Message.objects.filter(pk=outbound.ticket_message_id).update(delivery_status="queued",
                                                                  delivery_error=f"retrying: {reason}")
            logger.warning("outbound email %s failed temporarily (attempt %s): %s", outbound_id, attempts, reason)
            return "retrying"
        OutboundEmail.objects.filter(pk=outbound_id).update(status=OutboundStatus.FAILED, attempts=attempts,
                                                            last_error=reason)
        Message.objects.filter(pk=outbound.ticket_message_id).update(delivery_status="failed", delivery_error=reason)
        logger.warning("outbound email %s failed: %s", outbound_id, reason)
        return "failed"
    now = timezone.now()
    OutboundEmail.objects.filter(pk=outbound_id).update(status=OutboundStatus.SENT, attempts=attempts,
                                                        sent_at=now, last_error="")
    Message.objects.filter(pk=outbound.ticket_message_id).update(delivery_status="sent", delivery_error="")
    ticket = outbound.ticket_message.ticket
    # The journey sees the email itself (also for web-form tickets answered by email). An erased customer
    # takes no new touchpoints; the delivery stays recorded either way.
    with contextlib.suppress(DomainError), transaction.atomic():
        touchpoint_record(customer=ticket.requester, kind="email.sent", channel="email", stage="support",
                          occurred_at=now, properties={"ticket_id": ticket.pk, "subject": ticket.subject[:120]},
                          source="mail", external_id=outbound.message_id)
    return "sent"


def outbound_retries_enqueue_due(now: datetime) -> int:
    """Periodic job: queue the retries whose time has come."""
    due = list(OutboundEmail.objects.filter(status=OutboundStatus.RETRYING, next_attempt_at__lte=now)
               .values_list("pk", flat=True)[:200])
    for outbound_id in due:
        send_outbound_email.enqueue(outbound_id=outbound_id)
    return len(due)
