"""Background work of the playbooks app (run by `cxdesk worker`; immediately in tests)."""

from __future__ import annotations

from django_tasks import task

from cx.playbooks.services import playbooks_process_events, playbooks_sweep


@task()
def playbooks_process() -> int:
    """Evaluate event-triggered playbooks for new touchpoints (safe to run twice: the cursor and the run keys
    make each trigger act once)."""
    return playbooks_process_events()


@task()
def playbooks_sweep_task() -> int:
    return playbooks_sweep()
