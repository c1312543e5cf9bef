"""Reads for customers: permission-checked getters, search and keyset-paginated lists."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound, ValidationFailed
from cx.customers.models import Customer, CustomerIdentity, Organization

MAX_QUERY_LENGTH = 200


def customer_search(*, actor: User, query: str = "", include_inactive: bool = False,
                    token_scope: AccessLevel | None = None) -> QuerySet[Customer]:
    """Customers matching a name, organisation or any identity value, newest first."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationFailed("The search is too long.", fields={"q": f"at most {MAX_QUERY_LENGTH} characters"})
    qs = Customer.objects.select_related("organization").prefetch_related("identities")
    if not include_inactive:
        qs = qs.filter(merged_into__isnull=True, erased_at__isnull=True)
    query = query.strip()
    if query:
        identity_match = CustomerIdentity.objects.filter(value__icontains=query).values("customer_id")
        qs = qs.filter(
            Q(display_name__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(organization__name__icontains=query)
            | Q(pk__in=identity_match)
        )
    return qs.order_by("-id")


def customer_get_for(*, actor: User, customer_id: int, token_scope: AccessLevel | None = None) -> Customer:
    """The customer if the actor may read it; NotFound otherwise (never a raw .get() in a view)."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    customer = (
        Customer.objects.select_related("organization", "merged_into")
        .prefetch_related("identities")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise NotFound(f"No customer with id {customer_id}.")
    return customer


def customer_find_by_identity(*, kind: str, value: str) -> Customer | None:
    """For inbound channels: the live customer owning an identity (values must be normalised)."""
    identity = CustomerIdentity.objects.select_related("customer").filter(kind=kind, value=value).first()
    return identity.customer if identity else None


def organization_list(*, actor: User, query: str = "", token_scope: AccessLevel | None = None
                      ) -> QuerySet[Organization]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    qs = Organization.objects.all()
    if query.strip():
        qs = qs.filter(Q(name__icontains=query.strip()) | Q(domain__icontains=query.strip()))
    return qs.order_by("name")


def organization_get_for(*, actor: User, organization_id: int, token_scope: AccessLevel | None = None
                         ) -> Organization:
    org = organization_list(actor=actor, token_scope=token_scope).filter(pk=organization_id).first()
    if org is None:
        raise NotFound(f"No organisation with id {organization_id}.")
    return org
