"""Time `import_incidents` on the full event log into a fresh SQLite database.

Usage, from the project folder:

    python benchmarks/import_benchmark.py [PATH] [--repeat N]

PATH defaults to data/incident_event_log.zip. Each run migrates a new SQLite
database in a temporary folder (not timed), then times the import: wall-clock
time and this process's CPU time. The load average is printed too, because on
a shared machine the wall-clock time depends on what else runs.
"""

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def run_once(path):
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    output = io.StringIO()
    wall = time.perf_counter()
    cpu = time.process_time()
    call_command("import_incidents", str(path), stdout=output)
    return time.perf_counter() - wall, time.process_time() - cpu, output.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "path", nargs="?", default=str(PROJECT / "data" / "incident_event_log.zip")
    )
    parser.add_argument("--repeat", type=int, default=1, help="Number of runs.")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="ims-import-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ims_project.settings")
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    import logging

    # The importer's own log lines would interleave with the results.
    logging.getLogger("incidents.importer").setLevel(logging.WARNING)

    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}"
    )
    results = []
    from django.db import connections

    for attempt in range(1, args.repeat + 1):
        connections.close_all()
        for database in Path(folder).glob("bench.sqlite3*"):
            database.unlink()
        load = os.getloadavg()[0]
        wall, cpu, output = run_once(args.path)
        results.append((wall, cpu))
        print(
            f"Run {attempt}: {wall:.1f} s wall, {cpu:.1f} s CPU "
            f"(load average before: {load:.1f})"
        )
    print(output.strip())
    walls = [wall for wall, _ in results]
    print(f"Wall time: min {min(walls):.1f} s, median {statistics.median(walls):.1f} s")


if __name__ == "__main__":
    main()
