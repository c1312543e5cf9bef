"""API endpoints for tickets: lists with filters, create and change, the conversation, merge and split, the
audit trail, the admin's statuses and custom fields, and the agent workspace's saved views, canned replies and
bulk changes.

Every read goes through ``visible_tickets``/``ticket_get_for``: a restricted team's tickets are a 404 for
agents outside it, in lists as on single tickets. Lists use keyset cursors with a query count that does not
grow with the page size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from ninja import File, Form, Query, Router, UploadedFile

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.core.audit import audit_events_for
from cx.core.errors import NotFound, ValidationFailed
from cx.core.pagination import cursor_decode_time_id, cursor_encode
from cx.customers.selectors import customer_get_for
from cx.tickets import admin_services, selectors, services
from cx.tickets import workspace_services as workspace
from cx.tickets.models import CannedReply, Channel, Priority, SavedView, StatusCategory, Tag, Ticket, Visibility
from cx.tickets.schemas import (
    AuditPageOut,
    BulkIn,
    BulkOut,
    CannedReplyIn,
    CannedReplyOut,
    CannedReplyPatchIn,
    CannedReplyRenderOut,
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPatchIn,
    MergeIn,
    MessageOut,
    MessagePageOut,
    ReplyIn,
    SavedViewIn,
    SavedViewOut,
    SavedViewPatchIn,
    TagOut,
    TicketIn,
    TicketOut,
    TicketPageOut,
    TicketPatchIn,
    TicketStatusIn,
    TicketStatusOut,
    TicketStatusPatchIn,
)

router = Router(tags=["tickets"])

DEFAULT_PAGE_SIZE = 50
MAX_TAG_QUERY = 50
MAX_TAGS_LISTED = 1000


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    return selectors.ticket_get_for(actor=request.auth, ticket_id=ticket_id, token_scope=_scope(request))


def _ticket_after_write(request: HttpRequest, ticket: Ticket) -> Ticket:
    """The ticket as GET shows it. If the write moved it into a restricted team the writer is not in, the
    writer still gets the result of their own change (a 404 would invite a retry that duplicates it)."""
    try:
        return _ticket(request, ticket.pk)
    except NotFound:
        return ticket


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    """Enum members from the schema as the plain values the services store and audit."""
    return {key: value.value if isinstance(value, Enum) else value for key, value in changes.items()}


def _oldest_first_page(qs: QuerySet, *, cursor: str | None, limit: int) -> dict[str, Any]:
    """One page of rows ordered by (created_at, id), with a keyset cursor to the next page."""
    if cursor:
        when, last_id = cursor_decode_time_id(cursor)
        qs = qs.filter(Q(created_at__gt=when) | Q(created_at=when, id__gt=last_id))
    rows = list(qs.order_by("created_at", "id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor_encode([rows[-1].created_at, rows[-1].pk])
    return {"next": next_cursor, "results": rows}


def _tag_counts(*, visible: QuerySet[Ticket], prefix: str, limit: int) -> QuerySet[Tag]:
    # Counting through the filtered join counts only visible tickets, so a restricted team's tags do not
    # appear to outsiders at all.
    qs = Tag.objects.filter(tickets__in=visible)
    if prefix:
        qs = qs.filter(name__startswith="-".join(prefix.strip().lower().split()))
    return qs.annotate(ticket_count=Count("tickets")).order_by("-ticket_count", "name")[:limit]


# --- Tickets -----------------------------------------------------------------------------------------
@router.get("/tickets", response=TicketPageOut,
            summary="Tickets you can see, filtered and sorted, one keyset page at a time")
def ticket_list(
    request: HttpRequest,
    queue: str | None = Query(None, description=f"One of {', '.join(selectors.QUEUES)}."),
    status_category: StatusCategory | None = None,
    status_id: int | None = None,
    priority: Priority | None = None,
    assignee_id: str | None = Query(None, description="An agent id, `me` or `none` (unassigned)."),
    team_id: int | None = None,
    requester_id: int | None = None,
    tag: str | None = None,
    channel: Channel | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    sort: str = Query("updated", description=f"One of {', '.join(selectors.SORTS)}."),
    cursor: str | None = None,
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE),
):
    visible = selectors.visible_tickets(actor=request.auth, token_scope=_scope(request))
    qs = selectors.ticket_filter(
        visible, actor=request.auth, queue=queue, status_category=status_category.value if status_category else None,
        status_id=status_id, priority=priority.value if priority else None, assignee=assignee_id,
        team=team_id, requester_id=requester_id, tag=tag, channel=channel.value if channel else None,
        created_after=created_after, created_before=created_before, updated_after=updated_after,
    )
    page = selectors.ticket_page(actor=request.auth, qs=qs, sort=sort, cursor=cursor, limit=limit)
    return {"next": page.next_cursor, "results": page.items}


@router.post("/tickets", response={201: TicketOut},
             summary="Open a ticket for a customer, with a first public reply or internal note")
def ticket_create(request: HttpRequest, payload: TicketIn):
    try:
        requester = customer_get_for(actor=request.auth, customer_id=payload.requester_id,
                                     token_scope=_scope(request))
    except NotFound:
        raise ValidationFailed("The requester does not exist.", fields={"requester_id": "no such customer"}) from None
    data = _plain(payload.model_dump(exclude={"requester_id"}))
    created = services.ticket_create_by_agent(actor=request.auth, requester=requester, token_scope=_scope(request),
                                              **data)
    return _ticket_after_write(request, created.ticket)


@router.get("/tickets/{int:ticket_id}", response=TicketOut,
            summary="One ticket with tags, followers, CCs, custom fields, SLA times and timestamps")
def ticket_get(request: HttpRequest, ticket_id: int):
    return _ticket(request, ticket_id)


@router.patch("/tickets/{int:ticket_id}", response=TicketOut,
              summary="Change some properties of a ticket; everything is checked before anything changes")
def ticket_update(request: HttpRequest, ticket_id: int, payload: TicketPatchIn):
    ticket = _ticket(request, ticket_id)
    updated = services.ticket_update(actor=request.auth, ticket=ticket,
                                     changes=_plain(payload.model_dump(exclude_unset=True)),
                                     token_scope=_scope(request))
    return _ticket_after_write(request, updated)


@router.post("/tickets/{int:ticket_id}/merge", response=TicketOut,
             summary="Merge the ticket `source_id` into this one; its conversation moves here and it closes")
def ticket_merge(request: HttpRequest, ticket_id: int, payload: MergeIn):
    target = _ticket(request, ticket_id)
    try:
        source = _ticket(request, payload.source_id)
    except NotFound:
        raise ValidationFailed("The ticket to merge does not exist.", fields={"source_id": "no such ticket"}) from None
    services.ticket_merge(actor=request.auth, source=source, target=target, token_scope=_scope(request))
    return _ticket(request, ticket_id)


@router.get("/tickets/{int:ticket_id}/audit", response=AuditPageOut,
            summary="The ticket's audit trail, oldest first: who changed what, when")
def ticket_audit(request: HttpRequest, ticket_id: int, cursor: str | None = None,
                 limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)):
    ticket = _ticket(request, ticket_id)
    events = audit_events_for(target_type="ticket", target_id=ticket.pk)
    return _oldest_first_page(events, cursor=cursor, limit=limit)


# --- Messages ----------------------------------------------------------------------------------------
@router.get("/tickets/{int:ticket_id}/messages", response=MessagePageOut,
            summary="The conversation, oldest first, internal notes included")
def message_list(request: HttpRequest, ticket_id: int, cursor: str | None = None,
                 limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)):
    ticket = _ticket(request, ticket_id)
    return _oldest_first_page(selectors.ticket_messages(ticket=ticket), cursor=cursor, limit=limit)


@router.post("/tickets/{int:ticket_id}/messages", response={201: MessageOut},
             summary="Reply publicly or add an internal note, optionally changing the status at once")
def message_create(request: HttpRequest, ticket_id: int, payload: ReplyIn):
    ticket = _ticket(request, ticket_id)
    return services.ticket_reply(actor=request.auth, ticket=ticket, body=payload.body,
                                      visibility=payload.visibility.value, status_id=payload.status_id,
                                      token_scope=_scope(request))


@router.post("/tickets/{int:ticket_id}/messages/upload", response={201: MessageOut},
             summary="Reply or note with attachments (multipart/form-data; files in `attachments`)")
def message_upload(
    request: HttpRequest,
    ticket_id: int,
    body: Form[str],
    visibility: Form[Visibility] = Visibility.PUBLIC,
    status_id: Form[int | None] = None,
    attachments: File[list[UploadedFile]] = None,
):
    ticket = _ticket(request, ticket_id)
    if not attachments:
        raise ValidationFailed("No file was attached.", fields={
            "attachments": "attach at least one file (text-only replies go to POST /tickets/{id}/messages)"})
    return services.ticket_reply(actor=request.auth, ticket=ticket, body=body, visibility=visibility.value,
                                      status_id=status_id, attachments=list(attachments),
                                      token_scope=_scope(request))


@router.post("/messages/{int:message_id}/split", response={201: TicketOut},
             summary="Move a customer's message out into a new ticket; returns the new ticket")
def message_split(request: HttpRequest, message_id: int):
    message = selectors.message_get_for(actor=request.auth, message_id=message_id, token_scope=_scope(request))
    new_ticket = services.message_split(actor=request.auth, message=message, token_scope=_scope(request))
    return _ticket_after_write(request, new_ticket)


# --- Tags --------------------------------------------------------------------------------------------
@router.get("/tags", response=list[TagOut], summary="Tags in use on tickets you can see, most used first")
def tag_list(request: HttpRequest, q: str = Query("", description="Only tags starting with this."),
             limit: int = Query(100, ge=1, le=MAX_TAGS_LISTED)):
    if len(q) > MAX_TAG_QUERY:
        raise ValidationFailed("The search is too long.", fields={"q": f"at most {MAX_TAG_QUERY} characters"})
    visible = selectors.visible_tickets(actor=request.auth, token_scope=_scope(request))
    return _tag_counts(visible=visible, prefix=q, limit=limit)


# --- Statuses (admin) --------------------------------------------------------------------------------
@router.get("/ticket-statuses", response=list[TicketStatusOut],
            summary="Ticket statuses in display order, each mapped to a category")
def status_list(request: HttpRequest, include_inactive: bool = False):
    return selectors.status_list(include_inactive=include_inactive)


@router.post("/ticket-statuses", response={201: TicketStatusOut},
             summary="Add a status (admin); a name in use is a 409")
def status_create(request: HttpRequest, payload: TicketStatusIn):
    return admin_services.ticket_status_create(actor=request.auth, token_scope=_scope(request),
                                                    **_plain(payload.model_dump()))


@router.patch("/ticket-statuses/{int:status_id}", response=TicketStatusOut,
              summary="Rename, reorder, deactivate or make default (admin); a category keeps one active status")
def status_update(request: HttpRequest, status_id: int, payload: TicketStatusPatchIn):
    return admin_services.ticket_status_update(actor=request.auth, status_id=status_id,
                                               changes=_plain(payload.model_dump(exclude_unset=True)),
                                               token_scope=_scope(request))


# --- Custom fields (admin) ---------------------------------------------------------------------------
@router.get("/custom-fields", response=list[CustomFieldOut], summary="Ticket custom fields in display order")
def custom_field_list(request: HttpRequest, include_inactive: bool = False):
    return selectors.custom_field_list(include_inactive=include_inactive)


@router.post("/custom-fields", response={201: CustomFieldOut},
             summary="Add a typed custom field (admin); a dropdown needs options, a key in use is a 409")
def custom_field_create(request: HttpRequest, payload: CustomFieldIn):
    return admin_services.custom_field_create(actor=request.auth, token_scope=_scope(request),
                                                   **_plain(payload.model_dump()))


@router.patch("/custom-fields/{int:field_id}", response=CustomFieldOut,
              summary="Relabel, reorder, change options, require on solve or deactivate a field (admin)")
def custom_field_update(request: HttpRequest, field_id: int, payload: CustomFieldPatchIn):
    return admin_services.custom_field_update(actor=request.auth, field_id=field_id,
                                              changes=_plain(payload.model_dump(exclude_unset=True)),
                                              token_scope=_scope(request))


# --- Saved views -------------------------------------------------------------------------------------
@contextmanager
def _fields_under(prefix: str, names: Iterable[str]) -> Iterator[None]:
    """Name a service's field errors as they appear in the nested JSON body (``priority`` → ``filters.priority``)."""
    names = set(names)
    try:
        yield
    except ValidationFailed as error:
        fields = {f"{prefix}.{key}" if key in names else key: reason for key, reason in error.fields.items()}
        raise ValidationFailed(error.message, fields=fields, code=error.code) from None


