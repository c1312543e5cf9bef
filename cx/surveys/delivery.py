"""Delivery rules that are pure computation: quiet hours in the customer's time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_or_default(name: str, default: str = "UTC") -> ZoneInfo:
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Quiet hours [start, end) may wrap midnight (21:00-08:00). start == end means no quiet hours."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(moment: datetime, *, zone: ZoneInfo, start: time, end: time) -> datetime:
    """``moment`` itself when it is outside quiet hours in ``zone``, else the next end of quiet hours
    (wall-clock time in that zone, DST-safe), returned in the same zone as ``moment``."""
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.timetz().replace(tzinfo=None), start, end):
        return moment
    day = local.date()
    if start > end and local.time() >= start:
        day = day + timedelta(days=1)  # late evening: quiet until tomorrow morning
    wake = datetime.combine(day, end, tzinfo=zone)
    # A wall-clock time skipped by a DST jump normalises forward through UTC.
    wake = wake.astimezone(ZoneInfo("UTC")).astimezone(zone)
    return wake.astimezone(moment.tzinfo)
