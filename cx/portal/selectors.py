"""What a signed-in customer may read: their own requests (as requester or CC) and, where an admin shares
them, their organisation's. Anything else is NotFound, so another customer's ticket id is a 404."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cx.core.errors import NotFound
from cx.customers.models import Customer
from cx.portal.models import OrganizationPortalAccess
from cx.tickets.models import Attachment, Message, Ticket


def organization_shares_tickets(*, customer: Customer) -> bool:
    if customer.organization_id is None:
        return False
    return OrganizationPortalAccess.objects.filter(organization_id=customer.organization_id,
                                                   members_see_all_tickets=True).exists()


def portal_tickets(*, customer: Customer) -> QuerySet[Ticket]:
    visible = Q(requester=customer) | Q(ccs=customer)
    if organization_shares_tickets(customer=customer):
        visible |= Q(organization_id=customer.organization_id)
    ids = Ticket.objects.filter(visible, merged_into__isnull=True).values("pk")
    return (Ticket.objects.filter(pk__in=ids).select_related("status", "requester")
            .order_by("-updated_at", "-id"))


def portal_ticket_get(*, customer: Customer, ticket_id: int) -> Ticket:
    ticket = portal_tickets(customer=customer).filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound("There is no such request.")
    return ticket


def portal_messages(*, ticket: Ticket) -> QuerySet[Message]:
    """The public conversation only: internal notes never reach customers."""
    return (ticket.messages.filter(visibility="public").select_related("author_agent", "author_customer")
            .prefetch_related("attachments").order_by("created_at", "id"))


def portal_attachment_get(*, customer: Customer, attachment_id: int) -> Attachment:
    """A file of a public message on a request the customer may read."""
    attachment = (Attachment.objects.select_related("message").filter(
        pk=attachment_id, message__visibility="public",
        message__ticket__in=portal_tickets(customer=customer).values("pk")).first())
    if attachment is None:
        raise NotFound("There is no such file.")
    return attachment