def _view(request: HttpRequest, view_id: int) -> SavedView:
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return workspace.saved_view_get_for(actor=request.auth, view_id=view_id)


@router.get("/views", response=list[SavedViewOut], summary="Your saved views and every shared view, by name")
def saved_view_list(request: HttpRequest):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return workspace.saved_views_for(actor=request.auth)


@router.post("/views", response={201: SavedViewOut},
             summary="Save inbox filters and a sort under a name; sharing it with every agent needs write access")
def saved_view_create(request: HttpRequest, payload: SavedViewIn):
    require_access(request.auth, AccessLevel.WRITE if payload.is_shared else AccessLevel.READ,
                   token_scope=_scope(request))
    with _fields_under("filters", workspace.FILTER_KEYS):
        view = workspace.saved_view_create(actor=request.auth, name=payload.name,
                                           filters=payload.filters.model_dump(), sort=payload.sort,
                                           is_shared=payload.is_shared)
    return view


@router.get("/views/{int:view_id}", response=SavedViewOut, summary="One saved view (yours or a shared one)")
def saved_view_get(request: HttpRequest, view_id: int):
    return _view(request, view_id)


@router.patch("/views/{int:view_id}", response=SavedViewOut,
              summary="Rename, refilter, resort, share or unshare a view you own (admins: any shared view)")
