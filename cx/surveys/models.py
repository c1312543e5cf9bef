"""Surveys (CSAT, CES, NPS and custom), their questions, invitations sent to customers, responses and
answers, the closed-loop follow-ups they trigger, comment themes, and the delivery policy shared by all."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models


class SurveyKind(models.TextChoices):
    CSAT = "csat", "CSAT (customer satisfaction)"
    CES = "ces", "CES (customer effort)"
    NPS = "nps", "NPS (relationship)"
    CUSTOM = "custom", "Custom"


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class Trigger(models.TextChoices):
    MANUAL = "manual", "Manual sends only"
    TICKET_SOLVED = "ticket_solved", "When a ticket is solved"
    JOURNEY_EVENT = "journey_event", "After a journey event (touchpoint)"
    RECURRING = "recurring", "Recurring (relationship)"


class Locale(models.TextChoices):
    EN = "en", "English"
    DE = "de", "Deutsch"
    FR = "fr", "Français"
    ES = "es", "Español"


class Survey(models.Model):
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=SurveyKind.choices)
    status = models.CharField(max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    locale = models.CharField(max_length=5, choices=Locale.choices, default=Locale.EN)
    brand_name = models.CharField(max_length=80, blank=True)
    brand_color = models.CharField(max_length=7, default="#1d4ed8")  # #rrggbb, checked for contrast
    intro_text = models.CharField(max_length=500, blank=True)
    thank_you_text = models.CharField(max_length=500, blank=True)
    email_subject = models.CharField(max_length=150, blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    delay_minutes = models.PositiveIntegerField(default=60)  # after the ticket is solved
    event_kind = models.CharField(max_length=100, blank=True)  # journey trigger: touchpoint kind
    event_delay_days = models.PositiveIntegerField(default=30)
    event_first_only = models.BooleanField(default=True)  # only the customer's first such event
    recurring_days = models.PositiveIntegerField(default=90)
    sampling_percent = models.PositiveSmallIntegerField(default=100)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class QuestionKind(models.TextChoices):
    NPS = "nps", "NPS 0-10"
    CSAT = "csat", "CSAT 1-5"
    CES = "ces", "CES 1-7"
    RATING = "rating", "Rating"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    TEXT = "text", "Open text"


SCORED_KINDS = {QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES, QuestionKind.RATING}
CHOICE_KINDS = {QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE}


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=QuestionKind.choices)
    text = models.CharField(max_length=300)
    help_text = models.CharField(max_length=300, blank=True)
    # The scale and the wording are part of the measurement: answers keep the version they saw.
    scale_min = models.SmallIntegerField(null=True, blank=True)
    scale_max = models.SmallIntegerField(null=True, blank=True)
    low_label = models.CharField(max_length=60, blank=True)
    high_label = models.CharField(max_length=60, blank=True)
    wording_version = models.PositiveIntegerField(default=1)
    options = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    # Follow-up logic: shown only when the score of ``show_if_question`` is within [min, max].
    show_if_question = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="follow_ups")
    show_if_min = models.SmallIntegerField(null=True, blank=True)
    show_if_max = models.SmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text

    @property
    def is_scored(self) -> bool:
        return self.kind in SCORED_KINDS

    @property
    def scale(self) -> list[int]:
        if self.scale_min is None or self.scale_max is None:
            return []
        return list(range(self.scale_min, self.scale_max + 1))


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    OPENED = "opened", "Opened"
    ANSWERED = "answered", "Answered"
    SUPPRESSED = "suppressed", "Not sent (policy)"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Invitation(models.Model):
    """One request to one customer to answer one survey, on one channel. The public token is signed and
    carries the invitation's id and nonce; the nonce makes a token unguessable even with the id known."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="survey_invitations")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="survey_invitations")
    channel = models.CharField(max_length=16, default="email")
    email = models.EmailField(blank=True)
    nonce = models.CharField(max_length=32)
    status = models.CharField(max_length=12, choices=InvitationStatus.choices, default=InvitationStatus.SCHEDULED)
    status_reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=40)  # ticket_solved, journey_event, recurring, manual, followup, api
    source_key = models.CharField(max_length=120, blank=True)  # idempotency, e.g. "ticket:12"
    send_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Context captured when the invitation is made, so reports do not change when the ticket moves on.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ticket_channel = models.CharField(max_length=16, blank=True)
    ticket_type = models.CharField(max_length=10, blank=True)
    touchpoint_kind = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "sent_at"], name="invitation_customer_sent_idx"),
            models.Index(fields=["status", "send_at"], name="invitation_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["survey", "source_key"], condition=~models.Q(source_key=""),
                                    name="invitation_survey_source_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → customer {self.customer_id}"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"
    MIXED = "mixed", "Mixed"


class Theme(models.Model):
    """A named group of comments, found by clustering; its label is made of its key terms."""

    label = models.CharField(max_length=120)
    key_terms = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=0)
    built_at = models.DateTimeField()

    class Meta:
        ordering = ["-size", "label"]

    def __str__(self) -> str:
        return self.label


