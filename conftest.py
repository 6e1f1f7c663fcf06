"""Settings and skips that apply to the whole test run, loaded by pytest before
any test. Shared fixtures live in tests/conftest.py."""

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
        _restore_migration_data_in_transactional_tests(item)
        names = {marker.name for marker in item.iter_markers()}
        reason = skip_reason(names, connection.vendor, os.environ)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def _restore_migration_data_in_transactional_tests(item):
    """Give every transactional test serialized_rollback.

    A transactional test ends with a flush that also deletes the rows that data
    migrations and post_migrate created: permissions, default service-level
    targets, the number counter. With serialized_rollback each such test starts
    from a copy of the freshly migrated database instead, whatever ran before.
    """
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    transactional = "live_server" in fixtures or "transactional_db" in fixtures
    if marker is not None:
        transactional = transactional or marker.kwargs.get("transaction", False)
    if not transactional:
        return
    kwargs = dict(marker.kwargs) if marker is not None else {}
    kwargs.update(transaction=True, serialized_rollback=True)
    item.add_marker(pytest.mark.django_db(**kwargs))
