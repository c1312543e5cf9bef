"""Writes for messaging: connectors (admin), inbound webhooks (messages, reactions, delivery statuses) and
the outbound delivery of agents' replies.

Inbound: the webhook is verified and parsed completely before anything is written (a bad signature or a
malformed payload stores nothing); then every event is stored in one transaction, once per provider message
id. Outbound: a ticket observer queues an ``Outbound`` row in the transaction of the agent's reply; the
send task runs after commit, outside any transaction; failures that may pass (outages, throttling, 5xx) are
retried with exponential back-off by a periodic job, so an outage never loses a reply.
"""

from __future__ import annotations

import contextvars
import json
import logging
import mimetypes
import re
import secrets as secrets_module
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from cx.accounts.models import AccessLevel, Team, User
from cx.accounts.services import require_access, system_user_get
from cx.core.audit import audit_record
from cx.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from cx.customers.models import Customer
from cx.customers.selectors import customer_find_by_identity
from cx.customers.services import customer_create, customer_update, identity_add
from cx.journeys.services import touchpoint_record
from cx.messaging import transport
from cx.messaging.adapters import ADAPTERS, adapter_for
from cx.messaging.adapters.base import (
    ConnectorSettings,
    Event,
    Ignored,
    InboundMessage,
    MalformedPayload,
    MediaRef,
    OutboundText,
    Reaction,
    StatusUpdate,
    WebhookRequest,
)
from cx.messaging.hooks import InboundReply, inbound_reply_claimed
from cx.messaging.models import (
    PROVIDER_CHANNEL,
    STATUS_RANK,
    Connector,
    Conversation,
    InboundEvent,
    Outbound,
    OutboundStatus,
    Provider,
)
from cx.messaging.selectors import conversation_for_ticket, window_closes_at
from cx.messaging.tasks import (
    answer_telegram_callback,
    fetch_inbound_media,
    fetch_messenger_profile,
    send_outbound,
)
from cx.realtime.publish import publish_on_commit
from cx.tickets.hooks import TicketChange
from cx.tickets.models import Attachment, AuthorType, Message, StatusCategory, Ticket, Visibility
from cx.tickets.services import ticket_customer_reply, ticket_open_by_customer, ticket_reply, ticket_update

logger = logging.getLogger("cx.messaging")

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)
SENDING_LEASE = timedelta(minutes=5)  # an attempt "sending" for longer than this died with its worker
MAX_NAME = 100
MAX_SETTING = 200
MAX_SECRET = 1000
MAX_TEMPLATES = 50
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # the tickets app's attachment limit
_url_validator = URLValidator(schemes=["http", "https"])
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,100}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
# DeliveryStatus on tickets' messages has no "read": a read message counts as delivered there.
_MESSAGE_DELIVERY = {"queued": "queued", "sending": "queued", "sent": "sent", "delivered": "delivered",
                     "read": "delivered", "failed": "failed"}


class MalformedWebhook(DomainError):
    status = 400
    code = "malformed_payload"


def _system_user() -> User:
    return system_user_get(username="system-messaging", label="Messaging")


def connector_settings(connector: Connector) -> ConnectorSettings:
    return ConnectorSettings(settings=connector.settings, secrets=connector.secrets,
                             api_base_url=connector.api_base_url)


def webhook_url(connector: Connector) -> str:
    return django_settings.CXDESK_BASE_URL + reverse("messaging:webhook", args=[connector.webhook_key])


# --- Connectors (admin) -----------------------------------------------------------------------------------

def _clean_templates(templates: Any) -> list[dict[str, str]]:
    if templates in (None, ""):
        return []
    if not isinstance(templates, list) or len(templates) > MAX_TEMPLATES:
        raise ValidationFailed("Templates must be a list.", fields={"templates": f"a list of at most {MAX_TEMPLATES}"})
    cleaned = []
    for item in templates:
        name = str((item or {}).get("name") or "").strip() if isinstance(item, dict) else ""
        language = str((item or {}).get("language") or "en_US").strip() if isinstance(item, dict) else ""
        if not _TEMPLATE_NAME.match(name):
            raise ValidationFailed("A template name is invalid.",
                                   fields={"templates": "names are lower-case letters, digits and _ (as in Meta)"})
        if not _LANGUAGE.match(language):
            raise ValidationFailed("A template language is invalid.",
                                   fields={"templates": "a language code such as en_US or de"})
        cleaned.append({"name": name, "language": language})
    return cleaned


