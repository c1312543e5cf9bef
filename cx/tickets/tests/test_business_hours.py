"""The SLA business-hours clock: hand-computed cases (DST included), then properties checked against a
minute-by-minute reference that only asks "is this UTC instant open on the local wall clock?"."""

from __future__ import annotations

import dataclasses
import pickle
import time as timer
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cx.tickets import business_hours
from cx.tickets.business_hours import (
    BusinessCalendar,
    add_business_time,
    add_business_time_with_pauses,
    business_time_between,
    business_time_with_pauses,
    is_open,
    open_intervals,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

NINE_TO_FIVE = ((time(9), time(17)),)


def weekdays(intervals, zone="Europe/Berlin", holidays=()):
    """Monday to Friday with the same opening hours."""
    return BusinessCalendar(time_zone=zone, weekly=dict.fromkeys(range(5), intervals), holidays=frozenset(holidays))


def every_day(intervals, zone="Europe/Berlin"):
    return BusinessCalendar(time_zone=zone, weekly=dict.fromkeys(range(7), intervals))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# Hand-computed cases ------------------------------------------------------------------------------------


def test_two_hours_from_friday_afternoon_are_due_monday_morning():
    friday_4pm = datetime(2026, 3, 6, 16, tzinfo=BERLIN)
    due = add_business_time(weekdays(NINE_TO_FIVE), friday_4pm, 2 * HOUR)
    assert due == datetime(2026, 3, 9, 10, tzinfo=BERLIN)
    assert due.tzinfo is UTC
    assert business_time_between(weekdays(NINE_TO_FIVE), friday_4pm, due) == 2 * HOUR


def test_a_monday_holiday_pushes_the_due_time_to_tuesday():
    calendar = weekdays(NINE_TO_FIVE, holidays={date(2026, 3, 9)})
    due = add_business_time(calendar, datetime(2026, 3, 6, 16, tzinfo=BERLIN), 2 * HOUR)
    assert due == datetime(2026, 3, 10, 10, tzinfo=BERLIN)


def test_a_target_met_exactly_at_closing_is_due_at_closing_not_at_the_next_opening():
    due = add_business_time(weekdays(NINE_TO_FIVE), datetime(2026, 3, 6, 16, tzinfo=BERLIN), HOUR)
    assert due == datetime(2026, 3, 6, 17, tzinfo=BERLIN)


def test_a_zero_target_is_due_at_the_start_even_when_closed():
    saturday = datetime(2026, 3, 7, 12, 34, 56, 789, tzinfo=BERLIN)
    assert add_business_time(weekdays(NINE_TO_FIVE), saturday, timedelta(0)) == saturday
    empty = BusinessCalendar(time_zone="UTC", weekly={})
    assert add_business_time(empty, saturday, timedelta(0)) == saturday


def test_lunch_breaks_do_not_count():
    calendar = weekdays(((time(9), time(12)), (time(13), time(17))))
    monday_11 = datetime(2026, 3, 9, 11, tzinfo=BERLIN)
    assert add_business_time(calendar, monday_11, 2 * HOUR) == datetime(2026, 3, 9, 14, tzinfo=BERLIN)
    assert business_time_between(calendar, datetime(2026, 3, 9, 11, 30, tzinfo=BERLIN),
                                 datetime(2026, 3, 9, 13, 30, tzinfo=BERLIN)) == HOUR
    assert list(open_intervals(calendar, monday_11, datetime(2026, 3, 9, 18, tzinfo=BERLIN))) == [
        (utc(2026, 3, 9, 10), utc(2026, 3, 9, 11)),
        (utc(2026, 3, 9, 12), utc(2026, 3, 9, 16)),
    ]


def test_touching_intervals_are_one_stretch_of_opening_hours():
    split = weekdays(((time(13), time(17)), (time(9), time(13))))
    assert split == weekdays(NINE_TO_FIVE)
    assert split.weekly[0] == NINE_TO_FIVE


def test_night_shift_loses_an_hour_on_the_berlin_spring_forward_night():
    # 2026-03-29: the wall clock jumps from 02:00 CET to 03:00 CEST.
    night = every_day(((time(0), time(6)), (time(22), time(0))))
    saturday_evening = datetime(2026, 3, 28, 21, tzinfo=BERLIN)
    sunday_morning = datetime(2026, 3, 29, 7, tzinfo=BERLIN)
    assert business_time_between(night, saturday_evening, sunday_morning) == 7 * HOUR
    assert list(open_intervals(night, saturday_evening, sunday_morning)) == [
        (utc(2026, 3, 28, 21), utc(2026, 3, 29, 4))  # 22:00 CET to 06:00 CEST, one stretch across midnight
    ]
    # Four hours from 22:00 end exactly when the clock jumps: the earliest such instant is the jump itself.
    due = add_business_time(night, datetime(2026, 3, 28, 22, tzinfo=BERLIN), 4 * HOUR)
    assert due == utc(2026, 3, 29, 1)
    assert due.astimezone(BERLIN).hour == 3


def test_night_shift_gains_an_hour_on_the_berlin_fall_back_night():
    # 2026-10-25: the wall clock turns back from 03:00 CEST to 02:00 CET, so 02:00-03:00 happens twice.
    night = every_day(((time(0), time(6)), (time(22), time(0))))
    saturday_evening = datetime(2026, 10, 24, 21, tzinfo=BERLIN)
    sunday_morning = datetime(2026, 10, 25, 7, tzinfo=BERLIN)
    assert business_time_between(night, saturday_evening, sunday_morning) == 9 * HOUR
    due = add_business_time(night, datetime(2026, 10, 24, 22, tzinfo=BERLIN), 5 * HOUR)
    assert due == utc(2026, 10, 25, 1)
    local = due.astimezone(BERLIN)
    assert (local.hour, local.fold) == (2, 1)  # the second 02:00


def test_a_spring_forward_gap_inside_opening_hours_shortens_only_the_intervals_that_contain_it():
    sunday = BusinessCalendar(time_zone="Europe/Berlin", weekly={6: ((time(0), time(8)), (time(9), time(17)))})
    day_start, day_end = datetime(2026, 3, 29, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)
    assert [b - a for a, b in open_intervals(sunday, day_start, day_end)] == [7 * HOUR, 8 * HOUR]


def test_an_opening_time_inside_the_spring_forward_gap_takes_effect_when_the_clock_jumps():
    sunday = BusinessCalendar(time_zone="Europe/Berlin", weekly={6: ((time(2, 30), time(5)),)})
    assert list(open_intervals(sunday, utc(2026, 3, 28), utc(2026, 3, 30))) == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 3))  # 03:00 CEST to 05:00 CEST
    ]
    inside_gap = BusinessCalendar(time_zone="Europe/Berlin", weekly={6: ((time(2), time(2, 45)),)})
    assert list(open_intervals(inside_gap, utc(2026, 3, 28), utc(2026, 3, 30))) == []


def test_a_closing_time_inside_the_repeated_hour_is_met_twice_on_the_fall_back_day():
    sunday = BusinessCalendar(time_zone="Europe/Berlin", weekly={6: ((time(0), time(2, 30)),)})
    assert list(open_intervals(sunday, utc(2026, 10, 24), utc(2026, 10, 26))) == [
        (utc(2026, 10, 24, 22), utc(2026, 10, 25, 0, 30)),  # 00:00 CEST to the first 02:30
        (utc(2026, 10, 25, 1), utc(2026, 10, 25, 1, 30)),  # the second 02:00 to the second 02:30
    ]


def test_new_york_business_hours_follow_the_wall_clock_across_the_dst_weekend():
    # 2026-03-08 New York springs forward: Friday 16:00 EST + 2h is Monday 10:00 EDT.
    calendar = weekdays(NINE_TO_FIVE, zone="America/New_York")
    friday_4pm = datetime(2026, 3, 6, 16, tzinfo=NEW_YORK)
    due = add_business_time(calendar, friday_4pm, 2 * HOUR)
    assert due == utc(2026, 3, 9, 14)
    assert due.astimezone(NEW_YORK).hour == 10
    assert business_time_between(calendar, friday_4pm, due) == 2 * HOUR


def test_kolkata_half_hour_offset_is_respected():
    calendar = BusinessCalendar(time_zone="Asia/Kolkata", weekly=dict.fromkeys(range(6), ((time(9, 30), time(18)),)))
    due = add_business_time(calendar, datetime(2026, 1, 5, 17, tzinfo=KOLKATA), 3 * HOUR)
    assert due == datetime(2026, 1, 6, 11, 30, tzinfo=KOLKATA)
    assert due == utc(2026, 1, 6, 6)


def test_lord_howe_half_hour_dst_shift_changes_a_night_interval_by_thirty_minutes():
    sunday_night = BusinessCalendar(time_zone="Australia/Lord_Howe", weekly={6: ((time(0), time(8)),)})
    spring = (datetime(2026, 10, 4, tzinfo=LORD_HOWE), datetime(2026, 10, 5, tzinfo=LORD_HOWE))
    autumn = (datetime(2026, 4, 5, tzinfo=LORD_HOWE), datetime(2026, 4, 6, tzinfo=LORD_HOWE))
    assert business_time_between(sunday_night, *spring) == timedelta(hours=7, minutes=30)
    assert business_time_between(sunday_night, *autumn) == timedelta(hours=8, minutes=30)
    # 02:00-02:30 does not exist on 2026-10-04: 02:15 opens when the clock jumps (02:00 +10:30 = 15:30 UTC).
    late = BusinessCalendar(time_zone="Australia/Lord_Howe", weekly={6: ((time(2, 15), time(4)),)})
    assert list(open_intervals(late, *spring)) == [(utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 17))]


def test_always_open_calendar_counts_real_elapsed_time_across_dst():
    calendar = BusinessCalendar.always_open("Europe/Berlin")
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    assert business_time_between(calendar, start, datetime(2026, 3, 29, 12, tzinfo=BERLIN)) == 23 * HOUR
    assert add_business_time(calendar, start, 24 * HOUR) == datetime(2026, 3, 29, 13, tzinfo=BERLIN)


def test_open_intervals_and_is_open_agree_on_the_open_stretches():
    calendar = weekdays(NINE_TO_FIVE)
    assert is_open(calendar, datetime(2026, 3, 9, 9, tzinfo=BERLIN))
    assert not is_open(calendar, datetime(2026, 3, 9, 17, tzinfo=BERLIN))
    assert not is_open(calendar, datetime(2026, 3, 8, 12, tzinfo=BERLIN))
    assert list(open_intervals(calendar, datetime(2026, 3, 9, 12, tzinfo=BERLIN),
                               datetime(2026, 3, 9, 11, tzinfo=BERLIN))) == []


# Pauses (pending / on hold) ------------------------------------------------------------------------------


def test_a_pending_pause_moves_the_due_time_by_the_paused_business_time():
    calendar = weekdays(NINE_TO_FIVE)
    monday_9 = datetime(2026, 3, 9, 9, tzinfo=BERLIN)
    pending = [(datetime(2026, 3, 9, 10, tzinfo=BERLIN), datetime(2026, 3, 9, 12, tzinfo=BERLIN))]
    assert add_business_time_with_pauses(calendar, monday_9, 4 * HOUR, pending) == datetime(
        2026, 3, 9, 15, tzinfo=BERLIN)
    assert business_time_with_pauses(calendar, monday_9, datetime(2026, 3, 9, 17, tzinfo=BERLIN), pending) == 6 * HOUR


