"""Telegram Bot API: ``Update`` objects posted to our webhook (set with ``setWebhook`` and a ``secret_token``,
which Telegram echoes in ``X-Telegram-Bot-Api-Secret-Token``); replies with ``sendMessage``.

Message ids are only unique per chat, so the idempotency key is ``<chat id>:<message id>`` (plus the edit
date for edits, which arrive as new versions of the same message).
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Any

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
    WebhookRequest,
    api_base,
    from_unix,
    require,
)

TELEGRAM_API = "https://api.telegram.org"
MEDIA_KINDS = ("photo", "audio", "voice", "video", "video_note", "document", "sticker", "animation")


def _name(user: dict[str, Any]) -> str:
    full = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    return full or str(user.get("username") or "")


def _media(message: dict[str, Any]) -> list[MediaRef]:
    media = []
    for kind in MEDIA_KINDS:
        data = message.get(kind)
        if not data:
            continue
        if kind == "photo" and isinstance(data, list):  # sizes, smallest first
            data = data[-1]
        media.append(MediaRef(kind=kind, content_type=str(data.get("mime_type") or ""),
                              provider_media_id=str(data.get("file_id") or ""),
                              filename=str(data.get("file_name") or data.get("title") or "")))
    return media


class TelegramAdapter:
    provider = "telegram"
    max_text_length = 4096  # the provider refuses longer text messages
    secret_fields = {"bot_token": "Bot token (from @BotFather)",
                     "webhook_secret": "Webhook secret token (given to setWebhook as secret_token)"}
    setting_fields = {"bot_username": "Bot username"}
    default_api_base = TELEGRAM_API
    supports_verification = False

    def verify(self, *, connector: ConnectorSettings, request: WebhookRequest) -> bool:
        expected = connector.secret("webhook_secret")
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "") or ""
        return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())

    def parse(self, *, connector: ConnectorSettings, request: WebhookRequest) -> list[Event]:
        try:
            update = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedPayload(f"the body is not JSON ({exc})") from None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise MalformedPayload("an Update needs an integer update_id")
        if "message" in update:
            return [self._message(update["message"], edited=False)]
        if "edited_message" in update:
            return [self._message(update["edited_message"], edited=True)]
        if "callback_query" in update:
            return [self._callback(update["callback_query"])]
        kinds = sorted(k for k in update if k != "update_id")
        return [Ignored(reason=f"update kind {', '.join(kinds) or 'empty'} is not a customer message "
                               "(inline mode, channel posts and polls are not support conversations)",
                        external_id=f"update:{update['update_id']}")]

    def _message(self, message: Any, *, edited: bool) -> Event:
        if not isinstance(message, dict):
            raise MalformedPayload("message must be an object")
        chat = require(message, "chat", "message")
        chat_id = str(require(chat, "id", "message.chat"))
        message_id = str(require(message, "message_id", "message"))
        if chat.get("type", "private") != "private":
            return Ignored(reason=f"a {chat.get('type')} chat: only private chats are support conversations",
                           external_id=f"{chat_id}:{message_id}")
        sender = message.get("from") or chat
        user_id = str(sender.get("id") or chat_id)
        text = str(message.get("text") or message.get("caption") or "")
        media = _media(message)
        properties: dict[str, Any] = {}
        if message.get("forward_from") or message.get("forward_origin") or message.get("forward_date"):
            source = message.get("forward_from") or {}
            properties["forwarded_from"] = source.get("title") or _name(source) or True
        if message.get("reply_to_message"):
            properties["in_reply_to"] = str((message["reply_to_message"] or {}).get("message_id") or "")
        if message.get("location"):
            loc = message["location"]
            text = (text + "\n" if text else "") + f"Location: {loc.get('latitude')}, {loc.get('longitude')}"
        if message.get("contact"):
            contact = message["contact"]
            text = (text + "\n" if text else "") + f"Shared contact: {_name(contact)} {contact.get('phone_number', '')}"
        if not text and not media:
            return Ignored(reason="a service message (no text or media)", external_id=f"{chat_id}:{message_id}")
        external_id = f"{chat_id}:{message_id}"
        if edited:
            external_id += f":edit:{message.get('edit_date', '')}"
            text = "(edited) " + text
        occurred = from_unix(message.get("edit_date") if edited else require(message, "date", "message"))
        return InboundMessage(external_id=external_id, contact_id=chat_id, identity_kind="telegram",
                              identity_value=user_id.lstrip("-") if user_id.lstrip("-").isdigit() else user_id,
                              display_name=_name(sender), text=text,
                              kind="edit" if edited else (media[0].kind if media and not text else "text"),
                              occurred_at=occurred, media=tuple(media), properties=properties)

    def _callback(self, query: Any) -> Event:
        if not isinstance(query, dict):
            raise MalformedPayload("callback_query must be an object")
        query_id = str(require(query, "id", "callback_query"))
        sender = require(query, "from", "callback_query")
        user_id = str(require(sender, "id", "callback_query.from"))
        chat_id = str(((query.get("message") or {}).get("chat") or {}).get("id") or user_id)
        return InboundMessage(external_id=f"callback:{query_id}", contact_id=chat_id, identity_kind="telegram",
                              identity_value=user_id, display_name=_name(sender),
                              text=f"Chose: {query.get('data') or query.get('game_short_name') or ''}".strip(),
                              kind="callback", occurred_at=datetime.now(tz=UTC),
                              properties={"choice_id": query.get("data")})

    def build_send(self, *, connector: ConnectorSettings, message: OutboundText) -> OutboundRequest:
        base = api_base(connector, self.default_api_base)
        return OutboundRequest(url=f"{base}/bot{connector.secret('bot_token')}/sendMessage",
                               safe_url=f"{base}/bot<token>/sendMessage",
                               json={"chat_id": int(message.contact_id) if message.contact_id.lstrip("-").isdigit()
                                     else message.contact_id, "text": message.text})

    def build_callback_answer(self, *, connector: ConnectorSettings, callback_query_id: str) -> OutboundRequest:
        """``answerCallbackQuery``: Telegram shows a progress indicator on the button until it is answered."""
        base = api_base(connector, self.default_api_base)
        return OutboundRequest(url=f"{base}/bot{connector.secret('bot_token')}/answerCallbackQuery",
                               safe_url=f"{base}/bot<token>/answerCallbackQuery",
                               json={"callback_query_id": callback_query_id})

    def sent_message_id(self, *, response: Any) -> str:
        result = (response or {}).get("result") or {}
        chat = (result.get("chat") or {}).get("id")
        return f"{chat}:{result.get('message_id')}" if result.get("message_id") else ""

    def media_download(self, *, connector: ConnectorSettings, media: MediaRef) -> MediaDownload | None:
        """``getFile`` names the file's path; the file is at ``/file/bot<token>/<path>``."""
        if not media.provider_media_id:
            return None
        base = api_base(connector, self.default_api_base)
        token = connector.secret("bot_token")
        return MediaDownload(lookup_url=f"{base}/bot{token}/getFile?file_id={media.provider_media_id}",
                             lookup_path=("result", "file_path"), file_url_prefix=f"{base}/file/bot{token}/")
