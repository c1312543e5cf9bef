"""Permission-checked reads for the email channel."""

from __future__ import annotations

from django.db.models import QuerySet

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound, ValidationFailed
from cx.mail.models import BouncingAddress, InboundEmail, InboundStatus, Mailbox, RoutingRule
from cx.tickets.models import Attachment
from cx.tickets.selectors import message_get_for, ticket_get_for


def mailbox_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[Mailbox]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return Mailbox.objects.select_related("team").prefetch_related("rules")


def mailbox_get(*, actor: User, mailbox_id: int, token_scope: AccessLevel | None = None) -> Mailbox:
    mailbox = mailbox_list(actor=actor, token_scope=token_scope).filter(pk=mailbox_id).first()
    if mailbox is None:
        raise NotFound(f"No mailbox with id {mailbox_id}.")
    return mailbox


def routing_rule_get(*, actor: User, mailbox: Mailbox, rule_id: int) -> RoutingRule:
    require_access(actor, AccessLevel.ADMIN)
    rule = mailbox.rules.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"No rule with id {rule_id} in this mailbox.")
    return rule


def bouncing_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[BouncingAddress]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return BouncingAddress.objects.select_related("customer").order_by("-last_bounced_at")


def inbound_list(*, actor: User, status: str = InboundStatus.QUARANTINED,
                 token_scope: AccessLevel | None = None) -> QuerySet[InboundEmail]:
    """Received mail by status (admins): the quarantine and what happened to the rest."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    if status and status not in InboundStatus.values:
        raise ValidationFailed("Unknown status.", fields={"status": f"one of {', '.join(InboundStatus.values)}"})
    qs = InboundEmail.objects.select_related("mailbox")
    return qs.filter(status=status) if status else qs


def inbound_get(*, actor: User, inbound_id: int, token_scope: AccessLevel | None = None) -> InboundEmail:
    """Admins see any received mail; agents only mail that belongs to a ticket they may see."""
    inbound = InboundEmail.objects.select_related("mailbox", "ticket").filter(pk=inbound_id).first()
    if inbound is None:
        raise NotFound(f"No received email with id {inbound_id}.")
    if getattr(actor, "is_cx_admin", False) and (token_scope is None or token_scope >= AccessLevel.ADMIN):
        return inbound
    if inbound.ticket_id is None:
        raise NotFound(f"No received email with id {inbound_id}.")
    ticket_get_for(actor=actor, ticket_id=inbound.ticket_id, token_scope=token_scope)
    return inbound


def inbound_for_message(*, actor: User, message_id: int) -> InboundEmail:
    message = message_get_for(actor=actor, message_id=message_id)
    inbound = InboundEmail.objects.filter(ticket_message_id=message.pk).select_related("ticket").order_by("id").first()
    if inbound is None:
        raise NotFound("This message did not arrive by email.")
    return inbound


def inline_attachment_get(*, actor: User, attachment_id: int) -> Attachment:
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(f"No attachment with id {attachment_id}.")
    message_get_for(actor=actor, message_id=attachment.message_id)
    return attachment
