"""Live chat pages and endpoints.

Public (the widget, on customers' websites; JSON, CORS limited to the inbox's allowed origins, no CSRF
because no cookie is used: the visitor token travels in the body or a header): ``widget.js``, the session,
file upload, attachment download and leave-a-message.

Agents: the chat console (live queue with alerts), accept / transfer / end, proactive messages, and the
panel the ticket page loads for chat tickets. Admins: chat inboxes (settings, install snippet, secret).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.selectors import agent_list, team_list
from cx.accounts.services import require_access
from cx.chat import selectors, services
from cx.chat.forms import ChatInboxForm, TransferForm
from cx.chat.identity import visitor_token_read
from cx.chat.models import ChatInbox, ChatVisitor
from cx.core.errors import DomainError, NotFound, ValidationFailed
from cx.core.views import render_domain_error
from cx.inbox.services import RateLimited
from cx.journeys.selectors import timeline_page
from cx.sla.selectors import business_calendar_list
from cx.tickets.models import Attachment

WIDGET_JS = Path(__file__).resolve().parent / "static" / "chat" / "widget.js"
MAX_JSON_BODY = 64 * 1024
RECENT_TOUCHPOINTS = 8


# --- The widget (public) --------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _widget_source() -> bytes:
    return WIDGET_JS.read_bytes()


@gzip_page
@require_GET
def widget_js(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_widget_source(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _cors(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, X-Visitor-Token"
        response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
    return response


def _json_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    response = JsonResponse(error.as_dict(), status=error.status)
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after)
    return _cors(response, request)


def _inbox_for(request: HttpRequest, widget_key: str) -> ChatInbox:
    inbox = selectors.chat_inbox_by_widget_key(widget_key=widget_key)
    if not selectors.origin_allowed(inbox, request.headers.get("Origin")):
        from cx.core.errors import PermissionDenied

        raise PermissionDenied("This website may not use the chat inbox.", code="origin_not_allowed",
                               fields={"origin": "not in the inbox's allowed origins"})
    return inbox


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_JSON_BODY:
        raise services.PayloadTooLarge("The request is too large.", fields={"body": f"at most {MAX_JSON_BODY} bytes"})
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ValidationFailed("The body is not valid JSON.", fields={"body": "not JSON"}) from None
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", fields={"body": "an object"})
    return data


def _visitor_for(inbox: ChatInbox, token: Any) -> ChatVisitor:
    public_id = visitor_token_read(token, inbox_id=inbox.pk) if isinstance(token, str) else None
    visitor = selectors.visitor_by_public_id(inbox=inbox, public_id=public_id) if public_id else None
    if visitor is None:
        from cx.core.errors import PermissionDenied

        raise PermissionDenied("The visitor token is missing or invalid.", code="invalid_visitor_token",
                               fields={"visitor_token": "not issued by this inbox"})
    return visitor


def _preflight_or(view):
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            return _cors(HttpResponse(status=204), request)
        try:
            return _cors(view(request, *args, **kwargs), request)
        except DomainError as error:
            return _json_error(request, error)
    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return csrf_exempt(wrapper)


@_preflight_or
@require_http_methods(["POST", "OPTIONS"])
def widget_session(request: HttpRequest, widget_key: str) -> HttpResponse:
    """The widget starts on a page: visitor token, inbox settings, availability and the chat's history."""
    inbox = _inbox_for(request, widget_key)
    data = _json_body(request)
    identity = data.get("identity")
    session = services.chat_session_open(
        inbox=inbox, token=data.get("visitor_token") if isinstance(data.get("visitor_token"), str) else "",
        page_url=data.get("page_url") or "", page_title=data.get("page_title") or "",
        referrer=data.get("referrer") or "", user_agent=request.headers.get("User-Agent", ""),
        identity=identity if identity else None)
    availability = selectors.chat_availability(inbox=inbox)
    conversation = selectors.visitor_current_conversation(visitor=session.visitor)
    return JsonResponse({
        "visitor_token": session.token,
        "visitor": {"name": session.visitor.name, "email": session.visitor.email,
                    "identified": bool(session.visitor.external_user_id)},
        "inbox": {"name": inbox.name, "greeting": inbox.greeting, "offline_message": inbox.offline_message,
                  "colour": inbox.colour, "pre_chat_fields": inbox.pre_chat_fields,
                  "max_upload_bytes": services.MAX_UPLOAD_BYTES, "upload_types": sorted(services.UPLOAD_TYPES)},
        "availability": {"open": availability.open, "within_hours": availability.within_hours,
                         "agents_online": availability.agents_online},
        "conversation": selectors.conversation_frame(conversation=conversation, widget_key=inbox.widget_key)
        if conversation else None,
        "socket_path": f"/ws/chat/visitor/{inbox.widget_key}/",
    })


