"""The scheduled closing of resolved incidents after the grace period."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from incidents.models import Incident


def _resolve_days_ago(incident, days):
    Incident.objects.filter(pk=incident.pk).update(
        resolved_at=timezone.now() - datetime.timedelta(days=days)
    )


def test_closes_after_grace(make_incident):
    old = make_incident("resolved")
    recent = make_incident("resolved")
    _resolve_days_ago(old, 8)
    _resolve_days_ago(recent, 6)
    out = StringIO()
    call_command("close_resolved_incidents", stdout=out)
    assert "Closed 1 resolved incidents." in out.getvalue()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == "closed"
    assert old.closed_at is not None
    assert old.closure_verified_by is None
    assert recent.status == "resolved"
    entry = old.timeline.first()
    assert entry.actor is None
    assert entry.actor_name == "system"
    assert "not reopened within 7 days" in entry.message


def test_second_run_closes_nothing(make_incident):
    incident = make_incident("resolved")
    _resolve_days_ago(incident, 30)
    call_command("close_resolved_incidents", stdout=StringIO())
    out = StringIO()
    call_command("close_resolved_incidents", stdout=out)
    assert "Closed 0 resolved incidents." in out.getvalue()
    assert incident.timeline.filter(transition="close").count() == 1


def test_days_option_overrides(make_incident):
    incident = make_incident("resolved")
    _resolve_days_ago(incident, 2)
    call_command("close_resolved_incidents", "--days", "1", stdout=StringIO())
    incident.refresh_from_db()
    assert incident.status == "closed"


@pytest.mark.django_db
def test_rejects_non_positive_days():
    with pytest.raises(CommandError, match="--days=0.0"):
        call_command("close_resolved_incidents", "--days", "0")
