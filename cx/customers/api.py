"""API endpoints for customers, their identities and organisations, merge, export and erasure."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Query, Router

from cx.accounts.models import AccessLevel
from cx.core.errors import NotFound, ValidationFailed
from cx.core.pagination import cursor_decode, cursor_encode
from cx.customers import selectors, services
from cx.customers.schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPageOut,
    CustomerPatchIn,
    EraseOut,
    IdentityIn,
    IdentityOut,
    MergeIn,
    OrganizationIn,
    OrganizationOut,
    OrganizationPageOut,
    OrganizationPatchIn,
)

router = Router(tags=["customers"])

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_FORWARD, _BACKWARD = "n", "p"


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _keyset_page(qs: QuerySet, *, cursor: str | None, limit: int, key: str, descending: bool,
                 key_type: type) -> dict[str, Any]:
    """One page of ``qs`` ordered by the unique column ``key``, with opaque next/previous cursors.

    Keyset (not OFFSET) pagination: pages stay stable while rows are added and deep pages cost the same
    as the first. A cursor is ``[direction, key value]``; the query count does not depend on ``limit``.
    """
    direction, position = _FORWARD, None
    if cursor:
        direction, position = cursor_decode(cursor, size=2)
        valid_position = isinstance(position, key_type) and not isinstance(position, bool)
        if direction not in (_FORWARD, _BACKWARD) or not valid_position:
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"})
    after, before = ("lt", "gt") if descending else ("gt", "lt")
    order = f"-{key}" if descending else key
    reverse_order = key if descending else f"-{key}"

    def _exists(lookup: str, row: Model) -> bool:
        return qs.filter(**{f"{key}__{lookup}": getattr(row, key)}).exists()

    if direction == _FORWARD:
        page_qs = qs.filter(**{f"{key}__{after}": position}) if position is not None else qs
        rows = list(page_qs.order_by(order)[: limit + 1])
        has_more_after = len(rows) > limit
        rows = rows[:limit]
        # The first page has nothing before it; later pages ask (rows may have been deleted meanwhile).
        has_more_before = position is not None and bool(rows) and _exists(before, rows[0])
    else:
        rows = list(qs.filter(**{f"{key}__{before}": position}).order_by(reverse_order)[: limit + 1])
        has_more_before = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        has_more_after = bool(rows) and _exists(after, rows[-1])

    def _cursor(row: Model, towards: str) -> str:
        return cursor_encode([towards, getattr(row, key)])

    return {
        "next": _cursor(rows[-1], _FORWARD) if has_more_after else None,
        "previous": _cursor(rows[0], _BACKWARD) if has_more_before else None,
        "results": rows,
    }


def _customer(request: HttpRequest, customer_id: int):
    return selectors.customer_get_for(actor=request.auth, customer_id=customer_id, token_scope=_scope(request))


# --- Customers -------------------------------------------------------------------------------------
@router.get("/customers", response=CustomerPageOut,
            summary="Search customers by name, organisation or identity (email, phone, ...), newest first")
def customer_list(request: HttpRequest, q: str = "", cursor: str | None = None,
                  limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)):
    qs = selectors.customer_search(actor=request.auth, query=q, token_scope=_scope(request))
    return _keyset_page(qs, cursor=cursor, limit=limit, key="id", descending=True, key_type=int)


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer with identities")
def customer_create(request: HttpRequest, payload: CustomerIn):
    data = payload.model_dump(mode="json")
    customer = services.customer_create(actor=request.auth, token_scope=_scope(request), **data)
    return _customer(request, customer.pk)


@router.get("/customers/{int:customer_id}", response=CustomerOut,
            summary="A customer with identities and organisation (merged and erased records included)")
def customer_get(request: HttpRequest, customer_id: int):
    return _customer(request, customer_id)


@router.patch("/customers/{int:customer_id}", response=CustomerOut, summary="Change some fields of a customer")
def customer_update(request: HttpRequest, customer_id: int, payload: CustomerPatchIn):
    customer = _customer(request, customer_id)
    services.customer_update(actor=request.auth, customer=customer, values=payload.model_dump(exclude_unset=True),
                             token_scope=_scope(request))
    return _customer(request, customer_id)


@router.post("/customers/{int:customer_id}/identities", response={201: IdentityOut},
             summary="Add an identity (409 if it belongs to any customer already)")
def identity_add(request: HttpRequest, customer_id: int, payload: IdentityIn):
    customer = _customer(request, customer_id)
    return services.identity_add(actor=request.auth, customer=customer, kind=payload.kind.value,
                                 value=payload.value, is_primary=payload.is_primary, token_scope=_scope(request))


@router.delete("/customers/{int:customer_id}/identities/{int:identity_id}", response={204: None},
               summary="Remove an identity from a customer")
def identity_remove(request: HttpRequest, customer_id: int, identity_id: int):
    customer = _customer(request, customer_id)
    services.identity_remove(actor=request.auth, customer=customer, identity_id=identity_id,
                             token_scope=_scope(request))


@router.post("/customers/{int:customer_id}/merge", response=CustomerOut,
             summary="Merge the customer `source_id` into this one; its identities and timeline move here")
def customer_merge(request: HttpRequest, customer_id: int, payload: MergeIn):
    target = _customer(request, customer_id)
    try:
        source = _customer(request, payload.source_id)
    except NotFound:
        raise ValidationFailed("The customer to merge does not exist.",
                               fields={"source_id": "no such customer"}) from None
    services.customer_merge(actor=request.auth, source=source, target=target, token_scope=_scope(request))
    return _customer(request, customer_id)


@router.get("/customers/{int:customer_id}/export", response=dict[str, Any],
            summary="Everything held about a customer as one JSON document (GDPR access request)")
def customer_export(request: HttpRequest, customer_id: int):
    customer = _customer(request, customer_id)
    return services.customer_export(actor=request.auth, customer=customer, token_scope=_scope(request))


@router.post("/customers/{int:customer_id}/erase", response=EraseOut,
             summary="Erase a customer's personal data (GDPR); needs admin access and cannot be undone")
def customer_erase(request: HttpRequest, customer_id: int):
    customer = _customer(request, customer_id)
    counts = services.customer_erase(actor=request.auth, customer=customer, token_scope=_scope(request))
    erased = _customer(request, customer_id)
    return {"customer_id": erased.pk, "erased_at": erased.erased_at, "counts": counts}


# --- Organisations ---------------------------------------------------------------------------------
@router.get("/organizations", response=OrganizationPageOut, summary="Organisations by name, searchable")
def organization_list(request: HttpRequest, q: str = "", cursor: str | None = None,
                      limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)):
    if len(q) > selectors.MAX_QUERY_LENGTH:
        raise ValidationFailed("The search is too long.",
                               fields={"q": f"at most {selectors.MAX_QUERY_LENGTH} characters"})
    qs = selectors.organization_list(actor=request.auth, query=q, token_scope=_scope(request))
    return _keyset_page(qs, cursor=cursor, limit=limit, key="name", descending=False, key_type=str)


@router.post("/organizations", response={201: OrganizationOut}, summary="Create an organisation")
def organization_create(request: HttpRequest, payload: OrganizationIn):
    return services.organization_create(actor=request.auth, token_scope=_scope(request), **payload.model_dump())


@router.get("/organizations/{int:organization_id}", response=OrganizationOut, summary="One organisation")
def organization_get(request: HttpRequest, organization_id: int):
    return selectors.organization_get_for(actor=request.auth, organization_id=organization_id,
                                          token_scope=_scope(request))


@router.patch("/organizations/{int:organization_id}", response=OrganizationOut,
              summary="Change some fields of an organisation")
def organization_update(request: HttpRequest, organization_id: int, payload: OrganizationPatchIn):
    organization = selectors.organization_get_for(actor=request.auth, organization_id=organization_id,
                                                  token_scope=_scope(request))
    return services.organization_update(actor=request.auth, organization=organization,
                                        values=payload.model_dump(exclude_unset=True), token_scope=_scope(request))
