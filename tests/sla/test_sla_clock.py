"""Service-level clock arithmetic on hand-made timelines: holds, business hours,
holidays and daylight saving changes."""

import datetime

import pytest

from incidents import sla

UTC = datetime.UTC
PARIS_OFFICE = sla.Calendar(
    time_zone="Europe/Paris",
    weekdays=frozenset({1, 2, 3, 4, 5}),
    start_time=datetime.time(9),
    end_time=datetime.time(17),
)
# Open every day, so that the Sunday daylight saving changes fall on a working day.
PARIS_EVERY_DAY = sla.Calendar(
    time_zone="Europe/Paris",
    weekdays=frozenset(range(1, 8)),
    start_time=datetime.time(8),
    end_time=datetime.time(20),
)


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def hours(value):
    return datetime.timedelta(hours=value)


def test_due_without_holds_is_start_plus_target():
    due = sla.compute_due(at(2026, 3, 2, 9), hours(4))

    assert due == at(2026, 3, 2, 13)


def test_closed_hold_moves_due_by_exact_hold_length():
    start = at(2026, 3, 2, 9)
    hold = (at(2026, 3, 2, 10, 0, 0), at(2026, 3, 2, 11, 17, 42))

    due = sla.compute_due(start, hours(4), [hold])

    assert due == at(2026, 3, 2, 13) + (hold[1] - hold[0])


def test_open_hold_pauses_due_time():
    start = at(2026, 3, 2, 9)

    due = sla.compute_due(start, hours(4), [(at(2026, 3, 2, 10), None)])

    assert due is None


def test_open_hold_after_due_keeps_due_time():
    start = at(2026, 3, 2, 9)

    due = sla.compute_due(start, hours(4), [(at(2026, 3, 2, 15), None)])

    assert due == at(2026, 3, 2, 13)


def test_hold_after_due_does_not_move_it():
    start = at(2026, 3, 2, 9)
    hold = (at(2026, 3, 2, 14), at(2026, 3, 2, 16))

    assert sla.compute_due(start, hours(4), [hold]) == at(2026, 3, 2, 13)


def test_overlapping_holds_count_once():
    start = at(2026, 3, 2, 9)
    holds = [
        (at(2026, 3, 2, 10), at(2026, 3, 2, 11)),
        (at(2026, 3, 2, 10, 30), at(2026, 3, 2, 11, 30)),
    ]

    assert sla.compute_due(start, hours(4), holds) == at(2026, 3, 2, 14, 30)


def test_working_time_excludes_holds():
    start = at(2026, 3, 2, 9)
    holds = [(at(2026, 3, 2, 10), at(2026, 3, 2, 11))]

    assert sla.working_time(start, at(2026, 3, 2, 12), holds) == hours(2)


def test_business_hours_skip_weekend():
    # Friday 2026-03-06 16:00 Paris (15:00 UTC): one working hour left that day,
    # the remaining three on Monday from 09:00 Paris (08:00 UTC).
    start = at(2026, 3, 6, 15)

    due = sla.compute_due(start, hours(4), calendar=PARIS_OFFICE)

    assert due == at(2026, 3, 9, 11)


def test_business_hours_start_before_opening():
    start = at(2026, 3, 2, 5)  # 06:00 Paris, before the office opens

    due = sla.compute_due(start, hours(2), calendar=PARIS_OFFICE)

    assert due == at(2026, 3, 2, 10)


def test_manual_holiday_is_skipped():
    calendar = sla.Calendar(
        time_zone="Europe/Paris",
        weekdays=frozenset({1, 2, 3, 4, 5}),
        start_time=datetime.time(9),
        end_time=datetime.time(17),
        holiday_dates=frozenset({datetime.date(2026, 3, 9)}),
    )
    start = at(2026, 3, 6, 15)

    due = sla.compute_due(start, hours(4), calendar=calendar)

    assert due == at(2026, 3, 10, 11)


def test_country_holiday_is_skipped():
    # Easter Monday, 2026-04-06, is a public holiday in France.
    calendar = sla.Calendar(
        time_zone="Europe/Paris",
        weekdays=frozenset({1, 2, 3, 4, 5}),
        start_time=datetime.time(9),
        end_time=datetime.time(17),
        holiday_country="FR",
    )
    start = at(2026, 4, 3, 14)  # Friday 16:00 Paris (CEST, UTC+2)

    due = sla.compute_due(start, hours(4), calendar=calendar)

    # Tuesday 2026-04-07: 09:00 Paris is 07:00 UTC, plus the three hours left.
    assert due == at(2026, 4, 7, 10)


def test_hold_inside_business_hours_moves_due():
    start = at(2026, 3, 2, 8)  # Monday 09:00 Paris
    hold = (at(2026, 3, 2, 9), at(2026, 3, 2, 10))

    due = sla.compute_due(start, hours(8), [hold], calendar=PARIS_OFFICE)

    # Seven working hours on Monday, the eighth on Tuesday from 09:00 Paris.
    assert due == at(2026, 3, 3, 9)


