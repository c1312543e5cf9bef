"""API endpoints for triggers and time rules (admins), macros (agents: personal; admins: shared) and applying
a macro to a ticket."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.tickets.selectors import ticket_get_for

from . import selectors, services
from .schemas import (
    MacroApplyOut,
    MacroIn,
    MacroOut,
    MacroPatchIn,
    ReferenceOut,
    TimeRuleIn,
    TimeRuleOut,
    TimeRulePatchIn,
    TriggerIn,
    TriggerOut,
    TriggerPatchIn,
)

router = Router(tags=["automations"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


@router.get("/automation/reference", response=ReferenceOut,
            summary="Condition fields and operators, action types and reply placeholders")
def reference(request: HttpRequest):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return selectors.rule_reference()


# --- Triggers ---------------------------------------------------------------------------------------------
@router.get("/triggers", response=list[TriggerOut], summary="All triggers in evaluation order (admins)")
def trigger_list(request: HttpRequest):
    return selectors.trigger_list(actor=request.auth, token_scope=_scope(request))


@router.post("/triggers", response={201: TriggerOut},
             summary="Create a trigger; invalid conditions or actions are a 422 naming the path")
def trigger_create(request: HttpRequest, payload: TriggerIn):
    return services.trigger_create(actor=request.auth, values=payload.model_dump(), token_scope=_scope(request))


@router.get("/triggers/{int:trigger_id}", response=TriggerOut, summary="One trigger")
def trigger_get(request: HttpRequest, trigger_id: int):
    return selectors.trigger_get_for(actor=request.auth, trigger_id=trigger_id, token_scope=_scope(request))


@router.patch("/triggers/{int:trigger_id}", response=TriggerOut, summary="Change some fields of a trigger")
def trigger_update(request: HttpRequest, trigger_id: int, payload: TriggerPatchIn):
    trigger = selectors.trigger_get_for(actor=request.auth, trigger_id=trigger_id, token_scope=_scope(request))
    return services.trigger_update(actor=request.auth, trigger=trigger, values=payload.model_dump(exclude_unset=True),
                                   token_scope=_scope(request))


@router.delete("/triggers/{int:trigger_id}", response={204: None}, summary="Delete a trigger")
def trigger_delete(request: HttpRequest, trigger_id: int):
    trigger = selectors.trigger_get_for(actor=request.auth, trigger_id=trigger_id, token_scope=_scope(request))
    services.trigger_delete(actor=request.auth, trigger=trigger, token_scope=_scope(request))


# --- Time rules -------------------------------------------------------------------------------------------
@router.get("/time-rules", response=list[TimeRuleOut], summary="All time rules (admins)")
def time_rule_list(request: HttpRequest):
    return selectors.time_rule_list(actor=request.auth, token_scope=_scope(request))


@router.post("/time-rules", response={201: TimeRuleOut},
             summary="Create a time rule (checked every 5 minutes; needs an hours_* condition)")
def time_rule_create(request: HttpRequest, payload: TimeRuleIn):
    return services.time_rule_create(actor=request.auth, values=payload.model_dump(), token_scope=_scope(request))


@router.get("/time-rules/{int:time_rule_id}", response=TimeRuleOut, summary="One time rule")
def time_rule_get(request: HttpRequest, time_rule_id: int):
    return selectors.time_rule_get_for(actor=request.auth, time_rule_id=time_rule_id, token_scope=_scope(request))


@router.patch("/time-rules/{int:time_rule_id}", response=TimeRuleOut, summary="Change some fields of a time rule")
def time_rule_update(request: HttpRequest, time_rule_id: int, payload: TimeRulePatchIn):
    rule = selectors.time_rule_get_for(actor=request.auth, time_rule_id=time_rule_id, token_scope=_scope(request))
    return services.time_rule_update(actor=request.auth, rule=rule, values=payload.model_dump(exclude_unset=True),
                                     token_scope=_scope(request))


@router.delete("/time-rules/{int:time_rule_id}", response={204: None}, summary="Delete a time rule")
def time_rule_delete(request: HttpRequest, time_rule_id: int):
    rule = selectors.time_rule_get_for(actor=request.auth, time_rule_id=time_rule_id, token_scope=_scope(request))
    services.time_rule_delete(actor=request.auth, rule=rule, token_scope=_scope(request))


# --- Macros -----------------------------------------------------------------------------------------------
@router.get("/macros", response=list[MacroOut],
            summary="Macros you can apply: shared ones (for everyone or your teams) and your personal ones")
def macro_list(request: HttpRequest, include_inactive: bool = False):
    return selectors.macro_list_for(actor=request.auth, include_inactive=include_inactive,
                                    token_scope=_scope(request))


@router.post("/macros", response={201: MacroOut},
             summary="Create a personal macro, or a shared one (admins, `shared: true`, optionally for a team)")
def macro_create(request: HttpRequest, payload: MacroIn):
    values = payload.model_dump(exclude={"shared"})
    return services.macro_create(actor=request.auth, values=values, shared=payload.shared,
                                 token_scope=_scope(request))


@router.get("/macros/{int:macro_id}", response=MacroOut, summary="One macro")
def macro_get(request: HttpRequest, macro_id: int):
    return selectors.macro_get_for(actor=request.auth, macro_id=macro_id, token_scope=_scope(request))


@router.patch("/macros/{int:macro_id}", response=MacroOut,
              summary="Change a macro (your personal ones; shared ones need admin)")
def macro_update(request: HttpRequest, macro_id: int, payload: MacroPatchIn):
    macro = selectors.macro_get_for(actor=request.auth, macro_id=macro_id, token_scope=_scope(request))
    return services.macro_update(actor=request.auth, macro=macro, values=payload.model_dump(exclude_unset=True),
                                 token_scope=_scope(request))


@router.delete("/macros/{int:macro_id}", response={204: None}, summary="Delete a macro")
def macro_delete(request: HttpRequest, macro_id: int):
    macro = selectors.macro_get_for(actor=request.auth, macro_id=macro_id, token_scope=_scope(request))
    services.macro_delete(actor=request.auth, macro=macro, token_scope=_scope(request))


@router.post("/tickets/{int:ticket_id}/macros/{int:macro_id}/apply", response=MacroApplyOut,
             summary="Apply a macro to a ticket: all of its actions happen, or none")
def macro_apply(request: HttpRequest, ticket_id: int, macro_id: int):
    ticket = ticket_get_for(actor=request.auth, ticket_id=ticket_id, token_scope=_scope(request))
    macro = selectors.macro_get_for(actor=request.auth, macro_id=macro_id, token_scope=_scope(request))
    result = services.macro_apply(actor=request.auth, ticket=ticket, macro=macro, token_scope=_scope(request))
    return {"ticket_id": ticket.pk, "macro_id": macro.pk, "changes": result.changes,
            "message_ids": result.message_ids, "notified_ids": result.notified_ids}
