"""Import of the ServiceNow incident event log into incidents, timelines and holds.

The log (read and validated by `incidents.import_source`) has one row per update
of an incident. The import creates one Incident per `number`, keeping the number,
with the values of its final row, and records its history from all its rows. It
records history, it does not replay transitions: the protected FSM field `status`
is set through the constructor of new incidents and written with bulk_create.

State mapping (source `incident_state` -> `Incident.status`):

    New                -> new
    Active             -> in_progress
    Awaiting User Info -> on_hold, hold reason caller
    Awaiting Vendor    -> on_hold, hold reason vendor
    Awaiting Problem   -> on_hold, hold reason problem
    Awaiting Evidence  -> on_hold, hold reason evidence
    Resolved           -> resolved
    Closed             -> closed
    -100               -> invalid: the row is rejected

Field mapping (final row of the incident):

    number               -> number (unchanged, such as INC0000045)
    caller_id            -> reporter (a user, see username_for)
    opened_by            -> opened_by (a user)
    opened_at            -> reported_at and detected_at (the log has no separate
                            detection time)
    contact_type         -> source (Phone, Email, Self service, Direct opening, IVR)
    location             -> location
    category/subcategory -> category: the subcategory node under its category,
                            keyed by the pair, because one subcategory label can
                            appear under several categories. No category when
                            `category` is missing.
    cmdb_ci              -> service
    impact, urgency      -> impact, urgency (1 - High -> 1 ... 3 - Low -> 3)
    priority             -> priority as recorded (1 - Critical -> P1 ...
                            4 - Low -> P4); priority_overridden is True where the
                            recorded value differs from our matrix.
    assignment_group     -> assignment_group (a team); the assignee of each row
                            becomes a member of that row's group.
    assigned_to          -> assignee (a user)
    reassignment_count,
    reopen_count         -> the same fields, as recorded
    made_sla             -> source_made_sla
    closed_code          -> resolution_code "other", the label in resolution_notes
    resolved_at,
    closed_at            -> resolved_at, closed_at as recorded
    sys_updated_at of the first Active row -> acknowledged_at
    the rest (u_symptom, problem_id, rfc, vendor, caused_by, knowledge, notify,
    u_priority_confirmation, sys_created_*, resolved_by, active, sys_mod_count,
    the category labels) -> source_data

Every row contributes to the timeline: the first row is a `reported` entry, a
row whose incident_state differs from the previous row's is a `transition`
entry, and a row that changes only one of TRACKED_COLUMNS is a `field_change`
entry. Each entry is dated by the row's sys_updated_at and its actor is the
sys_updated_by user. Consecutive rows in one Awaiting state make a HoldPeriod,
from the first of them to the next row in another state.

An incident with any rejected row (an invalid value, the `-100` state, rows not
contiguous in the file) is skipped entirely, so that no incident is stored with
a gap in its history. The summary lists the rejected rows with their line.

A second run is safe: incidents are keyed by number. An incident that exists
already gets its recorded fields updated when the file changed them, but its
status, timeline and hold periods stay as they are, because the timeline is
append-only and the status must agree with it.
"""

import datetime
import logging
import operator
import zoneinfo
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from incidents.bulk_insert import insert_rows
from incidents.import_source import (
    Rejection,
    SourceFormatError,
    open_source,
    read_log,
    username_for,
)
from incidents.models import (
    Category,
    HoldPeriod,
    Incident,
    NumberSequence,
    ResolutionCode,
    Service,
    Status,
    Team,
    TimelineEntry,
)
from incidents.priority import derive_priority

logger = logging.getLogger("incidents.importer")

BATCH_SIZE = 1000
REJECTIONS_LISTED = 20

# Columns whose change between two rows of an incident is recorded on the timeline.
TRACKED_COLUMNS = (
    "assignment_group",
    "assigned_to",
    "impact",
    "urgency",
    "priority",
    "category",
    "subcategory",
    "cmdb_ci",
)
# Foreign keys of Incident and the directory table that their keys refer to.
FOREIGN_KEYS = {
    "reporter": "users",
    "opened_by": "users",
    "assignee": "users",
    "category": "categories",
    "service": "services",
    "assignment_group": "teams",
}
# Fields that a second run may update on an incident it imported before. The
# state and the fields that go with it (hold reason) are not among them.
UPDATABLE_FIELDS = (
    "title",
    "description",
    "source",
    "reporter",
    "opened_by",
    "location",
    "category",
    "service",
    "impact",
    "urgency",
    "priority",
    "priority_overridden",
    "assignment_group",
    "assignee",
    "detected_at",
    "reported_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "resolution_code",
    "resolution_notes",
    "reopen_count",
    "reassignment_count",
    "source_made_sla",
    "source_data",
)
SOURCE_NAME = "ServiceNow incident event log"


