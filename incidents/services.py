"""Operations on incidents that the admin, the API and the commands share.

Each operation runs in one transaction: it locks the incident row, checks the FSM
and the permission rules, validates the data with the action's form, applies the
change and appends the timeline entry. Either all of that is stored or none of it.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from incidents import rules, sla
from incidents.forms import ACTION_FORMS, ReportForm
from incidents.models import (
    Incident,
    IncidentConflict,
    Status,
    TimelineEntry,
    incident_time_errors,
)

logger = logging.getLogger(__name__)


class ActionRefused(Exception):
    """Raised when the state or the user's permissions do not allow an action.

    The message names the rule that refused it.
    """


class ActionInvalid(Exception):
    """Raised when the data for an action does not validate; carries the bound
    form so that callers can show its errors."""

    def __init__(self, form):
        self.form = form
        super().__init__(form.errors.as_text())

    @property
    def errors(self):
        return self.form.errors.get_json_data()


def _lock(incident, expected_version):
    """Return the incident re-read under a row lock, or raise IncidentConflict
    if it changed since the caller read it at expected_version."""
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if expected_version is not None and locked.version != expected_version:
        raise IncidentConflict(
            f"{locked.number} was changed since you loaded it (version "
            f"{expected_version}, now {locked.version}); reload it and try again."
        )
    return locked


def _json_value(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "get_username"):
        return value.get_username()
    if isinstance(value, Incident):
        return value.number
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return {"id": value.pk, "name": str(value)}
    return str(value)


def run_action(incident, action, actor, data, *, expected_version=None):
    """Run one action (a transition or a state-keeping action such as reassign)
    and return the updated incident.

    expected_version defaults to the version of the incident object passed in, so
    an actor who loaded a stale copy gets IncidentConflict rather than acting on
    an incident that has moved on.

    Raises ActionRefused, ActionInvalid or IncidentConflict; nothing is stored then.
    """
    if action not in ACTION_FORMS:
        raise ActionRefused(f"{action!r} is not an incident action.")
    if expected_version is None:
        expected_version = incident.version

    with transaction.atomic():
        locked = _lock(incident, expected_version)
        refusal = rules.transition_refusal(actor, locked, action)
        if refusal:
            raise ActionRefused(refusal)

        form = ACTION_FORMS[action](data, incident=locked, actor=actor)
        if not form.is_valid():
            raise ActionInvalid(form)

        from_state = locked.status
        try:
            getattr(locked, action)(**form.action_kwargs())
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                target = field if field in form.fields else None
                for message in messages:
                    form.add_error(target, message)
            raise ActionInvalid(form) from None
        except TransitionNotAllowed as error:
            raise ActionRefused(str(error)) from None
        locked.save()

        TimelineEntry.objects.create(
            incident=locked,
            actor=actor,
            kind=TimelineEntry.Kind.TRANSITION,
            transition=action,
            from_state=from_state,
            to_state=locked.status,
            message=form.describe(),
            data={
                name: _json_value(value) for name, value in form.cleaned_data.items()
            },
        )
    logger.info(
        "incident %s: %s by %s (%s -> %s)",
        locked.number,
        action,
        actor.get_username(),
        from_state,
        locked.status,
    )
    return locked


def report_incident(actor, data, *, reporter=None):
    """Create an incident in state new from the report form's data.

    The reporter defaults to the actor. Raises ActionRefused or ActionInvalid.
    """
    if not rules.can_report(actor):
        raise ActionRefused("Your role does not include the permission to report.")
    form = ReportForm(data)
    if not form.is_valid():
        raise ActionInvalid(form)
    return create_reported_incident(form, actor, reporter=reporter or actor)


def create_reported_incident(form, actor, *, reporter):
    """Save a valid ReportForm as a new incident with its first timeline entry.

    reporter is None for an incident that an alert opened; actor is then the
    intake account.
    """
    if reporter is None:
        message = "Opened by {actor} from an alert via {source}: {title}"
    else:
        message = "Reported by {reporter} via {source}: {title}"
    with transaction.atomic():
        incident = form.save(commit=False)
        incident.reporter = reporter
        incident.opened_by = actor
        incident.reported_at = timezone.now()
        incident.save()
        TimelineEntry.objects.create(
            incident=incident,
            actor=actor,
            kind=TimelineEntry.Kind.REPORTED,
            to_state=Status.NEW,
            message=message.format(
                actor=actor.get_username(),
                reporter=reporter.get_username() if reporter else "",
                source=incident.get_source_display(),
                title=incident.title,
            ),
        )
    logger.info("incident %s reported by %s", incident.number, actor.get_username())
    return incident


def add_comment(incident, actor, text):
    """Append a comment to the incident's timeline."""
    text = (text or "").strip()
    if not rules.can_comment(actor, incident):
        raise ActionRefused(f"You may not comment on {incident.number}.")
    if not text:
        raise ValidationError({"text": "A comment cannot be empty."})
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL, and no comment needs one.
        raise ValidationError({"text": "Null characters are not allowed."})
    return TimelineEntry.objects.create(
        incident=incident,
        actor=actor,
        kind=TimelineEntry.Kind.COMMENT,
        message=text,
    )


