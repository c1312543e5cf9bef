"""Twilio SMS/MMS: form-encoded inbound messages and status callbacks, signed with ``X-Twilio-Signature``
(checked with the official twilio library's RequestValidator); replies through the Messages REST API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twilio.request_validator import RequestValidator, get_signature_algorithm

from cx.messaging.adapters.base import (
    ConnectorSettings,
    Event,
    Ignored,
    InboundMessage,
    MalformedPayload,
    MediaDownload,
    MediaRef,
    OutboundRequest,
    OutboundText,
    StatusUpdate,
    WebhookRequest,
    api_base,
)

TWILIO_API = "https://api.twilio.com"
STATUS_MAP = {"sent": "sent", "delivered": "delivered", "read": "read", "undelivered": "failed", "failed": "failed"}
PENDING_STATUSES = ("accepted", "queued", "sending", "scheduled")
MAX_MEDIA = 10


def validate_twilio_signature(*, auth_token: str, request: WebhookRequest) -> bool:
    """Twilio's own validator over the public URL and the form fields (or the raw body for JSON)."""
    signature = request.headers.get("X-Twilio-Signature", "") or ""
    if not auth_token or not signature:
        return False
    validator = RequestValidator(auth_token)
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings", ""))
    if "bodySHA256" in request.url:
        return validator.validate(request.url, request.body.decode("utf-8", errors="replace"), signature,
                                  algorithm=algorithm)
    return validator.validate(request.url, request.form if request.form is not None else {}, signature,
                              algorithm=algorithm)


class TwilioSmsAdapter:
    provider = "twilio_sms"
    max_text_length = 1600  # the provider refuses longer text messages
    secret_fields = {"auth_token": "Auth token (signs webhooks, authenticates replies)"}
    setting_fields = {"account_sid": "Account SID", "from_number": "Sending number (E.164) or Messaging Service SID"}
    default_api_base = TWILIO_API
    supports_verification = False

    def verify(self, *, connector: ConnectorSettings, request: WebhookRequest) -> bool:
        return validate_twilio_signature(auth_token=connector.secret("auth_token"), request=request)

    def parse(self, *, connector: ConnectorSettings, request: WebhookRequest) -> list[Event]:
        form = request.form
        if form is None or not hasattr(form, "get"):
            raise MalformedPayload("Twilio posts application/x-www-form-urlencoded fields")
        sid = str(form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or "")
        if not sid:
            raise MalformedPayload("MessageSid is missing")
        account = connector.setting("account_sid")
        if account and form.get("AccountSid") and form.get("AccountSid") != account:
            return [Ignored(reason=f"for account {form.get('AccountSid')!r}, not this connector's", external_id=sid)]
        status = str(form.get("MessageStatus") or "")
        if status and status != "received":
            if status in PENDING_STATUSES:
                return [Ignored(reason=f"interim status {status!r}", external_id=sid)]
            state = STATUS_MAP.get(status)
            if state is None:
                return [Ignored(reason=f"unknown status {status!r}", external_id=sid)]
            error = ""
            if form.get("ErrorCode"):
                error = f"Twilio error {form.get('ErrorCode')}: {form.get('ErrorMessage') or 'see the Twilio console'}"
            return [StatusUpdate(provider_message_id=sid, status=state, occurred_at=datetime.now(tz=UTC), error=error)]
        sender = str(form.get("From") or "")
        if not sender:
            raise MalformedPayload("From is missing")
        try:
            count = int(form.get("NumMedia") or 0)
        except ValueError:
            raise MalformedPayload("NumMedia is not a number") from None
        if not 0 <= count <= MAX_MEDIA:
            raise MalformedPayload(f"NumMedia must be between 0 and {MAX_MEDIA}")
        media = tuple(MediaRef(kind="media", content_type=str(form.get(f"MediaContentType{i}") or ""),
                               url=str(form.get(f"MediaUrl{i}") or "")) for i in range(count))
        properties: dict[str, Any] = {k: form.get(k) for k in ("FromCity", "FromState", "FromCountry", "NumSegments")
                                      if form.get(k)}
        return [InboundMessage(external_id=sid, contact_id=sender, identity_kind="phone", identity_value=sender,
                               display_name=str(form.get("ProfileName") or ""), text=str(form.get("Body") or ""),
                               kind="mms" if media else "sms", occurred_at=datetime.now(tz=UTC), media=media,
                               properties=properties)]

    def build_send(self, *, connector: ConnectorSettings, message: OutboundText) -> OutboundRequest:
        account = connector.setting("account_sid")
        base = api_base(connector, self.default_api_base)
        url = f"{base}/2010-04-01/Accounts/{account}/Messages.json"
        sender = connector.setting("from_number")
        form = {"To": message.contact_id, "Body": message.text}
        form["MessagingServiceSid" if sender.startswith("MG") else "From"] = sender
        if message.status_callback_url:
            form["StatusCallback"] = message.status_callback_url
        return OutboundRequest(url=url, safe_url=url, form=form, basic_auth=(account, connector.secret("auth_token")))

    def sent_message_id(self, *, response: Any) -> str:
        return str((response or {}).get("sid") or "")

    def media_download(self, *, connector: ConnectorSettings, media: MediaRef) -> MediaDownload | None:
        """MMS media URLs need the account's credentials and redirect to Twilio's storage."""
        if not media.url.startswith(("https://", "http://")):
            return None
        return MediaDownload(url=media.url, follow_redirects=True,
                             basic_auth=(connector.setting("account_sid"), connector.secret("auth_token")))
