"""Background work for surveys: sending one invitation email, analysing one response. Both take ids and
are safe to run twice."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task

logger = logging.getLogger("cx.surveys")


def public_url(path: str) -> str:
    return f"{settings.CXDESK_BASE_URL}{path}"


@task()
def send_survey_invitation(*, invitation_id: int) -> str:
    from cx.surveys.locales import strings
    from cx.surveys.services import invitation_claim_for_sending, invitation_send_failed, invitation_token

    decision = invitation_claim_for_sending(invitation_id=invitation_id)
    if decision.action != "send":
        return decision.action
    invitation = decision.invitation
    survey = invitation.survey
    token = invitation_token(invitation)
    words = strings(survey.locale)
    headline = survey.questions.first()
    context = {
        "survey": survey, "invitation": invitation, "words": words, "question": headline,
        "page_url": public_url(reverse("surveys:public", args=[token])),
        "score_links": [(score, public_url(reverse("surveys:public_score", args=[token, score])))
                        for score in (headline.scale if headline is not None and headline.is_scored else [])],
        "customer_name": invitation.customer.name,
        "ticket": invitation.ticket,
    }
    subject = survey.email_subject or words["subject"]
    if invitation.ticket_id:
        subject = f"{subject} [#{invitation.ticket_id}]"
    text = render_to_string("surveys/email/invitation.txt", context)
    html = render_to_string("surveys/email/invitation.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception as exc:
        invitation_send_failed(invitation_id=invitation.pk, error=f"mail server refused: {type(exc).__name__}")
        raise
    logger.info("survey invitation %s mailed", invitation.pk)
    return "sent"


@task()
def analyse_response(*, response_id: int) -> bool:
    from cx.surveys.services import response_analyse

    return response_analyse(response_id=response_id) is not None


@task()
def invite_segment_batch(*, survey_id: int, customer_ids: list[int], batch: str) -> dict:
    from cx.surveys.services import segment_batch_invite

    return segment_batch_invite(survey_id=survey_id, customer_ids=customer_ids, batch=batch)
