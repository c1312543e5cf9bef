"""API shapes for routing rules and agents' routing profiles.

In-schemas refuse unknown fields; value checks (known channels, teams, language codes...) are done by the
services, so the API and the admin give the same reasons.
"""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class RoutingRuleIn(_In):
    name: str
    position: int = 0
    is_active: bool = True
    channels: list[str] = Field(default_factory=list, description="Any of these channels; empty = any.")
    tags: list[str] = Field(default_factory=list, description="The ticket has at least one of these tags.")
    languages: list[str] = Field(default_factory=list, description="The ticket's language, e.g. es or pt-br.")
    priorities: list[str] = Field(default_factory=list)
    organization_ids: list[int] = Field(default_factory=list, description="The requester's organisation.")
    team_id: int = Field(description="The team the ticket is routed to.")
    method: str = Field("round_robin", description="round_robin, load_balanced or manual (team queue only).")
    required_skills: list[str] = Field(default_factory=list, description="The agent has all of these skills.")
    require_agent_language: bool = Field(False, description="The agent speaks the ticket's language.")


class RoutingRulePatchIn(_In):
    """Only the fields sent are changed."""

    name: str = None
    position: int = None
    is_active: bool = None
    channels: list[str] = None
    tags: list[str] = None
    languages: list[str] = None
    priorities: list[str] = None
    organization_ids: list[int] = None
    team_id: int = None
    method: str = None
    required_skills: list[str] = None
    require_agent_language: bool = None


class TeamBriefOut(Schema):
    id: int
    name: str


class RoutingRuleOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    channels: list[str]
    tags: list[str]
    languages: list[str]
    priorities: list[str]
    organization_ids: list[int]
    team: TeamBriefOut
    method: str
    required_skills: list[str]
    require_agent_language: bool
    created_at: datetime
    updated_at: datetime


class RoutingProfilePatchIn(_In):
    """Only the fields sent are changed."""

    capacity: int = Field(None, description="Unresolved tickets above which routing gives the agent no more.")
    languages: list[str] = None
    skills: list[str] = None


class RoutingProfileOut(Schema):
    user_id: int
    username: str = Field(alias="user.username")
    status: str = Field(alias="user.status", description="online, away or offline (only online agents are routed)")
    capacity: int
    languages: list[str]
    skills: list[str]
    open_tickets: int = Field(description="Unresolved tickets assigned to the agent now.")
    last_routed_at: datetime | None
