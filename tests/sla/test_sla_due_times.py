"""Stored due times on incidents: set by transitions and field changes, rebuilt by
recompute_service_levels, and matching the computation from timestamps."""

import datetime
import importlib

from django.apps import apps as django_apps
from django.core.management import call_command
from django.utils import timezone

from incidents import services, sla
from incidents.models import HoldPeriod, Incident, ServiceLevelTarget
from incidents.priority import Priority
from incidents.roles import INCIDENT_MANAGER

MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def test_default_targets_created_by_migration(db):
    targets = {
        t.priority: (t.response_target, t.resolution_target)
        for t in ServiceLevelTarget.objects.filter(service=None)
    }

    assert targets == {
        1: (15 * MINUTE, 4 * HOUR),
        2: (30 * MINUTE, 8 * HOUR),
        3: (4 * HOUR, 3 * DAY),
        4: (DAY, 10 * DAY),
        5: (3 * DAY, 30 * DAY),
    }


def test_default_targets_migration_is_idempotent_and_keeps_edits(db):
    ServiceLevelTarget.objects.filter(priority=1, service=None).update(
        response_target=10 * MINUTE
    )
    migration = importlib.import_module("incidents.migrations.0004_service_levels")

    migration.create_default_targets(django_apps, None)

    assert ServiceLevelTarget.objects.count() == 5
    p1 = ServiceLevelTarget.objects.get(priority=1, service=None)
    assert p1.response_target == 10 * MINUTE


def test_new_incident_has_no_due_times(make_incident):
    incident = make_incident("new")

    assert incident.response_due_at is None
    assert incident.resolution_due_at is None


def test_triage_sets_due_times_from_priority_target(make_incident):
    incident = make_incident("triaged", impact=2, urgency=2)

    assert incident.priority == Priority.P3
    assert incident.response_due_at == incident.reported_at + 4 * HOUR
    assert incident.response_at_risk_at == incident.reported_at + 3 * HOUR
    assert incident.resolution_due_at == incident.reported_at + 3 * DAY
    assert incident.resolution_at_risk_at == incident.reported_at + 54 * HOUR


def test_service_target_overrides_default(make_incident, service):
    ServiceLevelTarget.objects.create(
        priority=Priority.P3,
        service=service,
        response_target=HOUR,
        resolution_target=6 * HOUR,
    )

    incident = make_incident("triaged", impact=2, urgency=2)

    assert incident.response_due_at == incident.reported_at + HOUR
    assert incident.resolution_due_at == incident.reported_at + 6 * HOUR


def test_resume_moves_due_by_hold_length(make_incident, users):
    manager = users[INCIDENT_MANAGER]
    incident = make_incident("in_progress")
    due_before = incident.resolution_due_at

    incident = services.run_action(
        incident, "hold", manager, {"hold_reason": "vendor", "hold_note": "RMA."}
    )
    paused = Incident.objects.get(pk=incident.pk)
    incident = services.run_action(paused, "resume", manager, {"note": ""})
    resumed = Incident.objects.get(pk=incident.pk)
    hold = HoldPeriod.objects.get(incident=incident)

    assert paused.resolution_due_at is None
    assert paused.resolution_at_risk_at is None
    assert resumed.resolution_due_at == due_before + (hold.ended_at - hold.started_at)


def test_priority_change_recomputes_from_reported_at(make_incident, users):
    incident = make_incident("triaged", impact=2, urgency=2)

    changed = services.update_fields(
        incident, users[INCIDENT_MANAGER], {"impact": 1, "urgency": 1}
    )
    stored = Incident.objects.get(pk=changed.pk)

    assert stored.priority == Priority.P1
    assert stored.response_due_at == stored.reported_at + 15 * MINUTE
    assert stored.resolution_due_at == stored.reported_at + 4 * HOUR


def test_override_priority_recomputes(make_incident, users):
    incident = make_incident("triaged", impact=2, urgency=2)

    services.run_action(
        incident,
        "override_priority",
        users[INCIDENT_MANAGER],
        {"priority": Priority.P5, "reason": "Only one user affected."},
    )
    stored = Incident.objects.get(pk=incident.pk)

    assert stored.resolution_due_at == stored.reported_at + 30 * DAY


def test_cancel_clears_due_times(make_incident):
    incident = make_incident("cancelled")

    assert incident.response_due_at is None
    assert incident.resolution_due_at is None


def test_stored_due_times_match_computation(make_incident):
    incident = make_incident("in_progress", impact=1, urgency=2)
    now = incident.reported_at + HOUR

    clocks = sla.evaluate_incident(incident, now)

    assert clocks["response"].due_at == incident.response_due_at
    assert clocks["resolution"].due_at == incident.resolution_due_at
    assert clocks["response"].state == sla.MET


def test_recompute_command_rebuilds_cleared_fields(make_incident):
    incidents = [make_incident("triaged") for _ in range(3)]
    expected = {i.pk: i.resolution_due_at for i in incidents}
    Incident.objects.update(response_due_at=None, resolution_due_at=None)

    call_command("recompute_service_levels", "--batch-size", "2")

    stored = dict(Incident.objects.values_list("pk", "resolution_due_at"))
    assert stored == expected


def test_recompute_queries_do_not_grow_per_incident(
    make_incident, django_assert_max_num_queries
):
    for _ in range(4):
        make_incident("triaged")
    Incident.objects.update(response_due_at=None)

    # Targets; then for the one batch: incidents, hold periods and the UPDATE;
    # then the empty batch that ends the loop.
    with django_assert_max_num_queries(5):
        call_command("recompute_service_levels")


def test_recompute_command_applies_changed_target(make_incident):
    incident = make_incident("triaged", impact=2, urgency=2)
    ServiceLevelTarget.objects.filter(priority=3, service=None).update(
        resolution_target=DAY
    )

    call_command("recompute_service_levels")

    stored = Incident.objects.get(pk=incident.pk)
    assert stored.resolution_due_at == stored.reported_at + DAY


def test_recompute_does_not_bump_version(make_incident):
    incident = make_incident("triaged")
    Incident.objects.update(resolution_due_at=timezone.now())

    call_command("recompute_service_levels")

    assert Incident.objects.get(pk=incident.pk).version == incident.version
