"""Settings and skips that apply to the whole test run, loaded by pytest before
any test. Shared fixtures live in tests/conftest.py."""

import importlib
import os

import pytest

from tests.markers import skip_reason


def pytest_configure(config):
    from django.conf import settings

    # PBKDF2 with Django's default iterations takes about 0.2 s per password, and
    # the user fixtures set several passwords in each test. MD5 is fast and is
    # used by the tests only: the project's settings keep the default hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    for item in items:
        names = {marker.name for marker in item.iter_markers()}
        reason = skip_reason(names, connection.vendor, os.environ)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


# Data migrations whose rows the tests rely on, as (module, function). Each
# function is idempotent (get_or_create).
DATA_MIGRATIONS = (
    (
        "incidents.migrations.0002_number_sequence_and_append_only_timeline",
        "create_sequence",
    ),
    ("incidents.migrations.0004_service_levels", "create_default_targets"),
    ("incidents.migrations.0006_intake", "add_default_severities"),
)


def _is_transactional(item):
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    if "live_server" in fixtures or "transactional_db" in fixtures:
        return True
    return bool(marker and marker.kwargs.get("transaction"))


@pytest.fixture(autouse=True)
def _migrated_rows_in_transactional_tests(request):
    """Put back, before each transactional test, the rows that migrations create.

    A transactional test ends with a flush that deletes every row, including the
    permissions, content types and data-migration defaults (service-level
    targets, alert severities, the number counter) that later tests expect.
    Recreating them is idempotent, so it is safe whatever ran before.
    """
    if not _is_transactional(request.node):
        yield
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.core.management.sql import emit_post_migrate_signal

    ContentType.objects.clear_cache()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    for module_name, function_name in DATA_MIGRATIONS:
        module = importlib.import_module(module_name)
        getattr(module, function_name)(apps, None)
    yield
