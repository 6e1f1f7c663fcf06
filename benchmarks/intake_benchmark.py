"""Measure Alertmanager intake throughput through the real endpoint.

Posts notifications to /api/v1/intake/alertmanager/ with Django's test client,
so each request runs the whole stack (URL routing, token authentication,
throttle check, validation, one transaction per notification) against a fresh
SQLite database file. Prints alerts per second for three workloads:

* firing: every alert is new and opens an incident;
* repeat: the same notifications again, all skipped as duplicates;
* resolved: every alert resolves its incident (timeline entry, no mitigation).

Usage: python benchmarks/intake_benchmark.py [--alerts 1000] [--batch 1 10 50]
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure(database_path):
    os.environ["DATABASE_URL"] = f"sqlite:///{database_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ims_project.settings")
    # The benchmark measures processing, not the throttle.
    os.environ["IMS_API_INTAKE_RATE"] = ""
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def notification(alerts, status):
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "ims",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org:9093",
        "alerts": alerts,
    }


def alert(index, status, starts_at):
    ends_at = "0001-01-01T00:00:00Z"
    if status == "resolved":
        ends_at = (starts_at + datetime.timedelta(minutes=5)).isoformat()
    return {
        "status": status,
        "labels": {
            "alertname": "DiskFull",
            "instance": f"host{index}.example.org:9100",
            "severity": "warning",
            "service": "Storage",
        },
        "annotations": {"summary": f"Disk full on host{index}"},
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at,
        "generatorURL": "http://prometheus.example.org:9090/graph",
        "fingerprint": f"{index:016x}",
    }


def run(client, key, batches, status, starts_at):
    started = time.perf_counter()
    count = 0
    for batch in batches:
        body = notification([alert(i, status, starts_at) for i in batch], status)
        response = client.post(
            "/api/v1/intake/alertmanager/",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        if response.status_code != 200:
            raise SystemExit(
                f"Intake returned {response.status_code}: {response.content}"
            )
        count += len(batch)
    return count / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000, help="Alerts per run.")
    parser.add_argument(
        "--batch",
        type=int,
        nargs="+",
        default=[1, 10, 50],
        help="Alerts per notification; one run each.",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        configure(Path(folder) / "bench.sqlite3")
        from django.core.management import call_command
        from django.test import Client

        from incidents.api.intake import intake_account
        from incidents.api.models import IntakeToken
        from incidents.models import Service

        call_command("migrate", verbosity=0)
        Service.objects.create(name="Storage")
        user, _ = intake_account("alertmanager")
        _token, key = IntakeToken.issue(user, "benchmark")
        client = Client(HTTP_HOST="127.0.0.1")

        print(f"{'batch':>5} {'firing/s':>9} {'repeat/s':>9} {'resolved/s':>10}")
        for offset, size in enumerate(args.batch):
            first = offset * args.alerts
            indexes = list(range(first, first + args.alerts))
            batches = [indexes[i : i + size] for i in range(0, len(indexes), size)]
            starts_at = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
            firing = run(client, key, batches, "firing", starts_at)
            repeat = run(client, key, batches, "firing", starts_at)
            resolved = run(client, key, batches, "resolved", starts_at)
            print(f"{size:>5} {firing:>9.0f} {repeat:>9.0f} {resolved:>10.0f}")


if __name__ == "__main__":
    main()