def update_fields(incident, actor, changes, *, expected_version=None):
    """Change plain fields of an incident and record each change in the timeline.

    changes maps field names to new values. Only the fields that
    rules.editable_fields allows for this user and state may change. Changing
    impact or urgency derives the priority again unless it was overridden.
    Raises ActionRefused, ValidationError or IncidentConflict.
    """
    if expected_version is None:
        expected_version = incident.version
    with transaction.atomic():
        locked = _lock(incident, expected_version)
        allowed = rules.editable_fields(actor, locked)
        refused = sorted(set(changes) - allowed)
        if refused:
            raise ActionRefused(
                f"You may not change {', '.join(refused)} of {locked.number} while "
                f"it is {locked.get_status_display().lower()}."
            )

        before = {name: getattr(locked, name) for name in changes}
        before.setdefault("priority", locked.priority)
        for name, value in changes.items():
            setattr(locked, name, value)
        if "impact" in changes or "urgency" in changes:
            locked.set_impact_urgency(locked.impact, locked.urgency)
            changes = {**changes, "priority": locked.priority}
        locked.full_clean(exclude=_unchanged(locked, changes))
        if "started_at" in changes or "detected_at" in changes:
            errors = incident_time_errors(locked.started_at, locked.detected_at)
            if errors:
                raise ValidationError(errors)

        diff = {
            name: [_json_value(before[name]), _json_value(value)]
            for name, value in changes.items()
            if before[name] != value
        }
        if not diff:
            return locked
        sla.refresh_due_times(locked)
        locked.save()
        TimelineEntry.objects.create(
            incident=locked,
            actor=actor,
            kind=TimelineEntry.Kind.FIELD_CHANGE,
            message="Changed "
            + ", ".join(_describe_change(n, d) for n, d in diff.items()),
            data={"changes": diff},
        )
    return locked


def _unchanged(incident, changes):
    return [f.name for f in incident._meta.fields if f.name not in changes]


def _describe_change(name, values):
    old, new = values
    label = name.replace("_", " ")
    if isinstance(new, str) and len(new) > 80:
        return f"{label}"
    if isinstance(old, dict):
        old = old["name"]
    if isinstance(new, dict):
        new = new["name"]
    return f"{label} from {old if old not in (None, '') else 'empty'} to {new}"


SYSTEM_ACTOR = "system"


def auto_close_resolved(grace, *, now=None):
    """Close every incident resolved for longer than grace (a timedelta) that
    nobody reopened, and return the numbers closed.

    Each incident closes in its own transaction under a row lock, so an incident
    reopened meanwhile is skipped and one failure does not undo the others.
    """
    now = now or timezone.now()
    cutoff = now - grace
    candidates = Incident.objects.filter(
        status=Status.RESOLVED, resolved_at__lte=cutoff
    ).values_list("pk", flat=True)
    closed = []
    for pk in candidates.iterator(chunk_size=500):
        with transaction.atomic():
            incident = Incident.objects.select_for_update().get(pk=pk)
            if incident.status != Status.RESOLVED or incident.resolved_at > cutoff:
                continue
            resolved = incident.resolved_at.strftime("%Y-%m-%d %H:%M %Z")
            notes = (
                f"Closed automatically: resolved at {resolved} and not reopened "
                f"within {_describe_grace(grace)}."
            )
            incident.close(
                closure_verified_by=None, closure_notes=notes, at=now, automatic=True
            )
            incident.save()
            TimelineEntry.objects.create(
                incident=incident,
                actor_label=SYSTEM_ACTOR,
                kind=TimelineEntry.Kind.TRANSITION,
                transition="close",
                from_state=Status.RESOLVED,
                to_state=Status.CLOSED,
                message=notes,
                data={"automatic": True, "grace_seconds": grace.total_seconds()},
            )
        closed.append(incident.number)
        logger.info("incident %s closed automatically", incident.number)
    return closed


def _describe_grace(grace):
    days = grace.total_seconds() / 86400
    if days == int(days):
        unit = "day" if days == 1 else "days"
        return f"{int(days)} {unit}"
    return f"{grace.total_seconds() / 3600:g} hours"
