"""API endpoints for a customer's timeline: read it newest first, and record touchpoints from integrations."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from cx.accounts.models import AccessLevel
from cx.customers.selectors import customer_get_for
from cx.journeys import selectors, services
from cx.journeys.models import Stage
from cx.journeys.schemas import TimelinePageOut, TouchpointIn, TouchpointOut

router = Router(tags=["timeline"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


@router.get("/customers/{int:customer_id}/timeline", response=TimelinePageOut,
            summary="A customer's touchpoints, newest first, optionally of one stage, kind (category) or channel")
def timeline(request: HttpRequest, customer_id: int, cursor: str | None = None,
             limit: int = Query(25, ge=1, le=selectors.MAX_PAGE_SIZE), stage: Stage | None = None,
             category: str | None = None, channel: str | None = None):
    customer = customer_get_for(actor=request.auth, customer_id=customer_id, token_scope=_scope(request))
    page = selectors.timeline_page(actor=request.auth, customer_id=customer.pk, cursor=cursor, limit=limit,
                                   stage=stage.value if stage else None, token_scope=_scope(request),
                                   category=category, channel=channel)
    return {"next": page.next_cursor, "results": page.items}


@router.post("/customers/{int:customer_id}/touchpoints", response={201: TouchpointOut},
             summary="Record a touchpoint (e.g. an order from a shop); a repeated external_id is recorded once")
def touchpoint_record(request: HttpRequest, customer_id: int, payload: TouchpointIn):
    customer = customer_get_for(actor=request.auth, customer_id=customer_id, token_scope=_scope(request))
    return services.touchpoint_record_by_agent(
        actor=request.auth, customer=customer, kind=payload.kind, channel=payload.channel,
        stage=payload.stage.value, occurred_at=payload.occurred_at, properties=payload.properties,
        external_id=payload.external_id, token_scope=_scope(request),
    )
