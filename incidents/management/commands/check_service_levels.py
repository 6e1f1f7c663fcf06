from django.core.management.base import BaseCommand
from django.utils import timezone

from incidents.escalation import check_service_levels


class Command(BaseCommand):
    help = (
        "Escalate incidents whose response or resolution target became at risk or "
        "breached: one timeline entry, e-mails and webhooks per change. Safe to run "
        "every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-notify",
            action="store_true",
            help="Record the changes in the timeline but send no e-mail or webhook; "
            "for the first run after importing old incidents.",
        )

    def handle(self, *args, no_notify, **options):
        result = check_service_levels(timezone.now(), notify=not no_notify)
        self.stdout.write(
            f"Checked {result.checked} incidents at risk or breached, escalated "
            f"{result.escalated} changes, skipped {result.skipped_stale} with stale "
            "due times."
        )
        if result.skipped_stale:
            self.stdout.write(
                "Run recompute_service_levels: some stored due times no longer "
                "match the targets."
            )
