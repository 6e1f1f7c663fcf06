"""Create one staff user per role for trying the system out on a local machine."""

import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents import services
from incidents.models import Incident, Source, Team
from incidents.roles import (
    AUDITOR,
    INCIDENT_MANAGER,
    REPORTER,
    RESPONDER,
    REVIEWER,
    ROLES,
    SERVICE_DESK,
)

logger = logging.getLogger(__name__)

DEMO_USERNAMES = {
    REPORTER: "reporter",
    SERVICE_DESK: "servicedesk",
    RESPONDER: "responder",
    INCIDENT_MANAGER: "manager",
    REVIEWER: "reviewer",
    AUDITOR: "auditor",
}
DEMO_TEAM_NAME = "Demo responders"
DEMO_INCIDENTS = (
    ("Demo: VPN drops every few minutes", "Home workers lose the VPN tunnel."),
    ("Demo: printer on floor 2 offline", "The shared printer shows no network."),
    ("Demo: slow logins to the intranet", "Logging in takes about a minute."),
)


def busiest_team():
    """Return the team with the most open incidents (ties by name), or None when
    no team exists. One query: the counts are computed by the database."""
    open_counts = (
        Incident.objects.open()
        .filter(assignment_group=OuterRef("pk"))
        .order_by()
        .values("assignment_group")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return (
        Team.objects.annotate(
            open_incidents=Coalesce(
                Subquery(open_counts, output_field=IntegerField()), Value(0)
            )
        )
        .order_by("-open_incidents", "name")
        .first()
    )


class Command(BaseCommand):
    help = (
        "Create one staff user per role with a random password, printed once. "
        "For local use only: refused when DEBUG is off unless --force is given. "
        "Users that exist already are left unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the existing demo users new random passwords and print them.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even when DEBUG is off.",
        )
        parser.add_argument(
            "--no-demo-incidents",
            action="store_true",
            help="Do not report the three demo incidents when the demo reporter "
            "is created.",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off, so this looks like a production server, where demo "
                "users with printed passwords do not belong. Pass --force to "
                "create them anyway."
            )

        groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
        missing = [role for role in ROLES if role not in groups]
        if missing:
            raise CommandError(
                f"Missing role groups: {', '.join(missing)}. Run "
                "'python manage.py setup_roles' first."
            )

        with transaction.atomic():
            users, created, passwords = self._create_users(
                groups, options["reset_passwords"]
            )
            team_note = self._join_responder_team(users[RESPONDER])
            demo_incidents = []
            if REPORTER in created and not options["no_demo_incidents"]:
                demo_incidents = self._report_demo_incidents(users[REPORTER])

        self._print_summary(users, created, passwords)
        self.stdout.write(team_note)
        if demo_incidents:
            numbers = ", ".join(incident.number for incident in demo_incidents)
            self.stdout.write(
                f"{users[REPORTER].username} reported demo incidents {numbers}."
            )

    def _create_users(self, groups, reset_passwords):
        """Return the demo user of each role, the roles whose user this run
        created, and the passwords this run set, by role."""
        user_model = get_user_model()
        users = {}
        created_roles = set()
        passwords = {}
        for role in ROLES:
            username = DEMO_USERNAMES[role]
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"is_staff": True}
            )
            if created:
                created_roles.add(role)
                user.groups.add(groups[role])
            if created or reset_passwords:
                passwords[role] = secrets.token_urlsafe(12)
                user.set_password(passwords[role])
                user.save(update_fields=["password"])
                logger.info(
                    "demo user %s (id %s) %s",
                    username,
                    user.pk,
                    "created" if created else "given a new password",
                )
            users[role] = user
        return users, created_roles, passwords

    def _join_responder_team(self, responder):
        """Make the demo responder a member of the team with the most open
        incidents, so that they have incidents to act on, and return a line
        saying which team. Without open incidents the team is "Demo responders".
        A responder who is in a team already stays as is."""
        current = list(responder.teams.order_by("name").values_list("name", flat=True))
        if current:
            return f"{responder.username} is a member of {', '.join(current)}."

        team = busiest_team()
        if team is None or team.open_incidents == 0:
            # A team without open incidents gives the responder nothing to act
            # on, so use a team whose name is easy to find when triaging.
            team, _ = Team.objects.get_or_create(name=DEMO_TEAM_NAME)
            note = (
                f"{responder.username} joined {team.name}, because no team has "
                "open incidents. Triage an incident to it to give them work."
            )
        else:
            note = (
                f"{responder.username} joined {team.name}, the team with the most "
                f"open incidents ({team.open_incidents})."
            )
        team.members.add(responder)
        logger.info(
            "demo user %s joined team %s (id %s)",
            responder.username,
            team.name,
            team.pk,
        )
        return note

    def _report_demo_incidents(self, reporter):
        incidents = []
        for title, description in DEMO_INCIDENTS:
            incident = services.report_incident(
                reporter,
                {
                    "title": title,
                    "description": description,
                    "source": Source.WEB,
                    "detected_at": timezone.now(),
                },
            )
            incidents.append(incident)
        return incidents

    def _print_summary(self, users, created, passwords):
        write = self.stdout.write
        if passwords:
            write(
                "Demo users, for local use only. Their passwords are shown once: "
                "a later run keeps them and does not print them again."
            )
        for role in ROLES:
            username = users[role].username
            if role in passwords:
                verb = "created" if role in created else "new password"
                write(f"  {username:<12} {role:<17} {verb:<13} {passwords[role]}")
            else:
                write(f"  {username:<12} {role:<17} exists, password unchanged")
        if not passwords:
            write("Pass --reset-passwords to give them new passwords.")
