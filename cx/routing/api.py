"""API endpoints for routing rules (admins) and agents' routing profiles (the agent themself or an admin).

Assigning a ticket by hand is ``PATCH /tickets/{id}`` with ``assignee_id``; routing only adds automatic
assignment on top of it.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from cx.accounts.models import AccessLevel
from cx.routing import selectors, services
from cx.routing.schemas import (
    RoutingProfileOut,
    RoutingProfilePatchIn,
    RoutingRuleIn,
    RoutingRuleOut,
    RoutingRulePatchIn,
)

router = Router(tags=["routing"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


@router.get("/routing/rules", response=list[RoutingRuleOut], summary="Routing rules in the order they are tried")
def rule_list(request: HttpRequest):
    return selectors.routing_rule_list(actor=request.auth, token_scope=_scope(request))


@router.post("/routing/rules", response={201: RoutingRuleOut},
             summary="Create a routing rule (conditions → team and method); waiting tickets are re-offered")
def rule_create(request: HttpRequest, payload: RoutingRuleIn):
    rule = services.routing_rule_create(actor=request.auth, values=payload.model_dump(),
                                        token_scope=_scope(request))
    return selectors.routing_rule_get_for(actor=request.auth, rule_id=rule.pk, token_scope=_scope(request))


@router.get("/routing/rules/{int:rule_id}", response=RoutingRuleOut, summary="One routing rule")
def rule_get(request: HttpRequest, rule_id: int):
    return selectors.routing_rule_get_for(actor=request.auth, rule_id=rule_id, token_scope=_scope(request))


@router.patch("/routing/rules/{int:rule_id}", response=RoutingRuleOut, summary="Change some fields of a rule")
def rule_update(request: HttpRequest, rule_id: int, payload: RoutingRulePatchIn):
    rule = selectors.routing_rule_get_for(actor=request.auth, rule_id=rule_id, token_scope=_scope(request))
    services.routing_rule_update(actor=request.auth, rule=rule, values=payload.model_dump(exclude_unset=True),
                                 token_scope=_scope(request))
    return selectors.routing_rule_get_for(actor=request.auth, rule_id=rule_id, token_scope=_scope(request))


@router.delete("/routing/rules/{int:rule_id}", response={204: None}, summary="Delete a routing rule")
def rule_delete(request: HttpRequest, rule_id: int):
    rule = selectors.routing_rule_get_for(actor=request.auth, rule_id=rule_id, token_scope=_scope(request))
    services.routing_rule_delete(actor=request.auth, rule=rule, token_scope=_scope(request))


@router.get("/routing/profiles/{int:user_id}", response=RoutingProfileOut,
            summary="An agent's capacity, skills, languages and current load (the agent or an admin)")
def profile_get(request: HttpRequest, user_id: int):
    return selectors.routing_profile_get_for(actor=request.auth, user_id=user_id, token_scope=_scope(request))


@router.patch("/routing/profiles/{int:user_id}", response=RoutingProfileOut,
              summary="Change an agent's capacity, skills or languages (the agent or an admin)")
def profile_update(request: HttpRequest, user_id: int, payload: RoutingProfilePatchIn):
    services.routing_profile_update(actor=request.auth, user_id=user_id,
                                    values=payload.model_dump(exclude_unset=True), token_scope=_scope(request))
    return selectors.routing_profile_get_for(actor=request.auth, user_id=user_id, token_scope=_scope(request))
