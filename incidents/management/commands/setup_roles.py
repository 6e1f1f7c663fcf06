from django.core.management.base import BaseCommand, CommandError

from incidents.roles import setup_roles


class Command(BaseCommand):
    help = "Create the role groups with their permissions; safe to run again."

    def handle(self, *args, **options):
        try:
            setup_roles(stdout=self.stdout)
        except LookupError as error:
            raise CommandError(str(error)) from error
