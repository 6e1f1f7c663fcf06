import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from incidents.services import auto_close_resolved


class Command(BaseCommand):
    help = (
        "Close incidents that have stayed resolved, without a reopen, for longer "
        "than the grace period. Safe to run from cron at any interval."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=float,
            default=None,
            help="Grace period in days (default: IMS_AUTO_CLOSE_DAYS, "
            f"now {settings.IMS_AUTO_CLOSE_DAYS}).",
        )

    def handle(self, *args, days=None, **options):
        if days is None:
            days = settings.IMS_AUTO_CLOSE_DAYS
        if not days > 0:
            raise CommandError(f"--days={days!r} must be a positive number of days.")
        closed = auto_close_resolved(datetime.timedelta(days=days))
        self.stdout.write(f"Closed {len(closed)} resolved incidents.")
        for number in closed:
            self.stdout.write(f"  {number}")