class Response(models.Model):
    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="survey_responses")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="survey_responses")
    started_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The survey's headline score and comment, copied from the answers for fast reports.
    nps_score = models.SmallIntegerField(null=True, blank=True)
    csat_score = models.SmallIntegerField(null=True, blank=True)
    ces_score = models.SmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)  # -1 … +1
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")

    class Meta:
        indexes = [models.Index(fields=["survey", "started_at"], name="response_survey_time_idx")]

    def __str__(self) -> str:
        return f"Response {self.pk} to {self.survey_id}"


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    wording_version = models.PositiveIntegerField()
    score = models.SmallIntegerField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)
    skipped = models.BooleanField(default=False)
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="answer_once_per_question")]

    def __str__(self) -> str:
        return f"Answer to {self.question_id}"


class LoopState(models.TextChoices):
    OPEN = "open", "Open"
    CONTACTED = "contacted", "Contacted"
    RESOLVED = "resolved", "Resolved"


class FollowUp(models.Model):
    """The closed loop: a poor score or a negative comment becomes a ticket for its owner to call back."""

    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="follow_up")
    ticket = models.ForeignKey("tickets.Ticket", null=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="survey_follow_ups")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=LoopState.choices, default=LoopState.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    resurvey = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"Follow-up of response {self.response_id}"


class DeliveryPolicy(models.Model):
    """One row (pk=1): how often a customer may be asked, across every survey, and the loop's rules."""

    cooldown_days = models.PositiveIntegerField(default=7)
    monthly_cap = models.PositiveIntegerField(default=3)
    quiet_start = models.TimeField(default=time(21, 0))
    quiet_end = models.TimeField(default=time(8, 0))
    default_time_zone = models.CharField(max_length=64, default="UTC")
    loop_nps_max = models.SmallIntegerField(default=6)
    loop_csat_max = models.SmallIntegerField(default=2)
    loop_ces_max = models.SmallIntegerField(default=2)
    loop_negative_comment = models.BooleanField(default=True)
    loop_priority = models.CharField(max_length=8, default="high")
    loop_due_hours = models.PositiveIntegerField(default=24)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Survey delivery policy"


class InAppPosition(models.TextChoices):
    BOTTOM_RIGHT = "bottom_right", "Bottom right"
    BOTTOM_LEFT = "bottom_left", "Bottom left"
    CENTER = "center", "Centre of the page"


class InAppRecurrence(models.TextChoices):
    ONCE = "once", "Once per visitor"
    RECURRING = "recurring", "Again after a number of days"


class InAppPlacement(models.Model):
    """Where and when a survey is shown in-app, on a host website, through one chat inbox's widget: the
    targeting rules (pages and tracked events, see cx.surveys.targeting), the trigger (delay, scroll), the
    card's position, how often a visitor may see it and the share of visitors sampled. The delivery policy
    (cooldown across all surveys, monthly cap, quiet hours) applies on top, as for every channel."""

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="in_app")
    inbox = models.ForeignKey("chat.ChatInbox", on_delete=models.CASCADE, related_name="+")
    is_enabled = models.BooleanField(default=True)
    page_rules = models.JSONField(default=list, blank=True)
    event_rules = models.JSONField(default=list, blank=True)
    delay_seconds = models.PositiveIntegerField(default=0)
    scroll_percent = models.PositiveSmallIntegerField(default=0)  # 0: no scroll needed
    position = models.CharField(max_length=16, choices=InAppPosition.choices, default=InAppPosition.BOTTOM_RIGHT)
    recurrence = models.CharField(max_length=10, choices=InAppRecurrence.choices, default=InAppRecurrence.ONCE)
    recurrence_days = models.PositiveIntegerField(default=90)
    sampling_percent = models.PositiveSmallIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["inbox", "is_enabled"], name="inapp_inbox_enabled_idx")]

    def __str__(self) -> str:
        return f"In-app placement of {self.survey}"
