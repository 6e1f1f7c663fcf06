"""Shared fixtures: the roles, one user per role, teams, and an incident factory.

Fixtures are deterministic: names and timestamps are fixed, not random, so a
failure reproduces exactly.
"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from incidents import services
from incidents.models import Category, Incident, Service, Team
from incidents.roles import (
    AUDITOR,
    INCIDENT_MANAGER,
    REPORTER,
    RESPONDER,
    REVIEWER,
    SERVICE_DESK,
    setup_roles,
)

# Usernames of the fixed cast, one per role, plus a responder of another team.
ROLE_USERNAMES = {
    REPORTER: "reporter",
    SERVICE_DESK: "servicedesk",
    RESPONDER: "responder",
    INCIDENT_MANAGER: "manager",
    REVIEWER: "reviewer",
    AUDITOR: "auditor",
}
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def roles(db):
    setup_roles()


def make_user(username, role=None, teams=()):
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=True
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    for team in teams:
        team.members.add(user)
    return user


@pytest.fixture
def team(db):
    return Team.objects.create(name="Network")


@pytest.fixture
def other_team(db):
    return Team.objects.create(name="Database")


@pytest.fixture
def users(roles, team, other_team):
    """A user per role, keyed by role name, plus "outsider": a responder of
    another team."""
    cast = {
        role: make_user(name, role, teams=[team] if role == RESPONDER else [])
        for role, name in ROLE_USERNAMES.items()
    }
    cast["outsider"] = make_user("outsider", RESPONDER, teams=[other_team])
    return cast


@pytest.fixture
def category(db):
    parent = Category.objects.create(name="Network")
    return Category.objects.create(name="Switch", parent=parent)


@pytest.fixture
def service(db, team):
    return Service.objects.create(name="Core switching", owning_team=team)


REPORTED_AT = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def make_incident(users, category, service, team):
    """Return a factory that creates an incident and walks it, as the incident
    manager, to the requested state."""

    manager = users[INCIDENT_MANAGER]
    reporter = users[REPORTER]

    steps = {
        "triaged": [
            (
                "triage",
                lambda impact, urgency: {
                    "category": category.pk,
                    "service": service.pk,
                    "impact": impact,
                    "urgency": urgency,
                    "assignment_group": team.pk,
                },
            )
        ],
        "in_progress": [("acknowledge", lambda *a: {})],
        "mitigated": [("mitigate", lambda *a: {"workaround": "Rerouted traffic."})],
        "investigating": [("investigate", lambda *a: {"investigation_notes": ""})],
        "resolved": [
            (
                "resolve",
                lambda *a: {
                    "resolution_code": "fixed",
                    "resolution_notes": "Replaced the line card.",
                    "recovery_notes": "Traffic back on the primary path.",
                    "root_cause": "Faulty line card.",
                },
            )
        ],
        "closed": [("close", lambda *a: {"closure_notes": "Confirmed by the caller."})],
    }
    paths = {
        "new": [],
        "triaged": ["triaged"],
        "in_progress": ["triaged", "in_progress"],
        "mitigated": ["triaged", "in_progress", "mitigated"],
        "investigating": ["triaged", "in_progress", "investigating"],
        "resolved": ["triaged", "in_progress", "resolved"],
        "closed": ["triaged", "in_progress", "resolved", "closed"],
    }

    def factory(state="new", *, impact=2, urgency=2, title="Switch down"):
        incident = services.report_incident(
            reporter,
            {
                "title": title,
                "description": "Floor 3 has no network.",
                "source": "phone",
                "detected_at": timezone.now(),
            },
        )
        extra = {
            "on_hold": ["triaged"],
            "cancelled": [],
        }
        for stage in paths.get(state, extra.get(state, [])):
            for action, build in steps[stage]:
                incident = services.run_action(
                    incident, action, manager, build(impact, urgency)
                )
        if state == "on_hold":
            incident = services.run_action(
                incident,
                "hold",
                manager,
                {"hold_reason": "caller", "hold_note": "Waiting for the caller."},
            )
        if state == "cancelled":
            incident = services.run_action(
                incident, "cancel", manager, {"cancel_reason": "not_an_incident"}
            )
        return Incident.objects.get(pk=incident.pk)

    return factory
