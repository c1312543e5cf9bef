"""Background work for SLAs: recomputing open tickets after a calendar or policy edit."""

from __future__ import annotations

from django_tasks import task


@task()
def sla_recompute(*, calendar_id: int | None = None) -> int:
    """Recompute the SLA of every open ticket (or of those whose policy uses ``calendar_id``); safe to rerun."""
    from cx.sla.engine import sla_recompute_open_tickets

    return sla_recompute_open_tickets(calendar_id=calendar_id)
