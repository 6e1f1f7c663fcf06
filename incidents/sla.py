"""Service-level clocks: due times, time left and state of an incident's targets.

Everything here is derived from stored timestamps (reported_at, acknowledged_at,
resolved_at) and the incident's hold periods, never from counters kept by hand.
The pure functions (``working_time``, ``compute_due``, ``evaluate``) take plain
values, so tests and the cross-check script can call them on any timeline. The
clock of a target runs from reported_at and stops:

- while the incident is on hold (each HoldPeriod is cut out of the clock);
- outside the working hours of the target's calendar, if it has one;
- when the target's end timestamp is set (acknowledged_at for the response
  target, resolved_at for the resolution target).

Incident also stores the due times and at-risk thresholds in indexed columns, so
that queues filter in SQL; ``refresh_due_times`` sets them on an instance.
"""

import dataclasses
import datetime
import functools
import zoneinfo

import holidays
from django.conf import settings
from django.db.models import Q

from incidents.models import (
    BusinessHoliday,
    HoldPeriod,
    ServiceLevelTarget,
    Status,
    TargetKind,
)

ZERO = datetime.timedelta(0)
ONE_DAY = datetime.timedelta(days=1)
# The end of a hold that is still open.
FOREVER = datetime.datetime.max.replace(tzinfo=datetime.UTC)

# States of one target.
ON_TRACK = "on_track"
AT_RISK = "at_risk"
BREACHED = "breached"
MET = "met"
PAUSED = "paused"

# Statuses in which no clock runs any more, whatever the timestamps contain.
STOPPED_STATUSES = (Status.CANCELLED,)

# A calendar with no working time would make compute_due loop for ever. So a due
# time further than this many days after the start is treated as unreachable.
MAX_SEARCH_DAYS = 3 * 366


@dataclasses.dataclass(frozen=True)
class Calendar:
    """Working hours in plain values, detached from the database row."""

    time_zone: str
    weekdays: frozenset
    start_time: datetime.time
    end_time: datetime.time
    holiday_dates: frozenset = frozenset()
    holiday_country: str = ""
    holiday_subdivision: str = ""

    @classmethod
    def from_model(cls, calendar, manual_dates=None):
        if manual_dates is None:
            manual_dates = BusinessHoliday.objects.filter(
                calendar=calendar
            ).values_list("date", flat=True)
        return cls(
            time_zone=calendar.time_zone,
            weekdays=frozenset(calendar.weekdays),
            start_time=calendar.start_time,
            end_time=calendar.end_time,
            holiday_dates=frozenset(manual_dates),
            holiday_country=calendar.holiday_country,
            holiday_subdivision=calendar.holiday_subdivision,
        )

    def is_working_day(self, day):
        if day.isoweekday() not in self.weekdays or day in self.holiday_dates:
            return False
        if self.holiday_country:
            return day not in _public_holidays(
                self.holiday_country, self.holiday_subdivision or None, day.year
            )
        return True

    def working_windows(self, start, end):
        """Yield the (begin, end) UTC intervals of working time between start and
        end, in order.

        Each day's window is built from local wall-clock times, so that a daylight
        saving change moves it in UTC as it does on the office clock.
        """
        zone = zoneinfo.ZoneInfo(self.time_zone)
        day = start.astimezone(zone).date() - ONE_DAY
        last_day = end.astimezone(zone).date()
        while day <= last_day:
            if self.is_working_day(day):
                opens = datetime.datetime.combine(day, self.start_time, tzinfo=zone)
                closes = datetime.datetime.combine(day, self.end_time, tzinfo=zone)
                begin = max(opens.astimezone(datetime.UTC), start)
                finish = min(closes.astimezone(datetime.UTC), end)
                if begin < finish:
                    yield begin, finish
            day += ONE_DAY


@functools.lru_cache(maxsize=256)
def _public_holidays(country, subdivision, year):
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def _far_future(start):
    return start + datetime.timedelta(days=MAX_SEARCH_DAYS)


