"""The rows of a ticket table (inbox queues, saved views, search results) rendered in Python.

The inbox shows 50 rows on every page view, live refresh and Load more. As a template loop each row cost
about forty variable lookups, two ``date`` filters and a ``get_priority_display`` call, which made the row
loop the largest part of the queue page's CPU. ``{% ticket_rows rows %}`` writes the same markup from one
format string, escaping every value with ``conditional_escape`` exactly as the template's autoescaping did,
and showing times in the active (agent's) time zone like the ``date`` filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from cx.tickets.models import Priority, Ticket

register = template.Library()

_ROW = (
    '<tr class="ticket-row" id="ticket-row-{pk}" data-ticket-row data-ticket-id="{pk}" data-href="{url}">\n'
    "  {select}"
    '<td class="ticket-id">#{pk}</td>\n'
    '  <td class="ticket-subject"><a href="{url}">{subject}</a>\n'
    "    {tags}</td>\n"
    "  <td>{requester}</td>\n"
    '  <td><span class="badge status-{category}">{status}</span></td>\n'
    '  <td><span class="priority priority-{priority}">{priority_label}</span></td>\n'
    "  <td>{assignee}</td>\n"
    "  <td>{team}</td>\n"
    '  <td><time datetime="{iso}">{when}</time></td>\n'
    "</tr>\n"
)
_SELECT = ('<td class="select"><input type="checkbox" name="ticket_ids" value="{pk}" form="bulk-form" '
           'aria-label="Select ticket #{pk}"></td>\n  ')
_NOBODY = '<span class="muted">—</span>'


def _escape(value: Any) -> str:
    return conditional_escape(value)


def _local(value):
    """An aware datetime in the active time zone, as the ``date`` template filter shows it."""
    if value is not None and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def ticket_row_html(ticket: Ticket, *, tickets_url: str, selectable: bool, priority_labels: dict[str, str]) -> str:
    """One ``<tr>`` of the ticket table: the needed relations are loaded up front (see ``ROW_FIELDS``)."""
    pk = str(ticket.pk)
    updated = _local(ticket.updated_at)
    assignee, team = ticket.assignee, ticket.team
    return _ROW.format(
        pk=pk,
        url=f"{tickets_url}{pk}/",
        select=_SELECT.format(pk=pk) if selectable else "",
        subject=_escape(ticket.subject),
        tags="".join(f'<span class="badge tag">{_escape(tag.name)}</span>' for tag in ticket.tags.all()),
        requester=_escape(ticket.requester.name),
        category=_escape(ticket.status_category),
        status=_escape(ticket.status.name),
        priority=_escape(ticket.priority),
        priority_label=_escape(priority_labels.get(ticket.priority, ticket.priority)),
        assignee=_escape(assignee.display_name) if assignee is not None else _NOBODY,
        team=_escape(team.name) if team is not None else _NOBODY,
        iso=updated.isoformat() if updated else "",
        when=updated.strftime("%Y-%m-%d %H:%M") if updated else "",
    )


@register.simple_tag(takes_context=True)
def ticket_rows(context: template.Context, rows: Iterable[Ticket]) -> SafeString:
    """Every row of ``rows``; the selection checkbox shows when the context has ``can_write`` and
    ``selectable`` (the inbox, not search results)."""
    tickets_url = reverse("tickets:inbox")  # a ticket's page is /tickets/<id>/ (tickets/urls.py)
    selectable = bool(context.get("can_write") and context.get("selectable"))
    labels = {value: str(label) for value, label in Priority.choices}
    return mark_safe("".join(  # noqa: S308 - every value above is escaped by conditional_escape
        ticket_row_html(ticket, tickets_url=tickets_url, selectable=selectable, priority_labels=labels)
        for ticket in rows))
