"""Trend report figures on hand-made incidents whose timestamps are known.

Incidents are created directly with their final status and timestamps, as an
import would store them, so each figure can be computed by hand.
"""

import datetime
import itertools
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from incidents.models import Category, HoldPeriod, Incident, Service, TimelineEntry
from reviews import metrics
from reviews.periods import Period, period_starting
from reviews.reports import build_report_data

UTC = datetime.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = 3600.0
_numbers = itertools.count(1)


def at(text, zone=UTC):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=zone)


def make(reported, status="new", **fields):
    fields.setdefault("detected_at", reported)
    return Incident.objects.create(
        number=f"TST{next(_numbers):07d}",
        title="Test incident",
        description="Made by a test.",
        source=fields.pop("source", "phone"),
        status=status,
        reported_at=reported,
        **fields,
    )


def march():
    return period_starting("month", datetime.date(2026, 3, 1))


@pytest.fixture
def paris(settings, db):
    settings.TIME_ZONE = "Europe/Paris"


@pytest.fixture
def resolved_five(db):
    """Five incidents resolved in March 2026 (UTC) after 1, 2, 3, 4 and 10 hours."""
    for day, hours in zip(range(2, 7), (1, 2, 3, 4, 10), strict=True):
        reported = at(f"2026-03-{day:02d}T08:00")
        make(
            reported,
            "resolved",
            priority=3,
            acknowledged_at=reported + datetime.timedelta(minutes=day),
            resolved_at=reported + datetime.timedelta(hours=hours),
        )


def test_march_2026_in_paris_has_743_hours(paris):
    period = march()

    assert period.start.isoformat() == "2026-03-01T00:00:00+01:00"
    assert period.end.isoformat() == "2026-04-01T00:00:00+02:00"
    assert period.duration.total_seconds() == 743 * HOUR


def test_week_with_dst_change_has_167_hours(paris):
    period = period_starting("week", datetime.date(2026, 3, 23))

    assert period.label == "2026-W13"
    assert period.last_day == datetime.date(2026, 3, 29)
    assert period.duration.total_seconds() == 167 * HOUR


@pytest.mark.parametrize(
    ("kind", "day", "expected"),
    [
        ("week", "2026-03-24", "is a Tuesday; an ISO week starts on a Monday"),
        ("month", "2026-03-02", "is not the first day of a month"),
        ("quarter", "2026-02-01", "does not start a quarter"),
    ],
)
def test_period_start_rejects_days_inside_a_period(kind, day, expected):
    with pytest.raises(ValueError, match=expected):
        period_starting(kind, datetime.date.fromisoformat(day))


def test_time_to_resolve_mean_median_p90(resolved_five):
    figures = metrics.durations(march().start, march().end)["time_to_resolve"]

    assert figures["count"] == 5
    assert figures["mean"] == 4 * HOUR
    assert figures["median"] == 3 * HOUR
    # Linear interpolation: h = (5 - 1) * 0.9 = 3.6, so x[3] + 0.6 * (x[4] - x[3]).
    assert figures["p90"] == pytest.approx(7.6 * HOUR)


def test_percentile_of_even_count_interpolates_median(db):
    for hours in (1, 2, 3, 5):
        reported = at("2026-03-10T00:00")
        make(
            reported, "resolved", resolved_at=reported + datetime.timedelta(hours=hours)
        )

    figures = metrics.durations(march().start, march().end)["time_to_resolve"]

    assert figures["median"] == 2.5 * HOUR
    # h = 3 * 0.9 = 2.7: 3 h + 0.7 * (5 h - 3 h).
    assert figures["p90"] == pytest.approx(4.4 * HOUR)