def _running_intervals(start, end, holds, calendar):
    """Yield the intervals between start and end when the clock runs: working
    time minus the hold periods.

    holds is a list of (started_at, ended_at) pairs; ended_at None means the hold
    is still open, which stops the clock from its start onwards.
    """
    if calendar is None:
        windows = [(start, end)]
    else:
        windows = calendar.working_windows(start, end)
    cuts = sorted(
        (hold_start, hold_end if hold_end is not None else FOREVER)
        for hold_start, hold_end in holds
    )
    for begin, finish in windows:
        pieces = [(begin, finish)]
        for cut_start, cut_end in cuts:
            next_pieces = []
            for piece_start, piece_end in pieces:
                if cut_end <= piece_start or cut_start >= piece_end:
                    next_pieces.append((piece_start, piece_end))
                    continue
                if piece_start < cut_start:
                    next_pieces.append((piece_start, cut_start))
                if cut_end < piece_end:
                    next_pieces.append((cut_end, piece_end))
            pieces = next_pieces
        yield from pieces


def working_time(start, end, holds=(), calendar=None):
    """Return the clock time between start and end: the time inside working
    hours (or all of it without a calendar), minus the hold periods."""
    if end <= start:
        return ZERO
    total = ZERO
    for begin, finish in _running_intervals(start, end, holds, calendar):
        total += finish - begin
    return total


def compute_due(start, duration, holds=(), calendar=None):
    """Return the moment when the clock started at start has run for duration.

    Returns None while that moment depends on the end of a hold that is still
    open, or when the calendar has no working time within MAX_SEARCH_DAYS.
    """
    remaining = duration
    if remaining <= ZERO:
        return start
    # The clock never runs after an open hold starts, so the search can stop
    # there instead of walking the calendar up to the far horizon.
    horizon = min(
        [_far_future(start), *(began for began, ended in holds if ended is None)]
    )
    if horizon <= start:
        return None
    for begin, finish in _running_intervals(start, horizon, holds, calendar):
        length = finish - begin
        if length >= remaining:
            return begin + remaining
        remaining -= length
    return None


@dataclasses.dataclass(frozen=True)
class Clock:
    """The evaluated state of one target of one incident at one moment."""

    kind: str
    target: datetime.timedelta
    due_at: datetime.datetime | None
    at_risk_at: datetime.datetime | None
    elapsed: datetime.timedelta
    state: str
    stopped_at: datetime.datetime | None = None
    paused: bool = False

    @property
    def time_left(self):
        """Clock time until the due time; negative when overdue."""
        return self.target - self.elapsed


def at_risk_duration(duration):
    return duration * settings.IMS_SLA_AT_RISK_RATIO


def evaluate(kind, start, duration, stopped_at, holds, calendar, now):
    """Evaluate one target: due time, at-risk time, elapsed clock time and state.

    stopped_at is the timestamp that ends this target (acknowledged_at or
    resolved_at), or None while it runs.
    """
    due_at = compute_due(start, duration, holds, calendar)
    at_risk_at = compute_due(start, at_risk_duration(duration), holds, calendar)
    end = stopped_at or now
    elapsed = working_time(start, end, holds, calendar)
    paused = stopped_at is None and any(
        began <= now and ended is None for began, ended in holds
    )
    if stopped_at is not None:
        state = MET if elapsed <= duration else BREACHED
    elif elapsed >= duration:
        state = BREACHED
    elif elapsed >= at_risk_duration(duration):
        state = AT_RISK
    elif paused:
        state = PAUSED
    else:
        state = ON_TRACK
    return Clock(
        kind=kind,
        target=duration,
        due_at=due_at,
        at_risk_at=at_risk_at,
        elapsed=elapsed,
        state=state,
        stopped_at=stopped_at,
        paused=paused,
    )


# Loading targets, holds and calendars for incidents.


def targets_by_key():
    """Return every target keyed by (priority, service id or None), with its
    calendar, in two queries at most."""
    targets = ServiceLevelTarget.objects.select_related("calendar")
    result = {(t.priority, t.service_id): t for t in targets}
    calendars = {t.calendar_id: t.calendar for t in result.values() if t.calendar_id}
    manual = {}
    if calendars:
        for calendar_id, date in BusinessHoliday.objects.filter(
            calendar_id__in=calendars
        ).values_list("calendar_id", "date"):
            manual.setdefault(calendar_id, []).append(date)
    for target in result.values():
        target.plain_calendar = (
            Calendar.from_model(target.calendar, manual.get(target.calendar_id, []))
            if target.calendar_id
            else None
        )
    return result


