"""Reading and validating the ServiceNow incident event log.

The source is the public "Incident management process enriched event log" (UCI
Machine Learning Repository, CC BY 4.0): one CSV row per update of an incident,
36 columns, `?` for a missing value, day-first timestamps without seconds or zone
(`29/2/2016 01:16`). This module turns the file into validated `SourceRow`
objects grouped per incident. It writes nothing; `incidents.importer` stores the
result.
"""

import csv
import datetime
import functools
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

from incidents.models import HoldReason, Source, Status

COLUMNS = (
    "number",
    "incident_state",
    "active",
    "reassignment_count",
    "reopen_count",
    "sys_mod_count",
    "made_sla",
    "caller_id",
    "opened_by",
    "opened_at",
    "sys_created_by",
    "sys_created_at",
    "sys_updated_by",
    "sys_updated_at",
    "contact_type",
    "location",
    "category",
    "subcategory",
    "u_symptom",
    "cmdb_ci",
    "impact",
    "urgency",
    "priority",
    "assignment_group",
    "assigned_to",
    "knowledge",
    "u_priority_confirmation",
    "notify",
    "problem_id",
    "rfc",
    "vendor",
    "caused_by",
    "closed_code",
    "resolved_by",
    "resolved_at",
    "closed_at",
)
ZIP_MEMBER = "incident_event_log.csv"
MISSING = "?"

# Source state label -> (our status, hold reason). `-100`, which the log also
# contains, is not a state and is deliberately absent: such rows are rejected.
STATES = {
    "New": (Status.NEW, ""),
    "Active": (Status.IN_PROGRESS, ""),
    "Awaiting User Info": (Status.ON_HOLD, HoldReason.CALLER),
    "Awaiting Vendor": (Status.ON_HOLD, HoldReason.VENDOR),
    "Awaiting Problem": (Status.ON_HOLD, HoldReason.PROBLEM),
    "Awaiting Evidence": (Status.ON_HOLD, HoldReason.EVIDENCE),
    "Resolved": (Status.RESOLVED, ""),
    "Closed": (Status.CLOSED, ""),
}
LEVELS = {"1 - High": 1, "2 - Medium": 2, "3 - Low": 3}
PRIORITIES = {"1 - Critical": 1, "2 - High": 2, "3 - Moderate": 3, "4 - Low": 4}
SOURCES = {
    "Phone": Source.PHONE,
    "Email": Source.EMAIL,
    "Self service": Source.SELF_SERVICE,
    "Direct opening": Source.DIRECT,
    "IVR": Source.IVR,
}
BOOLEANS = {"true": True, "false": False}

NUMBER_RE = re.compile(r"INC(\d{7,16})")
TIMESTAMP_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})")
USERNAME_RE = re.compile(r"[\w.@+-]{1,150}")

# Maximum label length per column: the max_length of the field that stores it.
LABEL_LIMITS = {
    "location": 100,
    "category": 100,
    "subcategory": 100,
    "u_symptom": 200,
    "cmdb_ci": 200,
    "assignment_group": 100,
    "notify": 100,
    "problem_id": 100,
    "rfc": 100,
    "vendor": 100,
    "caused_by": 100,
    "closed_code": 100,
}
# Columns naming a person; each becomes a Django user (see username_for).
PERSON_COLUMNS = (
    "caller_id",
    "opened_by",
    "sys_created_by",
    "sys_updated_by",
    "assigned_to",
    "resolved_by",
)


class SourceFormatError(Exception):
    """Raised when the file as a whole is not the incident event log."""


class RowError(ValueError):
    """Raised for one invalid value; the message names the column and value."""


def username_for(label):
    """Return the username of a person label: lower case, blanks become one hyphen.

    "Caller 2403" -> "caller-2403", "Opened by  8" -> "opened-by-8". The labels of
    each column carry their own prefix, so two columns never share a username.
    """
    return "-".join(label.lower().split())


class SourceState(NamedTuple):
    """A source state label and what it maps to."""

    label: str
    status: str
    hold_reason: str


SOURCE_STATES = {
    label: SourceState(label, status, reason)
    for label, (status, reason) in STATES.items()
}