def _clean_connector(*, provider: str, values: dict[str, Any], current: Connector | None) -> dict[str, Any]:
    adapter = ADAPTERS[provider]
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "name" in values or current is None:
        name = str(values.get("name") or "").strip()
        if not name:
            errors["name"] = "required"
        elif len(name) > MAX_NAME:
            errors["name"] = f"at most {MAX_NAME} characters"
        elif Connector.objects.filter(name=name).exclude(pk=current.pk if current else None).exists():
            errors["name"] = "another connector has this name"
        cleaned["name"] = name
    if "team_id" in values:
        team_id = values["team_id"]
        if team_id in (None, ""):
            cleaned["team_id"] = None
        elif not Team.objects.filter(pk=team_id).exists():
            errors["team_id"] = "no such team"
        else:
            cleaned["team_id"] = int(team_id)
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    if "api_base_url" in values:
        base = str(values.get("api_base_url") or "").strip()
        if base:
            try:
                _url_validator(base)
            except ValidationError:
                errors["api_base_url"] = "an http:// or https:// URL, or empty for the provider's API"
        cleaned["api_base_url"] = base
    merged_settings = dict(current.settings) if current else {}
    for key, value in (values.get("settings") or {}).items():
        if key not in adapter.setting_fields:
            errors[f"settings.{key}"] = "unknown setting for this provider"
            continue
        value = str(value or "").strip()
        if len(value) > MAX_SETTING:
            errors[f"settings.{key}"] = f"at most {MAX_SETTING} characters"
        merged_settings[key] = value
    required_settings = [k for k in adapter.setting_fields if k not in ("business_account_id", "bot_username")]
    for key in required_settings:
        if not merged_settings.get(key):
            errors[f"settings.{key}"] = "required"
    cleaned["settings"] = merged_settings
    merged_secrets = dict(current.secrets) if current else {}
    changed_secrets = []
    for key, value in (values.get("secrets") or {}).items():
        if key not in adapter.secret_fields:
            errors[f"secrets.{key}"] = "unknown secret for this provider"
            continue
        value = str(value or "").strip()
        if not value:
            continue  # blank keeps the stored secret (forms never show it)
        if len(value) > MAX_SECRET:
            errors[f"secrets.{key}"] = f"at most {MAX_SECRET} characters"
        merged_secrets[key] = value
        changed_secrets.append(key)
    for key in adapter.secret_fields:
        if not merged_secrets.get(key):
            errors[f"secrets.{key}"] = "required"
    cleaned["secrets"] = merged_secrets
    cleaned["_changed_secrets"] = changed_secrets
    if "templates" in values:
        try:
            cleaned["templates"] = _clean_templates(values["templates"])
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed("Some connector fields are missing or invalid.", fields=errors)
    return cleaned


@transaction.atomic
def connector_create(*, actor: User, provider: str, name: str, settings: dict[str, Any] | None = None,
                     secrets: dict[str, str] | None = None, team_id: int | None = None, api_base_url: str = "",
                     templates: list[dict] | None = None, is_active: bool = True,
                     token_scope: AccessLevel | None = None) -> Connector:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    if provider not in Provider.values:
        raise ValidationFailed("Unknown provider.", fields={"provider": f"one of {', '.join(Provider.values)}"})
    cleaned = _clean_connector(provider=provider, current=None, values={
        "name": name, "settings": settings or {}, "secrets": secrets or {}, "team_id": team_id,
        "api_base_url": api_base_url, "templates": templates or [], "is_active": is_active})
    changed = cleaned.pop("_changed_secrets")
    connector = Connector.objects.create(provider=provider, webhook_key=secrets_module.token_urlsafe(24), **cleaned)
    audit_record(actor=actor, action="messaging.connector_created", target_type="messaging_connector",
                 target_id=connector.pk, data={"provider": provider, "name": connector.name, "secrets_set": changed})
    return connector


