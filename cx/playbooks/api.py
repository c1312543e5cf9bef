"""API endpoints for playbooks (admins write; everyone with read access reads), their run audit and measured
outcome, running a playbook for one customer, the global contact cap and customer tags."""

from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest
from ninja import Router

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.customers.selectors import customer_get_for

from . import selectors, services
from .schemas import (
    OutcomeOut,
    PlaybookIn,
    PlaybookOut,
    PlaybookPatchIn,
    RunNowIn,
    RunOut,
    SettingsIn,
    SettingsOut,
    TagIn,
)

router = Router(tags=["playbooks"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


@router.get("/playbooks/reference", summary="Triggers, condition fields and operators, action types, placeholders")
def reference(request: HttpRequest):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return selectors.reference()


@router.get("/playbooks", response=list[PlaybookOut], summary="All playbooks")
def playbook_list(request: HttpRequest):
    return selectors.playbook_list(actor=request.auth, token_scope=_scope(request))


@router.post("/playbooks", response={201: PlaybookOut},
             summary="Create a playbook; invalid conditions or actions are a 422 naming the path and reason")
def playbook_create(request: HttpRequest, payload: PlaybookIn):
    return services.playbook_create(actor=request.auth, values=payload.model_dump(), token_scope=_scope(request))


@router.get("/playbooks/settings", response=SettingsOut, summary="The global contact cap across playbooks")
def settings_get(request: HttpRequest):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return services.playbook_settings_get()


@router.patch("/playbooks/settings", response=SettingsOut, summary="Change the global contact cap (admins)")
def settings_update(request: HttpRequest, payload: SettingsIn):
    return services.playbook_settings_update(actor=request.auth, values=payload.model_dump(exclude_unset=True),
                                             token_scope=_scope(request))


@router.get("/playbooks/{int:playbook_id}", response=PlaybookOut, summary="One playbook")
def playbook_get(request: HttpRequest, playbook_id: int):
    return selectors.playbook_get_for(actor=request.auth, playbook_id=playbook_id, token_scope=_scope(request))


@router.patch("/playbooks/{int:playbook_id}", response=PlaybookOut, summary="Change some fields of a playbook")
def playbook_update(request: HttpRequest, playbook_id: int, payload: PlaybookPatchIn):
    playbook = selectors.playbook_get_for(actor=request.auth, playbook_id=playbook_id, token_scope=_scope(request))
    return services.playbook_update(actor=request.auth, playbook=playbook,
                                    values=payload.model_dump(exclude_unset=True), token_scope=_scope(request))


@router.delete("/playbooks/{int:playbook_id}", response={204: None}, summary="Delete a playbook and its runs")
def playbook_delete(request: HttpRequest, playbook_id: int):
    playbook = selectors.playbook_get_for(actor=request.auth, playbook_id=playbook_id, token_scope=_scope(request))
    services.playbook_delete(actor=request.auth, playbook=playbook, token_scope=_scope(request))


@router.get("/playbooks/{int:playbook_id}/runs", response=list[RunOut],
            summary="The run audit, newest first (status filter; before_id pages on)")
def run_list(request: HttpRequest, playbook_id: int, status: str = "", before_id: int | None = None,
             limit: int = 100):
    playbook = selectors.playbook_get_for(actor=request.auth, playbook_id=playbook_id, token_scope=_scope(request))
    return selectors.run_list(actor=request.auth, playbook=playbook, status=status, before_id=before_id, limit=limit,
                              token_scope=_scope(request))


@router.get("/playbooks/{int:playbook_id}/outcome", response=OutcomeOut,
            summary="Goal rate of contacted vs holdout customers with the difference's 95% interval")
def outcome(request: HttpRequest, playbook_id: int):
    playbook = selectors.playbook_get_for(actor=request.auth, playbook_id=playbook_id, token_scope=_scope(request))
    result = selectors.playbook_outcome(playbook=playbook)
    lift = result.uplift
    return {"goal": result.goal, "window_days": result.window_days, "contacted": asdict(lift.contacted),
            "holdout": asdict(lift.holdout), "difference": lift.difference, "ci_low": lift.ci_low,
            "ci_high": lift.ci_high, "significant": lift.significant, "pending_contacted": result.pending_contacted,
            "pending_holdout": result.pending_holdout, "counts": selectors.run_counts(playbook=playbook)}


@router.post("/playbooks/{int:playbook_id}/run", response={201: RunOut},
             summary="Run a playbook for one customer now (conditions, throttling and holdout still apply)")
def run_now(request: HttpRequest, playbook_id: int, payload: RunNowIn):
    playbook = selectors.playbook_get_for(actor=request.auth, playbook_id=playbook_id, token_scope=_scope(request))
    customer = customer_get_for(actor=request.auth, customer_id=payload.customer_id, token_scope=_scope(request))
    return services.playbook_run_now(actor=request.auth, playbook=playbook, customer=customer,
                                          token_scope=_scope(request))


@router.get("/customers/{int:customer_id}/tags", response=list[str], summary="The customer's tags")
def tag_list(request: HttpRequest, customer_id: int):
    customer = customer_get_for(actor=request.auth, customer_id=customer_id, token_scope=_scope(request))
    return selectors.customer_tags(customer=customer)


@router.post("/customers/{int:customer_id}/tags", response={201: list[str]}, summary="Tag a customer")
def tag_add(request: HttpRequest, customer_id: int, payload: TagIn):
    customer = customer_get_for(actor=request.auth, customer_id=customer_id, token_scope=_scope(request))
    services.customer_tag_add(actor=request.auth, customer=customer, tag=payload.tag, token_scope=_scope(request))
    return selectors.customer_tags(customer=customer)


@router.delete("/customers/{int:customer_id}/tags/{tag}", response=list[str], summary="Remove a customer's tag")
def tag_remove(request: HttpRequest, customer_id: int, tag: str):
    customer = customer_get_for(actor=request.auth, customer_id=customer_id, token_scope=_scope(request))
    services.customer_tag_remove(actor=request.auth, customer=customer, tag=tag, token_scope=_scope(request))
    return selectors.customer_tags(customer=customer)
