"""The rows of a ticket table (inbox queues, saved views, search results) rendered in Python.

The rows are ``TicketRow`` values from ``cx.tickets.selectors.ticket_row_page`` (plain columns, no model
instances).

The inbox shows 50 rows on every page view, live refresh and Load more. As a template loop each row cost
about forty variable lookups, two ``date`` filters and a ``get_priority_display`` call, which made the row
loop the largest part of the queue page's CPU. ``{% ticket_rows rows %}`` writes the same markup from one
format string, escaping every value as the template's autoescaping did (``conditional_escape``),
and showing times in the active (agent's) time zone like the ``date`` filter.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from cx.tickets.models import Priority
from cx.tickets.selectors import TicketRow

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
    """``conditional_escape`` without its lazy-string wrapper (called about 400 times per page)."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _local(value):
    """An aware datetime in the active time zone, as the ``date`` template filter shows it."""
    if value is not None and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def ticket_row_html(row: TicketRow, *, tickets_url: str, selectable: bool, priority_labels: dict[str, str]) -> str:
    """One ``<tr>`` of the ticket table."""
    pk = str(row.pk)
    updated = _local(row.updated_at)
    return _ROW.format(
        pk=pk,
        url=f"{tickets_url}{pk}/",
        select=_SELECT.format(pk=pk) if selectable else "",
        subject=_escape(row.subject),
        tags="".join(f'<span class="badge tag">{_escape(name)}</span>' for name in row.tag_names),
        requester=_escape(row.requester_name),
        category=_escape(row.status_category),
        status=_escape(row.status_name),
        priority=_escape(row.priority),
        priority_label=_escape(priority_labels.get(row.priority, row.priority)),
        assignee=_escape(row.assignee_name) if row.assignee_name is not None else _NOBODY,
        team=_escape(row.team_name) if row.team_name is not None else _NOBODY,
        iso=updated.isoformat() if updated else "",
        when=updated.strftime("%Y-%m-%d %H:%M") if updated else "",
    )


@register.simple_tag(takes_context=True)
def ticket_rows(context: template.Context, rows: Iterable[TicketRow]) -> SafeString:
    """Every row of ``rows``; the selection checkbox shows when the context has ``can_write`` and
    ``selectable`` (the inbox, not search results)."""
    tickets_url = reverse("tickets:inbox")  # a ticket's page is /tickets/<id>/ (tickets/urls.py)
    selectable = bool(context.get("can_write") and context.get("selectable"))
    labels = {value: str(label) for value, label in Priority.choices}
    return mark_safe("".join(  # noqa: S308 - every value above is escaped by _escape
        ticket_row_html(ticket, tickets_url=tickets_url, selectable=selectable, priority_labels=labels)
        for ticket in rows))