@transaction.atomic
def connector_update(*, actor: User, connector: Connector, values: dict[str, Any],
                     token_scope: AccessLevel | None = None) -> Connector:
    """Change a connector; a blank or missing secret keeps the stored one."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    unknown = set(values) - {"name", "settings", "secrets", "team_id", "api_base_url", "templates", "is_active"}
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    connector = Connector.objects.select_for_update().get(pk=connector.pk)
    cleaned = _clean_connector(provider=connector.provider, current=connector, values=values)
    changed_secrets = cleaned.pop("_changed_secrets")
    changes = sorted(k for k, v in cleaned.items() if k != "secrets" and getattr(connector, k) != v)
    for key, value in cleaned.items():
        setattr(connector, key, value)
    connector.save()
    audit_record(actor=actor, action="messaging.connector_updated", target_type="messaging_connector",
                 target_id=connector.pk, data={"fields": changes, "secrets_changed": changed_secrets})
    return connector


@transaction.atomic
def connector_delete(*, actor: User, connector: Connector, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="messaging.connector_deleted", target_type="messaging_connector",
                 target_id=connector.pk, data={"provider": connector.provider, "name": connector.name})
    connector.delete()


# --- Inbound ----------------------------------------------------------------------------------------------

@dataclass
class WebhookResult:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"stored": self.stored, "duplicates": self.duplicates, "statuses": self.statuses,
                "ignored": self.ignored}


def webhook_connector_get(*, webhook_key: str) -> Connector:
    connector = Connector.objects.filter(webhook_key=webhook_key, is_active=True).first()
    if connector is None or not webhook_key:
        raise NotFound("No active messaging connector has this webhook address.")
    return connector


def webhook_verification_answer(*, connector: Connector, mode: str, token: str, challenge: str) -> str:
    """Meta's setup handshake: echo ``hub.challenge`` when ``hub.verify_token`` is the connector's."""
    import hmac

    adapter = adapter_for(connector.provider)
    expected = connector.secrets.get("verify_token", "")
    if not adapter.supports_verification:
        raise NotFound("This provider has no verification handshake.")
    if mode != "subscribe" or not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise PermissionDenied("The verify token does not match this connector's.", code="bad_verify_token")
    if not challenge or len(challenge) > 200:
        raise MalformedWebhook("hub.challenge is missing or too long.", fields={"hub.challenge": "required"})
    return challenge


def webhook_receive(*, connector: Connector, request: WebhookRequest) -> WebhookResult:
    """Verify, parse, then store. Raises PermissionDenied (bad signature) or MalformedWebhook."""
    adapter = adapter_for(connector.provider)
    config = connector_settings(connector)
    if not adapter.verify(connector=config, request=request):
        logger.warning("messaging %s connector %s: rejected a request with a missing or wrong signature",
                       connector.provider, connector.pk)
        raise PermissionDenied("The request signature does not match this connector's secret.",
                               code="bad_signature")
    try:
        events = adapter.parse(connector=config, request=request)
    except MalformedPayload as exc:
        logger.warning("messaging %s connector %s: malformed payload: %s", connector.provider, connector.pk, exc)
        raise MalformedWebhook(f"The payload is not a valid {connector.get_provider_display()} webhook: {exc}",
                               fields={"body": str(exc)}) from None
    return _store_events(connector=connector, events=events)


@transaction.atomic
def _store_events(*, connector: Connector, events: list[Event]) -> WebhookResult:
    result = WebhookResult()
    Connector.objects.filter(pk=connector.pk).update(last_event_at=timezone.now())
    for event in events:
        if isinstance(event, Ignored):
            logger.info("messaging %s connector %s: ignored %s: %s", connector.provider, connector.pk,
                        event.external_id or "event", event.reason)
            result.ignored.append(event.reason)
        elif isinstance(event, StatusUpdate):
            if _status_receive(connector=connector, update=event):
                result.statuses += 1
            else:
                result.ignored.append("a status for a message cxdesk did not send")
        elif isinstance(event, InboundMessage | Reaction):
            if not _claim(connector, event.external_id, kind=type(event).__name__.lower()):
                result.duplicates += 1
                continue
            if isinstance(event, Reaction):
                _reaction_receive(connector=connector, reaction=event)
            else:
                _message_receive(connector=connector, item=event)
                if connector.provider == Provider.TELEGRAM and event.kind == "callback":
                    transaction.on_commit(partial(answer_telegram_callback.enqueue, connector_id=connector.pk,
                                                  callback_query_id=event.external_id.removeprefix("callback:")))
            result.stored += 1
    return result


def _claim(connector: Connector, external_id: str, *, kind: str) -> bool:
    try:
        with transaction.atomic():
            InboundEvent.objects.create(connector=connector, external_id=external_id[:255], kind=kind)
    except IntegrityError:
        logger.info("messaging %s connector %s: duplicate %s ignored", connector.provider, connector.pk, external_id)
        return False
    return True


def _normalised(kind: str, value: str) -> str:
    value = re.sub(r"[\s\-().]", "", value.strip())
    if kind == "phone":
        return "+" + value[2:] if value.startswith("00") else value
    if kind == "whatsapp":
        return value.lstrip("+")
    return value


def _live(customer: Customer) -> Customer:
    hops = 0
    while customer.merged_into_id is not None and hops < 10:
        customer = Customer.objects.get(pk=customer.merged_into_id)
        hops += 1
    return customer


def _customer_for(*, connector: Connector, kind: str, value: str, display_name: str) -> Customer:
    """The customer behind a provider identity; for WhatsApp also found by the phone number (and linked)."""
    value = _normalised(kind, value)
    found = customer_find_by_identity(kind=kind, value=value)
    if found is not None:
        return _live(found)
    phone = "+" + value if kind == "whatsapp" else ""
    if phone:
        found = customer_find_by_identity(kind="phone", value=phone)
        if found is not None:
            found = _live(found)
            try:
                with transaction.atomic():
                    identity_add(actor=None, customer=found, kind=kind, value=value)
            except DomainError:
                pass  # linked concurrently
            return found
    identities = [{"kind": kind, "value": value, "is_primary": True}]
    if phone:
        identities.append({"kind": "phone", "value": phone, "is_primary": True})
    name = display_name or (value if kind == "phone" else f"{connector.get_provider_display()} user {value}")
    try:
        with transaction.atomic():
            customer = customer_create(actor=None, display_name=name[:200], identities=identities)
        if connector.provider == Provider.MESSENGER and not display_name:
            transaction.on_commit(partial(fetch_messenger_profile.enqueue, connector_id=connector.pk,
                                          customer_id=customer.pk, psid=value))
        return customer
    except ValidationFailed:
        # Not a number the customers app accepts (a short code, an alphanumeric sender): keep it as the
        # provider's own identity so the conversation still has a customer.
        external = f"{connector.provider}:{value}"[:255]
        found = customer_find_by_identity(kind="external", value=external)
        if found is not None:
            return _live(found)
        with transaction.atomic():
            return customer_create(actor=None, display_name=name[:200],
                                   identities=[{"kind": "external", "value": external, "is_primary": True}])
    except (Conflict, IntegrityError):
        found = customer_find_by_identity(kind=kind, value=value)
        if found is None:
            raise
        return _live(found)


def _conversation(*, connector: Connector, contact_id: str, customer: Customer) -> Conversation:
    conversation = Conversation.objects.select_for_update().filter(connector=connector, contact_id=contact_id).first()
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():
            return Conversation.objects.create(connector=connector, contact_id=contact_id, customer=customer)
    except IntegrityError:
        return Conversation.objects.select_for_update().get(connector=connector, contact_id=contact_id)


def _subject(connector: Connector, item: InboundMessage, customer: Customer) -> str:
    first_line = next((line.strip() for line in item.body().splitlines() if line.strip()), "")
    label = {"whatsapp": "WhatsApp", "messenger": "Messenger", "telegram": "Telegram", "sms": "SMS"}[connector.channel]
    subject = f"{label} from {customer.name}"
    if first_line:
        subject += f": {first_line}"
    return subject[:120]


def _message_receive(*, connector: Connector, item: InboundMessage) -> Message | None:
    customer = _customer_for(connector=connector, kind=item.identity_kind, value=item.identity_value,
                             display_name=item.display_name)
    conversation = _conversation(connector=connector, contact_id=item.contact_id, customer=customer)
    channel = connector.channel
    body = item.body()
    ticket = Ticket.objects.filter(pk=conversation.ticket_id).first() if conversation.ticket_id else None
    if ticket is not None and not item.media and inbound_reply_claimed(InboundReply(
            ticket_id=ticket.pk, customer_id=_live(conversation.customer).pk, channel=channel, body=body)):
        # Another app consumed the message (e.g. a survey answer "5"): it is not a reply on the ticket.
        if conversation.last_inbound_at is None or item.occurred_at > conversation.last_inbound_at:
            conversation.last_inbound_at = item.occurred_at
            conversation.save(update_fields=["last_inbound_at"])
        return None
    if ticket is not None:
        message = ticket_customer_reply(ticket=ticket, customer=_live(conversation.customer), body=body,
                                        channel=channel, external_id=item.external_id)
    else:
        opened = ticket_open_by_customer(requester=customer, subject=_subject(connector, item, customer), body=body,
                                         channel=channel, external_id=item.external_id)
        message = opened.message
    if message.ticket.status_category == StatusCategory.NEW and message.ticket.team_id is None and connector.team_id:
        ticket_update(actor=_system_user(), ticket=message.ticket, changes={"team_id": connector.team_id})
    conversation.ticket_id = message.ticket_id
    conversation.customer = _live(conversation.customer)
    if conversation.last_inbound_at is None or item.occurred_at > conversation.last_inbound_at:
        conversation.last_inbound_at = item.occurred_at
    conversation.save(update_fields=["ticket", "customer", "last_inbound_at"])
    InboundEvent.objects.filter(connector=connector, external_id=item.external_id[:255]).update(
        message=message, media=[asdict(m) for m in item.media])
    if item.media:
        event_id = InboundEvent.objects.get(connector=connector, external_id=item.external_id[:255]).pk
        transaction.on_commit(partial(fetch_inbound_media.enqueue, inbound_event_id=event_id))
    if item.properties:
        touchpoint_record(customer=message.ticket.requester, kind=f"message.{item.kind}", channel=channel,
                          stage="support", occurred_at=item.occurred_at,
                          properties={"ticket_id": message.ticket_id, "message_id": message.pk,
                                      **{k: v for k, v in item.properties.items() if k != "order"}},
                          source="messaging", external_id=f"{connector.pk}:{item.external_id}"[:255])
    return message


def _reaction_receive(*, connector: Connector, reaction: Reaction) -> None:
    outbound = Outbound.objects.filter(conversation__connector=connector,
                                       provider_message_id=reaction.target_message_id).first()
    if outbound is not None:
        outbound.reaction = reaction.emoji[:16]
        outbound.save(update_fields=["reaction", "updated_at"])
    customer = _customer_for(connector=connector, kind=reaction.identity_kind, value=reaction.identity_value,
                             display_name="")
    touchpoint_record(customer=customer, kind="message.reacted" if reaction.emoji else "message.unreacted",
                      channel=connector.channel, stage="support", occurred_at=reaction.occurred_at,
                      properties={"emoji": reaction.emoji, "message_id": outbound.message_id if outbound else None},
                      source="messaging", external_id=f"{connector.pk}:{reaction.external_id}"[:255])


def _status_receive(*, connector: Connector, update: StatusUpdate) -> bool:
    outbound = (Outbound.objects.select_for_update().filter(conversation__connector=connector,
                                                            provider_message_id=update.provider_message_id).first()
                if update.provider_message_id else None)
    if outbound is None:
        logger.info("messaging %s connector %s: ignored status %s for %s: not a message cxdesk sent",
                    connector.provider, connector.pk, update.status, update.provider_message_id)
        return False
    if update.status == "failed":
        if outbound.status in ("delivered", "read"):
            return True
        outbound.status = OutboundStatus.FAILED
        outbound.last_error = (update.error or "The provider could not deliver the message.")[:500]
    elif STATUS_RANK.get(update.status, -1) > STATUS_RANK.get(outbound.status, 99):
        outbound.status = update.status
    else:
        return True
    outbound.save(update_fields=["status", "last_error", "updated_at"])
    _mirror_delivery(outbound)
    return True


def _mirror_delivery(outbound: Outbound) -> None:
    """Show the state on the ticket's message too (its delivery badge), live on open ticket pages."""
    Message.objects.filter(pk=outbound.message_id).update(
        delivery_status=_MESSAGE_DELIVERY[outbound.status],
        delivery_error=outbound.last_error if outbound.status in ("failed", "queued") else "")
    ticket = Ticket.objects.filter(messages__pk=outbound.message_id).values(
        "pk", "status_category", "assignee_id", "team_id").first()
    if ticket:
        publish_on_commit(group=f"ticket.{ticket['pk']}", event_type="ticket.changed", payload={
            "ticket_id": ticket["pk"], "change": "delivery", "status_category": ticket["status_category"],
            "assignee_id": ticket["assignee_id"], "team_id": ticket["team_id"]})


