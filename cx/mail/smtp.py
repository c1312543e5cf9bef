"""The built-in inbound SMTP listener (aiosmtpd).

It accepts mail only for active mailbox addresses (others are refused at RCPT with ``550 5.1.1``), refuses
messages over the largest mailbox limit while they are being sent (``552``, aiosmtpd's data size limit) and
over the recipient mailbox's own limit after DATA, and hands every accepted message to the inbound pipeline.
A failure inside cxdesk answers ``451`` (the sender retries later) and never stops the listener.
"""

from __future__ import annotations

import logging

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.db.models import Max

from cx.mail.models import InboundSource, Mailbox

logger = logging.getLogger("cx.mail.smtp")
DEFAULT_SIZE_LIMIT = 25 * 1024 * 1024


def _mailbox_limit(address: str) -> int | None:
    close_old_connections()
    mailbox = Mailbox.objects.filter(address=address.strip().lower(), is_active=True).only(
        "max_message_bytes").first()
    return mailbox.max_message_bytes if mailbox else None


def _receive(raw: bytes, recipients: list[str]) -> str:
    from cx.mail.services import inbound_email_receive

    close_old_connections()
    row = inbound_email_receive(raw=raw, source=InboundSource.SMTP, recipients=recipients)
    return f"{row.pk} {row.status}"


def largest_limit() -> int:
    close_old_connections()
    return Mailbox.objects.filter(is_active=True).aggregate(m=Max("max_message_bytes"))["m"] or DEFAULT_SIZE_LIMIT


class InboundHandler:
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            limit = await sync_to_async(_mailbox_limit, thread_sensitive=True)(address)
        except Exception:
            logger.exception("mailbox lookup failed")
            return "451 4.3.0 Temporary failure, please try again later"
        if limit is None:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            limits = [await sync_to_async(_mailbox_limit, thread_sensitive=True)(r) for r in envelope.rcpt_tos]
            limits = [limit for limit in limits if limit]
            if limits and len(raw) > max(limits):
                return f"552 5.3.4 Message too big: {len(raw)} bytes, this mailbox accepts {max(limits)}"
            result = await sync_to_async(_receive, thread_sensitive=True)(raw, list(envelope.rcpt_tos))
        except Exception:
            logger.exception("inbound SMTP message could not be processed")
            return "451 4.3.0 Temporary failure, please try again later"
        return f"250 2.0.0 OK: {result}"


def make_controller(*, host: str, port: int, size_limit: int | None = None) -> Controller:
    limit = size_limit or largest_limit()
    return Controller(InboundHandler(), hostname=host, port=port, data_size_limit=limit,
                      server_hostname="cxdesk", ident="cxdesk ESMTP",
                      # aiosmtpd's self-check defaults to 1 s-scale waits; a busy machine needs longer.
                      ready_timeout=60.0)
