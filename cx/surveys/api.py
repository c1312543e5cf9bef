"""Survey API: building surveys, sending, reports, responses, the closed loop and the delivery policy
(agents' tokens), and the public endpoints answered by token (no login) that channel adapters use."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Router

from cx.accounts.models import AccessLevel
from cx.core.errors import ValidationFailed
from cx.surveys import selectors, services
from cx.surveys.models import DeliveryPolicy

router = Router(tags=["surveys"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object sent; the services check every field and answer with field-level reasons."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("The body is not valid JSON.", fields={"body": "a JSON object"}) from None
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", fields={"body": "a JSON object"})
    if "\x00" in request.body.decode("utf-8", "replace"):
        raise ValidationFailed("The body contains NUL characters.", fields={"body": "must not contain NUL"})
    return data


@router.get("/surveys", summary="All surveys")
def survey_list(request: HttpRequest):
    selectors.survey_list(actor=request.auth)
    return [services.survey_as_dict(s) for s in selectors.survey_list(actor=request.auth).prefetch_related("questions")]


@router.post("/surveys", response={201: dict},
             summary="Create a draft survey (CSAT/CES/NPS get their standard question)")
def survey_create(request: HttpRequest):
    survey = services.survey_create(actor=request.auth, values=_body(request), token_scope=_scope(request))
    return services.survey_as_dict(survey)


@router.get("/surveys/{int:survey_id}", summary="One survey with its questions")
def survey_get(request: HttpRequest, survey_id: int):
    return services.survey_as_dict(selectors.survey_get_for(actor=request.auth, survey_id=survey_id,
                                                            token_scope=_scope(request)))


@router.patch("/surveys/{int:survey_id}", summary="Change a survey (status: draft, active, archived)")
def survey_update(request: HttpRequest, survey_id: int):
    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    survey = services.survey_update(actor=request.auth, survey=survey, values=_body(request),
                                    token_scope=_scope(request))
    return services.survey_as_dict(survey)


@router.post("/surveys/{int:survey_id}/questions", response={201: dict}, summary="Add a question")
def question_add(request: HttpRequest, survey_id: int):
    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    question = services.question_add(actor=request.auth, survey=survey, values=_body(request),
                                     token_scope=_scope(request))
    return services.question_as_dict(question)


@router.patch("/surveys/{int:survey_id}/questions/{int:question_id}", summary="Change a question "
              "(a new wording is a new wording_version)")
def question_update(request: HttpRequest, survey_id: int, question_id: int):
    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    question = selectors.question_get_for(actor=request.auth, survey=survey, question_id=question_id)
    question = services.question_update(actor=request.auth, question=question, values=_body(request),
                                        token_scope=_scope(request))
    return services.question_as_dict(question)


@router.delete("/surveys/{int:survey_id}/questions/{int:question_id}", response={204: None},
               summary="Delete an unanswered question")
def question_delete(request: HttpRequest, survey_id: int, question_id: int):
    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    question = selectors.question_get_for(actor=request.auth, survey=survey, question_id=question_id)
    services.question_delete(actor=request.auth, question=question, token_scope=_scope(request))
    return None


@router.post("/surveys/{int:survey_id}/sends", response={202: dict},
             summary="Send to a segment: {customer_ids: [...]}; cooldown, cap and quiet hours apply")
def survey_send(request: HttpRequest, survey_id: int):
    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    ids = _body(request).get("customer_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationFailed("Name the customers.", fields={"customer_ids": "a non-empty list of customer ids"})
    return services.survey_send_to_segment(actor=request.auth, survey=survey, customer_ids=ids,
                                                token_scope=_scope(request))


def _row(row: selectors.ScoreRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"key": row.key, "n": row.n, "score": row.value, "ci95": [row.ci_low, row.ci_high],
            "detail": row.detail, "small_sample": row.small_sample}


@router.get("/surveys/{int:survey_id}/report", summary="Score with 95% CI, trend, breakdowns, funnel, loop")
def survey_report(request: HttpRequest, survey_id: int, granularity: str = "week"):
    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    if granularity not in ("day", "week", "month"):
        raise ValidationFailed("Unknown granularity.", fields={"granularity": "day, week or month"})
    report = selectors.survey_report(actor=request.auth, survey=survey,
                                     filters=selectors.ResponseFilter.from_params(request.GET),
                                     granularity=granularity, token_scope=_scope(request))
    return {"survey_id": survey.pk, "metric": report.metric, "overall": _row(report.overall),
            "skipped": report.skipped, "trend": [_row(r) for r in report.trend],
            "breakdowns": {name: {"label": label, "rows": [_row(r) for r in rows]}
                           for name, (label, rows) in report.breakdowns.items()},
            "distribution": [{"score": s, "count": c} for s, c in report.distribution],
            "funnel": report.funnel, "loop": report.loop}


@router.get("/survey-responses", summary="Responses, newest first, with the dashboard's filters")
def response_list(request: HttpRequest, offset: int = 0):
    filters = selectors.ResponseFilter.from_params(request.GET)
    qs = selectors.responses_filtered(actor=request.auth, filters=filters, token_scope=_scope(request))
    if offset < 0:
        raise ValidationFailed("Bad offset.", fields={"offset": "0 or more"})
    rows = list(qs[offset:offset + selectors.PAGE_SIZE + 1])
    more = len(rows) > selectors.PAGE_SIZE
    return {"results": [selectors.response_row(r) for r in rows[:selectors.PAGE_SIZE]],
            "next_offset": offset + selectors.PAGE_SIZE if more else None}


@router.get("/survey-follow-ups", summary="Closed-loop follow-ups, open first")
def follow_up_list(request: HttpRequest, state: str = ""):
    rows = selectors.follow_ups(actor=request.auth, state=state, token_scope=_scope(request))[:200]
    return {"counts": selectors.loop_counts(),
            "results": [{"id": f.pk, "state": f.state, "reason": f.reason, "response_id": f.response_id,
                         "ticket_id": f.ticket_id, "owner": f.owner.username if f.owner else None,
                         "team": f.team.name if f.team else None, "created_at": f.created_at,
                         "contacted_at": f.contacted_at, "resolved_at": f.resolved_at,
                         "resurvey_invitation_id": f.resurvey_id} for f in rows]}


@router.post("/survey-follow-ups/{int:follow_up_id}/state", summary="Move the loop: contacted or resolved")
def follow_up_state(request: HttpRequest, follow_up_id: int):
    data = _body(request)
    follow_up = selectors.follow_up_get_for(actor=request.auth, follow_up_id=follow_up_id, token_scope=_scope(request))
    follow_up = services.follow_up_set_state(actor=request.auth, follow_up=follow_up, state=data.get("state"),
                                             note=data.get("note") or "", token_scope=_scope(request))
    return {"id": follow_up.pk, "state": follow_up.state}


def _policy(policy: DeliveryPolicy) -> dict[str, Any]:
    return {f.name: (getattr(policy, f.name).isoformat() if hasattr(getattr(policy, f.name), "isoformat")
                     else getattr(policy, f.name)) for f in DeliveryPolicy._meta.fields if f.name != "id"}


@router.get("/survey-policy", summary="Cooldown, monthly cap, quiet hours and closed-loop rules")
def policy_get(request: HttpRequest):
    selectors.survey_list(actor=request.auth)
    return _policy(services.policy_get())


@router.patch("/survey-policy", summary="Change the delivery policy (admins)")
def policy_update(request: HttpRequest):
    data = dict(_body(request))
    for name in ("quiet_start", "quiet_end"):
        if name in data:
            from datetime import time

            try:
                data[name] = time.fromisoformat(str(data[name]))
            except ValueError:
                raise ValidationFailed("Bad time.", fields={name: "a time like 21:00"}) from None
    return _policy(services.policy_update(actor=request.auth, values=data, token_scope=_scope(request)))


@router.post("/sentiment", summary="Sentiment of any text (a ticket message, a review): label and score -1..+1")
def sentiment(request: HttpRequest):
    from cx.accounts.services import require_access
    from cx.surveys.text.sentiment import analyse

    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    text = _body(request).get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > services.MAX_COMMENT_CHARS * 5:
        raise ValidationFailed("Give the text to analyse.", fields={"text": f"1 to {services.MAX_COMMENT_CHARS * 5} "
                                                                            "characters"})
    result = analyse(text)
    return {"label": result.label, "score": round(result.score, 4),
            "probability_positive": round(result.probability_positive, 4)}


# --- public, by token ------------------------------------------------------------------------------------

@router.get("/public/surveys/{token}", auth=None, summary="The survey of an invitation token (no login); "
            "records the open")
def public_get(request: HttpRequest, token: str):
    invitation = services.invitation_from_token(token)
    services.invitation_open(invitation=invitation)
    return services.invitation_public_payload(invitation)


@router.post("/public/surveys/{token}/answers", auth=None, response={201: dict},
             summary="Answer: {answers: [{question_id, score|choices|text|skipped}], complete: bool}")
def public_answer(request: HttpRequest, token: str):
    data = _body(request)
    invitation = services.invitation_from_token(token)
    complete = data.get("complete", False)
    if not isinstance(complete, bool):
        raise ValidationFailed("complete must be true or false.", fields={"complete": "a boolean"})
    services.response_submit(invitation=invitation, answers=data.get("answers", []), complete=complete)
    invitation.refresh_from_db()
    return services.invitation_public_payload(invitation)


@router.post("/public/surveys/{token}/dismiss", auth=None, response={201: dict},
             summary="The respondent closed the survey (the in-app card's close button): a skip")
def public_dismiss(request: HttpRequest, token: str):
    from cx.surveys import in_app

    invitation = services.invitation_from_token(token)
    in_app.in_app_survey_dismiss(invitation=invitation)
    invitation.refresh_from_db()
    return services.invitation_public_payload(invitation)


# --- in-app surveys: placements (admins) and the widget's public endpoints -------------------------------

@router.get("/surveys/{int:survey_id}/in-app", summary="The survey's in-app placement (website, via the widget)")
def in_app_get(request: HttpRequest, survey_id: int):
    from cx.surveys import in_app

    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    return in_app.placement_as_dict(in_app.placement_get_for(actor=request.auth, survey=survey,
                                                             token_scope=_scope(request)))


@router.put("/surveys/{int:survey_id}/in-app", summary="Create or change the in-app placement: inbox_id, "
            "page_rules, event_rules, delay_seconds, scroll_percent, position, recurrence, recurrence_days, "
            "sampling_percent, is_enabled (invalid targeting: 400 with field and reason)")
def in_app_put(request: HttpRequest, survey_id: int):
    from cx.surveys import in_app

    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    placement = in_app.in_app_placement_save(actor=request.auth, survey=survey, values=_body(request),
                                             token_scope=_scope(request))
    return in_app.placement_as_dict(placement)


@router.delete("/surveys/{int:survey_id}/in-app", response={204: None}, summary="Stop showing the survey in-app")
def in_app_delete(request: HttpRequest, survey_id: int):
    from cx.surveys import in_app

    survey = selectors.survey_get_for(actor=request.auth, survey_id=survey_id, token_scope=_scope(request))
    in_app.in_app_placement_delete(actor=request.auth, survey=survey, token_scope=_scope(request))
    return None


def _widget_visitor(request: HttpRequest, widget_key: str, data: dict[str, Any]):
    """The inbox a widget key names (404 when unknown) and the visitor its signed token names (403)."""
    from cx.chat import selectors as chat_selectors
    from cx.core.errors import PermissionDenied

    inbox = chat_selectors.chat_inbox_by_widget_key(widget_key=widget_key)
    if not chat_selectors.origin_allowed(inbox, request.headers.get("Origin")):
        raise PermissionDenied("This website may not use the chat inbox.", code="origin_not_allowed",
                               fields={"origin": "not in the inbox's allowed origins"})
    visitor = chat_selectors.visitor_by_token(inbox=inbox, token=data.get("visitor_token"))
    if visitor is None:
        raise PermissionDenied("The visitor token is missing or invalid.", code="invalid_visitor_token",
                               fields={"visitor_token": "not issued by this inbox"})
    return inbox, visitor


@router.post("/public/in-app/{widget_key}/surveys", auth=None,
             summary="The in-app surveys a widget visitor may see now, with their targeting rules "
                     "({visitor_token, time_zone})")
def in_app_eligible(request: HttpRequest, widget_key: str):
    from cx.surveys import in_app

    data = _body(request)
    inbox, visitor = _widget_visitor(request, widget_key, data)
    return {"surveys": in_app.in_app_surveys_for(inbox=inbox, visitor=visitor, time_zone=data.get("time_zone"))}


@router.post("/public/in-app/{widget_key}/surveys/{int:placement_id}/show", auth=None,
             summary="Show an in-app survey: {visitor_token, url, event: {name, properties}, time_zone}; "
                     "creates the in_app invitation and returns its token and questions")
def in_app_show(request: HttpRequest, widget_key: str, placement_id: int):
    from cx.surveys import in_app

    data = _body(request)
    inbox, visitor = _widget_visitor(request, widget_key, data)
    return in_app.in_app_survey_show(inbox=inbox, visitor=visitor, placement_id=placement_id, url=data.get("url"),
                                     event=data.get("event"), time_zone=data.get("time_zone"))
