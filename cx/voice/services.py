"""Writes for phone support: IVR menus (admin), Twilio Voice webhooks and the call log.

Every Twilio request is checked with the official library's RequestValidator against the public URL
(CXDESK_BASE_URL + path) and the menu's auth token before anything is read or written. Twilio retries
webhooks, so calls are keyed by CallSid and every step is safe to receive twice.

Each call ends up on a ticket (channel ``phone``): voicemail and callback requests open theirs while the
call runs; any other call gets one when Twilio reports the end of the call. The call is summarised on the
ticket as an internal note and written to the customer's timeline.
"""

from __future__ import annotations

import logging
import re
import secrets as secrets_module
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator, get_signature_algorithm

from cx.accounts.models import AccessLevel, Team, User
from cx.accounts.services import require_access, system_user_get
from cx.core.audit import audit_record
from cx.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from cx.customers.models import Customer
from cx.customers.selectors import customer_find_by_identity
from cx.customers.services import customer_create
from cx.journeys.services import touchpoint_record
from cx.sla.selectors import business_calendar_get_for
from cx.tickets.business_hours import is_open
from cx.tickets.hooks import TicketChange
from cx.tickets.models import Channel, Message, Ticket, TicketType, Visibility
from cx.tickets.services import ticket_create_by_agent, ticket_open_by_customer, ticket_reply, ticket_update
from cx.voice import twiml
from cx.voice.models import AfterHoursAction, Call, CallDirection, CallOutcome, IvrMenu, IvrOption, OptionAction

logger = logging.getLogger("cx.voice")

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
DIGITS = set("0123456789*#")
MAX_TEXT = 1000
MAX_OPTIONS = 12
# Twilio's final call states and what they mean for the log.
FINAL_STATUS = {"completed": CallOutcome.ANSWERED, "busy": CallOutcome.BUSY, "no-answer": CallOutcome.NO_ANSWER,
                "failed": CallOutcome.FAILED, "canceled": CallOutcome.ABANDONED}
DIAL_OUTCOME = {"completed": CallOutcome.ANSWERED, "answered": CallOutcome.ANSWERED, "busy": CallOutcome.BUSY,
                "no-answer": CallOutcome.NO_ANSWER, "failed": CallOutcome.FAILED, "canceled": CallOutcome.ABANDONED}


class MalformedTwilioRequest(DomainError):
    status = 400
    code = "malformed_payload"


def _system_user() -> User:
    return system_user_get(username="system-voice", label="Phone")


def webhook_urls(menu: IvrMenu) -> twiml.Urls:
    base = django_settings.CXDESK_BASE_URL

    def url(name: str) -> str:
        return base + reverse(f"voice:{name}", args=[menu.webhook_key])

    return twiml.Urls(incoming=url("incoming"), gather=url("gather"), dial_status=url("dial_status"),
                      recording=url("recording"), transcription=url("transcription"))


def status_callback_url(menu: IvrMenu) -> str:
    return django_settings.CXDESK_BASE_URL + reverse("voice:status", args=[menu.webhook_key])


# --- IVR menus (admin) ------------------------------------------------------------------------------------

def _clean_number(value: Any, field: str, errors: dict[str, str], *, required: bool = True) -> str:
    number = re.sub(r"[\s\-().]", "", str(value or ""))
    if not number:
        if required:
            errors[field] = "required"
        return ""
    if not E164.match(number):
        errors[field] = "an international number such as +4930123456"
    return number


