"""Messaging connectors: WhatsApp Cloud API, Facebook Messenger, Telegram and Twilio SMS/MMS.

Inbound webhooks become tickets and customer replies; agents' public replies on those tickets go back
out on the same channel from a task, after commit, retried with back-off. Each provider is one adapter
(``adapters/<provider>/``) behind the small interface in ``adapters/base.py``."""
