"""Settings that apply to the whole test run, loaded by pytest before any test.

Shared fixtures live in tests/conftest.py.
"""


def pytest_configure(config):
    from django.conf import settings

    # PBKDF2 with Django's default iterations takes about 0.2 s per password, and
    # the user fixtures set several passwords in each test. MD5 is fast and is
    # used by the tests only: the project's settings keep the default hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
