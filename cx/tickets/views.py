"""The agent workspace: inbox (queues, saved views, filters, bulk actions), the ticket page (conversation,
composer, properties, customer sidebar, merge and split), full-text search and canned replies.

Views parse input, call one service or selector and render. Parts owned by apps above tickets (the SLA badge,
the macro menu) and the customer's timeline (journeys) are loaded by htmx from their own URLs, and only when
those URLs exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.selectors import agent_list, team_list
from cx.accounts.services import require_access
from cx.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from cx.core.views import render_domain_error
from cx.tickets import workspace_services as workspace
from cx.tickets.forms import (
    BulkForm,
    CannedReplyForm,
    InboxFilterForm,
    MergeForm,
    PropertiesForm,
    ReplyForm,
    SavedViewForm,
    SearchForm,
    apply_service_errors,
)
from cx.tickets.models import AuthorType, StatusCategory, Ticket, Visibility
from cx.tickets.search import ticket_search
from cx.tickets.selectors import (
    QUEUES,
    QueuePage,
    custom_field_list,
    message_get_for,
    status_list,
    ticket_get_for,
    ticket_messages,
    ticket_row_page,
    tickets_of_customer,
)
from cx.tickets.services import default_status, message_split, ticket_merge, ticket_reply, ticket_update

PAGE_SIZE = 50
MERGE_CANDIDATES = 20
OTHER_TICKETS = 8


# --- helpers ---------------------------------------------------------------------------------------------

def in_agent_time_zone(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Show and read times in the agent's own time zone (due dates, message times)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            zone = ZoneInfo(getattr(request.user, "time_zone", "") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        with timezone.override(zone):
            return view(request, *args, **kwargs)

    return wrapper


def _error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="tickets")


def _ticket_or_error(request: HttpRequest, ticket_id: int) -> Ticket | HttpResponse:
    try:
        return ticket_get_for(actor=request.user, ticket_id=ticket_id)
    except DomainError as error:
        return _error_page(request, error)


def _writer_or_error(request: HttpRequest) -> HttpResponse | None:
    try:
        require_access(request.user, AccessLevel.WRITE)
    except PermissionDenied as error:
        return _error_page(request, error)
    return None


def _optional_url(name: str, *args: Any) -> str | None:
    """The URL of a part another app provides, or None when that app is not installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _assignable_agents(request: HttpRequest) -> list:
    # Select options need ids and names only: skip agent_list's prefetch of every agent's teams, and load only
    # the columns of the name (display_name) and of the write check (can_write).
    agents = agent_list(actor=request.user).prefetch_related(None).only(
        "username", "first_name", "last_name", "role", "is_active", "is_superuser")
    return [agent for agent in agents if agent.can_write]


def _team_choices(request: HttpRequest) -> list:
    """Teams for the select boxes (ids and names; without team_list's memberships and their users)."""
    return list(team_list(actor=request.user).prefetch_related(None))


def _announce(response: HttpResponse, event: str, flash: str) -> HttpResponse:
    """Tell the page's other parts to refresh themselves (``ticket-replied`` refreshes conversation and
    properties, ``properties-saved`` the audit trail) and show a short confirmation."""
    response["HX-Trigger"] = json.dumps({event: True, "cx:flash": flash})
    return response


# --- inbox -----------------------------------------------------------------------------------------------

def _inbox_params(request: HttpRequest) -> dict[str, str]:
    params = {key: request.GET.get(key, "") for key in (*workspace.FILTER_KEYS, "sort", "view")}
    if not params["queue"]:
        params["queue"] = "my-open" if request.user.can_write else "all"
    return params


def _ticket_page(request: HttpRequest, qs: QuerySet[Ticket], *, sort: str, cursor: str | None) -> QueuePage:
    try:
        return ticket_row_page(actor=request.user, qs=qs, sort=sort, cursor=cursor, limit=PAGE_SIZE)
    except ValueError:  # a well-formed cursor holding an impossible date (month 13)
        raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"}) from None


def _query(params: dict[str, str]) -> str:
    return urlencode({k: v for k, v in params.items() if v})


