"""Mailboxes (the addresses customers write to), their routing rules, every inbound message as it arrived
(raw bytes kept), the Message-IDs that thread replies, outbound deliveries and bouncing addresses."""

from __future__ import annotations

from django.db import models


class Mailbox(models.Model):
    address = models.EmailField(max_length=254, unique=True)  # stored lower-case
    brand_name = models.CharField(max_length=100, help_text="Shown as the sender name of replies.")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    signature = models.TextField(blank=True, help_text="Added below every agent reply sent from this mailbox.")
    is_active = models.BooleanField(default=True)
    max_message_bytes = models.PositiveIntegerField(default=25 * 1024 * 1024)
    max_attachment_bytes = models.PositiveIntegerField(default=20 * 1024 * 1024)
    max_attachments = models.PositiveSmallIntegerField(default=10)
    sender_rate_limit = models.PositiveSmallIntegerField(
        default=20, help_text="Most messages one sender may send per hour before the rest is quarantined.")
    # The acknowledgement is an automated reply on the ticket: it goes out as "Re: <subject> [#id]".
    auto_ack_enabled = models.BooleanField(default=False)
    auto_ack_body = models.TextField(
        default="Hello {{customer.name}},\n\nthank you for writing to us. Your request has the number "
                "#{{ticket.id}}; simply reply to this email to add to it.\n")
    # IMAP / IMAPS polling (optional; the SMTP listener and provider webhooks need no settings here).
    imap_enabled = models.BooleanField(default=False)
    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_ssl = models.BooleanField(default=True)
    imap_username = models.CharField(max_length=255, blank=True)
    imap_password = models.CharField(max_length=255, blank=True)  # never shown or returned by the API
    imap_folder = models.CharField(max_length=100, default="INBOX")
    imap_processed_folder = models.CharField(
        max_length=100, blank=True, help_text="Move fetched mail here; empty: leave it and flag it as seen.")
    imap_last_error = models.CharField(max_length=500, blank=True)
    imap_last_polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return f"{self.brand_name} <{self.address}>"


class RoutingRule(models.Model):
    """First matching rule (by position) sets team, priority and tags on a new ticket from this mailbox."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    sender_domain = models.CharField(max_length=253, blank=True)
    keywords = models.JSONField(default=list, blank=True)  # any of them in subject or body
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.CharField(max_length=8, blank=True)
    tags = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["mailbox", "position", "id"]

    def __str__(self) -> str:
        return f"rule {self.pk} of {self.mailbox_id}"


class InboundStatus(models.TextChoices):
    ACCEPTED = "accepted", "Ticket created or updated"
    DUPLICATE = "duplicate", "Already received (same Message-ID)"
    QUARANTINED = "quarantined", "Quarantined"
    BOUNCE = "bounce", "Bounce / delivery report"
    IGNORED = "ignored", "Ignored (auto-reply or loop)"
    RELEASED = "released", "Released from quarantine"


class InboundSource(models.TextChoices):
    SMTP = "smtp", "SMTP listener"
    IMAP = "imap", "IMAP"
    WEBHOOK = "webhook", "Provider webhook"
    API = "api", "API upload"


class InboundEmail(models.Model):
    """One received message exactly as it arrived, and what became of it."""

    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound")
    source = models.CharField(max_length=8, choices=InboundSource.choices)
    raw = models.FileField(upload_to="mail/raw/%Y/%m/", blank=True)
    size = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    from_address = models.CharField(max_length=254, blank=True, db_index=True)
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    status = models.CharField(max_length=12, choices=InboundStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ticket_message = models.ForeignKey("tickets.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    # The full original next to the stripped reply the ticket shows ("show the whole message").
    full_text = models.TextField(blank=True)
    full_html = models.TextField(blank=True)  # sanitised
    quoted_text = models.TextField(blank=True)
    signature = models.TextField(blank=True)
    defects = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="mail_inbound_status_idx")]

    def __str__(self) -> str:
        return f"{self.status}: {self.subject[:40]}"


class ThreadDirection(models.TextChoices):
    INBOUND = "in", "Received"
    OUTBOUND = "out", "Sent"


class EmailThreadId(models.Model):
    """A Message-ID cxdesk received or sent, and the ticket it belongs to (the threading index)."""

    message_id = models.CharField(max_length=255, unique=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    ticket_message = models.ForeignKey("tickets.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    direction = models.CharField(max_length=3, choices=ThreadDirection.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.message_id


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class OutboundEmail(models.Model):
    """One agent reply sent (or being sent) by email."""

    ticket_message = models.OneToOneField("tickets.Message", on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message_id = models.CharField(max_length=255, unique=True)
    to_address = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.status}: {self.message_id}"


class BouncingAddress(models.Model):
    """A customer's address that bounced: no more auto-replies, and agents see a warning."""

    address = models.CharField(max_length=254, unique=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    bounce_count = models.PositiveIntegerField(default=0)
    last_reason = models.CharField(max_length=500, blank=True)
    last_bounced_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.address
