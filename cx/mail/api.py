"""REST API for the email channel: mailboxes with routing rules (admins), received mail and the
quarantine, and raw message upload (``POST /v1/mail/inbound`` with the .eml as the body)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from cx.core.errors import ValidationFailed
from cx.mail import selectors, services
from cx.mail.models import InboundSource
from cx.mail.schemas import InboundOut, MailboxOut, RoutingRuleIn, RoutingRuleOut

router = Router(tags=["email"])


def _scope(request: HttpRequest):
    return getattr(request, "auth_scope", None)


def _body(request: HttpRequest) -> dict[str, Any]:
    import json

    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("The body is not valid JSON.", fields={"body": "invalid JSON"}) from None
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", fields={"body": "must be an object"})
    return data


@router.get("/mailboxes", response=list[MailboxOut], summary="List mailboxes (admins)")
def mailbox_list(request: HttpRequest):
    return list(selectors.mailbox_list(actor=request.auth, token_scope=_scope(request)))


@router.post("/mailboxes", response={201: MailboxOut}, summary="Create a mailbox (admins)",
             openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}})
def mailbox_create(request: HttpRequest):
    mailbox = services.mailbox_create(actor=request.auth, values=_body(request), token_scope=_scope(request))
    return mailbox


@router.get("/mailboxes/{int:mailbox_id}", response=MailboxOut, summary="One mailbox (admins)")
def mailbox_get(request: HttpRequest, mailbox_id: int):
    return selectors.mailbox_get(actor=request.auth, mailbox_id=mailbox_id, token_scope=_scope(request))


@router.patch("/mailboxes/{int:mailbox_id}", response=MailboxOut, summary="Change a mailbox (admins)",
              openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}})
def mailbox_update(request: HttpRequest, mailbox_id: int):
    mailbox = selectors.mailbox_get(actor=request.auth, mailbox_id=mailbox_id, token_scope=_scope(request))
    return services.mailbox_update(actor=request.auth, mailbox=mailbox, values=_body(request),
                                   token_scope=_scope(request))


@router.delete("/mailboxes/{int:mailbox_id}", response={204: None}, summary="Delete a mailbox (admins)")
def mailbox_delete(request: HttpRequest, mailbox_id: int):
    mailbox = selectors.mailbox_get(actor=request.auth, mailbox_id=mailbox_id, token_scope=_scope(request))
    services.mailbox_delete(actor=request.auth, mailbox=mailbox, token_scope=_scope(request))


@router.post("/mailboxes/{int:mailbox_id}/rules", response={201: RoutingRuleOut}, summary="Add a routing rule")
def rule_create(request: HttpRequest, mailbox_id: int, payload: RoutingRuleIn):
    mailbox = selectors.mailbox_get(actor=request.auth, mailbox_id=mailbox_id, token_scope=_scope(request))
    rule = services.routing_rule_create(actor=request.auth, mailbox=mailbox, values=payload.dict(),
                                        token_scope=_scope(request))
    return rule


@router.delete("/mailboxes/{int:mailbox_id}/rules/{int:rule_id}", response={204: None},
               summary="Delete a routing rule")
def rule_delete(request: HttpRequest, mailbox_id: int, rule_id: int):
    mailbox = selectors.mailbox_get(actor=request.auth, mailbox_id=mailbox_id, token_scope=_scope(request))
    rule = selectors.routing_rule_get(actor=request.auth, mailbox=mailbox, rule_id=rule_id)
    services.routing_rule_delete(actor=request.auth, rule=rule, token_scope=_scope(request))


@router.get("/mail/received", response=list[InboundOut], summary="Received mail by status (admins)")
def inbound_list(request: HttpRequest, status: str = "quarantined", limit: int = 100):
    limit = max(1, min(limit, 500))
    return list(selectors.inbound_list(actor=request.auth, status=status, token_scope=_scope(request))[:limit])


@router.post("/mail/received/{int:inbound_id}/release", response=InboundOut,
             summary="Process a quarantined message anyway (admins)")
def inbound_release(request: HttpRequest, inbound_id: int):
    inbound = selectors.inbound_get(actor=request.auth, inbound_id=inbound_id, token_scope=_scope(request))
    return services.inbound_email_release(actor=request.auth, inbound=inbound)


@router.post("/mail/inbound", response={201: InboundOut}, summary="Submit a raw RFC 5322 message (admins)",
             openapi_extra={"requestBody": {"content": {"message/rfc822": {"schema": {"type": "string"}}}}})
def inbound_upload(request: HttpRequest, recipient: str = ""):
    selectors.mailbox_list(actor=request.auth, token_scope=_scope(request))  # admins only
    if not request.body:
        raise ValidationFailed("Send the message as the request body.", fields={"body": "required"})
    row = services.inbound_email_receive(raw=request.body, source=InboundSource.API,
                                         recipients=[recipient] if recipient else None)
    return row