@_preflight_or
@require_http_methods(["POST", "OPTIONS"])
def widget_upload(request: HttpRequest, widget_key: str) -> HttpResponse:
    """The visitor sends a file into the live chat (multipart ``file``; optional ``body``)."""
    inbox = _inbox_for(request, widget_key)
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > services.MAX_UPLOAD_BYTES + 64 * 1024:
        # Refused before the body is read: the limit is the file's, plus room for the form's other parts.
        raise services.PayloadTooLarge("The file is too large.",
                                       fields={"file": f"at most {services.MAX_UPLOAD_BYTES // 2**20} MB"})
    visitor = _visitor_for(inbox, request.headers.get("X-Visitor-Token") or request.POST.get("visitor_token"))
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationFailed("No file was sent.", fields={"file": "required"})
    message = services.chat_visitor_message(visitor=visitor, body=request.POST.get("body") or None,
                                            attachments=[upload])
    message = selectors.conversation_messages(conversation=message.ticket.chat_conversation).get(pk=message.pk)
    return JsonResponse({"message": selectors.message_frame(message, widget_key=inbox.widget_key)}, status=201)


@_preflight_or
@require_http_methods(["GET", "OPTIONS"])
def widget_attachment(request: HttpRequest, widget_key: str, attachment_id: int) -> HttpResponse:
    """A file of the visitor's own chat (the token is in the query: links open in a new tab)."""
    inbox = _inbox_for(request, widget_key)
    visitor = _visitor_for(inbox, request.GET.get("token"))
    attachment = (Attachment.objects.select_related("message").filter(
        pk=attachment_id, message__visibility="public",
        message__ticket__chat_conversation__visitor=visitor).first())
    if attachment is None:
        raise NotFound("No such file in your chat.")
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@_preflight_or
@require_http_methods(["POST", "OPTIONS"])
def widget_offline_message(request: HttpRequest, widget_key: str) -> HttpResponse:
    """Leave a message (nobody online or outside hours): a ticket answered by email."""
    inbox = _inbox_for(request, widget_key)
    data = _json_body(request)
    visitor = None
    if data.get("visitor_token"):
        visitor = _visitor_for(inbox, data.get("visitor_token"))
    result = services.chat_offline_message(inbox=inbox, visitor=visitor, name=data.get("name"),
                                           email=data.get("email"), message=data.get("message"),
                                           client_ip=request.META.get("REMOTE_ADDR", ""))
    return JsonResponse({"ticket_id": result.ticket.pk, "email": result.submission.email}, status=201)


# --- Agents ---------------------------------------------------------------------------------------------

def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="chat")


def _queue_context(request: HttpRequest) -> dict[str, Any]:
    return {"queue": selectors.chat_queue(actor=request.user),
            "visitors": selectors.visitors_online(actor=request.user),
            "chat_limit": selectors.agent_chat_limit(),
            "live_count": selectors.agent_live_chat_count(user_id=request.user.pk)}


@login_required
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    try:
        context = _queue_context(request)
    except DomainError as error:
        return _error(request, error)
    return render(request, "chat/console.html", context)


@login_required
@require_GET
def console_queue(request: HttpRequest) -> HttpResponse:
    try:
        context = _queue_context(request)
    except DomainError as error:
        return _error(request, error)
    return render(request, "chat/partials/queue.html", context)


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(fallback)


@login_required
@require_POST
def conversation_accept(request: HttpRequest, conversation_id: int) -> HttpResponse:
    try:
        conversation = selectors.conversation_get_for(actor=request.user, conversation_id=conversation_id)
        services.chat_accept(actor=request.user, conversation=conversation)
    except DomainError as error:
        return _error(request, error)
    return redirect("tickets:detail", conversation.ticket_id)


@login_required
@require_POST
def conversation_transfer(request: HttpRequest, conversation_id: int) -> HttpResponse:
    try:
        conversation = selectors.conversation_get_for(actor=request.user, conversation_id=conversation_id)
        form = TransferForm(request.POST, agents=agent_list(actor=request.user), teams=team_list(actor=request.user))
        if not form.is_valid():
            raise ValidationFailed("Choose an agent or a team.",
                                   fields={k: " ".join(v) for k, v in form.errors.items()})
        agent_id, team_id = form.target()
        services.chat_transfer(actor=request.user, conversation=conversation, agent_id=agent_id, team_id=team_id)
    except DomainError as error:
        return _error(request, error)
    messages.success(request, "Chat transferred.")
    return redirect("chat:console")


@login_required
@require_POST
def conversation_end(request: HttpRequest, conversation_id: int) -> HttpResponse:
    try:
        conversation = selectors.conversation_get_for(actor=request.user, conversation_id=conversation_id)
        services.chat_end_by_agent(actor=request.user, conversation=conversation)
    except DomainError as error:
        return _error(request, error)
    messages.success(request, "Chat ended; the transcript stays on the ticket.")
    return _back(request, reverse("tickets:detail", args=[conversation.ticket_id]))


