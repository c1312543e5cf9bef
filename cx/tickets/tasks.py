"""Background work of the tickets app, run by `cxdesk worker`."""

from __future__ import annotations

from django_tasks import task

from cx.tickets import deferred


@task()
def drain_deferred_ticket_changes() -> int:
    """Run the observers of deferred ticket changes (chat messages) in a batch; queues the next batch when
    this one was full. Returns how many ran."""
    ran = deferred.drain()
    if ran >= deferred.DRAIN_BATCH:
        drain_deferred_ticket_changes.enqueue()
    return ran
