"""Create (if needed) an intake service account and print a new token for it."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from incidents.api.intake import INTAKE_GROUP, intake_account
from incidents.api.models import IntakeToken


class Command(BaseCommand):
    help = (
        "Create the intake account NAME if it does not exist (no password, no admin "
        f'access, group "{INTAKE_GROUP}") and print a new bearer token for it. '
        "Revoke tokens by deleting them in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Username of the intake account.")
        parser.add_argument(
            "--label",
            default="",
            help="What uses the token, shown in the admin; defaults to NAME.",
        )

    def handle(self, name, label, **options):
        name = name.strip()
        if not name:
            raise CommandError("NAME must not be empty.")
        with transaction.atomic():
            user, created = intake_account(name)
            if user.is_staff or user.is_superuser:
                raise CommandError(
                    f"{name!r} is a staff account; intake accounts must not log in "
                    "to the admin. Choose another NAME."
                )
            token, key = IntakeToken.issue(user, label or name)
        verb = "Created" if created else "Found"
        self.stderr.write(
            f"{verb} intake account {name!r}; token {token.prefix}... issued. "
            "The key is shown only now:"
        )
        self.stdout.write(key)