@login_required
@require_GET
@in_agent_time_zone
def inbox(request: HttpRequest) -> HttpResponse:
    """Queues, saved views and the ticket table. htmx asks for the rows only (live refresh, Load more)."""
    params = _inbox_params(request)
    cursor = request.GET.get("cursor") or None
    context: dict[str, Any] = {"params": params, "query": _query(params), "rows": [], "next_cursor": None,
                               "error": None, "can_write": request.user.can_write, "selectable": True,
                               "list_url": reverse("tickets:inbox")}
    status = 200
    try:
        require_access(request.user, AccessLevel.READ)
        filters = workspace.inbox_filters_clean(params)
        sort = workspace.inbox_sort_clean(params["sort"])
        page = _ticket_page(request, workspace.inbox_tickets(actor=request.user, filters=filters), sort=sort,
                            cursor=cursor)
    except PermissionDenied as error:
        return _error_page(request, error)
    except DomainError as error:
        context["error"] = error
        status = error.status
    else:
        context.update(rows=page.items, next_cursor=page.next_cursor)
    if request.htmx and not request.htmx.history_restore_request and (cursor or request.htmx.target == "ticket-rows"):
        return render(request, "tickets/partials/ticket_rows.html", context, status=status)
    agents = _assignable_agents(request)
    teams = _team_choices(request)
    sidebar = _sidebar(request, params, with_counts=False)
    context.update(
        sidebar,
        filter_form=InboxFilterForm(initial=params, agents=agents, teams=teams),
        bulk_form=BulkForm(agents=agents, teams=teams, statuses=status_list()),
        view_form=SavedViewForm(),
        title=_inbox_title(params, sidebar),
    )
    return render(request, "tickets/inbox.html", context, status=status)


def _inbox_title(params: dict[str, str], sidebar: dict[str, Any]) -> str:
    current = next((item for item in sidebar["view_items"] if item["current"]), None)
    if current is not None:
        return current["view"].name
    return QUEUES.get(params["queue"], "Tickets")


def _view_query(view) -> str:
    return _query({**view.filters, "sort": view.sort, "view": str(view.pk)})


def _sidebar(request: HttpRequest, params: dict[str, str], *, with_counts: bool = True) -> dict[str, Any]:
    """Queues then saved views, each with its link, live count and whether it is the one shown. The inbox
    page renders it without counts and fetches them right after (they are the costly part of the page)."""
    inbox_url = reverse("tickets:inbox")
    views = workspace.saved_views_for(actor=request.user)
    counts = workspace.inbox_counts(actor=request.user, views=views) if with_counts else {}
    queue_items = [
        {"key": key, "label": label, "count": counts.get(key), "url": f"{inbox_url}?queue={key}",
         "current": not params.get("view") and params.get("queue") == key}
        for key, label in QUEUES.items()
    ]
    view_items = [
        {"view": view, "count": counts.get(f"view-{view.pk}"), "url": f"{inbox_url}?{_view_query(view)}",
         "current": params.get("view") == str(view.pk),
         "can_delete": view.owner_id == request.user.pk or request.user.is_cx_admin}
        for view in views
    ]
    return {"queue_items": queue_items, "view_items": view_items}


@login_required
@require_GET
def inbox_counts(request: HttpRequest) -> HttpResponse:
    """The queue sidebar with fresh counts (re-fetched when tickets change)."""
    try:
        sidebar = _sidebar(request, _inbox_params(request))
    except DomainError as error:
        return _error_page(request, error)
    return render(request, "tickets/partials/queue_sidebar.html", sidebar)


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    """Save the inbox's current filters and sort (sent as hidden fields) under a name."""
    form = SavedViewForm(request.POST)
    filters = {key: request.POST.get(key, "") for key in workspace.FILTER_KEYS}
    back = f"{reverse('tickets:inbox')}?{_query({**filters, 'sort': request.POST.get('sort', '')})}"
    if not form.is_valid():
        messages.error(request, "The view needs a name: " + "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect(back)
    try:
        view = workspace.saved_view_create(actor=request.user, name=form.cleaned_data["name"], filters=filters,
                                           sort=request.POST.get("sort") or "updated",
                                           is_shared=form.cleaned_data["is_shared"])
    except PermissionDenied as error:
        return _error_page(request, error)
    except DomainError as error:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in error.fields.items())
        messages.error(request, f"{error.message} {reasons}".strip())
        return redirect(back)
    messages.success(request, f"Saved the view “{view.name}”{' for everyone' if view.is_shared else ''}.")
    return redirect(f"{reverse('tickets:inbox')}?{_view_query(view)}")


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        view = workspace.saved_view_get_for(actor=request.user, view_id=view_id)
        workspace.saved_view_delete(actor=request.user, view=view)
    except DomainError as error:
        return _error_page(request, error)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect("tickets:inbox")


