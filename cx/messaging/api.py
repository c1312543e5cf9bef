"""API for messaging connectors (admin access). Secrets are write-only: responses say only which are set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cx.accounts.models import AccessLevel
from cx.messaging import selectors, services
from cx.messaging.adapters import ADAPTERS

router = Router(tags=["messaging"])


class _In(Schema):
    model_config = {"extra": "forbid"}


class TemplateIn(_In):
    name: str = Field(max_length=100)
    language: str = Field("en_US", max_length=20)


class ConnectorIn(_In):
    provider: str = Field(description="whatsapp, messenger, telegram or twilio_sms")
    name: str = Field(max_length=100)
    settings: dict[str, str] = Field(default_factory=dict,
                                     description="phone_number_id (WhatsApp), page_id (Messenger), account_sid and "
                                                 "from_number (Twilio), bot_username (Telegram)")
    secrets: dict[str, str] = Field(default_factory=dict, description="Write-only: never returned.")
    team_id: int | None = None
    api_base_url: str = Field("", max_length=300)
    templates: list[TemplateIn] = Field(default_factory=list)
    is_active: bool = True


class ConnectorPatchIn(_In):
    name: str | None = Field(None, max_length=100)
    settings: dict[str, str] | None = None
    secrets: dict[str, str] | None = Field(None, description="Only the secrets to change; others are kept.")
    team_id: int | None = None
    api_base_url: str | None = Field(None, max_length=300)
    templates: list[TemplateIn] | None = None
    is_active: bool | None = None


class ConnectorOut(Schema):
    id: int
    provider: str
    name: str
    is_active: bool
    team_id: int | None
    settings: dict[str, Any]
    secrets_set: dict[str, bool]
    api_base_url: str
    templates: list[dict[str, str]]
    webhook_url: str
    last_event_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_secrets_set(obj) -> dict[str, bool]:
        return {key: bool(obj.secrets.get(key)) for key in ADAPTERS[obj.provider].secret_fields}

    @staticmethod
    def resolve_webhook_url(obj) -> str:
        return services.webhook_url(obj)


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _connector(request: HttpRequest, connector_id: int):
    return selectors.connector_get_for(actor=request.auth, connector_id=connector_id, token_scope=_scope(request))


@router.get("/messaging/connectors", response=list[ConnectorOut], summary="Messaging connectors (never their secrets)")
def connector_list(request: HttpRequest):
    return selectors.connector_list(actor=request.auth, token_scope=_scope(request))


@router.post("/messaging/connectors", response={201: ConnectorOut},
             summary="Add a connector (admin); missing settings or secrets are a 422 and save nothing")
def connector_create(request: HttpRequest, payload: ConnectorIn):
    data = payload.model_dump()
    connector = services.connector_create(actor=request.auth, token_scope=_scope(request), **data)
    return _connector(request, connector.pk)


@router.get("/messaging/connectors/{int:connector_id}", response=ConnectorOut, summary="One connector")
def connector_get(request: HttpRequest, connector_id: int):
    return _connector(request, connector_id)


@router.patch("/messaging/connectors/{int:connector_id}", response=ConnectorOut,
              summary="Change a connector (admin); secrets not given are kept")
def connector_update(request: HttpRequest, connector_id: int, payload: ConnectorPatchIn):
    services.connector_update(actor=request.auth, connector=_connector(request, connector_id),
                              values=payload.model_dump(exclude_unset=True), token_scope=_scope(request))
    return _connector(request, connector_id)


@router.delete("/messaging/connectors/{int:connector_id}", response={204: None}, summary="Delete a connector")
def connector_delete(request: HttpRequest, connector_id: int):
    services.connector_delete(actor=request.auth, connector=_connector(request, connector_id),
                              token_scope=_scope(request))

