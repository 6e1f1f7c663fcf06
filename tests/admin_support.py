"""Data builders for the admin and browser tests.

``bulk_incidents`` inserts many incidents in one statement for the query-count
tests. ``seed_demo`` walks a realistic set of incidents through the services, as
operators would, for the browser tests and the screenshots.
"""

import datetime

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import (
    Category,
    Incident,
    Service,
    Status,
    format_incident_number,
)
from incidents.roles import INCIDENT_MANAGER, REPORTER


def bulk_incidents(count, *, service, team, category, start=1, now=None, **fields):
    """Insert count incidents (no timeline) in one query; numbers start at start.

    Priorities, states and ages vary with the index so that every filter and
    queue matches some rows.
    """
    now = now or timezone.now()
    states = [
        Status.NEW,
        Status.TRIAGED,
        Status.IN_PROGRESS,
        Status.MITIGATED,
        Status.RESOLVED,
        Status.ON_HOLD,
        Status.CLOSED,
    ]
    rows = []
    for index in range(start, start + count):
        state = states[index % len(states)]
        triaged = state != Status.NEW
        values = {
            "number": format_incident_number(100_000 + index),
            "title": f"Bulk incident {index}",
            "description": "Inserted for a query-count test.",
            "source": "api",
            "status": state,
            "detected_at": now - datetime.timedelta(hours=index),
            "reported_at": now - datetime.timedelta(hours=index),
            "category": category if triaged else None,
            "service": service,
            "impact": (index % 3) + 1 if triaged else None,
            "urgency": ((index // 3) % 3) + 1 if triaged else None,
            "priority": (index % 5) + 1 if triaged else None,
            "assignment_group": team if triaged else None,
        }
        values.update(fields)
        rows.append(Incident(**values))
    return Incident.objects.bulk_create(rows)


# fmt: off
# Title, service, state, impact, urgency, and hours since it was reported.
DEMO = [
    ("Checkout returns HTTP 502 for all card payments", "Payments API",
     "in_progress", 1, 1, 5),
    ("VPN concentrator drops sessions every 20 minutes", "Remote access VPN",
     "investigating", 2, 1, 7),
    ("Nightly invoice export missing EU customers", "Billing batch",
     "mitigated", 2, 2, 30),
    ("Login page slow for SSO users (8 s)", "Single sign-on", "triaged", 2, 2, 3),
    ("Printer queue on floor 4 stuck", "Office printing", "on_hold", 3, 3, 50),
    ("Disk 91% full on db-orders-02", "Orders database", "resolved", 2, 1, 20),
    ("Mobile app crashes on Android 15 at start", "Mobile app", "new", None, None, 1),
    ("Email delivery to Outlook.com delayed", "Mail relay", "triaged", 2, 3, 9),
    ("Search results empty for product codes with dashes", "Catalogue search",
     "in_progress", 3, 2, 80),
    ("Certificate for api.example.internal expires in 3 days", "Payments API",
     "new", None, None, 2),
    ("Warehouse scanners cannot reach inventory service", "Inventory service",
     "resolved", 1, 2, 26),
    ("Wi-Fi guest portal shows blank page", "Guest Wi-Fi", "closed", 3, 2, 100),
]
# fmt: on


def seed_demo(users, *, team, other_team):
    """Create services, categories and the DEMO incidents, walked to their states
    by the incident manager. Returns the incidents by title."""
    manager = users[INCIDENT_MANAGER]
    reporter = users[REPORTER]
    network = Category.objects.get_or_create(name="Application", parent=None)[0]
    outage = Category.objects.get_or_create(name="Outage", parent=network)[0]
    created = {}
    for title, service_name, state, impact, urgency, hours in DEMO:
        service, _ = Service.objects.get_or_create(
            name=service_name,
            defaults={"owning_team": team if len(created) % 3 else other_team},
        )
        incident = services.report_incident(
            reporter,
            {
                "title": title,
                "description": f"{title}. Reported by the service desk after calls.",
                "source": "phone",
                "detected_at": timezone.now(),
                "service": service.pk,
            },
        )
        path = {
            "new": [],
            "triaged": ["triage"],
            "in_progress": ["triage", "acknowledge"],
            "mitigated": ["triage", "acknowledge", "mitigate"],
            "investigating": ["triage", "acknowledge", "investigate"],
            "resolved": ["triage", "acknowledge", "resolve"],
            "closed": ["triage", "acknowledge", "resolve", "close"],
            "on_hold": ["triage", "hold"],
        }[state]
        owner = service.owning_team or team
        data = {
            "triage": {
                "category": outage.pk,
                "service": service.pk,
                "impact": impact,
                "urgency": urgency,
                "assignment_group": owner.pk,
            },
            "acknowledge": {},
            "mitigate": {"workaround": "Failed over to the standby node."},
            "investigate": {"investigation_notes": "Collecting logs from the edge."},
            "resolve": {
                "resolution_code": "configuration",
                "resolution_notes": "Raised the connection pool limit.",
                "recovery_notes": "Error rate back to baseline.",
                "root_cause": "Pool exhausted after a traffic spike.",
            },
            "close": {"closure_notes": "Confirmed by the caller."},
            "hold": {"hold_reason": "vendor", "hold_note": "Waiting for the vendor."},
        }
        for action in path:
            incident = services.run_action(incident, action, manager, data[action])
        # Spread the report times so that ages and queues look as they do on a
        # working day. An UPDATE keeps the timeline as it was written.
        reported_at = timezone.now() - datetime.timedelta(hours=hours)
        Incident.objects.filter(pk=incident.pk).update(
            reported_at=reported_at,
            detected_at=reported_at - datetime.timedelta(minutes=4),
        )
        created[title] = Incident.objects.get(pk=incident.pk)
    return created


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash the test users' passwords with MD5: the default PBKDF2 rounds take a
    noticeable time per user, and these tests create eight users per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