class ImportOptionError(ValueError):
    """Raised for an invalid option, such as an unknown time zone."""


def resolve_zone(name):
    """Return the ZoneInfo of an IANA zone name, or raise ImportOptionError."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImportOptionError(
            f"--timezone {name!r} is not an IANA time zone, such as UTC or "
            "Europe/Paris."
        ) from None


@dataclass
class ImportSummary:
    """Counts of the rows an import read and rejected and the records it stored."""

    path: str
    time_zone: str
    dry_run: bool
    rows_read: int = 0
    incidents_created: int = 0
    incidents_updated: int = 0
    incidents_unchanged: int = 0
    incidents_skipped: int = 0
    timeline_entries_created: int = 0
    hold_periods_created: int = 0
    users_created: int = 0
    teams_created: int = 0
    categories_created: int = 0
    services_created: int = 0
    memberships_created: int = 0
    # Existing incidents whose final state in the file differs from their status;
    # the import leaves their status and timeline as they are.
    state_differs: list[str] = field(default_factory=list)
    # Numbers of the file that incidents reported here already use; skipped.
    number_conflicts: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rows_rejected(self):
        return len(self.rejections)

    def lines(self):
        """Return the summary as lines of text for the command's output."""
        created = "to create" if self.dry_run else "created"
        lines = [f"Read {self.path} (time zone {self.time_zone})."]
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        lines += [
            f"Rows read: {self.rows_read}",
            f"Rows rejected: {self.rows_rejected}",
            f"Incidents {created}: {self.incidents_created}",
            f"Incidents {'to update' if self.dry_run else 'updated'}: "
            f"{self.incidents_updated}",
            f"Incidents unchanged: {self.incidents_unchanged}",
            f"Incidents skipped: {self.incidents_skipped}",
            f"Timeline entries {created}: {self.timeline_entries_created}",
            f"Hold periods {created}: {self.hold_periods_created}",
            f"Users {created}: {self.users_created}",
            f"Teams {created}: {self.teams_created}",
            f"Categories {created}: {self.categories_created}",
            f"Services {created}: {self.services_created}",
            f"Team memberships {created}: {self.memberships_created}",
        ]
        if self.number_conflicts:
            shown = ", ".join(self.number_conflicts[:REJECTIONS_LISTED])
            lines.append(
                f"Numbers already used by incidents that were not imported, left "
                f"unchanged: {len(self.number_conflicts)} ({shown})"
            )
        if self.state_differs:
            shown = ", ".join(self.state_differs[:REJECTIONS_LISTED])
            lines.append(
                f"Existing incidents whose final state differs in the file, status "
                f"and timeline kept: {len(self.state_differs)} ({shown})"
            )
        if self.rejections:
            lines.append(
                f"First {min(len(self.rejections), REJECTIONS_LISTED)} rejected rows:"
            )
            lines.extend(f"  {r}" for r in self.rejections[:REJECTIONS_LISTED])
        return lines


