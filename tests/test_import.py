"""The import_incidents command on a slice of the real ServiceNow event log.

The slice (the first complete incidents, about 300 rows) is cut from the zip in
data/ at run time. Expected values are computed here from the CSV rows with the
csv module, independently of the importer's own parsing.
"""

import copy
import csv
import datetime
import io
import itertools
import logging
import zipfile
import zoneinfo
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from incidents.importer import import_incidents
from incidents.models import (
    Category,
    HoldPeriod,
    Incident,
    NumberSequence,
    Service,
    Team,
    TimelineEntry,
    next_incident_number,
)

DATA_ZIP = Path(settings.BASE_DIR) / "data" / "incident_event_log.zip"
MEMBER = "incident_event_log.csv"
SLICE_ROWS = 300

STATUS_OF = {
    "New": "new",
    "Active": "in_progress",
    "Awaiting User Info": "on_hold",
    "Awaiting Vendor": "on_hold",
    "Awaiting Problem": "on_hold",
    "Awaiting Evidence": "on_hold",
    "Resolved": "resolved",
    "Closed": "closed",
}
HOLD_REASON_OF = {
    "Awaiting User Info": "caller",
    "Awaiting Vendor": "vendor",
    "Awaiting Problem": "problem",
    "Awaiting Evidence": "evidence",
}
# Columns whose change, without a change of state, makes a field_change entry.
TRACKED = (
    "assignment_group",
    "assigned_to",
    "impact",
    "urgency",
    "priority",
    "category",
    "subcategory",
    "cmdb_ci",
)
PRIORITY_OF = {"1 - Critical": 1, "2 - High": 2, "3 - Moderate": 3, "4 - Low": 4}
LEVEL_OF = {"1 - High": 1, "2 - Medium": 2, "3 - Low": 3}


@pytest.fixture(scope="session")
def log_slice():
    """Return (header, rows) of the first complete incidents of the real log."""
    with zipfile.ZipFile(DATA_ZIP) as archive, archive.open(MEMBER) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        header = next(reader)
        rows = []
        for row in reader:
            if len(rows) >= SLICE_ROWS and row[0] != rows[-1][0]:
                break
            rows.append(row)
    return header, rows


@pytest.fixture
def rows(log_slice):
    """A copy of the slice's rows that a test may change."""
    return copy.deepcopy(log_slice[1])


@pytest.fixture
def header(log_slice):
    return list(log_slice[0])


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def slice_csv(tmp_path, header, rows):
    return write_csv(tmp_path / MEMBER, header, rows)


def run_import(path, *args):
    out = io.StringIO()
    call_command("import_incidents", str(path), *args, stdout=out)
    return out.getvalue()


def grouped(header, rows):
    """Return {number: [row as dict, ...]} in file order."""
    incidents = {}
    for row in rows:
        record = dict(zip(header, row, strict=True))
        incidents.setdefault(record["number"], []).append(record)
    return incidents


def source_time(text, zone=datetime.UTC):
    if text == "?":
        return None
    naive = datetime.datetime.strptime(text, "%d/%m/%Y %H:%M")
    return naive.replace(tzinfo=zone).astimezone(datetime.UTC)


def expected_entries(records):
    """Return the (kind, from_state, to_state) of the timeline the rows make."""
    entries = [("reported", "", STATUS_OF[records[0]["incident_state"]])]
    for before, after in itertools.pairwise(records):
        if before["incident_state"] != after["incident_state"]:
            entries.append(
                (
                    "transition",
                    STATUS_OF[before["incident_state"]],
                    STATUS_OF[after["incident_state"]],
                )
            )
        elif any(before[column] != after[column] for column in TRACKED):
            entries.append(("field_change", "", ""))
    return entries


def table_counts():
    return {
        "incidents": Incident.objects.count(),
        "timeline": TimelineEntry.objects.count(),
        "holds": HoldPeriod.objects.count(),
        "users": get_user_model().objects.count(),
        "teams": Team.objects.count(),
        "memberships": Team.members.through.objects.count(),
        "categories": Category.objects.count(),
        "services": Service.objects.count(),
        "sequence": list(NumberSequence.objects.values_list("name", "last_value")),
    }


def summary_value(output, label):
    for line in output.splitlines():
        if line.startswith(f"{label}: "):
            return int(line.split(": ", 1)[1])
    raise AssertionError(f"{label!r} not in the summary:\n{output}")


