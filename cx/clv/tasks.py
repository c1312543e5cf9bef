"""Background work for CLV: the scheduled refit (the periodic job only queues it)."""

from __future__ import annotations

from django_tasks import task


@task()
def clv_refit_task() -> str:
    """Refit on the current orders; running it twice just refits twice."""
    from cx.clv.services import clv_refit

    return clv_refit(actor=None, trigger="schedule").status
