"""Validating typed custom-field values (pure functions; definitions come in as plain dicts)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_TEXT = 2000


class InvalidFieldValue(ValueError):
    pass


def clean_custom_value(field_type: str, options: list[str], value: Any) -> Any:
    """Return the stored form of a custom-field value, or raise InvalidFieldValue with a reason.

    None clears the field. Stored forms are JSON-friendly: str, number, ISO date string, bool.
    """
    if value is None or value == "":
        return None
    if field_type == "text":
        if not isinstance(value, str):
            raise InvalidFieldValue("must be text")
        if len(value) > MAX_TEXT:
            raise InvalidFieldValue(f"at most {MAX_TEXT} characters")
        return value.strip()
    if field_type == "number":
        if isinstance(value, bool):
            raise InvalidFieldValue("must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise InvalidFieldValue("must be a number") from None
        if not number.is_finite():
            raise InvalidFieldValue("must be a finite number")
        return int(number) if number == number.to_integral_value() else float(number)
    if field_type == "date":
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise InvalidFieldValue("must be a date like 2026-11-23") from None
    if field_type == "dropdown":
        if value not in options:
            raise InvalidFieldValue(f"must be one of: {', '.join(options)}")
        return value
    if field_type == "checkbox":
        if isinstance(value, bool):
            return value
        if value in ("true", "on", "1", 1):
            return True
        if value in ("false", "off", "0", 0):
            return False
        raise InvalidFieldValue("must be true or false")
    raise InvalidFieldValue(f"unknown field type {field_type}")