@pytest.mark.django_db
class TestImportOfValidSlice:
    def test_one_incident_per_number(self, slice_csv, header, rows):
        output = run_import(slice_csv)

        expected = grouped(header, rows)
        stored = set(Incident.objects.values_list("number", flat=True))
        assert stored == set(expected)
        assert summary_value(output, "Incidents created") == len(expected)
        assert summary_value(output, "Rows read") == len(rows)
        assert summary_value(output, "Rows rejected") == 0

    def test_final_state_is_last_row(self, slice_csv, header, rows):
        run_import(slice_csv)

        status = dict(Incident.objects.values_list("number", "status"))
        for number, records in grouped(header, rows).items():
            assert status[number] == STATUS_OF[records[-1]["incident_state"]], number

    def test_state_history_matches_rows(self, slice_csv, header, rows):
        run_import(slice_csv)

        for number, records in grouped(header, rows).items():
            stored = list(
                TimelineEntry.objects.filter(incident__number=number)
                .order_by("id")
                .values_list("kind", "from_state", "to_state")
            )
            assert stored == expected_entries(records), number

    def test_timeline_total_matches_rows(self, slice_csv, header, rows):
        output = run_import(slice_csv)

        expected = sum(
            len(expected_entries(records)) for records in grouped(header, rows).values()
        )
        assert TimelineEntry.objects.count() == expected
        assert summary_value(output, "Timeline entries created") == expected

    def test_transition_entry_names_source_states(self, slice_csv):
        run_import(slice_csv)

        entry = TimelineEntry.objects.filter(
            incident__number="INC0000045", kind="transition"
        ).earliest("id")
        assert entry.message.startswith("State changed from New to Resolved")
        assert entry.actor.username == "updated-by-642"
        assert entry.created_at == source_time("29/2/2016 08:53")

    def test_timestamps_match_source(self, slice_csv, header, rows):
        run_import(slice_csv)

        incidents = {i.number: i for i in Incident.objects.all()}
        for number, records in grouped(header, rows).items():
            final = records[-1]
            incident = incidents[number]
            assert incident.reported_at == source_time(final["opened_at"]), number
            assert incident.detected_at == incident.reported_at, number
            assert incident.resolved_at == source_time(final["resolved_at"]), number
            assert incident.closed_at == source_time(final["closed_at"]), number
            assert incident.mitigated_at is None, number

    def test_acknowledged_at_is_first_active_row(self, slice_csv, header, rows):
        run_import(slice_csv)

        acknowledged = dict(Incident.objects.values_list("number", "acknowledged_at"))
        for number, records in grouped(header, rows).items():
            active = [r for r in records if r["incident_state"] == "Active"]
            expected = source_time(active[0]["sys_updated_at"]) if active else None
            assert acknowledged[number] == expected, number

    def test_recorded_fields_kept(self, slice_csv, header, rows):
        run_import(slice_csv)

        incidents = {i.number: i for i in Incident.objects.all()}
        for number, records in grouped(header, rows).items():
            final = records[-1]
            incident = incidents[number]
            assert incident.priority == PRIORITY_OF[final["priority"]], number
            assert incident.impact == LEVEL_OF[final["impact"]], number
            assert incident.urgency == LEVEL_OF[final["urgency"]], number
            assert incident.reopen_count == int(final["reopen_count"]), number
            assert incident.reassignment_count == int(final["reassignment_count"]), (
                number
            )
            assert incident.source_made_sla == (final["made_sla"] == "true"), number
            assert incident.source == "phone" or final["contact_type"] != "Phone"
            assert incident.source_data["u_symptom"] == (
                None if final["u_symptom"] == "?" else final["u_symptom"]
            ), number

    def test_priority_overridden_where_matrix_differs(self, slice_csv):
        run_import(slice_csv)

        for incident in Incident.objects.all():
            derived = {
                (1, 1): 1,
                (1, 2): 2,
                (1, 3): 3,
                (2, 1): 2,
                (2, 2): 3,
                (2, 3): 4,
                (3, 1): 3,
                (3, 2): 4,
                (3, 3): 5,
            }[(incident.impact, incident.urgency)]
            assert incident.priority_overridden == (incident.priority != derived)

    def test_closed_code_kept_as_other(self, slice_csv):
        run_import(slice_csv)

        incident = Incident.objects.get(number="INC0000045")
        assert incident.resolution_code == "other"
        assert "code 5" in incident.resolution_notes

    def test_category_is_subcategory_under_category(self, slice_csv, header, rows):
        run_import(slice_csv)

        incidents = Incident.objects.select_related("category__parent")
        finals = {n: r[-1] for n, r in grouped(header, rows).items()}
        for incident in incidents:
            final = finals[incident.number]
            if final["category"] == "?":
                assert incident.category is None
                continue
            if final["subcategory"] == "?":
                assert incident.category.name == final["category"]
                assert incident.category.parent is None
                continue
            assert incident.category.name == final["subcategory"]
            assert incident.category.parent.name == final["category"]

    def test_people_become_users_without_password(self, slice_csv):
        run_import(slice_csv)

        incident = Incident.objects.select_related("reporter").get(number="INC0000045")
        assert incident.reporter.username == "caller-2403"
        assert incident.reporter.first_name == "Caller 2403"
        assert not incident.reporter.has_usable_password()
        assert get_user_model().objects.filter(username="opened-by-8").exists()
        assert get_user_model().objects.filter(username="resolved-by-149").exists()
        assert get_user_model().objects.filter(username="created-by-6").exists()

    def test_assignee_joins_assignment_group(self, slice_csv, header, rows):
        run_import(slice_csv)

        expected = {
            (
                record["assignment_group"],
                "-".join(record["assigned_to"].lower().split()),
            )
            for records in grouped(header, rows).values()
            for record in records
            if record["assignment_group"] != "?" and record["assigned_to"] != "?"
        }
        stored = set(
            Team.members.through.objects.values_list("team__name", "user__username")
        )
        assert expected
        assert stored == expected

    def test_hold_periods_follow_awaiting_rows(self, slice_csv, header, rows):
        run_import(slice_csv)

        expected = []
        for number, records in grouped(header, rows).items():
            start = None
            for record in records:
                state = record["incident_state"]
                if start and state != start[1]:
                    expected.append((number, *start, record["sys_updated_at"]))
                    start = None
                if start is None and state in HOLD_REASON_OF:
                    start = (HOLD_REASON_OF[state], state, record["sys_updated_at"])
            if start:
                expected.append((number, *start, None))
        stored = [
            (p.incident.number, p.reason, p.started_at, p.ended_at)
            for p in HoldPeriod.objects.select_related("incident").order_by("id")
        ]
        assert expected, "the slice should contain Awaiting rows"
        assert stored == [
            (number, reason, source_time(started), ended and source_time(ended))
            for number, reason, state, started, ended in expected
        ]

    def test_final_hold_keeps_reason_and_open_period(self, tmp_path, header, rows):
        state = header.index("incident_state")
        held = next(i for i, row in enumerate(rows) if row[state] in HOLD_REASON_OF)
        number = rows[held][0]
        # Drop the incident's rows after its first Awaiting row, so that the
        # incident ends on hold.
        rows = [r for i, r in enumerate(rows) if r[0] != number or i <= held]
        before = rows[held - 1] if rows[held - 1][0] == number else None
        path = write_csv(tmp_path / "on_hold.csv", header, rows)

        run_import(path)

        incident = Incident.objects.get(number=number)
        assert incident.status == "on_hold"
        assert incident.hold_reason == HOLD_REASON_OF[rows[held][state]]
        expected_from = STATUS_OF[before[state]] if before else ""
        assert incident.held_from_status == expected_from
        period = incident.hold_periods.get()
        assert period.ended_at is None
        assert period.started_at == source_time(
            rows[held][header.index("sys_updated_at")]
        )

    def test_number_sequence_passes_imported_numbers(self, slice_csv, header, rows):
        run_import(slice_csv)

        highest = max(int(number[3:]) for number in grouped(header, rows))
        assert NumberSequence.objects.get(name="incident").last_value == highest
        assert int(next_incident_number()[3:]) == highest + 1

    def test_zip_imports_like_csv(self, tmp_path, slice_csv):
        archive_path = tmp_path / "log.zip"
        with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(slice_csv, MEMBER)

        output = run_import(archive_path)

        assert summary_value(output, "Rows rejected") == 0
        assert Incident.objects.count() == summary_value(output, "Incidents created")
        assert Incident.objects.count() > 0

    def test_limit_imports_first_incidents(self, slice_csv, header, rows):
        output = run_import(slice_csv, "--limit", "5")

        first_five = list(grouped(header, rows))[:5]
        stored = set(Incident.objects.values_list("number", flat=True))
        assert stored == set(first_five)
        expected_rows = sum(len(grouped(header, rows)[n]) for n in first_five)
        assert summary_value(output, "Rows read") == expected_rows

    def test_limit_zero_imports_all(self, slice_csv, header, rows):
        output = run_import(slice_csv, "--limit", "0")

        assert Incident.objects.count() == len(grouped(header, rows))
        assert summary_value(output, "Rows read") == len(rows)

    def test_negative_limit_rejected(self, slice_csv):
        with pytest.raises(CommandError, match="--limit -1 must be 0"):
            run_import(slice_csv, "--limit", "-1")

        assert Incident.objects.count() == 0

    def test_query_count_is_constant(
        self, slice_csv, header, rows, django_assert_max_num_queries
    ):
        incident_count = len(grouped(header, rows))
        assert incident_count > 40

        with django_assert_max_num_queries(30):
            import_incidents(slice_csv)

    def test_logs_start_and_end(self, slice_csv, caplog):
        with caplog.at_level(logging.INFO, logger="incidents.importer"):
            run_import(slice_csv)

        messages = [r.getMessage() for r in caplog.records]
        assert any("started" in message for message in messages)
        assert any(
            "finished" in message and "rows_read=" in message for message in messages
        )


