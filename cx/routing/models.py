"""Ticket routing: rules that send tickets to a team and pick an agent, agents' capacity and skills, and the
round-robin position of each team."""

from __future__ import annotations

from django.conf import settings
from django.db import models

DEFAULT_CAPACITY = 10
MAX_CAPACITY = 500


class RoutingMethod(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    LOAD_BALANCED = "load_balanced", "Load balanced (fewest open tickets)"
    MANUAL = "manual", "Manual (the ticket waits in the team's queue)"


class AgentRoutingProfile(models.Model):
    """How much work routing may give an agent and what they can handle. Agents without a row get the
    defaults (capacity 10, no skills, no languages)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="routing_profile")
    # Unresolved tickets assigned to the agent above which routing gives them no more (manual assignment may).
    capacity = models.PositiveIntegerField(default=DEFAULT_CAPACITY)
    languages = models.JSONField(default=list, blank=True)  # lower-case codes: ["en", "es"]
    skills = models.JSONField(default=list, blank=True)  # spelled like tags: ["billing", "refunds"]
    # When routing last gave the agent a ticket: breaks load-balanced ties in favour of the longest idle.
    last_routed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Routing profile of {self.user_id}"


class RoutingRule(models.Model):
    """Conditions on a new or re-routed ticket (an empty list matches anything) and what to do with it.

    Rules are tried by position; the first match sends the ticket to its team and, unless the method is
    manual, picks an online member with room, the required skills and (if asked) the ticket's language.
    """

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    channels = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)  # matches when the ticket has at least one of them
    languages = models.JSONField(default=list, blank=True)
    priorities = models.JSONField(default=list, blank=True)
    organization_ids = models.JSONField(default=list, blank=True)  # the requester's organisation
    # A team cannot be deleted while rules route to it: an admin removes or repoints them first.
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="routing_rules")
    method = models.CharField(max_length=16, choices=RoutingMethod.choices, default=RoutingMethod.ROUND_ROBIN)
    required_skills = models.JSONField(default=list, blank=True)
    require_agent_language = models.BooleanField(
        default=False, help_text="Only agents who speak the ticket's language (when it has one).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class RoundRobinCursor(models.Model):
    """Who got the team's last round-robin ticket. Its row is locked while the team's next agent is picked,
    so concurrent routing in one team is serialised."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Round robin of team {self.team_id}"