def saved_view_patch(request: HttpRequest, view_id: int, payload: SavedViewPatchIn):
    view = _view(request, view_id)
    changes = payload.model_dump(exclude_unset=True)
    with _fields_under("filters", workspace.FILTER_KEYS):
        updated = workspace.saved_view_update(actor=request.auth, view=view, changes=changes,
                                              token_scope=_scope(request))
    return updated


@router.delete("/views/{int:view_id}", response={204: None},
               summary="Delete a view you own (admins: any shared view)")
def saved_view_delete(request: HttpRequest, view_id: int):
    view = _view(request, view_id)
    workspace.saved_view_delete(actor=request.auth, view=view)


@router.get("/views/{int:view_id}/tickets", response=TicketPageOut,
            summary="The view's tickets in its sort, one keyset page at a time (rows as in GET /tickets)")
def saved_view_tickets(request: HttpRequest, view_id: int, cursor: str | None = None,
                       limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)):
    view = _view(request, view_id)
    with _fields_under("filters", workspace.FILTER_KEYS):
        filters = workspace.inbox_filters_clean(view.filters)
    qs = workspace.inbox_tickets(actor=request.auth, filters=filters)
    page = selectors.ticket_page(actor=request.auth, qs=qs, sort=view.sort, cursor=cursor, limit=limit)
    return {"next": page.next_cursor, "results": page.items}