@pytest.mark.django_db
class TestImportRerun:
    def test_second_run_creates_nothing(self, slice_csv):
        run_import(slice_csv)
        before = table_counts()

        output = run_import(slice_csv)

        assert table_counts() == before
        assert summary_value(output, "Incidents created") == 0
        assert summary_value(output, "Incidents updated") == 0
        assert summary_value(output, "Incidents unchanged") == before["incidents"]
        assert summary_value(output, "Timeline entries created") == 0

    def test_changed_value_updates_incident_only(self, tmp_path, header, rows):
        first = write_csv(tmp_path / "first.csv", header, rows)
        run_import(first)
        before = table_counts()
        location = header.index("location")
        for row in rows:
            if row[0] == "INC0000045":
                row[location] = "Location 999"
        second = write_csv(tmp_path / "second.csv", header, rows)

        output = run_import(second)

        incident = Incident.objects.get(number="INC0000045")
        assert incident.location == "Location 999"
        assert incident.version == 2
        assert summary_value(output, "Incidents updated") == 1
        assert table_counts()["timeline"] == before["timeline"]
        assert table_counts()["incidents"] == before["incidents"]

    def test_changed_final_state_keeps_status(self, tmp_path, header, rows):
        first = write_csv(tmp_path / "first.csv", header, rows)
        run_import(first)
        before = table_counts()
        last = max(i for i, row in enumerate(rows) if row[0] == "INC0000045")
        rows[last][header.index("incident_state")] = "Resolved"
        second = write_csv(tmp_path / "second.csv", header, rows)

        output = run_import(second)

        assert Incident.objects.get(number="INC0000045").status == "closed"
        assert "final state differs in the file" in output
        assert "INC0000045" in output
        assert table_counts()["timeline"] == before["timeline"]

    def test_native_incident_number_left_alone(self, slice_csv, make_incident):
        native = make_incident("new", title="Printer on fire")
        assert native.number == "INC0000001"
        NumberSequence.objects.filter(name="incident").update(last_value=0)
        Incident.objects.filter(pk=native.pk).update(number="INC0000045")

        output = run_import(slice_csv)

        native.refresh_from_db()
        assert native.title == "Printer on fire"
        assert "INC0000045" in output
        assert summary_value(output, "Incidents skipped") == 1


