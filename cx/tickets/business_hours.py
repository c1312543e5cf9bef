"""The business-hours clock behind SLA policies: how much open time lies between two instants, and when a
target falls due.

A :class:`BusinessCalendar` is an immutable value: an IANA time zone, a weekly schedule of local opening
intervals and whole-day holidays. The SLA engine asks it three things, always in aware instants (results are
aware UTC): which stretches are open (:func:`open_intervals`, :func:`is_open`), how much business time has
elapsed (:func:`business_time_between`, :func:`business_time_with_pauses`) and when a target is due
(:func:`add_business_time`, :func:`add_business_time_with_pauses`). Pauses stop the clock while a ticket is
pending or on hold.

The wall-clock rule (and what it means around DST)
--------------------------------------------------
Opening hours are local wall-clock times. An instant is open exactly when its local reading in the calendar's
zone, a date and a time of day, falls on a date that is not a holiday and inside one of that weekday's
intervals ``[start, end)``; an end of ``00:00`` means midnight at the end of the day, so
``(time(0), time(0))`` is the whole day. Everything else follows from that one rule:

* Spring forward: local times inside the gap never occur. An interval that contains the gap is shorter in real
  time (``00:00-08:00`` on the Europe/Berlin spring-forward day lasts 7 hours, while ``09:00-17:00`` is
  unaffected); a boundary that falls inside the gap takes effect at the instant the wall clock jumps
  (``02:30-05:00`` opens at 03:00 CEST); an interval wholly inside the gap is empty that day.
* Fall back: the repeated local hour counts twice when it is inside an interval (``00:00-08:00`` lasts 9 hours).
  A boundary inside the repeated hour is met twice: ``00:00-02:30`` on the Berlin fall-back day is open until
  the first 02:30, closed until the clock turns back to 02:00, and open again until the second 02:30.
* Holidays close the whole local date, however long it is in real time.

How it is computed: local day by local day, the UTC instants around the day are split where the zone's UTC
offset changes (found by bisecting zoneinfo's offsets, cached per zone and day); inside each stretch of
constant offset the preimage of a local interval is plain subtraction. So the cost is a few operations per
calendar day, never per minute, and the rule above holds by construction. It assumes a zone changes its offset
at most once within any three hours, which holds for every zone in the tz database.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Interval = tuple[time, time]
Span = tuple[datetime, datetime]
Pause = tuple[datetime, datetime | None]

_MIDNIGHT = time(0, 0)
_DAY = timedelta(days=1)
_ZERO = timedelta(0)
# Python keeps utcoffset() strictly inside one day, so a local day's instants lie within a day of its dates.
_MAX_OFFSET = timedelta(days=1)
_SAMPLE_STEP = timedelta(hours=3)
_WINDOW_MARGIN = timedelta(hours=6)
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class WeeklySchedule(Mapping[int, tuple[Interval, ...]]):
    """An immutable weekday (0=Monday) -> sorted, non-overlapping opening intervals; closed days map to ()."""

    __slots__ = ("_days",)

    def __init__(self, days: tuple[tuple[Interval, ...], ...]) -> None:
        self._days = days

    def __getitem__(self, weekday: int) -> tuple[Interval, ...]:
        if isinstance(weekday, int) and not isinstance(weekday, bool) and 0 <= weekday < 7:
            return self._days[weekday]
        raise KeyError(weekday)

    def __iter__(self) -> Iterator[int]:
        return iter(range(7))

    def __len__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WeeklySchedule):
            return self._days == other._days
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(self._days)

    def __repr__(self) -> str:
        return f"WeeklySchedule({ {day: spans for day, spans in enumerate(self._days) if spans} !r})"

    def __reduce__(self) -> tuple[type[WeeklySchedule], tuple[tuple[tuple[Interval, ...], ...]]]:
        return (WeeklySchedule, (self._days,))


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team is at work: local opening intervals per weekday, in one IANA zone, minus holidays.

    ``weekly`` accepts any mapping of weekday (0=Monday ... 6=Sunday) to (start, end) pairs of naive
    ``datetime.time``; an end of ``time(0, 0)`` means "until midnight". It is stored sorted, with touching
    intervals joined, so two calendars with the same opening hours are equal however they were written.
    """

    time_zone: str
    weekly: Mapping[int, tuple[Interval, ...]]
    holidays: frozenset[date] = frozenset()
    # Per weekday, the intervals as offsets from local midnight; derived, so not part of the value.
    _offsets: tuple[tuple[tuple[timedelta, timedelta], ...], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        _load_zone(self.time_zone)
        weekly = _normalise_weekly(self.weekly)
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "holidays", _normalise_holidays(self.holidays))
        object.__setattr__(
            self,
            "_offsets",
            tuple(tuple((_since_midnight(start), _since_midnight(end) or _DAY) for start, end in weekly[day])
                  for day in range(7)),
        )

    @classmethod
    def always_open(cls, time_zone: str = "UTC") -> BusinessCalendar:
        """The calendar of a policy without business hours: every instant counts, so it is plain elapsed time."""
        return cls(time_zone=time_zone, weekly=dict.fromkeys(range(7), ((_MIDNIGHT, _MIDNIGHT),)))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def has_open_time(self) -> bool:
        """False for an empty weekly schedule, where no business time can ever elapse."""
        return any(self._offsets)

    @property
    def is_always_open(self) -> bool:
        return not self.holidays and all(day == ((_ZERO, _DAY),) for day in self._offsets)


def is_open(calendar: BusinessCalendar, instant: datetime) -> bool:
    """Whether the SLA clock runs at `instant` (the wall-clock rule in the module docstring, applied directly)."""
    local = _as_utc(instant, "instant").replace(tzinfo=UTC).astimezone(calendar.zone)
    if local.date() in calendar.holidays:
        return False
    since = timedelta(hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    return any(start <= since < end for start, end in calendar._offsets[local.weekday()])


def open_intervals(calendar: BusinessCalendar, start: datetime, end: datetime) -> Iterator[Span]:
    """The open stretches between `start` and `end` as sorted, disjoint, non-touching aware-UTC (from, to) pairs."""
    utc_start, utc_end = _as_utc(start, "start"), _as_utc(end, "end")
    if utc_end <= utc_start:
        return iter(())
    spans = _guard(_open_spans(calendar, utc_start, utc_end))
    return ((a.replace(tzinfo=UTC), b.replace(tzinfo=UTC)) for a, b in spans)


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time elapsed from `start` to `end`; zero when `end` is not after `start`."""
    return business_time_with_pauses(calendar, start, end, ())


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The earliest instant t with ``business_time_between(calendar, start, t) == duration`` (aware UTC).

    A zero duration gives `start` itself, even when closed; otherwise the result is inside or at the end of an
    open stretch, never at the start of the next one.
    """
    due = add_business_time_with_pauses(calendar, start, duration, ())
    assert due is not None  # only an open-ended pause can stop the clock for good
    return due


def business_time_with_pauses(
    calendar: BusinessCalendar, start: datetime, end: datetime, pauses: Iterable[Pause]
) -> timedelta:
    """Business time from `start` to `end` while the clock was not paused.

    `pauses` are (from, to) instant ranges, in any order and possibly overlapping; ``to=None`` means the pause
    is still running ("paused until now", i.e. until `end`).
    """
    utc_start, utc_end = _as_utc(start, "start"), _as_utc(end, "end")
    merged = _merge_pauses(pauses)
    if utc_end <= utc_start:
        return _ZERO
    total = _ZERO
    for a, b in _guard(_minus_pauses(_open_spans(calendar, utc_start, utc_end), merged)):
        total += b - a
    return total


def add_business_time_with_pauses(
    calendar: BusinessCalendar, start: datetime, duration: timedelta, pauses: Iterable[Pause]
) -> datetime | None:
    """The due instant of a target `duration` of business time from `start`, not counting paused time.

    Returns None when an open-ended pause (``to=None``) begins before the target is reached: the clock is
    stopped, so there is no due time until the pause ends.
    """
    utc_start = _as_utc(start, "start")
    merged = _merge_pauses(pauses)
    if not isinstance(duration, timedelta):
        raise ValueError("duration must be a datetime.timedelta")
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    if duration == _ZERO:
        return utc_start.replace(tzinfo=UTC)
    if not calendar.has_open_time:
        raise ValueError("the calendar has no opening hours, so no business time can ever elapse")
    remaining = duration
    for a, b in _guard(_minus_pauses(_open_spans(calendar, utc_start, None), merged)):
        if remaining <= b - a:
            try:
                return (a + remaining).replace(tzinfo=UTC)
            except OverflowError:
                raise ValueError("the due time is beyond the supported date range") from None
        remaining -= b - a
    return None


# Validation ---------------------------------------------------------------------------------------------


def _load_zone(key: object) -> ZoneInfo:
    if not isinstance(key, str) or not key:
        raise ValueError("time_zone must be an IANA zone name such as 'Europe/Berlin'")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {key!r}; use an IANA zone name such as 'Europe/Berlin'") from None


def _normalise_weekly(weekly: object) -> WeeklySchedule:
    if isinstance(weekly, WeeklySchedule):
        return weekly
    if not isinstance(weekly, Mapping):
        raise ValueError("weekly must map weekdays (0=Monday ... 6=Sunday) to (start, end) time pairs")
    days: list[tuple[Interval, ...]] = [()] * 7
    for weekday, intervals in weekly.items():
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday < 7:
            raise ValueError(f"weekly: weekday keys are 0 (Monday) ... 6 (Sunday), got {weekday!r}")
        days[weekday] = _normalise_day(_WEEKDAY_NAMES[weekday], intervals)
    return WeeklySchedule(tuple(days))


def _normalise_day(day_name: str, intervals: object) -> tuple[Interval, ...]:
    if isinstance(intervals, str | bytes) or not isinstance(intervals, Iterable):
        raise ValueError(f"weekly[{day_name}] must be a sequence of (start, end) time pairs")
    checked: list[tuple[timedelta, timedelta]] = []
    for interval in intervals:
        if not isinstance(interval, tuple | list) or len(interval) != 2:
            raise ValueError(f"weekly[{day_name}]: each interval is a (start, end) pair of times, got {interval!r}")
        start, end = interval
        for bound in (start, end):
            if not isinstance(bound, time):
                raise ValueError(f"weekly[{day_name}]: interval bounds must be datetime.time, got {bound!r}")
            if bound.tzinfo is not None:
                raise ValueError(f"weekly[{day_name}]: opening hours are local wall-clock times; drop the tzinfo")
        start_offset, end_offset = _since_midnight(start), _since_midnight(end) or _DAY
        if end_offset <= start_offset:
            raise ValueError(
                f"weekly[{day_name}]: interval {_fmt(start)}-{_fmt(end)} is reversed or empty; "
                "split a night shift at midnight and use time(0, 0) as the end for 'until midnight'"
            )
        checked.append((start_offset, end_offset))
    checked.sort()
    joined: list[tuple[timedelta, timedelta]] = []
    for start_offset, end_offset in checked:
        if joined and start_offset < joined[-1][1]:
            raise ValueError(
                f"weekly[{day_name}]: intervals {_fmt_offsets(*joined[-1])} and "
                f"{_fmt_offsets(start_offset, end_offset)} overlap"
            )
        if joined and start_offset == joined[-1][1]:
            joined[-1] = (joined[-1][0], end_offset)  # touching intervals are one stretch of opening hours
        else:
            joined.append((start_offset, end_offset))
    return tuple((_time_at(start_offset), _time_at(end_offset)) for start_offset, end_offset in joined)


def _normalise_holidays(holidays: object) -> frozenset[date]:
    if isinstance(holidays, str | bytes) or not isinstance(holidays, Iterable):
        raise ValueError("holidays must be a collection of datetime.date")
    days = frozenset(holidays)
    for day in days:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"holidays are whole local dates (datetime.date), got {day!r}")
    return days


def _since_midnight(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second, microseconds=moment.microsecond)


def _time_at(offset: timedelta) -> time:
    if offset >= _DAY:
        return _MIDNIGHT
    return (datetime.min + offset).time()


def _fmt(moment: time) -> str:
    return moment.isoformat(timespec="minutes" if not (moment.second or moment.microsecond) else "auto")


def _fmt_offsets(start: timedelta, end: timedelta) -> str:
    return f"{_fmt(_time_at(start))}-{_fmt(_time_at(end))}"


def _as_utc(moment: object, name: str) -> datetime:
    """A naive UTC datetime (the internal representation: arithmetic on it is exact and fast)."""
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a timezone-aware datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (a naive datetime has no instant); got {moment!r}")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _merge_pauses(pauses: Iterable[Pause]) -> list[tuple[datetime, datetime | None]]:
    """Pauses as sorted, disjoint naive-UTC ranges; an open-ended pause swallows everything after it."""
    if isinstance(pauses, str | bytes) or not isinstance(pauses, Iterable):
        raise ValueError("pauses must be a list of (from, to) instant pairs")
    ranges: list[tuple[datetime, datetime | None]] = []
    for pause in pauses:
        if not isinstance(pause, tuple | list) or len(pause) != 2:
            raise ValueError(f"each pause is a (from, to) pair, to=None while still paused; got {pause!r}")
        begin = _as_utc(pause[0], "pause start")
        finish = None if pause[1] is None else _as_utc(pause[1], "pause end")
        if finish is not None and finish < begin:
            raise ValueError(f"pause ends before it starts: {pause[0].isoformat()} > {pause[1].isoformat()}")
        ranges.append((begin, finish))
    ranges.sort(key=lambda pause: pause[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for begin, finish in ranges:
        if merged:
            last_begin, last_finish = merged[-1]
            if last_finish is None:
                break
            if begin <= last_finish:
                merged[-1] = (last_begin, None if finish is None else max(last_finish, finish))
                continue
        merged.append((begin, finish))
    return merged


# The clock ----------------------------------------------------------------------------------------------


def _guard(spans: Iterator[Span]) -> Iterator[Span]:
    """Turn date-range overflow deep inside the day walk into the module's ValueError."""
    try:
        yield from spans
    except OverflowError:
        raise ValueError("the computation runs beyond the supported date range") from None


def _minus_pauses(spans: Iterator[Span], pauses: list[tuple[datetime, datetime | None]]) -> Iterator[Span]:
    index = 0
    for a, b in spans:
        while a < b:
            while index < len(pauses) and pauses[index][1] is not None and pauses[index][1] <= a:
                index += 1
            if index == len(pauses) or pauses[index][0] >= b:
                yield a, b
                break
            pause_begin, pause_finish = pauses[index]
            if pause_begin > a:
                yield a, pause_begin
            if pause_finish is None:
                return  # the clock is stopped from here on
            a = max(a, pause_finish)


def _open_spans(calendar: BusinessCalendar, start: datetime, end: datetime | None) -> Iterator[Span]:
    """Open naive-UTC stretches from `start` to `end` (None: forever), sorted and joined where they touch."""
    if calendar.is_always_open:
        yield start, datetime.max if end is None else end
        return
    # A fall-back across midnight can put the end of one local day after the start of the next in UTC, so
    # pieces wait in a heap until no later day can produce an earlier one.
    day = calendar.zone.fromutc(start.replace(tzinfo=calendar.zone)).date() - 2 * _DAY
    waiting: list[Span] = []
    current: Span | None = None
    while True:
        floor = datetime.combine(day, _MIDNIGHT) - _MAX_OFFSET  # no instant of this or a later day is earlier
        while waiting and waiting[0][0] < floor:
            piece = heapq.heappop(waiting)
            if current is not None and piece[0] <= current[1]:
                current = (current[0], max(current[1], piece[1]))
            else:
                if current is not None:
                    yield current
                current = piece
        if current is not None and current[1] < floor:
            yield current
            current = None
        if end is not None and floor >= end:
            break
        for a, b in _day_open_spans(calendar, day):
            a, b = max(a, start), b if end is None else min(b, end)
            if a < b:
                heapq.heappush(waiting, (a, b))
        day += _DAY
    while waiting:
        piece = heapq.heappop(waiting)
        if current is not None and piece[0] <= current[1]:
            current = (current[0], max(current[1], piece[1]))
        else:
            if current is not None:
                yield current
            current = piece
    if current is not None:
        yield current


def _day_open_spans(calendar: BusinessCalendar, day: date) -> list[Span]:
    """The naive-UTC instants whose local reading is inside one of `day`'s intervals."""
    intervals = calendar._offsets[day.weekday()]
    if not intervals or day in calendar.holidays:
        return []
    midnight = datetime.combine(day, _MIDNIGHT)
    stretches = _offset_stretches(calendar.time_zone, day)
    spans = []
    for start_offset, end_offset in intervals:
        local_start, local_end = midnight + start_offset, midnight + end_offset
        for stretch_start, stretch_end, utc_offset in stretches:
            a = max(stretch_start, local_start - utc_offset)
            b = min(stretch_end, local_end - utc_offset)
            if a < b:
                spans.append((a, b))
    return spans


@lru_cache(maxsize=32768)
def _offset_stretches(time_zone: str, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """The naive-UTC instants around local `day`, cut into (from, to, utc_offset) stretches of constant offset."""
    zone = ZoneInfo(time_zone)
    midnight = datetime.combine(day, _MIDNIGHT)
    next_midnight = midnight + _DAY
    # Both readings of an ambiguous or skipped midnight, widened: a superset of the day's instants.
    low = min(midnight - midnight.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1)) - _WINDOW_MARGIN
    high = max(next_midnight - next_midnight.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1))
    high += _WINDOW_MARGIN
    stretches = []
    stretch_start, stretch_offset = low, _offset_at(zone, low)
    previous = low
    while previous < high:
        sample = min(previous + _SAMPLE_STEP, high)
        sample_offset = _offset_at(zone, sample)
        while sample_offset != stretch_offset:
            change = _first_change(zone, previous, sample, stretch_offset)
            stretches.append((stretch_start, change, stretch_offset))
            stretch_start, stretch_offset, previous = change, _offset_at(zone, change), change
        previous = sample
    stretches.append((stretch_start, high, stretch_offset))
    return tuple(stretches)


def _offset_at(zone: ZoneInfo, utc: datetime) -> timedelta:
    return zone.utcoffset(zone.fromutc(utc.replace(tzinfo=zone)))  # type: ignore[return-value]


def _first_change(zone: ZoneInfo, before: datetime, after: datetime, offset: timedelta) -> datetime:
    """The first whole second in (before, after] whose offset differs from `offset` (tz data is whole seconds)."""
    low, high = 0, int((after - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(zone, before + timedelta(seconds=middle)) == offset:
            low = middle
        else:
            high = middle
    return before + timedelta(seconds=high)