# --- Canned replies ----------------------------------------------------------------------------------
def _canned_reply(request: HttpRequest, reply_id: int) -> CannedReply:
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return workspace.canned_reply_get_for(actor=request.auth, reply_id=reply_id)


@router.get("/canned-replies", response=list[CannedReplyOut],
            summary="Your canned replies and every shared one, by title")
def canned_reply_list(request: HttpRequest):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return workspace.canned_replies_for(actor=request.auth)


@router.post("/canned-replies", response={201: CannedReplyOut},
             summary="Add a canned reply with placeholders; unknown placeholders are refused")
def canned_reply_create(request: HttpRequest, payload: CannedReplyIn):
    require_access(request.auth, AccessLevel.WRITE, token_scope=_scope(request))
    reply = workspace.canned_reply_create(actor=request.auth, **payload.model_dump())
    return reply


@router.get("/canned-replies/{int:reply_id}", response=CannedReplyOut,
            summary="One canned reply (yours or a shared one)")
def canned_reply_get(request: HttpRequest, reply_id: int):
    return _canned_reply(request, reply_id)


@router.patch("/canned-replies/{int:reply_id}", response=CannedReplyOut,
              summary="Change the title, text or sharing of a reply you wrote (admins: any reply)")
def canned_reply_patch(request: HttpRequest, reply_id: int, payload: CannedReplyPatchIn):
    reply = _canned_reply(request, reply_id)
    updated = workspace.canned_reply_update(actor=request.auth, reply=reply,
                                            changes=payload.model_dump(exclude_unset=True),
                                            token_scope=_scope(request))
    return updated


