"""In-app surveys on a host website, shown by the chat widget: placements (admins choose the widget inbox,
the pages and tracked events that show the survey, delay, scroll, position, recurrence and sampling), the
surveys a visitor may see now (public, by the inbox's widget key and the widget's signed visitor token), the
show itself (which creates the ``in_app`` invitation whose single-use token the widget answers with, through
the public survey endpoints) and the dismiss (a skip).

Nothing here re-implements the delivery policy: the cooldown across all surveys, the monthly cap and quiet
hours come from ``services.live_policy_block_reason``, invitations from ``services.survey_invitation_create``
(touchpoints included) and answers from ``services.response_submit``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.chat.models import ChatInbox, ChatVisitor
from cx.chat.services import chat_visitor_customer
from cx.core.audit import audit_record
from cx.core.errors import NotFound, ValidationFailed
from cx.customers.models import Customer
from cx.surveys import services, targeting
from cx.surveys.branding import accessible_brand_color
from cx.surveys.models import (
    InAppPlacement,
    InAppPosition,
    InAppRecurrence,
    Invitation,
    InvitationStatus,
    Response,
    Survey,
    SurveyStatus,
)

CHANNEL = "in_app"
# A shown survey that is neither answered nor dismissed is shown again (same invitation, same token) on the
# visitor's next pages for this long; after that the recurrence decides.
REOPEN_WINDOW = timedelta(hours=24)
PLACEMENT_FIELDS = ("inbox_id", "is_enabled", "page_rules", "event_rules", "delay_seconds", "scroll_percent",
                    "position", "recurrence", "recurrence_days", "sampling_percent")
MAX_URL_CHARS = 2000
MAX_EVENT_PROPERTIES_CHARS = 8000


class TargetingInvalid(ValidationFailed):
    """A placement's targeting is invalid: 400 with the field and the reason."""

    status = 400
    code = "invalid_targeting"


# --- placements (admins) ----------------------------------------------------------------------------------

def placement_as_dict(placement: InAppPlacement) -> dict[str, Any]:
    return {"survey_id": placement.survey_id, "inbox_id": placement.inbox_id, "inbox": placement.inbox.name,
            "is_enabled": placement.is_enabled, "page_rules": placement.page_rules,
            "event_rules": placement.event_rules, "delay_seconds": placement.delay_seconds,
            "scroll_percent": placement.scroll_percent, "position": placement.position,
            "recurrence": placement.recurrence, "recurrence_days": placement.recurrence_days,
            "sampling_percent": placement.sampling_percent, "updated_at": placement.updated_at}


def placement_get_for(*, actor: User, survey: Survey, token_scope: AccessLevel | None = None) -> InAppPlacement:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    placement = InAppPlacement.objects.select_related("inbox").filter(survey=survey).first()
    if placement is None:
        raise NotFound(f"Survey {survey.pk} is not placed in-app.")
    return placement


def placement_for(survey: Survey) -> InAppPlacement | None:
    return InAppPlacement.objects.select_related("inbox").filter(survey=survey).first()


def _whole(values: dict[str, Any], name: str, low: int, high: int, errors: dict[str, str]) -> None:
    value = values.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[name] = f"a whole number {low} to {high}"


