"""Writes for the email channel: mailboxes and routing rules (admin), and the inbound pipeline every path
(SMTP listener, IMAP poller, provider webhooks, API upload) goes through.

Inbound order: store the raw bytes → find the mailbox → size → parse → duplicate Message-ID (no-op) →
bounces / complaints → loops → per-sender rate limit → attachment checks (limits, zip bombs) → thread
(References / In-Reply-To, then the ``[#id]`` subject token) → new ticket or customer reply → inline images
→ auto-acknowledgement. Anything refused is kept, quarantined, with the reason an admin sees.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from cx.accounts.models import AccessLevel, Team, User
from cx.accounts.services import require_access, system_user_get
from cx.core.audit import audit_record
from cx.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from cx.customers.models import Customer
from cx.customers.selectors import customer_find_by_identity
from cx.customers.services import customer_create
from cx.mail.models import (
    BouncingAddress,
    EmailThreadId,
    InboundEmail,
    InboundSource,
    InboundStatus,
    Mailbox,
    RoutingRule,
    ThreadDirection,
)
from cx.mail.parsing import TOO_DEEP, ParsedAttachment, ParsedEmail, parse_message
from cx.mail.quotes import sanitize_html, strip_html_reply, strip_reply
from cx.mail.safety import archive_problem
from cx.tickets.models import Attachment, Channel, Message, Priority, Ticket
from cx.tickets.services import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_BODY,
    ticket_customer_reply,
    ticket_open_by_customer,
    ticket_reply,
    ticket_update,
)

logger = logging.getLogger("cx.mail")

GLOBAL_MAX_MESSAGE_BYTES = 50 * 1024 * 1024  # mail for no known mailbox is never stored beyond this
INLINE_URL_PREFIX = "/mail/inline/"
_TICKET_TOKEN = re.compile(r"\[#(\d{1,12})\]")
_NO_AUTO_REPLY_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)[@+\-]", re.I)
SYSTEM_USERNAME = "system-email"


def mail_system_user() -> User:
    return system_user_get(username=SYSTEM_USERNAME, label="Email")


# --- Mailboxes (admin) -----------------------------------------------------------------------------------

MAILBOX_FIELDS = {
    "address", "brand_name", "team_id", "signature", "is_active", "max_message_bytes", "max_attachment_bytes",
    "max_attachments", "sender_rate_limit", "auto_ack_enabled", "auto_ack_body",
    "imap_enabled", "imap_host", "imap_port", "imap_ssl", "imap_username", "imap_password", "imap_folder",
    "imap_processed_folder",
}
_LIMITS = {"max_message_bytes": (1024, GLOBAL_MAX_MESSAGE_BYTES), "max_attachment_bytes": (1, MAX_ATTACHMENT_BYTES),
           "max_attachments": (0, MAX_ATTACHMENTS), "sender_rate_limit": (1, 10_000), "imap_port": (1, 65535)}
_TEXT_LIMITS = {"brand_name": 100, "imap_host": 255, "imap_username": 255,
                "imap_password": 255, "imap_folder": 100, "imap_processed_folder": 100, "signature": 5000,
                "auto_ack_body": 10_000}


def _clean_mailbox(values: dict[str, Any], current: Mailbox | None) -> dict[str, Any]:
    unknown = set(values) - MAILBOX_FIELDS
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key == "address":
            address = (value or "").strip().lower() if isinstance(value, str) else ""
            try:
                validate_email(address)
            except ValidationError:
                errors[key] = "not a valid email address"
                continue
            clash = Mailbox.objects.filter(address=address)
            if current is not None:
                clash = clash.exclude(pk=current.pk)
            if clash.exists():
                errors[key] = "another mailbox already uses this address"
                continue
            clean[key] = address
        elif key == "team_id":
            if value in (None, ""):
                clean["team"] = None
                continue
            team = Team.objects.filter(pk=value).first() if str(value).isdigit() else None
            if team is None:
                errors[key] = "no such team"
                continue
            clean["team"] = team
        elif key in _LIMITS:
            low, high = _LIMITS[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                errors[key] = f"a whole number from {low} to {high}"
                continue
            clean[key] = value
        elif key in {"is_active", "auto_ack_enabled", "imap_enabled", "imap_ssl"}:
            if not isinstance(value, bool):
                errors[key] = "true or false"
                continue
            clean[key] = value
        else:
            if not isinstance(value, str):
                errors[key] = "must be text"
                continue
            text = value if key in {"signature", "auto_ack_body", "imap_password"} else value.strip()
            if len(text) > _TEXT_LIMITS[key]:
                errors[key] = f"at most {_TEXT_LIMITS[key]} characters"
                continue
            clean[key] = text
    merged = {**({f: getattr(current, f) for f in ("brand_name", "imap_enabled", "imap_host", "imap_username")}
                 if current else {}), **clean}
    if current is None:
        for required in ("address", "brand_name"):
            if required not in clean and required not in errors:
                errors[required] = "required"
    elif "brand_name" in clean and not clean["brand_name"]:
        errors["brand_name"] = "required"
    if merged.get("imap_enabled") and not (merged.get("imap_host") and merged.get("imap_username")):
        errors.setdefault("imap_host", "IMAP needs a host and a username")
    if errors:
        raise ValidationFailed("Some mailbox fields are missing or invalid.", fields=errors)
    return clean


@transaction.atomic
def mailbox_create(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> Mailbox:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    clean = _clean_mailbox(values, None)
    mailbox = Mailbox.objects.create(**clean)
    audit_record(actor=actor, action="mailbox.created", target_type="mailbox", target_id=mailbox.pk,
                 data={"address": mailbox.address})
    return mailbox


@transaction.atomic
def mailbox_update(*, actor: User, mailbox: Mailbox, values: dict[str, Any],
                   token_scope: AccessLevel | None = None) -> Mailbox:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    clean = _clean_mailbox(values, mailbox)
    if clean.get("imap_password", None) == "":
        clean.pop("imap_password")  # an empty password field keeps the stored one
    for key, value in clean.items():
        setattr(mailbox, key, value)
    mailbox.save()
    audit_record(actor=actor, action="mailbox.updated", target_type="mailbox", target_id=mailbox.pk,
                 data={"fields": sorted(k for k in clean if k != "imap_password")
                       + (["imap_password"] if "imap_password" in clean else [])})
    return mailbox


@transaction.atomic
def mailbox_delete(*, actor: User, mailbox: Mailbox, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="mailbox.deleted", target_type="mailbox", target_id=mailbox.pk,
                 data={"address": mailbox.address})
    mailbox.delete()


def _clean_rule(values: dict[str, Any]) -> dict[str, Any]:
    allowed = {"position", "sender_domain", "keywords", "team_id", "priority", "tags", "is_active"}
    unknown = set(values) - allowed
    errors: dict[str, str] = dict.fromkeys(sorted(unknown), "unknown field")
    clean: dict[str, Any] = {}
    if "position" in values:
        if not isinstance(values["position"], int) or isinstance(values["position"], bool) \
                or not 0 <= values["position"] <= 10_000:
            errors["position"] = "a whole number from 0 to 10000"
        else:
            clean["position"] = values["position"]
    if "sender_domain" in values:
        domain = str(values["sender_domain"] or "").strip().lower().lstrip("@")
        if domain and not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
            errors["sender_domain"] = "a domain such as example.com"
        else:
            clean["sender_domain"] = domain
    for key in ("keywords", "tags"):
        if key in values:
            items = values[key]
            if isinstance(items, str):
                items = list(items.split(","))
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                errors[key] = "a list of words"
                continue
            items = [i.strip() for i in items if i.strip()]
            if len(items) > 30 or any(len(i) > 50 for i in items):
                errors[key] = "at most 30 entries of 50 characters"
                continue
            clean[key] = items
    if "team_id" in values:
        value = values["team_id"]
        if value in (None, ""):
            clean["team"] = None
        else:
            team = Team.objects.filter(pk=value).first() if str(value).isdigit() else None
            if team is None:
                errors["team_id"] = "no such team"
            else:
                clean["team"] = team
    if "priority" in values:
        if values["priority"] not in ("", None, *Priority.values):
            errors["priority"] = f"one of {', '.join(Priority.values)} or empty"
        else:
            clean["priority"] = values["priority"] or ""
    if "is_active" in values:
        if not isinstance(values["is_active"], bool):
            errors["is_active"] = "true or false"
        else:
            clean["is_active"] = values["is_active"]
    if errors:
        raise ValidationFailed("Some rule fields are invalid.", fields=errors)
    return clean


@transaction.atomic
def routing_rule_create(*, actor: User, mailbox: Mailbox, values: dict[str, Any],
                        token_scope: AccessLevel | None = None) -> RoutingRule:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    clean = _clean_rule(values)
    if not clean.get("sender_domain") and not clean.get("keywords"):
        raise ValidationFailed("A rule needs a sender domain or keywords.",
                               fields={"sender_domain": "a sender domain or keywords are required"})
    if not (clean.get("team") or clean.get("priority") or clean.get("tags")):
        raise ValidationFailed("A rule must set a team, a priority or tags.",
                               fields={"team_id": "set a team, a priority or tags"})
    rule = RoutingRule.objects.create(mailbox=mailbox, **clean)
    audit_record(actor=actor, action="mailbox.rule_created", target_type="mailbox", target_id=mailbox.pk,
                 data={"rule_id": rule.pk})
    return rule


@transaction.atomic
def routing_rule_delete(*, actor: User, rule: RoutingRule, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="mailbox.rule_deleted", target_type="mailbox", target_id=rule.mailbox_id,
                 data={"rule_id": rule.pk})
    rule.delete()


def routing_rule_match(*, mailbox: Mailbox, sender: str, subject: str, body: str) -> RoutingRule | None:
    domain = sender.rsplit("@", 1)[-1].lower() if "@" in sender else ""
    haystack = f"{subject}\n{body}".lower()
    for rule in mailbox.rules.filter(is_active=True).select_related("team"):
        if rule.sender_domain and not (domain == rule.sender_domain or domain.endswith("." + rule.sender_domain)):
            continue
        if rule.keywords and not any(k.lower() in haystack for k in rule.keywords):
            continue
        return rule
    return None


# --- Inbound pipeline ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailboxMatch:
    mailbox: Mailbox | None
    recipient: str


def mailbox_for_recipients(recipients: list[str]) -> MailboxMatch:
    wanted = [r.strip().lower() for r in recipients if r and r.strip()]
    if not wanted:
        return MailboxMatch(None, "")
    found = {m.address: m for m in Mailbox.objects.filter(address__in=wanted, is_active=True)}
    for address in wanted:
        if address in found:
            return MailboxMatch(found[address], address)
    return MailboxMatch(None, wanted[0])


def _store_raw(row: InboundEmail, raw: bytes) -> None:
    digest = hashlib.sha256(raw).hexdigest()[:16]
    row.raw.save(f"{digest}.eml", ContentFile(raw), save=False)


def _quarantine(row: InboundEmail, reason: str) -> InboundEmail:
    row.status = InboundStatus.QUARANTINED
    row.reason = reason[:500]
    row.save()
    audit_record(actor=None, action="mail.quarantined", target_type="inbound_email", target_id=row.pk,
                 data={"reason": row.reason, "from": row.from_address})
    logger.info("inbound mail %s quarantined: %s", row.pk, row.reason)
    return row


def _customer_for(*, address: str, name: str) -> Customer:
    existing = customer_find_by_identity(kind="email", value=address)
    if existing is not None:
        if existing.merged_into_id:
            return Customer.objects.get(pk=existing.merged_into_id)
        return existing
    display = name or address.split("@", 1)[0]
    try:
        with transaction.atomic():
            return customer_create(actor=None, display_name=display[:200],
                                   identities=[{"kind": "email", "value": address, "is_primary": True}])
    except (Conflict, IntegrityError, ValidationFailed):
        existing = customer_find_by_identity(kind="email", value=address)
        if existing is None:
            raise
        return existing


def _valid_address(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return len(address) <= 254


def _thread_ticket(parsed: ParsedEmail, sender: Customer) -> Ticket | None:
    """The ticket this message continues: known Message-IDs first, then the subject token."""
    ids = parsed.thread_ids
    if ids:
        known = {t.message_id: t.ticket_id for t in EmailThreadId.objects.filter(message_id__in=ids)}
        for message_id in ids:
            if message_id in known:
                return Ticket.objects.get(pk=known[message_id])
        # Messages stored by other channels (e.g. a web form confirmation) carry their id in external_id.
        hit = Message.objects.filter(external_id__in=[f"<{i}>" for i in ids] + ids, channel__in=[
            Channel.EMAIL, Channel.WEB]).values_list("ticket_id", flat=True).first()
        if hit:
            return Ticket.objects.get(pk=hit)
    for token in _TICKET_TOKEN.findall(parsed.subject):
        ticket = Ticket.objects.filter(pk=int(token)).first()
        # Only the requester or a CC may add to a ticket by its number, so a guessed number leaks nothing.
        if ticket is not None and (ticket.requester_id == sender.pk or ticket.ccs.filter(pk=sender.pk).exists()):
            return ticket
    return None


def _attachment_problem(parsed: ParsedEmail, mailbox: Mailbox) -> str | None:
    limit_count = min(mailbox.max_attachments, MAX_ATTACHMENTS)
    limit_bytes = min(mailbox.max_attachment_bytes, MAX_ATTACHMENT_BYTES)
    if len(parsed.attachments) > limit_count:
        return f"too many attachments: {len(parsed.attachments)} (this mailbox accepts {limit_count})"
    for attachment in parsed.attachments:
        if len(attachment.payload) > limit_bytes:
            return (f"attachment {attachment.filename!r} is {len(attachment.payload) // 1024} KB "
                    f"(this mailbox accepts {limit_bytes // 1024} KB)")
        problem = archive_problem(attachment.payload)
        if problem:
            return f"attachment {attachment.filename!r} refused: {problem}"
    return None


def _uploads(attachments: list[ParsedAttachment]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(a.filename or "attachment.bin", a.payload, content_type=a.content_type)
            for a in attachments]


def _rewrite_inline_images(message: Message, parsed_html: str, attachments: list[ParsedAttachment]) -> str:
    """cid: links point at the stored attachments' agent-only URLs."""
    stored = list(Attachment.objects.filter(message=message).order_by("id"))
    html = parsed_html
    for parsed_attachment, attachment in zip(attachments, stored, strict=False):
        if parsed_attachment.content_id:
            cid = re.escape(parsed_attachment.content_id)
            html = re.sub(rf"(?i)cid:{cid}(?=[\"'\s>])", f"{INLINE_URL_PREFIX}{attachment.pk}/", html)
    return html