def test_overlapping_pauses_count_once():
    calendar = weekdays(NINE_TO_FIVE)
    monday = [datetime(2026, 3, 9, h, tzinfo=BERLIN) for h in range(24)]
    overlapping = [(monday[11], monday[13]), (monday[10], monday[12]), (monday[12], monday[12])]
    assert business_time_with_pauses(calendar, monday[9], monday[17], overlapping) == 5 * HOUR


def test_a_running_pause_stops_the_clock_until_now():
    calendar = weekdays(NINE_TO_FIVE)
    monday_9, monday_11 = datetime(2026, 3, 9, 9, tzinfo=BERLIN), datetime(2026, 3, 9, 11, tzinfo=BERLIN)
    on_hold = [(monday_11, None)]
    now = datetime(2026, 3, 11, 15, tzinfo=BERLIN)
    assert business_time_with_pauses(calendar, monday_9, now, on_hold) == 2 * HOUR
    # No due time while on hold, unless the target was reached before the hold began.
    assert add_business_time_with_pauses(calendar, monday_9, 3 * HOUR, on_hold) is None
    assert add_business_time_with_pauses(calendar, monday_9, HOUR, on_hold) == datetime(2026, 3, 9, 10, tzinfo=BERLIN)


# Validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
        ({"time_zone": "../etc/passwd"}, "unknown time zone"),
        ({"time_zone": ""}, "IANA zone name"),
        ({"weekly": {0: ((time(17), time(9)),)}}, r"weekly\[Monday\]: interval 17:00-09:00 is reversed or empty"),
        ({"weekly": {0: ((time(9), time(9)),)}}, "reversed or empty"),
        ({"weekly": {1: ((time(9), time(12)), (time(11), time(13)))}},
         r"weekly\[Tuesday\]: intervals 09:00-12:00 and 11:00-13:00 overlap"),
        ({"weekly": {2: ((time(9), time(0)), (time(22), time(23)))}}, "overlap"),
        ({"weekly": {7: NINE_TO_FIVE}}, r"weekday keys are 0 \(Monday\) ... 6 \(Sunday\), got 7"),
        ({"weekly": {0: (time(9), time(17))}}, "each interval is a \\(start, end\\) pair"),
        ({"weekly": {0: (("09:00", "17:00"),)}}, "must be datetime.time"),
        ({"weekly": {0: ((time(9, tzinfo=UTC), time(17)),)}}, "local wall-clock times"),
        ({"weekly": [NINE_TO_FIVE]}, "weekly must map weekdays"),
        ({"holidays": {datetime(2026, 1, 1, tzinfo=UTC)}}, "whole local dates"),
    ],
)
def test_invalid_calendars_are_rejected_with_a_clear_reason(kwargs, message):
    arguments = {"time_zone": "Europe/Berlin", "weekly": {0: NINE_TO_FIVE}} | kwargs
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**arguments)


def test_a_whole_day_and_until_midnight_are_expressible():
    calendar = BusinessCalendar(time_zone="UTC", weekly={0: ((time(0), time(0)),), 1: ((time(18), time(0)),)})
    assert business_time_between(calendar, utc(2026, 3, 9), utc(2026, 3, 11)) == 30 * HOUR


def test_naive_datetimes_are_rejected():
    calendar = weekdays(NINE_TO_FIVE)
    naive = datetime(2026, 3, 9, 9)
    aware = datetime(2026, 3, 9, 9, tzinfo=BERLIN)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        business_time_between(calendar, naive, aware)
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        list(open_intervals(calendar, aware, naive))
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        add_business_time(calendar, naive, HOUR)
    with pytest.raises(ValueError, match="pause start must be timezone-aware"):
        business_time_with_pauses(calendar, aware, aware + HOUR, [(naive, None)])
    with pytest.raises(ValueError, match="instant must be timezone-aware"):
        is_open(calendar, naive)


def test_bad_durations_and_pauses_are_rejected():
    calendar = weekdays(NINE_TO_FIVE)
    start = datetime(2026, 3, 9, 9, tzinfo=BERLIN)
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_time(calendar, start, -MINUTE)
    with pytest.raises(ValueError, match="pause ends before it starts"):
        business_time_with_pauses(calendar, start, start + HOUR, [(start + HOUR, start)])
    with pytest.raises(ValueError, match="no opening hours"):
        add_business_time(BusinessCalendar(time_zone="UTC", weekly={0: ()}), start, MINUTE)


def test_due_times_are_found_quickly_across_years_of_holidays():
    closed_years = {date(2026, 1, 1) + timedelta(days=n) for n in range(5 * 365 + 1)}  # 2026-01-01 .. 2030-12-31
    calendar = weekdays(NINE_TO_FIVE, holidays=closed_years)
    began = timer.perf_counter()
    due = add_business_time(calendar, datetime(2025, 12, 31, 16, tzinfo=BERLIN), 2 * HOUR)
    assert timer.perf_counter() - began < 0.5
    assert due == datetime(2031, 1, 1, 10, tzinfo=BERLIN)


def test_a_due_time_thirty_business_days_ahead_takes_milliseconds():
    calendar = weekdays(((time(8), time(12)), (time(13), time(17))), zone="America/New_York")
    business_hours._offset_stretches.cache_clear()  # measure the cold path too
    starts = [utc(2026, 1, 1) + timedelta(days=n, minutes=37 * n) for n in range(50)]
    began = timer.perf_counter()
    dues = [add_business_time(calendar, start, 30 * 8 * HOUR) for start in starts]
    per_due = (timer.perf_counter() - began) / len(starts)
    assert per_due < 0.01  # minute-by-minute stepping would need ~60,000 steps per due time
    assert all(business_time_between(calendar, s, d) == 30 * 8 * HOUR for s, d in zip(starts, dues, strict=True))


# Calendars are values -----------------------------------------------------------------------------------


def test_calendars_are_immutable_values():
    source = {0: [(time(13), time(17)), (time(9), time(12))]}
    calendar = BusinessCalendar(time_zone="Europe/Berlin", weekly=source, holidays={date(2026, 3, 10)})
    same = BusinessCalendar(time_zone="Europe/Berlin", weekly={6: (), 0: ((time(9), time(12)), (time(13), time(17)))},
                            holidays=frozenset({date(2026, 3, 10)}))
    assert calendar == same
    assert hash(calendar) == hash(same)
    assert {calendar: "policy"}[same] == "policy"
    assert pickle.loads(pickle.dumps(calendar)) == calendar  # noqa: S301 - our own bytes

    source[0].append((time(20), time(21)))  # editing the input afterwards changes nothing
    assert calendar == same
    with pytest.raises(dataclasses.FrozenInstanceError):
        calendar.time_zone = "UTC"
    with pytest.raises(TypeError):
        calendar.weekly[0] = NINE_TO_FIVE

    week = (datetime(2026, 3, 9, tzinfo=BERLIN), datetime(2026, 3, 16, tzinfo=BERLIN))
    before = business_time_between(calendar, *week)
    edited = dataclasses.replace(calendar, weekly={0: NINE_TO_FIVE}, holidays=frozenset())
    assert business_time_between(edited, *week) == 8 * HOUR
    assert business_time_between(calendar, *week) == before == 7 * HOUR


# Properties against a minute-by-minute reference --------------------------------------------------------

ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/Dublin",  # negative DST in the tz data
    "America/New_York",
    "America/St_Johns",  # -03:30 with DST
    "America/Santiago",  # transitions at local midnight
    "America/Sao_Paulo",  # DST until 2019, at midnight
    "Asia/Tehran",  # DST until 2022, at midnight
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",  # 30-minute DST
    "Australia/Adelaide",
    "Pacific/Chatham",  # +12:45 with DST
    "Africa/Casablanca",  # clock changes around Ramadan
)
FIRST = datetime(2019, 1, 1, tzinfo=UTC)
LAST = datetime(2027, 12, 31, tzinfo=UTC)
YEARS_IN_MINUTES = int((LAST - FIRST) / MINUTE)


@cache
def offset_changes(zone_name: str) -> tuple[datetime, ...]:
    """UTC midnights right after a change of the zone's UTC offset, so starts can be drawn around them."""
    zone = ZoneInfo(zone_name)
    days = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
    offsets = [day.astimezone(zone).utcoffset() for day in days]
    return tuple(day for day, previous, offset in zip(days[1:], offsets, offsets[1:], strict=False)
                 if offset != previous)


@dataclass(frozen=True)
class Scenario:
    zone: str
    weekly: dict[int, list[tuple[int, int]]]  # weekday -> (from, to) minutes since local midnight, to <= 1440
    holidays: frozenset[date]
    start: datetime
    minutes: int

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            time_zone=self.zone,
            weekly={day: tuple((as_time(a), as_time(b)) for a, b in spans) for day, spans in self.weekly.items()},
            holidays=self.holidays,
        )

    def is_open(self, instant: datetime) -> bool:
        """The reference rule, straight from the definition: read the local wall clock and look it up."""
        local = instant.astimezone(ZoneInfo(self.zone))
        if local.date() in self.holidays:
            return False
        minute_of_day = local.hour * 60 + local.minute
        return any(a <= minute_of_day < b for a, b in self.weekly[local.weekday()])

    def open_minutes(self) -> list[bool]:
        """Whether each UTC minute after start is open; exact, as every boundary falls on a whole UTC minute."""
        return [self.is_open(self.start + k * MINUTE) for k in range(self.minutes)]