def test_time_to_acknowledge_counts_incidents_acknowledged_in_period(resolved_five):
    late = make(
        at("2026-02-28T23:00"),
        "in_progress",
        acknowledged_at=at("2026-03-01T01:00"),
    )
    make(at("2026-03-31T23:00"), "in_progress", acknowledged_at=at("2026-04-01T00:30"))

    figures = metrics.durations(march().start, march().end)["time_to_acknowledge"]

    assert late.acknowledged_at >= march().start
    assert figures["count"] == 6
    # Acknowledged after 2, 3, 4, 5 and 6 minutes, and one after 2 hours.
    assert figures["mean"] == pytest.approx((2 + 3 + 4 + 5 + 6 + 120) * 60 / 6)


def test_net_time_to_resolve_subtracts_hold_time(db):
    incident = make(
        at("2026-03-10T10:00"), "resolved", resolved_at=at("2026-03-10T20:00")
    )
    HoldPeriod.objects.create(
        incident=incident,
        reason="caller",
        started_at=at("2026-03-10T12:00"),
        ended_at=at("2026-03-10T14:00"),
    )
    # Still open when the incident was resolved: counts up to resolved_at.
    HoldPeriod.objects.create(
        incident=incident, reason="vendor", started_at=at("2026-03-10T18:00")
    )
    # Outside [reported_at, resolved_at]: does not count.
    HoldPeriod.objects.create(
        incident=incident,
        reason="caller",
        started_at=at("2026-03-11T08:00"),
        ended_at=at("2026-03-11T09:00"),
    )

    figures = metrics.durations(march().start, march().end)

    assert figures["time_to_resolve"]["mean"] == 10 * HOUR
    assert figures["time_to_resolve_net"]["mean"] == 6 * HOUR


def test_net_ttr_clips_early_hold(db):
    incident = make(
        at("2026-03-10T10:00"), "resolved", resolved_at=at("2026-03-10T12:00")
    )
    HoldPeriod.objects.create(
        incident=incident,
        reason="caller",
        started_at=at("2026-03-10T09:00"),
        ended_at=at("2026-03-10T10:30"),
    )

    figures = metrics.durations(march().start, march().end)

    assert figures["time_to_resolve_net"]["mean"] == 1.5 * HOUR


def test_time_to_mitigate_and_detect_need_their_timestamps(db):
    make(
        at("2026-03-10T10:00"),
        "resolved",
        started_at=at("2026-03-10T09:00"),
        detected_at=at("2026-03-10T09:45"),
        mitigated_at=at("2026-03-10T10:30"),
        resolved_at=at("2026-03-10T12:00"),
    )
    make(at("2026-03-11T10:00"), "resolved", resolved_at=at("2026-03-11T11:00"))

    figures = metrics.durations(march().start, march().end)

    assert figures["time_to_mitigate"] == {
        "count": 1,
        "mean": 1800.0,
        "median": 1800.0,
        "p90": 1800.0,
    }
    assert figures["time_to_detect"]["count"] == 1
    assert figures["time_to_detect"]["mean"] == 2700.0


def test_counts_follow_local_month_boundaries(paris):
    # 23:30 on 31 March in Paris is 21:30 UTC: March. 00:30 on 1 April in Paris
    # is 22:30 UTC on 31 March: April.
    make(at("2026-03-31T23:30", PARIS))
    make(at("2026-04-01T00:30", PARIS))
    # Reported in February, resolved in March, closed in April.
    make(
        at("2026-02-27T10:00", PARIS),
        "closed",
        resolved_at=at("2026-03-02T10:00", PARIS),
        closed_at=at("2026-04-02T10:00", PARIS),
    )

    figures = metrics.counts(march().start, march().end)

    assert figures["reported"] == 1
    assert figures["resolved"] == 1
    assert figures["closed"] == 0


def test_counts_in_dst_week(paris):
    # 02:30 on 29 March does not exist in Paris; 01:30 UTC is 03:30 CEST.
    make(at("2026-03-29T01:30"))
    make(at("2026-03-29T21:59"))  # 23:59 CEST, still Sunday in Paris
    make(at("2026-03-29T22:00"))  # 00:00 CEST Monday: next week
    week = period_starting("week", datetime.date(2026, 3, 23))

    assert metrics.counts(week.start, week.end)["reported"] == 2


