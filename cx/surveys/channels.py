"""Survey delivery on the channels other apps own: inline CSAT in the chat widget at chat end (a chat end
observer, see cx.chat.hooks)."""

from __future__ import annotations

from typing import Any

from cx.chat.hooks import ChatEnded
from cx.customers.models import Customer
from cx.surveys import services
from cx.surveys.models import InvitationStatus, QuestionKind, Survey, SurveyKind, SurveyStatus, Trigger
from cx.tickets.models import Ticket


def chat_survey() -> Survey | None:
    """The survey asked inline at chat end: the active "when a ticket is solved" survey, CSAT first."""
    candidates = list(Survey.objects.filter(status=SurveyStatus.ACTIVE, trigger=Trigger.TICKET_SOLVED)
                      .order_by("pk"))
    candidates.sort(key=lambda s: (s.kind != SurveyKind.CSAT, s.pk))
    for survey in candidates:
        headline = survey.questions.first()
        if headline is not None and headline.is_scored:
            return survey
    return None


def on_chat_ended(ended: ChatEnded) -> dict[str, Any] | None:
    """Invite the chat's customer (channel ``chat``; sampling, cooldown and the monthly cap apply) and give
    the widget what it needs to show the headline score buttons and the comment box. The invitation's
    ``source_key`` is the ticket's, so the same ticket is never surveyed again by email when it is solved."""
    survey = chat_survey()
    if survey is None:
        return None
    customer = Customer.objects.filter(pk=ended.customer_id).first()
    ticket = Ticket.objects.filter(pk=ended.ticket_id).first()
    if customer is None or ticket is None or customer.merged_into_id or customer.erased_at:
        return None
    invitation = services.survey_invitation_create(survey=survey, customer=customer, channel="chat", ticket=ticket,
                                                   source="ticket_solved", source_key=f"ticket:{ticket.pk}")
    if invitation.channel != "chat" or invitation.status != InvitationStatus.SENT:
        return None
    questions = list(survey.questions.all())
    headline = questions[0]
    comments = [q for q in questions[1:] if q.kind == QuestionKind.TEXT
                and (q.show_if_question_id is None or q.show_if_question_id == headline.pk)]
    token = services.invitation_token(invitation)
    return {"type": "survey", "survey": {
        "token": token, "path": f"/api/v1/public/surveys/{token}",
        "title": survey.name, "brand_color": survey.brand_color, "thank_you": survey.thank_you_text,
        "question": services.question_as_dict(headline),
        # Open-text questions that follow the headline: the widget shows the first one the chosen score makes
        # visible (e.g. "what could we do better?" for 1-3, else "anything else?").
        "comments": [services.question_as_dict(q) for q in comments],
    }}
