"""Compare our resolution verdict with the source system's made_sla on imported data.

Run after importing the event log, from the project folder:

    python benchmarks/sla_crosscheck.py [--batch-size 2000]

It takes every resolved incident that has a priority and a recorded source
verdict (Incident.source_made_sla). For each, it computes whether our resolution
target was met, from reported_at to resolved_at with hold periods and calendars
applied. Then it prints a confusion matrix against the source's verdict, overall
and per priority.
It reads only and changes nothing. Exit status 2 when the database has no
source_made_sla field, which means the importer has not been merged.
"""

import argparse
import collections
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ims_project.settings")

import django  # noqa: E402

django.setup()

from django.core.exceptions import FieldDoesNotExist  # noqa: E402

from incidents import sla  # noqa: E402
from incidents.models import Incident, TargetKind  # noqa: E402

FIELD = "source_made_sla"


def verdicts(batch_size):
    """Yield (priority, ours_met, source_met) for each comparable incident."""
    targets = sla.targets_by_key()
    comparable = (
        Incident.objects.filter(
            resolved_at__isnull=False,
            priority__isnull=False,
            **{f"{FIELD}__isnull": False},
        )
        .order_by("pk")
        .only(
            "status",
            "priority",
            "service",
            "reported_at",
            "acknowledged_at",
            "resolved_at",
            "version",
            FIELD,
        )
    )
    last_pk = 0
    while True:
        batch = list(comparable.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            return
        last_pk = batch[-1].pk
        holds = sla.holds_by_incident([incident.pk for incident in batch])
        for incident in batch:
            clocks = sla.evaluate_incident(
                incident,
                incident.resolved_at,
                targets=targets,
                holds=holds.get(incident.pk, []),
            )
            clock = clocks.get(TargetKind.RESOLUTION)
            if clock is None:
                continue
            yield incident.priority, clock.state == sla.MET, getattr(incident, FIELD)


def print_matrix(title, counts):
    total = sum(counts.values())
    agree = counts[(True, True)] + counts[(False, False)]
    print(f"\n{title}: {total} incidents, agreement {agree / total:.1%}")
    print(f"{'':>16}{'source met':>12}{'source missed':>15}")
    for ours in (True, False):
        label = "ours met" if ours else "ours breached"
        print(f"{label:>16}{counts[(ours, True)]:>12}{counts[(ours, False)]:>15}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--batch-size",
        type=int,
        default=2000,
        help="Incidents read per query (default 2000).",
    )
    args = parser.parse_args()
    if args.batch_size < 1:
        parser.error(f"--batch-size={args.batch_size} must be at least 1.")

    try:
        Incident._meta.get_field(FIELD)
    except FieldDoesNotExist:
        print(
            f"Incident has no {FIELD} field: merge the importer, migrate and import "
            "the event log first. Nothing to compare.",
            file=sys.stderr,
        )
        return 2

    started = time.perf_counter()
    overall = collections.Counter()
    by_priority = collections.defaultdict(collections.Counter)
    for priority, ours, source in verdicts(args.batch_size):
        overall[(ours, source)] += 1
        by_priority[priority][(ours, source)] += 1
    elapsed = time.perf_counter() - started

    if not overall:
        print("No resolved incident has both a priority and a source verdict.")
        return 1
    print_matrix("All priorities", overall)
    for priority in sorted(by_priority):
        print_matrix(f"P{priority}", by_priority[priority])
    print(f"\nComputed {sum(overall.values())} verdicts in {elapsed:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
