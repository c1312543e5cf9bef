"""Survey delivery on the channels other apps own: inline CSAT in the chat widget at chat end (a chat end
observer, see cx.chat.hooks), and "reply with a number" on SMS and WhatsApp (the question goes out as an
automated public reply on the ticket, which cx.messaging's outbound path sends; the answer comes back through
cx.messaging.hooks' inbound reply handler)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from cx.accounts.services import system_user_get
from cx.chat.hooks import ChatEnded
from cx.customers.models import Customer
from cx.messaging.hooks import InboundReply
from cx.surveys import services
from cx.surveys.models import InvitationStatus, QuestionKind, Survey, SurveyKind, SurveyStatus, Trigger
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_reply

MESSAGING_CHANNELS = ("sms", "whatsapp")
ANSWER_WINDOW = timedelta(days=7)  # a number sent later than this is an ordinary message


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


def _surveys_user():
    return system_user_get(username="system-surveys", label="Surveys")


def _scale_hint(question) -> str:
    low, high = question.scale[0], question.scale[-1]
    low_label = f" = {question.low_label}" if question.low_label else ""
    high_label = f" = {question.high_label}" if question.high_label else ""
    return f"Reply with a number from {low}{low_label} to {high}{high_label}."


def messaging_survey_send(*, survey: Survey, ticket: Ticket) -> None:
    """Ask the headline question on the ticket's SMS/WhatsApp conversation (sampling, cooldown and the
    monthly cap apply; sent when the ticket is solved, while WhatsApp's 24-hour window is still open)."""
    questions = list(survey.questions.all())
    key = f"ticket:{ticket.pk}"
    if not questions or not questions[0].is_scored or \
            services.Invitation.objects.filter(survey=survey, source_key=key).exists():
        return  # asked once per ticket: solving it again does not ask again
    invitation = services.survey_invitation_create(survey=survey, customer=ticket.requester, channel=ticket.channel,
                                                   ticket=ticket, source="ticket_solved", source_key=key)
    if invitation.status != InvitationStatus.SENT or invitation.channel != ticket.channel:
        return
    headline = questions[0]
    ticket_reply(actor=_surveys_user(), ticket=ticket, automated=True,
                 body=f"{headline.text} {_scale_hint(headline)}")


def on_inbound_reply(reply: InboundReply) -> bool:
    """A reply that is just a number answers the open SMS/WhatsApp survey of that ticket: in range it is
    recorded (once) with a thank-you; out of range it gets a clear reply and nothing is recorded. Anything
    else is an ordinary message."""
    text = reply.body.strip()
    if reply.channel not in MESSAGING_CHANNELS or not text.lstrip("-").isdigit() or len(text) > 4:
        return False
    invitation = (services.Invitation.objects
                  .filter(ticket_id=reply.ticket_id, customer_id=reply.customer_id, channel=reply.channel,
                          status__in=(InvitationStatus.SENT, InvitationStatus.OPENED), answered_at__isnull=True,
                          sent_at__gt=timezone.now() - ANSWER_WINDOW)
                  .select_related("survey", "ticket").order_by("-sent_at").first())
    if invitation is None:
        return False
    headline = invitation.survey.questions.first()
    if headline is None or not headline.is_scored:
        return False
    score = int(text)
    if score not in headline.scale:
        ticket_reply(actor=_surveys_user(), ticket=invitation.ticket, automated=True,
                     body=f"Sorry, {text} is not on the scale. {_scale_hint(headline)}")
        return True
    services.response_submit(invitation=invitation, answers=[{"question_id": headline.pk, "score": score}],
                             complete=True)
    thanks = invitation.survey.thank_you_text or "Thank you for your feedback!"
    ticket_reply(actor=_surveys_user(), ticket=invitation.ticket, automated=True, body=thanks)
    return True


def portal_survey_panel(customer: Customer) -> dict[str, Any] | None:
    """The customer portal's "Your surveys" panel: open invitations (sent or opened, not answered, token
    still valid, survey active), each a link to its public page."""
    from django.urls import reverse

    open_invitations = (services.Invitation.objects
                        .filter(customer=customer, status__in=(InvitationStatus.SENT, InvitationStatus.OPENED),
                                answered_at__isnull=True, survey__status=SurveyStatus.ACTIVE,
                                sent_at__gt=timezone.now() - services.TOKEN_MAX_AGE)
                        .select_related("survey").order_by("-sent_at")[:20])
    links = []
    for invitation in open_invitations:
        about = f"about request #{invitation.ticket_id}" if invitation.ticket_id else ""
        links.append({
            "label": invitation.survey.name,
            "url": reverse("surveys:public", args=[services.invitation_token(invitation)]),
            "detail": " · ".join(part for part in (about, f"sent {invitation.sent_at:%Y-%m-%d}") if part)})
    return {"heading": "Surveys waiting for your answer", "links": links} if links else None
