"""API endpoints for business calendars, SLA policies (writes need admin access) and a ticket's SLA."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from cx.accounts.models import AccessLevel
from cx.sla import selectors, services
from cx.sla.schemas import (
    CalendarIn,
    CalendarOut,
    CalendarPatchIn,
    PolicyIn,
    PolicyOut,
    PolicyPatchIn,
    TicketSlaOut,
)
from cx.sla.selectors import ClockState, TicketSlaState

router = Router(tags=["sla"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _calendar(request: HttpRequest, calendar_id: int):
    return selectors.business_calendar_get_for(actor=request.auth, calendar_id=calendar_id,
                                               token_scope=_scope(request))


def _policy(request: HttpRequest, policy_id: int):
    return selectors.sla_policy_get_for(actor=request.auth, policy_id=policy_id, token_scope=_scope(request))


# --- Business calendars ------------------------------------------------------------------------------------
@router.get("/business-calendars", response=list[CalendarOut], summary="Business-hours calendars, by name")
def calendar_list(request: HttpRequest):
    return selectors.business_calendar_list(actor=request.auth, token_scope=_scope(request))


@router.post("/business-calendars", response={201: CalendarOut},
             summary="Create a calendar (admin); bad hours or an unknown time zone are a 422 and save nothing")
def calendar_create(request: HttpRequest, payload: CalendarIn):
    calendar = services.business_calendar_create(actor=request.auth, values=payload.model_dump(),
                                                 token_scope=_scope(request))
    return _calendar(request, calendar.pk)


@router.get("/business-calendars/{int:calendar_id}", response=CalendarOut, summary="One calendar")
def calendar_get(request: HttpRequest, calendar_id: int):
    return _calendar(request, calendar_id)


@router.patch("/business-calendars/{int:calendar_id}", response=CalendarOut,
              summary="Change a calendar (admin); open tickets measured by it are recomputed")
def calendar_update(request: HttpRequest, calendar_id: int, payload: CalendarPatchIn):
    calendar = _calendar(request, calendar_id)
    services.business_calendar_update(actor=request.auth, calendar=calendar,
                                      values=payload.model_dump(exclude_unset=True), token_scope=_scope(request))
    return _calendar(request, calendar_id)


@router.delete("/business-calendars/{int:calendar_id}", response={204: None},
               summary="Delete a calendar (admin); 409 while a policy uses it")
def calendar_delete(request: HttpRequest, calendar_id: int):
    services.business_calendar_delete(actor=request.auth, calendar=_calendar(request, calendar_id),
                                      token_scope=_scope(request))


# --- SLA policies ------------------------------------------------------------------------------------------
@router.get("/sla-policies", response=list[PolicyOut], summary="SLA policies in matching order")
def policy_list(request: HttpRequest):
    return selectors.sla_policy_list(actor=request.auth, token_scope=_scope(request))


@router.post("/sla-policies", response={201: PolicyOut},
             summary="Create a policy (admin); open tickets are re-matched")
def policy_create(request: HttpRequest, payload: PolicyIn):
    values = payload.model_dump()
    if values["position"] is None:
        del values["position"]
    policy = services.sla_policy_create(actor=request.auth, values=values, token_scope=_scope(request))
    return _policy(request, policy.pk)


@router.get("/sla-policies/{int:policy_id}", response=PolicyOut, summary="One policy with its targets")
def policy_get(request: HttpRequest, policy_id: int):
    return _policy(request, policy_id)


@router.patch("/sla-policies/{int:policy_id}", response=PolicyOut,
              summary="Change a policy (admin); `targets` replaces all targets; open tickets are re-matched")
def policy_update(request: HttpRequest, policy_id: int, payload: PolicyPatchIn):
    policy = _policy(request, policy_id)
    services.sla_policy_update(actor=request.auth, policy=policy, values=payload.model_dump(exclude_unset=True),
                               token_scope=_scope(request))
    return _policy(request, policy_id)


@router.delete("/sla-policies/{int:policy_id}", response={204: None},
               summary="Delete a policy (admin); its tickets fall to the next matching policy")
def policy_delete(request: HttpRequest, policy_id: int):
    services.sla_policy_delete(actor=request.auth, policy=_policy(request, policy_id), token_scope=_scope(request))


# --- A ticket's SLA ----------------------------------------------------------------------------------------
def _clock_out(state: ClockState) -> dict:
    clock = state.clock
    return {
        "id": clock.pk, "metric": clock.metric, "state": state.state, "started_at": clock.started_at,
        "due_at": clock.due_at, "achieved_at": clock.achieved_at, "breached_at": clock.breached_at,
        "paused_intervals": clock.paused_intervals,
        "business_seconds_left": None if state.business_time_left is None
        else int(state.business_time_left.total_seconds()),
        "warning_sent_at": clock.warning_sent_at, "escalated_at": clock.escalated_at,
    }


def _sla_out(state: TicketSlaState) -> dict:
    return {
        "ticket_id": state.ticket_id,
        "policy": {"id": state.policy.pk, "name": state.policy.name} if state.policy else None,
        "state": state.state, "next_due_at": state.next_due_at, "breached_at": state.breached_at,
        "headline": _clock_out(state.headline) if state.headline else None,
        "clocks": [_clock_out(c) for c in state.clocks],
        "events": state.events,
    }


@router.get("/tickets/{int:ticket_id}/sla", response=TicketSlaOut,
            summary="A ticket's SLA: the policy, each target's due time, pauses, breaches and escalations")
def ticket_sla(request: HttpRequest, ticket_id: int):
    return _sla_out(selectors.ticket_sla_state(actor=request.auth, ticket_id=ticket_id, token_scope=_scope(request)))