def _clean_options(options: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(options, list) or len(options) > MAX_OPTIONS:
        errors["options"] = f"a list of at most {MAX_OPTIONS} options"
        return []
    cleaned, seen = [], set()
    for index, option in enumerate(options):
        prefix = f"options.{index}"
        if not isinstance(option, dict):
            errors[prefix] = "must be an object"
            continue
        digit = str(option.get("digit") or "").strip()
        if len(digit) != 1 or digit not in DIGITS:
            errors[f"{prefix}.digit"] = "one key: 0-9, * or #"
        elif digit in seen:
            errors[f"{prefix}.digit"] = f"digit {digit} is used twice"
        seen.add(digit)
        label = str(option.get("label") or "").strip()
        if not label or len(label) > 100:
            errors[f"{prefix}.label"] = "required, at most 100 characters"
        action = option.get("action")
        if action not in OptionAction.values:
            errors[f"{prefix}.action"] = f"one of {', '.join(OptionAction.values)}"
        team_id = option.get("team_id") or None
        if team_id is not None and not Team.objects.filter(pk=team_id).exists():
            errors[f"{prefix}.team_id"] = "no such team"
        number = _clean_number(option.get("forward_number"), f"{prefix}.forward_number", errors,
                               required=action == OptionAction.FORWARD)
        cleaned.append({"digit": digit, "label": label, "action": action, "team_id": team_id,
                        "forward_number": number if action == OptionAction.FORWARD else ""})
    return cleaned


def _clean_menu(values: Mapping[str, Any], current: IvrMenu | None) -> tuple[dict[str, Any], list | None]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, limit, required in (("name", 100, True), ("greeting", MAX_TEXT, True),
                                  ("after_hours_message", MAX_TEXT, False), ("voicemail_prompt", 500, True),
                                  ("account_sid", 64, True), ("language", 10, True)):
        if name in values or current is None:
            value = str(values.get(name) or "").strip()
            if name == "language" and not value:
                value = "en-US"
            if required and not value:
                errors[name] = "required"
            elif len(value) > limit:
                errors[name] = f"at most {limit} characters"
            cleaned[name] = value
    if "name" in cleaned and IvrMenu.objects.filter(name=cleaned["name"]).exclude(
            pk=current.pk if current else None).exists():
        errors["name"] = "another menu has this name"
    if "phone_number" in values or current is None:
        cleaned["phone_number"] = _clean_number(values.get("phone_number"), "phone_number", errors)
        if cleaned["phone_number"] and IvrMenu.objects.filter(phone_number=cleaned["phone_number"]).exclude(
                pk=current.pk if current else None).exists():
            errors["phone_number"] = "another menu answers this number"
    token = str(values.get("auth_token") or "").strip()
    if token:
        cleaned["auth_token"] = token[:200]
    elif current is None or not current.auth_token:
        errors["auth_token"] = "required"  # noqa: S105 - the field name, not a password
    if "after_hours_action" in values:
        if values["after_hours_action"] not in AfterHoursAction.values:
            errors["after_hours_action"] = f"one of {', '.join(AfterHoursAction.values)}"
        cleaned["after_hours_action"] = values["after_hours_action"]
    for key, model in (("calendar_id", "calendar"), ("team_id", "team")):
        if key in values:
            value = values[key] or None
            if value is not None:
                from cx.sla.models import BusinessCalendarConfig

                exists = (BusinessCalendarConfig if model == "calendar" else Team).objects.filter(pk=value).exists()
                if not exists:
                    errors[key] = f"no such {'business calendar' if model == 'calendar' else 'team'}"
            cleaned[key] = int(value) if value is not None else None
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    options = _clean_options(values["options"], errors) if "options" in values else None
    if errors:
        raise ValidationFailed("Some IVR fields are missing or invalid.", fields=errors)
    return cleaned, options


def _save_options(menu: IvrMenu, options: list[dict[str, Any]]) -> None:
    menu.options.all().delete()
    IvrOption.objects.bulk_create([IvrOption(menu=menu, **option) for option in options])


@transaction.atomic
def ivr_menu_create(*, actor: User, values: Mapping[str, Any], token_scope: AccessLevel | None = None) -> IvrMenu:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    cleaned, options = _clean_menu(values, None)
    menu = IvrMenu.objects.create(webhook_key=secrets_module.token_urlsafe(24), **cleaned)
    _save_options(menu, options or [])
    audit_record(actor=actor, action="voice.menu_created", target_type="ivr_menu", target_id=menu.pk,
                 data={"name": menu.name, "phone_number": menu.phone_number, "options": len(options or [])})
    return menu


@transaction.atomic
def ivr_menu_update(*, actor: User, menu: IvrMenu, values: Mapping[str, Any],
                    token_scope: AccessLevel | None = None) -> IvrMenu:
    """Change a menu; a blank auth token keeps the stored one; ``options`` (when given) replaces all options."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    menu = IvrMenu.objects.select_for_update().get(pk=menu.pk)
    cleaned, options = _clean_menu(values, menu)
    changed = sorted(k for k, v in cleaned.items() if getattr(menu, k) != v and k != "auth_token")
    for key, value in cleaned.items():
        setattr(menu, key, value)
    menu.save()
    if options is not None:
        _save_options(menu, options)
        changed.append("options")
    audit_record(actor=actor, action="voice.menu_updated", target_type="ivr_menu", target_id=menu.pk,
                 data={"fields": changed, "auth_token_changed": "auth_token" in cleaned})
    return menu


@transaction.atomic
def ivr_menu_delete(*, actor: User, menu: IvrMenu, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="voice.menu_deleted", target_type="ivr_menu", target_id=menu.pk,
                 data={"name": menu.name})
    menu.delete()


# --- Twilio webhooks --------------------------------------------------------------------------------------

def voice_menu_for_webhook(*, webhook_key: str) -> IvrMenu:
    menu = IvrMenu.objects.filter(webhook_key=webhook_key, is_active=True).first() if webhook_key else None
    if menu is None:
        raise NotFound("No active IVR menu has this webhook address.")
    return menu


def twilio_request_verify(*, menu: IvrMenu, url: str, form: Any, headers: Mapping[str, str]) -> None:
    signature = headers.get("X-Twilio-Signature", "") or ""
    algorithm = get_signature_algorithm(headers.get("X-Twilio-Webhooks-Signature-Settings", ""))
    if not signature or not RequestValidator(menu.auth_token).validate(url, form, signature, algorithm=algorithm):
        logger.warning("voice menu %s: rejected a request with a missing or wrong Twilio signature", menu.pk)
        raise PermissionDenied("The request signature does not match this menu's Twilio auth token.",
                               code="bad_signature")


def _required(form: Mapping[str, Any], name: str) -> str:
    value = str(form.get(name) or "").strip()
    if not value:
        raise MalformedTwilioRequest(f"{name} is missing.", fields={name: "required"})
    return value


def _seconds(form: Mapping[str, Any], name: str) -> int | None:
    value = form.get(name)
    if value in (None, ""):
        return None
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        raise MalformedTwilioRequest(f"{name} is not a number.", fields={name: "whole seconds"}) from None


def _customer_for_caller(number: str) -> Customer:
    """The customer whose phone number called, or a new one (an unknown or withheld number: a new record)."""
    compact = re.sub(r"[\s\-().]", "", number or "")
    if E164.match(compact):
        found = customer_find_by_identity(kind="phone", value=compact)
        if found is not None:
            while found.merged_into_id is not None:
                found = Customer.objects.get(pk=found.merged_into_id)
            return found
        try:
            with transaction.atomic():
                return customer_create(actor=None, display_name=compact,
                                       identities=[{"kind": "phone", "value": compact, "is_primary": True}])
        except (DomainError, IntegrityError):
            found = customer_find_by_identity(kind="phone", value=compact)
            if found is not None:
                return found
            raise
    return customer_create(actor=None, display_name="Unknown caller")


def _options(menu: IvrMenu) -> list[twiml.MenuOption]:
    return [twiml.MenuOption(digit=o.digit, label=o.label, action=o.action, forward_number=o.forward_number)
            for o in menu.options.all()]


def _is_business_hours(menu: IvrMenu, now: datetime) -> bool:
    if menu.calendar_id is None:
        return True
    config = business_calendar_get_for(actor=_system_user(), calendar_id=menu.calendar_id)
    calendar = config.to_calendar(holidays=[h.date for h in config.holidays.all()])
    return is_open(calendar, now)


def _call(menu: IvrMenu, form: Mapping[str, Any], *, now: datetime) -> Call:
    sid = _required(form, "CallSid")
    call = Call.objects.select_for_update().filter(call_sid=sid).first()
    if call is not None:
        return call
    caller = str(form.get("From") or form.get("Caller") or "")
    try:
        with transaction.atomic():
            return Call.objects.create(call_sid=sid, menu=menu, direction=CallDirection.INBOUND,
                                       from_number=caller[:32],
                                       to_number=str(form.get("To") or menu.phone_number)[:32],
                                       customer=_customer_for_caller(caller), started_at=now, team=menu.team)
    except IntegrityError:
        return Call.objects.select_for_update().get(call_sid=sid)


@transaction.atomic
def call_incoming(*, menu: IvrMenu, form: Mapping[str, Any], retry: bool = False, now: datetime | None = None) -> str:
    """The caller reached the number: the menu, or the after-hours branch."""
    now = now or timezone.now()
    call = _call(menu, form, now=now)
    urls = webhook_urls(menu)
    if not _is_business_hours(menu, now):
        message = menu.after_hours_message or "We are closed right now."
        if menu.after_hours_action == AfterHoursAction.VOICEMAIL:
            return twiml.voicemail(prompt=menu.voicemail_prompt, language=menu.language, urls=urls, before=message)
        if menu.after_hours_action == AfterHoursAction.CALLBACK:
            _callback_request(call=call, menu=menu, team_id=menu.team_id, reason="after hours")
            return twiml.say_and_hang_up(text=f"{message} We have noted your number and will call you back.",
                                         language=menu.language)
        _finish(call, outcome=CallOutcome.MISSED, now=now)
        return twiml.say_and_hang_up(text=message, language=menu.language)
    return twiml.menu(greeting=menu.greeting, options=_options(menu), language=menu.language, urls=urls, retry=retry)


@transaction.atomic
def call_gather(*, menu: IvrMenu, form: Mapping[str, Any], digits: str, now: datetime | None = None) -> str:
    """The caller pressed a key (or chose nothing twice: ``voicemail``)."""
    now = now or timezone.now()
    call = _call(menu, form, now=now)
    urls = webhook_urls(menu)
    if digits == "voicemail":
        return twiml.voicemail(prompt=menu.voicemail_prompt, language=menu.language, urls=urls)
    option = menu.options.select_related("team").filter(digit=digits[:1]).first() if digits else None
    if option is None:
        return twiml.invalid_choice(language=menu.language, urls=urls)
    call.digits = digits[:10]
    call.team = option.team or menu.team
    call.save(update_fields=["digits", "team"])
    if option.action == OptionAction.FORWARD:
        return twiml.forward(number=option.forward_number, label=option.label, language=menu.language, urls=urls)
    if option.action == OptionAction.CALLBACK:
        _callback_request(call=call, menu=menu, team_id=call.team_id, reason=option.label)
        return twiml.say_and_hang_up(text="Thank you. We have noted your number and will call you back soon.",
                                     language=menu.language)
    return twiml.voicemail(prompt=menu.voicemail_prompt, language=menu.language, urls=urls)


@transaction.atomic
def call_dial_finished(*, menu: IvrMenu, form: Mapping[str, Any], now: datetime | None = None) -> str:
    """The forwarded leg ended: answered → done; busy or unanswered → offer voicemail."""
    now = now or timezone.now()
    call = _call(menu, form, now=now)
    status = str(form.get("DialCallStatus") or "")
    if status in ("completed", "answered"):
        call.outcome = CallOutcome.ANSWERED
        call.save(update_fields=["outcome"])
        return twiml.say_and_hang_up(text="", language=menu.language)
    call.outcome = DIAL_OUTCOME.get(status, CallOutcome.NO_ANSWER)
    call.save(update_fields=["outcome"])
    return twiml.voicemail(prompt=menu.voicemail_prompt, language=menu.language, urls=webhook_urls(menu),
                           before="Sorry, nobody is available right now.")


def _open_ticket(call: Call, *, subject: str, body: str) -> Ticket:
    ticket = ticket_open_by_customer(requester=call.customer, subject=subject, body=body, channel=Channel.PHONE,
                                     external_id=call.call_sid or "").ticket
    if call.team_id:
        ticket_update(actor=_system_user(), ticket=ticket, changes={"team_id": call.team_id})
    call.ticket = ticket
    call.save(update_fields=["ticket"])
    return ticket


@transaction.atomic
def call_recording_received(*, menu: IvrMenu, form: Mapping[str, Any], now: datetime | None = None) -> str:
    """Voicemail recorded: a ticket with the recording's URL (the transcript follows in its own callback)."""
    now = now or timezone.now()
    call = _call(menu, form, now=now)
    url = _required(form, "RecordingUrl")
    if not url.startswith("https://"):
        raise MalformedTwilioRequest("RecordingUrl must be an https URL.", fields={"RecordingUrl": "https URL"})
    seconds = _seconds(form, "RecordingDuration")
    if call.recording_sid and call.recording_sid == str(form.get("RecordingSid") or ""):
        return twiml.say_and_hang_up(text="Thank you for your message. Goodbye.", language=menu.language)
    call.recording_sid = str(form.get("RecordingSid") or "")[:64]
    call.recording_url = url[:500]
    call.recording_seconds = seconds
    call.outcome = CallOutcome.VOICEMAIL
    call.save(update_fields=["recording_sid", "recording_url", "recording_seconds", "outcome"])
    body = f"Voicemail from {call.from_number or 'an unknown number'}"
    if seconds is not None:
        body += f" ({seconds} s)"
    body += f".\nRecording: {url}"
    if call.ticket_id is None:
        _open_ticket(call, subject=f"Voicemail from {call.customer.name if call.customer else call.from_number}",
                     body=body)
    else:
        ticket_reply(actor=_system_user(), ticket=call.ticket, body=body, visibility=Visibility.INTERNAL)
    return twiml.say_and_hang_up(text="Thank you for your message. Goodbye.", language=menu.language)


@transaction.atomic
def call_transcription_received(*, menu: IvrMenu, form: Mapping[str, Any]) -> Call:
    call = Call.objects.select_for_update().filter(call_sid=_required(form, "CallSid")).first()
    if call is None:
        raise NotFound("No call with this CallSid.")
    status = str(form.get("TranscriptionStatus") or "completed")
    text = str(form.get("TranscriptionText") or "").strip()
    if status != "completed" or not text:
        logger.info("voice call %s: transcription %s, nothing to add", call.pk, status)
        return call
    if call.transcript == text:
        return call
    call.transcript = text[:20000]
    call.save(update_fields=["transcript"])
    if call.ticket_id:
        ticket_reply(actor=_system_user(), ticket=call.ticket, body=f"Voicemail transcript:\n{text}",
                     visibility=Visibility.INTERNAL)
    return call


def _callback_request(*, call: Call, menu: IvrMenu, team_id: int | None, reason: str) -> Ticket:
    """A task ticket for an agent: call this customer back."""
    call.outcome = CallOutcome.CALLBACK_REQUESTED
    call.save(update_fields=["outcome"])
    if call.ticket_id:
        return call.ticket
    number = call.from_number or "a withheld number"
    ticket = ticket_create_by_agent(
        actor=_system_user(), requester=call.customer, channel=Channel.PHONE, ticket_type=TicketType.TASK,
        subject=f"Call back {call.customer.name if call.customer else number}",
        body=f"The caller asked to be called back ({reason}) on {number}, calling {menu.phone_number}.",
        visibility=Visibility.INTERNAL, team_id=team_id, priority="high").ticket
    call.ticket = ticket
    call.save(update_fields=["ticket"])
    return ticket


def _finish(call: Call, *, outcome: str, now: datetime, duration: int | None = None) -> None:
    """Close the call's log entry: its ticket (opened now if it has none), a summary note, the touchpoint."""
    call.ended_at = call.ended_at or now
    if call.outcome not in (CallOutcome.VOICEMAIL, CallOutcome.CALLBACK_REQUESTED):
        call.outcome = outcome
    if duration is not None:
        call.duration_seconds = duration
    call.save(update_fields=["ended_at", "outcome", "duration_seconds"])
    summary = (f"{call.get_direction_display()} call from {call.from_number or 'a withheld number'} to "
               f"{call.to_number}: {call.get_outcome_display().lower()}, {call.duration_display}"
               + (f", team {call.team.name}" if call.team_id else "") + ".")
    if call.ticket_id is None:
        ticket = ticket_create_by_agent(
            actor=_system_user(), requester=call.customer, channel=Channel.PHONE,
            subject=f"Phone call from {call.customer.name if call.customer else call.from_number}",
            body=summary, visibility=Visibility.INTERNAL, team_id=call.team_id).ticket
        call.ticket = ticket
        call.save(update_fields=["ticket"])
    else:
        ticket_reply(actor=_system_user(), ticket=call.ticket, body=summary, visibility=Visibility.INTERNAL)
    _touchpoint(call)


def _touchpoint(call: Call) -> None:
    if call.customer is None:
        return
    touchpoint_record(customer=call.customer, kind=f"call.{call.outcome}", channel=Channel.PHONE, stage="support",
                      occurred_at=call.started_at,
                      properties={"ticket_id": call.ticket_id, "direction": call.direction,
                                  "duration_seconds": call.duration_seconds, "outcome": call.outcome,
                                  "agent_id": call.agent_id, "has_recording": bool(call.recording_url)},
                      source="voice", external_id=call.call_sid or f"manual:{call.pk}")


@transaction.atomic
def call_status_received(*, menu: IvrMenu, form: Mapping[str, Any], now: datetime | None = None) -> Call:
    """Twilio's status callback: at the end of the call the log entry is completed (once)."""
    now = now or timezone.now()
    call = _call(menu, form, now=now)
    status = _required(form, "CallStatus")
    duration = _seconds(form, "CallDuration")
    if status not in FINAL_STATUS:
        return call  # ringing / in-progress: the call is not over yet
    if call.ended_at is not None:
        return call  # a retried callback
    outcome = FINAL_STATUS[status]
    if status == "completed":
        # Twilio's "completed" only says the caller's leg ended; what happened is what the IVR saw.
        if call.outcome == CallOutcome.IN_PROGRESS:
            outcome = CallOutcome.ABANDONED  # hung up in the menu or while being connected
        elif call.outcome in (CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.FAILED):
            outcome = CallOutcome.MISSED  # nobody answered and no voicemail was left
    _finish(call, outcome=outcome, now=now, duration=duration)
    return call


# --- Calls agents log by hand -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ManualCall:
    direction: str
    phone_number: str
    started_at: datetime
    duration_seconds: int
    outcome: str
    notes: str


MANUAL_OUTCOMES = (CallOutcome.ANSWERED, CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL,
                   CallOutcome.MISSED)


@transaction.atomic
def call_log_manual(*, actor: User, ticket: Ticket, call: ManualCall, token_scope: AccessLevel | None = None) -> Call:
    """An agent logs a call they made or took outside Twilio on any ticket."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    errors: dict[str, str] = {}
    if call.direction not in CallDirection.values:
        errors["direction"] = "inbound or outbound"
    if call.outcome not in MANUAL_OUTCOMES:
        errors["outcome"] = f"one of {', '.join(MANUAL_OUTCOMES)}"
    if not 0 <= call.duration_seconds <= 24 * 3600:
        errors["duration_seconds"] = "between 0 and 24 hours"
    if call.started_at > timezone.now() + timedelta(minutes=5):
        errors["started_at"] = "cannot be in the future"
    number = re.sub(r"[\s\-().]", "", call.phone_number or "")
    if number and not E164.match(number):
        errors["phone_number"] = "an international number such as +4930123456"
    if len(call.notes) > 5000:
        errors["notes"] = "at most 5000 characters"
    if ticket.merged_into_id is not None:
        raise Conflict(f"Ticket {ticket.pk} was merged into ticket {ticket.merged_into_id}; log the call there.")
    if errors:
        raise ValidationFailed("The call could not be logged.", fields=errors)
    inbound = call.direction == CallDirection.INBOUND
    entry = Call.objects.create(direction=call.direction, from_number=number if inbound else "",
                                to_number="" if inbound else number, customer=ticket.requester, ticket=ticket,
                                agent=actor, team=ticket.team, outcome=call.outcome, started_at=call.started_at,
                                ended_at=call.started_at + timedelta(seconds=call.duration_seconds),
                                duration_seconds=call.duration_seconds, notes=call.notes.strip(), logged_manually=True)
    summary = (f"{entry.get_direction_display()} call {'from' if inbound else 'to'} {number or 'the customer'}: "
               f"{entry.get_outcome_display().lower()}, {entry.duration_display}, logged by {actor.get_username()}.")
    if entry.notes:
        summary += f"\n{entry.notes}"
    ticket_reply(actor=actor, ticket=ticket, body=summary, visibility=Visibility.INTERNAL)
    _touchpoint(entry)
    audit_record(actor=actor, action="voice.call_logged", target_type="ticket", target_id=ticket.pk,
                 data={"call_id": entry.pk, "direction": entry.direction, "outcome": entry.outcome,
                       "duration_seconds": entry.duration_seconds})
    return entry


PHONE_REPLY_NOT_SENT = ("Not sent: a phone ticket has no written channel to the customer. Call them back and "
                        "log the call, or answer from one of their email or messaging tickets.")


def voice_on_ticket_change(change: TicketChange) -> None:
    """Ticket observer: a public reply on a phone ticket cannot be delivered; say so on the message instead of
    leaving it queued for ever."""
    if change.event != "replied" or change.message_id is None:
        return
    Message.objects.filter(pk=change.message_id, ticket__channel=Channel.PHONE, visibility=Visibility.PUBLIC,
                           delivery_status="queued").update(delivery_status="failed",
                                                            delivery_error=PHONE_REPLY_NOT_SENT)


class CallDataHandler:
    """Customer merge/export/erasure reach the call log (numbers, recordings and transcripts are personal)."""

    name = "voice"

    def export(self, *, customer_id: int) -> list[dict]:
        return [{"call_id": c.pk, "direction": c.direction, "from": c.from_number, "to": c.to_number,
                 "started_at": c.started_at.isoformat(), "duration_seconds": c.duration_seconds,
                 "outcome": c.outcome, "recording_url": c.recording_url, "transcript": c.transcript,
                 "ticket_id": c.ticket_id} for c in Call.objects.filter(customer_id=customer_id)]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ids = list(Call.objects.filter(customer_id=source_id).values_list("pk", flat=True))
        Call.objects.filter(pk__in=ids).update(customer_id=target_id)
        return ids

    def erase(self, *, customer_id: int) -> int:
        return Call.objects.filter(customer_id=customer_id).update(from_number="", to_number="", recording_url="",
                                                                  recording_sid="", transcript="", notes="")
