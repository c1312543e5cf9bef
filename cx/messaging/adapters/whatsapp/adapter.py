"""WhatsApp Cloud API: inbound messages and statuses (webhook field ``messages``), outbound text and templates.

Payload reference: Meta's "Webhooks: messages" (fixtures from pywa in /work/shared/data/webhooks/whatsapp).
Replies go to ``POST /<version>/<phone_number_id>/messages`` with the access token as a bearer token.
"""

from __future__ import annotations

import json
from typing import Any

from cx.messaging.adapters import meta
from cx.messaging.adapters.base import (
    ConnectorSettings,
    Event,
    Ignored,
    InboundMessage,
    MediaDownload,
    MediaRef,
    OutboundRequest,
    OutboundText,
    Reaction,
    StatusUpdate,
    WebhookRequest,
    api_base,
    from_unix,
    require,
)

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
STATUS_MAP = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}
CUSTOMER_SERVICE_WINDOW_HOURS = 24


def _contact_names(value: dict[str, Any]) -> dict[str, str]:
    names = {}
    for contact in value.get("contacts") or []:
        if isinstance(contact, dict) and contact.get("wa_id"):
            names[str(contact["wa_id"])] = str((contact.get("profile") or {}).get("name") or "")
    return names


def _media(kind: str, data: dict[str, Any]) -> MediaRef:
    if kind == "audio" and data.get("voice"):
        kind = "voice"
    if kind == "sticker":
        kind = "animated sticker" if data.get("animated") else "sticker"
    return MediaRef(kind=kind, content_type=str(data.get("mime_type") or ""),
                    provider_media_id=str(data.get("id") or ""),
                    url=str(data.get("url") or ""), filename=str(data.get("filename") or ""),
                    caption=str(data.get("caption") or ""))


def _content(message: dict[str, Any]) -> tuple[str, str, list[MediaRef], dict[str, Any]]:
    """(kind, text, media, properties) of one inbound message; raises Ignored-worthy ValueError for others."""
    kind = str(message.get("type") or "")
    properties: dict[str, Any] = {}
    context = message.get("context") or {}
    if context.get("forwarded") or context.get("frequently_forwarded"):
        properties["forwarded"] = "frequently" if context.get("frequently_forwarded") else True
    if context.get("id"):
        properties["in_reply_to"] = context["id"]
    if message.get("referral"):
        ref = message["referral"]
        properties["referral"] = {k: ref.get(k) for k in ("source_url", "source_id", "source_type", "headline",
                                                             "ctwa_clid") if ref.get(k)}
    if kind == "text":
        return kind, str((message.get("text") or {}).get("body") or ""), [], properties
    if kind in MEDIA_KINDS:
        data = message.get(kind) or {}
        media = _media(kind, data)
        return kind, media.caption, [media], properties
    if kind == "location":
        loc = message.get("location") or {}
        lines = [str(loc.get(k)) for k in ("name", "address") if loc.get(k)]
        lines.append(f"Location: {loc.get('latitude')}, {loc.get('longitude')}")
        if loc.get("url"):
            lines.append(str(loc["url"]))
        properties["location"] = {"latitude": loc.get("latitude"), "longitude": loc.get("longitude")}
        return kind, "\n".join(lines), [], properties
    if kind == "contacts":
        lines = []
        for contact in message.get("contacts") or []:
            name = (contact.get("name") or {}).get("formatted_name") or ""
            phones = ", ".join(p.get("phone", "") for p in contact.get("phones") or [] if p.get("phone"))
            emails = ", ".join(e.get("email", "") for e in contact.get("emails") or [] if e.get("email"))
            lines.append("Shared contact: " + " · ".join(x for x in (name, phones, emails) if x))
        return kind, "\n".join(lines), [], properties
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        sub = interactive.get("type")
        if sub in ("button_reply", "list_reply"):
            choice = interactive.get(sub) or {}
            properties["choice_id"] = choice.get("id")
            text = f"Chose: {choice.get('title', '')}"
            if choice.get("description"):
                text += f" ({choice['description']})"
            return kind, text, [], properties
        if sub == "nfm_reply":
            reply = interactive.get("nfm_reply") or {}
            try:
                answers = json.loads(reply.get("response_json") or "{}")
            except json.JSONDecodeError:
                answers = {}
            answers.pop("flow_token", None)
            properties["flow_response"] = answers
            lines = ["Form answers:"] + [f"{k}: {v}" for k, v in answers.items()]
            return kind, "\n".join(lines), [], properties
        raise LookupError("an interactive message without a reply (WhatsApp reported an error)")
    if kind == "button":
        button = message.get("button") or {}
        properties["choice_id"] = button.get("payload")
        return kind, f"Chose: {button.get('text', '')}", [], properties
    if kind == "order":
        order = message.get("order") or {}
        lines = ["Order:"] + [f"{i.get('quantity')} x {i.get('product_retailer_id')} at {i.get('item_price')} "
                              f"{i.get('currency')}" for i in order.get("product_items") or []]
        if order.get("text"):
            lines.append(order["text"])
        properties["order"] = order
        return kind, "\n".join(lines), [], properties
    if kind == "edit":
        edit = message.get("edit") or {}
        inner = edit.get("message") or {}
        _inner_kind, text, media, inner_props = _content(inner)
        properties.update(inner_props)
        properties["edited_message_id"] = edit.get("original_message_id")
        return "edit", ("(edited) " + text).strip(), media, properties
    raise LookupError(f"message type {kind or 'unknown'} carries no customer content")


