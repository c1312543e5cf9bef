"""Live chat: inboxes (one per website or brand, configured by admins), the visitors a widget has seen and
their conversations. A conversation IS a ticket with channel ``chat``: every message is a ticket message, so
the transcript stays on the ticket when the chat ends; these rows hold only what a ticket has no place for
(who accepted the chat, read receipts, the visitor's current page)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

DEFAULT_AGENT_CHAT_LIMIT = 3
MAX_AGENT_CHAT_LIMIT = 20


def default_pre_chat_fields() -> list[dict]:
    return [
        {"name": "name", "label": "Your name", "type": "text", "required": True},
        {"name": "email", "label": "Email", "type": "email", "required": True},
    ]


class ChatInbox(models.Model):
    """One chat widget configuration. The widget key is public (it sits in the host page's script tag); the
    identity secret signs the host page's user ids and is shown to the admin once, when it is (re)generated."""

    name = models.CharField(max_length=100, unique=True)
    widget_key = models.CharField(max_length=40, unique=True)
    identity_secret = models.CharField(max_length=80)  # never rendered again after it is generated
    secret_rotated_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    greeting = models.CharField(max_length=500, blank=True, default="Hi! How can we help you today?")
    offline_message = models.CharField(
        max_length=500, blank=True,
        default="We're away right now. Leave a message and we'll answer by email.")
    colour = models.CharField(max_length=7, default="#1f6feb")
    # Origins (scheme://host[:port]) whose pages may load the widget; empty means any origin.
    allowed_origins = models.JSONField(default=list, blank=True)
    # [{"name", "label", "type": text|email|tel|textarea|select, "required", "options": [...]}]
    pre_chat_fields = models.JSONField(default=default_pre_chat_fields, blank=True)
    # When chats are staffed; no calendar means always (agents' online status still applies).
    calendar = models.ForeignKey("sla.BusinessCalendarConfig", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # New chats go to this team's queue (and its online members count as "agents online").
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent_chat_limit = models.PositiveSmallIntegerField(default=DEFAULT_AGENT_CHAT_LIMIT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "chat inbox"
        verbose_name_plural = "chat inboxes"

    def __str__(self) -> str:
        return self.name


class ChatVisitor(models.Model):
    """A browser the widget has talked to (its visitor token lives in the browser's localStorage). The
    customer is set once the visitor starts a chat or the host page identifies them."""

    inbox = models.ForeignKey(ChatInbox, on_delete=models.CASCADE, related_name="visitors")
    public_id = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=255, blank=True)
    external_user_id = models.CharField(max_length=255, blank=True)  # set only from a verified signature
    current_url = models.CharField(max_length=2000, blank=True)
    current_title = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or f"Visitor {self.public_id[:8]}"

    @property
    def display_name(self) -> str:
        return self.name or "Visitor"


class ConversationStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for an agent"
    ACTIVE = "active", "In progress"
    ENDED = "ended", "Ended"


LIVE_STATUSES = (ConversationStatus.WAITING, ConversationStatus.ACTIVE)


class ChatConversation(models.Model):
    inbox = models.ForeignKey(ChatInbox, on_delete=models.PROTECT, related_name="conversations")
    visitor = models.ForeignKey(ChatVisitor, on_delete=models.CASCADE, related_name="conversations")
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="chat_conversation")
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.WAITING,
                              db_index=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    pre_chat = models.JSONField(default=dict, blank=True)  # what the visitor typed into the pre-chat form
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=16, blank=True)  # visitor, agent
    # Read receipts: the last ticket message each side has seen.
    visitor_read_message_id = models.BigIntegerField(null=True, blank=True)
    agent_read_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agent", "status"], name="chat_conv_agent_status_idx")]

    def __str__(self) -> str:
        return f"Chat {self.pk} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES
