"""Which tests to skip for a missing component, by their pytest markers.

The markers are declared in pyproject.toml. `make test` provides every component:
postgres_only tests, skipped in its SQLite pass, run in its PostgreSQL pass. With
CI=true a missing program fails the test instead of skipping it.
"""

import os

# Marker, the variable naming the program it needs, and that variable's default.
PROGRAM_MARKERS = {
    "browser": ("CHROMIUM_PATH", "/usr/bin/chromium"),
    "alertmanager": ("ALERTMANAGER_PATH", "/usr/bin/prometheus-alertmanager"),
}


def skip_reason(marker_names, database_vendor, environ):
    """Return why a test with these markers cannot run here, or None if it can."""
    if "postgres_only" in marker_names and database_vendor != "postgresql":
        return (
            f"needs PostgreSQL, the database is {database_vendor}; "
            "run make test-postgres"
        )
    if environ.get("CI", "").lower() in ("1", "true", "yes"):
        return None
    for marker, (variable, default) in PROGRAM_MARKERS.items():
        if marker not in marker_names:
            continue
        path = environ.get(variable) or default
        if not os.access(path, os.X_OK):
            return (
                f"{path} not found or not executable; set {variable} or run "
                "make test, which installs it"
            )
    return None
