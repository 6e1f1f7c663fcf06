"""Typed readers for settings that come from the environment.

Each reader raises ImproperlyConfigured with the variable's name and value when the
value is invalid, so that a typo stops the server at start-up instead of running with
a silently wrong setting. A variable named NAME_FILE, when set, is read from that file
instead, which suits secrets mounted by container runtimes.
"""

import os
import zoneinfo

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=None):
    """Return the variable's text, the text of the file NAME_FILE names, or default.

    Setting both NAME and NAME_FILE raises ImproperlyConfigured, because one of
    them would be ignored without a word.
    """
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        if os.environ.get(name):
            raise ImproperlyConfigured(
                f"Both {name} and {name}_FILE are set; unset one of them."
            )
        try:
            with open(file_path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as error:
            raise ImproperlyConfigured(
                f"{name}_FILE={file_path!r} cannot be read: {error.strerror}."
            ) from error
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = env_str(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of 1, 0, true, false, yes, no."
    )


def env_int(name, default, minimum=None, maximum=None):
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at most {maximum}.")
    return value


def env_float(name, default, minimum=None):
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name, default=()):
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    raw = env_str(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_time_zone(name, default="UTC"):
    raw = env_str(name, default)
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not an IANA time zone, such as UTC or Europe/Paris."
        ) from None
    return raw


_RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name, default):
    """Return a throttle rate such as "120/min" (requests per s, min, hour or day).

    An empty value turns the throttle off and returns None.
    """
    raw = env_str(name, default)
    if raw is None or not raw.strip():
        return None
    count, _, period = raw.strip().partition("/")
    if not count.isdigit() or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate: write a count and a period, such as "
            "120/min, 10/s, 1000/hour or 5000/day."
        )
    return raw.strip()


LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def env_log_level(name, default="INFO"):
    """Return a logging level name, upper-cased, such as INFO."""
    raw = env_str(name, default)
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a log level: use one of {', '.join(LOG_LEVELS)}."
        )
    return value


def env_database(name, default, conn_max_age=0):
    """Return a DATABASES entry parsed from a URL such as postgres://u:p@host/db.

    An empty variable counts as unset. The error does not repeat the URL, because
    it may carry a password.
    """
    raw = env_str(name) or default
    try:
        return dj_database_url.parse(raw, conn_max_age=conn_max_age)
    except ValueError as error:
        # dj-database-url's messages name the scheme at most, never the password.
        raise ImproperlyConfigured(
            f"{name} is not a valid database URL: {error} "
            "Write it as postgres://USER:PASSWORD@HOST:PORT/NAME or "
            "sqlite:////absolute/path/db.sqlite3."
        ) from None