def _clean_placement(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    inbox_id = values.get("inbox_id")
    inbox = (ChatInbox.objects.filter(pk=inbox_id).first()
             if isinstance(inbox_id, int) and not isinstance(inbox_id, bool) else None)
    if inbox is None:
        errors["inbox_id"] = "the id of a chat inbox (its widget shows the survey)"
    clean["inbox"] = inbox
    if not isinstance(values.get("is_enabled"), bool):
        errors["is_enabled"] = "true or false"
    clean["is_enabled"] = values.get("is_enabled")
    try:
        clean["page_rules"] = targeting.clean_page_rules(values.get("page_rules"))
    except targeting.TargetingError as error:
        errors.update(error.fields)
    try:
        clean["event_rules"] = targeting.clean_event_rules(values.get("event_rules"))
    except targeting.TargetingError as error:
        errors.update(error.fields)
    if not values.get("page_rules") and not values.get("event_rules") and "page_rules" not in errors:
        errors["page_rules"] = "add a page rule (a wildcard * is every page) or an event rule"
    _whole(values, "delay_seconds", 0, 3600, errors)
    _whole(values, "scroll_percent", 0, 100, errors)
    _whole(values, "recurrence_days", 1, 3650, errors)
    _whole(values, "sampling_percent", 1, 100, errors)
    if values.get("position") not in InAppPosition.values:
        errors["position"] = f"one of {', '.join(InAppPosition.values)}"
    if values.get("recurrence") not in InAppRecurrence.values:
        errors["recurrence"] = f"one of {', '.join(InAppRecurrence.values)}"
    if errors:
        raise TargetingInvalid("The in-app placement is invalid.", fields=errors)
    for name in ("delay_seconds", "scroll_percent", "position", "recurrence", "recurrence_days",
                 "sampling_percent"):
        clean[name] = values[name]
    return clean


DEFAULTS = {"is_enabled": True, "page_rules": [], "event_rules": [], "delay_seconds": 0, "scroll_percent": 0,
            "position": InAppPosition.BOTTOM_RIGHT, "recurrence": InAppRecurrence.ONCE, "recurrence_days": 90,
            "sampling_percent": 100}


@transaction.atomic
def in_app_placement_save(*, actor: User, survey: Survey, values: dict[str, Any],
                          token_scope: AccessLevel | None = None) -> InAppPlacement:
    """Create or change the survey's in-app placement. Fields left out keep their current value (or the
    default); anything invalid is a 400 naming the field and the reason, and nothing changes."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    unknown = set(values) - set(PLACEMENT_FIELDS)
    if unknown:
        raise TargetingInvalid("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    placement = InAppPlacement.objects.select_for_update().filter(survey=survey).first()
    current = ({name: getattr(placement, name) for name in PLACEMENT_FIELDS} if placement
               else dict(DEFAULTS))
    clean = _clean_placement(current | values)
    created = placement is None
    if placement is None:
        placement = InAppPlacement(survey=survey)
    for name, value in clean.items():
        setattr(placement, name, value)
    placement.save()
    audit_record(actor=actor, action="survey.in_app_created" if created else "survey.in_app_updated",
                 target_type="survey", target_id=survey.pk,
                 data={"inbox_id": placement.inbox_id, "page_rules": len(placement.page_rules),
                       "event_rules": len(placement.event_rules), "enabled": placement.is_enabled})
    return placement


@transaction.atomic
def in_app_placement_delete(*, actor: User, survey: Survey, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    deleted, _ = InAppPlacement.objects.filter(survey=survey).delete()
    if not deleted:
        raise NotFound(f"Survey {survey.pk} is not placed in-app.")
    audit_record(actor=actor, action="survey.in_app_deleted", target_type="survey", target_id=survey.pk, data={})


# --- eligibility ------------------------------------------------------------------------------------------

def _period(placement: InAppPlacement, now: datetime) -> int:
    """The recurrence period ``now`` falls in (0 for "once"): a recurring survey samples anew each period."""
    if placement.recurrence != InAppRecurrence.RECURRING:
        return 0
    return int(now.timestamp() // (placement.recurrence_days * 86400))


def sampled_in(*, placement: InAppPlacement, subject: str, now: datetime) -> bool:
    """Whether ``subject`` (a customer or an anonymous visitor) is in the placement's sample. Decided by a
    hash, so a visitor left out stays left out on every page and reload of the period (re-rolling on each
    page view would show the survey to nearly everybody)."""
    if placement.sampling_percent >= 100:
        return True
    digest = hashlib.sha256(f"in_app:{placement.pk}:{_period(placement, now)}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < placement.sampling_percent


def _live(customer: Customer | None) -> Customer | None:
    hops = 0
    while customer is not None and customer.merged_into_id is not None and hops < 10:
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
        hops += 1
    if customer is not None and customer.erased_at is not None:
        return None
    return customer


def _open_invitation(placement: InAppPlacement, customer: Customer | None, now: datetime) -> Invitation | None:
    if customer is None:
        return None
    return (Invitation.objects.filter(survey_id=placement.survey_id, customer=customer, channel=CHANNEL,
                                      status__in=(InvitationStatus.SENT, InvitationStatus.OPENED),
                                      answered_at__isnull=True, sent_at__gt=now - REOPEN_WINDOW)
            .select_related("survey", "customer").order_by("-sent_at").first())


def in_app_block_reason(*, placement: InAppPlacement, customer: Customer | None, subject: str, now: datetime,
                        time_zone: str = "", policy=None) -> str:
    """Why this placement's survey may not be shown to this visitor now, or "".

    A survey shown in the last 24 hours and neither answered nor dismissed is shown again as it is. Else:
    the recurrence (once per visitor, or again after N days, counted from the last show — answered,
    dismissed or ignored), the sample, then the delivery policy shared with every channel."""
    if not placement.is_enabled or placement.survey.status != SurveyStatus.ACTIVE:
        return "not active"
    if customer is not None:
        if _open_invitation(placement, customer, now) is not None:
            return ""
        last = (Invitation.objects.filter(survey_id=placement.survey_id, customer=customer, channel=CHANNEL,
                                          sent_at__isnull=False).order_by("-sent_at").values_list("sent_at",
                                                                                                  flat=True).first())
        if last is not None:
            if placement.recurrence == InAppRecurrence.ONCE:
                return "already shown to this visitor"
            if last > now - timedelta(days=placement.recurrence_days):
                return f"shown within the last {placement.recurrence_days} days"
    if not sampled_in(placement=placement, subject=subject, now=now):
        return f"not in the {placement.sampling_percent}% sample"
    return services.live_policy_block_reason(customer=customer, now=now, policy=policy or services.policy_get(),
                                             time_zone=time_zone)


def _subject(visitor: ChatVisitor, customer: Customer | None) -> str:
    return f"customer:{customer.pk}" if customer is not None else f"visitor:{visitor.public_id}"


def _time_zone(value: Any) -> str:
    return value if isinstance(value, str) and 0 < len(value) <= 64 else ""


def placement_public_dict(placement: InAppPlacement) -> dict[str, Any]:
    """What the widget needs to decide when to show the survey (its questions come with the show); the card's
    colour is the brand colour when white text on it is readable (WCAG 4.5:1), else a dark blue."""
    return {"id": placement.pk, "survey_id": placement.survey_id, "name": placement.survey.name,
            "page_rules": placement.page_rules, "event_rules": placement.event_rules,
            "delay_seconds": placement.delay_seconds, "scroll_percent": placement.scroll_percent,
            "position": placement.position, "brand_color": accessible_brand_color(placement.survey.brand_color)}


def in_app_surveys_for(*, inbox: ChatInbox, visitor: ChatVisitor, time_zone: Any = "") -> list[dict[str, Any]]:
    """The in-app surveys this visitor may be shown now on this inbox's website, with their targeting rules
    (the widget evaluates them on each page and tracked event, and asks ``in_app_survey_show``)."""
    now = timezone.now()
    policy = services.policy_get()
    customer = _live(visitor.customer)
    placements = (InAppPlacement.objects.filter(inbox=inbox, is_enabled=True, survey__status=SurveyStatus.ACTIVE)
                  .select_related("survey").order_by("pk"))
    eligible = []
    for placement in placements:
        if not in_app_block_reason(placement=placement, customer=customer, subject=_subject(visitor, customer),
                                   now=now, time_zone=_time_zone(time_zone), policy=policy):
            eligible.append(placement_public_dict(placement))
    return eligible


def _clean_event(event: Any) -> tuple[str, dict[str, Any]] | None:
    if event is None:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("name"), str) or not event["name"].strip() \
            or len(event["name"]) > 100:
        raise ValidationFailed("The event is malformed.", fields={"event.name": "the tracked event's name"})
    properties = event.get("properties") or {}
    if not isinstance(properties, dict) or len(str(properties)) > MAX_EVENT_PROPERTIES_CHARS:
        raise ValidationFailed("The event is malformed.",
                               fields={"event.properties": f"an object of at most {MAX_EVENT_PROPERTIES_CHARS} "
                                                           "characters"})
    return event["name"].strip(), properties


@transaction.atomic
def in_app_survey_show(*, inbox: ChatInbox, visitor: ChatVisitor, placement_id: int, url: Any,
                       event: Any = None, time_zone: Any = "") -> dict[str, Any]:
    """The widget is about to show a survey: the server checks the targeting again (the page, and the tracked
    event for an event-targeted survey) and the eligibility, then creates the ``in_app`` invitation (the
    send touchpoint; the show is also its open) and gives the widget the questions and the single-use token.
    ``{"show": false, "reason"}`` when the survey is not to be shown."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > MAX_URL_CHARS:
        raise ValidationFailed("The page URL is missing.", fields={"url": f"the page's http(s) URL, at most "
                                                                          f"{MAX_URL_CHARS} characters"})
    tracked = _clean_event(event)
    placement = (InAppPlacement.objects.select_related("survey").filter(pk=placement_id, inbox=inbox)
                 .first() if isinstance(placement_id, int) else None)
    if placement is None:
        raise NotFound("No in-app survey with that id on this website.", fields={"placement": "unknown"})
    if not targeting.page_matches(placement.page_rules, url):
        return {"show": False, "reason": "this page is not targeted"}
    if placement.event_rules and (tracked is None or not targeting.event_matches(placement.event_rules, *tracked)):
        return {"show": False, "reason": "shown after a tracked event this page has not sent"}
    now = timezone.now()
    customer = _live(visitor.customer)
    reason = in_app_block_reason(placement=placement, customer=customer, subject=_subject(visitor, customer),
                                 now=now, time_zone=_time_zone(time_zone))
    if reason:
        return {"show": False, "reason": reason}
    customer = chat_visitor_customer(visitor=visitor)
    invitation = _open_invitation(placement, customer, now)
    if invitation is None:
        # One key per show of this survey to this customer: two tabs showing it at once share one invitation.
        shows = Invitation.objects.filter(survey_id=placement.survey_id, customer=customer, channel=CHANNEL).count()
        invitation = services.survey_invitation_create(
            survey=placement.survey, customer=customer, channel=CHANNEL, source="in_app",
            source_key=f"in_app:{placement.pk}:{customer.pk}:{shows + 1}",
            touchpoint_kind=tracked[0] if tracked else "", apply_sampling=False)
    if invitation.status not in (InvitationStatus.SENT, InvitationStatus.OPENED) or invitation.answered_at:
        return {"show": False, "reason": invitation.status_reason or "already answered"}
    services.invitation_open(invitation=invitation)
    token = services.invitation_token(invitation)
    return {"show": True, "token": token, "path": f"/api/v1/public/surveys/{token}",
            "placement": placement_public_dict(placement),
            "survey": services.invitation_public_payload(invitation)}


def in_app_survey_dismiss(*, invitation: Invitation) -> Response:
    """The respondent closed the survey: recorded as a skip (the questions left are skipped, never counted in
    a score), the token is spent and the survey is not shown again within its recurrence."""
    return services.response_submit(invitation=invitation, answers=[], dismissed=True)
