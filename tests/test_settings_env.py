"""The typed readers in ims_project.env that turn environment variables into
settings, and the settings module's start-up checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ims_project.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_log_level,
    env_str,
    env_time_zone,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(monkeypatch):
    """Set environment variables for one test; they are restored afterwards."""
    for name in ("IMS_TEST", "IMS_TEST_FILE"):
        monkeypatch.delenv(name, raising=False)

    def setenv(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return setenv


@pytest.mark.parametrize("raw", ["1", "true", "YES", " on "])
def test_bool_true_spellings(env, raw):
    env(IMS_TEST=raw)
    assert env_bool("IMS_TEST") is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_bool_false_spellings(env, raw):
    env(IMS_TEST=raw)
    assert env_bool("IMS_TEST", default=True) is False


def test_bool_unset_uses_default(env):
    assert env_bool("IMS_TEST", default=True) is True


def test_bool_invalid_names_variable_and_value(env):
    env(IMS_TEST="maybe")
    with pytest.raises(ImproperlyConfigured) as caught:
        env_bool("IMS_TEST")
    assert "IMS_TEST='maybe'" in str(caught.value)
    assert "not a boolean" in str(caught.value)


def test_int_parses_value(env):
    env(IMS_TEST="42")
    assert env_int("IMS_TEST", 7) == 42


def test_int_unset_uses_default(env):
    assert env_int("IMS_TEST", 7) == 7


@pytest.mark.parametrize("raw", ["seven", "4.5", ""])
def test_int_invalid_names_variable_and_value(env, raw):
    env(IMS_TEST=raw)
    with pytest.raises(ImproperlyConfigured) as caught:
        env_int("IMS_TEST", 7)
    assert f"IMS_TEST={raw!r}" in str(caught.value)
    assert "not a whole number" in str(caught.value)


def test_int_below_minimum_rejected(env):
    env(IMS_TEST="0")
    with pytest.raises(ImproperlyConfigured, match=r"IMS_TEST='0' must be at least 1"):
        env_int("IMS_TEST", 7, minimum=1)


def test_list_splits_and_strips(env):
    env(IMS_TEST=" a.example , ,b.example,")
    assert env_list("IMS_TEST") == ["a.example", "b.example"]


def test_list_unset_uses_default(env):
    assert env_list("IMS_TEST", default=("localhost",)) == ["localhost"]


def test_time_zone_valid(env):
    env(IMS_TEST="Europe/Paris")
    assert env_time_zone("IMS_TEST") == "Europe/Paris"


@pytest.mark.parametrize("raw", ["Mars/Olympus", "Europe/", "", "../etc/passwd"])
def test_time_zone_invalid_names_variable_and_value(env, raw):
    env(IMS_TEST=raw)
    with pytest.raises(ImproperlyConfigured) as caught:
        env_time_zone("IMS_TEST")
    assert f"IMS_TEST={raw!r}" in str(caught.value)
    assert "not an IANA time zone" in str(caught.value)


def test_file_variable_read_and_stripped(env, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value\n", encoding="utf-8")
    env(IMS_TEST_FILE=str(secret))
    assert env_str("IMS_TEST") == "s3cret-value"


def test_file_variable_feeds_typed_readers(env, tmp_path):
    value = tmp_path / "value"
    value.write_text("12\n", encoding="utf-8")
    env(IMS_TEST_FILE=str(value))
    assert env_int("IMS_TEST", 0) == 12


def test_missing_file_names_variable(env, tmp_path):
    missing = tmp_path / "absent"
    env(IMS_TEST_FILE=str(missing))
    with pytest.raises(ImproperlyConfigured) as caught:
        env_str("IMS_TEST")
    assert f"IMS_TEST_FILE={str(missing)!r}" in str(caught.value)
    assert "cannot be read" in str(caught.value)


def test_file_and_value_both_set_rejected(env, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file", encoding="utf-8")
    env(IMS_TEST="from-env", IMS_TEST_FILE=str(secret))
    with pytest.raises(ImproperlyConfigured, match="Both IMS_TEST and IMS_TEST_FILE"):
        env_str("IMS_TEST")


def test_log_level_upper_cased(env):
    env(IMS_TEST="warning")
    assert env_log_level("IMS_TEST") == "WARNING"


def test_log_level_invalid_names_variable_and_value(env):
    env(IMS_TEST="verbose")
    with pytest.raises(ImproperlyConfigured) as caught:
        env_log_level("IMS_TEST")
    assert "IMS_TEST='verbose'" in str(caught.value)
    assert "not a log level" in str(caught.value)


def test_database_url_parsed(env):
    env(IMS_TEST="postgres://ims:pw@127.0.0.1:5433/ims")
    database = env_database("IMS_TEST", "sqlite:///unused.sqlite3")
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == "127.0.0.1"
    assert database["PORT"] == 5433
    assert database["NAME"] == "ims"


def test_database_url_empty_uses_default(env):
    env(IMS_TEST="")
    database = env_database("IMS_TEST", "sqlite:////tmp/ims-test.sqlite3")
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == "/tmp/ims-test.sqlite3"


@pytest.mark.parametrize(
    "raw",
    ["postgress://ims:hunter2@db/ims", "postgres://ims:hunter2@db:port/ims"],
)
def test_database_url_invalid_hides_password(env, raw):
    env(IMS_TEST=raw)
    with pytest.raises(ImproperlyConfigured) as caught:
        env_database("IMS_TEST", "sqlite:///unused.sqlite3")
    assert "IMS_TEST is not a valid database URL" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def load_settings(**variables):
    """Import the settings module in a fresh interpreter with only the given
    variables set, and return the finished process."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "ims_project.settings",
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", "import ims_project.settings"],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_load_with_defaults():
    result = load_settings()
    assert result.returncode == 0, result.stderr


def test_settings_require_secret_key_without_debug():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_settings_read_secret_key_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("k" * 50, encoding="utf-8")
    result = load_settings(DEBUG="0", SECRET_KEY_FILE=str(key_file))
    assert result.returncode == 0, result.stderr


def test_settings_reject_bad_time_zone():
    result = load_settings(TIME_ZONE="Moon/Base")
    assert result.returncode != 0
    assert "TIME_ZONE='Moon/Base' is not an IANA time zone" in result.stderr
