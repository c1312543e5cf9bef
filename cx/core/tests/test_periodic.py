"""Periodic jobs run once per interval, survive a failing neighbour, and record errors."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cx.core import periodic
from cx.core.models import PeriodicJobRun


def test_a_job_runs_once_per_interval_and_failures_do_not_stop_others(db, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(periodic, "_jobs", {})

    def broken(now):
        raise RuntimeError("boom")

    periodic.register_periodic_job(name="count", every=timedelta(minutes=5), run=lambda now: calls.append("count"))
    periodic.register_periodic_job(name="broken", every=timedelta(minutes=5), run=broken)
    start = timezone.now()

    assert periodic.run_due_jobs(now=start) == ["count"]
    assert periodic.run_due_jobs(now=start + timedelta(minutes=1)) == []
    assert periodic.run_due_jobs(now=start + timedelta(minutes=6)) == ["count"]
    assert calls == ["count", "count"]
    assert "boom" in PeriodicJobRun.objects.get(name="broken").last_error