def _auto_submitted(parsed: ParsedEmail) -> bool:
    return (parsed.auto_submitted not in ("", "no") or parsed.precedence in ("bulk", "list", "junk", "auto_reply")
            or bool(parsed.list_id) or bool(_NO_AUTO_REPLY_SENDERS.match(parsed.from_address)))


def _mark_bouncing(parsed: ParsedEmail, row: InboundEmail) -> list[str]:
    marked = []
    now = timezone.now()
    for address in parsed.bounced_recipients[:20]:
        if not _valid_address(address) or Mailbox.objects.filter(address=address).exists():
            continue
        customer = customer_find_by_identity(kind="email", value=address)
        entry, _ = BouncingAddress.objects.get_or_create(address=address, defaults={"last_bounced_at": now,
                                                                                  "customer": customer})
        BouncingAddress.objects.filter(pk=entry.pk).update(
            bounce_count=entry.bounce_count + 1, last_bounced_at=now, customer=customer or entry.customer,
            last_reason=f"{'complaint' if parsed.is_complaint else 'bounce'}: {parsed.subject}"[:500])
        marked.append(address)
    audit_record(actor=None, action="mail.bounce", target_type="inbound_email", target_id=row.pk,
                 data={"addresses": marked})
    return marked


@transaction.atomic
def inbound_email_receive(*, raw: bytes, source: str, recipients: list[str] | None = None,
                          force: bool = False) -> InboundEmail:
    """Process one received message. Never raises for bad mail: the result says what happened.

    ``recipients`` are the envelope recipients (RCPT TO, provider's recipient field); without them the To, Cc
    and Delivered-To headers are used. ``force`` (an admin releasing quarantined mail) skips the rate limit
    and attachment limits (offending attachments are left out)."""
    if source not in InboundSource.values:
        raise ValidationFailed("Unknown source.", fields={"source": f"one of {', '.join(InboundSource.values)}"})
    row = InboundEmail(source=source, size=len(raw), status=InboundStatus.QUARANTINED)
    match = mailbox_for_recipients(recipients or [])
    limit = match.mailbox.max_message_bytes if match.mailbox else GLOBAL_MAX_MESSAGE_BYTES
    if len(raw) > max(limit, GLOBAL_MAX_MESSAGE_BYTES if force else limit):
        _store_raw(row, raw[:GLOBAL_MAX_MESSAGE_BYTES])
        row.mailbox, row.recipient = match.mailbox, match.recipient
        return _quarantine(row, f"message too large: {len(raw) // 1024} KB (limit {limit // 1024} KB)")
    _store_raw(row, raw)
    parsed = parse_message(raw)
    row.message_id = parsed.message_id
    row.from_address = parsed.from_address[:254]
    row.subject = parsed.subject[:250]
    row.defects = parsed.defects[:20]
    if match.mailbox is None:
        match = mailbox_for_recipients([r for _, r in parsed.to + parsed.cc])
        if match.mailbox is None and recipients:
            match = MailboxMatch(None, recipients[0].lower())
    row.mailbox, row.recipient = match.mailbox, match.recipient[:254]
    full_html = sanitize_html(parsed.html, inline_url_prefix=INLINE_URL_PREFIX) if parsed.html else ""
    row.full_text = parsed.text[:MAX_BODY * 2]
    row.full_html = full_html[:MAX_BODY * 4]

    if parsed.message_id and not force:
        original = InboundEmail.objects.filter(message_id=parsed.message_id).exclude(
            status=InboundStatus.QUARANTINED).order_by("id").first()
        if original is not None or EmailThreadId.objects.filter(message_id=parsed.message_id).exists():
            row.raw.delete(save=False)
            if original is not None:
                return original
            row.status, row.reason = InboundStatus.DUPLICATE, "this Message-ID was already processed"
            row.save()
            return row
    if match.mailbox is None:
        return _quarantine(row, f"unknown recipient: {match.recipient or 'no recipient address'} is not a mailbox")
    mailbox = match.mailbox
    if parsed.is_bounce or parsed.is_complaint:
        row.status = InboundStatus.BOUNCE
        row.save()
        marked = _mark_bouncing(parsed, row)
        kind = "spam complaint" if parsed.is_complaint else "delivery failure report"
        row.reason = f"{kind} for {', '.join(marked) or 'an unknown address'}"[:500]
        row.save()
        return row
    if TOO_DEEP in parsed.defects:
        return _quarantine(row, f"malformed: {TOO_DEEP} (a MIME bomb)")
    sender = parsed.from_address
    if not sender or not _valid_address(sender):
        return _quarantine(row, "malformed: no valid sender address in From"
                           + (f" ({parsed.defects[0]})" if parsed.defects else ""))
    if Mailbox.objects.filter(address=sender).exists():
        row.status, row.reason = InboundStatus.IGNORED, f"mail loop: sent from our own mailbox {sender}"
        row.save()
        return row
    if not force:
        window = timezone.now() - timedelta(hours=1)
        recent = InboundEmail.objects.filter(from_address=sender, received_at__gte=window,
                                             status=InboundStatus.ACCEPTED).count()
        if recent >= mailbox.sender_rate_limit:
            return _quarantine(row, f"rate limit: {sender} sent more than {mailbox.sender_rate_limit} "
                                    "messages in the last hour")
    attachments = parsed.attachments
    problem = _attachment_problem(parsed, mailbox)
    dropped: list[str] = []
    if problem and not force:
        return _quarantine(row, problem)
    if problem:
        keep = []
        for attachment in attachments:
            too_big = len(attachment.payload) > min(mailbox.max_attachment_bytes, MAX_ATTACHMENT_BYTES)
            if too_big or archive_problem(attachment.payload) or len(keep) >= min(mailbox.max_attachments,
                                                                                   MAX_ATTACHMENTS):
                dropped.append(attachment.filename)
            else:
                keep.append(attachment)
        attachments = keep

    stripped = strip_reply(parsed.text)
    body = stripped.reply.strip() or parsed.text.strip() or "(This email has no text.)"
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY - 40] + "\n\n[Message shortened; see the original.]"
    reply_html = strip_html_reply(parsed.html) if parsed.html else ""
    try:
        with transaction.atomic():
            customer = _customer_for(address=sender, name=parsed.from_name)
            own = set(Mailbox.objects.values_list("address", flat=True))
            cc_customers = []
            for name, address in parsed.cc + [(n, a) for n, a in parsed.to]:
                if address in own or address == sender or not _valid_address(address):
                    continue
                if address in {a for _, a in parsed.cc}:
                    cc_customers.append(_customer_for(address=address, name=name))
            cc_customers = cc_customers[:20]
            ticket = _thread_ticket(parsed, customer)
            external_id = parsed.message_id
            uploads = _uploads(attachments)
            if ticket is None:
                rule = routing_rule_match(mailbox=mailbox, sender=sender, subject=parsed.subject, body=body)
                priority = rule.priority if rule and rule.priority else Priority.NORMAL
                subject = parsed.subject.strip() or body.splitlines()[0][:80] or "(no subject)"
                opened = ticket_open_by_customer(requester=customer, subject=subject[:250], body=body,
                                                 channel=Channel.EMAIL, external_id=external_id, ccs=cc_customers,
                                                 priority=priority, attachments=uploads)
                ticket, message, is_new = opened.ticket, opened.message, True
                changes: dict[str, Any] = {}
                team = rule.team if rule and rule.team else mailbox.team
                if team is not None:
                    changes["team_id"] = team.pk
                if rule and rule.tags:
                    changes["tags"] = rule.tags
                if changes:
                    ticket = ticket_update(actor=mail_system_user(), ticket=ticket, changes=changes)
            else:
                message = ticket_customer_reply(ticket=ticket, customer=customer, body=body, channel=Channel.EMAIL,
                                                external_id=external_id, attachments=uploads)
                is_new = message.ticket_id != ticket.pk
                ticket = message.ticket
                if cc_customers:
                    ticket.ccs.add(*[c for c in cc_customers if c.pk != ticket.requester_id])
            if reply_html:
                rewritten = _rewrite_inline_images(message, reply_html, attachments)
                Message.objects.filter(pk=message.pk).update(
                    body_html=sanitize_html(rewritten, inline_url_prefix=INLINE_URL_PREFIX)[:MAX_BODY * 4])
                row.full_html = sanitize_html(_rewrite_inline_images(message, parsed.html, attachments),
                                              inline_url_prefix=INLINE_URL_PREFIX)[:MAX_BODY * 4]
            if dropped:
                ticket_reply(actor=mail_system_user(), ticket=ticket, visibility="internal", automated=True,
                             body=f"Left out of the email (released from quarantine: {problem}): {', '.join(dropped)}")
    except DomainError as error:
        # e.g. no active "new" status: keep the mail, tell the admin, let them release it once fixed.
        return _quarantine(row, f"could not create the ticket: {error.message}")
    row.status = InboundStatus.ACCEPTED
    row.reason = "new ticket" if is_new else "added to the ticket"
    row.ticket, row.ticket_message = ticket, message
    row.quoted_text = stripped.quoted[:MAX_BODY]
    row.signature = stripped.signature[:5000]
    row.save()
    if parsed.message_id:
        EmailThreadId.objects.get_or_create(message_id=parsed.message_id, defaults={
            "ticket": ticket, "ticket_message": message, "direction": ThreadDirection.INBOUND})
    if is_new and mailbox.auto_ack_enabled and not _auto_submitted(parsed) \
            and not BouncingAddress.objects.filter(address=sender).exists():
        _acknowledge(mailbox=mailbox, ticket=ticket, customer=customer)
    return row


