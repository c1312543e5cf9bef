"""Background work of the tracking app (run by `cxdesk worker`)."""

from __future__ import annotations

from django_tasks import task

from cx.tracking.loader import load_for


@task()
def tracking_load(seconds: float = 20.0) -> None:
    """Load spooled events into the analytics store for up to ``seconds`` (the loader's lock keeps two runs
    from overlapping; a busy loader makes this a no-op)."""
    load_for(seconds)