def test_hold_outside_business_hours_changes_nothing():
    start = at(2026, 3, 6, 15)
    weekend_hold = (at(2026, 3, 7, 10), at(2026, 3, 8, 10))

    due = sla.compute_due(start, hours(4), [weekend_hold], calendar=PARIS_OFFICE)

    assert due == at(2026, 3, 9, 11)


def test_spring_forward_shifts_opening_in_utc():
    # Saturday 2026-03-28 19:00 Paris (CET, 18:00 UTC): one hour that day. Sunday
    # 2026-03-29 opens at 08:00 CEST, which is 06:00 UTC, not 07:00.
    start = at(2026, 3, 28, 18)

    due = sla.compute_due(start, hours(2), calendar=PARIS_EVERY_DAY)

    assert due == at(2026, 3, 29, 7)


def test_fall_back_shifts_opening_in_utc():
    # Saturday 2026-10-24 19:00 Paris (CEST, 17:00 UTC): one hour that day.
    # Sunday 2026-10-25 opens at 08:00 CET, which is 07:00 UTC, not 06:00.
    start = at(2026, 10, 24, 17)

    due = sla.compute_due(start, hours(2), calendar=PARIS_EVERY_DAY)

    assert due == at(2026, 10, 25, 8)


def test_24x7_due_ignores_dst_change():
    # 24 hours of elapsed time, although the Paris wall clock moves 25 hours.
    start = at(2026, 10, 24, 12)

    due = sla.compute_due(start, hours(24))

    assert due == at(2026, 10, 25, 12)


def test_working_day_is_shorter_on_spring_forward_night():
    # A calendar open 00:00-23:59 on 2026-03-29 spans 22 h 59 min of real time.
    calendar = sla.Calendar(
        time_zone="Europe/Paris",
        weekdays=frozenset(range(1, 8)),
        start_time=datetime.time(0),
        end_time=datetime.time(23, 59),
    )
    day_start = at(2026, 3, 28, 23)  # 00:00 Paris on the 29th
    day_end = at(2026, 3, 29, 22)  # 00:00 Paris on the 30th

    worked = sla.working_time(day_start, day_end, calendar=calendar)

    assert worked == datetime.timedelta(hours=22, minutes=59)


def test_calendar_without_working_time_has_no_due():
    # The only working weekday is Monday, and every Monday within the search
    # range is a holiday.
    mondays = frozenset(
        datetime.date(2026, 3, 2) + datetime.timedelta(weeks=n) for n in range(200)
    )
    calendar = sla.Calendar(
        time_zone="UTC",
        weekdays=frozenset({1}),
        start_time=datetime.time(9),
        end_time=datetime.time(17),
        holiday_dates=mondays,
    )

    assert sla.compute_due(at(2026, 3, 2, 9), hours(1), calendar=calendar) is None


@pytest.mark.parametrize(
    ("now", "stopped_at", "state"),
    [
        (at(2026, 3, 2, 10), None, sla.ON_TRACK),
        (at(2026, 3, 2, 12), None, sla.AT_RISK),
        (at(2026, 3, 2, 13), None, sla.BREACHED),
        (at(2026, 3, 2, 14), at(2026, 3, 2, 12, 59), sla.MET),
        (at(2026, 3, 2, 14), at(2026, 3, 2, 13, 1), sla.BREACHED),
    ],
)
def test_evaluate_state(now, stopped_at, state, settings):
    settings.IMS_SLA_AT_RISK_RATIO = 0.75
    clock = sla.evaluate(
        "resolution", at(2026, 3, 2, 9), hours(4), stopped_at, [], None, now
    )

    assert clock.state == state


def test_at_risk_at_three_quarters_of_target():
    clock = sla.evaluate(
        "resolution", at(2026, 3, 2, 9), hours(4), None, [], None, at(2026, 3, 2, 9)
    )

    assert clock.at_risk_at == at(2026, 3, 2, 12)


def test_evaluate_time_left_is_negative_when_overdue():
    clock = sla.evaluate(
        "resolution", at(2026, 3, 2, 9), hours(4), None, [], None, at(2026, 3, 2, 14)
    )

    assert clock.time_left == -hours(1)


def test_evaluate_while_on_hold_is_paused():
    holds = [(at(2026, 3, 2, 10), None)]

    clock = sla.evaluate(
        "resolution", at(2026, 3, 2, 9), hours(4), None, holds, None, at(2026, 3, 3)
    )

    assert clock.state == sla.PAUSED
    assert clock.elapsed == hours(1)
    assert clock.due_at is None


def test_open_hold_pauses_business_hours_due():
    start = at(2026, 3, 2, 8)  # Monday 09:00 Paris
    holds = [(at(2026, 3, 2, 9), None)]

    due = sla.compute_due(start, hours(4), holds, calendar=PARIS_OFFICE)

    assert due is None


def test_open_hold_before_start_pauses_due():
    holds = [(at(2026, 3, 2, 8), None)]

    assert sla.compute_due(at(2026, 3, 2, 9), hours(1), holds) is None