def test_backlog_uses_timestamps_not_current_status(db):
    end = march().end
    make(at("2026-03-05T10:00"))  # still new
    make(  # resolved after the period: backlog at its end, closed today
        at("2026-03-20T10:00"),
        "closed",
        resolved_at=at("2026-04-03T10:00"),
        closed_at=at("2026-04-10T10:00"),
    )
    make(at("2026-03-06T10:00"), "resolved", resolved_at=at("2026-03-30T10:00"))
    make(at("2026-03-07T10:00"), "cancelled", cancelled_at=at("2026-03-08T10:00"))
    make(at("2026-04-01T10:00"))  # reported after the period

    assert metrics.counts(march().start, end)["backlog_end"] == 2


def test_reopened_counts_distinct_incidents_from_timeline(db):
    first = make(
        at("2026-03-02T10:00"),
        "resolved",
        resolved_at=at("2026-03-09T10:00"),
        reopen_count=2,
    )
    second = make(
        at("2026-03-02T11:00"),
        "resolved",
        resolved_at=at("2026-03-09T11:00"),
        reassignment_count=1,
    )
    make(at("2026-03-02T12:00"), "resolved", resolved_at=at("2026-03-09T12:00"))
    make(at("2026-03-02T13:00"), "resolved", resolved_at=at("2026-03-09T13:00"))
    for created in ("2026-03-03T10:00", "2026-03-05T10:00"):
        TimelineEntry.objects.create(
            incident=first,
            created_at=at(created),
            kind="transition",
            transition="reopen",
            from_state="resolved",
            to_state="in_progress",
        )
    TimelineEntry.objects.create(
        incident=second,
        created_at=at("2026-02-27T10:00"),
        kind="transition",
        transition="reopen",
        from_state="resolved",
        to_state="in_progress",
    )

    figures = metrics.counts(march().start, march().end)

    assert figures["reopened"] == 1
    assert figures["reopen_rate"] == 0.25
    assert figures["reassignment_rate"] == 0.25


def test_breakdowns_count_reported_incidents(db, category, service):
    other = Service.objects.create(name="Mail")
    make(at("2026-03-02T10:00"), priority=1, category=category, service=service)
    make(at("2026-03-03T10:00"), priority=1, category=category, service=other)
    make(at("2026-03-04T10:00"), priority=3, source="email")
    make(at("2026-02-04T10:00"), priority=3, service=service)

    figures = metrics.breakdowns(march().start, march().end)

    assert figures["by_priority"] == [
        {"key": 1, "label": "P1", "count": 2},
        {"key": 3, "label": "P3", "count": 1},
    ]
    assert figures["by_category"][0] == {
        "key": category.pk,
        "label": "Network > Switch",
        "count": 2,
    }
    assert {row["label"]: row["count"] for row in figures["by_service"]} == {
        "Core switching": 1,
        "Mail": 1,
        "(none)": 1,
    }
    assert figures["by_source"][0] == {"key": "phone", "label": "phone", "count": 2}


def test_mtbf_is_mean_gap_per_service(db, service):
    other = Service.objects.create(name="Mail")
    for hours in (0, 10, 30):
        started = at("2026-03-02T00:00") + datetime.timedelta(hours=hours)
        make(started + datetime.timedelta(hours=1), service=service, started_at=started)
    # No started_at: detected_at is the failure time.
    make(at("2026-03-03T00:00"), service=other)
    make(at("2026-03-03T04:00"), service=other)
    make(at("2026-03-09T00:00"), service=Service.objects.create(name="Once"))

    rows = metrics.mtbf_by_service(march().start, march().end, limit=10)

    assert rows == [
        {"key": other.pk, "label": "Mail", "failures": 2, "mtbf": 4 * HOUR},
        {
            "key": service.pk,
            "label": "Core switching",
            "failures": 3,
            "mtbf": 15 * HOUR,
        },
    ]