@login_required
@require_POST
def bulk_update(request: HttpRequest) -> HttpResponse:
    """Apply one action to the selected tickets; each ticket that refuses is listed with its reason."""
    denied = _writer_or_error(request)
    if denied:
        return denied
    form = BulkForm(request.POST, agents=_assignable_agents(request), teams=_team_choices(request),
                    statuses=status_list())
    raw_ids = request.POST.getlist("ticket_ids")
    context: dict[str, Any] = {"outcome": None, "error": None}
    status = 200
    if not all(i.isascii() and i.isdigit() for i in raw_ids):
        context["error"] = ValidationFailed("Ticket ids must be numbers.", fields={"ticket_ids": "numbers only"})
    elif not form.is_valid():
        context["error"] = ValidationFailed("Choose a bulk action and a value.", fields={
            name: "; ".join(errors) for name, errors in form.errors.items()})
    else:
        try:
            context["outcome"] = workspace.tickets_bulk_update(
                actor=request.user, ticket_ids=[int(i) for i in raw_ids], action=form.cleaned_data["action"],
                value=form.action_value())
        except DomainError as error:
            context["error"] = error
    if context["error"] is not None:
        status = context["error"].status
    elif context["outcome"].errors and not context["outcome"].updated:
        status = 422
    if not request.htmx:
        if context["error"] is not None:
            messages.error(request, context["error"].message)
        else:
            outcome = context["outcome"]
            if outcome.updated:
                messages.success(request, f"Updated {len(outcome.updated)} ticket(s).")
            for ticket_id, reason in outcome.errors.items():
                messages.error(request, f"#{ticket_id}: {reason}")
        return redirect(request.POST.get("next") or reverse("tickets:inbox"))
    response = render(request, "tickets/partials/bulk_result.html", context, status=status)
    if context["outcome"] is not None and context["outcome"].updated:
        response["HX-Trigger"] = "tickets-changed"
    return response


# --- ticket page -----------------------------------------------------------------------------------------

def _properties_form(request: HttpRequest, ticket: Ticket, data: Any = None) -> PropertiesForm:
    args = (data,) if data is not None else ()
    return PropertiesForm(*args, ticket=ticket, statuses=status_list(), agents=_assignable_agents(request),
                          teams=_team_choices(request), custom_fields=custom_field_list())


def _properties_context(request: HttpRequest, ticket: Ticket, form: PropertiesForm | None = None
                        ) -> dict[str, Any]:
    return {"ticket": ticket, "properties_form": form or _properties_form(request, ticket),
            "can_write": request.user.can_write and ticket.merged_into_id is None}


def _reply_form(ticket: Ticket, *, data: Any = None, files: Any = None, initial: dict | None = None) -> ReplyForm:
    statuses = [s for s in status_list() if s.pk != ticket.status_id]
    if data is not None:
        return ReplyForm(data, files, statuses=statuses)
    return ReplyForm(initial=initial or {}, statuses=statuses)


def _composer_context(request: HttpRequest, ticket: Ticket, form: ReplyForm | None = None) -> dict[str, Any]:
    solved = next((s for s in status_list() if s.category == StatusCategory.SOLVED and s.is_default), None)
    return {"ticket": ticket, "reply_form": form or _reply_form(ticket),
            "canned_replies": workspace.canned_replies_for(actor=request.user), "solved_status": solved}


def _conversation_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    conversation = list(ticket_messages(ticket=ticket))
    customer_messages = sum(1 for m in conversation if m.author_type == AuthorType.CUSTOMER)
    return {"ticket": ticket, "conversation": conversation,
            "can_split": request.user.can_write and ticket.merged_into_id is None and len(conversation) > 1
            and customer_messages > 0}


def _detail_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    context: dict[str, Any] = {
        "ticket": ticket,
        "can_write": request.user.can_write and ticket.merged_into_id is None,
        "other_tickets": tickets_of_customer(actor=request.user, customer_id=ticket.requester_id,
                                             exclude_id=ticket.pk, limit=OTHER_TICKETS),
        "audit_trail": workspace.ticket_audit_trail(actor=request.user, ticket=ticket),
        "sla_badge_url": _optional_url("sla:ticket_badge", ticket.pk),
        "macro_menu_url": _optional_url("automation:macro_menu", ticket.pk),
        "intent_panel_url": _optional_url("intents:ticket_panel", ticket.pk),
        "chat_panel_url": _optional_url("chat:ticket_panel", ticket.pk) if ticket.channel == "chat" else None,
        "timeline_url": _optional_url("journeys:customer_timeline", ticket.requester_id),
        "satisfaction_url": _optional_url("surveys:ticket_satisfaction", ticket.pk),
        # Channel apps above tickets add a side panel to the ticket page (delivery state, calls...).
        "channel_panel_urls": [url for url in (_optional_url("messaging:ticket_panel", ticket.pk),
                                               _optional_url("voice:ticket_panel", ticket.pk)) if url],
    }
    context.update(_conversation_context(request, ticket))
    context.update(_properties_context(request, ticket))
    context.update(_composer_context(request, ticket))
    return context


