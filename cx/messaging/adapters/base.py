"""The one small interface every messaging provider implements, and the values it speaks in.

Adapters are pure: they see the webhook request as plain values (headers, raw body, form fields, URL) and
return parsed events or the outbound HTTP request to make. They never touch the database or the network,
so each is tested on its own with the provider's real payloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


class MalformedPayload(ValueError):
    """The body is not what the provider sends (bad JSON, missing fields): answered 400 with the reason."""


@dataclass(frozen=True)
class WebhookRequest:
    """What an adapter may look at: nothing Django-specific."""

    url: str  # the public URL the provider called (Twilio signs it)
    headers: Mapping[str, str]  # case-insensitive mapping
    body: bytes
    form: Any = None  # a multi-value mapping with getlist() for form-encoded bodies (Twilio)


@dataclass(frozen=True)
class ConnectorSettings:
    """A connector's configuration as the adapter needs it (secrets included, never logged)."""

    settings: Mapping[str, Any]
    secrets: Mapping[str, str]
    api_base_url: str = ""

    def setting(self, name: str) -> str:
        return str(self.settings.get(name) or "")

    def secret(self, name: str) -> str:
        return str(self.secrets.get(name) or "")


@dataclass(frozen=True)
class MediaRef:
    kind: str  # image, audio, video, document, sticker, voice
    content_type: str = ""
    provider_media_id: str = ""
    url: str = ""
    filename: str = ""
    caption: str = ""

    def describe(self) -> str:
        parts = [self.kind]
        if self.filename:
            parts.append(self.filename)
        if self.content_type:
            parts.append(self.content_type)
        text = f"[{', '.join(parts)}"
        if self.url:
            text += f": {self.url}"
        elif self.provider_media_id:
            text += f", media id {self.provider_media_id}"
        return text + "]"


@dataclass(frozen=True)
class InboundMessage:
    """A customer wrote (text, media, location, contacts, a button or list choice, a postback...)."""

    external_id: str  # the provider's message id: the idempotency key
    contact_id: str  # where replies go: WhatsApp id, page-scoped id, chat id, phone number
    identity_kind: str  # a cx.customers IdentityKind (whatsapp, messenger, telegram, phone, external)
    identity_value: str
    display_name: str
    text: str
    kind: str  # text, image, location, contacts, interactive, postback, referral, edit, ...
    occurred_at: datetime
    media: tuple[MediaRef, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)

    def body(self) -> str:
        lines = [self.text.strip()] if self.text.strip() else []
        lines += [m.describe() for m in self.media]
        return "\n".join(lines) or f"[{self.kind}]"


@dataclass(frozen=True)
class Reaction:
    """The customer reacted to one of our messages (an empty emoji removes the reaction)."""

    external_id: str
    contact_id: str
    identity_kind: str
    identity_value: str
    target_message_id: str
    emoji: str
    occurred_at: datetime


@dataclass(frozen=True)
class StatusUpdate:
    """The provider reports what happened to a message we sent."""

    provider_message_id: str
    status: str  # sent, delivered, read, failed
    occurred_at: datetime
    error: str = ""


@dataclass(frozen=True)
class Ignored:
    """A well-formed event we deliberately do not store; the reason is logged."""

    reason: str
    external_id: str = ""


Event = InboundMessage | Reaction | StatusUpdate | Ignored


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP request to the provider's API (secrets in headers or URL: never log it whole)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    basic_auth: tuple[str, str] | None = None
    # A printable URL without secrets, for delivery errors and logs.
    safe_url: str = ""


@dataclass(frozen=True)
class OutboundText:
    contact_id: str
    text: str
    # Provider-specific hints: WhatsApp template, Messenger tag outside the 24-hour window, Twilio callback.
    template_name: str = ""
    template_language: str = ""
    outside_window: bool = False
    status_callback_url: str = ""


@dataclass(frozen=True)
class MediaDownload:
    """Where a media file is, as two steps at most: an optional JSON lookup, then the file itself."""

    url: str = ""  # the file, when known directly
    lookup_url: str = ""  # a JSON document that names the file (WhatsApp media id, Telegram getFile)
    lookup_path: tuple[str, ...] = ()  # keys to the file's URL (or path) in the lookup's JSON
    file_url_prefix: str = ""  # put before the looked-up value (Telegram's file path)
    headers: dict[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    follow_redirects: bool = False


class ProviderAdapter(Protocol):
    provider: str
    # Secrets the admin must enter and settings the connector needs (name -> label).
    secret_fields: dict[str, str]
    setting_fields: dict[str, str]
    default_api_base: str
    max_text_length: int
    # Meta's GET verification handshake (WhatsApp, Messenger).
    supports_verification: bool

    def verify(self, *, connector: ConnectorSettings, request: WebhookRequest) -> bool:
        """Whether the request is signed by the provider with this connector's secret."""

    def parse(self, *, connector: ConnectorSettings, request: WebhookRequest) -> list[Event]:
        """The events in a verified request; raises MalformedPayload with a reason."""

    def build_send(self, *, connector: ConnectorSettings, message: OutboundText) -> OutboundRequest:
        """The HTTP request that sends ``message``."""

    def sent_message_id(self, *, response: Any) -> str:
        """The provider's id for a message it accepted (from the parsed JSON answer)."""

    def media_download(self, *, connector: ConnectorSettings, media: MediaRef) -> MediaDownload | None:
        """How to fetch an inbound media file with this connector's credentials (None: it cannot be)."""


def from_unix(value: Any) -> datetime:
    """Provider timestamps: seconds (Meta, Telegram) or milliseconds (Messenger) since the epoch."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MalformedPayload(f"timestamp {value!r} is not a number") from None
    if number > 1e11:
        number /= 1000
    return datetime.fromtimestamp(number, tz=UTC)


def require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise MalformedPayload(f"{where}.{key} is missing")
    return mapping[key]


def api_base(connector: ConnectorSettings, default: str) -> str:
    return (connector.api_base_url or default).rstrip("/")
