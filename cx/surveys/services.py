"""Writes for surveys: building surveys, inviting customers under the delivery policy, recording answers
exactly once, and the closed loop. Every send, open, answer and skip is a touchpoint on the journey.

Channel adapters (chat widget, SMS/WhatsApp, in-app, portal) are thin: they call
``survey_invitation_create(..., channel="chat")``, show the questions of ``invitation_public_payload`` and post
the answers to the public JSON endpoint (``/api/v1/public/surveys/{token}``) or call ``response_submit``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access, system_user_get
from cx.core.audit import audit_record
from cx.core.errors import Conflict, NotFound, ValidationFailed
from cx.customers.models import Customer, IdentityKind
from cx.journeys.services import touchpoint_record
from cx.surveys.delivery import after_quiet_hours, in_quiet_hours, zone_or_default
from cx.surveys.models import (
    CHOICE_KINDS,
    Answer,
    DeliveryPolicy,
    FollowUp,
    Invitation,
    InvitationStatus,
    Locale,
    LoopState,
    Question,
    QuestionKind,
    Response,
    Survey,
    SurveyKind,
    SurveyStatus,
    Trigger,
)
from cx.tickets.models import Priority, Ticket, TicketType, Visibility

TOKEN_SALT = "cx.surveys.invitation"  # noqa: S105 - a signing salt, not a secret
TOKEN_MAX_AGE = timedelta(days=60)
MAX_COMMENT_CHARS = 2000
MAX_QUESTIONS = 30
MAX_OPTIONS = 20
CHANNELS = ("email", "chat", "sms", "whatsapp", "in_app", "portal", "web")
SOURCES = ("ticket_solved", "journey_event", "recurring", "manual", "followup", "api", "in_app")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

# The fixed scales of the standard metrics, and the wording they are asked with (versioned: a change of
# wording is a new version, so answers to different wordings can be told apart in reports).
STANDARD_SCALES = {QuestionKind.NPS: (0, 10), QuestionKind.CSAT: (1, 5), QuestionKind.CES: (1, 7)}
STANDARD_WORDING = {
    QuestionKind.NPS: ("How likely are you to recommend {brand} to a friend or colleague?",
                       "Not at all likely", "Extremely likely"),
    QuestionKind.CSAT: ("How satisfied are you with the support you received?", "Very unsatisfied",
                        "Very satisfied"),
    QuestionKind.CES: ("{brand} made it easy for me to handle my issue.", "Strongly disagree", "Strongly agree"),
}
FOLLOW_UP_TEXT = "What could we do better?"


def _stage(survey: Survey) -> str:
    return "loyalty" if survey.kind == SurveyKind.NPS else "support"


def policy_get() -> DeliveryPolicy:
    policy, _ = DeliveryPolicy.objects.get_or_create(pk=1)
    return policy


# --- building ---------------------------------------------------------------------------------------------

SURVEY_FIELDS = ("name", "kind", "locale", "brand_name", "brand_color", "intro_text", "thank_you_text",
                 "email_subject", "trigger", "delay_minutes", "event_kind", "event_delay_days",
                 "event_first_only", "recurring_days", "sampling_percent")


def _check_survey(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "name" in values and not (isinstance(values["name"], str) and 1 <= len(values["name"].strip()) <= 120):
        errors["name"] = "1 to 120 characters"
    if "kind" in values and values["kind"] not in SurveyKind.values:
        errors["kind"] = f"one of {', '.join(SurveyKind.values)}"
    if "locale" in values and values["locale"] not in Locale.values:
        errors["locale"] = f"one of {', '.join(Locale.values)}"
    if "trigger" in values and values["trigger"] not in Trigger.values:
        errors["trigger"] = f"one of {', '.join(Trigger.values)}"
    if "brand_color" in values and not (isinstance(values["brand_color"], str) and _HEX.match(values["brand_color"])):
        errors["brand_color"] = "a colour like #1d4ed8"
    for name, high in (("delay_minutes", 60 * 24 * 30), ("event_delay_days", 730), ("recurring_days", 3650),
                       ("sampling_percent", 100)):
        if name in values:
            value = values[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
                errors[name] = f"a whole number 0 to {high}"
    if values.get("recurring_days") == 0 and values.get("trigger") == Trigger.RECURRING:
        errors["recurring_days"] = "at least 1 day"
    for name, size in (("brand_name", 80), ("intro_text", 500), ("thank_you_text", 500), ("email_subject", 150),
                       ("event_kind", 100)):
        if name in values and (not isinstance(values[name], str) or len(values[name]) > size):
            errors[name] = f"at most {size} characters"
    if values.get("trigger") == Trigger.JOURNEY_EVENT and not values.get("event_kind"):
        errors["event_kind"] = "the touchpoint kind that starts the survey, e.g. order.completed"
    return errors


UNBRANDED_WORDING = {
    QuestionKind.NPS: "How likely are you to recommend us to a friend or colleague?",
    QuestionKind.CSAT: STANDARD_WORDING[QuestionKind.CSAT][0],
    QuestionKind.CES: "It was easy to get my issue handled.",
}


def _standard_question(survey: Survey, kind: str, position: int) -> Question:
    text, low, high = STANDARD_WORDING[kind]
    low_value, high_value = STANDARD_SCALES[kind]
    text = text.format(brand=survey.brand_name) if survey.brand_name else UNBRANDED_WORDING[kind]
    return Question(survey=survey, position=position, kind=kind, text=text, scale_min=low_value,
                    scale_max=high_value, low_label=low, high_label=high, required=True)


@transaction.atomic
def survey_create(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> Survey:
    """A new draft survey. CSAT, CES and NPS surveys start with their standard question and a
    "what could we do better?" follow-up shown to low scores."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    unknown = set(values) - set(SURVEY_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    values = {"trigger": Trigger.MANUAL, **values}
    errors = _check_survey(values)
    for required in ("name", "kind"):
        if required not in values:
            errors.setdefault(required, "required")
    if errors:
        raise ValidationFailed("The survey is invalid.", fields=errors)
    survey = Survey.objects.create(created_by=actor, **{k: (v.strip() if isinstance(v, str) else v)
                                                         for k, v in values.items()})
    if survey.kind != SurveyKind.CUSTOM:
        headline = _standard_question(survey, survey.kind, 0)
        headline.save()
        low_max = {SurveyKind.NPS: 6, SurveyKind.CSAT: 3, SurveyKind.CES: 4}[survey.kind]
        Question.objects.create(survey=survey, position=1, kind=QuestionKind.TEXT, text=FOLLOW_UP_TEXT,
                                show_if_question=headline, show_if_min=headline.scale_min, show_if_max=low_max)
        Question.objects.create(survey=survey, position=2, kind=QuestionKind.TEXT,
                                text="Anything else you would like to tell us?")
    audit_record(actor=actor, action="survey.created", target_type="survey", target_id=survey.pk,
                 data={"name": survey.name, "kind": survey.kind})
    return survey