def find_target(incident, targets):
    """Return the target for the incident's priority and service: the service's
    own one if it exists, else the default; None without a priority."""
    if incident.priority is None:
        return None
    return targets.get((incident.priority, incident.service_id)) or targets.get(
        (incident.priority, None)
    )


def holds_by_incident(incident_ids):
    holds = {}
    rows = HoldPeriod.objects.filter(incident_id__in=incident_ids).values_list(
        "incident_id", "started_at", "ended_at"
    )
    for incident_id, started_at, ended_at in rows:
        holds.setdefault(incident_id, []).append((started_at, ended_at))
    return holds


def _stop_time(incident, kind):
    if kind == TargetKind.RESPONSE:
        return incident.acknowledged_at
    return incident.resolved_at


def evaluate_incident(incident, now, *, targets=None, holds=None):
    """Return {kind: Clock} for the incident's response and resolution targets,
    or {} when no target applies (no priority yet, or cancelled).

    targets and holds may be passed preloaded (from targets_by_key and
    holds_by_incident) to evaluate many incidents without a query each.
    """
    if incident.status in STOPPED_STATUSES:
        return {}
    if targets is None:
        targets = targets_by_key()
    target = find_target(incident, targets)
    if target is None:
        return {}
    if holds is None:
        holds = holds_by_incident([incident.pk]).get(incident.pk, [])
    return {
        kind: evaluate(
            kind,
            incident.reported_at,
            target.duration(kind),
            _stop_time(incident, kind),
            holds,
            target.plain_calendar,
            now,
        )
        for kind in TargetKind.values
    }


DUE_FIELDS = (
    "response_due_at",
    "response_at_risk_at",
    "resolution_due_at",
    "resolution_at_risk_at",
)


def refresh_due_times(incident, *, targets=None, holds=None):
    """Set the stored due-time fields on the incident instance without saving it,
    and return whether any of them changed.

    The caller saves: a post_transition handler runs before the service saves the
    incident under its optimistic lock, so a save here would break that lock.
    """
    if incident.pk is None:
        holds = []
    values = dict.fromkeys(DUE_FIELDS)
    if incident.status not in STOPPED_STATUSES:
        if targets is None:
            targets = targets_by_key()
        target = find_target(incident, targets)
        if target is not None:
            if holds is None:
                holds = holds_by_incident([incident.pk]).get(incident.pk, [])
            calendar = target.plain_calendar
            for kind in TargetKind.values:
                duration = target.duration(kind)
                values[f"{kind}_due_at"] = compute_due(
                    incident.reported_at, duration, holds, calendar
                )
                values[f"{kind}_at_risk_at"] = compute_due(
                    incident.reported_at, at_risk_duration(duration), holds, calendar
                )
    changed = False
    for name, value in values.items():
        if getattr(incident, name) != value:
            setattr(incident, name, value)
            changed = True
    return changed


# Queue helpers for the admin and the API.


def breached_or_at_risk_q(now):
    """Return the filter of incidents whose running response or resolution clock
    is at risk or breached at now, on the stored thresholds.

    A stored at-risk threshold is the moment the clock reaches 75 % of its target.
    Past it, with no acknowledgement (or resolution), the target is at least at
    risk.
    """
    running = ~Q(status__in=[Status.CANCELLED, Status.RESOLVED, Status.CLOSED])
    response = Q(acknowledged_at__isnull=True, response_at_risk_at__lte=now)
    resolution = Q(resolved_at__isnull=True, resolution_at_risk_at__lte=now)
    return running & (response | resolution)


def breached_or_at_risk(queryset, now):
    """Filter incidents to those at risk or breached at now, in SQL."""
    return queryset.filter(breached_or_at_risk_q(now))


def breached(queryset, now):
    """Filter incidents to those with a running clock past its due time."""
    running = ~Q(status__in=[Status.CANCELLED, Status.RESOLVED, Status.CLOSED])
    response = Q(acknowledged_at__isnull=True, response_due_at__lte=now)
    resolution = Q(resolved_at__isnull=True, resolution_due_at__lte=now)
    return queryset.filter(running & (response | resolution))


BADGE_LABELS = {
    ON_TRACK: "On track",
    AT_RISK: "At risk",
    BREACHED: "Breached",
    MET: "Met",
    PAUSED: "Paused",
}
# Worst first: the badge shows the worst of the two targets.
_SEVERITY = {BREACHED: 4, AT_RISK: 3, PAUSED: 2, ON_TRACK: 1, MET: 0}


