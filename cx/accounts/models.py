"""Agents, teams and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    TEAM_LEAD = "team_lead", "Team lead"
    AGENT = "agent", "Agent"
    ANALYST = "analyst", "Analyst (read-only)"


class AgentStatus(models.TextChoices):
    ONLINE = "online", "Online"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"


class AccessLevel(models.IntegerChoices):
    """What a request may do. A role grants a ceiling; an API token's scope can only lower it."""

    READ = 1, "read"
    WRITE = 2, "write"
    ADMIN = 3, "admin"


ROLE_ACCESS = {
    Role.ADMIN: AccessLevel.ADMIN,
    Role.TEAM_LEAD: AccessLevel.WRITE,
    Role.AGENT: AccessLevel.WRITE,
    Role.ANALYST: AccessLevel.READ,
}


class User(AbstractUser):
    """An agent, team lead, admin or analyst of the helpdesk (customers are not users)."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    status = models.CharField(max_length=16, choices=AgentStatus.choices, default=AgentStatus.OFFLINE)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Accounts the system acts as (automation, routing, SLA escalations): never listed, assigned or logged in.
    is_system = models.BooleanField(default=False)

    @property
    def access_level(self) -> AccessLevel:
        if self.is_superuser:
            return AccessLevel.ADMIN
        return ROLE_ACCESS[Role(self.role)]

    @property
    def is_cx_admin(self) -> bool:
        return self.is_active and self.access_level >= AccessLevel.ADMIN

    @property
    def can_write(self) -> bool:
        return self.is_active and self.access_level >= AccessLevel.WRITE

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # Tickets of a restricted team are visible only to its members and admins (e.g. HR, security).
    is_restricted = models.BooleanField(default=False)
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="team_memberships")
    is_lead = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.IntegerField(choices=AccessLevel.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
