"""IVR menus (one per Twilio number), their options, and the call log.

The Twilio auth token is write-only: never rendered, returned or logged; forms only say whether it is set.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AfterHoursAction(models.TextChoices):
    VOICEMAIL = "voicemail", "Take a voicemail"
    CALLBACK = "callback", "Record a callback request"
    HANGUP = "hangup", "Play the message and hang up"


class OptionAction(models.TextChoices):
    FORWARD = "forward", "Forward to a team's number"
    VOICEMAIL = "voicemail", "Voicemail"
    CALLBACK = "callback", "Callback request"


class IvrMenu(models.Model):
    name = models.CharField(max_length=100, unique=True)
    phone_number = models.CharField(max_length=20, unique=True, help_text="The Twilio number callers dial (E.164).")
    account_sid = models.CharField(max_length=64)
    auth_token = models.CharField(max_length=200)  # write-only
    webhook_key = models.CharField(max_length=40, unique=True)
    is_active = models.BooleanField(default=True)
    greeting = models.TextField(max_length=1000)
    language = models.CharField(max_length=10, default="en-US")
    # Empty: always open. Else the SLA business calendar decides the business-hours branch.
    calendar = models.ForeignKey("sla.BusinessCalendarConfig", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    after_hours_message = models.TextField(max_length=1000, blank=True)
    after_hours_action = models.CharField(max_length=10, choices=AfterHoursAction.choices,
                                          default=AfterHoursAction.VOICEMAIL)
    voicemail_prompt = models.CharField(max_length=500, default="Please leave a message after the tone.")
    # Voicemails and callback requests without a team of their own go to this team.
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "IVR menu"

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_number})"

    def __repr__(self) -> str:  # never the auth token
        return f"<IvrMenu {self.pk} {self.phone_number}>"


class IvrOption(models.Model):
    menu = models.ForeignKey(IvrMenu, on_delete=models.CASCADE, related_name="options")
    digit = models.CharField(max_length=1)
    label = models.CharField(max_length=100, help_text="Said in the menu: “For <label>, press <digit>.”")
    action = models.CharField(max_length=10, choices=OptionAction.choices)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    forward_number = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["digit"]
        constraints = [models.UniqueConstraint(fields=["menu", "digit"], name="voice_one_option_per_digit")]

    def __str__(self) -> str:
        return f"{self.digit}: {self.label}"


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class CallOutcome(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    ANSWERED = "answered", "Answered"
    MISSED = "missed", "Missed"
    VOICEMAIL = "voicemail", "Voicemail"
    CALLBACK_REQUESTED = "callback_requested", "Callback requested"
    ABANDONED = "abandoned", "Caller hung up"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    FAILED = "failed", "Failed"


class Call(models.Model):
    """One phone call: from Twilio's webhooks (``call_sid``) or logged by an agent (no sid)."""

    call_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    menu = models.ForeignKey(IvrMenu, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    direction = models.CharField(max_length=8, choices=CallDirection.choices, default=CallDirection.INBOUND)
    from_number = models.CharField(max_length=32, blank=True)
    to_number = models.CharField(max_length=32, blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=20, choices=CallOutcome.choices, default=CallOutcome.IN_PROGRESS)
    digits = models.CharField(max_length=10, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording_sid = models.CharField(max_length=64, blank=True)
    recording_url = models.URLField(max_length=500, blank=True)
    recording_seconds = models.PositiveIntegerField(null=True, blank=True)
    transcript = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    logged_manually = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["ticket", "-started_at"], name="voice_call_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call {self.from_number} → {self.to_number}"

    @property
    def duration_display(self) -> str:
        if self.duration_seconds is None:
            return "—"
        minutes, seconds = divmod(self.duration_seconds, 60)
        return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
