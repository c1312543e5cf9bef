"""API endpoints for outbound webhooks (admin access): endpoints, their delivery log, tests, redelivery."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from cx.accounts.models import AccessLevel
from cx.webhooks import selectors, services
from cx.webhooks.schemas import DeliveryOut, DeliveryPageOut, WebhookCreatedOut, WebhookIn, WebhookOut

router = Router(tags=["webhooks"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _endpoint(request: HttpRequest, webhook_id: int):
    return selectors.webhook_endpoint_get_for(actor=request.auth, endpoint_id=webhook_id, token_scope=_scope(request))


@router.get("/webhooks", response=list[WebhookOut], summary="Webhook endpoints (never their secrets)")
def webhook_list(request: HttpRequest):
    return selectors.webhook_endpoint_list(actor=request.auth, token_scope=_scope(request))


@router.post("/webhooks", response={201: WebhookCreatedOut},
             summary="Create an endpoint; its signing secret is in this response only")
def webhook_create(request: HttpRequest, payload: WebhookIn):
    issued = services.webhook_endpoint_create(actor=request.auth, url=payload.url, event_types=payload.event_types,
                                              description=payload.description, token_scope=_scope(request))
    endpoint = _endpoint(request, issued.endpoint.pk)
    return WebhookCreatedOut(**WebhookOut.from_orm(endpoint).model_dump(), secret=issued.secret)


@router.get("/webhooks/{int:webhook_id}", response=WebhookOut, summary="One endpoint")
def webhook_get(request: HttpRequest, webhook_id: int):
    return _endpoint(request, webhook_id)


@router.delete("/webhooks/{int:webhook_id}", response={204: None},
               summary="Delete an endpoint and its delivery log; nothing more is sent to it")
def webhook_delete(request: HttpRequest, webhook_id: int):
    services.webhook_endpoint_delete(actor=request.auth, endpoint=_endpoint(request, webhook_id),
                                     token_scope=_scope(request))


@router.get("/webhooks/{int:webhook_id}/deliveries", response=DeliveryPageOut,
            summary="The endpoint's delivery log, newest first (filter by status; cursor pagination)")
def delivery_list(request: HttpRequest, webhook_id: int, status: str | None = None, cursor: str | None = None,
                  limit: int = Query(50, ge=1, le=selectors.MAX_PAGE_SIZE)):
    page = selectors.webhook_delivery_page(actor=request.auth, endpoint=_endpoint(request, webhook_id),
                                           status=status, cursor=cursor, limit=limit, token_scope=_scope(request))
    return {"results": page.items, "next": page.next_cursor}


@router.post("/webhooks/{int:webhook_id}/test", response={202: DeliveryOut},
             summary="Queue a signed `ping` delivery to the endpoint; the answer shows its state so far")
def webhook_test(request: HttpRequest, webhook_id: int):
    delivery = services.webhook_ping(actor=request.auth, endpoint=_endpoint(request, webhook_id),
                                     token_scope=_scope(request))
    return selectors.webhook_delivery_get_for(actor=request.auth, endpoint=delivery.endpoint,
                                                   delivery_id=delivery.pk, token_scope=_scope(request))


@router.post("/webhooks/{int:webhook_id}/deliveries/{int:delivery_id}/redeliver", response={202: DeliveryOut},
             summary="Send a delivery's event again (same event id and body, as a new delivery)")
def delivery_redeliver(request: HttpRequest, webhook_id: int, delivery_id: int):
    endpoint = _endpoint(request, webhook_id)
    delivery = selectors.webhook_delivery_get_for(actor=request.auth, endpoint=endpoint, delivery_id=delivery_id,
                                                  token_scope=_scope(request))
    again = services.webhook_redeliver(actor=request.auth, delivery=delivery, token_scope=_scope(request))
    return selectors.webhook_delivery_get_for(actor=request.auth, endpoint=endpoint, delivery_id=again.pk,
                                                   token_scope=_scope(request))