@dataclass(slots=True)
class SourceRow:
    """One validated row of the log, an update of an incident; fields in COLUMNS
    order, then the row's line in the file."""

    number: str
    incident_state: SourceState
    active: bool
    reassignment_count: int
    reopen_count: int
    sys_mod_count: int
    made_sla: bool
    caller_id: str | None
    opened_by: str | None
    opened_at: datetime.datetime
    sys_created_by: str | None
    sys_created_at: datetime.datetime | None
    sys_updated_by: str | None
    sys_updated_at: datetime.datetime
    contact_type: str | None
    location: str | None
    category: str | None
    subcategory: str | None
    u_symptom: str | None
    cmdb_ci: str | None
    impact: int | None
    urgency: int | None
    priority: int | None
    assignment_group: str | None
    assigned_to: str | None
    knowledge: bool
    u_priority_confirmation: bool
    notify: str | None
    problem_id: str | None
    rfc: str | None
    vendor: str | None
    caused_by: str | None
    closed_code: str | None
    resolved_by: str | None
    resolved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    line: int

    @property
    def state(self):
        """The source state label, such as "Awaiting Vendor"."""
        return self.incident_state.label

    @property
    def status(self):
        return self.incident_state.status

    @property
    def hold_reason(self):
        return self.incident_state.hold_reason


@dataclass
class SourceIncident:
    """The rows of one incident, in file order, and the errors of its rows."""

    number: str
    rows: list[SourceRow] = field(default_factory=list)
    # (line, reason) of each rejected row; any of them skips the whole incident.
    errors: list[tuple[int, str]] = field(default_factory=list)
    last_line: int = 0


@dataclass
class Rejection:
    """A rejected row: its line in the file (the header is line 1) and why."""

    line: int
    number: str
    reason: str

    def __str__(self):
        return f"line {self.line} ({self.number or 'no number'}): {self.reason}"


@dataclass
class SourceLog:
    """Everything read from the file: the incidents, with their valid rows, in
    file order."""

    incidents: list[SourceIncident]
    rows_read: int
    rejections: list[Rejection]
    # The highest incident number seen, including in rejected rows.
    max_number: int


# Exceptions of zipfile and zlib for a damaged, encrypted or unsupported archive.
ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    RuntimeError,
    NotImplementedError,
)


