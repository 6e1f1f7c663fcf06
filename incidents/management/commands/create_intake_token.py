"""Create (if needed) an intake service account and print a new token for it."""

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from incidents.api.intake import INTAKE_GROUP, intake_account
from incidents.api.models import IntakeToken

LABEL_MAX_LENGTH = IntakeToken._meta.get_field("name").max_length


def check_username(name):
    """Raise CommandError unless name is a username Django's user model accepts."""
    max_length = get_user_model()._meta.get_field("username").max_length
    if len(name) > max_length:
        raise CommandError(
            f"NAME {name[:20]!r}... is {len(name)} characters long; the maximum "
            f"is {max_length}."
        )
    try:
        UnicodeUsernameValidator()(name)
    except ValidationError as error:
        messages = " ".join(error.messages)
        raise CommandError(f"NAME {name!r} is invalid: {messages}") from None


def check_intake_account(user):
    """Raise CommandError unless an existing user is already an intake account,
    so that the command never gives a person's account a bearer token."""
    problems = []
    if user.is_staff or user.is_superuser:
        problems.append("is a staff account")
    if user.has_usable_password():
        problems.append("has a password")
    if not user.groups.filter(name=INTAKE_GROUP).exists():
        problems.append(f'is not in the "{INTAKE_GROUP}" group')
    if problems:
        raise CommandError(
            f"User {user.get_username()!r} already exists and is not an intake "
            f"account: it {', '.join(problems)}. Choose another NAME."
        )


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
        check_username(name)
        label = label or name[:LABEL_MAX_LENGTH]
        if len(label) > LABEL_MAX_LENGTH or "\x00" in label:
            raise CommandError(
                f"--label={label!r} is invalid: use at most {LABEL_MAX_LENGTH} "
                "characters and no NUL character."
            )
        with transaction.atomic():
            existing = (
                get_user_model()
                .objects.select_for_update()
                .filter(username=name)
                .first()
            )
            if existing is not None:
                check_intake_account(existing)
            user, created = intake_account(name)
            token, key = IntakeToken.issue(user, label)
        verb = "Created" if created else "Found"
        self.stderr.write(
            f"{verb} intake account {name!r}; token {token.prefix}... issued. "
            "The key is shown only now:"
        )
        self.stdout.write(key)
