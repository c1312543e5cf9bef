"""The public web form: a visitor without an account opens a ticket, identified by their email address.

Spam defences: a honeypot field (handled by the view: it pretends success and creates nothing) and limits
per client IP and per email address (``WEB_FORM_LIMIT`` submissions per hour, counted after commit). The
confirmation email is queued after commit, so a rolled-back submission sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from cx.core.errors import Conflict, DomainError, ValidationFailed
from cx.customers.models import Customer
from cx.customers.selectors import customer_find_by_identity
from cx.customers.services import customer_create
from cx.inbox.models import WebFormSubmission
from cx.inbox.tasks import send_web_form_confirmation
from cx.inbox.throttle import SubmissionThrottle
from cx.tickets.models import Channel, Ticket
from cx.tickets.services import ticket_open_by_customer

WEB_FORM_LIMIT = 5  # submissions per client IP and per email address ...
WEB_FORM_WINDOW_SECONDS = 60 * 60  # ... per hour
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_NAME = 200


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _throttles(*, client_ip: str, email: str | None) -> list[SubmissionThrottle]:
    throttles = [SubmissionThrottle(scope="webform-ip", value=client_ip or "unknown", limit=WEB_FORM_LIMIT,
                                    window_seconds=WEB_FORM_WINDOW_SECONDS)]
    if email:
        throttles.append(SubmissionThrottle(scope="webform-email", value=email, limit=WEB_FORM_LIMIT,
                                            window_seconds=WEB_FORM_WINDOW_SECONDS))
    return throttles


def web_form_check_limit(*, client_ip: str, email: str | None = None) -> None:
    """Raise RateLimited when the IP (or the address) has used up its submissions for this hour."""
    for throttle in _throttles(client_ip=client_ip, email=email):
        if throttle.is_limited():
            raise RateLimited(
                f"Too many requests were sent from here in the last hour (at most {WEB_FORM_LIMIT}). "
                "Please try again later, or add to your earlier request by replying to its confirmation email.",
                retry_after=throttle.retry_after())


def web_form_spam_trapped(*, client_ip: str) -> None:
    """A bot filled the honeypot: nothing is created, but it uses up the IP's submissions."""
    for throttle in _throttles(client_ip=client_ip, email=None):
        throttle.record()


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed("The email address is not valid.", fields={"email": "not a valid email address"}) \
            from None
    if len(email) > 255:
        raise ValidationFailed("The email address is too long.", fields={"email": "at most 255 characters"})
    return email


def _customer_for(*, email: str, name: str) -> Customer:
    """The customer who owns the address, or a new one (two first submissions at once find each other)."""
    existing = customer_find_by_identity(kind="email", value=email)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return customer_create(actor=None, display_name=name,
                                   identities=[{"kind": "email", "value": email, "is_primary": True}])
    except (Conflict, IntegrityError):
        existing = customer_find_by_identity(kind="email", value=email)
        if existing is None:
            raise
        return existing


@dataclass(frozen=True)
class WebFormResult:
    ticket: Ticket
    customer: Customer
    submission: WebFormSubmission


@transaction.atomic
def web_form_ticket_open(*, name: str, email: str, subject: str, message: str, client_ip: str,
                         attachment: UploadedFile | None = None) -> WebFormResult:
    """Open a ticket (channel ``web``) for the visitor and queue the confirmation to ``email``."""
    name = " ".join((name or "").split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "required"
    elif len(name) > MAX_NAME:
        errors["name"] = f"at most {MAX_NAME} characters"
    if attachment is not None and attachment.size > MAX_ATTACHMENT_BYTES:
        errors["attachment"] = f"{attachment.name} is over {MAX_ATTACHMENT_BYTES // 2**20} MB"
    if errors:
        raise ValidationFailed("Some fields are missing or invalid.", fields=errors)
    email = _clean_email(email)
    web_form_check_limit(client_ip=client_ip, email=email)
    customer = _customer_for(email=email, name=name)
    opened = ticket_open_by_customer(requester=customer, subject=subject, body=message, channel=Channel.WEB,
                                     attachments=[attachment] if attachment is not None else [])
    submission = WebFormSubmission.objects.create(ticket=opened.ticket, email=email)
    for throttle in _throttles(client_ip=client_ip, email=email):
        transaction.on_commit(throttle.record)
    transaction.on_commit(partial(send_web_form_confirmation.enqueue, submission_id=submission.pk))
    return WebFormResult(ticket=opened.ticket, customer=opened.ticket.requester, submission=submission)


class WebFormDataHandler:
    """Lets customer export and erasure reach the addresses typed into the web form."""

    name = "inbox"

    def export(self, *, customer_id: int) -> list[dict]:
        rows = WebFormSubmission.objects.filter(ticket__requester_id=customer_id).order_by("created_at")
        return [{"ticket_id": r.ticket_id, "email": r.email, "created_at": r.created_at.isoformat(),
                 "confirmation_sent_at": r.confirmation_sent_at.isoformat() if r.confirmation_sent_at else None}
                for r in rows]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        return []  # submissions follow their tickets, which the tickets handler moves

    def erase(self, *, customer_id: int) -> int:
        return WebFormSubmission.objects.filter(ticket__requester_id=customer_id).exclude(email="").update(email="")
