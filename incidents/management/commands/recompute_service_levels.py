from django.core.management.base import BaseCommand

from incidents.sla import recompute_all


class Command(BaseCommand):
    help = (
        "Recompute the stored due times of every incident from its timestamps, hold "
        "periods and the current targets. Run it after changing targets or "
        "calendars, and after an import."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Incidents read and written per batch (default 1000).",
        )

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            self.stderr.write(f"--batch-size={batch_size} must be at least 1.")
            raise SystemExit(2)
        checked, changed = recompute_all(batch_size=batch_size)
        self.stdout.write(f"Checked {checked} incidents, updated {changed}.")
