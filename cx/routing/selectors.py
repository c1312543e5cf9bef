"""Reads for routing: rules and profiles for the API, and the facts the engine decides on."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from cx.accounts.models import AccessLevel, AgentStatus, TeamMembership, User
from cx.accounts.selectors import active_agent_get
from cx.accounts.services import require_access
from cx.core.errors import NotFound, PermissionDenied
from cx.routing.matching import Candidate, RuleSpec, TicketFacts
from cx.routing.models import AgentRoutingProfile, RoutingMethod, RoutingRule
from cx.tickets.models import UNRESOLVED_CATEGORIES, Ticket

# The account routing acts as (see engine.routing_actor). It never logs in and is never routed a ticket.
SYSTEM_USERNAME = "cxdesk-routing"


def routing_rule_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[RoutingRule]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return RoutingRule.objects.select_related("team").order_by("position", "id")


def routing_rule_get_for(*, actor: User, rule_id: int, token_scope: AccessLevel | None = None) -> RoutingRule:
    rule = routing_rule_list(actor=actor, token_scope=token_scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"No routing rule with id {rule_id}.")
    return rule


def routing_agent_get(*, user_id: int) -> User | None:
    """A person routing can give tickets to (active, may write, not the routing account itself), or None."""
    user = active_agent_get(user_id=user_id)
    if user is None or user.username == SYSTEM_USERNAME:
        return None
    return user


def routing_profile_get_for(*, actor: User, user_id: int, token_scope: AccessLevel | None = None
                            ) -> AgentRoutingProfile:
    """An agent's routing profile (defaults when never saved). Readable by the agent and by admins."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if actor.pk != user_id:
        require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    user = routing_agent_get(user_id=user_id)
    if user is None:
        raise NotFound(f"No agent with id {user_id} takes tickets.")
    profile = AgentRoutingProfile.objects.filter(user=user).first() or AgentRoutingProfile(user=user)
    profile.user = user
    profile.open_tickets = open_ticket_counts(user_ids=[user.pk]).get(user.pk, 0)
    return profile


def profile_edit_check(*, actor: User, user_id: int, token_scope: AccessLevel | None = None) -> None:
    """Agents change their own profile (write access); only admins change someone else's."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if actor.pk != user_id:
        try:
            require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
        except PermissionDenied:
            raise PermissionDenied("Only an admin can change another agent's routing profile.") from None


# --- Facts for the engine -----------------------------------------------------------------------------

def rule_spec(rule: RoutingRule) -> RuleSpec:
    return RuleSpec(
        rule_id=rule.pk, team_id=rule.team_id, method=rule.method, channels=frozenset(rule.channels),
        tags=frozenset(rule.tags), languages=tuple(rule.languages), priorities=frozenset(rule.priorities),
        organization_ids=frozenset(rule.organization_ids), required_skills=frozenset(rule.required_skills),
        require_agent_language=rule.require_agent_language,
    )


def active_rule_specs() -> list[RuleSpec]:
    return [rule_spec(r) for r in RoutingRule.objects.filter(is_active=True).order_by("position", "id")]


def auto_routed_team_ids() -> set[int]:
    """Teams with at least one active rule that picks agents (manual-only teams are never re-offered)."""
    return set(RoutingRule.objects.filter(is_active=True).exclude(method=RoutingMethod.MANUAL)
               .values_list("team_id", flat=True))


def ticket_facts(ticket: Ticket) -> TicketFacts:
    return TicketFacts(
        channel=ticket.channel, priority=ticket.priority, language=ticket.language,
        tags=frozenset(ticket.tags.values_list("name", flat=True)), organization_id=ticket.organization_id,
        team_id=ticket.team_id,
    )


def open_ticket_counts(*, user_ids: list[int]) -> dict[int, int]:
    """Unresolved tickets (new, open, pending, on hold) assigned to each agent: the load capacity limits."""
    rows = (Ticket.objects.filter(assignee_id__in=user_ids, status_category__in=UNRESOLVED_CATEGORIES)
            .values("assignee_id").annotate(n=Count("id")))
    return {row["assignee_id"]: row["n"] for row in rows}


def team_routing_candidates(*, team_id: int) -> list[Candidate]:
    """Online members of a team who may take tickets, with their load and routing profile (three queries)."""
    members = [
        u for u in User.objects.filter(team_memberships__team_id=team_id, is_active=True,
                                       status=AgentStatus.ONLINE)
        .exclude(username=SYSTEM_USERNAME)
        if u.can_write
    ]
    ids = [u.pk for u in members]
    profiles = {p.user_id: p for p in AgentRoutingProfile.objects.filter(user_id__in=ids)}
    counts = open_ticket_counts(user_ids=ids)
    candidates = []
    for user in members:
        profile = profiles.get(user.pk) or AgentRoutingProfile(user_id=user.pk)
        candidates.append(Candidate(
            user_id=user.pk, open_tickets=counts.get(user.pk, 0), capacity=profile.capacity,
            skills=frozenset(profile.skills), languages=tuple(profile.languages),
            last_routed_at=profile.last_routed_at,
        ))
    return candidates


def team_ids_of_agents(*, user_ids: set[int]) -> set[int]:
    return set(TeamMembership.objects.filter(user_id__in=user_ids).values_list("team_id", flat=True))


def unassigned_routable_ticket_ids(*, team_ids: set[int], after: tuple | None = None, limit: int = 200
                                   ) -> list[tuple]:
    """Unassigned unresolved tickets waiting in those teams, oldest first: (created_at, id) keyset pages."""
    qs = Ticket.objects.filter(assignee__isnull=True, status_category__in=UNRESOLVED_CATEGORIES,
                               merged_into__isnull=True, team_id__in=team_ids)
    if after is not None:
        created_at, last_id = after
        qs = qs.filter(created_at__gt=created_at) | qs.filter(created_at=created_at, id__gt=last_id)
    return list(qs.order_by("created_at", "id").values_list("created_at", "id")[:limit])