def _render_detail(request: HttpRequest, ticket: Ticket, *, status: int = 200, **overrides: Any) -> HttpResponse:
    context = _detail_context(request, ticket)
    context.update(overrides)
    return render(request, "tickets/detail.html", context, status=status)


@login_required
@require_GET
@in_agent_time_zone
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_error(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    overrides: dict[str, Any] = {}
    canned_id = request.GET.get("canned", "")
    if canned_id.isascii() and canned_id.isdigit():
        # Without JavaScript the canned-reply picker reloads the page with the composer pre-filled.
        try:
            reply = workspace.canned_reply_get_for(actor=request.user, reply_id=int(canned_id))
        except DomainError as error:
            return _error_page(request, error)
        text = workspace.canned_reply_render(actor=request.user, reply=reply, ticket=ticket)
        overrides["reply_form"] = _reply_form(ticket, initial={"body": text})
    return _render_detail(request, ticket, **overrides)


@login_required
@require_GET
@in_agent_time_zone
def ticket_conversation(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_error(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    return render(request, "tickets/partials/conversation.html", _conversation_context(request, ticket))


@login_required
@require_GET
@in_agent_time_zone
def ticket_audit(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_error(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    return render(request, "tickets/partials/audit.html",
                  {"ticket": ticket, "audit_trail": workspace.ticket_audit_trail(actor=request.user, ticket=ticket)})


def _properties_response(request: HttpRequest, ticket: Ticket, *, form: PropertiesForm | None = None,
                         status: int = 200) -> HttpResponse:
    if request.htmx:
        return render(request, "tickets/partials/properties.html",
                      _properties_context(request, ticket, form), status=status)
    if status >= 400:
        return _render_detail(request, ticket, status=status, properties_form=form)
    return redirect("tickets:detail", ticket.pk)


def _after_change(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The fresh properties panel after a change, or the inbox if the change moved the ticket out of sight
    (e.g. into a restricted team the agent is not in)."""
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
    except NotFound:
        messages.info(request, f"Ticket #{ticket_id} was saved and is no longer visible to you.")
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("tickets:inbox")
            return response
        return redirect("tickets:inbox")
    if not request.htmx:
        messages.success(request, "Ticket saved.")
    return _announce(_properties_response(request, ticket), "properties-saved", "Saved.")


@login_required
@require_http_methods(["GET", "POST"])
@in_agent_time_zone
def ticket_properties(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """GET: the properties panel (live refresh). POST: save the changed properties through ticket_update."""
    ticket = _ticket_or_error(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    if request.method == "GET":
        return render(request, "tickets/partials/properties.html", _properties_context(request, ticket))
    denied = _writer_or_error(request)
    if denied:
        return denied
    form = _properties_form(request, ticket, request.POST)
    if not form.is_valid():
        form.add_error(None, "Some fields are invalid.")
        return _properties_response(request, ticket, form=form, status=422)
    changes = form.changes()
    if not changes:
        return _properties_response(request, ticket)
    try:
        ticket_update(actor=request.user, ticket=ticket, changes=changes)
    except PermissionDenied as error:
        return _error_page(request, error)
    except DomainError as error:
        apply_service_errors(form, error, field_map=PropertiesForm.field_map)
        return _properties_response(request, ticket, form=form, status=error.status)
    return _after_change(request, ticket.pk)


def _quick_change(request: HttpRequest, ticket_id: int, changes: Callable[[Ticket], dict[str, Any]]) -> HttpResponse:
    ticket = _ticket_or_error(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    denied = _writer_or_error(request)
    if denied:
        return denied
    try:
        ticket_update(actor=request.user, ticket=ticket, changes=changes(ticket))
    except PermissionDenied as error:
        return _error_page(request, error)
    except DomainError as error:
        if request.htmx:
            context = {**_properties_context(request, ticket), "action_error": error}
            return render(request, "tickets/partials/properties.html", context, status=error.status)
        messages.error(request, error.message)
        return _render_detail(request, ticket, status=error.status, action_error=error)
    return _after_change(request, ticket.pk)


@login_required
@require_POST
@in_agent_time_zone
def ticket_assign_to_me(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _quick_change(request, ticket_id, lambda ticket: {"assignee_id": request.user.pk})


@login_required
@require_POST
@in_agent_time_zone
def ticket_solve(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _quick_change(request, ticket_id, lambda ticket: {"status_id": default_status(StatusCategory.SOLVED).pk})


@login_required
@require_POST
@in_agent_time_zone
def ticket_reply_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Send a public reply or add an internal note (multipart: attachments), optionally changing status."""
    ticket = _ticket_or_error(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    denied = _writer_or_error(request)
    if denied:
        return denied
    form = _reply_form(ticket, data=request.POST, files=request.FILES)
    status = 422
    if form.is_valid():
        try:
            message = ticket_reply(actor=request.user, ticket=ticket, body=form.cleaned_data["body"],
                                   visibility=form.cleaned_data["visibility"],
                                   status_id=form.cleaned_data["submit_as"],
                                   attachments=form.cleaned_data["attachments"])
        except PermissionDenied as error:
            return _error_page(request, error)
        except DomainError as error:
            apply_service_errors(form, error, field_map={"status_id": "submit_as"})
            status = error.status
        else:
            sent = "Reply sent." if message.visibility == Visibility.PUBLIC else "Internal note added."
            if not request.htmx:
                messages.success(request, sent)
                return redirect("tickets:detail", ticket.pk)
            fresh = ticket_get_for(actor=request.user, ticket_id=ticket.pk)
            return _announce(render(request, "tickets/partials/composer.html", _composer_context(request, fresh)),
                             "ticket-replied", sent)
    else:
        form.add_error(None, "The message could not be sent.")
    if request.htmx:
        return render(request, "tickets/partials/composer.html", _composer_context(request, ticket, form),
                      status=status)
    return _render_detail(request, ticket, status=status, reply_form=form)


@login_required
@require_GET
def canned_reply_text(request: HttpRequest, ticket_id: int, reply_id: int) -> HttpResponse:
    """A canned reply with this ticket's placeholders filled in, as plain text for the composer."""
    ticket = _ticket_or_error(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    try:
        reply = workspace.canned_reply_get_for(actor=request.user, reply_id=reply_id)
    except DomainError as error:
        return _error_page(request, error)
    text = workspace.canned_reply_render(actor=request.user, reply=reply, ticket=ticket)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse | HttpResponse:
    """Attachments are always downloaded (never rendered inline), and only by agents who may see the ticket."""
    try:
        attachment = workspace.attachment_get_for(actor=request.user, attachment_id=attachment_id)
    except DomainError as error:
        return _error_page(request, error)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        return _error_page(request, NotFound("The attachment's file is missing."))
    return FileResponse(handle, as_attachment=True, filename=attachment.filename,
                        content_type=attachment.content_type or "application/octet-stream")


@login_required
@require_http_methods(["GET", "POST"])
@in_agent_time_zone
def ticket_merge_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Merge this ticket into another one: search, confirm, merge (the other ticket survives)."""
    source = _ticket_or_error(request, ticket_id)
    if isinstance(source, HttpResponse):
        return source
    denied = _writer_or_error(request)
    if denied:
        return denied
    if request.method == "POST":
        form = MergeForm(request.POST)
        if not form.is_valid():
            return render(request, "tickets/merge.html", {"ticket": source, "form": form, "q": ""}, status=422)
        target = _ticket_or_error(request, form.cleaned_data["target_id"])
        if isinstance(target, HttpResponse):
            return target
        try:
            ticket_merge(actor=request.user, source=source, target=target)
        except PermissionDenied as error:
            return _error_page(request, error)
        except DomainError as error:
            apply_service_errors(form, error, field_map={"source_id": "target_id"})
            return render(request, "tickets/merge.html", {"ticket": source, "target": target, "form": form},
                          status=error.status)
        messages.success(request, f"Ticket #{source.pk} was merged into this ticket.")
        return redirect("tickets:detail", target.pk)

    target_id = request.GET.get("target", "")
    if target_id:
        form = MergeForm({"target_id": target_id})
        if not form.is_valid():
            return _error_page(request, ValidationFailed("Choose the ticket to merge into.",
                                                         fields={"target": "must be a ticket id"}))
        target = _ticket_or_error(request, form.cleaned_data["target_id"])
        if isinstance(target, HttpResponse):
            return target
        return render(request, "tickets/merge.html", {"ticket": source, "target": target, "form": form})

    query = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"ticket": source, "q": query, "candidates": [], "error": None,
                               "form": MergeForm()}
    status = 200
    if query:
        try:
            candidates = ticket_search(actor=request.user, query=query).exclude(pk=source.pk).filter(
                merged_into__isnull=True).select_related("requester", "status").order_by("-updated_at", "-id")
            context["candidates"] = list(candidates[:MERGE_CANDIDATES])
        except DomainError as error:
            context["error"] = error
            status = error.status
    template = "tickets/partials/merge_candidates.html" if request.htmx else "tickets/merge.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def message_split_view(request: HttpRequest, ticket_id: int, message_id: int) -> HttpResponse:
    """Move one customer message out into a new ticket."""
    ticket = _ticket_or_error(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    denied = _writer_or_error(request)
    if denied:
        return denied
    try:
        message = message_get_for(actor=request.user, message_id=message_id)
        if message.ticket_id != ticket.pk:
            raise NotFound(f"No message {message_id} on ticket {ticket.pk}.")
        new_ticket = message_split(actor=request.user, message=message)
    except DomainError as error:
        if error.status == 422:
            messages.error(request, error.message)
            return _render_detail(request, ticket, status=422)
        return _error_page(request, error)
    messages.success(request, f"The message was split out of ticket #{ticket.pk} into this new ticket.")
    return redirect("tickets:detail", new_ticket.pk)


# --- search ----------------------------------------------------------------------------------------------

@login_required
@require_GET
@in_agent_time_zone
def search(request: HttpRequest) -> HttpResponse:
    """Full-text search over subjects, messages and customers, with status, channel and date filters."""
    form = SearchForm(request.GET)
    cursor = request.GET.get("cursor") or None
    context: dict[str, Any] = {"form": form, "rows": [], "next_cursor": None, "error": None, "searched": False,
                               "query": "", "selectable": False, "list_url": reverse("tickets:search")}
    status = 200
    try:
        require_access(request.user, AccessLevel.READ)
    except PermissionDenied as error:
        return _error_page(request, error)
    if not form.is_valid():
        context["error"] = ValidationFailed("Some search filters are invalid.", fields={
            name: "; ".join(errors) for name, errors in form.errors.items()})
        status = 422
    elif form.cleaned_data["q"].strip():
        data = form.cleaned_data
        context["searched"] = True
        context["query"] = urlencode({k: v for k, v in request.GET.items() if k != "cursor" and v})
        try:
            qs = ticket_search(actor=request.user, query=data["q"], status_category=data["status_category"] or None,
                               channel=data["channel"] or None, created_from=data["created_from"],
                               created_to=data["created_to"])
            page = _ticket_page(request, qs, sort="updated", cursor=cursor)
        except DomainError as error:
            context["error"] = error
            status = error.status
        else:
            context.update(rows=page.items, next_cursor=page.next_cursor)
    if request.htmx and not request.htmx.history_restore_request and cursor:
        return render(request, "tickets/partials/ticket_rows.html", context, status=status)
    return render(request, "tickets/search.html", context, status=status)


# --- canned replies --------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def canned_replies(request: HttpRequest) -> HttpResponse:
    """The canned replies an agent can use, and a form to add one."""
    try:
        replies = workspace.canned_replies_for(actor=request.user)
    except DomainError as error:
        return _error_page(request, error)
    form = CannedReplyForm()
    status = 200
    if request.method == "POST":
        denied = _writer_or_error(request)
        if denied:
            return denied
        form = CannedReplyForm(request.POST)
        status = 422
        if form.is_valid():
            try:
                reply = workspace.canned_reply_create(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                apply_service_errors(form, error)
                status = error.status
            else:
                messages.success(request, f"Canned reply “{reply.title}” saved.")
                return redirect("tickets:canned_replies")
    return render(request, "tickets/canned_replies.html",
                  {"replies": replies, "form": form, "placeholders": workspace.PLACEHOLDERS,
                   "can_write": request.user.can_write}, status=status)


@login_required
@require_POST
def canned_reply_delete(request: HttpRequest, reply_id: int) -> HttpResponse:
    try:
        reply = workspace.canned_reply_get_for(actor=request.user, reply_id=reply_id)
        workspace.canned_reply_delete(actor=request.user, reply=reply)
    except DomainError as error:
        return _error_page(request, error)
    messages.success(request, f"Canned reply “{reply.title}” deleted.")
    return redirect("tickets:canned_replies")
