"""Admin pages of the intake models."""

import pytest
from django.contrib.auth import get_user_model

from incidents.api.models import AlertSeverityMapping, IntakeToken

PAGES = [
    "/admin/incidents/alertseveritymapping/",
    "/admin/incidents/alertevent/",
    "/admin/incidents/intaketoken/",
]


@pytest.fixture
def admin_client_logged_in(client, intake_client):
    admin = get_user_model().objects.create_superuser("root", password="x" * 12)
    client.force_login(admin)
    return client


@pytest.mark.parametrize("url", PAGES)
def test_changelist_loads(url, admin_client_logged_in):
    response = admin_client_logged_in.get(url)

    assert response.status_code == 200


def test_default_severities_migrated(db):
    rows = AlertSeverityMapping.objects.values_list("severity", "impact", "urgency")

    assert sorted(rows) == [("critical", 1, 1), ("info", 3, 3), ("warning", 2, 2)]


def test_token_revoked_from_admin(admin_client_logged_in):
    token = IntakeToken.objects.get()

    response = admin_client_logged_in.post(
        f"/admin/incidents/intaketoken/{token.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not IntakeToken.objects.exists()


def test_token_page_hides_key(admin_client_logged_in, intake_key):
    token = IntakeToken.objects.get()

    response = admin_client_logged_in.get(
        f"/admin/incidents/intaketoken/{token.pk}/change/"
    )

    assert response.status_code == 200
    assert intake_key.encode() not in response.content
    assert token.digest.encode() not in response.content
