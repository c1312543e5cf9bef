"""What agents are told (a notification per recipient) and how each agent wants to be told (preferences)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class NotificationKind(models.TextChoices):
    TICKET_ASSIGNED = "ticket_assigned", "A ticket is assigned to me"
    CUSTOMER_REPLIED = "customer_replied", "A customer replies on a ticket I am assigned to or follow"
    MENTIONED = "mentioned", "Someone mentions me in an internal note"
    SLA_WARNING = "sla_warning", "An SLA target of my ticket is at risk or breached"
    AUTOMATION = "automation", "An automation rule notifies me"


# (in_app, email) when the agent has not chosen: everything shows in the app; email only for what needs
# action soon. Customer replies arrive often and show live, so they do not fill the mailbox by default.
DEFAULT_PREFERENCES: dict[str, tuple[bool, bool]] = {
    NotificationKind.TICKET_ASSIGNED: (True, True),
    NotificationKind.CUSTOMER_REPLIED: (True, False),
    NotificationKind.MENTIONED: (True, True),
    NotificationKind.SLA_WARNING: (True, True),
    NotificationKind.AUTOMATION: (True, True),
}


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # A path inside cxdesk (or an http(s) URL) the notification points to; empty: the ticket's page, if any.
    url = models.CharField(max_length=500, blank=True)
    # False when the agent wants this kind by email only: the row then records the mail, not an inbox item.
    in_app = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "in_app", "read_at"], name="notification_unread_idx"),
            models.Index(fields=["recipient", "-id"], name="notification_recipient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: in_app={self.in_app} email={self.email}"
