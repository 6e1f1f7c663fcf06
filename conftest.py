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
        names = {marker.name for marker in item.iter_markers()}
        reason = skip_reason(names, connection.vendor, os.environ)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