@contextmanager
def open_source(path):
    """Open the CSV, or the CSV member of a zip, as text.

    Raises SourceFormatError when the path is missing or unreadable, or is a
    damaged zip or a zip without the member.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceFormatError(f"{path} does not exist or is not a file.")
    try:
        if zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
        else:
            archive = None
            handle = open(path, encoding="utf-8-sig", newline="")
    except (OSError, *ARCHIVE_ERRORS) as error:
        raise SourceFormatError(f"{path} cannot be read: {error}.") from None

    if archive is None:
        with handle:
            yield handle
        return
    with archive:
        raw = _open_member(archive, path)
        with raw:
            yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _open_member(archive, path):
    names = archive.namelist()
    member = next((name for name in names if Path(name).name == ZIP_MEMBER), None)
    if member is None:
        listed = ", ".join(names[:5]) or "none"
        raise SourceFormatError(
            f"{path} is a zip without a member named {ZIP_MEMBER} (members: {listed})."
        )
    try:
        return archive.open(member)
    except ARCHIVE_ERRORS as error:
        raise SourceFormatError(f"{path}: {member} cannot be read: {error}.") from None


def read_header(reader, path):
    """Read the header line and return the index of each column.

    The columns may come in any order, but all 36 must be there, named exactly,
    once each. Raises SourceFormatError naming what is wrong.
    """
    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as error:
        raise SourceFormatError(
            f"{path} is not a UTF-8 CSV file ({error}); expected the incident event "
            "log, as CSV or as a zip containing it."
        ) from None
    except (OSError, *ARCHIVE_ERRORS) as error:
        raise SourceFormatError(f"{path} cannot be read: {error}.") from None
    if header is None or not any(cell.strip() for cell in header):
        raise SourceFormatError(f"{path} is empty; expected a header line.")
    if len(header) == 1:
        for delimiter in (";", "\t", "|"):
            if delimiter in header[0]:
                raise SourceFormatError(
                    f"{path}: the header is not comma-separated (it contains "
                    f"{delimiter!r}); expected {len(COLUMNS)} columns separated by "
                    "commas."
                )
    duplicates = sorted({name for name in header if header.count(name) > 1})
    missing = [name for name in COLUMNS if name not in header]
    unexpected = [name for name in header if name not in COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected columns: {', '.join(unexpected)}")
    if duplicates:
        problems.append(f"repeated columns: {', '.join(duplicates)}")
    if problems:
        raise SourceFormatError(
            f"{path} is not the incident event log: {'; '.join(problems)}."
        )
    return {name: header.index(name) for name in COLUMNS}


class TimestampParser:
    """Parse day-first timestamps as local time of one zone, into UTC."""

    def __init__(self, zone):
        self.zone = zone
        self.is_utc = zone.key == "UTC"

    def __call__(self, column, text):
        match = TIMESTAMP_RE.fullmatch(text)
        if match is None:
            raise RowError(
                f"{column}={text!r} is not a timestamp like 29/2/2016 01:16 "
                "(day/month/year hour:minute)."
            )
        day, month, year, hour, minute = map(int, match.groups())
        try:
            naive = datetime.datetime(year, month, day, hour, minute)
        except ValueError as error:
            raise RowError(f"{column}={text!r} is not a valid date: {error}.") from None
        return self._to_utc(column, text, naive)

    def _to_utc(self, column, text, naive):
        if self.is_utc:
            return naive.replace(tzinfo=datetime.UTC)
        # fold=0 takes the first of the two instants of a repeated hour when
        # clocks go back. A time inside the hour skipped when clocks go forward
        # does not exist in the zone: it is rejected, never shifted.
        local = naive.replace(tzinfo=self.zone)
        value = local.astimezone(datetime.UTC)
        if value.astimezone(self.zone).replace(tzinfo=None) != naive:
            raise RowError(
                f"{column}={text!r} does not exist in {self.zone.key}: the clocks "
                "skipped that time."
            )
        return value


def _optional(column, text):
    if text == MISSING or text == "":
        return None
    limit = LABEL_LIMITS.get(column)
    if limit is not None and len(text) > limit:
        raise RowError(f"{column}={text[:40]!r}... is longer than {limit} characters.")
    return text


@functools.lru_cache(maxsize=65536)
def _is_valid_person(label):
    return USERNAME_RE.fullmatch(username_for(label)) is not None


def _person(column, text):
    if text == MISSING or text == "":
        return None
    if not _is_valid_person(text):
        raise RowError(
            f"{column}={text!r} cannot be made a username (letters, digits and "
            "@.+-_ only, at most 150 characters)."
        )
    return text


def _choice(column, text, choices, *, required=False):
    if text == MISSING or text == "":
        if required:
            raise RowError(f"{column} is missing.")
        return None
    try:
        return choices[text]
    except KeyError:
        allowed = ", ".join(choices)
        raise RowError(f"{column}={text!r} is not one of: {allowed}.") from None


def _count(column, text):
    if not text.isdigit():
        raise RowError(f"{column}={text!r} is not a whole number of 0 or more.")
    return int(text)


def _number(column, text):
    if not NUMBER_RE.fullmatch(text):
        raise RowError(f"{column}={text!r} is not an incident number like INC0000045.")
    return text


def _state(column, text):
    try:
        return SOURCE_STATES[text]
    except KeyError:
        raise RowError(
            f"{column}={text!r} is not a known state ({', '.join(STATES)})."
        ) from None


def _timestamp(parse_time, column, text, *, required=False):
    if text == MISSING or text == "":
        if required:
            raise RowError(f"{column} is missing; {REQUIRED_TIMES[column]}.")
        return None
    return parse_time(column, text)


REQUIRED_TIMES = {
    "opened_at": "it is the incident's reported time",
    "sys_updated_at": "it dates the row's update",
}


class RowParser:
    """Validate rows and convert their values, each distinct text of a column
    once.

    Most values repeat from one row of an incident to the next, so a cache per
    column turns the 36 checks of a row into 36 dictionary lookups.
    """

    def __init__(self, parse_time):
        timestamp = partial(_timestamp, parse_time)
        parsers = {
            "number": _number,
            "incident_state": _state,
            "opened_at": partial(timestamp, required=True),
            "sys_updated_at": partial(timestamp, required=True),
            "sys_created_at": timestamp,
            "resolved_at": timestamp,
            "closed_at": timestamp,
            "contact_type": partial(_choice, choices=SOURCES),
            "impact": partial(_choice, choices=LEVELS),
            "urgency": partial(_choice, choices=LEVELS),
            "priority": partial(_choice, choices=PRIORITIES),
        }
        for column in ("active", "made_sla", "knowledge", "u_priority_confirmation"):
            parsers[column] = partial(_choice, choices=BOOLEANS, required=True)
        for column in ("reassignment_count", "reopen_count", "sys_mod_count"):
            parsers[column] = _count
        for column in PERSON_COLUMNS:
            parsers[column] = _person
        for column in LABEL_LIMITS:
            parsers[column] = _optional
        self._parsers = [partial(parsers[column], column) for column in COLUMNS]
        self._caches = [{} for _ in COLUMNS]

    def __call__(self, values, line):
        """Return the SourceRow of one line of values in COLUMNS order, or raise
        RowError naming the first invalid column and value."""
        caches = self._caches
        parsed = list(map(dict.get, caches, values, repeat(_UNSEEN)))
        if _UNSEEN in parsed:
            for position, value in enumerate(parsed):
                if value is _UNSEEN:
                    text = values[position]
                    value = self._parsers[position](text)
                    caches[position][text] = parsed[position] = value
        return SourceRow(*parsed, line)


# Marks a value not in a column's cache yet; no parser returns it.
_UNSEEN = object()


def read_log(
    stream,
    path,
    zone,
    *,
    limit=None,
    progress: Callable[[int], None] | None = None,
    progress_every=10_000,
):
    """Read and validate the whole log, grouping rows per incident.

    With a limit, reading stops where the (limit + 1)th incident starts. Raises
    SourceFormatError for a file that is not the log. An invalid row does not
    raise: it becomes a Rejection and marks its incident.
    """
    reader = csv.reader(stream)
    index = read_header(reader, path)
    order = [index[name] for name in COLUMNS]
    reorder = order != list(range(len(COLUMNS)))
    number_at = index["number"]
    parse_row = RowParser(TimestampParser(zone))
    incidents = {}
    rejections = []
    current = None
    rows_read = 0
    max_number = 0
    for values in _rows(reader, path):
        if not values:
            continue  # A blank line, which CSV readers conventionally skip.
        line = reader.line_num
        number = values[number_at] if len(values) > number_at else ""
        # The rows of one incident follow each other, so the number is checked
        # only where it changes. `current` is only ever an incident with a valid
        # number.
        valid_number = True
        if current is None or number != current.number:
            if (
                number not in incidents
                and limit is not None
                and len(incidents) >= limit
            ):
                break
            match = NUMBER_RE.fullmatch(number)
            valid_number = match is not None
            if valid_number:
                max_number = max(max_number, int(match.group(1)))
        rows_read += 1
        if progress is not None and rows_read % progress_every == 0:
            progress(rows_read)
        row = reason = None
        if len(values) != len(COLUMNS):
            reason = f"has {len(values)} fields, expected {len(COLUMNS)}."
        else:
            if reorder:
                values = [values[i] for i in order]
            try:
                row = parse_row(values, line)
            except RowError as error:
                reason = str(error)
        if not valid_number:
            # Without a valid number the row belongs to no incident.
            rejections.append(Rejection(line, number, reason))
            continue

        incident = incidents.get(number)
        if incident is None:
            incident = incidents[number] = SourceIncident(number)
        elif incident is not current and reason is None:
            reason = (
                f"rows of {number} are not contiguous: its earlier rows end at line "
                f"{incident.last_line}."
            )
        if reason is None:
            incident.rows.append(row)
        else:
            rejections.append(Rejection(line, number, reason))
            incident.errors.append((line, reason))
        incident.last_line = line
        current = incident
    return SourceLog(list(incidents.values()), rows_read, rejections, max_number)


def _rows(reader, path) -> Iterator[list[str]]:
    try:
        yield from reader
    except (UnicodeDecodeError, csv.Error) as error:
        raise SourceFormatError(
            f"{path}: line {reader.line_num + 1} cannot be read as UTF-8 CSV ({error})."
        ) from None
    except (OSError, *ARCHIVE_ERRORS) as error:
        raise SourceFormatError(
            f"{path}: reading failed after line {reader.line_num} ({error})."
        ) from None