def _media_filename(media: MediaRef, content_type: str, index: int) -> str:
    if media.filename:
        return media.filename[:100]
    extension = mimetypes.guess_extension(content_type or media.content_type.split(";")[0].strip()) or ""
    return f"{media.kind.replace(' ', '-')}-{index + 1}{extension}"


def inbound_media_fetch(*, inbound_event_id: int) -> int:
    """Fetch the media of one inbound message into its attachments (outside any transaction: HTTP).

    Runs once per event (claimed by setting ``media_fetched_at``); a file that cannot be fetched keeps the
    reference in the message text and the reason in ``media_error``."""
    claimed = InboundEvent.objects.filter(pk=inbound_event_id, media_fetched_at__isnull=True).exclude(
        message=None).update(media_fetched_at=timezone.now())
    if not claimed:
        return 0
    event = InboundEvent.objects.select_related("connector", "message").get(pk=inbound_event_id)
    adapter = adapter_for(event.connector.provider)
    config = connector_settings(event.connector)
    stored, errors = 0, []
    for index, raw in enumerate(event.media):
        media = MediaRef(**raw)
        plan = adapter.media_download(connector=config, media=media)
        if plan is None:
            errors.append(f"{media.kind}: no downloadable reference")
            continue
        url = plan.url
        if plan.lookup_url:
            lookup = transport.fetch(plan.lookup_url, headers=plan.headers, auth=plan.basic_auth, max_bytes=65536)
            found: Any = None
            if lookup.ok:
                try:
                    found = json.loads(lookup.content)
                    for key in plan.lookup_path:
                        found = found[key]
                except (ValueError, KeyError, TypeError):
                    found = None
            if not isinstance(found, str) or not found:
                errors.append(f"{media.kind}: lookup failed ({lookup.error or 'no file in the answer'})")
                continue
            url = plan.file_url_prefix + found
        result = transport.fetch(url, headers=plan.headers, auth=plan.basic_auth,
                                 max_bytes=MAX_MEDIA_BYTES, follow_redirects=plan.follow_redirects)
        if not result.ok:
            errors.append(f"{media.kind}: {result.error}")
            continue
        content_type = (result.content_type or media.content_type.split(";")[0].strip()
                        or "application/octet-stream")[:100]
        name = _media_filename(media, content_type, index)
        attachment = Attachment(message=event.message, filename=name[:255], content_type=content_type,
                                size=len(result.content))
        attachment.file.save(name, ContentFile(result.content), save=False)
        attachment.save()
        stored += 1
    if errors:
        InboundEvent.objects.filter(pk=event.pk).update(media_error="; ".join(errors)[:500])
        logger.warning("messaging %s connector %s: media of %s not fetched: %s", event.connector.provider,
                       event.connector_id, event.external_id, "; ".join(errors))
    return stored


