"""Writes for live chat: inbox configuration (admins), the visitor's side (session, identity, messages,
read receipts, leave-a-message) and the agent's side (accept, transfer, end, proactive messages).

A conversation is a ticket with channel ``chat``: visitors write through ``ticket_customer_reply``, agents
answer on the ticket page through ``ticket_reply`` and the ticket observer here pushes public replies to
the widget after commit. Visitors act without an account; where a tickets or customers service needs an
actor, the ``cxdesk-chat`` system account acts (audited, cannot log in).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.selectors import active_agent_get, team_list
from cx.accounts.services import require_access, system_user_get
from cx.chat import push, selectors
from cx.chat.hooks import ChatEnded, chat_end_frames
from cx.chat.identity import identity_signature_valid, visitor_token_issue, visitor_token_read
from cx.chat.models import (
    MAX_AGENT_CHAT_LIMIT,
    ChatConversation,
    ChatInbox,
    ChatVisitor,
    ConversationStatus,
)
from cx.core.audit import audit_record
from cx.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cx.customers.models import Customer
from cx.customers.selectors import customer_find_by_identity
from cx.customers.services import customer_create, customer_merge, identity_add
from cx.inbox.services import WebFormResult, web_form_ticket_open
from cx.journeys.services import touchpoint_record
from cx.routing.services import routing_agent_room_freed
from cx.sla.selectors import business_calendar_list
from cx.tickets.hooks import TicketChange
from cx.tickets.models import Channel, DeliveryStatus, Message, Visibility
from cx.tickets.services import ticket_customer_reply, ticket_open_by_customer, ticket_reply, ticket_update

CHAT_USERNAME = "cxdesk-chat"
MAX_MESSAGE = 5000
MAX_PRE_CHAT_FIELDS = 10
MAX_ORIGINS = 20
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# What a visitor may upload: images, PDFs, plain text and office documents (no executables or HTML).
UPLOAD_TYPES = {
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv",
    "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FIELD_TYPES = ("text", "email", "tel", "textarea", "select")
INBOX_FIELDS = ("name", "is_active", "greeting", "offline_message", "colour", "allowed_origins", "pre_chat_fields",
                "calendar_id", "team_id", "agent_chat_limit")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class PayloadTooLarge(ValidationFailed):
    status = 413
    code = "payload_too_large"


def chat_actor() -> User:
    """The account the chat acts as for visitors (opening tickets, merging an identified visitor)."""
    return system_user_get(username=CHAT_USERNAME, label="Live chat")


# --- Inbox configuration --------------------------------------------------------------------------------

def _clean_origins(value: Any, errors: dict[str, str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > MAX_ORIGINS:
        errors["allowed_origins"] = f"a list of at most {MAX_ORIGINS} origins such as https://www.example.com"
        return []
    origins = []
    for raw in value:
        text = raw.strip().rstrip("/").lower()
        if not text:
            continue
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            errors["allowed_origins"] = f"{raw[:60]!r} is not an origin such as https://www.example.com"
            return []
        origins.append(text)
    return list(dict.fromkeys(origins))


def _clean_pre_chat(value: Any, errors: dict[str, str]) -> list[dict]:
    if not isinstance(value, list) or len(value) > MAX_PRE_CHAT_FIELDS:
        errors["pre_chat_fields"] = f"a list of at most {MAX_PRE_CHAT_FIELDS} fields"
        return []
    cleaned, names = [], set()
    for index, field in enumerate(value):
        where = f"field {index + 1}"
        if not isinstance(field, dict):
            errors["pre_chat_fields"] = f"{where}: an object with name, label, type and required"
            return []
        name, label = field.get("name"), field.get("label")
        kind, required = field.get("type", "text"), field.get("required", False)
        if not isinstance(name, str) or not _FIELD_NAME.match(name):
            errors["pre_chat_fields"] = f"{where}: name must be lower-case letters, digits and _ (up to 40)"
        elif name in names:
            errors["pre_chat_fields"] = f"{where}: the name {name} is used twice"
        elif not isinstance(label, str) or not label.strip() or len(label) > 100:
            errors["pre_chat_fields"] = f"{where}: a label of 1 to 100 characters"
        elif kind not in FIELD_TYPES:
            errors["pre_chat_fields"] = f"{where}: type is one of {', '.join(FIELD_TYPES)}"
        elif not isinstance(required, bool):
            errors["pre_chat_fields"] = f"{where}: required is true or false"
        elif name == "email" and kind != "email":
            errors["pre_chat_fields"] = f"{where}: the email field has type email"
        if "pre_chat_fields" in errors:
            return []
        entry = {"name": name, "label": label.strip(), "type": kind, "required": required}
        if kind == "select":
            options = field.get("options")
            if (not isinstance(options, list) or not options or len(options) > 30
                    or not all(isinstance(o, str) and o.strip() and len(o) <= 100 for o in options)):
                errors["pre_chat_fields"] = f"{where}: a select needs 1 to 30 options of up to 100 characters"
                return []
            entry["options"] = [o.strip() for o in options]
        names.add(name)
        cleaned.append(entry)
    return cleaned


def chat_inbox_clean(*, actor: User, values: dict[str, Any], inbox: ChatInbox | None = None) -> dict[str, Any]:
    unknown = set(values) - set(INBOX_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if inbox is None and "name" not in values:
        errors["name"] = "required"
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "required"
        elif len(name.strip()) > 100:
            errors["name"] = "at most 100 characters"
        else:
            cleaned["name"] = " ".join(name.split())
    if "is_active" in values:
        if not isinstance(values["is_active"], bool):
            errors["is_active"] = "true or false"
        else:
            cleaned["is_active"] = values["is_active"]
    for text_field in ("greeting", "offline_message"):
        if text_field in values:
            text = values[text_field]
            if not isinstance(text, str) or len(text.strip()) > 500:
                errors[text_field] = "text of at most 500 characters"
            else:
                cleaned[text_field] = text.strip()
    if "colour" in values:
        if not isinstance(values["colour"], str) or not _COLOUR.match(values["colour"]):
            errors["colour"] = "a colour such as #1f6feb"
        else:
            cleaned["colour"] = values["colour"].lower()
    if "allowed_origins" in values:
        cleaned["allowed_origins"] = _clean_origins(values["allowed_origins"], errors)
    if "pre_chat_fields" in values:
        cleaned["pre_chat_fields"] = _clean_pre_chat(values["pre_chat_fields"], errors)
    if "agent_chat_limit" in values:
        limit = values["agent_chat_limit"]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_AGENT_CHAT_LIMIT:
            errors["agent_chat_limit"] = f"a whole number from 1 to {MAX_AGENT_CHAT_LIMIT}"
        else:
            cleaned["agent_chat_limit"] = limit
    if "calendar_id" in values:
        calendar_id = values["calendar_id"]
        if calendar_id is None:
            cleaned["calendar_id"] = None
        elif (not isinstance(calendar_id, int) or isinstance(calendar_id, bool)
              or not business_calendar_list(actor=actor).filter(pk=calendar_id).exists()):
            errors["calendar_id"] = "no such business calendar"
        else:
            cleaned["calendar_id"] = calendar_id
    if "team_id" in values:
        team_id = values["team_id"]
        if team_id is None:
            cleaned["team_id"] = None
        elif (not isinstance(team_id, int) or isinstance(team_id, bool)
              or not team_list(actor=actor).filter(pk=team_id).exists()):
            errors["team_id"] = "no such team"
        else:
            cleaned["team_id"] = team_id
    if errors:
        raise ValidationFailed("Some settings of the chat inbox are invalid.", fields=errors)
    name = cleaned.get("name")
    if name and ChatInbox.objects.filter(name__iexact=name).exclude(pk=inbox.pk if inbox else None).exists():
        raise Conflict("A chat inbox with that name exists.", fields={"name": "already exists"})
    return cleaned


@dataclass(frozen=True)
class InboxWithSecret:
    """The inbox and its identity secret in clear text: returned once, when it is generated."""

    inbox: ChatInbox
    identity_secret: str


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def chat_inbox_create(*, actor: User, values: dict[str, Any],
                      token_scope: AccessLevel | None = None) -> InboxWithSecret:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    cleaned = chat_inbox_clean(actor=actor, values=values)
    secret = _new_secret()
    inbox = ChatInbox.objects.create(widget_key=secrets.token_urlsafe(18), identity_secret=secret,
                                     secret_rotated_at=timezone.now(), **cleaned)
    audit_record(actor=actor, action="chat_inbox.created", target_type="chat_inbox", target_id=inbox.pk,
                 data={"values": cleaned})  # the secret is never audited
    return InboxWithSecret(inbox=inbox, identity_secret=secret)


@transaction.atomic
def chat_inbox_update(*, actor: User, inbox: ChatInbox, values: dict[str, Any],
                      token_scope: AccessLevel | None = None) -> ChatInbox:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    inbox = ChatInbox.objects.select_for_update().get(pk=inbox.pk)
    cleaned = chat_inbox_clean(actor=actor, values=values, inbox=inbox)
    changes = {k: [getattr(inbox, k), v] for k, v in cleaned.items() if getattr(inbox, k) != v}
    if changes:
        for name, (_old, new) in changes.items():
            setattr(inbox, name, new)
        inbox.save()
        audit_record(actor=actor, action="chat_inbox.updated", target_type="chat_inbox", target_id=inbox.pk,
                     data={"changes": changes})
    return inbox


@transaction.atomic
def chat_inbox_rotate_secret(*, actor: User, inbox: ChatInbox,
                             token_scope: AccessLevel | None = None) -> InboxWithSecret:
    """A new identity secret; signatures made with the old one stop working at once."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    inbox = ChatInbox.objects.select_for_update().get(pk=inbox.pk)
    secret = _new_secret()
    inbox.identity_secret = secret
    inbox.secret_rotated_at = timezone.now()
    inbox.save(update_fields=["identity_secret", "secret_rotated_at", "updated_at"])
    audit_record(actor=actor, action="chat_inbox.secret_rotated", target_type="chat_inbox", target_id=inbox.pk,
                 data={})
    return InboxWithSecret(inbox=inbox, identity_secret=secret)


