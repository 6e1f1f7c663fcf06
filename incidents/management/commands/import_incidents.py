from django.core.management.base import BaseCommand, CommandError

from incidents.importer import (
    ImportOptionError,
    SourceFormatError,
    import_incidents,
)


class Command(BaseCommand):
    help = (
        "Import the ServiceNow incident event log (the CSV, or a zip containing "
        "incident_event_log.csv): one incident per number, with its state history. "
        "Safe to run again. See docs/import.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV file or the zip containing it.")
        parser.add_argument(
            "--timezone",
            default="UTC",
            help="IANA time zone in which the file's timestamps are local time "
            "(default: UTC).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            help="Import only the first N incidents of the file; 0 imports all "
            "(the default).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and count everything, write nothing.",
        )

    def handle(self, *args, path, timezone, limit, dry_run, **options):
        def progress(rows_read):
            self.stdout.write(f"{rows_read} rows read...")

        try:
            summary = import_incidents(
                path,
                time_zone=timezone,
                limit=limit,
                dry_run=dry_run,
                progress=progress,
            )
        except (ImportOptionError, SourceFormatError) as error:
            raise CommandError(str(error)) from error
        for line in summary.lines():
            self.stdout.write(line)