def telegram_callback_answer(*, connector_id: int, callback_query_id: str) -> bool:
    connector = Connector.objects.filter(pk=connector_id, provider=Provider.TELEGRAM).first()
    if connector is None:
        return False
    adapter = adapter_for(connector.provider)
    result = transport.send(adapter.build_callback_answer(connector=connector_settings(connector),
                                                          callback_query_id=callback_query_id))
    if not result.ok:
        logger.warning("messaging telegram connector %s: answerCallbackQuery failed: %s", connector.pk, result.error)
    return result.ok


def messenger_profile_fetch(*, connector_id: int, customer_id: int, psid: str) -> bool:
    connector = Connector.objects.filter(pk=connector_id, provider=Provider.MESSENGER).first()
    customer = Customer.objects.filter(pk=customer_id, merged_into=None, erased_at=None).first()
    if connector is None or customer is None:
        return False
    adapter = adapter_for(connector.provider)
    result = transport.fetch(adapter.profile_url(connector=connector_settings(connector), psid=psid),
                             headers={"Authorization": f"Bearer {connector.secrets.get('page_access_token', '')}"},
                             max_bytes=65536)
    try:
        profile = json.loads(result.content) if result.ok else {}
    except ValueError:
        profile = {}
    first = str(profile.get("first_name") or "")[:100] if isinstance(profile, dict) else ""
    last = str(profile.get("last_name") or "")[:100] if isinstance(profile, dict) else ""
    if not first and not last:
        logger.info("messaging messenger connector %s: no profile name for a customer (%s)", connector.pk,
                    result.error or "not shared")
        return False
    values = {"first_name": first, "last_name": last}
    if customer.display_name.startswith(connector.get_provider_display()):
        values["display_name"] = f"{first} {last}".strip()
    customer_update(actor=_system_user(), customer=customer, values=values)
    return True