# --- The visitor's side ---------------------------------------------------------------------------------

def _text(value: Any, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def _clean_email(value: Any, field: str = "email") -> str:
    email = str(value or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed("The email address is not valid.", fields={field: "not a valid email address"}) \
            from None
    if len(email) > 255:
        raise ValidationFailed("The email address is too long.", fields={field: "at most 255 characters"})
    return email


@dataclass(frozen=True)
class VisitorSession:
    visitor: ChatVisitor
    token: str
    is_new: bool


@transaction.atomic
def chat_session_open(*, inbox: ChatInbox, token: str = "", page_url: str = "", page_title: str = "",
                      referrer: str = "", user_agent: str = "", identity: dict[str, Any] | None = None
                      ) -> VisitorSession:
    """The widget loaded on a page: find the visitor its token names (or start a new anonymous one), note the
    page, and join the host page's verified user to the visitor when it passes one."""
    public_id = visitor_token_read(token, inbox_id=inbox.pk) if token else None
    visitor = selectors.visitor_by_public_id(inbox=inbox, public_id=public_id) if public_id else None
    is_new = visitor is None
    if identity:
        _check_identity(inbox=inbox, identity=identity)  # a forged signature changes nothing
    if visitor is None:
        visitor = ChatVisitor.objects.create(inbox=inbox, public_id=secrets.token_urlsafe(18))
    visitor.current_url = _text(page_url, 2000)
    visitor.current_title = _text(page_title, 300)
    visitor.referrer = _text(referrer, 2000) if is_new else visitor.referrer
    visitor.user_agent = _text(user_agent, 500)
    visitor.last_seen_at = timezone.now()
    visitor.save()
    if identity:
        visitor = chat_visitor_identify(visitor=visitor, identity=identity)
    token = visitor_token_issue(inbox_id=inbox.pk, visitor_public_id=visitor.public_id, visitor_id=visitor.pk)
    return VisitorSession(visitor=visitor, token=token, is_new=is_new)


def _check_identity(*, inbox: ChatInbox, identity: dict[str, Any]) -> tuple[str, str, str]:
    if not isinstance(identity, dict):
        raise ValidationFailed("identity must be an object.", fields={"identity": "user_id, email, name, signature"})
    user_id = identity.get("user_id") or ""
    email = identity.get("email") or ""
    if not isinstance(user_id, str | int) or isinstance(user_id, bool) or not isinstance(email, str):
        raise ValidationFailed("The identity is malformed.", fields={"identity": "user_id and email are strings"})
    user_id = str(user_id).strip()
    if not user_id and not email.strip():
        raise ValidationFailed("The identity names nobody.", fields={"identity": "user_id or email is required"})
    if len(user_id) > 255:
        raise ValidationFailed("The user id is too long.", fields={"identity.user_id": "at most 255 characters"})
    if email.strip():
        email = _clean_email(email, "identity.email")
    if not identity_signature_valid(secret=inbox.identity_secret, user_id=user_id, email=email,
                                    signature=identity.get("signature") or ""):
        raise PermissionDenied("The identity signature does not match.", code="identity_signature_invalid",
                               fields={"identity.signature": "not signed with this inbox's secret"})
    return user_id, email, _text(identity.get("name"), 200)


def _live_customer(customer: Customer | None) -> Customer | None:
    hops = 0
    while customer is not None and customer.merged_into_id is not None and hops < 10:
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
        hops += 1
    if customer is not None and customer.erased_at is not None:
        return None
    return customer


def _anonymous_customer(visitor: ChatVisitor, name: str = "") -> Customer:
    return customer_create(actor=None, display_name=name,
                           identities=[{"kind": "anonymous", "value": f"chat:{visitor.public_id}"}])


@transaction.atomic
def chat_visitor_customer(*, visitor: ChatVisitor) -> Customer:
    """The customer behind a widget visitor: the identified (or earlier anonymous) customer, else a new
    anonymous one remembered on the visitor, so another app (in-app surveys) can record what this browser
    does; an identify or a chat later merges it into the real customer."""
    visitor = ChatVisitor.objects.select_for_update(of=("self",)).select_related("customer").get(pk=visitor.pk)
    customer = _live_customer(visitor.customer)
    if customer is None:
        customer = _anonymous_customer(visitor, visitor.name)
    if visitor.customer_id != customer.pk:
        visitor.customer = customer
        visitor.save(update_fields=["customer"])
    return customer


def _adopt_identity(customer: Customer, kind: str, value: str) -> None:
    """Give ``customer`` an identity it does not have yet (a race with another writer is harmless)."""
    try:
        with transaction.atomic():
            identity_add(actor=None, customer=customer, kind=kind, value=value, is_primary=True)
    except (Conflict, IntegrityError):
        pass


def _join_customer(visitor: ChatVisitor, known: Customer | None, name: str) -> Customer:
    """The visitor is ``known`` (or nobody yet): merge their anonymous record into it, so the anonymous
    history (touchpoints, earlier chats) joins the real customer."""
    current = _live_customer(visitor.customer)
    if known is None:
        return current or _anonymous_customer(visitor, name)
    known = _live_customer(known) or known
    if current is not None and current.pk != known.pk:
        known = customer_merge(actor=chat_actor(), source=current, target=known)
    return known


@transaction.atomic
def chat_visitor_identify(*, visitor: ChatVisitor, identity: dict[str, Any]) -> ChatVisitor:
    """The host page vouches for its logged-in user (HMAC with the inbox's secret): the visitor joins that
    customer (found by external id, then email; created when new), merging the anonymous record into it."""
    visitor = (ChatVisitor.objects.select_for_update(of=("self",)).select_related("inbox", "customer")
               .get(pk=visitor.pk))
    user_id, email, name = _check_identity(inbox=visitor.inbox, identity=identity)
    known = customer_find_by_identity(kind="external", value=user_id) if user_id else None
    if known is None and email:
        known = customer_find_by_identity(kind="email", value=email)
    customer = _join_customer(visitor, known, name)
    if user_id:
        _adopt_identity(customer, "external", user_id)
    if email:
        _adopt_identity(customer, "email", email)
    if name and not customer.display_name:
        customer.display_name = name
        customer.save(update_fields=["display_name", "updated_at"])
    visitor.customer = customer
    visitor.external_user_id = user_id
    visitor.email = email or visitor.email
    visitor.name = name or visitor.name
    visitor.save(update_fields=["customer", "external_user_id", "email", "name"])
    return visitor


def _clean_pre_chat_answers(inbox: ChatInbox, fields: Any) -> dict[str, str]:
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise ValidationFailed("The pre-chat form is malformed.", fields={"fields": "an object of answers"})
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    for spec in inbox.pre_chat_fields:
        name = spec["name"]
        raw = fields.get(name, "")
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            errors[name] = "text expected"
            continue
        value = str(raw).strip()[:1000]
        if not value:
            if spec.get("required"):
                errors[name] = "required"
            continue
        if spec["type"] == "email":
            try:
                value = _clean_email(value, name)
            except ValidationFailed:
                errors[name] = "not a valid email address"
                continue
        if spec["type"] == "select" and value not in spec.get("options", []):
            errors[name] = f"one of {', '.join(spec.get('options', []))}"
            continue
        answers[name] = value
    if errors:
        raise ValidationFailed("Some answers of the pre-chat form are missing or invalid.", fields=errors)
    return answers


def _clean_message(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed("The message is empty.", fields={"body": "required"})
    if len(body) > MAX_MESSAGE:
        raise ValidationFailed("The message is too long.", fields={"body": f"at most {MAX_MESSAGE} characters"})
    return body.strip()


def _touchpoint(conversation: ChatConversation, kind: str, properties: dict[str, Any] | None = None) -> None:
    customer = conversation.ticket.requester
    touchpoint_record(customer=customer, kind=kind, channel=Channel.CHAT, stage="support",
                      occurred_at=timezone.now(),
                      properties={"conversation_id": conversation.pk, "ticket_id": conversation.ticket_id,
                                  **(properties or {})},
                      source="chat", external_id=f"conversation:{conversation.pk}:{kind}")


@transaction.atomic
def chat_conversation_start(*, visitor: ChatVisitor, fields: Any, body: Any) -> ChatConversation:
    """The visitor sends the pre-chat form and a first message: a ticket with channel chat opens and agents'
    consoles are told. Only one live conversation per visitor (a second start returns the live one)."""
    visitor = (ChatVisitor.objects.select_for_update(of=("self",)).select_related("inbox", "customer")
               .get(pk=visitor.pk))
    inbox = visitor.inbox
    live = ChatConversation.objects.filter(visitor=visitor, status__in=(ConversationStatus.WAITING,
                                                                          ConversationStatus.ACTIVE)).first()
    if live is not None:
        raise Conflict("A chat is already open.", fields={"conversation": f"chat {live.pk} is live"})
    answers = _clean_pre_chat_answers(inbox, fields)
    body = _clean_message(body)
    name = _text(answers.get("name"), 200) or visitor.name
    email = answers.get("email", "")
    known = customer_find_by_identity(kind="email", value=email) if email and not visitor.external_user_id else None
    customer = _join_customer(visitor, known, name)
    if email and not visitor.external_user_id:
        _adopt_identity(customer, "email", email)
    if name and not customer.display_name:
        customer.display_name = name
        customer.save(update_fields=["display_name", "updated_at"])
    visitor.customer = customer
    visitor.name = name
    visitor.email = email or visitor.email
    visitor.save(update_fields=["customer", "name", "email"])
    subject = f"Chat with {name or customer.name}"
    if visitor.current_title:
        subject += f" on {visitor.current_title}"
    opened = ticket_open_by_customer(requester=customer, subject=subject[:250], body=body, channel=Channel.CHAT)
    conversation = ChatConversation.objects.create(inbox=inbox, visitor=visitor, ticket=opened.ticket,
                                                   pre_chat=answers)
    conversation.ticket = opened.ticket
    if inbox.team_id and opened.ticket.team_id is None:
        ticket_update(actor=chat_actor(), ticket=opened.ticket, changes={"team_id": inbox.team_id})
    audit_record(actor=None, action="chat.started", target_type="chat_conversation", target_id=conversation.pk,
                 data={"ticket_id": opened.ticket.pk, "visitor_id": visitor.pk, "inbox_id": inbox.pk})
    _touchpoint(conversation, "chat.started", {"page": visitor.current_url})
    frame = selectors.message_frame(opened.message, widget_key=inbox.widget_key)
    push.to_visitor_on_commit(visitor_id=visitor.pk, frame={
        "type": "status", "conversation": selectors.conversation_frame(conversation=conversation,
                                                                        widget_key=inbox.widget_key)})
    push.to_agents_on_commit(event={"type": "chat.waiting", "payload": {
        "conversation_id": conversation.pk, "ticket_id": opened.ticket.pk, "name": name or customer.name,
        "preview": frame["body"][:140], "page": visitor.current_url}})
    return conversation


def _live_conversation(visitor: ChatVisitor) -> ChatConversation:
    conversation = (ChatConversation.objects.select_related("ticket", "ticket__requester", "inbox")
                    .filter(visitor=visitor, status__in=(ConversationStatus.WAITING, ConversationStatus.ACTIVE))
                    .first())
    if conversation is None:
        raise Conflict("No chat is open; start one first.", fields={"conversation": "none is live"})
    return conversation


def _check_upload(upload: UploadedFile) -> None:
    if upload.size > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge("The file is too large.",
                              fields={"file": f"{upload.name} is over {MAX_UPLOAD_BYTES // 2**20} MB"})
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if content_type not in UPLOAD_TYPES:
        raise ValidationFailed("That kind of file cannot be sent.",
                               fields={"file": "images, PDF, text and office documents only"})
    if upload.size == 0:
        raise ValidationFailed("The file is empty.", fields={"file": "empty"})


@transaction.atomic
def chat_visitor_message(*, visitor: ChatVisitor, body: Any, attachments: list[UploadedFile] | None = None
                         ) -> Message:
    """The visitor writes in the live conversation (a ticket customer reply); agents see it live."""
    conversation = _live_conversation(visitor)
    files = attachments or []
    for upload in files:
        _check_upload(upload)
    if files and (body is None or (isinstance(body, str) and not body.strip())):
        body = "Sent " + ", ".join(f.name for f in files)
    body = _clean_message(body)
    # The echo is the first thing pushed after commit (before agents' queue events and the answer bot), and
    # the ticket observers and touchpoints run after commit on the task queue (``deferred``): the visitor
    # waits for the store and the push only.
    echo: dict[str, Any] = {"type": "message"}
    push.to_visitor_on_commit(visitor_id=visitor.pk, frame=echo)
    message = ticket_customer_reply(ticket=conversation.ticket, customer=conversation.ticket.requester, body=body,
                                    channel=Channel.CHAT, attachments=files, deferred=True)
    if message.ticket_id != conversation.ticket_id:
        # The ticket had been closed, so the tickets app opened a follow-up: the chat continues there.
        conversation.ticket_id = message.ticket_id
        conversation.save(update_fields=["ticket", "updated_at"])
    echo["message"] = selectors.message_frame(message, widget_key=conversation.inbox.widget_key,
                                              attachments=None if files else [])
    return message


@transaction.atomic
def chat_visitor_read(*, visitor: ChatVisitor, message_id: Any) -> None:
    """The widget showed the agent's messages up to ``message_id``: a read receipt for the agent."""
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise ValidationFailed("message_id must be a number.", fields={"message_id": "a message id"})
    conversation = _live_conversation(visitor)
    if not Message.objects.filter(pk=message_id, ticket_id=conversation.ticket_id).exists():
        raise NotFound("No such message in this chat.", fields={"message_id": "not in this chat"})
    if (conversation.visitor_read_message_id or 0) >= message_id:
        return
    ChatConversation.objects.filter(pk=conversation.pk).update(visitor_read_message_id=message_id)
    Message.objects.filter(ticket_id=conversation.ticket_id, pk__lte=message_id,
                           delivery_status__in=(DeliveryStatus.QUEUED, DeliveryStatus.SENT)).update(
        delivery_status=DeliveryStatus.DELIVERED)
    push.to_agents_on_commit(event={"type": "chat.read", "payload": {
        "conversation_id": conversation.pk, "ticket_id": conversation.ticket_id, "message_id": message_id}})


@transaction.atomic
def chat_visitor_page(*, visitor: ChatVisitor, url: Any, title: Any) -> ChatVisitor:
    """The visitor moved to another page of the host site (shown to the agent beside the chat)."""
    visitor.current_url = _text(url, 2000)
    visitor.current_title = _text(title, 300)
    visitor.last_seen_at = timezone.now()
    visitor.save(update_fields=["current_url", "current_title", "last_seen_at"])
    return visitor


SEEN_RESOLUTION_SECONDS = 30  # "last seen" is written at most this often per visitor (pings, reconnects)


def chat_visitor_seen(*, visitor_id: int, last_seen_at=None) -> None:
    """The visitor's widget is open (it connected or pinged); recent marks are not written again, so an open
    tab costs a write every half minute at most, not one per ping."""
    now = timezone.now()
    if last_seen_at is not None and (now - last_seen_at).total_seconds() < SEEN_RESOLUTION_SECONDS:
        return
    cutoff = now - timedelta(seconds=SEEN_RESOLUTION_SECONDS)
    ChatVisitor.objects.filter(Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True), pk=visitor_id).update(
        last_seen_at=now)


def _system_note(conversation: ChatConversation, text: str) -> None:
    ticket_reply(actor=chat_actor(), ticket=conversation.ticket, body=text, visibility=Visibility.INTERNAL,
                 automated=True)


def _status_frame(conversation: ChatConversation) -> dict[str, Any]:
    return {"type": "status", "conversation": {
        "id": conversation.pk, "status": conversation.status,
        "agent_name": selectors.agent_public_name(conversation.agent) if conversation.agent_id else ""}}


def _end(conversation: ChatConversation, *, by: str, actor: User | None) -> ChatConversation:
    agent_id = conversation.agent_id
    conversation.status = ConversationStatus.ENDED
    conversation.ended_at = timezone.now()
    conversation.ended_by = by
    conversation.save(update_fields=["status", "ended_at", "ended_by", "updated_at"])
    who = actor.display_name if actor is not None else "the visitor"
    _system_note(conversation, f"Chat ended by {who}. The transcript stays on this ticket.")
    audit_record(actor=actor, action="chat.ended", target_type="chat_conversation", target_id=conversation.pk,
                 data={"ticket_id": conversation.ticket_id, "by": by})
    _touchpoint(conversation, "chat.ended", {"by": by})
    push.to_visitor_on_commit(visitor_id=conversation.visitor_id, frame=_status_frame(conversation))
    ended = ChatEnded(conversation_id=conversation.pk, ticket_id=conversation.ticket_id,
                      customer_id=conversation.ticket.requester_id, visitor_id=conversation.visitor_id, by=by)
    for frame in chat_end_frames(ended):
        push.to_visitor_on_commit(visitor_id=conversation.visitor_id, frame=frame)
    push.to_agents_on_commit(event={"type": "chat.ended", "payload": {
        "conversation_id": conversation.pk, "ticket_id": conversation.ticket_id}})
    if agent_id:
        transaction.on_commit(lambda: routing_agent_room_freed(user_id=agent_id))
    return conversation


@transaction.atomic
def chat_visitor_end(*, visitor: ChatVisitor) -> ChatConversation:
    conversation = _live_conversation(visitor)
    conversation = (ChatConversation.objects.select_for_update(of=("self",)).select_related("ticket")
                    .get(pk=conversation.pk))
    return _end(conversation, by="visitor", actor=None)


@transaction.atomic
def chat_offline_message(*, inbox: ChatInbox, visitor: ChatVisitor | None, name: Any, email: Any, message: Any,
                         client_ip: str) -> WebFormResult:
    """Outside hours or with nobody online: the message becomes a ticket with channel ``web`` through the
    web form's service (confirmation email included), so it is answered by email."""
    errors: dict[str, str] = {}
    if not _text(name, 200):
        errors["name"] = "required"
    try:
        _clean_email(email)
    except ValidationFailed:
        errors["email"] = "not a valid email address"
    try:
        body = _clean_message(message)
    except ValidationFailed as error:
        errors["message"] = error.fields["body"]
    if errors:
        raise ValidationFailed("Some fields are missing or invalid.", fields=errors)
    page = visitor.current_url if visitor is not None else ""
    result = web_form_ticket_open(name=str(name or ""), email=str(email or ""),
                                  subject=f"Chat message left on {inbox.name}"[:250],
                                  message=body + (f"\n\n(Sent from {page})" if page else ""), client_ip=client_ip)
    if visitor is not None:
        visitor = ChatVisitor.objects.select_for_update().get(pk=visitor.pk)
        current = _live_customer(visitor.customer)
        if current is not None and current.pk != result.customer.pk and not visitor.external_user_id:
            customer_merge(actor=chat_actor(), source=current, target=result.customer)
        visitor.customer = result.customer
        visitor.name = visitor.name or _text(name, 200)
        visitor.email = result.submission.email
        visitor.save(update_fields=["customer", "name", "email"])
    touchpoint_record(customer=result.customer, kind="chat.message_left", channel=Channel.CHAT, stage="support",
                      occurred_at=timezone.now(), properties={"ticket_id": result.ticket.pk, "inbox_id": inbox.pk},
                      source="chat", external_id=f"offline:{result.ticket.pk}")
    return result


# --- The agent's side -----------------------------------------------------------------------------------

def _lock_conversation(conversation: ChatConversation) -> ChatConversation:
    return (ChatConversation.objects.select_for_update(of=("self",)).select_related("ticket", "visitor", "inbox")
            .get(pk=conversation.pk))


def _check_room(agent: User, inbox: ChatInbox) -> None:
    live = selectors.agent_live_chat_count(user_id=agent.pk)
    if live >= inbox.agent_chat_limit:
        raise Conflict(f"{agent.display_name} already has {live} chats (the limit is {inbox.agent_chat_limit}).",
                       fields={"agent_id": "at the concurrent chat limit"})


@transaction.atomic
def chat_accept(*, actor: User, conversation: ChatConversation,
                token_scope: AccessLevel | None = None) -> ChatConversation:
    """An agent takes a waiting chat: the ticket is assigned to them and the visitor sees who joined."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    conversation = _lock_conversation(conversation)
    if conversation.status != ConversationStatus.WAITING:
        holder = conversation.agent.display_name if conversation.agent_id else "nobody"
        raise Conflict("This chat is no longer waiting.",
                       fields={"conversation": f"{conversation.status}, with {holder}"})
    _check_room(actor, conversation.inbox)
    if conversation.ticket.assignee_id != actor.pk:
        ticket_update(actor=actor, ticket=conversation.ticket, changes={"assignee_id": actor.pk})
    conversation.status = ConversationStatus.ACTIVE
    conversation.agent = actor
    conversation.accepted_at = conversation.accepted_at or timezone.now()
    conversation.save(update_fields=["status", "agent", "accepted_at", "updated_at"])
    audit_record(actor=actor, action="chat.accepted", target_type="chat_conversation", target_id=conversation.pk,
                 data={"ticket_id": conversation.ticket_id})
    _touchpoint(conversation, "chat.accepted", {"agent_id": actor.pk})
    push.to_visitor_on_commit(visitor_id=conversation.visitor_id, frame=_status_frame(conversation))
    push.to_agents_on_commit(event={"type": "chat.accepted", "payload": {
        "conversation_id": conversation.pk, "ticket_id": conversation.ticket_id, "agent_id": actor.pk}})
    return conversation


@transaction.atomic
def chat_transfer(*, actor: User, conversation: ChatConversation, agent_id: Any = None, team_id: Any = None,
                  token_scope: AccessLevel | None = None) -> ChatConversation:
    """Hand a live chat to another agent (it stays active with them) or to a team (it waits in the queue
    for one of the team's agents to accept)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if (agent_id is None) == (team_id is None):
        raise ValidationFailed("Transfer to an agent or a team.", fields={"agent_id": "give agent_id or team_id"})
    conversation = _lock_conversation(conversation)
    if not conversation.is_live:
        raise Conflict("The chat has ended.", fields={"conversation": "ended"})
    previous = conversation.agent_id
    if agent_id is not None:
        agent = active_agent_get(user_id=agent_id) if isinstance(agent_id, int) else None
        if agent is None or not agent.can_write:
            raise ValidationFailed("Unknown agent.", fields={"agent_id": "no such active agent"})
        if agent.pk == conversation.agent_id:
            raise ValidationFailed("The chat is already theirs.", fields={"agent_id": "already handling it"})
        _check_room(agent, conversation.inbox)
        changes: dict[str, Any] = {"assignee_id": agent.pk}
        team_id_now = conversation.ticket.team_id
        if team_id_now and not agent.team_memberships.filter(team_id=team_id_now).exists():
            changes["team_id"] = None
        ticket_update(actor=actor, ticket=conversation.ticket, changes=changes)
        conversation.agent = agent
        conversation.status = ConversationStatus.ACTIVE
        conversation.accepted_at = conversation.accepted_at or timezone.now()
        target = agent.display_name
    else:
        team = team_list(actor=actor).filter(pk=team_id).first() if isinstance(team_id, int) else None
        if team is None:
            raise ValidationFailed("Unknown team.", fields={"team_id": "no such team"})
        ticket_update(actor=actor, ticket=conversation.ticket, changes={"team_id": team.pk, "assignee_id": None})
        conversation.agent = None
        conversation.status = ConversationStatus.WAITING
        target = f"team {team.name}"
    conversation.save(update_fields=["agent", "status", "accepted_at", "updated_at"])
    _system_note(conversation, f"Chat transferred by {actor.display_name} to {target}.")
    audit_record(actor=actor, action="chat.transferred", target_type="chat_conversation", target_id=conversation.pk,
                 data={"ticket_id": conversation.ticket_id, "from_agent_id": previous, "agent_id": agent_id,
                       "team_id": team_id})
    push.to_visitor_on_commit(visitor_id=conversation.visitor_id, frame=_status_frame(conversation))
    push.to_agents_on_commit(event={"type": "chat.transferred", "payload": {
        "conversation_id": conversation.pk, "ticket_id": conversation.ticket_id, "agent_id": agent_id,
        "team_id": team_id}})
    if previous:
        transaction.on_commit(lambda: routing_agent_room_freed(user_id=previous))
    return conversation


@transaction.atomic
def chat_end_by_agent(*, actor: User, conversation: ChatConversation,
                      token_scope: AccessLevel | None = None) -> ChatConversation:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    conversation = _lock_conversation(conversation)
    if not conversation.is_live:
        raise Conflict("The chat has already ended.", fields={"conversation": "ended"})
    return _end(conversation, by="agent", actor=actor)


@transaction.atomic
def chat_agent_read(*, actor: User, conversation: ChatConversation) -> None:
    """The agent has the chat open: the visitor's messages so far are read (a receipt in the widget)."""
    require_access(actor, AccessLevel.READ)
    last = (Message.objects.filter(ticket_id=conversation.ticket_id, author_customer__isnull=False)
            .order_by("-id").values_list("pk", flat=True).first())
    if last is None or (conversation.agent_read_message_id or 0) >= last:
        return
    ChatConversation.objects.filter(pk=conversation.pk).update(agent_read_message_id=last)
    push.to_visitor_on_commit(visitor_id=conversation.visitor_id, frame={"type": "read", "message_id": last})


@transaction.atomic
def chat_proactive_send(*, actor: User, visitor: ChatVisitor, body: Any,
                        token_scope: AccessLevel | None = None) -> None:
    """An agent greets a visitor who is on the site now; the widget opens with the message."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    body = _clean_message(body)
    audit_record(actor=actor, action="chat.proactive_sent", target_type="chat_visitor", target_id=visitor.pk,
                 data={"length": len(body)})
    if visitor.customer_id:
        customer = _live_customer(visitor.customer)
        if customer is not None:
            touchpoint_record(customer=customer, kind="chat.proactive_message", channel=Channel.CHAT,
                              stage="support", occurred_at=timezone.now(), properties={"agent_id": actor.pk},
                              source="chat", external_id="")
    push.to_visitor_on_commit(visitor_id=visitor.pk, frame={
        "type": "proactive", "body": body, "author_name": selectors.agent_public_name(actor)})


# --- Ticket observer and routing capacity -------------------------------------------------------------------

def on_ticket_change(change: TicketChange) -> None:
    """Public agent replies on a chat ticket go to the visitor's widget after commit (while the chat lives,
    the reply is marked sent; the widget's read receipt marks it delivered)."""
    if change.event != "replied" or change.message_id is None:
        return
    message = (Message.objects.filter(pk=change.message_id, visibility=Visibility.PUBLIC, channel=Channel.CHAT)
               .select_related("author_agent").first())
    if message is None:
        return
    conversation = (ChatConversation.objects.select_related("inbox").filter(ticket_id=message.ticket_id).first())
    if conversation is None:
        return
    if conversation.is_live:
        Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.SENT)
    push.to_visitor_on_commit(visitor_id=conversation.visitor_id, frame={
        "type": "message", "message": selectors.message_frame(message, widget_key=conversation.inbox.widget_key)})


def has_chat_room(*, user_id: int, facts: Any) -> bool:
    """Routing capacity check: a chat ticket goes only to an agent below the concurrent chat limit."""
    if getattr(facts, "channel", None) != Channel.CHAT:
        return True
    return selectors.agent_live_chat_count(user_id=user_id) < selectors.agent_chat_limit()


class ChatDataHandler:
    """Customer merge, export and erasure reach chat visitors (pages visited, names typed in)."""

    name = "chat"

    def export(self, *, customer_id: int) -> list[dict]:
        return [{"visitor_id": v.pk, "inbox": v.inbox.name, "name": v.name, "email": v.email,
                 "external_user_id": v.external_user_id, "current_url": v.current_url, "referrer": v.referrer,
                 "last_seen_at": v.last_seen_at.isoformat() if v.last_seen_at else None,
                 "conversations": [{"id": c.pk, "ticket_id": c.ticket_id, "status": c.status,
                                    "pre_chat": c.pre_chat, "created_at": c.created_at.isoformat()}
                                   for c in v.conversations.all()]}
                for v in ChatVisitor.objects.filter(customer_id=customer_id).select_related("inbox")
                .prefetch_related("conversations")]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ids = list(ChatVisitor.objects.filter(customer_id=source_id).values_list("pk", flat=True))
        ChatVisitor.objects.filter(pk__in=ids).update(customer_id=target_id)
        return ids

    def erase(self, *, customer_id: int) -> int:
        visitors = ChatVisitor.objects.filter(customer_id=customer_id)
        ChatConversation.objects.filter(visitor__in=visitors).update(pre_chat={})
        return visitors.update(name="", email="", external_user_id="", current_url="", current_title="",
                               referrer="", user_agent="")
