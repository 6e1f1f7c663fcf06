"""The console's pages render for each role and show only what the role may do."""

import pytest
from django.urls import reverse

from incidents.roles import AUDITOR, INCIDENT_MANAGER, REPORTER, RESPONDER


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


LIST_URL = "/admin/incidents/incident/"


@pytest.mark.parametrize("role", [REPORTER, RESPONDER, INCIDENT_MANAGER, AUDITOR])
def test_pages_render_for_role(client, users, make_incident, role):
    incident = make_incident("in_progress")
    client.force_login(users[role])

    for url in ("/admin/", LIST_URL, change_url(incident)):
        response = client.get(url)
        assert response.status_code == 200, url
