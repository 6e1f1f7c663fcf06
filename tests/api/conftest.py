"""Fixtures for the API tests: authenticated clients and intake tokens."""

import json
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents.api.intake import intake_account
from incidents.api.models import IntakeToken

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alertmanager"


@pytest.fixture
def api_client():
    """Return a factory of API clients, anonymous or authenticated by a user's
    token."""

    def factory(user=None, keyword="Token"):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token.key}")
        return client

    return factory


@pytest.fixture
def intake_key(db):
    """Return the key of a new intake token for the "alertmanager" account."""
    user, _ = intake_account("alertmanager")
    _token, key = IntakeToken.issue(user, "tests")
    return key


@pytest.fixture
def intake_client(intake_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {intake_key}")
    return client


def load_payload(name):
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # The users fixture hashes seven passwords per test; PBKDF2 makes that the
    # slowest part of the API suite, and no test here measures hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_throttle_cache():
    # Throttle counters live in the cache, which outlives a test's database.
    from django.core.cache import cache

    cache.clear()