def test_recurring_pairs_need_two_incidents(db, category, service):
    other_category = Category.objects.create(name="Router", parent=category.parent)
    for day in (2, 3, 4):
        make(at(f"2026-03-{day:02d}T10:00"), service=service, category=category)
    make(at("2026-03-05T10:00"), service=service, category=other_category)

    rows = metrics.recurring_pairs(march().start, march().end, limit=10)

    assert len(rows) == 1
    assert rows[0]["count"] == 3
    assert rows[0]["category_label"] == "Network > Switch"


def test_report_compares_with_previous_period(resolved_five):
    make(at("2026-02-10T10:00"), "resolved", resolved_at=at("2026-02-10T12:00"))

    data = build_report_data(march())

    assert data["previous"]["period_label"] == "2026-02"
    assert data["previous"]["reported"] == 1
    assert data["change"]["reported"] == 4
    assert data["change"]["time_to_resolve"] == 2 * HOUR
    assert data["sla_response_met"] is None
    assert data["sla_resolution_met"] is None


def test_report_trend_covers_twelve_periods_in_local_time(paris):
    make(
        at("2026-03-31T23:30", PARIS),
        "resolved",
        resolved_at=at("2026-04-01T00:30", PARIS),
    )
    make(at("2026-01-15T10:00", PARIS))

    trend = build_report_data(march())["trend"]

    assert len(trend) == 12
    assert trend[0]["label"] == "2025-04"
    assert trend[-1]["label"] == "2026-03"
    assert trend[-1]["reported"] == 1
    assert trend[-1]["resolved"] == 0
    assert trend[-3]["reported"] == 1


def test_period_previous_and_label_of_quarter():
    quarter = Period("quarter", datetime.date(2026, 1, 1))

    assert quarter.label == "2026-Q1"
    assert quarter.previous() == Period("quarter", datetime.date(2025, 10, 1))
    assert quarter.end_day == datetime.date(2026, 4, 1)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="percentile_cont is a PostgreSQL function",
)
def test_percentiles_match_postgresql_percentile_cont(db):
    for minutes in (7, 1, 90, 13, 13, 240, 45, 2, 600, 31, 5):
        reported = at("2026-03-10T00:00")
        make(
            reported,
            "resolved",
            resolved_at=reported + datetime.timedelta(minutes=minutes),
        )

    figures = metrics.durations(march().start, march().end)["time_to_resolve"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s),"
            " percentile_cont(0.9) WITHIN GROUP (ORDER BY s)"
            " FROM (SELECT EXTRACT(EPOCH FROM resolved_at - reported_at) AS s"
            " FROM incidents_incident) AS durations"
        )
        median, p90 = cursor.fetchone()

    assert figures["median"] == pytest.approx(float(median))
    assert figures["p90"] == pytest.approx(float(p90))


def test_sla_compliance_uses_service_level_rules(db):
    # P3 defaults: response 4 h, resolution 3 days; time on hold does not count.
    reported = at("2026-03-02T10:00")
    hour = datetime.timedelta(hours=1)
    day = datetime.timedelta(days=1)
    make(
        reported,
        "resolved",
        priority=3,
        acknowledged_at=reported + hour,
        resolved_at=reported + day,
    )
    make(
        reported,
        "resolved",
        priority=3,
        acknowledged_at=reported + 5 * hour,
        resolved_at=reported + 4 * day,
    )
    held = make(
        reported,
        "resolved",
        priority=3,
        acknowledged_at=reported + 2 * hour,
        resolved_at=reported + 4 * day - hour,
    )
    HoldPeriod.objects.create(
        incident=held,
        reason="vendor",
        started_at=reported + day,
        ended_at=reported + 3 * day,
    )
    call_command("recompute_service_levels", stdout=StringIO())

    data = build_report_data(march())

    assert data["sla_response_met"] == 0.6667
    assert data["sla_resolution_met"] == 0.6667