@login_required
@require_POST
def visitor_proactive(request: HttpRequest, visitor_id: int) -> HttpResponse:
    try:
        visitor = selectors.visitor_get_for(actor=request.user, visitor_id=visitor_id)
        services.chat_proactive_send(actor=request.user, visitor=visitor, body=request.POST.get("body", ""))
    except DomainError as error:
        return _error(request, error)
    messages.success(request, f"Message sent to {visitor}.")
    return redirect("chat:console")


@login_required
@require_GET
def ticket_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The chat box on a chat ticket's page: status, the visitor's current page, recent touchpoints, and
    accept / transfer / end. Loading it marks the visitor's messages read (a receipt in the widget)."""
    from cx.tickets.selectors import ticket_get_for

    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
        conversation = selectors.conversation_for_ticket(actor=request.user, ticket_id=ticket.pk)
        if conversation is None:
            return HttpResponse("")
        if conversation.is_live and conversation.agent_id == request.user.pk:
            services.chat_agent_read(actor=request.user, conversation=conversation)
        touchpoints = timeline_page(actor=request.user, customer_id=ticket.requester_id,
                                    limit=RECENT_TOUCHPOINTS).items
    except DomainError as error:
        return _error(request, error)
    last_agent = (selectors.conversation_messages(conversation=conversation)
                  .filter(author_agent__isnull=False).values_list("pk", flat=True).last())
    return render(request, "chat/partials/ticket_panel.html", {
        "conversation": conversation, "visitor": conversation.visitor, "touchpoints": touchpoints,
        "ticket": ticket, "can_write": request.user.can_write,
        "seen": bool(last_agent and (conversation.visitor_read_message_id or 0) >= last_agent),
        "transfer_form": TransferForm(agents=agent_list(actor=request.user), teams=team_list(actor=request.user)),
    })


# --- Admins: chat inboxes -------------------------------------------------------------------------------

def _admin_or_error(request: HttpRequest) -> HttpResponse | None:
    try:
        require_access(request.user, AccessLevel.ADMIN)
    except DomainError as error:
        return _error(request, error)
    return None


def _inbox_form(request: HttpRequest, data=None, inbox: ChatInbox | None = None) -> ChatInboxForm:
    return ChatInboxForm(data, inbox=inbox, calendars=business_calendar_list(actor=request.user),
                         teams=team_list(actor=request.user))


def _form_errors(form: ChatInboxForm, error: DomainError) -> None:
    for field, reason in error.fields.items():
        form.add_error(field if field in form.fields else None, reason)
    if not error.fields:
        form.add_error(None, error.message)


def _snippet(request: HttpRequest, inbox: ChatInbox) -> str:
    src = request.build_absolute_uri(reverse("chat:widget_js"))
    return f'<script src="{src}" data-inbox="{inbox.widget_key}" async></script>'


@login_required
@require_http_methods(["GET", "POST"])
def inbox_list(request: HttpRequest) -> HttpResponse:
    denied = _admin_or_error(request)
    if denied:
        return denied
    form = _inbox_form(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.chat_inbox_create(actor=request.user, values=form.values())
        except DomainError as error:
            _form_errors(form, error)
        else:
            response = render(request, "chat/secret.html", {
                "inbox": created.inbox, "secret": created.identity_secret, "snippet": _snippet(request, created.inbox),
                "new": True})
            response["Cache-Control"] = "no-store"
            return response
    inboxes = selectors.chat_inbox_list(actor=request.user)
    return render(request, "chat/inboxes.html", {"inboxes": inboxes, "form": form},
                  status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def inbox_edit(request: HttpRequest, inbox_id: int) -> HttpResponse:
    denied = _admin_or_error(request)
    if denied:
        return denied
    try:
        inbox = selectors.chat_inbox_get_for(actor=request.user, inbox_id=inbox_id)
    except DomainError as error:
        return _error(request, error)
    form = _inbox_form(request, request.POST if request.method == "POST" else None, inbox=inbox)
    if request.method == "POST" and form.is_valid():
        try:
            services.chat_inbox_update(actor=request.user, inbox=inbox, values=form.values())
        except DomainError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Chat inbox saved.")
            return redirect("chat:inbox_edit", inbox.pk)
    return render(request, "chat/inbox_edit.html", {"inbox": inbox, "form": form, "snippet": _snippet(request, inbox)},
                  status=422 if form.errors else 200)


@login_required
@require_POST
def inbox_rotate_secret(request: HttpRequest, inbox_id: int) -> HttpResponse:
    denied = _admin_or_error(request)
    if denied:
        return denied
    try:
        inbox = selectors.chat_inbox_get_for(actor=request.user, inbox_id=inbox_id)
        rotated = services.chat_inbox_rotate_secret(actor=request.user, inbox=inbox)
    except DomainError as error:
        return _error(request, error)
    response = render(request, "chat/secret.html", {"inbox": rotated.inbox, "secret": rotated.identity_secret,
                                                    "snippet": _snippet(request, rotated.inbox), "new": False})
    response["Cache-Control"] = "no-store"
    return response
