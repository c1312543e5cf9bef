"""The customer portal: passwordless sign-in by emailed magic link, and the customer's requests.

Magic links are single use and expire after ``MAGIC_LINK_TTL``. The database keeps only a SHA-256 hash of
the token; the token itself is an HMAC of the row's random salt under SECRET_KEY, so the email task can
rebuild it from the row's id (tasks take ids, never secrets) while a database leak alone opens nothing.
Requests are limited per email address and per client IP, and the answer never says whether an address is
known (no account enumeration). Tickets go through cx.tickets services on the ``portal`` channel.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from cx.core.errors import DomainError, NotFound, ValidationFailed
from cx.customers.models import Customer
from cx.customers.selectors import customer_find_by_identity
from cx.kb.services import suggestion_opens_submitted
from cx.portal.models import MagicLink
from cx.tickets.models import Channel, Message, Ticket
from cx.tickets.services import ticket_customer_reply, ticket_open_by_customer

MAGIC_LINK_TTL = timedelta(minutes=15)
LINKS_PER_EMAIL_PER_HOUR = 5
LINKS_PER_IP_PER_HOUR = 20
_WINDOW_SECONDS = 3600


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


def _count_and_check(key: str, limit: int) -> bool:
    """Count one request for ``key``; False when the hour's limit was already reached."""
    cache_key = "cx:portal:limit:" + hashlib.sha256(key.encode()).hexdigest()
    if cache.add(cache_key, 1, _WINDOW_SECONDS):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:
        cache.set(cache_key, 1, _WINDOW_SECONDS)
        return True
    return count <= limit


def _token_for(link_id: int, salt: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"portal-link:{link_id}:{salt}".encode(),
                    hashlib.sha256).hexdigest()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def magic_link_token(link: MagicLink) -> str:
    """The token for the email (rebuilt, never stored)."""
    return _token_for(link.pk, link.salt)


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 254:
        raise ValidationFailed("The email address is too long.", fields={"email": "at most 254 characters"})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed("Enter a valid email address.", fields={"email": "not a valid email address"}) from None
    return email


def _safe_next(next_path: str) -> str:
    next_path = (next_path or "").strip()
    if next_path.startswith("/portal/") and "//" not in next_path and len(next_path) <= 200 and "\\" not in next_path:
        return next_path
    return ""


@transaction.atomic
def magic_link_request(*, email: str, client_ip: str, next_path: str = "") -> MagicLink | None:
    """Send a sign-in link if the address belongs to a customer. Returns the link (None for unknown
    addresses); callers show the same answer either way. Raises RateLimited after too many requests."""
    email = _clean_email(email)
    ip_ok = _count_and_check(f"ip:{client_ip or 'unknown'}", LINKS_PER_IP_PER_HOUR)
    email_ok = _count_and_check(f"email:{email}", LINKS_PER_EMAIL_PER_HOUR)
    if not (ip_ok and email_ok):
        raise RateLimited("Too many sign-in links were requested. Please wait an hour and try again.")
    customer = customer_find_by_identity(kind="email", value=email)
    if customer is not None and customer.merged_into_id is not None:
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    if customer is None or not customer.is_active_record:
        return None
    salt = secrets.token_hex(16)
    link = MagicLink(customer=customer, email=email, salt=salt, token_hash=secrets.token_hex(32),
                     expires_at=timezone.now() + MAGIC_LINK_TTL, next_path=_safe_next(next_path))
    link.save()
    link.token_hash = _hash(_token_for(link.pk, salt))
    link.save(update_fields=["token_hash"])
    from cx.portal.tasks import send_magic_link

    transaction.on_commit(partial(send_magic_link.enqueue, link_id=link.pk))
    return link


def magic_link_find(*, token: str) -> MagicLink:
    """The usable link for ``token``; NotFound when unknown, used or expired (one message for all three)."""
    if not token or len(token) > 128:
        raise NotFound("This sign-in link is not valid. Request a new one.")
    link = MagicLink.objects.select_related("customer").filter(token_hash=_hash(token)).first()
    if link is None or link.used_at is not None or link.expires_at <= timezone.now():
        raise NotFound("This sign-in link has expired or was already used. Request a new one.")
    return link


@transaction.atomic
def magic_link_redeem(*, token: str) -> MagicLink:
    """Use the link once: a second use, an expired or an unknown token is refused."""
    link = magic_link_find(token=token)
    claimed = MagicLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=timezone.now()).update(
        used_at=timezone.now())
    if not claimed:
        raise NotFound("This sign-in link has expired or was already used. Request a new one.")
    customer = link.customer
    if customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    if not customer.is_active_record:
        raise NotFound("This sign-in link is not valid. Request a new one.")
    link.customer = customer
    return link


# --- requests -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PortalRequest:
    ticket: Ticket


@transaction.atomic
def portal_request_open(*, customer: Customer, subject: str, body: str,
                        attachment: UploadedFile | None = None) -> Ticket:
    """A new request from the portal (channel ``portal``); suggestion opens just before it are not
    deflections."""
    if not (subject or "").strip():
        raise ValidationFailed("Give your request a subject.", fields={"subject": "required"})
    if not (body or "").strip():
        raise ValidationFailed("Describe your request.", fields={"body": "required"})
    opened = ticket_open_by_customer(requester=customer, subject=subject, body=body, channel=Channel.PORTAL,
                                     attachments=[attachment] if attachment is not None else [])
    suggestion_opens_submitted(customer=customer)
    return opened.ticket


@transaction.atomic
def portal_reply(*, customer: Customer, ticket: Ticket, body: str,
                 attachment: UploadedFile | None = None) -> Message:
    if not (body or "").strip():
        raise ValidationFailed("Write a message first.", fields={"body": "required"})
    return ticket_customer_reply(ticket=ticket, customer=customer, body=body, channel=Channel.PORTAL,
                                 attachments=[attachment] if attachment is not None else [])


class PortalDataHandler:
    """Lets customer merge, export and erasure reach sign-in links."""

    name = "portal"

    def export(self, *, customer_id: int) -> list[dict]:
        return [{"email": link.email, "created_at": link.created_at.isoformat(),
                 "used_at": link.used_at.isoformat() if link.used_at else None}
                for link in MagicLink.objects.filter(customer_id=customer_id).order_by("created_at")]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ids = list(MagicLink.objects.filter(customer_id=source_id).values_list("pk", flat=True))
        MagicLink.objects.filter(pk__in=ids).update(customer_id=target_id)
        return ids

    def erase(self, *, customer_id: int) -> int:
        deleted, _ = MagicLink.objects.filter(customer_id=customer_id).delete()
        return deleted