def as_time(minute_of_day: int) -> time:
    return time(0) if minute_of_day == 1440 else time(minute_of_day // 60, minute_of_day % 60)


# Quarter hours, leaning towards the hours where clocks change.
quarter_hours = st.one_of(st.integers(0, 96), st.sampled_from([0, 4, 6, 8, 9, 10, 12, 96]))


@st.composite
def day_intervals(draw) -> list[tuple[int, int]]:
    count = draw(st.integers(0, 3))
    points = sorted(draw(st.lists(quarter_hours, unique=True, min_size=2 * count, max_size=2 * count)))
    return [(points[i] * 15, points[i + 1] * 15) for i in range(0, 2 * count, 2)]


@st.composite
def scenarios(draw, max_minutes: int = 5 * 1440) -> Scenario:
    zone = draw(st.sampled_from(ZONES))
    changes = offset_changes(zone)
    if changes and draw(st.booleans()):
        start = draw(st.sampled_from(changes)) + draw(st.integers(-4 * 1440, 2 * 1440)) * MINUTE
    else:
        start = FIRST + draw(st.integers(0, YEARS_IN_MINUTES)) * MINUTE
    first_day = start.astimezone(ZoneInfo(zone)).date()
    holidays = frozenset(first_day + timedelta(days=n) for n in draw(st.sets(st.integers(-1, 6), max_size=3)))
    weekly = {day: draw(day_intervals()) for day in range(7)}
    return Scenario(zone, weekly, holidays, start, draw(st.integers(0, max_minutes)))


def runs(flags: list[bool], start: datetime) -> list[tuple[datetime, datetime]]:
    """Maximal open runs of minutes as (from, to) instants."""
    found, run_start = [], None
    for k, flag in enumerate([*flags, False]):
        if flag and run_start is None:
            run_start = k
        elif not flag and run_start is not None:
            found.append((start + run_start * MINUTE, start + k * MINUTE))
            run_start = None
    return found


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_business_time_and_due_times_match_a_minute_by_minute_reference(scenario, data):
    calendar, start = scenario.calendar(), scenario.start
    flags = scenario.open_minutes()
    end = start + scenario.minutes * MINUTE

    assert list(open_intervals(calendar, start, end)) == runs(flags, start)
    assert business_time_between(calendar, start, end) == sum(flags) * MINUTE
    middle = data.draw(st.integers(0, scenario.minutes), label="middle")
    assert business_time_between(calendar, start, start + middle * MINUTE) == sum(flags[:middle]) * MINUTE

    target = data.draw(st.integers(0, sum(flags)), label="target minutes")
    open_minute_indexes = [k for k, flag in enumerate(flags) if flag]
    expected_due = start if target == 0 else start + (open_minute_indexes[target - 1] + 1) * MINUTE
    assert add_business_time(calendar, start, target * MINUTE) == expected_due

    for k in data.draw(st.lists(st.integers(0, max(scenario.minutes - 1, 0)), max_size=5), label="probes"):
        if k < scenario.minutes:
            assert is_open(calendar, start + k * MINUTE) == flags[k]


@st.composite
def pauses_around(draw, scenario: Scenario) -> list[tuple[datetime, datetime | None]]:
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        begin = draw(st.integers(-600, scenario.minutes + 600))
        length = draw(st.one_of(st.integers(0, 2 * 1440), st.none()) if not pauses else st.integers(0, 2 * 1440))
        finish = None if length is None else scenario.start + (begin + length) * MINUTE
        pauses.append((scenario.start + begin * MINUTE, finish))
    return draw(st.permutations(pauses))


@settings(max_examples=50, deadline=None)
@given(scenario=scenarios(max_minutes=3 * 1440), data=st.data())
def test_paused_business_time_matches_a_minute_by_minute_reference(scenario, data):
    calendar, start = scenario.calendar(), scenario.start
    pauses = data.draw(pauses_around(scenario), label="pauses")

    def paused(instant):
        return any(begin <= instant and (finish is None or instant < finish) for begin, finish in pauses)

    counted = [flag and not paused(start + k * MINUTE) for k, flag in enumerate(scenario.open_minutes())]
    end = start + scenario.minutes * MINUTE
    assert business_time_with_pauses(calendar, start, end, pauses) == sum(counted) * MINUTE

    target = data.draw(st.integers(0, sum(counted)), label="target minutes")
    counted_indexes = [k for k, flag in enumerate(counted) if flag]
    expected_due = start if target == 0 else start + (counted_indexes[target - 1] + 1) * MINUTE
    assert add_business_time_with_pauses(calendar, start, target * MINUTE, pauses) == expected_due

    still_paused_since = [begin for begin, finish in pauses if finish is None]
    if still_paused_since and min(still_paused_since) <= end and calendar.has_open_time:
        assert add_business_time_with_pauses(calendar, start, (sum(counted) + 1) * MINUTE, pauses) is None


# Properties on arbitrary instants (microseconds, any input zone) ----------------------------------------

instants = st.builds(
    lambda micros, zone: (FIRST + timedelta(microseconds=micros)).astimezone(ZoneInfo(zone)),
    st.integers(0, int((LAST - FIRST) / timedelta(microseconds=1))),
    st.sampled_from(ZONES),
)
durations = st.integers(0, 60 * 24 * 3600 * 10**6).map(lambda micros: timedelta(microseconds=micros))


@st.composite
def open_calendars(draw) -> BusinessCalendar:
    weekly = {day: draw(day_intervals()) for day in range(7)}
    if not any(weekly.values()):
        weekly[draw(st.integers(0, 6))] = [(540, 1020)]
    holidays = draw(st.sets(st.dates(date(2018, 12, 25), date(2028, 2, 1)), max_size=40))
    return Scenario(draw(st.sampled_from(ZONES)), weekly, frozenset(holidays), FIRST, 0).calendar()


@settings(max_examples=150, deadline=None)
@given(calendar=open_calendars(), start=instants, duration=durations)
def test_adding_then_measuring_business_time_gives_the_duration_back(calendar, start, duration):
    due = add_business_time(calendar, start, duration)
    assert business_time_between(calendar, start, due) == duration
    if duration:
        # Earliest: a microsecond sooner, the target is not yet met.
        assert business_time_between(calendar, start, due - timedelta(microseconds=1)) < duration
        assert is_open(calendar, due - timedelta(microseconds=1))


@settings(max_examples=100, deadline=None)
@given(calendar=open_calendars(), start=instants, shorter=durations, extra=durations, later=durations)
def test_due_times_and_elapsed_time_only_grow(calendar, start, shorter, extra, later):
    assert add_business_time(calendar, start, shorter) <= add_business_time(calendar, start, shorter + extra)
    assert add_business_time(calendar, start, shorter) <= add_business_time(calendar, start + later, shorter)
    end = start + shorter
    assert business_time_between(calendar, start, end) <= business_time_between(calendar, start, end + extra)
    assert business_time_between(calendar, start, end) <= end.astimezone(UTC) - start.astimezone(UTC)


@settings(max_examples=100, deadline=None)
@given(calendar=open_calendars(), start=instants, first=durations, second=durations)
def test_business_time_adds_up_over_consecutive_ranges(calendar, start, first, second):
    middle, end = start + first, start + first + second
    assert business_time_between(calendar, start, middle) + business_time_between(
        calendar, middle, end) == business_time_between(calendar, start, end)


@settings(max_examples=100, deadline=None)
@given(calendar=open_calendars(), start=instants, length=durations, data=st.data())
def test_pauses_only_ever_reduce_elapsed_business_time(calendar, start, length, data):
    end = start + length
    seconds = st.integers(-(10**6), int(length / timedelta(seconds=1)) + 10**6)
    offsets = seconds.map(lambda s: start + timedelta(seconds=s))
    pause = st.tuples(offsets, st.one_of(st.none(), durations)).map(
        lambda p: (p[0], None if p[1] is None else p[0] + p[1]))
    pauses = data.draw(st.lists(pause, max_size=4), label="pauses")
    unpaused = business_time_between(calendar, start, end)
    paused = business_time_with_pauses(calendar, start, end, pauses)
    assert timedelta(0) <= paused <= unpaused
    one_more = data.draw(pause, label="one more pause")
    assert business_time_with_pauses(calendar, start, end, [*pauses, one_more]) <= paused

    target = data.draw(durations, label="target")
    due_without = add_business_time(calendar, start, target)
    due_with = add_business_time_with_pauses(calendar, start, target, pauses)
    assert due_with is None or due_with >= due_without


@settings(max_examples=100, deadline=None)
@given(zone=st.sampled_from(ZONES), start=instants, duration=durations)
def test_always_open_calendar_is_plain_timedelta_arithmetic(zone, start, duration):
    calendar = BusinessCalendar.always_open(zone)
    start = start.astimezone(UTC)  # aware arithmetic inside one zone is wall-clock arithmetic; UTC is elapsed time
    assert add_business_time(calendar, start, duration) == start + duration
    assert business_time_between(calendar, start, start + duration) == duration
    # The same calendar written out day by day (so the general path runs) agrees.
    halves = ((time(0), time(12)), (time(12), time(0)))
    spelled_out = BusinessCalendar(time_zone=zone, weekly=dict.fromkeys(range(7), halves),
                                   holidays=frozenset({date(1990, 1, 1)}))
    assert business_time_between(spelled_out, start, start + duration) == duration


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_calendars_with_the_same_hours_written_differently_give_the_same_results(scenario, data):
    calendar = scenario.calendar()
    rewritten = BusinessCalendar(
        time_zone=scenario.zone,
        weekly={day: [(as_time(a), as_time(b)) for a, b in reversed(spans)]
                for day, spans in reversed(scenario.weekly.items()) if spans},
        holidays=set(scenario.holidays),
    )
    assert rewritten == calendar
    assert hash(rewritten) == hash(calendar)
    end = scenario.start + scenario.minutes * MINUTE
    target = data.draw(durations, label="target")
    assert business_time_between(rewritten, scenario.start, end) == business_time_between(calendar, scenario.start, end)
    if calendar.has_open_time:
        due = add_business_time(calendar, scenario.start, target)
        assert add_business_time(rewritten, scenario.start, target) == due
