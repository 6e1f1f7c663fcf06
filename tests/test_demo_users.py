"""The create_demo_users command: one staff user per role, for local use only."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from incidents import services
from incidents.management.commands.create_demo_users import (
    DEMO_TEAM_NAME,
    DEMO_USERNAMES,
    busiest_team,
)
from incidents.models import Incident, Status, Team
from incidents.roles import INCIDENT_MANAGER, REPORTER, RESPONDER, ROLES

User = get_user_model()


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


def run_command(*args):
    out = io.StringIO()
    call_command("create_demo_users", *args, stdout=out)
    return out.getvalue()


def printed_passwords(output):
    """Map each username to the password printed next to it."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"\s+(\S+)\s+.+?\s+(?:created|new password)\s+(\S+)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def password_hashes():
    return dict(User.objects.values_list("username", "password"))


@pytest.fixture
def incident_setup(roles, category, service):
    """Return a function that reports an incident and triages it to a team."""
    manager = User.objects.create_user("setup-manager", is_staff=True)
    manager.groups.add(Group.objects.get(name=INCIDENT_MANAGER))

    def assign_to(team, *, cancel=False):
        incident = services.report_incident(
            manager,
            {
                "title": "Link down",
                "description": "No traffic.",
                "source": "phone",
                "detected_at": timezone.now(),
            },
        )
        incident = services.run_action(
            incident,
            "triage",
            manager,
            {
                "category": category.pk,
                "service": service.pk,
                "impact": 2,
                "urgency": 2,
                "assignment_group": team.pk,
            },
        )
        if cancel:
            services.run_action(
                incident, "cancel", manager, {"cancel_reason": "not_an_incident"}
            )

    return assign_to


def test_creates_staff_user_per_role(roles, debug_on):
    output = run_command()

    passwords = printed_passwords(output)
    for role in ROLES:
        user = User.objects.get(username=DEMO_USERNAMES[role])
        assert user.is_staff
        assert not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.check_password(passwords[user.username])
    assert "local use only" in output


def test_passwords_differ_per_user(roles, debug_on):
    passwords = printed_passwords(run_command())

    assert len(passwords) == 6
    assert len(set(passwords.values())) == 6


def test_second_run_creates_nothing(roles, debug_on):
    run_command()
    users_before = User.objects.count()
    incidents_before = Incident.objects.count()
    hashes_before = password_hashes()

    output = run_command()

    assert User.objects.count() == users_before
    assert Incident.objects.count() == incidents_before
    assert password_hashes() == hashes_before
    assert printed_passwords(output) == {}
    assert output.count("exists, password unchanged") == 6


def test_reset_passwords_sets_new_ones(roles, debug_on):
    run_command()
    hashes_before = password_hashes()

    output = run_command("--reset-passwords")

    passwords = printed_passwords(output)
    assert set(passwords) == set(DEMO_USERNAMES.values())
    for username, password in passwords.items():
        user = User.objects.get(username=username)
        assert user.password != hashes_before[username]
        assert user.check_password(password)


def test_rejected_when_debug_off(roles, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off.*--force"):
        run_command()

    assert not User.objects.exists()


def test_force_runs_when_debug_off(roles, settings):
    settings.DEBUG = False

    run_command("--force")

    assert User.objects.filter(username__in=DEMO_USERNAMES.values()).count() == 6


def test_missing_roles_rejected(db, debug_on):
    with pytest.raises(CommandError, match="Run 'python manage.py setup_roles'"):
        run_command()

    assert not User.objects.exists()


def test_reporter_gets_three_demo_incidents(roles, debug_on):
    output = run_command()

    reporter = User.objects.get(username=DEMO_USERNAMES[REPORTER])
    incidents = Incident.objects.filter(reporter=reporter)
    assert incidents.count() == 3
    assert set(incidents.values_list("status", flat=True)) == {Status.NEW}
    for incident in incidents:
        assert incident.title.startswith("Demo: ")
        assert incident.number in output


def test_no_demo_incidents_option(roles, debug_on):
    run_command("--no-demo-incidents")

    assert not Incident.objects.exists()


def test_responder_joins_busiest_team(incident_setup, team, other_team, debug_on):
    # other_team had more incidents, but cancelled ones are not open.
    incident_setup(team)
    incident_setup(team)
    incident_setup(other_team)
    for _ in range(3):
        incident_setup(other_team, cancel=True)

    output = run_command()

    responder = User.objects.get(username=DEMO_USERNAMES[RESPONDER])
    assert list(responder.teams.all()) == [team]
    assert f"joined {team.name}, the team with the most open incidents (2)" in output


def test_busiest_team_one_query(
    incident_setup, team, other_team, django_assert_num_queries
):
    incident_setup(other_team)

    with django_assert_num_queries(1):
        chosen = busiest_team()

    assert chosen == other_team
    assert chosen.open_incidents == 1


def test_busiest_team_tie_by_name(db):
    Team.objects.create(name="Zeta")
    Team.objects.create(name="Alpha")

    assert busiest_team().name == "Alpha"


def test_demo_team_created_without_teams(roles, debug_on):
    output = run_command()

    responder = User.objects.get(username=DEMO_USERNAMES[RESPONDER])
    assert list(responder.teams.values_list("name", flat=True)) == [DEMO_TEAM_NAME]
    assert f"joined {DEMO_TEAM_NAME}, because no team has open incidents" in output


def test_demo_team_used_without_open_incidents(
    incident_setup, team, other_team, debug_on
):
    # Only cancelled incidents: no team has work for the responder.
    incident_setup(team, cancel=True)

    run_command()

    responder = User.objects.get(username=DEMO_USERNAMES[RESPONDER])
    assert list(responder.teams.values_list("name", flat=True)) == [DEMO_TEAM_NAME]
    assert Team.objects.count() == 3


def test_responder_team_kept_on_rerun(roles, debug_on):
    run_command()
    Team.objects.create(name="Busy")

    run_command()

    responder = User.objects.get(username=DEMO_USERNAMES[RESPONDER])
    assert list(responder.teams.values_list("name", flat=True)) == [DEMO_TEAM_NAME]