@pytest.mark.django_db
def test_dry_run_writes_nothing(slice_csv, header, rows):
    before = table_counts()

    output = run_import(slice_csv, "--dry-run")

    assert table_counts() == before
    assert "Dry run: nothing was written." in output
    assert summary_value(output, "Incidents to create") == len(grouped(header, rows))
    assert summary_value(output, "Rows read") == len(rows)


@pytest.mark.django_db
class TestRejectedRows:
    def reject(self, tmp_path, header, rows, index, column, value):
        rows[index][header.index(column)] = value
        path = write_csv(tmp_path / "changed.csv", header, rows)
        return run_import(path), rows[index][0], index + 2

    def test_state_minus_100_rejected_with_line(self, tmp_path, header, rows):
        output, number, line = self.reject(
            tmp_path, header, rows, 10, "incident_state", "-100"
        )

        assert f"line {line} ({number}): incident_state='-100'" in output
        assert summary_value(output, "Rows rejected") == 1
        assert summary_value(output, "Incidents skipped") == 1
        assert not Incident.objects.filter(number=number).exists()
        stored = Incident.objects.count()
        assert stored == len(grouped(header, rows)) - 1

    @pytest.mark.parametrize(
        ("column", "value", "reason"),
        [
            ("sys_updated_at", "31/2/2016 10:00", "not a valid date"),
            ("opened_at", "2016-02-29 01:16", "not a timestamp"),
            ("impact", "High", "impact='High' is not one of"),
            ("contact_type", "Fax", "contact_type='Fax' is not one of"),
            ("made_sla", "yes", "made_sla='yes' is not one of"),
            ("reopen_count", "-1", "not a whole number"),
        ],
    )
    def test_invalid_value_rejected(
        self, tmp_path, header, rows, column, value, reason
    ):
        output, number, line = self.reject(tmp_path, header, rows, 20, column, value)

        assert f"line {line} ({number})" in output
        assert reason in output
        assert not Incident.objects.filter(number=number).exists()
        assert not TimelineEntry.objects.filter(incident__number=number).exists()

    def test_non_contiguous_rows_rejected(self, tmp_path, header, rows):
        first_number = rows[0][0]
        stray = rows.pop(1)
        assert stray[0] == first_number
        rows.append(stray)
        path = write_csv(tmp_path / "shuffled.csv", header, rows)

        output = run_import(path)

        assert f"line {len(rows) + 1} ({first_number}): rows of" in output
        assert "not contiguous" in output
        assert not Incident.objects.filter(number=first_number).exists()


