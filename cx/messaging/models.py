"""Messaging connectors, the conversation each contact has with one, and the state of what we send.

Secrets (app secrets, tokens) live in ``Connector.secrets``: write-only — never rendered, returned by the
API, logged or put in audit events; forms and the API only say whether each one is set.
"""

from __future__ import annotations

from django.db import models


class Provider(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp Cloud API"
    MESSENGER = "messenger", "Facebook Messenger"
    TELEGRAM = "telegram", "Telegram"
    TWILIO_SMS = "twilio_sms", "Twilio SMS/MMS"


# The ticket channel each provider's conversations get.
PROVIDER_CHANNEL = {Provider.WHATSAPP: "whatsapp", Provider.MESSENGER: "messenger", Provider.TELEGRAM: "telegram",
                    Provider.TWILIO_SMS: "sms"}


class Connector(models.Model):
    provider = models.CharField(max_length=16, choices=Provider.choices)
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    # New conversations are routed to this team.
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The unguessable part of the webhook URL; identifies the connector before its signature is checked.
    webhook_key = models.CharField(max_length=40, unique=True)
    settings = models.JSONField(default=dict, blank=True)  # phone number id, page id, account SID...
    secrets = models.JSONField(default=dict, blank=True)  # write-only
    # Empty: the provider's real API. Set to a local server for tests and staging.
    api_base_url = models.CharField(max_length=300, blank=True)
    # WhatsApp: templates approved in Meta's manager, [{"name": ..., "language": ...}].
    templates = models.JSONField(default=list, blank=True)
    # When the provider last reached us with a valid signature (helps admins check the set-up).
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    def __repr__(self) -> str:  # never the secrets
        return f"<Connector {self.pk} {self.provider} {self.name!r}>"

    @property
    def channel(self) -> str:
        return PROVIDER_CHANNEL[self.provider]


class Conversation(models.Model):
    """One contact (a WhatsApp id, a page-scoped id, a chat, a phone number) on one connector."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="conversations")
    contact_id = models.CharField(max_length=100)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    # The ticket the next inbound message continues (a new one once it is closed).
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connector", "contact_id"], name="messaging_one_conversation")]

    def __str__(self) -> str:
        return f"{self.connector.name}: {self.contact_id}"


class InboundEvent(models.Model):
    """Every provider message id we stored once: webhooks are retried, and a retry must store nothing new."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=30)
    message = models.ForeignKey("tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    # Media the message referred to, fetched into the message's attachments by a task after commit.
    media = models.JSONField(default=list, blank=True)
    media_fetched_at = models.DateTimeField(null=True, blank=True)
    media_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connector", "external_id"], name="messaging_event_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id}"


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


# Later states never move back to earlier ones (a late "sent" after "read" changes nothing).
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}


class Outbound(models.Model):
    """An agent's public reply on its way to the customer's app, with every attempt's outcome."""

    message = models.OneToOneField("tickets.Message", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="outbound")
    status = models.CharField(max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED)
    template_name = models.CharField(max_length=100, blank=True)
    template_language = models.CharField(max_length=20, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    reaction = models.CharField(max_length=16, blank=True)  # the customer's emoji reaction, if any
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"outbound for message {self.message_id}: {self.status}"
