"""The build_trend_report command: periods, validation, idempotence, JSON."""

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command

from incidents.models import Incident
from reviews.models import TrendReport

UTC = datetime.UTC
NOW = datetime.datetime(2026, 4, 15, 12, tzinfo=UTC)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("build_trend_report", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def make(reported, **fields):
    return Incident.objects.create(
        number=f"CMD{Incident.objects.count() + 1:07d}",
        title="Test",
        description="Test.",
        source="email",
        detected_at=reported,
        reported_at=reported,
        **fields,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "week", "--start", "2026-03-25"], "a Wednesday"),
        (["--period", "month", "--start", "2026-03-02"], "not the first day"),
        (["--period", "quarter", "--start", "2026-02-01"], "does not start a quarter"),
        (["--period", "month", "--start", "01/03/2026"], "is not a date"),
        (
            ["--period", "month", "--start", "2026-03-01", "--all-missing"],
            "not both",
        ),
    ],
)
def test_command_rejects_bad_start(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not TrendReport.objects.exists()


def test_command_rejects_unknown_period(db):
    with pytest.raises(CommandError, match="invalid choice"):
        run("--period", "year")


def test_json_output_has_required_keys(db):
    reported = datetime.datetime(2026, 3, 3, 10, tzinfo=UTC)
    make(reported, status="resolved", priority=2, resolved_at=reported.replace(hour=12))

    out, err = run("--period", "month", "--start", "2026-03-01", "--json")

    data = json.loads(out)
    for key in (
        "period_start",
        "period_end",
        "reported",
        "resolved",
        "closed",
        "backlog_end",
        "reopened",
        "by_priority",
        "by_category",
        "by_service",
        "by_source",
        "time_to_acknowledge",
        "time_to_resolve",
        "time_to_resolve_net",
        "sla_response_met",
        "sla_resolution_met",
    ):
        assert key in data, key
    assert data["period_start"] == "2026-03-01T00:00:00+00:00"
    assert data["period_end"] == "2026-04-01T00:00:00+00:00"
    assert data["time_to_resolve"]["mean"] == 7200.0
    assert data["by_source"] == [{"key": "email", "label": "email", "count": 1}]
    assert "Built month report 2026-03" in err


def test_rebuild_replaces_and_says_so(db):
    run("--period", "month", "--start", "2026-03-01")
    make(datetime.datetime(2026, 3, 3, 10, tzinfo=UTC))

    out, _ = run("--period", "month", "--start", "2026-03-01")

    assert "Rebuilt month report 2026-03" in out
    assert "replacing the earlier build" in out
    assert TrendReport.objects.count() == 1
    assert TrendReport.objects.get().data["reported"] == 1


def test_default_is_last_complete_period(db, time_machine_now):
    out, _ = run("--period", "week")

    assert "2026-W15" in out


def test_all_missing_fills_gaps_only(db, time_machine_now):
    make(datetime.datetime(2026, 1, 20, 10, tzinfo=UTC))
    run("--period", "month", "--start", "2026-02-01")

    out, _ = run("--period", "month", "--all-missing")

    labels = sorted(
        TrendReport.objects.filter(period_kind="month").values_list(
            "data__period_label", flat=True
        )
    )
    assert labels == ["2026-01", "2026-02", "2026-03"]
    assert "Built month report 2026-01" in out
    assert "report 2026-02" not in out
    again, _ = run("--period", "month", "--all-missing")
    assert "No month report is missing." in again


def test_quarter_report_in_paris(db, settings):
    settings.TIME_ZONE = "Europe/Paris"

    out, _ = run("--period", "quarter", "--start", "2026-01-01", "--json")

    data = json.loads(out)
    assert data["period_start"] == "2026-01-01T00:00:00+01:00"
    assert data["period_end"] == "2026-04-01T00:00:00+02:00"
    # 90 days minus the hour lost on 29 March.
    assert data["period_hours"] == 90 * 24 - 1


@pytest.fixture
def time_machine_now(monkeypatch):
    """Pin django.utils.timezone.now to NOW for the period arithmetic."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.mark.parametrize(
    "args",
    [
        ["--period", "month", "--start", "9999-12-01"],
        ["--period", "month", "--start", "0001-01-01"],
        ["--period", "month", "--start", "0001-06-01"],
        ["--period", "quarter", "--start", "9999-10-01"],
        ["--period", "week", "--start", "9999-12-27"],
        ["--period", "week", "--start", "0001-01-01"],
    ],
)
def test_command_rejects_start_outside_range(db, args):
    with pytest.raises(CommandError, match="outside the supported range"):
        run(*args)
    assert not TrendReport.objects.exists()


def test_command_rejects_period_not_started(db):
    with pytest.raises(CommandError, match="has not started yet"):
        run("--period", "month", "--start", "2099-01-01")
    assert not TrendReport.objects.exists()
