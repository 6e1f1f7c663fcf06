"""Trend report figures on the real event log, checked against figures computed
directly from the CSV with the csv and statistics modules.

The import itself belongs to the import_incidents command; this test is skipped
when that command is not installed.
"""

import csv
import datetime
import io
import statistics
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands

from reviews.periods import period_starting
from reviews.reports import build_report_data

ZIP_PATH = Path(__file__).resolve().parent.parent / "data" / "incident_event_log.zip"
MEMBER = "incident_event_log.csv"
ROWS = 2000

pytestmark = pytest.mark.skipif(
    "import_incidents" not in get_commands(),
    reason="the import_incidents command is not installed in this checkout",
)


def parse_time(text):
    if text == "?":
        return None
    parsed = datetime.datetime.strptime(text, "%d/%m/%Y %H:%M")
    return parsed.replace(tzinfo=datetime.UTC)


def first_complete_incidents(limit):
    """Return the header and the first `limit` rows of the log, extended to the
    end of the last incident so that every incident is complete."""
    with zipfile.ZipFile(ZIP_PATH) as archive, archive.open(MEMBER) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        header = next(reader)
        rows = []
        for row in reader:
            if len(rows) >= limit and row[0] != rows[-1][0]:
                break
            rows.append(row)
    return header, rows


@pytest.fixture
def sample(tmp_path):
    header, rows = first_complete_incidents(ROWS)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "incident_event_log.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, text.getvalue())
    return path, [dict(zip(header, row, strict=True)) for row in rows]


def expected_by_month(rows):
    """Return {month: {"reported", "resolved", "ttr": [seconds]}} from the final
    row of each incident."""
    final = {}
    for row in rows:
        final[row["number"]] = row
    months = defaultdict(lambda: {"reported": 0, "resolved": 0, "ttr": []})
    for row in final.values():
        opened = parse_time(row["opened_at"])
        resolved = parse_time(row["resolved_at"])
        months[(opened.year, opened.month)]["reported"] += 1
        if resolved is not None:
            bucket = months[(resolved.year, resolved.month)]
            bucket["resolved"] += 1
            bucket["ttr"].append((resolved - opened).total_seconds())
    return months


def test_monthly_figures_match_csv(db, settings, sample):
    settings.TIME_ZONE = "UTC"
    path, rows = sample
    call_command("import_incidents", str(path))
    expected = expected_by_month(rows)

    assert len(expected) >= 2
    for (year, month), figures in sorted(expected.items()):
        data = build_report_data(
            period_starting("month", datetime.date(year, month, 1))
        )
        label = f"{year}-{month:02d}"
        assert data["reported"] == figures["reported"], label
        assert data["resolved"] == figures["resolved"], label
        ttr = data["time_to_resolve"]
        durations = figures["ttr"]
        assert ttr["count"] == len(durations), label
        if not durations:
            continue
        assert ttr["mean"] == pytest.approx(statistics.fmean(durations)), label
        assert ttr["median"] == pytest.approx(statistics.median(durations)), label
        if len(durations) >= 2:
            p90 = statistics.quantiles(durations, n=10, method="inclusive")[8]
            assert ttr["p90"] == pytest.approx(p90), label
