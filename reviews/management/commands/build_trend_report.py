"""Build the trend report of a period and store it; safe to run again."""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from reviews.periods import KINDS, last_complete_period
from reviews.reports import build_report, missing_periods, requested_period


def parse_day(text):
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--start={text!r} is not a date; use YYYY-MM-DD, such as 2026-03-01."
        ) from None


class Command(BaseCommand):
    help = (
        "Build the trend report of the last complete week, month or quarter (or of "
        "the period starting at --start) in TIME_ZONE, and store it, replacing an "
        "earlier build of the same period."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, choices=KINDS)
        parser.add_argument(
            "--start",
            help="First day of the period, YYYY-MM-DD: a Monday for a week, day 1 "
            "for a month, 1 January, April, July or October for a quarter.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print the report as JSON on standard output (durations in seconds).",
        )
        parser.add_argument(
            "--all-missing",
            action="store_true",
            help="Build every complete period since the earliest incident that has "
            "no stored report yet.",
        )

    def handle(self, *args, **options):
        period = options["period"]
        start = options["start"]
        as_json = options["json"]
        all_missing = options["all_missing"]
        if start and all_missing:
            raise CommandError("Use either --start or --all-missing, not both.")
        if all_missing:
            periods = missing_periods(period)
        elif start:
            try:
                periods = [requested_period(period, parse_day(start))]
            except ValueError as error:
                raise CommandError(f"--start: {error}") from None
            if not periods[0].is_complete():
                # A report of a running period is allowed (a preview), but the
                # scheduled rebuild after the period ends replaces it.
                self.stderr.write(
                    f"Note: {periods[0].label} has not ended yet; the report covers "
                    "it up to now."
                )
        else:
            periods = [last_complete_period(period)]

        reports = []
        for each in periods:
            report, replaced = build_report(each)
            reports.append(report)
            verb = "Rebuilt" if replaced else "Built"
            message = (
                f"{verb} {each.kind} report {each.label} "
                f"({each.start.isoformat()} to {each.end.isoformat()}), id {report.pk}"
                + (", replacing the earlier build." if replaced else ".")
            )
            # With --json, stdout carries only the JSON document.
            (self.stderr if as_json else self.stdout).write(message)
        if all_missing and not periods:
            (self.stderr if as_json else self.stdout).write(
                f"No {period} report is missing."
            )
        if as_json:
            documents = [report.data for report in reports]
            payload = documents if all_missing else documents[0]
            self.stdout.write(self._dumps(payload))

    @staticmethod
    def _dumps(payload):
        return json.dumps(payload, cls=DjangoJSONEncoder, indent=2, sort_keys=True)
