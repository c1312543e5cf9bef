"""Periodic jobs (SLA breach checks, time-based automation rules, re-offering unassigned tickets).

Apps register jobs in AppConfig.ready(); the `cxdesk scheduler` process (started by `cxdesk run`) calls
``run_due_jobs`` every few seconds. A job runs at most once per interval across all scheduler processes:
the job's row is locked while it runs and skipped by others. Jobs must be idempotent and quick; heavy work
is enqueued as tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cx.core.models import PeriodicJobRun

logger = logging.getLogger("cx.periodic")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[datetime], object]


_jobs: dict[str, PeriodicJob] = {}


def register_periodic_job(*, name: str, every: timedelta, run: Callable[[datetime], object]) -> None:
    _jobs[name] = PeriodicJob(name=name, every=every, run=run)


def periodic_jobs() -> list[PeriodicJob]:
    return [_jobs[name] for name in sorted(_jobs)]


def run_due_jobs(*, now: datetime | None = None, only: set[str] | None = None) -> list[str]:
    """Run every job whose interval has passed; returns the names that ran. Failures are logged and
    recorded on the job's row, never raised, so one broken job cannot stop the others."""
    now = now or timezone.now()
    ran: list[str] = []
    for job in periodic_jobs():
        if only is not None and job.name not in only:
            continue
        PeriodicJobRun.objects.get_or_create(name=job.name)
        try:
            with transaction.atomic():
                row = PeriodicJobRun.objects.select_for_update(skip_locked=True).filter(name=job.name).first()
                if row is None:
                    continue  # another scheduler is running it right now
                if row.last_started_at is not None and now - row.last_started_at < job.every:
                    continue
                row.last_started_at = now
                job.run(now)
                row.last_finished_at = timezone.now()
                row.last_error = ""
                row.save()
                ran.append(job.name)
        except Exception as exc:
            logger.exception("periodic job %s failed", job.name)
            PeriodicJobRun.objects.filter(name=job.name).update(last_started_at=now, last_error=repr(exc)[:2000])
    return ran
