"""Test data helpers shared by the unit and browser tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from cx.surveys.models import Invitation, InvitationStatus, Response, Survey, SurveyKind

_counter = {"n": 0}


def answer(*, kind: str, score: int, at: datetime, customer, ticket=None) -> Response:
    """A completed survey answer with its headline score (as cx.surveys stores it)."""
    survey = Survey.objects.filter(kind=kind).first() or Survey.objects.create(name=f"{kind} survey", kind=kind)
    _counter["n"] += 1
    invitation = Invitation.objects.create(survey=survey, customer=customer, ticket=ticket, nonce=f"n{_counter['n']}",
                                           source="manual", send_at=at, sent_at=at, answered_at=at,
                                           status=InvitationStatus.ANSWERED)
    field = {SurveyKind.NPS: "nps_score", SurveyKind.CSAT: "csat_score", SurveyKind.CES: "ces_score"}[kind]
    return Response.objects.create(invitation=invitation, survey=survey, customer=customer, ticket=ticket,
                                   started_at=at, completed_at=at + timedelta(minutes=1), **{field: score})
