"""API endpoints for the signed-in agent, the agent and team directory, and personal API tokens."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from cx.accounts import selectors, services
from cx.accounts.models import AccessLevel
from cx.accounts.schemas import AgentOut, MeOut, TeamOut, TokenCreatedOut, TokenIn, TokenOut
from cx.core.errors import PermissionDenied

router = Router(tags=["accounts"])

_SCOPE_BY_LABEL = {label: AccessLevel(value) for value, label in AccessLevel.choices}


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _check_token_management(request: HttpRequest, *, requested_scope: str | None = None) -> None:
    """A token may manage tokens only if it may write, and never mint a token stronger than itself.

    Without this, a leaked read-only token of an admin could create an admin token. In the browser
    (session, no token) the role's own limits apply, so an analyst can still make a read token for itself.
    """
    token_scope = _scope(request)
    if token_scope is None:
        return
    services.require_access(request.auth, AccessLevel.WRITE, token_scope=token_scope)
    if requested_scope is not None and _SCOPE_BY_LABEL[requested_scope] > token_scope:
        raise PermissionDenied(
            f"A {token_scope.label} token cannot create a {requested_scope} token.",
            fields={"scope": f"at most {token_scope.label}"},
        )


@router.get("/me", response=MeOut, summary="The agent this request acts as, and what it may do")
def me(request: HttpRequest):
    return MeOut.for_request(request.auth, _scope(request))


@router.get("/agents", response=list[AgentOut], summary="Active agents, by username")
def agent_list(request: HttpRequest):
    return selectors.agent_list(actor=request.auth, token_scope=_scope(request))


@router.get("/agents/{int:agent_id}", response=AgentOut, summary="One agent with their teams")
def agent_get(request: HttpRequest, agent_id: int):
    return selectors.agent_get_for(actor=request.auth, agent_id=agent_id, token_scope=_scope(request))


@router.get("/teams", response=list[TeamOut], summary="Teams with their members, by name")
def team_list(request: HttpRequest):
    return selectors.team_list(actor=request.auth, token_scope=_scope(request))


@router.get("/teams/{int:team_id}", response=TeamOut, summary="One team with its members (is_lead marks leads)")
def team_get(request: HttpRequest, team_id: int):
    return selectors.team_get_for(actor=request.auth, team_id=team_id, token_scope=_scope(request))


@router.get("/tokens", response=list[TokenOut], summary="Your own API tokens, newest first (never the secrets)")
def token_list(request: HttpRequest):
    return selectors.api_token_list(actor=request.auth)


@router.post("/tokens", response={201: TokenCreatedOut},
             summary="Create a token; the secret is in this response only")
def token_create(request: HttpRequest, payload: TokenIn):
    _check_token_management(request, requested_scope=payload.scope)
    issued = services.api_token_create(actor=request.auth, name=payload.name, scope=payload.scope)
    return TokenCreatedOut(**TokenOut.from_orm(issued.token).model_dump(), token=issued.plaintext)


@router.delete("/tokens/{int:token_id}", response=TokenOut, summary="Revoke a token (it stops working at once)")
def token_revoke(request: HttpRequest, token_id: int):
    _check_token_management(request)
    return services.api_token_revoke(actor=request.auth, token_id=token_id)