def malformed_files(tmp_path, header, rows):
    """Yield (name, path, expected message part) for each kind of bad file."""
    without = [c for c in header if c != "urgency"]
    index = header.index("urgency")
    yield (
        "missing column",
        write_csv(
            tmp_path / "missing.csv",
            without,
            [r[:index] + r[index + 1 :] for r in rows],
        ),
        "missing columns: urgency",
    )

    renamed = ["impact_level" if c == "impact" else c for c in header]
    yield (
        "renamed column",
        write_csv(tmp_path / "renamed.csv", renamed, rows),
        "missing columns: impact; unexpected columns: impact_level",
    )

    yield (
        "semicolon delimiter",
        write_csv(tmp_path / "semicolon.csv", header, rows, delimiter=";"),
        "not comma-separated",
    )

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    yield ("empty file", empty, "is empty")

    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "no log here")
    yield ("zip without member", archive, "without a member named incident_event_log")

    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.write(write_csv(tmp_path / MEMBER, header, rows), MEMBER)
    content = bytearray(damaged.read_bytes())
    # Overwrite compressed bytes in the middle of the member; the zip's
    # directory at the end stays intact, so only reading the member fails.
    content[len(content) // 2 : len(content) // 2 + 64] = bytes(64)
    damaged.write_bytes(bytes(content))
    yield ("damaged zip", damaged, "reading failed after line")

    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    yield ("binary file", binary, "not a UTF-8 CSV file")

    yield ("missing path", tmp_path / "nowhere.csv", "does not exist")


MALFORMED = [
    "missing column",
    "renamed column",
    "semicolon delimiter",
    "empty file",
    "zip without member",
    "damaged zip",
    "binary file",
    "missing path",
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_file_rejected_before_writing(tmp_path, header, rows, kind):
    name, path, message = next(
        case for case in malformed_files(tmp_path, header, rows) if case[0] == kind
    )
    before = table_counts()

    with pytest.raises(CommandError) as raised:
        run_import(path)

    assert message in str(raised.value)
    assert table_counts() == before


@pytest.mark.django_db
def test_timezone_shifts_stored_times(slice_csv):
    run_import(slice_csv, "--timezone", "Europe/Paris")

    incident = Incident.objects.get(number="INC0000045")
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    # 29 February 2016 is winter time in Paris: UTC+1.
    assert incident.reported_at == datetime.datetime(
        2016, 2, 29, 0, 16, tzinfo=datetime.UTC
    )
    assert incident.reported_at == source_time("29/2/2016 01:16", paris)
    assert incident.closed_at == datetime.datetime(
        2016, 3, 5, 11, 0, tzinfo=datetime.UTC
    )


@pytest.mark.django_db
def test_time_skipped_by_dst_rejected(tmp_path, header, rows):
    # Clocks in Paris went from 02:00 to 03:00 on 27 March 2016.
    rows[3][header.index("sys_updated_at")] = "27/3/2016 02:30"
    path = write_csv(tmp_path / "dst.csv", header, rows)

    output = run_import(path, "--timezone", "Europe/Paris")

    expected = f"line 5 ({rows[3][0]}): sys_updated_at='27/3/2016 02:30'"
    assert expected in output
    assert "does not exist in Europe/Paris" in output
    assert not Incident.objects.filter(number=rows[3][0]).exists()


@pytest.mark.django_db
def test_unknown_timezone_rejected(slice_csv):
    with pytest.raises(CommandError, match="'Mars/Olympus' is not an IANA time zone"):
        run_import(slice_csv, "--timezone", "Mars/Olympus")

    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_imported_users_get_no_role(slice_csv):
    run_import(slice_csv)

    assert not Group.objects.filter(user__username="caller-2403").exists()
    counts = Counter(get_user_model().objects.values_list("is_staff", "is_superuser"))
    assert set(counts) == {(False, False)}
