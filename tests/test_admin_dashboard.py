"""The dashboard on the admin index: its figures, and the list behind each one."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.admin_queues import dashboard_figures
from incidents.models import Incident
from incidents.roles import INCIDENT_MANAGER
from tests.admin_support import fast_password_hashing  # noqa: F401


@pytest.fixture
def spread(make_incident):
    incidents = {
        "new": make_incident("new"),
        "p3": make_incident("triaged"),
        "p1": make_incident("in_progress", impact=1, urgency=1),
        "closed": make_incident("closed"),
        "old": make_incident("triaged", impact=3, urgency=3),
    }
    long_ago = timezone.now() - datetime.timedelta(days=3)
    Incident.objects.filter(pk=incidents["old"].pk).update(reported_at=long_ago)
    return incidents


def test_figures_count_open_incidents(users, spread):
    figures = dashboard_figures(users[INCIDENT_MANAGER])

    assert figures["priority_1"] == 1
    assert figures["priority_3"] == 1
    assert figures["priority_5"] == 1
    assert figures["priority_none"] == 1
    assert figures["state_new"] == 1
    assert figures["state_triaged"] == 2
    assert figures["state_in_progress"] == 1
    assert figures["queue_major"] == 1


def test_new_today_counts_closed_ones_too(users, spread):
    figures = dashboard_figures(users[INCIDENT_MANAGER])

    assert figures["new_today"] == 4


def test_figures_take_one_query(users, spread):
    manager = users[INCIDENT_MANAGER]
    manager.has_perm("incidents.view_all_incidents")  # warm the permission cache

    with CaptureQueriesContext(connection) as queries:
        dashboard_figures(manager)

    assert len(queries) == 1


def test_each_figure_links_to_its_incidents(client, users, spread):
    client.force_login(users[INCIDENT_MANAGER])
    dashboard = client.get("/admin/").context["dash"]
    rows = [
        *dashboard["by_priority"],
        *dashboard["by_state"],
        *dashboard["queues"],
        {"count": dashboard["open_total"], "url": dashboard["open_url"]},
        {"count": dashboard["new_today"], "url": dashboard["new_today_url"]},
        {"count": dashboard["major_open"], "url": dashboard["major_url"]},
        {"count": dashboard["mine"], "url": dashboard["mine_url"]},
    ]

    for row in rows:
        response = client.get(row["url"])
        assert response.status_code == 200, row["url"]
        assert len(response.context["cl"].result_list) == row["count"], row["url"]


def test_oldest_open_links_to_incident(client, users, spread):
    client.force_login(users[INCIDENT_MANAGER])

    response = client.get("/admin/")

    assert response.context["dash"]["oldest_open"].pk == spread["old"].pk
    assert f"/admin/incidents/incident/{spread['old'].pk}/change/" in response.text