class Directory:
    """The users, teams, categories and services that incidents refer to, keyed
    as the log names them, preloaded with one query per table.

    Keys: a username for users, the name for teams and services, and
    (parent name or None, name) for categories. Keys not in the database yet are
    collected to be created.
    """

    def __init__(self):
        user_model = get_user_model()
        self.ids = {
            "users": dict(user_model.objects.values_list("username", "id")),
            "teams": dict(Team.objects.values_list("name", "id")),
            "services": dict(Service.objects.values_list("name", "id")),
            "categories": {
                (parent_name, name): pk
                for pk, name, parent_name in Category.objects.values_list(
                    "id", "name", "parent__name"
                )
            },
        }
        self.memberships = set(
            Team.members.through.objects.values_list("team_id", "user_id")
        )
        # Key -> label for users; key -> None for the others.
        self.new = {"users": {}, "teams": {}, "services": {}, "categories": {}}
        self.new_memberships = set()
        self._usernames = {}

    def _key(self, table, key, label=None):
        if key is not None and key not in self.ids[table]:
            self.new[table].setdefault(key, label)
        return key

    def user(self, label):
        if label is None:
            return None
        try:
            return self._usernames[label]
        except KeyError:
            username = self._usernames[label] = username_for(label)
            return self._key("users", username, label)

    def team(self, name):
        return self._key("teams", name)

    def service(self, name):
        return self._key("services", name)

    def category(self, category, subcategory):
        if category is None:
            return None
        top = self._key("categories", (None, category))
        if subcategory is None:
            return top
        return self._key("categories", (category, subcategory))

    def add_membership(self, team_key, user_key):
        team_id = self.ids["teams"].get(team_key)
        user_id = self.ids["users"].get(user_key)
        if (team_id, user_id) not in self.memberships:
            self.new_memberships.add((team_key, user_key))

    def keys_by_id(self, table):
        return {pk: key for key, pk in self.ids[table].items()}

    def create_missing(self):
        """Create the collected users, teams, categories, services and team
        memberships, and record their ids."""
        user_model = get_user_model()
        # Any value starting with "!" is an unusable password. One random value
        # for the whole import saves 40 random draws per user.
        unusable_password = make_password(None)
        now = timezone.now()
        insert_rows(
            user_model,
            ("username", "first_name", "password", "date_joined"),
            [
                (username, label[:150], unusable_password, now)
                for username, label in self.new["users"].items()
            ],
        )
        if self.new["users"]:
            # One query for the new ids; usernames are unique.
            self.ids["users"] = dict(user_model.objects.values_list("username", "id"))
        teams = [Team(name=name) for name in self.new["teams"]]
        self._store("teams", Team, teams, "name")
        services = [Service(name=name) for name in self.new["services"]]
        self._store("services", Service, services, "name")

        # Top-level categories first, so that subcategories can point to them.
        categories = self.new["categories"]
        tops = [Category(name=name) for parent, name in categories if parent is None]
        for category in Category.objects.bulk_create(tops, batch_size=BATCH_SIZE):
            self.ids["categories"][(None, category.name)] = category.pk
        children = [
            Category(name=name, parent_id=self.ids["categories"][(None, parent)])
            for parent, name in categories
            if parent is not None
        ]
        parents = {pk: key[1] for key, pk in self.ids["categories"].items()}
        for category in Category.objects.bulk_create(children, batch_size=BATCH_SIZE):
            key = (parents[category.parent_id], category.name)
            self.ids["categories"][key] = category.pk

        through = Team.members.through
        Team.members.through.objects.bulk_create(
            [
                through(
                    team_id=self.ids["teams"][team], user_id=self.ids["users"][user]
                )
                for team, user in sorted(self.new_memberships)
            ],
            batch_size=BATCH_SIZE,
        )

    def _store(self, table, model, objects, key_field):
        for obj in model.objects.bulk_create(objects, batch_size=BATCH_SIZE):
            self.ids[table][getattr(obj, key_field)] = obj.pk


@dataclass(slots=True)
class EntrySpec:
    """A timeline entry to create, with its actor as a username."""

    kind: str
    created_at: datetime.datetime
    actor: str | None
    actor_label: str
    from_state: str
    to_state: str
    message: str
    data: dict


def _describe(value):
    return "(empty)" if value is None else str(value)


_tracked_values = operator.attrgetter(*TRACKED_COLUMNS)


def _changes(previous, row):
    """Return {column: [before, after]} for the tracked columns that differ."""
    before = _tracked_values(previous)
    after = _tracked_values(row)
    if before == after:
        return {}
    return {
        column: [old, new]
        for column, old, new in zip(TRACKED_COLUMNS, before, after, strict=True)
        if old != new
    }