@router.delete("/canned-replies/{int:reply_id}", response={204: None},
               summary="Delete a reply you wrote (admins: any reply)")
def canned_reply_delete(request: HttpRequest, reply_id: int):
    reply = _canned_reply(request, reply_id)
    require_access(request.auth, AccessLevel.WRITE, token_scope=_scope(request))
    workspace.canned_reply_delete(actor=request.auth, reply=reply)


@router.post("/tickets/{int:ticket_id}/canned-replies/{int:reply_id}/render", response=CannedReplyRenderOut,
             summary="The canned reply's text for this ticket and you, placeholders filled in; nothing is sent")
def canned_reply_render(request: HttpRequest, ticket_id: int, reply_id: int):
    ticket = _ticket(request, ticket_id)
    reply = _canned_reply(request, reply_id)
    text = workspace.canned_reply_render(actor=request.auth, reply=reply, ticket=ticket)
    return {"reply_id": reply.pk, "ticket_id": ticket.pk, "text": text}


# --- Bulk changes ------------------------------------------------------------------------------------
BULK_CHANGE_ACTIONS = {"assignee_id": "assign_agent", "team_id": "assign_team", "status_id": "set_status",
                       "priority": "set_priority", "add_tag": "add_tag"}


@router.post("/tickets/bulk", response=BulkOut,
             summary="Apply one change to up to 100 tickets; each is updated or reported with its reason")
def tickets_bulk(request: HttpRequest, payload: BulkIn):
    require_access(request.auth, AccessLevel.WRITE, token_scope=_scope(request))
    changes = _plain(payload.changes.model_dump(exclude_unset=True))
    if len(changes) != 1:
        raise ValidationFailed("Send exactly one change.", fields={
            "changes": f"exactly one of {', '.join(BULK_CHANGE_ACTIONS)}"})
    (key, value), = changes.items()
    if value is None and key not in ("assignee_id", "team_id"):
        raise ValidationFailed("This change needs a value.", fields={f"changes.{key}": "required"})
    try:
        outcome = workspace.tickets_bulk_update(actor=request.auth, ticket_ids=payload.ticket_ids,
                                                action=BULK_CHANGE_ACTIONS[key],
                                                value="none" if value is None else str(value))
    except ValidationFailed as error:  # the service names the value `value`; the API calls it by its key
        fields = {f"changes.{key}" if name == "value" else name: reason for name, reason in error.fields.items()}
        raise ValidationFailed(error.message, fields=fields, code=error.code) from None
    results = [
        {"ticket_id": ticket_id, "result": "error", "reason": outcome.errors[ticket_id]}
        if ticket_id in outcome.errors else {"ticket_id": ticket_id, "result": "updated", "reason": None}
        for ticket_id in dict.fromkeys(payload.ticket_ids)
    ]
    return {"updated": len(outcome.updated), "failed": len(outcome.errors), "results": results}
