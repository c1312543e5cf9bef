"""Normalising identity values so the same person is recognised however a channel writes them."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from cx.customers.models import IdentityKind

_PHONE_STRIP = re.compile(r"[\s\-().]")
_DIGITS = re.compile(r"^\d{1,32}$")


class InvalidIdentity(ValueError):
    pass


def normalize_identity(kind: str, value: str) -> str:
    """Return the canonical form of an identity value or raise InvalidIdentity with a reason."""
    if kind not in IdentityKind.values:
        raise InvalidIdentity(f"unknown kind; use one of {', '.join(IdentityKind.values)}")
    if not isinstance(value, str):
        raise InvalidIdentity("must be a string")
    value = value.strip()
    if not value:
        raise InvalidIdentity("must not be empty")
    if len(value) > 255:
        raise InvalidIdentity("at most 255 characters")
    if kind == IdentityKind.EMAIL:
        value = value.lower()
        try:
            validate_email(value)
        except ValidationError:
            raise InvalidIdentity("not a valid email address") from None
        return value
    if kind == IdentityKind.PHONE:
        compact = _PHONE_STRIP.sub("", value)
        if compact.startswith("00"):
            compact = "+" + compact[2:]
        if not re.fullmatch(r"\+[1-9]\d{6,14}", compact):
            raise InvalidIdentity("use international format, e.g. +4915112345678")
        return compact
    if kind == IdentityKind.WHATSAPP:
        compact = _PHONE_STRIP.sub("", value).lstrip("+")
        if not re.fullmatch(r"[1-9]\d{6,14}", compact):
            raise InvalidIdentity("a WhatsApp id is the phone number in digits, e.g. 4915112345678")
        return compact
    if kind in (IdentityKind.TELEGRAM, IdentityKind.MESSENGER):
        if not _DIGITS.match(value):
            raise InvalidIdentity("must be the numeric id the platform sends")
        return value
    return value
