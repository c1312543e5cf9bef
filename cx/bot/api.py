"""API: the answer bot's settings (admins change them) and its outcome report."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import ConfigDict, StrictBool

from cx.bot import services

router = Router(tags=["bot"])


class BotSettingsOut(Schema):
    chat_enabled: bool
    email_enabled: bool
    web_enabled: bool
    threshold: float


class BotSettingsIn(Schema):
    model_config = ConfigDict(extra="forbid")
    chat_enabled: StrictBool = None
    email_enabled: StrictBool = None
    web_enabled: StrictBool = None
    threshold: float = Field(None, description="Answer only when the best article's similarity is at least this (0-1).")


def _scope(request: HttpRequest):
    return getattr(request, "auth_scope", None)


@router.get("/bot/settings", response=BotSettingsOut, summary="Answer bot settings")
def settings_get(request: HttpRequest):
    from cx.accounts.models import AccessLevel
    from cx.accounts.services import require_access

    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return services.bot_settings_get()


@router.patch("/bot/settings", response=BotSettingsOut,
              summary="Change the answer bot: chat_enabled, email_enabled, web_enabled, threshold (0-1)")
def settings_update(request: HttpRequest, payload: BotSettingsIn):
    return services.bot_settings_update(actor=request.auth, values=payload.model_dump(exclude_unset=True),
                                        token_scope=_scope(request))


@router.get("/bot/report", response=dict, summary="Answer bot outcomes of the last `days` (1-365)")
def report(request: HttpRequest, days: int = 30):
    return services.bot_report(actor=request.auth, days=days, token_scope=_scope(request))