# --- Outbound ---------------------------------------------------------------------------------------------

_template_for_next_reply: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "cx_messaging_template", default=None)


def messaging_on_ticket_change(change: TicketChange) -> None:
    """Ticket observer: an agent's public reply on a messaging ticket is queued for its channel."""
    if change.event not in ("replied", "created") or change.message_id is None:
        return
    message = Message.objects.select_related("ticket").filter(pk=change.message_id).first()
    if (message is None or message.visibility != Visibility.PUBLIC
            or message.author_type not in (AuthorType.AGENT, AuthorType.SYSTEM)
            or message.ticket.channel not in PROVIDER_CHANNEL.values()):
        return
    conversation = conversation_for_ticket(message.ticket)
    template = _template_for_next_reply.get()
    outbound = Outbound(message=message, conversation=conversation, status=OutboundStatus.QUEUED) \
        if conversation else None
    if outbound is None:
        Message.objects.filter(pk=message.pk).update(
            delivery_status="failed",
            delivery_error="No messaging conversation with this customer on this channel: it cannot be sent.")
        return
    limit = adapter_for(conversation.connector.provider).max_text_length
    if template:
        outbound.template_name, outbound.template_language = template
    elif len(message.body_text) > limit:
        outbound.status = OutboundStatus.FAILED
        outbound.last_error = (f"Too long for {conversation.connector.get_provider_display()}: at most {limit} "
                               f"characters, this reply has {len(message.body_text)}. Send it in shorter parts.")
    elif conversation.connector.provider == Provider.WHATSAPP:
        closes = window_closes_at(conversation)
        if closes is None or closes < timezone.now():
            outbound.status = OutboundStatus.FAILED
            outbound.last_error = ("Outside WhatsApp's 24-hour customer service window: only an approved template "
                                   "can be sent until the customer writes again.")
    outbound.save()
    _mirror_delivery(outbound)
    if outbound.status == OutboundStatus.QUEUED:
        transaction.on_commit(partial(send_outbound.enqueue, outbound_id=outbound.pk))


