"""The provider adapters by name (one folder per provider; the interface is in ``base.py``)."""

from __future__ import annotations

from cx.messaging.adapters.base import ProviderAdapter
from cx.messaging.adapters.messenger.adapter import MessengerAdapter
from cx.messaging.adapters.telegram.adapter import TelegramAdapter
from cx.messaging.adapters.twilio_sms.adapter import TwilioSmsAdapter
from cx.messaging.adapters.whatsapp.adapter import WhatsAppAdapter

ADAPTERS: dict[str, ProviderAdapter] = {
    adapter.provider: adapter
    for adapter in (WhatsAppAdapter(), MessengerAdapter(), TelegramAdapter(), TwilioSmsAdapter())
}


def adapter_for(provider: str) -> ProviderAdapter:
    return ADAPTERS[provider]