@transaction.atomic
def survey_update(*, actor: User, survey: Survey, values: dict[str, Any],
                  token_scope: AccessLevel | None = None) -> Survey:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    unknown = set(values) - set(SURVEY_FIELDS) - {"status"}
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    merged = {name: getattr(survey, name) for name in SURVEY_FIELDS} | values
    errors = _check_survey(merged)
    if "kind" in values and values["kind"] != survey.kind and survey.responses.exists():
        errors["kind"] = "cannot change once the survey has responses"
    if "status" in values and values["status"] not in SurveyStatus.values:
        errors["status"] = f"one of {', '.join(SurveyStatus.values)}"
    if values.get("status") == SurveyStatus.ACTIVE and not survey.questions.exists():
        errors["status"] = "add a question before activating the survey"
    if errors:
        raise ValidationFailed("The survey is invalid.", fields=errors)
    changed = {}
    for name, value in values.items():
        value = value.strip() if isinstance(value, str) else value
        if getattr(survey, name) != value:
            changed[name] = [getattr(survey, name), value]
            setattr(survey, name, value)
    if changed:
        survey.save()
        audit_record(actor=actor, action="survey.updated", target_type="survey", target_id=survey.pk,
                     data={"changes": changed})
    return survey


QUESTION_FIELDS = ("kind", "text", "help_text", "scale_min", "scale_max", "low_label", "high_label", "options",
                   "required", "show_if_question_id", "show_if_min", "show_if_max", "position")


def _check_question(survey: Survey, values: dict[str, Any], question: Question | None) -> dict[str, Any]:
    """Validate and normalise question fields (standard scales are fixed; rating is 1-5 or 1-10)."""
    errors: dict[str, str] = {}
    kind = values.get("kind")
    if kind not in QuestionKind.values:
        raise ValidationFailed("The question is invalid.", fields={"kind": f"one of {', '.join(QuestionKind.values)}"})
    text = values.get("text")
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= 300:
        errors["text"] = "1 to 300 characters"
    for name, size in (("help_text", 300), ("low_label", 60), ("high_label", 60)):
        if not isinstance(values.get(name, ""), str) or len(values.get(name, "")) > size:
            errors[name] = f"at most {size} characters"
    clean: dict[str, Any] = {"kind": kind, "text": (text or "").strip(), "help_text": values.get("help_text", ""),
                             "low_label": values.get("low_label", ""), "high_label": values.get("high_label", ""),
                             "required": bool(values.get("required", False)), "options": [],
                             "scale_min": None, "scale_max": None}
    if kind in STANDARD_SCALES:
        clean["scale_min"], clean["scale_max"] = STANDARD_SCALES[kind]
        _, low, high = STANDARD_WORDING[kind]
        clean["low_label"] = clean["low_label"] or low
        clean["high_label"] = clean["high_label"] or high
    elif kind == QuestionKind.RATING:
        high = values.get("scale_max") or 5
        if high not in (5, 10) or values.get("scale_min", 1) not in (1, None):
            errors["scale_max"] = "ratings go from 1 to 5 or from 1 to 10"
        clean["scale_min"], clean["scale_max"] = 1, high
    elif kind in CHOICE_KINDS:
        options = values.get("options")
        if isinstance(options, str):
            options = [line.strip() for line in options.splitlines() if line.strip()]
        if not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS \
                or not all(isinstance(o, str) and 1 <= len(o.strip()) <= 100 for o in options):
            errors["options"] = f"2 to {MAX_OPTIONS} options of 1 to 100 characters"
        elif len({o.strip().lower() for o in options}) != len(options):
            errors["options"] = "options must differ"
        else:
            clean["options"] = [o.strip() for o in options]
    parent_id = values.get("show_if_question_id")
    clean["show_if_question"] = None
    clean["show_if_min"] = clean["show_if_max"] = None
    if parent_id not in (None, ""):
        parent = survey.questions.filter(pk=parent_id).first() if str(parent_id).isdigit() else None
        if parent is None or not parent.is_scored or (question is not None and parent.pk == question.pk):
            errors["show_if_question_id"] = "a scored question of this survey"
        else:
            low, high = values.get("show_if_min"), values.get("show_if_max")
            scale = parent.scale
            if not isinstance(low, int) or not isinstance(high, int) or low not in scale or high not in scale \
                    or low > high:
                errors["show_if_min"] = f"a score range within {scale[0]}-{scale[-1]}"
            else:
                clean.update(show_if_question=parent, show_if_min=low, show_if_max=high)
    if errors:
        raise ValidationFailed("The question is invalid.", fields=errors)
    return clean


