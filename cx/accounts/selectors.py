"""Reads for agents, teams and tokens, with their relations loaded up front."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from cx.accounts.models import AccessLevel, ApiToken, Team, TeamMembership, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound


def agent_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[User]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return User.objects.filter(is_active=True, is_system=False).prefetch_related("teams").order_by("username")


def agent_get_for(*, actor: User, agent_id: int, token_scope: AccessLevel | None = None) -> User:
    user = agent_list(actor=actor, token_scope=token_scope).filter(pk=agent_id).first()
    if user is None:
        raise NotFound("No such agent.")
    return user


def team_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[Team]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return Team.objects.prefetch_related(
        Prefetch("memberships", queryset=TeamMembership.objects.select_related("user"))
    ).order_by("name")


def team_get_for(*, actor: User, team_id: int, token_scope: AccessLevel | None = None) -> Team:
    team = team_list(actor=actor, token_scope=token_scope).filter(pk=team_id).first()
    if team is None:
        raise NotFound("No such team.")
    return team


def api_token_list(*, actor: User) -> QuerySet[ApiToken]:
    """The actor's own tokens (admins see everyone's in the Django admin)."""
    require_access(actor, AccessLevel.READ)
    return ApiToken.objects.filter(user=actor).order_by("-created_at")


def agent_by_username(*, username: str) -> User | None:
    return User.objects.filter(username=username).first()


def user_count() -> int:
    return User.objects.count()


def team_ids_of(*, user: User) -> set[int]:
    """The teams a user belongs to (for restricted-team visibility and routing)."""
    return set(TeamMembership.objects.filter(user=user).values_list("team_id", flat=True))


def is_team_member(*, user_id: int, team_id: int) -> bool:
    return TeamMembership.objects.filter(user_id=user_id, team_id=team_id).exists()


def active_agent_get(*, user_id: int) -> User | None:
    """An active user who can work tickets (not analysts), or None."""
    user = User.objects.filter(pk=user_id, is_active=True, is_system=False).first()
    if user is None or not user.can_write:
        return None
    return user
