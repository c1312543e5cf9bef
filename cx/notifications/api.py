"""API endpoints for the requesting agent's own notifications and notification preferences."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from cx.accounts.models import AccessLevel
from cx.core.errors import ValidationFailed
from cx.notifications import selectors, services
from cx.notifications.schemas import (
    MarkedOut,
    NotificationOut,
    NotificationPageOut,
    PreferenceOut,
    PreferencesIn,
)

router = Router(tags=["notifications"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


@router.get("/notifications", response=NotificationPageOut,
            summary="Your in-app notifications, newest first, with the unread count")
def notification_list(request: HttpRequest, unread: bool = False, cursor: str | None = None,
                      limit: int = Query(50, ge=1, le=selectors.MAX_PAGE_SIZE)):
    page = selectors.notification_page(actor=request.auth, unread_only=unread, cursor=cursor, limit=limit,
                                       token_scope=_scope(request))
    return {"results": page.items, "next": page.next_cursor,
            "unread_count": selectors.notification_unread_count(actor=request.auth)}


@router.post("/notifications/read-all", response=MarkedOut, summary="Mark all your notifications read")
def notification_read_all(request: HttpRequest):
    return {"marked": services.notification_mark_all_read(actor=request.auth, token_scope=_scope(request))}


@router.post("/notifications/{int:notification_id}/read", response=NotificationOut,
             summary="Mark one of your notifications read (marking it again changes nothing)")
def notification_read(request: HttpRequest, notification_id: int):
    return services.notification_mark_read(actor=request.auth, notification_id=notification_id,
                                           token_scope=_scope(request))


@router.get("/notifications/preferences", response=list[PreferenceOut],
            summary="How you are notified of each kind (defaults where you have not chosen)")
def preferences_get(request: HttpRequest):
    return selectors.notification_preferences_of(actor=request.auth, token_scope=_scope(request))


@router.put("/notifications/preferences", response=list[PreferenceOut],
            summary="Choose in-app and email per kind; kinds not listed keep their setting")
def preferences_put(request: HttpRequest, payload: PreferencesIn):
    kinds = [p.kind.value for p in payload.preferences]
    duplicates = sorted({k for k in kinds if kinds.count(k) > 1})
    if duplicates:
        raise ValidationFailed("A kind is listed twice.", fields={"preferences": f"{', '.join(duplicates)} twice"})
    choices = {p.kind.value: {"in_app": p.in_app, "email": p.email} for p in payload.preferences}
    return services.notification_preferences_update(actor=request.auth, preferences=choices,
                                                    token_scope=_scope(request))
