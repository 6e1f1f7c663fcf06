"""The incident lifecycle at the model and service layer."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_fsm import TransitionNotAllowed

from incidents import services
from incidents.models import (
    HoldPeriod,
    Incident,
    IncidentConflict,
    Status,
)
from incidents.roles import INCIDENT_MANAGER, REPORTER, SERVICE_DESK
from tests.permission_matrix import SOURCE_STATE, action_data

ALL_STATES = [state.value for state in Status]

# The states each action may start from; every other (state, action) pair must be
# refused. Written out here, independently of the model, to check it.
ALLOWED_SOURCES = {
    "triage": {"new"},
    "acknowledge": {"triaged"},
    "mitigate": {"in_progress", "investigating"},
    "investigate": {"in_progress", "mitigated"},
    "resolve": {"in_progress", "mitigated", "investigating"},
    "close": {"resolved"},
    "reopen": {"resolved"},
    "hold": {"new", "triaged", "in_progress", "mitigated", "investigating"},
    "resume": {"on_hold"},
    "cancel": {
        "new",
        "triaged",
        "in_progress",
        "mitigated",
        "investigating",
        "on_hold",
    },
    "reassign": {"triaged", "in_progress", "mitigated", "investigating", "on_hold"},
    "declare_major": {
        "new",
        "triaged",
        "in_progress",
        "mitigated",
        "investigating",
        "on_hold",
        "resolved",
    },
    "override_priority": {
        "new",
        "triaged",
        "in_progress",
        "mitigated",
        "investigating",
        "on_hold",
        "resolved",
    },
}

# Where each transition leads; None keeps the state.
TARGETS = {
    "triage": "triaged",
    "acknowledge": "in_progress",
    "mitigate": "mitigated",
    "investigate": "investigating",
    "resolve": "resolved",
    "close": "closed",
    "reopen": "in_progress",
    "hold": "on_hold",
    "cancel": "cancelled",
    "reassign": None,
    "declare_major": None,
    "override_priority": None,
}

# The timestamp each transition sets.
STAMPS = {
    "triage": "triaged_at",
    "acknowledge": "acknowledged_at",
    "mitigate": "mitigated_at",
    "resolve": "resolved_at",
    "close": "closed_at",
    "cancel": "cancelled_at",
}

PAIRS = [(state, action) for state in ALL_STATES for action in ALLOWED_SOURCES]


@pytest.mark.parametrize(("state", "action"), PAIRS)
def test_state_action_pair(
    state, action, make_incident, users, category, service, team, other_team
):
    incident = make_incident(state)
    manager = users[INCIDENT_MANAGER]
    fixtures = {
        "category": category,
        "service": service,
        "team": team,
        "other_team": other_team,
    }
    data = action_data(action, fixtures)
    before_version = incident.version
    before_entries = incident.timeline.count()

    if state not in ALLOWED_SOURCES[action]:
        with pytest.raises(services.ActionRefused) as refusal:
            services.run_action(incident, action, manager, data)
        assert incident.number in str(refusal.value)
        fresh = Incident.objects.get(pk=incident.pk)
        assert fresh.status == state
        assert fresh.version == before_version
        assert fresh.timeline.count() == before_entries
        return

    updated = services.run_action(incident, action, manager, data)
    fresh = Incident.objects.get(pk=incident.pk)
    if action == "resume":
        assert fresh.status == "triaged"
    else:
        assert fresh.status == (TARGETS[action] or state)
    assert fresh.version == before_version + 1
    assert updated.version == fresh.version
    if action in STAMPS:
        assert getattr(fresh, STAMPS[action]) is not None
    entry = fresh.timeline.first()
    assert fresh.timeline.count() == before_entries + 1
    assert entry.transition == action
    assert entry.from_state == state
    assert entry.to_state == fresh.status
    assert entry.actor == manager


def test_protected_status_cannot_be_set(make_incident):
    incident = make_incident("new")
    with pytest.raises(AttributeError):
        incident.status = Status.CLOSED


def test_transition_method_refuses_wrong_state(make_incident):
    incident = make_incident("new")
    with pytest.raises(TransitionNotAllowed):
        incident.close(closure_verified_by=None, closure_notes="x")


def test_resolve_requires_root_cause_for_p2(make_incident, users):
    incident = make_incident("in_progress", impact=1, urgency=2)
    assert incident.priority == 2
    data = {
        "resolution_code": "fixed",
        "resolution_notes": "Fixed.",
        "recovery_notes": "Recovered.",
    }
    with pytest.raises(services.ActionInvalid) as invalid:
        services.run_action(incident, "resolve", users[INCIDENT_MANAGER], data)
    assert "root_cause" in invalid.value.errors
    assert Incident.objects.get(pk=incident.pk).status == "in_progress"


def test_resolve_without_root_cause_for_p4(make_incident, users):
    incident = make_incident("in_progress", impact=3, urgency=2)
    data = {
        "resolution_code": "fixed",
        "resolution_notes": "Fixed.",
        "recovery_notes": "Recovered.",
    }
    services.run_action(incident, "resolve", users[INCIDENT_MANAGER], data)
    assert Incident.objects.get(pk=incident.pk).status == "resolved"


def test_missing_data_names_fields(make_incident, users):
    incident = make_incident("new")
    with pytest.raises(services.ActionInvalid) as invalid:
        services.run_action(incident, "triage", users[SERVICE_DESK], {"impact": "9"})
    errors = invalid.value.errors
    assert set(errors) == {
        "category",
        "service",
        "impact",
        "urgency",
        "assignment_group",
    }
    assert "9" in errors["impact"][0]["message"]


def test_hold_and_resume_record_hold_period(make_incident, users):
    incident = make_incident("in_progress")
    manager = users[INCIDENT_MANAGER]
    incident = services.run_action(
        incident, "hold", manager, {"hold_reason": "vendor", "hold_note": "RMA."}
    )
    period = HoldPeriod.objects.get(incident=incident)
    assert period.ended_at is None
    assert incident.hold_reason == "vendor"
    incident = services.run_action(incident, "resume", manager, {})
    period.refresh_from_db()
    assert period.ended_at is not None
    assert incident.status == "in_progress"
    assert incident.hold_reason == ""


def test_reopen_counts_and_clears_resolution(make_incident, users):
    incident = make_incident("resolved")
    incident = services.run_action(
        incident, "reopen", users[REPORTER], {"reason": "Still broken."}
    )
    assert incident.status == "in_progress"
    assert incident.reopen_count == 1
    assert incident.resolved_at is None


def test_reopen_requires_reason(make_incident, users):
    incident = make_incident("resolved")
    with pytest.raises(services.ActionInvalid) as invalid:
        services.run_action(incident, "reopen", users[REPORTER], {"reason": " "})
    assert "reason" in invalid.value.errors


def test_reassign_counts_team_changes(make_incident, users, other_team, team):
    incident = make_incident("in_progress")
    manager = users[INCIDENT_MANAGER]
    incident = services.run_action(
        incident, "reassign", manager, {"assignment_group": other_team.pk}
    )
    assert incident.reassignment_count == 1
    assert incident.assignment_group == other_team
    assert incident.assignee is None
    incident = services.run_action(
        incident, "reassign", manager, {"assignment_group": team.pk}
    )
    assert incident.reassignment_count == 2


def test_cancel_duplicate_requires_original(make_incident, users):
    original = make_incident("triaged")
    incident = make_incident("new")
    desk = users[SERVICE_DESK]
    with pytest.raises(services.ActionInvalid) as invalid:
        services.run_action(incident, "cancel", desk, {"cancel_reason": "duplicate"})
    assert "duplicate_of" in invalid.value.errors
    incident = services.run_action(
        incident,
        "cancel",
        desk,
        {"cancel_reason": "duplicate", "duplicate_of": original.number},
    )
    assert incident.status == "cancelled"
    assert incident.duplicate_of == original


def test_cancel_unknown_duplicate_number(make_incident, users):
    incident = make_incident("new")
    with pytest.raises(services.ActionInvalid) as invalid:
        services.run_action(
            incident,
            "cancel",
            users[SERVICE_DESK],
            {"cancel_reason": "duplicate", "duplicate_of": "INC9999999"},
        )
    assert "INC9999999" in invalid.value.errors["duplicate_of"][0]["message"]


def test_declare_major_once(make_incident, users):
    incident = make_incident("in_progress")
    manager = users[INCIDENT_MANAGER]
    incident = services.run_action(
        incident, "declare_major", manager, {"reason": "Many users."}
    )
    assert incident.is_major
    with pytest.raises(services.ActionRefused) as refusal:
        services.run_action(incident, "declare_major", manager, {"reason": "Again."})
    assert "already a major incident" in str(refusal.value)


def test_stale_version_conflicts(make_incident, users):
    incident = make_incident("triaged")
    stale = Incident.objects.get(pk=incident.pk)
    services.run_action(incident, "acknowledge", users[INCIDENT_MANAGER], {})
    with pytest.raises(IncidentConflict):
        services.run_action(
            stale,
            "hold",
            users[SERVICE_DESK],
            {"hold_reason": "caller", "hold_note": "Waiting."},
        )
    assert Incident.objects.get(pk=incident.pk).status == "in_progress"


def test_save_of_stale_copy_conflicts(make_incident):
    incident = make_incident("new")
    first = Incident.objects.get(pk=incident.pk)
    second = Incident.objects.get(pk=incident.pk)
    first.title = "First edit"
    first.save()
    second.title = "Second edit"
    with pytest.raises(IncidentConflict), transaction.atomic():
        second.save()
    assert Incident.objects.get(pk=incident.pk).title == "First edit"


def test_numbers_are_sequential_and_unique(make_incident):
    numbers = [make_incident("new").number for _ in range(3)]
    assert len(set(numbers)) == 3
    values = [int(number[3:]) for number in numbers]
    assert values == sorted(values)
    assert all(len(number) == 10 for number in numbers)


def test_number_not_reused_after_rollback(make_incident):
    first = make_incident("new")
    try:
        with transaction.atomic():
            make_incident("new")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    third = make_incident("new")
    assert int(third.number[3:]) > int(first.number[3:])
    assert (
        not Incident.objects.filter(number=third.number).exclude(pk=third.pk).exists()
    )


def test_source_state_table_is_reachable(make_incident):
    for state in set(SOURCE_STATE.values()):
        assert make_incident(state).status == state


def test_reporter_close_records_only_self(make_incident, users):
    incident = make_incident("resolved")
    data = {"closure_notes": "Works now.", "closure_verified_by": "manager"}

    with pytest.raises(services.ActionInvalid) as invalid:
        services.run_action(incident, "close", users[REPORTER], data)

    assert "closure_verified_by" in invalid.value.errors
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
    closed = services.run_action(
        incident, "close", users[REPORTER], {"closure_notes": "Works now."}
    )
    assert closed.closure_verified_by == users[REPORTER]


def test_manager_may_record_other_verifier(make_incident, users):
    incident = make_incident("resolved")
    data = {"closure_notes": "Caller confirmed.", "closure_verified_by": "reporter"}

    closed = services.run_action(incident, "close", users[INCIDENT_MANAGER], data)

    assert closed.closure_verified_by == users[REPORTER]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"detected_at": "2099-01-01T00:00:00+00:00"}, "detected_at"),
        ({"detected_at": "1900-01-01T00:00:00+00:00"}, "detected_at"),
        (
            {
                "started_at": "2026-12-01T00:00:00+00:00",
                "detected_at": "2020-01-01T00:00:00+00:00",
            },
            "started_at",
        ),
    ],
)
def test_impossible_times_rejected_on_edit(make_incident, users, changes, field):
    import datetime as dt

    incident = make_incident("triaged")
    values = {name: dt.datetime.fromisoformat(text) for name, text in changes.items()}

    with pytest.raises(ValidationError) as invalid:
        services.update_fields(incident, users[INCIDENT_MANAGER], values)

    assert field in invalid.value.message_dict
    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.detected_at == incident.detected_at
    assert fresh.version == incident.version


def test_comment_with_nul_rejected(make_incident, users):
    incident = make_incident("new")

    with pytest.raises(ValidationError) as invalid:
        services.add_comment(incident, users[SERVICE_DESK], "a\x00b")

    assert "text" in invalid.value.message_dict
    assert incident.timeline.filter(kind="comment").count() == 0


def test_report_cannot_claim_alert_source(users):
    with pytest.raises(services.ActionInvalid) as invalid:
        services.report_incident(
            users[REPORTER],
            {
                "title": "Disk full",
                "description": "Looks like an alert.",
                "source": "alertmanager",
                "detected_at": "2026-03-02T09:00:00+00:00",
            },
        )

    assert "source" in invalid.value.errors
