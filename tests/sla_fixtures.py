"""Fixtures shared by the service-level tests."""

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The users fixture creates seven accounts; the default PBKDF2 hasher makes
    # that take seconds per test, and these tests never check a password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
