"""Placeholders in automated replies and notes: ``Hi {{customer.first_name|there}}, ticket #{{ticket.id}}``.

A deliberately tiny renderer instead of Django templates, because the text is written by admins and agents:
only the names below exist, a value is inserted as plain text and never rendered again (a customer whose
name is ``{{agent.name}}`` stays literally that), and nothing else (tags, filters, attribute access) runs.
``|fallback`` after a name gives the text used when the value is empty. Pure: no Django import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDERS: dict[str, str] = {
    "customer.first_name": "The requester's first name",
    "customer.last_name": "The requester's last name",
    "customer.name": "The requester's display name",
    "customer.email": "The requester's primary email address",
    "customer.organization": "The requester's organisation",
    "ticket.id": "The ticket number",
    "ticket.subject": "The ticket subject",
    "ticket.status": "The ticket status",
    "ticket.priority": "The ticket priority",
    "ticket.channel": "The channel the ticket came in on",
    "agent.first_name": "The agent (the one applying a macro; the assignee for triggers and time rules)",
    "agent.name": "The agent's full name",
}
MAX_FALLBACK = 100
_PATTERN = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*(?:\|([^{}|]{0," + str(MAX_FALLBACK) + r"}))?\}\}")


def unknown_placeholders(template: str) -> list[str]:
    """Names used in ``template`` that the renderer does not know (refused when a rule is saved)."""
    return sorted({m.group(1) for m in _PATTERN.finditer(template) if m.group(1) not in PLACEHOLDERS})


def render_placeholders(template: str, values: Mapping[str, Any]) -> str:
    """Replace each known placeholder with its value as text, in one pass; unknown names render empty."""

    def _replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        text = "" if value is None else str(value)
        if not text.strip() and match.group(2) is not None:
            return match.group(2).strip()
        return text

    return _PATTERN.sub(_replace, template)
