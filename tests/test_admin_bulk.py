"""Bulk actions of the incident list: each incident is checked on its own, and
the refusals are reported with their reasons."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from incidents.models import Incident, Status
from incidents.roles import INCIDENT_MANAGER, REPORTER, RESPONDER
from tests.admin_support import fast_password_hashing  # noqa: F401

LIST_URL = "/admin/incidents/incident/"


def run_action(client, action, incidents, **data):
    payload = {
        "action": action,
        ACTION_CHECKBOX_NAME: [incident.pk for incident in incidents],
        **data,
    }
    return client.post(LIST_URL, payload, follow=True)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def reload(incident):
    return Incident.objects.get(pk=incident.pk)


def test_bulk_acknowledge_reports_refusals(client, users, make_incident, other_team):
    ours = [make_incident("triaged"), make_incident("triaged")]
    untriaged = make_incident("new")
    theirs = make_incident("triaged")
    Incident.objects.filter(pk=theirs.pk).update(assignment_group=other_team)
    client.force_login(users[RESPONDER])

    response = run_action(client, "acknowledge_selected", [*ours, untriaged, theirs])

    messages = messages_of(response)
    assert "Acknowledged 2 incidents." in messages
    assert any(
        m.startswith(f"1 refused ({untriaged.number}): it is new") for m in messages
    ), messages
    assert any(
        m.startswith(f"1 refused ({theirs.number}): it is assigned to Database")
        for m in messages
    ), messages
    assert [reload(i).status for i in ours] == [Status.IN_PROGRESS] * 2
    assert reload(untriaged).status == Status.NEW
    assert reload(theirs).status == Status.TRIAGED
    assert reload(theirs).version == theirs.version


def test_bulk_close_asks_for_notes_first(client, users, make_incident):
    resolved = make_incident("resolved")
    client.force_login(users[INCIDENT_MANAGER])

    response = run_action(client, "close_resolved", [resolved])

    assert response.status_code == 200
    assert "closure_notes" in response.context["form"].fields
    assert reload(resolved).status == Status.RESOLVED


def test_bulk_close_groups_refusals_by_reason(client, users, make_incident):
    resolved = make_incident("resolved")
    working = [make_incident("in_progress"), make_incident("in_progress")]
    client.force_login(users[INCIDENT_MANAGER])

    response = run_action(
        client,
        "close_resolved",
        [resolved, *working],
        apply="1",
        closure_notes="Checked with the callers.",
    )

    messages = messages_of(response)
    assert "Closed 1 incident." in messages
    numbers = ", ".join(sorted(i.number for i in working))
    assert any(
        m.startswith(f"2 refused ({numbers}): it is in progress") for m in messages
    ), messages
    assert reload(resolved).status == Status.CLOSED
    assert reload(resolved).closure_notes == "Checked with the callers."
    assert {reload(i).status for i in working} == {Status.IN_PROGRESS}


def test_bulk_close_by_reporter_only_own(client, users, make_incident):
    from tests.conftest import make_user

    own = make_incident("resolved")
    foreign = make_incident("resolved")
    Incident.objects.filter(pk=foreign.pk).update(
        reporter=make_user("someone", REPORTER)
    )
    client.force_login(users[REPORTER])

    response = run_action(
        client, "close_resolved", [own, foreign], apply="1", closure_notes="Works."
    )

    # The other reporter's incident is not even visible, so it is not selected.
    assert "Closed 1 incident." in messages_of(response)
    assert reload(own).status == Status.CLOSED
    assert reload(foreign).status == Status.RESOLVED


def test_bulk_close_missing_notes_changes_nothing(client, users, make_incident):
    resolved = make_incident("resolved")
    client.force_login(users[INCIDENT_MANAGER])

    response = run_action(client, "close_resolved", [resolved], apply="1")

    assert response.context["form"].errors["closure_notes"]
    assert reload(resolved).status == Status.RESOLVED


def test_bulk_assign_triages_new_and_reassigns_others(
    client, users, make_incident, other_team, category, service
):
    new = make_incident("new")
    Incident.objects.filter(pk=new.pk).update(service=service)
    triaged = make_incident("triaged")
    client.force_login(users[INCIDENT_MANAGER])

    response = run_action(
        client,
        "assign_to_team",
        [new, triaged],
        apply="1",
        assignment_group=other_team.pk,
        category=category.pk,
        impact=2,
        urgency=1,
    )

    messages = messages_of(response)
    assert "Triaged and assigned 1 incident." in messages
    assert "Reassigned 1 incident." in messages
    assert reload(new).status == Status.TRIAGED
    assert reload(new).assignment_group == other_team
    assert reload(new).priority == 2
    assert reload(triaged).assignment_group == other_team
    assert reload(triaged).reassignment_count == 1


def test_bulk_assign_refusals(client, users, make_incident, team):
    new_without_service = make_incident("new")
    already_there = make_incident("triaged")
    client.force_login(users[INCIDENT_MANAGER])

    response = run_action(
        client,
        "assign_to_team",
        [new_without_service, already_there],
        apply="1",
        assignment_group=team.pk,
    )

    messages = messages_of(response)
    assert any(
        m.startswith(f"1 refused ({already_there.number})") and "already has" in m
        for m in messages
    ), messages
    assert any(
        m.startswith(f"1 refused ({new_without_service.number})") and "service" in m
        for m in messages
    ), messages
    assert reload(new_without_service).status == Status.NEW
    assert reload(already_there).version == already_there.version


def test_bulk_hold_and_resume(client, users, make_incident):
    incidents = [make_incident("triaged"), make_incident("in_progress")]
    closed = make_incident("closed")
    client.force_login(users[INCIDENT_MANAGER])

    response = run_action(
        client,
        "hold_selected",
        [*incidents, closed],
        apply="1",
        hold_reason="vendor",
        hold_note="Waiting for the carrier.",
    )
    assert "Put on hold 2 incidents." in messages_of(response)
    assert reload(closed).status == Status.CLOSED

    response = run_action(client, "resume_selected", incidents)

    assert "Resumed 2 incidents." in messages_of(response)
    assert [reload(i).status for i in incidents] == [
        Status.TRIAGED,
        Status.IN_PROGRESS,
    ]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (REPORTER, {"close_resolved"}),
        (
            RESPONDER,
            {
                "acknowledge_selected",
                "assign_to_team",
                "hold_selected",
                "resume_selected",
            },
        ),
        ("Auditor", set()),
    ],
)
def test_bulk_actions_offered_by_role(client, users, role, expected):
    client.force_login(users[role])

    response = client.get(LIST_URL)

    form = response.context["action_form"]
    choices = form.fields["action"].choices if form else []
    offered = {value for value, _label in choices if value}
    assert offered == expected


def test_bulk_over_limit_changes_nothing(client, users, make_incident, settings):
    settings.IMS_ADMIN_BULK_LIMIT = 1
    incidents = [make_incident("triaged"), make_incident("triaged")]
    client.force_login(users[INCIDENT_MANAGER])

    response = run_action(client, "acknowledge_selected", incidents)

    assert any("at most 1" in m for m in messages_of(response))
    assert {reload(i).status for i in incidents} == {Status.TRIAGED}
