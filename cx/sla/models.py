"""SLA policies: business-hours calendars, policies with per-priority targets, and each ticket's SLA clocks.

Configuration (calendars, policies, targets) is edited by admins. The per-ticket records are kept by the
engine (cx.sla.engine): a ``TicketSla`` holds the facts that do not depend on any policy (when the ticket sat
in pending or on hold), each ``SlaClock`` one measured target (first response, a next response, resolution),
and ``SlaEvent`` the warnings, breaches and escalations, each at most once per clock.
"""

from __future__ import annotations

from datetime import date, time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from cx.tickets.business_hours import BusinessCalendar
from cx.tickets.models import Priority, StatusCategory

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_clock_time(text: str) -> time:
    """"HH:MM" as a wall-clock time; "24:00" is midnight at the end of the day (stored as time(0))."""
    if text == "24:00":
        return time(0, 0)
    hours, minutes = text.split(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(text)
    return time(int(hours), int(minutes))


class BusinessCalendarConfig(models.Model):
    """When a team works: a time zone, opening hours per weekday and holidays (several per instance)."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # {"monday": [["09:00", "17:00"]], ..., "sunday": []}; local wall-clock times, "24:00" = midnight.
    weekly_hours = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "business calendar"

    def __str__(self) -> str:
        return self.name

    def to_calendar(self, holidays: list[date] | None = None) -> BusinessCalendar:
        """The pure clock value; pass ``holidays`` when they are already loaded (else they are queried)."""
        weekly = {
            index: tuple((parse_clock_time(a), parse_clock_time(b)) for a, b in self.weekly_hours.get(day, []))
            for index, day in enumerate(WEEKDAYS)
        }
        days = holidays if holidays is not None else [h.date for h in self.holidays.all()]
        return BusinessCalendar(time_zone=self.time_zone, weekly=weekly, holidays=frozenset(days))


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendarConfig, on_delete=models.CASCADE, related_name="holidays")
    name = models.CharField(max_length=100, blank=True)
    date = models.DateField()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="sla_holiday_once_per_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


class SlaPolicy(models.Model):
    """Targets for tickets that match its conditions; the first active match by position applies.

    An empty condition list matches everything. ``customer_segments`` are matched against ticket tags
    (any one shared tag is enough) until customers carry segments of their own.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, db_index=True)
    is_active = models.BooleanField(default=True)
    priorities = models.JSONField(default=list, blank=True)
    organization_ids = models.JSONField(default=list, blank=True)
    customer_segments = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True)
    # No calendar: the clock runs around the clock (24/7).
    calendar = models.ForeignKey(BusinessCalendarConfig, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="policies")
    pause_on_pending = models.BooleanField(default=True)
    pause_on_hold = models.BooleanField(default=True)
    # 0 = no warning. Measured in elapsed time before the due instant, like an alarm.
    warn_before_minutes = models.PositiveIntegerField(default=60)
    # Escalation on breach (each runs once per breached target).
    escalate_notify = models.BooleanField(default=True)
    escalate_priority = models.CharField(max_length=8, choices=Priority.choices, blank=True)
    escalate_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    escalate_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    @property
    def has_escalation(self) -> bool:
        return bool(self.escalate_notify or self.escalate_priority or self.escalate_team_id
                    or self.escalate_assignee_id)


class SlaTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=8, choices=Priority.choices)
    metric = models.CharField(max_length=16, choices=SlaMetric.choices)
    # Business minutes when the policy has a calendar; at most a year.
    minutes = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(366 * 24 * 60)])

    class Meta:
        ordering = ["policy", "priority", "metric"]
        constraints = [models.UniqueConstraint(fields=["policy", "priority", "metric"], name="sla_target_unique")]

    def __str__(self) -> str:
        return f"{self.policy_id}: {self.priority} {self.metric} {self.minutes} min"


class TicketSla(models.Model):
    """One ticket's SLA: the policy that applies now (None = no SLA) and the policy-independent facts."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The status category last seen, so the engine notices transitions whatever service made them.
    status_category = models.CharField(max_length=16, choices=StatusCategory.choices)
    # Every stretch in pending or on hold: [[category, start ISO, end ISO | null], ...]. Kept for all tickets,
    # so a policy whose pause flags change can be applied retroactively.
    status_pauses = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "ticket SLA"

    def __str__(self) -> str:
        return f"SLA of ticket {self.ticket_id}"


class SlaClock(models.Model):
    """One measured target on one ticket. A ticket has one first-response and one resolution clock and a
    next-response clock per customer message that waits for an answer."""

    ticket_sla = models.ForeignKey(TicketSla, on_delete=models.CASCADE, related_name="clocks")
    metric = models.CharField(max_length=16, choices=SlaMetric.choices)
    started_at = models.DateTimeField()
    # Derived from the policy, calendar and pauses; None when there is no target or the clock is paused.
    due_at = models.DateTimeField(null=True, blank=True)
    achieved_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)  # set once; stays when the target is met late
    # The pauses that apply to this clock under its policy: [[start ISO, end ISO | null], ...] (derived).
    paused_intervals = models.JSONField(default=list, blank=True)
    # Resolution only: stretches between a solve and the reopen that resumed the clock (facts).
    resumed_gaps = models.JSONField(default=list, blank=True)
    warning_sent_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket_sla", "metric"], condition=models.Q(achieved_at__isnull=True),
                                    name="sla_one_running_clock_per_metric"),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=models.Q(achieved_at__isnull=True, breached_at__isnull=True),
                         name="sla_clock_running_due_idx"),
            models.Index(fields=["breached_at"], condition=models.Q(achieved_at__isnull=True, escalated_at__isnull=True,
                                                                    breached_at__isnull=False),
                         name="sla_clock_to_escalate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} of {self.ticket_sla_id}"


class SlaEventKind(models.TextChoices):
    WARNING = "warning", "Warning"
    BREACH = "breach", "Breach"
    ESCALATION = "escalation", "Escalation"


class SlaEvent(models.Model):
    """A warning, breach or escalation; the unique constraint makes each happen once per clock."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="events")
    metric = models.CharField(max_length=16, choices=SlaMetric.choices)
    kind = models.CharField(max_length=12, choices=SlaEventKind.choices)
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["clock", "kind"], name="sla_event_once_per_clock")]
        indexes = [models.Index(fields=["ticket", "at"], name="sla_event_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.metric} on ticket {self.ticket_id}"
