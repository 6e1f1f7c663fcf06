"""The work queues: the right incidents in each, the wrong ones out, counted in
one query."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.admin_queues import QUEUES, queue_counts, queue_q
from incidents.models import Incident
from incidents.roles import INCIDENT_MANAGER, RESPONDER
from tests.admin_support import fast_password_hashing  # noqa: F401

LIST_URL = "/admin/incidents/incident/"
NOW = timezone.now()


def set_fields(incident, **fields):
    # Test setup only: an UPDATE skips the FSM and the version, so the incident
    # can be put in any shape.
    Incident.objects.filter(pk=incident.pk).update(**fields)
    return Incident.objects.get(pk=incident.pk)


def numbers_in_queue(key, user):
    return set(
        Incident.objects.filter(queue_q(key, user, NOW)).values_list(
            "number", flat=True
        )
    )


@pytest.fixture
def responder(users):
    return users[RESPONDER]


def test_mine_has_my_open_incidents(make_incident, responder, users):
    mine = set_fields(make_incident("in_progress"), assignee=responder)
    mine_closed = set_fields(make_incident("closed"), assignee=responder)
    someone_elses = make_incident("in_progress")

    found = numbers_in_queue("mine", responder)

    assert mine.number in found
    assert mine_closed.number not in found
    assert someone_elses.number not in found


def test_my_team_has_open_incidents_of_my_teams(make_incident, users, other_team):
    ours = make_incident("triaged")
    theirs = set_fields(make_incident("triaged"), assignment_group=other_team)
    ours_resolved = make_incident("resolved")

    found = numbers_in_queue("my_team", users[RESPONDER])

    assert ours.number in found
    assert theirs.number not in found
    assert ours_resolved.number not in found
    assert numbers_in_queue("my_team", users["outsider"]) == {theirs.number}


def test_unassigned_has_triaged_incidents_without_assignee(make_incident, responder):
    waiting = make_incident("triaged")
    held = make_incident("on_hold")
    untriaged = make_incident("new")
    taken = make_incident("in_progress")

    found = numbers_in_queue("unassigned", responder)

    assert waiting.number in found
    assert held.number in found
    assert untriaged.number not in found
    assert taken.number not in found


def test_major_has_open_p1_and_declared(make_incident, responder):
    p1 = make_incident("triaged", impact=1, urgency=1)
    declared = set_fields(make_incident("in_progress"), declared_major=True)
    p1_closed = make_incident("closed", impact=1, urgency=1)
    p3 = make_incident("triaged")

    found = numbers_in_queue("major", responder)

    assert found == {p1.number, declared.number}
    assert p1_closed.number not in found
    assert p3.number not in found


def test_breached_or_at_risk_uses_due_times(make_incident, responder):
    hours = datetime.timedelta(hours=1)
    p1_old = set_fields(
        make_incident("in_progress"), priority=1, reported_at=NOW - 5 * hours
    )
    p1_at_risk = set_fields(
        make_incident("in_progress"), priority=1, reported_at=NOW - 3.5 * hours
    )
    p1_fresh = set_fields(
        make_incident("in_progress"), priority=1, reported_at=NOW - hours
    )
    p3_day = set_fields(
        make_incident("in_progress"), priority=3, reported_at=NOW - 24 * hours
    )
    p3_unacknowledged = set_fields(
        make_incident("triaged"), priority=3, reported_at=NOW - 5 * hours
    )
    resolved_old = set_fields(make_incident("resolved"), reported_at=NOW - 900 * hours)
    held_old = set_fields(
        make_incident("on_hold"), priority=1, reported_at=NOW - 9 * hours
    )
    # The UPDATEs above bypass the hooks that keep the stored due times current.
    call_command("recompute_service_levels", stdout=StringIO())

    found = numbers_in_queue("breached", responder)

    # P1 resolution: 4 h, at risk from 3 h. P3 resolution: 3 days; P3 response:
    # 4 h, which the unacknowledged one has missed. The held P1 ran 9 h before
    # its hold began, so it stays breached while its clock is paused.
    assert found == {
        p1_old.number,
        p1_at_risk.number,
        p3_unacknowledged.number,
        held_old.number,
    }
    for outside in (p1_fresh, p3_day, resolved_old):
        assert outside.number not in found


def test_on_hold_has_only_held_incidents(make_incident, responder):
    held = make_incident("on_hold")
    working = make_incident("triaged")

    assert numbers_in_queue("on_hold", responder) == {held.number}
    assert working.number not in numbers_in_queue("on_hold", responder)


def test_awaiting_closure_has_resolved_incidents(make_incident, responder):
    resolved = make_incident("resolved")
    closed = make_incident("closed")

    found = numbers_in_queue("awaiting_closure", responder)

    assert found == {resolved.number}
    assert closed.number not in found


@pytest.mark.parametrize(
    "key", [queue.key for queue in QUEUES if queue.key != "my_reports"]
)
def test_queue_link_filters_the_list(client, users, make_incident, key):
    make_incident("on_hold")
    make_incident("resolved")
    make_incident("triaged", impact=1, urgency=1)
    manager = users[INCIDENT_MANAGER]
    client.force_login(manager)

    response = client.get(LIST_URL, {"queue": key})

    assert response.status_code == 200
    listed = {incident.number for incident in response.context["cl"].result_list}
    expected = numbers_in_queue(key, manager)
    assert listed == expected


def test_queue_counts_take_one_query(make_incident, users):
    make_incident("on_hold")
    make_incident("resolved")
    manager = users[INCIDENT_MANAGER]
    manager.has_perm("incidents.view_all_incidents")  # warm the permission cache

    with CaptureQueriesContext(connection) as queries:
        counts = queue_counts(manager)

    assert len(queries) == 1
    assert counts["on_hold"] == 1
    assert counts["awaiting_closure"] == 1
    assert counts["open"] == 1


def test_queue_links_show_counts_above_list(client, users, make_incident):
    make_incident("on_hold")
    client.force_login(users[INCIDENT_MANAGER])

    response = client.get(LIST_URL)

    queues = {queue["key"]: queue["count"] for queue in response.context["queues"]}
    assert queues["on_hold"] == 1
    assert 'href="?queue=on_hold"' in response.content.decode()


def test_reporter_queues_cover_own_reports_only(client, users, make_incident):
    make_incident("resolved")
    client.force_login(users["Reporter"])

    response = client.get(LIST_URL)

    keys = [queue["key"] for queue in response.context["queues"]]
    assert keys == ["on_hold", "awaiting_closure", "my_reports", "open"]


@pytest.mark.parametrize("key", [queue.key for queue in QUEUES])
def test_queue_within_active_states(key, make_incident, users):
    # queue_counts reads only ACTIVE_STATES rows, so no queue may match others.
    closed = make_incident("closed", impact=1, urgency=1)
    cancelled = make_incident("cancelled")
    for incident in (closed, cancelled):
        Incident.objects.filter(pk=incident.pk).update(
            assignee=users[RESPONDER], declared_major=True
        )

    found = numbers_in_queue(key, users[RESPONDER])

    assert closed.number not in found
    assert cancelled.number not in found