@transaction.atomic
def question_add(*, actor: User, survey: Survey, values: dict[str, Any],
                 token_scope: AccessLevel | None = None) -> Question:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    unknown = set(values) - set(QUESTION_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    if survey.questions.count() >= MAX_QUESTIONS:
        raise ValidationFailed("Too many questions.", fields={"questions": f"at most {MAX_QUESTIONS}"})
    clean = _check_question(survey, values, None)
    position = (survey.questions.aggregate(m=Max("position"))["m"] or 0) + 1
    question = Question.objects.create(survey=survey, position=position, **clean)
    audit_record(actor=actor, action="survey.question_added", target_type="survey", target_id=survey.pk,
                 data={"question_id": question.pk, "kind": question.kind})
    return question


@transaction.atomic
def question_update(*, actor: User, question: Question, values: dict[str, Any],
                    token_scope: AccessLevel | None = None) -> Question:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    unknown = set(values) - set(QUESTION_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    current = {"kind": question.kind, "text": question.text, "help_text": question.help_text,
               "scale_min": question.scale_min, "scale_max": question.scale_max, "low_label": question.low_label,
               "high_label": question.high_label, "options": question.options, "required": question.required,
               "show_if_question_id": question.show_if_question_id, "show_if_min": question.show_if_min,
               "show_if_max": question.show_if_max}
    merged = current | {k: v for k, v in values.items() if k != "position"}
    if merged["kind"] != question.kind and question.answers.exists():
        raise ValidationFailed("The question is invalid.", fields={"kind": "cannot change once answered"})
    clean = _check_question(question.survey, merged, question)
    wording_changed = any(clean[name] != getattr(question, name)
                          for name in ("text", "low_label", "high_label", "scale_min", "scale_max", "options"))
    for name, value in clean.items():
        setattr(question, name, value)
    if wording_changed:
        question.wording_version += 1  # answers keep the version they were given to
    if isinstance(values.get("position"), int):
        question.position = values["position"]
    question.save()
    audit_record(actor=actor, action="survey.question_updated", target_type="survey", target_id=question.survey_id,
                 data={"question_id": question.pk, "wording_version": question.wording_version})
    return question


@transaction.atomic
def question_delete(*, actor: User, question: Question, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    if question.answers.exists():
        raise Conflict("This question has answers; archive the survey and make a new one instead.",
                       fields={"question": "has answers"})
    survey_id = question.survey_id
    question_id = question.pk
    question.delete()
    audit_record(actor=actor, action="survey.question_deleted", target_type="survey", target_id=survey_id,
                 data={"question_id": question_id})


@transaction.atomic
def question_move(*, actor: User, question: Question, direction: str) -> None:
    require_access(actor, AccessLevel.ADMIN)
    questions = list(question.survey.questions.all())
    index = next(i for i, q in enumerate(questions) if q.pk == question.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(questions):
        return
    questions[index], questions[other] = questions[other], questions[index]
    for position, item in enumerate(questions):
        if item.position != position:
            item.position = position
            item.save(update_fields=["position"])


@transaction.atomic
def policy_update(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> DeliveryPolicy:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    policy = policy_get()
    errors: dict[str, str] = {}
    for name, high in (("cooldown_days", 365), ("monthly_cap", 100), ("loop_due_hours", 24 * 30)):
        if name in values and (not isinstance(values[name], int) or not 0 <= values[name] <= high):
            errors[name] = f"a whole number 0 to {high}"
    for name, high in (("loop_nps_max", 10), ("loop_csat_max", 5), ("loop_ces_max", 7)):
        if name in values and (not isinstance(values[name], int) or not -1 <= values[name] <= high):
            errors[name] = f"-1 (off) to {high}"
    if "loop_priority" in values and values["loop_priority"] not in Priority.values:
        errors["loop_priority"] = f"one of {', '.join(Priority.values)}"
    if "default_time_zone" in values:
        try:
            from zoneinfo import ZoneInfo
            ZoneInfo(values["default_time_zone"])
        except Exception:
            errors["default_time_zone"] = "an IANA time zone such as Europe/Berlin"
    unknown = set(values) - {f.name for f in DeliveryPolicy._meta.fields} - set()
    for name in unknown | {"id", "updated_at"} & set(values):
        errors[name] = "unknown field"
    if errors:
        raise ValidationFailed("The delivery policy is invalid.", fields=errors)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()
    audit_record(actor=actor, action="survey.policy_updated", target_type="survey_policy", target_id=1,
                 data={k: str(v) for k, v in values.items()})
    return policy


# --- invitations ------------------------------------------------------------------------------------------

def invitation_token(invitation: Invitation) -> str:
    return signing.dumps([invitation.pk, invitation.nonce], salt=TOKEN_SALT, compress=False)


def invitation_from_token(token: str) -> Invitation:
    """The invitation a public token names. Forged, tampered and expired tokens are refused."""
    try:
        invitation_id, nonce = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise NotFound("This survey link has expired.", code="link_expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound("This survey link is not valid.", code="invalid_link") from None
    invitation = Invitation.objects.select_related("survey", "customer").filter(pk=invitation_id).first()
    if invitation is None or not isinstance(nonce, str) or not constant_time_compare(nonce, invitation.nonce):
        raise NotFound("This survey link is not valid.", code="invalid_link")
    if invitation.status in (InvitationStatus.CANCELLED, InvitationStatus.SUPPRESSED, InvitationStatus.SCHEDULED):
        raise NotFound("This survey link is not valid.", code="invalid_link")
    return invitation


def _customer_email(customer: Customer) -> str:
    identity = customer.identities.filter(kind=IdentityKind.EMAIL).order_by("-is_primary", "pk").first()
    return identity.value if identity else ""


def policy_block_reason(*, customer: Customer, now: datetime, policy: DeliveryPolicy,
                        ignore_cooldown: bool = False) -> str:
    """Why the customer may not be asked now (cooldown across all surveys, monthly cap), or ""."""
    sent = Invitation.objects.filter(customer=customer, sent_at__isnull=False)
    if not ignore_cooldown and policy.cooldown_days and \
            sent.filter(sent_at__gt=now - timedelta(days=policy.cooldown_days)).exists():
        return f"asked within the last {policy.cooldown_days} days"
    zone = zone_or_default(customer.time_zone, policy.default_time_zone)
    month_start = now.astimezone(zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if sent.filter(sent_at__gte=month_start).count() >= policy.monthly_cap:
        return f"monthly cap of {policy.monthly_cap} reached"
    return ""


def live_policy_block_reason(*, customer: Customer | None, now: datetime, policy: DeliveryPolicy,
                             time_zone: str = "") -> str:
    """Why a survey may not be shown now on a live channel (in-app on a website), or "": the cooldown and
    monthly cap of ``policy_block_reason`` plus quiet hours in the customer's time zone (else the browser's
    ``time_zone``, else the policy's default). A visitor with no customer record yet has never been asked."""
    if customer is not None:
        reason = policy_block_reason(customer=customer, now=now, policy=policy)
        if reason:
            return reason
    zone = zone_or_default((customer.time_zone if customer is not None else "") or time_zone,
                           policy.default_time_zone)
    local = now.astimezone(zone).time().replace(tzinfo=None)
    if in_quiet_hours(local, policy.quiet_start, policy.quiet_end):
        return "quiet hours"
    return ""


@dataclass(frozen=True)
class _TicketContext:
    agent_id: int | None
    team_id: int | None
    ticket_channel: str
    ticket_type: str


def _ticket_context(ticket: Ticket | None) -> _TicketContext:
    if ticket is None:
        return _TicketContext(None, None, "", "")
    return _TicketContext(ticket.assignee_id, ticket.team_id, ticket.channel, ticket.ticket_type)


@transaction.atomic
def survey_invitation_create(*, survey: Survey, customer: Customer, channel: str = "email",
                             ticket: Ticket | None = None, source: str = "api", source_key: str = "",
                             send_at: datetime | None = None, touchpoint_kind: str = "",
                             apply_sampling: bool = True, ignore_cooldown: bool = False) -> Invitation:
    """Invite one customer to one survey on one channel.

    Email invitations are scheduled for ``send_at`` (default now) and sent by the task queue, which checks
    cooldown, monthly cap and quiet hours at send time. Other channels are delivered by their adapter right
    away: the invitation comes back ``sent`` (show the survey, using ``invitation_token``) or ``suppressed``
    (do not ask; ``status_reason`` says why). A repeated ``source_key`` returns the first invitation.
    """
    errors: dict[str, str] = {}
    if channel not in CHANNELS:
        errors["channel"] = f"one of {', '.join(CHANNELS)}"
    if source not in SOURCES:
        errors["source"] = f"one of {', '.join(SOURCES)}"
    if survey.status != SurveyStatus.ACTIVE:
        errors["survey"] = "the survey is not active"
    if customer.merged_into_id is not None or customer.erased_at is not None:
        errors["customer"] = "not a live customer"
    if errors:
        raise ValidationFailed("The invitation is invalid.", fields=errors)
    if source_key:
        existing = Invitation.objects.filter(survey=survey, source_key=source_key).first()
        if existing is not None:
            return existing
    now = timezone.now()
    context = _ticket_context(ticket)
    invitation = Invitation(
        survey=survey, customer=customer, ticket=ticket, channel=channel, nonce=secrets.token_urlsafe(16),
        source=source, source_key=source_key[:120], send_at=send_at or now, agent_id=context.agent_id,
        team_id=context.team_id, ticket_channel=context.ticket_channel, ticket_type=context.ticket_type,
        touchpoint_kind=touchpoint_kind[:100],
    )
    if channel == "email":
        invitation.email = _customer_email(customer)
    if apply_sampling and survey.sampling_percent < 100 and secrets.randbelow(100) >= survey.sampling_percent:
        invitation.status = InvitationStatus.SUPPRESSED
        invitation.status_reason = f"not in the {survey.sampling_percent}% sample"
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        return Invitation.objects.get(survey=survey, source_key=source_key)
    if invitation.status == InvitationStatus.SUPPRESSED:
        return invitation
    if channel != "email":
        policy = policy_get()
        reason = policy_block_reason(customer=customer, now=now, policy=policy, ignore_cooldown=ignore_cooldown)
        if reason:
            _suppress(invitation, reason)
        else:
            _mark_sent(invitation, now)
        return invitation
    if ignore_cooldown:
        invitation.status_reason = "re-survey after follow-up"
        invitation.save(update_fields=["status_reason"])
    if invitation.send_at <= now + timedelta(seconds=5):
        from cx.surveys.tasks import send_survey_invitation
        transaction.on_commit(partial(send_survey_invitation.enqueue, invitation_id=invitation.pk))
    return invitation


def _suppress(invitation: Invitation, reason: str) -> None:
    invitation.status = InvitationStatus.SUPPRESSED
    invitation.status_reason = reason[:200]
    invitation.save(update_fields=["status", "status_reason"])


def _mark_sent(invitation: Invitation, now: datetime) -> None:
    invitation.status = InvitationStatus.SENT
    invitation.sent_at = now
    invitation.save(update_fields=["status", "sent_at"])
    touchpoint_record(customer=invitation.customer, kind="survey.sent", channel=_tp_channel(invitation.channel),
                      stage=_stage(invitation.survey), occurred_at=now, source="surveys",
                      external_id=f"invitation:{invitation.pk}:sent",
                      properties={"survey_id": invitation.survey_id, "survey": invitation.survey.kind,
                                  "invitation_id": invitation.pk, "ticket_id": invitation.ticket_id})


def _tp_channel(channel: str) -> str:
    return channel.replace("_", "-")


@dataclass(frozen=True)
class SendDecision:
    action: str  # send, later, suppressed, skip
    invitation: Invitation | None = None


@transaction.atomic
def invitation_claim_for_sending(*, invitation_id: int, now: datetime | None = None) -> SendDecision:
    """Decide, under a row lock, whether a scheduled email invitation goes out now. Safe to run twice:
    only a ``scheduled`` invitation is claimed, and it becomes ``sent`` before the mail is handed over."""
    now = now or timezone.now()
    invitation = (Invitation.objects.select_for_update().select_related("survey", "customer")
                  .filter(pk=invitation_id).first())
    if invitation is None or invitation.status != InvitationStatus.SCHEDULED:
        return SendDecision("skip")
    if invitation.send_at > now:
        return SendDecision("later", invitation)
    if invitation.survey.status != SurveyStatus.ACTIVE:
        _suppress(invitation, "the survey is no longer active")
        return SendDecision("suppressed", invitation)
    if not invitation.email:
        invitation.email = _customer_email(invitation.customer)
    if not invitation.email:
        _suppress(invitation, "the customer has no email address")
        return SendDecision("suppressed", invitation)
    policy = policy_get()
    reason = policy_block_reason(customer=invitation.customer, now=now, policy=policy,
                                 ignore_cooldown=invitation.source == "followup")
    if reason:
        _suppress(invitation, reason)
        return SendDecision("suppressed", invitation)
    zone = zone_or_default(invitation.customer.time_zone, policy.default_time_zone)
    allowed = after_quiet_hours(now, zone=zone, start=policy.quiet_start, end=policy.quiet_end)
    if allowed > now:
        invitation.send_at = allowed
        invitation.status_reason = "held for quiet hours"
        invitation.save(update_fields=["send_at", "status_reason"])
        return SendDecision("later", invitation)
    _mark_sent(invitation, now)
    return SendDecision("send", invitation)


@transaction.atomic
def invitation_send_failed(*, invitation_id: int, error: str) -> None:
    Invitation.objects.filter(pk=invitation_id).update(status=InvitationStatus.FAILED, status_reason=error[:200])


def invitations_due(*, now: datetime, limit: int = 500) -> list[int]:
    return list(Invitation.objects.filter(status=InvitationStatus.SCHEDULED, send_at__lte=now, channel="email")
                .order_by("send_at").values_list("pk", flat=True)[:limit])


@transaction.atomic
def invitation_open(*, invitation: Invitation) -> Invitation:
    """The customer opened the survey (page view or adapter shown): recorded once."""
    if invitation.opened_at is not None:
        return invitation
    now = timezone.now()
    updated = Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
        opened_at=now, status=InvitationStatus.OPENED if invitation.status == InvitationStatus.SENT
        else invitation.status)
    if updated:
        invitation.opened_at = now
        touchpoint_record(customer=invitation.customer, kind="survey.opened", channel=_tp_channel(invitation.channel),
                          stage=_stage(invitation.survey), occurred_at=now, source="surveys",
                          external_id=f"invitation:{invitation.pk}:opened",
                          properties={"survey_id": invitation.survey_id, "invitation_id": invitation.pk})
    return invitation


SEGMENT_BATCH = 500


@transaction.atomic
def survey_send_to_segment(*, actor: User, survey: Survey, customer_ids: list[int],
                           token_scope: AccessLevel | None = None) -> dict[str, Any]:
    """A manual send: the segment is invited by the task queue in batches of 500 (one invitation per live
    customer; sampling, cooldown, cap and quiet hours still apply to each one)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if survey.status != SurveyStatus.ACTIVE:
        raise ValidationFailed("Activate the survey before sending it.", fields={"survey": "not active"})
    if len(customer_ids) > 50_000:
        raise ValidationFailed("The segment is too large.", fields={"segment": "at most 50,000 customers"})
    ids = sorted(set(customer_ids))
    batch = f"manual:{timezone.now():%Y%m%d%H%M%S}:{secrets.token_hex(3)}"
    from cx.surveys.tasks import invite_segment_batch

    for start in range(0, len(ids), SEGMENT_BATCH):
        chunk = ids[start:start + SEGMENT_BATCH]
        transaction.on_commit(partial(invite_segment_batch.enqueue, survey_id=survey.pk, customer_ids=chunk,
                                      batch=batch))
    audit_record(actor=actor, action="survey.sent_to_segment", target_type="survey", target_id=survey.pk,
                 data={"customers": len(ids), "batch": batch})
    return {"queued": len(ids), "batch": batch}


def segment_batch_invite(*, survey_id: int, customer_ids: list[int], batch: str) -> dict[str, int]:
    """Invite one batch of a segment; safe to run twice (the batch key makes each invitation once)."""
    counts = {"invited": 0, "not_sampled": 0}
    survey = Survey.objects.filter(pk=survey_id, status=SurveyStatus.ACTIVE).first()
    if survey is None:
        return counts
    customers = Customer.objects.filter(pk__in=customer_ids, merged_into__isnull=True, erased_at__isnull=True)
    for customer in customers.iterator():
        with transaction.atomic():
            invitation = survey_invitation_create(survey=survey, customer=customer, source="manual",
                                                  source_key=f"{batch}:{customer.pk}")
        counts["not_sampled" if invitation.status == InvitationStatus.SUPPRESSED else "invited"] += 1
    return counts


# --- answers ----------------------------------------------------------------------------------------------

def visible_questions(survey: Survey, scores: dict[int, int]) -> list[Question]:
    """The questions a respondent sees, given the scores given so far (follow-up logic by score)."""
    shown = []
    for question in survey.questions.all():
        if question.show_if_question_id is not None:
            score = scores.get(question.show_if_question_id)
            if score is None or not question.show_if_min <= score <= question.show_if_max:
                continue
        shown.append(question)
    return shown


def _clean_answer(question: Question, raw: dict[str, Any], index: int) -> dict[str, Any]:
    prefix = f"answers[{index}]"
    if raw.get("skipped"):
        if question.required and question.is_scored:
            raise ValidationFailed("This question needs an answer.", fields={f"{prefix}.skipped": "required question"})
        return {"skipped": True}
    if question.is_scored:
        score = raw.get("score")
        if isinstance(score, str) and score.strip().lstrip("-").isdigit():
            score = int(score)
        if not isinstance(score, int) or isinstance(score, bool) or score not in question.scale:
            raise ValidationFailed("The score is out of range.",
                                   fields={f"{prefix}.score": f"a whole number {question.scale_min} to "
                                                              f"{question.scale_max}"})
        return {"score": score}
    if question.kind in CHOICE_KINDS:
        choices = raw.get("choices")
        if isinstance(choices, str):
            choices = [choices]
        if not isinstance(choices, list) or not choices or not all(c in question.options for c in choices) \
                or len(set(choices)) != len(choices):
            raise ValidationFailed("Unknown choice.", fields={f"{prefix}.choices": "options of this question"})
        if question.kind == QuestionKind.SINGLE_CHOICE and len(choices) != 1:
            raise ValidationFailed("Choose one option.", fields={f"{prefix}.choices": "exactly one option"})
        return {"choices": choices}
    text = raw.get("text")
    if not isinstance(text, str):
        raise ValidationFailed("The answer must be text.", fields={f"{prefix}.text": "text"})
    text = text.replace("\x00", "").strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise ValidationFailed("The comment is too long.",
                               fields={f"{prefix}.text": f"at most {MAX_COMMENT_CHARS} characters"})
    if not text:
        return {"skipped": True}
    return {"text": text}


@transaction.atomic
def response_submit(*, invitation: Invitation, answers: list[dict[str, Any]], complete: bool = False,
                    dismissed: bool = False) -> Response:
    """Record answers for an invitation. Everything is checked before anything is written; a question is
    answered at most once (a repeat is a 409 and changes nothing); once the response is complete the
    token is spent and every further use is refused. ``complete`` marks the remaining visible questions
    as skipped. ``dismissed`` (the respondent closed the survey, e.g. the in-app card's close button) completes it the
    same way and always records the skip touchpoint, marked ``dismissed``."""
    complete = complete or dismissed
    invitation = Invitation.objects.select_for_update().select_related("survey", "customer").get(pk=invitation.pk)
    survey = invitation.survey
    if invitation.status in (InvitationStatus.SCHEDULED, InvitationStatus.SUPPRESSED, InvitationStatus.CANCELLED):
        raise NotFound("This survey link is not valid.", code="invalid_link")
    if invitation.answered_at is not None:
        raise Conflict("This survey has already been answered. Thank you!", code="already_answered")
    if not isinstance(answers, list) or len(answers) > MAX_QUESTIONS:
        raise ValidationFailed("Answers must be a list.", fields={"answers": f"a list of at most {MAX_QUESTIONS}"})
    response = Response.objects.filter(invitation=invitation).first()
    questions = {q.pk: q for q in survey.questions.all()}
    already = set(response.answers.values_list("question_id", flat=True)) if response else set()
    cleaned: list[tuple[Question, dict[str, Any]]] = []
    seen: set[int] = set()
    for index, raw in enumerate(answers):
        if not isinstance(raw, dict):
            raise ValidationFailed("Each answer is an object.", fields={f"answers[{index}]": "an object"})
        question_id = raw.get("question_id")
        question = questions.get(question_id) if isinstance(question_id, int) else None
        if question is None:
            raise ValidationFailed("Unknown question.", fields={f"answers[{index}].question_id": "a question of "
                                                                                                 "this survey"})
        if question.pk in seen:
            raise ValidationFailed("A question is answered twice.",
                                   fields={f"answers[{index}].question_id": "answered twice in one request"})
        if question.pk in already:
            raise Conflict("This question has already been answered.", code="already_answered",
                           fields={f"answers[{index}].question_id": "already answered"})
        seen.add(question.pk)
        cleaned.append((question, _clean_answer(question, raw, index)))
    now = timezone.now()
    if response is None:
        if not cleaned and not complete:
            raise ValidationFailed("Nothing to record.", fields={"answers": "at least one answer"})
        response = Response.objects.create(invitation=invitation, survey=survey, customer=invitation.customer,
                                           ticket=invitation.ticket, started_at=now)
    scores = dict(response.answers.filter(score__isnull=False).values_list("question_id", "score"))
    skipped_ids: list[int] = []
    for question, clean in cleaned:
        Answer.objects.create(response=response, question=question, wording_version=question.wording_version,
                              answered_at=now, score=clean.get("score"), choices=clean.get("choices", []),
                              text=clean.get("text", ""), skipped=clean.get("skipped", False))
        if clean.get("skipped"):
            skipped_ids.append(question.pk)
        if clean.get("score") is not None:
            scores[question.pk] = clean["score"]
            field = {QuestionKind.NPS: "nps_score", QuestionKind.CSAT: "csat_score",
                     QuestionKind.CES: "ces_score"}.get(question.kind)
            if field and getattr(response, field) is None:
                setattr(response, field, clean["score"])
    answered = already | seen
    remaining = [q for q in visible_questions(survey, scores) if q.pk not in answered]
    if complete:
        for question in remaining:
            if question.required and question.is_scored and question.pk not in scores:
                continue  # a required score left unanswered is simply missing, never a fake skip
            Answer.objects.create(response=response, question=question, wording_version=question.wording_version,
                                  answered_at=now, skipped=True)
            skipped_ids.append(question.pk)
    texts = list(response.answers.filter(skipped=False).exclude(text="").order_by("question__position")
                 .values_list("text", flat=True))
    response.comment = "\n\n".join(texts)
    if complete or not remaining:
        response.completed_at = now
        invitation.answered_at = now
    response.save()
    if invitation.status in (InvitationStatus.SENT, InvitationStatus.OPENED) or invitation.answered_at:
        invitation.status = InvitationStatus.ANSWERED
    if dismissed:
        invitation.status_reason = "dismissed by the customer"
    invitation.save(update_fields=["status", "answered_at", "status_reason"])
    channel = _tp_channel(invitation.channel)
    if any("skipped" not in clean for _, clean in cleaned):
        touchpoint_record(customer=invitation.customer, kind="survey.answered", channel=channel,
                          stage=_stage(survey), occurred_at=now, source="surveys",
                          properties={"survey_id": survey.pk, "survey": survey.kind, "response_id": response.pk,
                                      "score": response.nps_score if response.nps_score is not None
                                      else (response.csat_score if response.csat_score is not None
                                            else response.ces_score),
                                      "ticket_id": invitation.ticket_id})
    if skipped_ids or dismissed:
        touchpoint_record(customer=invitation.customer, kind="survey.skipped", channel=channel,
                          stage=_stage(survey), occurred_at=now, source="surveys",
                          properties={"survey_id": survey.pk, "response_id": response.pk,
                                      "question_ids": skipped_ids, **({"dismissed": True} if dismissed else {})})
    from cx.surveys.tasks import analyse_response
    transaction.on_commit(partial(analyse_response.enqueue, response_id=response.pk))
    return response


def response_score_label(response: Response) -> str:
    if response.nps_score is not None:
        return f"NPS {response.nps_score}/10"
    if response.csat_score is not None:
        return f"CSAT {response.csat_score}/5"
    if response.ces_score is not None:
        return f"CES {response.ces_score}/7"
    return "No score"


# --- text analytics and the closed loop -------------------------------------------------------------------

def response_analyse(*, response_id: int) -> Response | None:
    """Sentiment of the comment, then the closed-loop rules. Safe to run twice.

    The model runs outside any transaction (loading it can take seconds), so no row lock is held meanwhile;
    the result is stored only if the comment is still the one analysed."""
    from cx.surveys.text.sentiment import analyse

    comment = Response.objects.filter(pk=response_id).values_list("comment", flat=True).first()
    if comment is None:
        return None
    result = analyse(comment) if comment else None
    with transaction.atomic():
        response = Response.objects.select_for_update().filter(pk=response_id).first()
        if response is None:
            return None
        if result is not None and response.comment == comment:
            response.sentiment = result.label
            response.sentiment_score = round(result.score, 4)
            response.save(update_fields=["sentiment", "sentiment_score"])
        reason = loop_reason(response, policy_get())
        if reason and not FollowUp.objects.filter(response=response).exists():
            follow_up_create(response=response, reason=reason)
    return response


def loop_reason(response: Response, policy: DeliveryPolicy) -> str:
    reasons = []
    if response.nps_score is not None and response.nps_score <= policy.loop_nps_max:
        reasons.append(f"NPS {response.nps_score} (detractor)")
    if response.csat_score is not None and response.csat_score <= policy.loop_csat_max:
        reasons.append(f"CSAT {response.csat_score}/5")
    if response.ces_score is not None and response.ces_score <= policy.loop_ces_max:
        reasons.append(f"CES {response.ces_score}/7")
    if policy.loop_negative_comment and response.sentiment == "negative":
        reasons.append("negative comment")
    return ", ".join(reasons)


def _owner(response: Response) -> tuple[User | None, Any]:
    """The agent of the rated ticket; else the account team: whoever last handled this customer's tickets."""
    invitation = response.invitation
    if invitation.agent_id and invitation.agent.is_active:
        return invitation.agent, invitation.team
    last = (Ticket.objects.filter(requester_id=response.customer_id)
            .filter(Q(assignee__isnull=False) | Q(team__isnull=False))
            .exclude(pk__in=FollowUp.objects.values("ticket_id")).select_related("assignee", "team")
            .order_by("-updated_at").first())
    if last is None:
        return None, invitation.team
    if last.assignee is not None and last.assignee.is_active:
        return last.assignee, last.team
    return None, last.team


def follow_up_create(*, response: Response, reason: str) -> FollowUp:
    from cx.tickets.services import ticket_create_by_agent, ticket_update

    policy = policy_get()
    system = system_user_get(username="surveys", label="Surveys")
    owner, team = _owner(response)
    survey = response.survey
    lines = [f"{survey.name}: {response_score_label(response)} from {response.customer.name} — {reason}.",
             "Call the customer back, then solve this ticket; they will be surveyed again."]
    if response.ticket_id:
        lines.append(f"Rated ticket: #{response.ticket_id}")
    if response.comment:
        lines.append(f"Comment:\n{response.comment}")
    created = ticket_create_by_agent(
        actor=system, requester=response.customer, subject=f"Follow up: {response_score_label(response)} "
        f"({survey.name})"[:250], body="\n\n".join(lines), visibility=Visibility.INTERNAL,
        priority=policy.loop_priority, ticket_type=TicketType.TASK, tags=["survey-follow-up"],
        team_id=team.pk if team else None, assignee_id=owner.pk if owner else None,
    )
    ticket = created.ticket
    due_at = timezone.now() + timedelta(hours=policy.loop_due_hours)
    ticket_update(actor=system, ticket=ticket, changes={"due_at": due_at})
    follow_up = FollowUp.objects.create(response=response, ticket=ticket, owner=owner, team=team, reason=reason[:200])
    audit_record(actor=system, action="survey.follow_up_created", target_type="survey_response",
                 target_id=response.pk, data={"ticket_id": ticket.pk, "owner_id": owner.pk if owner else None})
    return follow_up


@transaction.atomic
def follow_up_set_state(*, actor: User | None, follow_up: FollowUp, state: str, note: str = "",
                        token_scope: AccessLevel | None = None) -> FollowUp:
    """Move the loop forward: open → contacted → resolved. Resolving re-surveys the customer."""
    if actor is not None:
        require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if state not in LoopState.values:
        raise ValidationFailed("Unknown state.", fields={"state": f"one of {', '.join(LoopState.values)}"})
    if len(note) > MAX_COMMENT_CHARS:
        raise ValidationFailed("The note is too long.", fields={"note": f"at most {MAX_COMMENT_CHARS} characters"})
    follow_up = FollowUp.objects.select_for_update().select_related("response__survey", "response__customer",
                                                                    "response__invitation").get(pk=follow_up.pk)
    order = [LoopState.OPEN, LoopState.CONTACTED, LoopState.RESOLVED]
    if order.index(state) <= order.index(follow_up.state):
        return follow_up  # the loop only moves forward; repeating a step changes nothing
    now = timezone.now()
    if state in (LoopState.CONTACTED, LoopState.RESOLVED) and follow_up.contacted_at is None:
        follow_up.contacted_at = now
    follow_up.state = state
    if note:
        follow_up.resolution_note = note
    if state == LoopState.RESOLVED:
        follow_up.resolved_at = now
        response = follow_up.response
        if response.survey.status == SurveyStatus.ACTIVE:
            follow_up.resurvey = survey_invitation_create(
                survey=response.survey, customer=response.customer, channel="email", ticket=response.ticket,
                source="followup", source_key=f"followup:{follow_up.pk}",
                send_at=now + timedelta(minutes=response.survey.delay_minutes if response.survey.trigger ==
                                        Trigger.TICKET_SOLVED else 0),
                apply_sampling=False, ignore_cooldown=True)
    follow_up.save()
    audit_record(actor=actor, action="survey.follow_up_state", target_type="survey_response",
                 target_id=follow_up.response_id, data={"state": state})
    return follow_up


class SurveyDataHandler:
    """Lets customer merge, export and erasure reach invitations and responses."""

    name = "surveys"

    def export(self, *, customer_id: int) -> list[dict]:
        rows = []
        for response in Response.objects.filter(customer_id=customer_id).prefetch_related("answers__question"):
            rows.append({"survey_id": response.survey_id, "started_at": response.started_at.isoformat(),
                         "answers": [{"question": a.question.text, "score": a.score, "choices": a.choices,
                                      "text": a.text, "skipped": a.skipped} for a in response.answers.all()]})
        return rows

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ids = list(Invitation.objects.filter(customer_id=source_id).values_list("pk", flat=True))
        Invitation.objects.filter(pk__in=ids).update(customer_id=target_id)
        Response.objects.filter(customer_id=source_id).update(customer_id=target_id)
        return ids

    def erase(self, *, customer_id: int) -> int:
        # Scores stay for the aggregates; free text and addresses may identify the person.
        Answer.objects.filter(response__customer_id=customer_id).update(text="")
        Invitation.objects.filter(customer_id=customer_id).update(email="")
        return Response.objects.filter(customer_id=customer_id).update(comment="", sentiment="",
                                                                       sentiment_score=None)


def question_as_dict(question: Question) -> dict[str, Any]:
    return {"id": question.pk, "position": question.position, "kind": question.kind, "text": question.text,
            "help_text": question.help_text, "scale": question.scale, "low_label": question.low_label,
            "high_label": question.high_label, "options": question.options, "required": question.required,
            "wording_version": question.wording_version,
            "show_if": ({"question_id": question.show_if_question_id, "min": question.show_if_min,
                         "max": question.show_if_max} if question.show_if_question_id else None)}


def survey_as_dict(survey: Survey) -> dict[str, Any]:
    return {"id": survey.pk, "name": survey.name, "kind": survey.kind, "status": survey.status,
            "locale": survey.locale, "brand_name": survey.brand_name, "brand_color": survey.brand_color,
            "intro_text": survey.intro_text, "thank_you_text": survey.thank_you_text,
            "email_subject": survey.email_subject, "trigger": survey.trigger, "delay_minutes": survey.delay_minutes,
            "event_kind": survey.event_kind, "event_delay_days": survey.event_delay_days,
            "event_first_only": survey.event_first_only, "recurring_days": survey.recurring_days,
            "sampling_percent": survey.sampling_percent,
            "questions": [question_as_dict(q) for q in survey.questions.all()]}


def invitation_public_payload(invitation: Invitation) -> dict[str, Any]:
    """What a channel adapter or the public page needs to show the survey: questions, what is answered,
    which follow-up questions are visible now, and whether the token is spent."""
    from cx.surveys.locales import strings

    survey = invitation.survey
    response = Response.objects.filter(invitation=invitation).first()
    answers = list(response.answers.all()) if response else []
    scores = {a.question_id: a.score for a in answers if a.score is not None}
    visible = visible_questions(survey, scores)
    answered = {a.question_id for a in answers}
    return {
        "survey": {k: v for k, v in survey_as_dict(survey).items() if k not in ("status", "trigger",
                                                                                 "delay_minutes", "event_kind",
                                                                                 "event_delay_days",
                                                                                 "event_first_only",
                                                                                 "recurring_days",
                                                                                 "sampling_percent",
                                                                                 "email_subject")},
        "strings": strings(survey.locale),
        "answered": [{"question_id": a.question_id, "score": a.score, "choices": a.choices, "text": a.text,
                      "skipped": a.skipped} for a in answers],
        "visible_question_ids": [q.pk for q in visible],
        "remaining_question_ids": [q.pk for q in visible if q.pk not in answered],
        "complete": invitation.answered_at is not None,
        "channel": invitation.channel,
    }
