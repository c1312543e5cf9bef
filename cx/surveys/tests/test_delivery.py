"""Quiet hours in the customer's time zone (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from cx.surveys.delivery import after_quiet_hours, in_quiet_hours, zone_or_default

BERLIN = ZoneInfo("Europe/Berlin")


def test_quiet_hours_wrap_midnight():
    assert in_quiet_hours(time(22), time(21), time(8))
    assert in_quiet_hours(time(7, 59), time(21), time(8))
    assert not in_quiet_hours(time(8), time(21), time(8))
    assert not in_quiet_hours(time(12), time(21), time(8))
    assert not in_quiet_hours(time(3), time(8), time(8))  # start == end: no quiet hours


def test_evening_send_waits_until_next_morning_in_customer_zone():
    moment = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
    held = after_quiet_hours(moment, zone=BERLIN, start=time(21), end=time(8))
    assert held.astimezone(BERLIN) == datetime(2026, 11, 24, 8, 0, tzinfo=BERLIN)


def test_early_morning_send_waits_until_the_same_morning():
    moment = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 06:00 in Berlin
    held = after_quiet_hours(moment, zone=BERLIN, start=time(21), end=time(8))
    assert held.astimezone(BERLIN) == datetime(2026, 11, 23, 8, 0, tzinfo=BERLIN)


def test_daytime_send_goes_now():
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert after_quiet_hours(moment, zone=BERLIN, start=time(21), end=time(8)) == moment


def test_unknown_zone_falls_back():
    assert zone_or_default("Mars/Olympus", "Europe/Berlin") == BERLIN
    assert zone_or_default("", "") == ZoneInfo("UTC")