class WhatsAppAdapter:
    provider = "whatsapp"
    max_text_length = 4096  # the provider refuses longer text messages
    secret_fields = {"app_secret": "App secret (signs webhooks)", "access_token": "Access token (sends replies)",
                     "verify_token": "Verify token (webhook setup handshake)"}
    setting_fields = {"phone_number_id": "Phone number id", "business_account_id": "WhatsApp business account id"}
    default_api_base = meta.GRAPH_API
    supports_verification = True

    def verify(self, *, connector: ConnectorSettings, request: WebhookRequest) -> bool:
        return meta.signature_valid(app_secret=connector.secret("app_secret"), request=request)

    def parse(self, *, connector: ConnectorSettings, request: WebhookRequest) -> list[Event]:
        payload = meta.load_json(request.body, expected_object="whatsapp_business_account")
        events: list[Event] = []
        our_number = connector.setting("phone_number_id")
        for entry in payload["entry"]:
            for change in require(entry, "changes", "entry"):
                if change.get("field") != "messages":
                    events.append(Ignored(reason=f"webhook field {change.get('field')!r} is not about messages"))
                    continue
                value = require(change, "value", "change")
                number = str((value.get("metadata") or {}).get("phone_number_id") or "")
                if our_number and number != our_number:
                    events.append(Ignored(reason=f"for phone number id {number!r}, not this connector's"))
                    continue
                events += self._messages(value)
                events += self._statuses(value)
                if not value.get("messages") and not value.get("statuses"):
                    events.append(Ignored(reason="a change without messages or statuses"))
        return events

    def _messages(self, value: dict[str, Any]) -> list[Event]:
        names = _contact_names(value)
        events: list[Event] = []
        for message in value.get("messages") or []:
            message_id = str(require(message, "id", "message"))
            sender = str(require(message, "from", "message"))
            occurred = from_unix(require(message, "timestamp", "message"))
            kind = message.get("type")
            if not sender.isdigit():
                events.append(Ignored(reason=f"sender {sender!r} is not a WhatsApp id", external_id=message_id))
                continue
            if kind == "reaction":
                reaction = message.get("reaction") or {}
                events.append(Reaction(external_id=message_id, contact_id=sender, identity_kind="whatsapp",
                                       identity_value=sender, target_message_id=str(reaction.get("message_id") or ""),
                                       emoji=str(reaction.get("emoji") or ""), occurred_at=occurred))
                continue
            if kind in ("system", "revoke", "unsupported"):
                reason = {"system": "a system notice (number or identity change), not a customer message",
                          "revoke": "the customer deleted a message",
                          "unsupported": "a message type WhatsApp does not support"}[kind]
                events.append(Ignored(reason=reason, external_id=message_id))
                continue
            try:
                content_kind, text, media, properties = _content(message)
            except LookupError as exc:
                events.append(Ignored(reason=str(exc), external_id=message_id))
                continue
            external_id = message_id if kind != "edit" else f"{message_id}:edit"
            events.append(InboundMessage(external_id=external_id, contact_id=sender, identity_kind="whatsapp",
                                         identity_value=sender, display_name=names.get(sender, ""), text=text,
                                         kind=content_kind, occurred_at=occurred, media=tuple(media),
                                         properties=properties))
        return events

    def _statuses(self, value: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        for status in value.get("statuses") or []:
            message_id = str(require(status, "id", "status"))
            state = STATUS_MAP.get(str(status.get("status")))
            if state is None:
                events.append(Ignored(reason=f"unknown status {status.get('status')!r}", external_id=message_id))
                continue
            errors = status.get("errors") or []
            error = "; ".join(f"{e.get('code')}: {e.get('title') or e.get('message')}" for e in errors)
            events.append(StatusUpdate(provider_message_id=message_id, status=state,
                                       occurred_at=from_unix(require(status, "timestamp", "status")), error=error))
        return events

    def build_send(self, *, connector: ConnectorSettings, message: OutboundText) -> OutboundRequest:
        path = f"/{meta.GRAPH_VERSION}/{connector.setting('phone_number_id')}/messages"
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": message.contact_id}
        if message.template_name:
            body |= {"type": "template", "template": {"name": message.template_name,
                                                      "language": {"code": message.template_language or "en_US"}}}
        else:
            body |= {"type": "text", "text": {"preview_url": False, "body": message.text}}
        base = api_base(connector, self.default_api_base)
        return OutboundRequest(url=base + path, safe_url=base + path, json=body,
                               headers={"Authorization": f"Bearer {connector.secret('access_token')}"})

    def sent_message_id(self, *, response: Any) -> str:
        messages = (response or {}).get("messages") or [{}]
        return str(messages[0].get("id") or "")

    def media_download(self, *, connector: ConnectorSettings, media: MediaRef) -> MediaDownload | None:
        """``GET /<version>/<media id>`` names a short-lived URL; both requests carry the access token."""
        if not media.provider_media_id:
            return None
        base = api_base(connector, self.default_api_base)
        return MediaDownload(lookup_url=f"{base}/{meta.GRAPH_VERSION}/{media.provider_media_id}", lookup_path=("url",),
                             headers={"Authorization": f"Bearer {connector.secret('access_token')}"})