def build_timeline(rows, directory):
    """Return the EntrySpecs of an incident's rows: reported, then one per state
    change or tracked field change."""
    first = rows[0]
    entries = [
        EntrySpec(
            kind=TimelineEntry.Kind.REPORTED,
            created_at=first.sys_updated_at,
            actor=directory.user(first.sys_updated_by),
            actor_label=first.sys_updated_by or "",
            from_state="",
            to_state=first.status,
            message=(
                f"Imported from the {SOURCE_NAME}; first recorded state: {first.state}."
            ),
            data={
                "line": first.line,
                "sys_mod_count": first.sys_mod_count,
                "state": first.state,
            },
        )
    ]
    previous = first
    for row in rows[1:]:
        changes = _changes(previous, row)
        listed = "; ".join(
            f"{column} {_describe(before)} -> {_describe(after)}"
            for column, (before, after) in changes.items()
        )
        data = {"line": row.line, "sys_mod_count": row.sys_mod_count}
        if changes:
            data["changes"] = changes
        if row.incident_state != previous.incident_state:
            message = (
                f"State changed from {previous.state} to {row.state} in the "
                "source system."
            )
            if listed:
                message += f" Also changed: {listed}."
            data["from"] = previous.state
            data["to"] = row.state
            kind = TimelineEntry.Kind.TRANSITION
            from_state, to_state = previous.status, row.status
        elif changes:
            message = f"Changed in the source system: {listed}."
            kind = TimelineEntry.Kind.FIELD_CHANGE
            from_state = to_state = ""
        else:
            previous = row
            continue
        entries.append(
            EntrySpec(
                kind=kind,
                created_at=row.sys_updated_at,
                actor=directory.user(row.sys_updated_by),
                actor_label=row.sys_updated_by or "",
                from_state=from_state,
                to_state=to_state,
                message=message,
                data=data,
            )
        )
        previous = row
    return entries


def build_hold_periods(rows):
    """Return (reason, state label, started_at, ended_at) for each run of
    consecutive rows in one Awaiting state; ended_at is None for a final hold."""
    periods = []
    current = None
    for row in rows:
        if current is not None and row.state != current[1]:
            periods.append((*current, row.sys_updated_at))
            current = None
        if current is None and row.hold_reason:
            current = (row.hold_reason, row.state, row.sys_updated_at)
    if current is not None:
        periods.append((*current, None))
    return periods


def _title(final):
    where = final.category
    if where and final.subcategory:
        where = f"{where} > {final.subcategory}"
    if final.u_symptom and where:
        return f"{final.u_symptom} in {where}"
    return final.u_symptom or where or f"Imported incident {final.number}"


def _iso(value):
    return value.isoformat() if value is not None else None


def incident_values(rows, directory):
    """Return the recorded field values of an incident, foreign keys as directory
    keys; the state and its hold fields are in state_values."""
    final = rows[-1]
    acknowledged_at = next(
        (row.sys_updated_at for row in rows if row.status == Status.IN_PROGRESS), None
    )
    overridden = False
    if final.priority and final.impact and final.urgency:
        overridden = final.priority != derive_priority(final.impact, final.urgency)
    group = directory.team(final.assignment_group)
    assignee = directory.user(final.assigned_to)
    return {
        "title": _title(final)[:200],
        "description": (
            f"Imported from the {SOURCE_NAME} (UCI Machine Learning Repository, "
            "CC BY 4.0). The source records no description."
        ),
        "source": final.contact_type or "",
        "reporter": directory.user(final.caller_id),
        "opened_by": directory.user(final.opened_by),
        "location": final.location or "",
        "category": directory.category(final.category, final.subcategory),
        "service": directory.service(final.cmdb_ci),
        "impact": final.impact,
        "urgency": final.urgency,
        "priority": final.priority,
        "priority_overridden": overridden,
        "assignment_group": group,
        "assignee": assignee,
        "detected_at": final.opened_at,
        "reported_at": final.opened_at,
        "acknowledged_at": acknowledged_at,
        "resolved_at": final.resolved_at,
        "closed_at": final.closed_at,
        "resolution_code": ResolutionCode.OTHER if final.closed_code else "",
        "resolution_notes": (
            f"Closure code in the source system: {final.closed_code}."
            if final.closed_code
            else ""
        ),
        "reopen_count": final.reopen_count,
        "reassignment_count": final.reassignment_count,
        "source_made_sla": final.made_sla,
        "source_data": {
            "active": final.active,
            "sys_mod_count": final.sys_mod_count,
            "category": final.category,
            "subcategory": final.subcategory,
            "u_symptom": final.u_symptom,
            "caller_id": final.caller_id,
            "sys_created_by": final.sys_created_by,
            "sys_created_at": _iso(final.sys_created_at),
            "resolved_by": final.resolved_by,
            "closed_code": final.closed_code,
            "problem_id": final.problem_id,
            "rfc": final.rfc,
            "vendor": final.vendor,
            "caused_by": final.caused_by,
            "knowledge": final.knowledge,
            "notify": final.notify,
            "u_priority_confirmation": final.u_priority_confirmation,
        },
    }


