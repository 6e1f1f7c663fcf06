"""Settings of the incident management system, read from the environment.

docs/operations.md describes the main variables. Defaults suit local use: an
embedded SQLite database in the project folder and DEBUG on.
"""

import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from ims_project.env import (
    env_bool,
    env_database,
    env_float,
    env_int,
    env_list,
    env_log_level,
    env_rate,
    env_str,
    env_time_zone,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    # Only for local use: DEBUG is on, so the server is not meant to be public.
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_tasks",
    "django_tasks_db",
    "drf_spectacular_sidecar",
    "incidents",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ims_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "ims_project.wsgi.application"

DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer commits, and the busy timeout makes a
    # second writer wait for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file, not the in-memory default, so that threads and the live
    # server share one database with real locking. The process id keeps parallel
    # test runs apart.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(Path(tempfile.gettempdir()) / f"ims-test-{os.getpid()}.sqlite3")
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "admin:login"

LOG_LEVEL = env_log_level("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "incidents": {"handlers": ["console"], "level": LOG_LEVEL},
        "reviews": {"handlers": ["console"], "level": LOG_LEVEL},
        # Task failures of the e-mail and webhook tasks, and the db_worker's log.
        "django_tasks": {"handlers": ["console"], "level": "WARNING"},
        "django_tasks_db": {"handlers": ["console"], "level": "INFO"},
    },
}

# Days after which a resolved incident that nobody reopened is closed by the
# close_resolved_incidents command.
IMS_AUTO_CLOSE_DAYS = env_int("IMS_AUTO_CLOSE_DAYS", 7, minimum=1)

# Background tasks (django-tasks). The immediate backend runs a task inside the
# process that enqueues it, after the commit. The database backend stores it for
# `python manage.py db_worker`, which production should run.
_TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
_TASKS_BACKEND = env_str("TASKS_BACKEND", "immediate")
if _TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND={_TASKS_BACKEND!r} is not a task backend: use immediate or "
        "database."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[_TASKS_BACKEND], "QUEUES": []}}

# E-mail. The console backend prints messages to standard output; set
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST to send.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ims@localhost")
# Base of the incident links in notifications, such as https://ims.example.com.
IMS_BASE_URL = env_str("IMS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Outbound webhooks: attempts per delivery, the first retry delay in seconds (each
# next one doubles) and the request timeout in seconds.
IMS_WEBHOOK_MAX_ATTEMPTS = env_int("IMS_WEBHOOK_MAX_ATTEMPTS", 5, minimum=1)
IMS_WEBHOOK_BACKOFF_SECONDS = env_float("IMS_WEBHOOK_BACKOFF_SECONDS", 2.0, minimum=0)
IMS_WEBHOOK_TIMEOUT_SECONDS = env_float("IMS_WEBHOOK_TIMEOUT_SECONDS", 5.0, minimum=0.1)

# Share of a service-level target after which an incident counts as at risk.
IMS_SLA_AT_RISK_RATIO = 0.75

# Working days (Monday to Friday) a post-incident review has before it is due,
# counted from the day the major incident was resolved.
IMS_REVIEW_DUE_BUSINESS_DAYS = env_int("IMS_REVIEW_DUE_BUSINESS_DAYS", 5, minimum=1)

# Services listed by mean time between failures in a trend report.
IMS_REPORT_TOP_N = env_int("IMS_REPORT_TOP_N", 10, minimum=1)

# REST API. Token authentication comes first so that an anonymous request gets 401
# with a WWW-Authenticate header rather than the 403 of session authentication.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "incidents.api.authentication.UserTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "incidents.api.pagination.CursorPagination",
    "PAGE_SIZE": env_int("IMS_API_PAGE_SIZE", 50, minimum=1),
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "incidents.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Proxies in front of the server whose X-Forwarded-For entries are trusted.
    # With 0 the throttles key on the connection's address, so a client cannot
    # dodge the token endpoint's limit by sending a made-up header.
    "NUM_PROXIES": env_int("IMS_NUM_PROXIES", 0, minimum=0),
}

# Requests per period for the throttled API scopes, read at request time by
# incidents.api.throttling. An empty variable turns that throttle off.
IMS_API_THROTTLE_RATES = {
    "intake": env_rate("IMS_API_INTAKE_RATE", "600/min"),
    "token": env_rate("IMS_API_TOKEN_RATE", "10/min"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Incident management API",
    "DESCRIPTION": (
        "Report, triage and work incidents under the same rules as the admin, and "
        "receive Prometheus Alertmanager notifications. See docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Status",
        "LevelEnum": "incidents.priority.Level",
        "AlertStatusEnum": "incidents.api.models.AlertEvent.Status",
        "TimelineKindEnum": "incidents.models.TimelineEntry.Kind",
        "ActionItemKindEnum": "reviews.models.ActionItemKind",
        "ReviewStateEnum": "reviews.models.ReviewState",
        "ActionItemStateEnum": "reviews.models.ActionItemState",
    },
}

# Monitoring intake. The first of these alert labels that names a known Service
# (by name, case-insensitively) sets the incident's service. Unknown names are not
# created, so the service stays empty until triage.
IMS_ALERT_SERVICE_LABELS = env_list("IMS_ALERT_SERVICE_LABELS", ["service", "job"])
# Impact and urgency for alerts whose severity label has no AlertSeverityMapping row.
IMS_ALERT_DEFAULT_IMPACT = env_int("IMS_ALERT_DEFAULT_IMPACT", 2, minimum=1, maximum=3)
IMS_ALERT_DEFAULT_URGENCY = env_int(
    "IMS_ALERT_DEFAULT_URGENCY", 2, minimum=1, maximum=3
)
