"""Tickets: one conversation with a customer on any channel, its messages, statuses and custom fields."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StatusCategory(models.TextChoices):
    """Every configurable status maps to one category; queues, SLAs and reports reason in categories."""

    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


UNRESOLVED_CATEGORIES = (StatusCategory.NEW, StatusCategory.OPEN, StatusCategory.PENDING, StatusCategory.ON_HOLD)


class TicketStatus(models.Model):
    name = models.CharField(max_length=60, unique=True)
    category = models.CharField(max_length=16, choices=StatusCategory.choices)
    # The status a ticket gets when the system moves it into this category (e.g. a customer reply reopens).
    is_default = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "ticket statuses"
        constraints = [
            models.UniqueConstraint(fields=["category"], condition=models.Q(is_default=True),
                                    name="one_default_status_per_category"),
        ]

    def __str__(self) -> str:
        return self.name


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class TicketType(models.TextChoices):
    QUESTION = "question", "Question"
    INCIDENT = "incident", "Incident"
    PROBLEM = "problem", "Problem"
    TASK = "task", "Task"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEB = "web", "Web form"
    CHAT = "chat", "Live chat"
    PHONE = "phone", "Phone"
    WHATSAPP = "whatsapp", "WhatsApp"
    MESSENGER = "messenger", "Messenger"
    TELEGRAM = "telegram", "Telegram"
    SMS = "sms", "SMS"
    PORTAL = "portal", "Customer portal"
    API = "api", "API"
    AGENT = "agent", "Created by an agent"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    DROPDOWN = "dropdown", "Dropdown"
    CHECKBOX = "checkbox", "Checkbox"


class CustomField(models.Model):
    key = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=16, choices=CustomFieldType.choices)
    options = models.JSONField(default=list, blank=True)  # dropdown choices
    required_on_solve = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.label


class Ticket(models.Model):
    subject = models.CharField(max_length=250)
    requester = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="tickets")
    organization = models.ForeignKey("customers.Organization", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="tickets")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.ForeignKey(TicketStatus, on_delete=models.PROTECT, related_name="tickets")
    # Copied from the status so queue queries filter on one indexed column.
    status_category = models.CharField(max_length=16, choices=StatusCategory.choices, db_index=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    ticket_type = models.CharField(max_length=10, choices=TicketType.choices, default=TicketType.QUESTION)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_tickets")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="tickets")
    followers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="followed_tickets")
    ccs = models.ManyToManyField("customers.Customer", blank=True, related_name="cc_tickets")
    custom_fields = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=16, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_reply_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The nearest SLA target still running (first/next response or resolution) and the first breach, kept
    # on the ticket so "SLA at risk" queues are one indexed query. Computed by the SLA service.
    sla_next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    # A merged ticket stays as a pointer; later replies to it land in the survivor.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["status_category", "assignee", "-updated_at"], name="ticket_queue_assignee_idx"),
            models.Index(fields=["status_category", "team", "-updated_at"], name="ticket_queue_team_idx"),
            models.Index(fields=["status_category", "-updated_at", "-id"], name="ticket_queue_all_idx"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester_idx"),
            # Queue pages read unresolved tickets newest-updated first; partial indexes keep them small and
            # ordered, so a page is an index range scan even with millions of solved tickets.
            models.Index(fields=["-updated_at", "-id"], name="ticket_unresolved_idx",
                         condition=models.Q(status_category__in=["new", "open", "pending", "on_hold"])),
            models.Index(fields=["assignee", "-updated_at", "-id"], name="ticket_unresolved_assignee_idx",
                         condition=models.Q(status_category__in=["new", "open", "pending", "on_hold"])),
            models.Index(fields=["team", "-updated_at", "-id"], name="ticket_unresolved_team_idx",
                         condition=models.Q(status_category__in=["new", "open", "pending", "on_hold"])),
            # The Unassigned queue and its sidebar count: without this, a count walks every unresolved
            # unassigned entry of the assignee index (tens of thousands at 1M tickets) through a bitmap.
            models.Index(fields=["-updated_at", "-id"], name="ticket_unassigned_idx",
                         condition=models.Q(status_category__in=["new", "open", "pending", "on_hold"],
                                            assignee__isnull=True)),
            # Recently solved: solved in the last days, counted on every sidebar refresh.
            models.Index(fields=["-solved_at", "-id"], name="ticket_recently_solved_idx",
                         condition=models.Q(status_category="solved")),
            # The latest change to any ticket, one index probe: part of the sidebar counts' cache key, so a
            # ticket saved by any process (another web process, the worker) makes cached counts stale.
            models.Index(fields=["updated_at"], name="ticket_updated_at_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_unresolved(self) -> bool:
        return self.status_category in UNRESOLVED_CATEGORIES


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public reply"
    INTERNAL = "internal", "Internal note"


class AuthorType(models.TextChoices):
    AGENT = "agent", "Agent"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"
    BOT = "bot", "Bot"


class DeliveryStatus(models.TextChoices):
    NONE = "", "Not sent (received or internal)"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC)
    author_type = models.CharField(max_length=8, choices=AuthorType.choices)
    author_agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    author_customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)  # always sanitised before it is stored
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Channel-specific id (an email Message-ID, a WhatsApp message id) for threading and de-duplication.
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    delivery_status = models.CharField(max_length=12, choices=DeliveryStatus.choices, blank=True, default="")
    delivery_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.get_author_type_display()} on #{self.ticket_id}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


# --- Agent workspace: saved views and canned replies ---------------------------------------------------

class SavedView(models.Model):
    """A named inbox filter + sort an agent saved; shared views appear in every agent's sidebar."""

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    is_shared = models.BooleanField(default=False)
    # Only the inbox's known filter keys (status_category, priority, assignee, team, tag, channel) are kept.
    filters = models.JSONField(default=dict, blank=True)
    sort = models.CharField(max_length=16, default="updated")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_per_owner")]

    def __str__(self) -> str:
        return self.name


class CannedReply(models.Model):
    """A reusable answer with placeholders ({{customer.first_name}}...) an agent inserts into the composer."""

    title = models.CharField(max_length=100)
    body = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="canned_replies")
    is_shared = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title


# --- Deferred ticket changes (chatperf) -------------------------------------------------------------------

class DeferredTicketChange(models.Model):
    """A ticket change whose observers (SLA, notifications, routing, webhooks, automations...) and touchpoints
    run after the change committed, in batches on the task queue, instead of inside the request that made it
    (a visitor's chat message). Written in the change's own transaction, so nothing is lost if a process
    dies; drained in id order by ``cx.tickets.deferred``, and always before any later inline change of the
    same ticket, so observers still see a ticket's changes in the order they happened."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20)
    actor_id = models.IntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    message_id = models.IntegerField(null=True, blank=True)
    automation_depth = models.PositiveSmallIntegerField(default=0)
    occurred_at = models.DateTimeField()
    # [{"kind", "channel", "properties"}]: the customer-journey touchpoints the change writes.
    touchpoints = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "id"], name="deferred_change_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.event} on #{self.ticket_id} (deferred)"
