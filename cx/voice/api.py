"""API for phone support: IVR menus (admin) and a ticket's calls (list; log a call by hand, e.g. from a
phone system integration). The Twilio auth token is write-only."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cx.accounts.models import AccessLevel
from cx.tickets.selectors import ticket_get_for
from cx.voice import selectors, services

router = Router(tags=["voice"])


class _In(Schema):
    model_config = {"extra": "forbid"}


class OptionIn(_In):
    digit: str = Field(max_length=1, description="0-9, * or #")
    label: str = Field(max_length=100)
    action: str = Field(description="forward, voicemail or callback")
    team_id: int | None = None
    forward_number: str = Field("", max_length=20)


class MenuIn(_In):
    name: str = Field(max_length=100)
    phone_number: str = Field(max_length=20)
    account_sid: str = Field(max_length=64)
    auth_token: str = Field(max_length=200, description="Write-only: never returned.")
    greeting: str = Field(max_length=1000)
    language: str = Field("en-US", max_length=10)
    voicemail_prompt: str = Field("Please leave a message after the tone.", max_length=500)
    after_hours_message: str = Field("", max_length=1000)
    after_hours_action: str = "voicemail"
    calendar_id: int | None = None
    team_id: int | None = None
    is_active: bool = True
    options: list[OptionIn] = Field(default_factory=list)


class MenuPatchIn(_In):
    name: str | None = Field(None, max_length=100)
    phone_number: str | None = Field(None, max_length=20)
    account_sid: str | None = Field(None, max_length=64)
    auth_token: str | None = Field(None, max_length=200)
    greeting: str | None = Field(None, max_length=1000)
    language: str | None = Field(None, max_length=10)
    voicemail_prompt: str | None = Field(None, max_length=500)
    after_hours_message: str | None = Field(None, max_length=1000)
    after_hours_action: str | None = None
    calendar_id: int | None = None
    team_id: int | None = None
    is_active: bool | None = None
    options: list[OptionIn] | None = None


class OptionOut(Schema):
    digit: str
    label: str
    action: str
    team_id: int | None
    forward_number: str


class MenuOut(Schema):
    id: int
    name: str
    phone_number: str
    account_sid: str
    auth_token_set: bool
    greeting: str
    language: str
    voicemail_prompt: str
    after_hours_message: str
    after_hours_action: str
    calendar_id: int | None
    team_id: int | None
    is_active: bool
    options: list[OptionOut]
    incoming_url: str
    status_callback_url: str

    @staticmethod
    def resolve_auth_token_set(obj) -> bool:
        return bool(obj.auth_token)

    @staticmethod
    def resolve_options(obj) -> list:
        return list(obj.options.all())

    @staticmethod
    def resolve_incoming_url(obj) -> str:
        return services.webhook_urls(obj).incoming

    @staticmethod
    def resolve_status_callback_url(obj) -> str:
        return services.status_callback_url(obj)


class CallIn(_In):
    direction: str = Field(description="inbound or outbound")
    phone_number: str = Field("", max_length=32)
    started_at: datetime
    duration_seconds: int = Field(ge=0, le=86400)
    outcome: str = Field(description="answered, no_answer, busy, voicemail or missed")
    notes: str = Field("", max_length=5000)


class CallOut(Schema):
    id: int
    ticket_id: int | None
    customer_id: int | None
    direction: str
    from_number: str
    to_number: str
    agent_id: int | None
    team_id: int | None
    outcome: str
    digits: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    recording_url: str
    recording_seconds: int | None
    transcript: str
    notes: str
    logged_manually: bool


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _menu(request: HttpRequest, menu_id: int):
    return selectors.ivr_menu_get_for(actor=request.auth, menu_id=menu_id, token_scope=_scope(request))


def _values(payload: _In, *, exclude_unset: bool) -> dict:
    values = payload.model_dump(exclude_unset=exclude_unset)
    if values.get("options") is not None:
        values["options"] = [dict(o) for o in values["options"]]
    return values


@router.get("/voice/menus", response=list[MenuOut], summary="IVR menus (never the auth token)")
def menu_list(request: HttpRequest):
    return selectors.ivr_menu_list(actor=request.auth, token_scope=_scope(request))


@router.post("/voice/menus", response={201: MenuOut}, summary="Create an IVR menu (admin)")
def menu_create(request: HttpRequest, payload: MenuIn):
    menu = services.ivr_menu_create(actor=request.auth, values=_values(payload, exclude_unset=False),
                                    token_scope=_scope(request))
    return _menu(request, menu.pk)


@router.get("/voice/menus/{int:menu_id}", response=MenuOut, summary="One IVR menu")
def menu_get(request: HttpRequest, menu_id: int):
    return _menu(request, menu_id)


@router.patch("/voice/menus/{int:menu_id}", response=MenuOut,
              summary="Change an IVR menu (admin); `options`, when given, replaces all options")
def menu_update(request: HttpRequest, menu_id: int, payload: MenuPatchIn):
    services.ivr_menu_update(actor=request.auth, menu=_menu(request, menu_id),
                             values=_values(payload, exclude_unset=True), token_scope=_scope(request))
    return _menu(request, menu_id)


@router.delete("/voice/menus/{int:menu_id}", response={204: None}, summary="Delete an IVR menu")
def menu_delete(request: HttpRequest, menu_id: int):
    services.ivr_menu_delete(actor=request.auth, menu=_menu(request, menu_id), token_scope=_scope(request))


@router.get("/tickets/{int:ticket_id}/calls", response=list[CallOut], summary="The calls logged on a ticket")
def call_list(request: HttpRequest, ticket_id: int):
    return selectors.calls_of_ticket(actor=request.auth, ticket_id=ticket_id, token_scope=_scope(request))


@router.post("/tickets/{int:ticket_id}/calls", response={201: CallOut},
             summary="Log a call on a ticket (an internal note and a timeline touchpoint are added)")
def call_log(request: HttpRequest, ticket_id: int, payload: CallIn):
    ticket = ticket_get_for(actor=request.auth, ticket_id=ticket_id, token_scope=_scope(request))
    return services.call_log_manual(actor=request.auth, ticket=ticket, token_scope=_scope(request),
                                    call=services.ManualCall(**payload.model_dump()))
