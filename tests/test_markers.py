"""The skip rules for tests that need PostgreSQL, Chromium or Alertmanager."""

import pytest
from django.db import connection

from tests.markers import skip_reason

LOCAL = {"CHROMIUM_PATH": "/bin/sh", "ALERTMANAGER_PATH": "/bin/sh"}


def test_postgres_only_skipped_on_sqlite():
    reason = skip_reason({"postgres_only"}, "sqlite", LOCAL)
    assert "needs PostgreSQL" in reason
    assert "sqlite" in reason


def test_postgres_only_runs_on_postgresql():
    assert skip_reason({"postgres_only"}, "postgresql", LOCAL) is None


def test_postgres_only_skipped_in_ci_on_sqlite():
    assert skip_reason({"postgres_only"}, "sqlite", {**LOCAL, "CI": "true"})


@pytest.mark.parametrize(
    ("marker", "variable"),
    [("browser", "CHROMIUM_PATH"), ("alertmanager", "ALERTMANAGER_PATH")],
)
def test_missing_program_skipped_locally(marker, variable, tmp_path):
    missing = str(tmp_path / "absent")
    reason = skip_reason({marker}, "sqlite", {**LOCAL, variable: missing})
    assert missing in reason
    assert variable in reason


@pytest.mark.parametrize("marker", ["browser", "alertmanager"])
def test_missing_program_not_skipped_in_ci(marker, tmp_path):
    missing = str(tmp_path / "absent")
    environ = {"CHROMIUM_PATH": missing, "ALERTMANAGER_PATH": missing, "CI": "true"}
    assert skip_reason({marker}, "sqlite", environ) is None


def test_present_program_runs():
    assert skip_reason({"browser", "alertmanager"}, "sqlite", LOCAL) is None


def test_unmarked_test_runs():
    assert skip_reason(set(), "sqlite", {}) is None


@pytest.mark.postgres_only
def test_postgres_only_marker_applied(db):
    # Skipped by the conftest hook on SQLite; fails if the hook let it run there.
    assert connection.vendor == "postgresql"