@transaction.atomic
def whatsapp_template_send(*, actor: User, ticket: Ticket, template_name: str,
                           token_scope: AccessLevel | None = None) -> Message:
    """Send one of the connector's approved templates (the only thing WhatsApp allows outside the window)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    conversation = conversation_for_ticket(ticket)
    if conversation is None or conversation.connector.provider != Provider.WHATSAPP:
        raise Conflict("This ticket has no WhatsApp conversation.")
    template = next((t for t in conversation.connector.templates if t["name"] == template_name), None)
    if template is None:
        raise ValidationFailed("Unknown template.",
                               fields={"template": "not one of the connector's approved templates"})
    token = _template_for_next_reply.set((template["name"], template["language"]))
    try:
        return ticket_reply(actor=actor, ticket=ticket, token_scope=token_scope,
                            body=f"[WhatsApp template {template['name']} ({template['language']})]")
    finally:
        _template_for_next_reply.reset(token)


def _retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)


def outbound_attempt(*, outbound_id: int, now: datetime | None = None) -> Outbound | None:
    """One delivery attempt, outside any transaction; None when another attempt holds it or it is not due."""
    now = now or timezone.now()
    claimed = (Outbound.objects.filter(pk=outbound_id, status=OutboundStatus.QUEUED)
               .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
               .update(status=OutboundStatus.SENDING, attempts=F("attempts") + 1, updated_at=now))
    if not claimed:
        return None
    outbound = Outbound.objects.select_related("conversation__connector", "message").get(pk=outbound_id)
    connector = outbound.conversation.connector
    adapter = adapter_for(connector.provider)
    if not connector.is_active:
        result = transport.SendResult(status=None, data=None, error="The connector is switched off.")
        retry = False
    else:
        closes = window_closes_at(outbound.conversation)
        request = adapter.build_send(connector=connector_settings(connector), message=OutboundText(
            contact_id=outbound.conversation.contact_id, text=outbound.message.body_text,
            template_name=outbound.template_name, template_language=outbound.template_language,
            outside_window=closes is None or closes < now,
            status_callback_url=webhook_url(connector) if connector.provider == Provider.TWILIO_SMS else ""))
        result = transport.send(request)
        retry = result.retryable
    if result.ok:
        outbound.status = OutboundStatus.SENT
        outbound.provider_message_id = adapter.sent_message_id(response=result.data)[:255]
        outbound.last_error = ""
        outbound.next_attempt_at = None
        logger.info("messaging %s: message %s sent (attempt %s)", connector.provider, outbound.message_id,
                    outbound.attempts)
    elif retry and outbound.attempts < MAX_ATTEMPTS:
        outbound.status = OutboundStatus.QUEUED
        outbound.next_attempt_at = now + _retry_delay(outbound.attempts)
        outbound.last_error = f"Attempt {outbound.attempts} failed ({result.error}); retrying."[:500]
        logger.warning("messaging %s: message %s attempt %s failed: %s", connector.provider, outbound.message_id,
                       outbound.attempts, result.error)
    else:
        outbound.status = OutboundStatus.FAILED
        outbound.next_attempt_at = None
        outbound.last_error = (result.error or "The provider refused the message.")[:500]
        logger.warning("messaging %s: message %s failed for good: %s", connector.provider, outbound.message_id,
                       result.error)
    # A status callback may have arrived already; never move backwards from it.
    with transaction.atomic():
        current = Outbound.objects.select_for_update().get(pk=outbound.pk)
        if current.status != OutboundStatus.SENDING:
            return current
        outbound.save(update_fields=["status", "provider_message_id", "last_error", "next_attempt_at", "updated_at"])
        _mirror_delivery(outbound)
    return outbound


def outbound_retries_enqueue_due(now: datetime | None = None) -> int:
    """Periodic job: queue attempts that are due, and free attempts whose worker died while sending."""
    now = now or timezone.now()
    Outbound.objects.filter(status=OutboundStatus.SENDING, updated_at__lt=now - SENDING_LEASE).update(
        status=OutboundStatus.QUEUED, next_attempt_at=now)
    # Due now, or released earlier and not picked up (the worker lost the task).
    due = list(Outbound.objects.filter(status=OutboundStatus.QUEUED)
               .filter(Q(next_attempt_at__lte=now)
                       | Q(next_attempt_at__isnull=True, updated_at__lt=now - SENDING_LEASE))
               .values_list("pk", flat=True)[:500])
    # Released for an attempt right away, whatever clock the worker that runs it reads.
    Outbound.objects.filter(pk__in=due).update(next_attempt_at=None, updated_at=now)
    for outbound_id in due:
        send_outbound.enqueue(outbound_id=outbound_id)
    return len(due)


@transaction.atomic
def outbound_retry_now(*, actor: User, outbound: Outbound, token_scope: AccessLevel | None = None) -> Outbound:
    """An agent sends a failed reply again (e.g. after fixing the connector)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    outbound = Outbound.objects.select_for_update().get(pk=outbound.pk)
    if outbound.status != OutboundStatus.FAILED:
        raise Conflict("Only a failed message can be sent again.")
    outbound.status = OutboundStatus.QUEUED
    outbound.next_attempt_at = None
    outbound.attempts = 0
    outbound.save(update_fields=["status", "next_attempt_at", "attempts", "updated_at"])
    _mirror_delivery(outbound)
    audit_record(actor=actor, action="messaging.outbound_retried", target_type="ticket",
                 target_id=outbound.message.ticket_id, data={"message_id": outbound.message_id})
    transaction.on_commit(partial(send_outbound.enqueue, outbound_id=outbound.pk))
    return outbound


class MessagingDataHandler:
    """Customer merge/export/erasure reach conversations (contact ids are personal data)."""

    name = "messaging"

    def export(self, *, customer_id: int) -> list[dict]:
        return [{"connector": c.connector.name, "provider": c.connector.provider, "contact_id": c.contact_id,
                 "last_inbound_at": c.last_inbound_at.isoformat() if c.last_inbound_at else None}
                for c in Conversation.objects.select_related("connector").filter(customer_id=customer_id)]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ids = list(Conversation.objects.filter(customer_id=source_id).values_list("pk", flat=True))
        Conversation.objects.filter(pk__in=ids).update(customer_id=target_id)
        return ids

    def erase(self, *, customer_id: int) -> int:
        count, _ = Conversation.objects.filter(customer_id=customer_id).delete()
        return count