def badge_for_stored(incident, now):
    """Return the SLA badge data of one incident from its stored fields alone,
    without a query, for list pages.

    Returns None when no target applies, else a dict with state (on_track,
    at_risk, breached, met or paused), label, kind (the target shown: the
    running one nearest its due time), due_at and time_left (a timedelta,
    negative when overdue; None while paused). Paused, met and the states
    between the stored thresholds are approximations of ``evaluate_incident``,
    which the detail page should use.
    """
    candidates = []
    for kind in TargetKind.values:
        due_at = getattr(incident, f"{kind}_due_at")
        at_risk_at = getattr(incident, f"{kind}_at_risk_at")
        stopped_at = _stop_time(incident, kind)
        if due_at is None and at_risk_at is None:
            if incident.priority is not None and incident.status == Status.ON_HOLD:
                candidates.append((PAUSED, kind, None, None))
            continue
        if stopped_at is not None:
            state = MET if due_at is not None and stopped_at <= due_at else BREACHED
            candidates.append((state, kind, due_at, None))
            continue
        if incident.status in STOPPED_STATUSES:
            continue
        if due_at is not None and now >= due_at:
            state = BREACHED
        elif at_risk_at is not None and now >= at_risk_at:
            state = AT_RISK
        elif incident.status == Status.ON_HOLD:
            state = PAUSED
        else:
            state = ON_TRACK
        time_left = due_at - now if due_at is not None else None
        candidates.append((state, kind, due_at, time_left))
    if not candidates:
        return None
    running = [c for c in candidates if c[0] != MET]
    pool = running or candidates
    state, kind, due_at, time_left = max(
        pool,
        key=lambda c: (_SEVERITY[c[0]], -(c[3] or ZERO).total_seconds()),
    )
    return {
        "state": state,
        "label": BADGE_LABELS[state],
        "kind": kind,
        "due_at": due_at,
        "time_left": time_left,
    }


def clocks_for_display(incident, now):
    """Return the exact clocks of one incident as a list of plain dicts, for a
    detail page or an API: one per target, response first, or [] when no target
    applies. Costs two to three queries; use badge_for_stored on list pages.

    Each dict has kind, target, due_at, at_risk_at, state, label, elapsed,
    time_left (negative when overdue) and paused.
    """
    clocks = evaluate_incident(incident, now)
    return [
        {
            "kind": kind,
            "target": clock.target,
            "due_at": clock.due_at,
            "at_risk_at": clock.at_risk_at,
            "state": clock.state,
            "label": BADGE_LABELS[clock.state],
            "elapsed": clock.elapsed,
            "time_left": clock.time_left,
            "paused": clock.paused,
        }
        for kind, clock in clocks.items()
    ]


def format_time_left(time_left):
    """Return time left as text such as "2 h 05 min left" or "1 d 3 h overdue"."""
    if time_left is None:
        return ""
    suffix = "left" if time_left >= ZERO else "overdue"
    seconds = int(abs(time_left).total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes = seconds // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes:02d} min"
    else:
        text = f"{minutes} min"
    return f"{text} {suffix}"


def recompute_all(batch_size=1000):
    """Recompute the stored due times of every incident, batch by batch, and write
    only the changed rows with bulk_update. Returns (checked, changed).

    bulk_update skips Incident.save(), so the optimistic lock version does not
    move: these columns are derived and no user edit can conflict with them.
    """
    from incidents.models import Incident

    targets = targets_by_key()
    checked = changed = 0
    last_pk = 0
    # version too: Incident.from_db reads it, and a deferred field costs a query.
    fields = ["status", "priority", "service", "reported_at", "version", *DUE_FIELDS]
    while True:
        batch = list(
            Incident.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .only(*fields)[:batch_size]
        )
        if not batch:
            break
        last_pk = batch[-1].pk
        holds = holds_by_incident([incident.pk for incident in batch])
        dirty = [
            incident
            for incident in batch
            if refresh_due_times(
                incident, targets=targets, holds=holds.get(incident.pk, [])
            )
        ]
        if dirty:
            Incident.objects.bulk_update(dirty, DUE_FIELDS)
        checked += len(batch)
        changed += len(dirty)
    return checked, changed
