"""The permission matrix through the API, generated from tests.permission_matrix."""

import pytest

from incidents import rules, services
from incidents.models import Incident
from incidents.roles import INCIDENT_MANAGER, REPORTER
from tests.permission_matrix import (
    EXPECTED,
    OTHER_REPORTER,
    ROLE_KEYS,
    SOURCE_STATE,
    action_data,
    applied,
    make_other_reporter,
)

MATRIX = sorted(EXPECTED.items())


@pytest.fixture
def actors(users):
    return {**users, OTHER_REPORTER: make_other_reporter()}


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [(role, action, allowed) for (role, action), allowed in MATRIX],
    ids=[f"{role}-{action}" for (role, action), _ in MATRIX],
)
def test_transition_permission(
    role,
    action,
    allowed,
    actors,
    make_incident,
    api_client,
    category,
    service,
    team,
    other_team,
):
    incident = make_incident(SOURCE_STATE[action])
    user = actors[role]
    client = api_client(user)
    fixtures = {
        "category": category,
        "service": service,
        "team": team,
        "other_team": other_team,
    }

    listed = client.get(f"/api/v1/incidents/{incident.number}/transitions/")
    response = client.post(
        f"/api/v1/incidents/{incident.number}/transitions/{action}/",
        action_data(action, fixtures),
        format="json",
    )

    after = Incident.objects.get(pk=incident.pk)
    if not rules.can_view(user, incident):
        # An incident the actor may not see does not exist for them.
        assert not allowed
        assert listed.status_code == 404
        assert response.status_code == 404
        assert after.version == incident.version
        return
    names = [entry["name"] for entry in listed.json()]
    assert (action in names) is allowed
    if allowed:
        assert response.status_code == 200, response.json()
        assert applied(action, after)
    else:
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "permission_denied"
        assert response.json()["detail"]
        assert after.version == incident.version


@pytest.mark.parametrize("role", ROLE_KEYS)
def test_list_visibility(role, actors, make_incident, api_client):
    own = make_incident("new", title="Reported by the reporter")
    other = services.report_incident(
        actors[INCIDENT_MANAGER],
        {
            "title": "Reported by the manager",
            "description": "Printer on fire.",
            "source": "phone",
            "detected_at": own.detected_at,
        },
    )
    client = api_client(actors[role])

    listed = client.get("/api/v1/incidents/").json()["results"]
    other_detail = client.get(f"/api/v1/incidents/{other.number}/")

    numbers = {entry["number"] for entry in listed}
    if role == REPORTER:
        assert numbers == {own.number}
        assert other_detail.status_code == 404
    elif role == OTHER_REPORTER:
        assert numbers == set()
        assert other_detail.status_code == 404
    else:
        assert numbers == {own.number, other.number}
        assert other_detail.status_code == 200


def test_reporter_reads_own_incident(users, make_incident, api_client):
    incident = make_incident("new")

    response = api_client(users[REPORTER]).get(f"/api/v1/incidents/{incident.number}/")

    assert response.status_code == 200
    assert response.json()["reporter"] == "reporter"


def test_anonymous_request_is_401(make_incident, api_client):
    incident = make_incident("new")

    responses = [
        api_client().get("/api/v1/incidents/"),
        api_client().get(f"/api/v1/incidents/{incident.number}/"),
        api_client().post(
            f"/api/v1/incidents/{incident.number}/transitions/triage/",
            {},
            format="json",
        ),
    ]

    for response in responses:
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response.headers["WWW-Authenticate"] == "Token"


def test_invalid_token_is_401(db, api_client):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/v1/incidents/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_bearer_keyword_accepted(users, api_client):
    client = api_client(users[INCIDENT_MANAGER], keyword="Bearer")

    response = client.get("/api/v1/incidents/")

    assert response.status_code == 200


def test_intake_token_rejected_outside_intake(intake_key, api_client):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {intake_key}")

    response = client.get("/api/v1/incidents/")

    assert response.status_code == 401