def state_values(rows):
    """Return the status and hold fields of a new incident, from its rows."""
    final = rows[-1]
    values = {
        "status": final.status,
        "hold_reason": "",
        "hold_note": "",
        "held_from_status": "",
    }
    if final.status == Status.ON_HOLD:
        values["hold_reason"] = final.hold_reason
        values["hold_note"] = f"Imported: {final.state} in the source system."
        before = next(
            (row for row in reversed(rows) if row.status != Status.ON_HOLD), None
        )
        values["held_from_status"] = before.status if before else ""
    return values


@dataclass
class NewIncident:
    number: str
    values: dict
    state: dict
    timeline: list[EntrySpec]
    holds: list[tuple]


def _existing_values(incident, reverse):
    values = {}
    for name in UPDATABLE_FIELDS:
        table = FOREIGN_KEYS.get(name)
        if table is None:
            values[name] = getattr(incident, name)
        else:
            values[name] = reverse[table].get(getattr(incident, f"{name}_id"))
    return values


def _load_existing(numbers):
    """Return the existing incidents whose number is in `numbers`, in one query."""
    return {
        incident.number: incident
        for incident in _range_of(numbers)
        if incident.number in numbers
    }


def _range_of(numbers):
    if not numbers:
        return Incident.objects.none()
    # Every number lies between the smallest and the largest (compared as text),
    # so two parameters select them all. An IN list of 25,000 numbers would come
    # close to SQLite's limit of 32,766 parameters per statement.
    return Incident.objects.filter(number__gte=min(numbers), number__lte=max(numbers))


def plan_import(log, summary):
    """Compare the log with the database and return (directory, new incidents,
    incidents to update with their values). Reads, never writes."""
    summary.rows_read = log.rows_read
    summary.rejections = list(log.rejections)
    directory = Directory()
    valid = [incident for incident in log.incidents if not incident.errors]
    summary.incidents_skipped = len(log.incidents) - len(valid)
    existing = _load_existing({incident.number for incident in valid})
    reverse = {table: directory.keys_by_id(table) for table in FOREIGN_KEYS.values()}

    new_incidents = []
    updates = []
    for source in valid:
        rows = source.rows
        incident = existing.get(source.number)
        if incident is not None and not incident.source_data:
            summary.number_conflicts.append(source.number)
            summary.incidents_skipped += 1
            continue
        values = incident_values(rows, directory)
        # No Incident field refers to these two people, but they are users too,
        # so that source_data's labels lead to an account.
        directory.user(rows[-1].sys_created_by)
        directory.user(rows[-1].resolved_by)
        # dict.fromkeys drops repeats but keeps the file order, so that users
        # are created in the same order on every run.
        pairs = dict.fromkeys(
            (row.assignment_group, row.assigned_to)
            for row in rows
            if row.assignment_group and row.assigned_to
        )
        for group, person in pairs:
            directory.add_membership(directory.team(group), directory.user(person))
        if incident is None:
            new_incidents.append(
                NewIncident(
                    source.number,
                    values,
                    state_values(rows),
                    build_timeline(rows, directory),
                    build_hold_periods(rows),
                )
            )
            continue
        if rows[-1].status != incident.status:
            summary.state_differs.append(source.number)
        if _existing_values(incident, reverse) == values:
            summary.incidents_unchanged += 1
        else:
            updates.append((incident, values))

    summary.incidents_created = len(new_incidents)
    summary.incidents_updated = len(updates)
    summary.timeline_entries_created = sum(len(n.timeline) for n in new_incidents)
    summary.hold_periods_created = sum(len(n.holds) for n in new_incidents)
    summary.users_created = len(directory.new["users"])
    summary.teams_created = len(directory.new["teams"])
    summary.services_created = len(directory.new["services"])
    summary.categories_created = len(directory.new["categories"])
    summary.memberships_created = len(directory.new_memberships)
    return directory, new_incidents, updates


def _resolve(values, directory):
    resolved = {}
    for name, value in values.items():
        table = FOREIGN_KEYS.get(name)
        if table is None:
            resolved[name] = value
        else:
            resolved[f"{name}_id"] = (
                None if value is None else directory.ids[table][value]
            )
    return resolved


TIMELINE_COLUMNS = (
    "incident_id",
    "created_at",
    "actor_id",
    "actor_label",
    "kind",
    "from_state",
    "to_state",
    "message",
    "data",
)
HOLD_COLUMNS = ("incident_id", "reason", "note", "started_at", "ended_at")


