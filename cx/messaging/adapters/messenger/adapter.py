"""Facebook Messenger: ``object: page`` webhooks (messages, attachments, postbacks, referrals, delivery and
read receipts) and replies through the Send API (``POST /<version>/me/messages``).

Outside Messenger's 24-hour standard messaging window a human agent may still answer for 7 days with the
``HUMAN_AGENT`` message tag, so replies there are sent tagged.
"""

from __future__ import annotations

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

HANDOVER_EVENTS = ("pass_thread_control", "take_thread_control", "request_thread_control", "app_roles")


class MessengerAdapter:
    provider = "messenger"
    max_text_length = 2000  # the provider refuses longer text messages
    secret_fields = {"app_secret": "App secret (signs webhooks)",
                     "page_access_token": "Page access token (sends replies)",
                     "verify_token": "Verify token (webhook setup handshake)"}
    setting_fields = {"page_id": "Page id"}
    default_api_base = meta.GRAPH_API
    supports_verification = True

    def verify(self, *, connector: ConnectorSettings, request: WebhookRequest) -> bool:
        return meta.signature_valid(app_secret=connector.secret("app_secret"), request=request)

    def parse(self, *, connector: ConnectorSettings, request: WebhookRequest) -> list[Event]:
        payload = meta.load_json(request.body, expected_object="page")
        events: list[Event] = []
        our_page = connector.setting("page_id")
        for entry in payload["entry"]:
            if not isinstance(entry, dict):
                events.append(Ignored(reason="an entry that is not an object"))
                continue
            page_id = str(entry.get("id") or "")
            if our_page and page_id != our_page:
                events.append(Ignored(reason=f"for page {page_id!r}, not this connector's"))
                continue
            for standby in entry.get("standby") or []:
                events.append(Ignored(reason="standby channel: another app owns this thread (handover protocol)",
                                      external_id=str((standby.get("message") or {}).get("mid") or "")))
            for item in entry.get("messaging") or []:
                events.append(self._event(item))
        return events

    def _event(self, item: dict[str, Any]) -> Event:
        sender = str((require(item, "sender", "messaging") or {}).get("id") or "")
        occurred = from_unix(item.get("timestamp") or 0)
        handover = next((name for name in HANDOVER_EVENTS if name in item), None)
        if handover:
            return Ignored(reason=f"{handover}: a handover-protocol notice, not a customer message")
        if not sender.isdigit():
            return Ignored(reason=f"sender {sender!r} is not a page-scoped id")
        if "delivery" in item:
            mids = (item["delivery"] or {}).get("mids") or []
            return StatusUpdate(provider_message_id=str(mids[0]) if mids else "", status="delivered",
                                occurred_at=occurred) if mids else Ignored(reason="delivery receipt without ids")
        if "read" in item:
            return Ignored(reason="read receipt by watermark: delivery state is tracked per message id")
        if "reaction" in item:
            reaction = item["reaction"] or {}
            return Reaction(external_id=f"reaction:{reaction.get('mid')}:{item.get('timestamp')}", contact_id=sender,
                            identity_kind="messenger", identity_value=sender,
                            target_message_id=str(reaction.get("mid") or ""),
                            emoji="" if reaction.get("action") == "unreact" else str(reaction.get("emoji") or ""),
                            occurred_at=occurred)
        if "message" in item:
            message = item["message"] or {}
            mid = str(require(message, "mid", "message"))
            if message.get("is_echo"):
                return Ignored(reason="an echo of a message the page sent", external_id=mid)
            media = tuple(MediaRef(kind=str(a.get("type") or "file"),
                                   url=str((a.get("payload") or {}).get("url") or ""))
                          for a in message.get("attachments") or [] if isinstance(a, dict))
            properties: dict[str, Any] = {}
            if (message.get("quick_reply") or {}).get("payload"):
                properties["choice_id"] = message["quick_reply"]["payload"]
            if message.get("reply_to"):
                properties["in_reply_to"] = (message["reply_to"] or {}).get("mid")
            return InboundMessage(external_id=mid, contact_id=sender, identity_kind="messenger", identity_value=sender,
                                  display_name="", text=str(message.get("text") or ""),
                                  kind="attachment" if media and not message.get("text") else "text",
                                  occurred_at=occurred, media=media, properties=properties)
        if "postback" in item:
            postback = item["postback"] or {}
            referral = postback.get("referral") or {}
            text = f"Chose: {postback.get('title') or postback.get('payload')}"
            properties = {"choice_id": postback.get("payload")}
            if referral:
                properties["referral"] = referral
            external_id = str(postback.get("mid") or f"postback:{sender}:{item.get('timestamp')}")
            return InboundMessage(external_id=external_id, contact_id=sender, identity_kind="messenger",
                                  identity_value=sender, display_name="", text=text, kind="postback",
                                  occurred_at=occurred, properties=properties)
        if "referral" in item:
            referral = item["referral"] or {}
            text = f"Opened the conversation from {referral.get('source', 'a link')}"
            if referral.get("ref"):
                text += f" (ref {referral['ref']})"
            return InboundMessage(external_id=f"referral:{sender}:{item.get('timestamp')}", contact_id=sender,
                                  identity_kind="messenger", identity_value=sender, display_name="", text=text,
                                  kind="referral", occurred_at=occurred, properties={"referral": referral})
        return Ignored(reason=f"a messaging event with none of message/postback/referral ({', '.join(sorted(item))})")

    def build_send(self, *, connector: ConnectorSettings, message: OutboundText) -> OutboundRequest:
        base = api_base(connector, self.default_api_base)
        url = f"{base}/{meta.GRAPH_VERSION}/me/messages"
        body: dict[str, Any] = {"recipient": {"id": message.contact_id}, "message": {"text": message.text}}
        if message.outside_window:
            body |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        else:
            body["messaging_type"] = "RESPONSE"
        return OutboundRequest(url=url, safe_url=url, json=body,
                               headers={"Authorization": f"Bearer {connector.secret('page_access_token')}"})

    def sent_message_id(self, *, response: Any) -> str:
        return str((response or {}).get("message_id") or "")

    def profile_url(self, *, connector: ConnectorSettings, psid: str) -> str:
        """The User Profile API: a page-scoped id's name (webhooks carry ids only)."""
        base = api_base(connector, self.default_api_base)
        return f"{base}/{meta.GRAPH_VERSION}/{psid}?fields=first_name,last_name"

    def media_download(self, *, connector: ConnectorSettings, media: MediaRef) -> MediaDownload | None:
        """Attachment URLs in Messenger webhooks are public CDN links."""
        if not media.url.startswith(("https://", "http://")):
            return None
        return MediaDownload(url=media.url, follow_redirects=True)
