"""Reads for phone support: IVR menus (admins) and the calls on a ticket (agents)."""

from __future__ import annotations

from django.db.models import QuerySet

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound
from cx.tickets.selectors import ticket_get_for
from cx.voice.models import Call, IvrMenu


def ivr_menu_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[IvrMenu]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return IvrMenu.objects.select_related("calendar", "team").prefetch_related("options__team").order_by("name")


def ivr_menu_get_for(*, actor: User, menu_id: int, token_scope: AccessLevel | None = None) -> IvrMenu:
    menu = ivr_menu_list(actor=actor, token_scope=token_scope).filter(pk=menu_id).first()
    if menu is None:
        raise NotFound(f"No IVR menu with id {menu_id}.")
    return menu


def calls_of_ticket(*, actor: User, ticket_id: int, token_scope: AccessLevel | None = None) -> QuerySet[Call]:
    ticket = ticket_get_for(actor=actor, ticket_id=ticket_id, token_scope=token_scope)
    return Call.objects.filter(ticket=ticket).select_related("agent", "team").order_by("-started_at", "-id")
