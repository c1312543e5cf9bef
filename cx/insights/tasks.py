"""Background work for Insights: sending the weekly digest after the scheduler queued it."""

from __future__ import annotations

from django_tasks import task

from cx.insights.services import digest_send


@task()
def send_weekly_digest(*, run_id: int) -> int:
    """Safe to run twice: each subscriber gets a week's digest at most once (see ``digest_send``)."""
    return digest_send(run_id=run_id)