def write_import(directory, new_incidents, updates, max_number):
    """Store the planned records in one transaction."""
    with transaction.atomic():
        directory.create_missing()
        now = timezone.now()
        incident_rows = [
            {
                "number": new.number,
                **new.state,
                **_resolve(new.values, directory),
                "updated_at": now,
            }
            for new in new_incidents
        ]
        if incident_rows:
            insert_rows(
                Incident,
                list(incident_rows[0]),
                [tuple(row.values()) for row in incident_rows],
            )
        numbers = {new.number for new in new_incidents}
        incident_ids = {
            number: pk
            for number, pk in _range_of(numbers).values_list("number", "id")
            if number in numbers
        }
        user_ids = directory.ids["users"]
        entries = []
        holds = []
        for new in new_incidents:
            incident_id = incident_ids[new.number]
            for spec in new.timeline:
                entries.append(
                    (
                        incident_id,
                        spec.created_at,
                        user_ids.get(spec.actor),
                        spec.actor_label,
                        spec.kind,
                        spec.from_state,
                        spec.to_state,
                        spec.message,
                        spec.data,
                    )
                )
            for reason, state, started_at, ended_at in new.holds:
                note = f"Imported: {state} in the source system."
                holds.append((incident_id, reason, note, started_at, ended_at))
        insert_rows(TimelineEntry, TIMELINE_COLUMNS, entries)
        insert_rows(HoldPeriod, HOLD_COLUMNS, holds)
        _update_incidents(updates, directory, now)
        advance_sequence(max_number)


def _update_incidents(updates, directory, now):
    if not updates:
        return
    changed = []
    for incident, values in updates:
        for name, value in _resolve(values, directory).items():
            setattr(incident, name, value)
        # bulk_update skips save(), so the optimistic-lock version and auto_now
        # are advanced here.
        incident.version += 1
        incident.updated_at = now
        changed.append(incident)
    fields = [
        f"{name}_id" if name in FOREIGN_KEYS else name for name in UPDATABLE_FIELDS
    ]
    Incident.objects.bulk_update(
        changed, [*fields, "version", "updated_at"], batch_size=BATCH_SIZE
    )


def advance_sequence(max_number):
    """Move the incident number counter to at least max_number, so that numbers
    given to new incidents never repeat an imported one."""
    NumberSequence.objects.get_or_create(name="incident")
    NumberSequence.objects.filter(name="incident", last_value__lt=max_number).update(
        last_value=max_number
    )


def import_incidents(
    path, *, time_zone="UTC", limit=None, dry_run=False, progress=None
):
    """Import the log at path (the CSV or a zip containing it) and return the
    ImportSummary.

    A limit of None or 0 imports every incident. With dry_run everything is
    validated and counted, and nothing is written.

    Raises ImportOptionError for a bad time zone or a negative limit. Raises
    SourceFormatError when the file is not the log. Nothing is written then.
    """
    zone = resolve_zone(time_zone)
    if limit is not None and limit < 0:
        raise ImportOptionError(f"--limit {limit} must be 0 (no limit) or more.")
    if limit == 0:
        limit = None
    summary = ImportSummary(path=str(path), time_zone=zone.key, dry_run=dry_run)
    logger.info(
        "Import of %s started: time_zone=%s limit=%s dry_run=%s",
        path,
        zone.key,
        limit,
        dry_run,
    )
    with open_source(path) as stream:
        log = read_log(stream, path, zone, limit=limit, progress=progress)
    directory, new_incidents, updates = plan_import(log, summary)
    if not dry_run:
        write_import(directory, new_incidents, updates, log.max_number)
    if summary.rejections:
        logger.warning(
            "Import of %s rejected %d rows; first: %s",
            path,
            summary.rows_rejected,
            summary.rejections[0],
        )
    logger.info(
        "Import of %s finished: dry_run=%s rows_read=%d rows_rejected=%d "
        "created=%d updated=%d unchanged=%d skipped=%d timeline_entries=%d "
        "hold_periods=%d",
        path,
        dry_run,
        summary.rows_read,
        summary.rows_rejected,
        summary.incidents_created,
        summary.incidents_updated,
        summary.incidents_unchanged,
        summary.incidents_skipped,
        summary.timeline_entries_created,
        summary.hold_periods_created,
    )
    return summary


__all__ = [
    "ImportOptionError",
    "ImportSummary",
    "SourceFormatError",
    "import_incidents",
    "resolve_zone",
]