def _render(template: str, ticket: Ticket, customer: Customer) -> str:
    values = {"ticket.id": str(ticket.pk), "ticket.subject": ticket.subject,
              "customer.name": customer.display_name or customer.primary_email or "", }
    return re.sub(r"\{\{\s*([a-z_.]+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _acknowledge(*, mailbox: Mailbox, ticket: Ticket, customer: Customer) -> None:
    """The auto-acknowledgement is an automated public reply: the outbound observer mails it."""
    body = _render(mailbox.auto_ack_body, ticket, customer).strip()
    if body:
        ticket_reply(actor=mail_system_user(), ticket=ticket, body=body, automated=True)


@transaction.atomic
def inbound_email_release(*, actor: User, inbound: InboundEmail) -> InboundEmail:
    """An admin lets a quarantined message through (limits aside); the quarantined row is kept as released."""
    require_access(actor, AccessLevel.ADMIN)
    if inbound.status != InboundStatus.QUARANTINED:
        raise Conflict("Only quarantined mail can be released.")
    try:
        with inbound.raw.open("rb") as handle:
            raw = handle.read()
    except (FileNotFoundError, ValueError):
        raise NotFound("The stored message is missing.") from None
    recipients = [inbound.recipient] if inbound.recipient else []
    result = inbound_email_receive(raw=raw, source=inbound.source, recipients=recipients, force=True)
    InboundEmail.objects.filter(pk=inbound.pk).update(status=InboundStatus.RELEASED,
                                                      reason=f"released by {actor.username}: {inbound.reason}"[:500])
    audit_record(actor=actor, action="mail.released", target_type="inbound_email", target_id=inbound.pk,
                 data={"result_id": result.pk, "result": result.status})
    return result


@transaction.atomic
def bouncing_address_clear(*, actor: User, address_id: int, token_scope: AccessLevel | None = None) -> None:
    """An admin confirms the address works again (e.g. the customer fixed their mailbox)."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    entry = BouncingAddress.objects.filter(pk=address_id).first()
    if entry is None:
        raise NotFound(f"No bouncing address with id {address_id}.")
    audit_record(actor=actor, action="mail.bounce_cleared", target_type="bouncing_address", target_id=entry.pk,
                 data={"address": entry.address})
    entry.delete()


def anymail_inbound_received(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """django-anymail's inbound signal (Mailgun, SendGrid, Postmark, Amazon SES): the same pipeline."""
    message = event.message
    if message is None:
        return
    raw = message.as_bytes()
    recipients = []
    envelope = getattr(message, "envelope_recipient", None)
    if envelope:
        recipients.append(str(envelope))
    inbound_email_receive(raw=raw, source=InboundSource.WEBHOOK, recipients=recipients)


class MailDataHandler:
    """Export, merge and erasure reach the raw mail and bounce records of a customer."""

    name = "mail"

    def export(self, *, customer_id: int) -> list[dict]:
        rows = InboundEmail.objects.filter(ticket__requester_id=customer_id).order_by("received_at")
        bounces = BouncingAddress.objects.filter(customer_id=customer_id)
        return [{"received_at": r.received_at.isoformat(), "from": r.from_address, "subject": r.subject,
                 "status": r.status, "ticket_id": r.ticket_id} for r in rows] + [
            {"bouncing_address": b.address, "bounces": b.bounce_count} for b in bounces]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ids = list(BouncingAddress.objects.filter(customer_id=source_id).values_list("pk", flat=True))
        BouncingAddress.objects.filter(pk__in=ids).update(customer_id=target_id)
        return ids

    def erase(self, *, customer_id: int) -> int:
        changed = 0
        for row in InboundEmail.objects.filter(Q(ticket__requester_id=customer_id)):
            if row.raw:
                row.raw.delete(save=False)
            InboundEmail.objects.filter(pk=row.pk).update(raw="", from_address="", full_text="", full_html="",
                                                          quoted_text="", signature="", subject="")
            changed += 1
        changed += BouncingAddress.objects.filter(customer_id=customer_id).delete()[0]
        return changed
