"""Report periods: ISO weeks, calendar months and quarters of the local calendar.

A period is a range of local dates [first day, first day of the next period). Its
bounds become aware datetimes at local midnight in settings.TIME_ZONE, so a month
that contains a daylight saving change is 743 or 745 hours long, not 744.
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

KINDS = ("week", "month", "quarter")


def local_zone():
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_midnight(day):
    # A midnight that a DST change skips (a few zones switch at 00:00) resolves,
    # with zoneinfo's fold=0, to the offset before the change.
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=local_zone())


def start_problem(kind, day):
    """Return why `day` cannot start a period of this kind, or None if it can."""
    if kind == "week" and day.weekday() != 0:
        return (
            f"{day.isoformat()} is a {day.strftime('%A')}; an ISO week starts on a "
            "Monday."
        )
    if kind in ("month", "quarter") and day.day != 1:
        return f"{day.isoformat()} is not the first day of a month."
    if kind == "quarter" and day.month not in (1, 4, 7, 10):
        return (
            f"{day.isoformat()} does not start a quarter; quarters start on "
            "1 January, 1 April, 1 July and 1 October."
        )
    return None


def _add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def next_start(kind, first_day):
    if kind == "week":
        return first_day + datetime.timedelta(days=7)
    return _add_months(first_day, 1 if kind == "month" else 3)


def previous_start(kind, first_day):
    if kind == "week":
        return first_day - datetime.timedelta(days=7)
    return _add_months(first_day, -1 if kind == "month" else -3)


def containing_start(kind, day):
    """Return the first day of the period that contains `day`."""
    if kind == "week":
        return day - datetime.timedelta(days=day.weekday())
    if kind == "month":
        return day.replace(day=1)
    return datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    first_day: datetime.date

    @property
    def start(self):
        return local_midnight(self.first_day)

    @property
    def end(self):
        return local_midnight(next_start(self.kind, self.first_day))

    @property
    def duration(self):
        # Subtracting two datetimes that share a tzinfo ignores DST changes, so
        # convert to UTC first.
        return self.end.astimezone(datetime.UTC) - self.start.astimezone(datetime.UTC)

    @property
    def end_day(self):
        """The first local day after the period."""
        return next_start(self.kind, self.first_day)

    @property
    def last_day(self):
        return next_start(self.kind, self.first_day) - datetime.timedelta(days=1)

    @property
    def label(self):
        if self.kind == "week":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.first_day:%Y-%m}"
        return f"{self.first_day.year}-Q{(self.first_day.month - 1) // 3 + 1}"

    def previous(self):
        return Period(self.kind, previous_start(self.kind, self.first_day))

    def next(self):
        return Period(self.kind, next_start(self.kind, self.first_day))

    def is_complete(self, now=None):
        return self.end <= (now or timezone.now())


def period_starting(kind, first_day):
    """Return the period of this kind that starts on first_day.

    Raises ValueError naming the problem if the kind is unknown or the day does
    not start a period of that kind."""
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a period; use one of {', '.join(KINDS)}.")
    problem = start_problem(kind, first_day)
    if problem:
        raise ValueError(problem)
    return Period(kind, first_day)


def last_complete_period(kind, now=None):
    today = timezone.localtime(now or timezone.now(), local_zone()).date()
    return Period(kind, containing_start(kind, today)).previous()


def period_containing(kind, moment):
    day = timezone.localtime(moment, local_zone()).date()
    return Period(kind, containing_start(kind, day))


def trailing_periods(period, count):
    """Return the `count` periods ending with `period`, oldest first."""
    periods = [period]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return list(reversed(periods))
