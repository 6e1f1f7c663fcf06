"""Incident resources: report, read, edit, timeline, transitions, ETags."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident, TimelineEntry
from incidents.roles import INCIDENT_MANAGER, REPORTER, SERVICE_DESK
from tests.api.conftest import load_payload


@pytest.fixture
def manager_client(users, api_client):
    return api_client(users[INCIDENT_MANAGER])


def detail_url(incident):
    return f"/api/v1/incidents/{incident.number}/"


def transition_url(incident, action):
    return f"/api/v1/incidents/{incident.number}/transitions/{action}/"


# Report -----------------------------------------------------------------------


def test_report_creates_incident(users, api_client, service):
    client = api_client(users[REPORTER])

    response = client.post(
        "/api/v1/incidents/",
        {
            "title": "VPN refuses logins",
            "description": "Since 9:00.",
            "service": service.pk,
            "detected_at": "2026-03-02T09:00:00+01:00",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "new"
    assert body["source"] == "api"
    assert body["reporter"] == "reporter"
    assert body["detected_at"] == "2026-03-02T08:00:00Z"
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(f"/api/v1/incidents/{body['number']}/")
    incident = Incident.objects.get(number=body["number"])
    assert incident.timeline.get().kind == "reported"


def test_report_errors_name_fields(users, api_client):
    client = api_client(users[REPORTER])

    response = client.post(
        "/api/v1/incidents/",
        {"title": "", "source": "pigeon", "detected_at": "soon"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {
        "title",
        "description",
        "source",
        "detected_at",
    }
    assert Incident.objects.count() == 0


def test_report_rejects_unknown_field(users, api_client):
    response = api_client(users[REPORTER]).post(
        "/api/v1/incidents/",
        {"title": "A", "description": "B", "priority": 1},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"priority": ["Unknown or read-only field."]}


def test_report_needs_permission(users, api_client):
    response = api_client(users["Auditor"]).post(
        "/api/v1/incidents/", {"title": "A", "description": "B"}, format="json"
    )

    assert response.status_code == 403
    assert "report" in response.json()["detail"]


# Read -------------------------------------------------------------------------


def test_detail_carries_etag(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.get(detail_url(incident))

    assert response.headers["ETag"] == f'"{incident.version}"'
    assert response.json()["version"] == incident.version


def test_number_lookup_ignores_case(make_incident, manager_client):
    incident = make_incident("new")

    response = manager_client.get(f"/api/v1/incidents/{incident.number.lower()}/")

    assert response.status_code == 200


def test_unknown_number_is_404(db, users, manager_client):
    response = manager_client.get("/api/v1/incidents/INC9999999/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("count", [5, 50])
def test_list_query_count_constant(count, make_incident, users, api_client):
    template = make_incident("in_progress")
    for n in range(count - 1):
        Incident.objects.create(
            number=f"INC9{n:06d}",
            title=f"Copy {n}",
            description=template.description,
            source="phone",
            detected_at=template.detected_at,
            reporter=template.reporter,
            opened_by=template.opened_by,
            category=template.category,
            service=template.service,
            assignment_group=template.assignment_group,
            assignee=template.assignee,
            impact=2,
            urgency=2,
            priority=3,
        )
    client = api_client(users[INCIDENT_MANAGER])
    client.get("/api/v1/incidents/")

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/incidents/?page_size=100")

    assert len(response.json()["results"]) == count
    # The token with its user, the user's and the groups' permissions, and the
    # page with every related row joined in.
    assert len(queries) == 4, [q["sql"] for q in queries]


def test_list_has_no_count_query(make_incident, manager_client):
    make_incident("new")

    with CaptureQueriesContext(connection) as queries:
        manager_client.get("/api/v1/incidents/")

    assert not [q for q in queries if "COUNT(" in q["sql"].upper()]


def test_cursor_pages_cover_all(make_incident, manager_client):
    numbers = {make_incident("new").number for _ in range(5)}

    seen = []
    url = "/api/v1/incidents/?page_size=2"
    while url:
        page = manager_client.get(url).json()
        seen += [entry["number"] for entry in page["results"]]
        url = page["next"]

    assert len(seen) == 5
    assert set(seen) == numbers


def test_ordering_by_number(make_incident, manager_client):
    first, second = make_incident("new"), make_incident("new")

    response = manager_client.get("/api/v1/incidents/?ordering=number")

    numbers = [entry["number"] for entry in response.json()["results"]]
    assert numbers == [first.number, second.number]


# Edit -------------------------------------------------------------------------


def test_patch_changes_editable_field(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.patch(
        detail_url(incident), {"title": "Core switch down"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Core switch down"
    assert response.headers["ETag"] == f'"{incident.version + 1}"'
    change = TimelineEntry.objects.filter(kind="field_change").get()
    assert change.data["changes"]["title"] == ["Switch down", "Core switch down"]


def test_patch_impact_derives_priority(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.patch(
        detail_url(incident), {"impact": 1, "urgency": 1}, format="json"
    )

    assert response.json()["priority"] == 1


@pytest.mark.parametrize(
    "field", ["status", "priority", "resolved_at", "number", "version"]
)
def test_patch_read_only_field_is_400(field, make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.patch(detail_url(incident), {field: 1}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Incident.objects.get(pk=incident.pk).version == incident.version


def test_patch_field_not_editable_in_state_is_403(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.patch(
        detail_url(incident), {"workaround": "Reboot."}, format="json"
    )

    assert response.status_code == 403
    assert "workaround" in response.json()["detail"]


def test_patch_field_not_editable_by_role_is_403(make_incident, users, api_client):
    incident = make_incident("triaged")

    response = api_client(users["Auditor"]).patch(
        detail_url(incident), {"title": "Mine now"}, format="json"
    )

    assert response.status_code == 403
    assert "title" in response.json()["detail"]


def test_patch_invalid_value_is_400(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.patch(
        detail_url(incident), {"impact": 7, "category": 999}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"impact", "category"}


def test_stale_if_match_is_412(make_incident, manager_client):
    incident = make_incident("triaged")
    stale = f'"{incident.version - 1}"'

    patched = manager_client.patch(
        detail_url(incident), {"title": "Stale"}, format="json", HTTP_IF_MATCH=stale
    )
    acted = manager_client.post(
        transition_url(incident, "acknowledge"), {}, format="json", HTTP_IF_MATCH=stale
    )

    assert patched.status_code == 412
    assert acted.status_code == 412
    assert patched.json()["code"] == "precondition_failed"
    after = Incident.objects.get(pk=incident.pk)
    assert after.version == incident.version
    assert after.title == "Switch down"
    assert after.status == "triaged"


def test_matching_if_match_is_accepted(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.post(
        transition_url(incident, "acknowledge"),
        {},
        format="json",
        HTTP_IF_MATCH=f'W/"{incident.version}"',
    )

    assert response.status_code == 200


@pytest.mark.parametrize("header", ["abc", '"²"', 'W/"٣"'])
def test_malformed_if_match_is_400(header, make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.patch(
        detail_url(incident), {"title": "X"}, format="json", HTTP_IF_MATCH=header
    )

    assert response.status_code == 400
    assert "If-Match" in response.json()["errors"]


def test_losing_transition_race_is_409(
    make_incident, users, api_client, category, service, team
):
    incident = make_incident("new")
    desk = api_client(users[SERVICE_DESK])
    manager = api_client(users[INCIDENT_MANAGER])
    triage = {
        "category": category.pk,
        "service": service.pk,
        "impact": 2,
        "urgency": 2,
        "assignment_group": team.pk,
    }
    # Both read the new incident, then both triage it; the second one loses.
    desk.get(detail_url(incident))
    manager.get(detail_url(incident))

    won = manager.post(transition_url(incident, "triage"), triage, format="json")
    lost = desk.post(transition_url(incident, "triage"), triage, format="json")

    assert won.status_code == 200
    assert lost.status_code == 409
    assert "triaged" in lost.json()["detail"]
    assert Incident.objects.get(pk=incident.pk).version == incident.version + 1


# Transitions ------------------------------------------------------------------


def test_transition_state_conflict_is_409(make_incident, manager_client):
    incident = make_incident("new")

    response = manager_client.post(
        transition_url(incident, "resolve"), {}, format="json"
    )

    assert response.status_code == 409
    assert "possible only from" in response.json()["detail"]


def test_transition_invalid_data_is_400(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.post(
        transition_url(incident, "hold"), {"hold_reason": "boredom"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"hold_reason", "hold_note"}
    assert Incident.objects.get(pk=incident.pk).status == "triaged"


def test_transition_unknown_field_is_400(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.post(
        transition_url(incident, "acknowledge"), {"assigne": "manager"}, format="json"
    )

    assert response.status_code == 400
    assert "assigne" in response.json()["errors"]


def test_transition_nested_value_is_400(make_incident, manager_client):
    incident = make_incident("in_progress")

    response = manager_client.post(
        transition_url(incident, "mitigate"),
        {"workaround": ["a", "b"]},
        format="json",
    )

    assert response.status_code == 400
    assert "workaround" in response.json()["errors"]


def test_unknown_transition_is_404(make_incident, manager_client):
    incident = make_incident("new")

    response = manager_client.post(
        transition_url(incident, "teleport"), {}, format="json"
    )

    assert response.status_code == 404
    assert "teleport" in response.json()["detail"]


def test_transition_on_invisible_incident_is_404(make_incident, users, api_client):
    incident = make_incident("resolved")
    from incidents import services

    other = services.report_incident(
        users[INCIDENT_MANAGER],
        {
            "title": "Someone else's",
            "description": "Not yours.",
            "source": "phone",
            "detected_at": incident.detected_at,
        },
    )

    response = api_client(users[REPORTER]).post(
        transition_url(other, "close"), {"closure_notes": "x"}, format="json"
    )

    assert response.status_code == 404


def test_transitions_list_describes_fields(make_incident, manager_client):
    incident = make_incident("new")

    response = manager_client.get(f"/api/v1/incidents/{incident.number}/transitions/")

    actions = {entry["name"]: entry for entry in response.json()}
    triage = {field["name"]: field for field in actions["triage"]["fields"]}
    assert triage["category"]["type"] == "id"
    assert triage["category"]["related"] == "categories"
    assert triage["impact"]["type"] == "integer"
    assert [c["value"] for c in triage["impact"]["choices"]] == [1, 2, 3]
    assert triage["impact"]["required"] is True
    assert "resolve" not in actions


def test_transitions_list_root_cause_required_for_p1(make_incident, manager_client):
    incident = make_incident("in_progress", impact=1, urgency=1)

    response = manager_client.get(f"/api/v1/incidents/{incident.number}/transitions/")

    resolve = next(entry for entry in response.json() if entry["name"] == "resolve")
    fields = {field["name"]: field for field in resolve["fields"]}
    assert fields["root_cause"]["required"] is True


def test_cancel_as_duplicate_by_number(make_incident, manager_client):
    original, duplicate = make_incident("new"), make_incident("new")

    response = manager_client.post(
        transition_url(duplicate, "cancel"),
        {"cancel_reason": "duplicate", "duplicate_of": original.number},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["duplicate_of"] == original.number


# Timeline ---------------------------------------------------------------------


def test_timeline_lists_newest_first(make_incident, manager_client):
    incident = make_incident("in_progress")

    response = manager_client.get(f"/api/v1/incidents/{incident.number}/timeline/")

    kinds = [entry["kind"] for entry in response.json()["results"]]
    assert kinds == ["transition", "transition", "reported"]


def test_comment_added_to_timeline(make_incident, users, api_client):
    incident = make_incident("new")

    response = api_client(users[REPORTER]).post(
        f"/api/v1/incidents/{incident.number}/timeline/",
        {"text": "It is down again."},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["kind"] == "comment"
    assert response.json()["actor"] == "reporter"


def test_empty_comment_is_400(make_incident, manager_client):
    incident = make_incident("new")

    response = manager_client.post(
        f"/api/v1/incidents/{incident.number}/timeline/", {"text": " "}, format="json"
    )

    assert response.status_code == 400
    assert "text" in response.json()["errors"]


def test_comment_without_permission_is_403(make_incident, users, api_client):
    incident = make_incident("new")

    response = api_client(users["Auditor"]).post(
        f"/api/v1/incidents/{incident.number}/timeline/", {"text": "Hi"}, format="json"
    )

    assert response.status_code == 403


# Tokens, reference data, schema -------------------------------------------------


def test_token_from_password(users, api_client):
    response = api_client().post(
        "/api/v1/auth/token/",
        {"username": "manager", "password": "correct-horse-battery-staple"},
        format="json",
    )

    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_token_wrong_password_is_400(users, api_client):
    response = api_client().post(
        "/api/v1/auth/token/",
        {"username": "manager", "password": "wrong"},
        format="json",
    )

    assert response.status_code == 400
    assert "token" not in response.json()


def test_token_revoked_by_delete(users, api_client):
    client = api_client(users[INCIDENT_MANAGER])

    revoked = client.delete("/api/v1/auth/token/")
    after = client.get("/api/v1/incidents/")

    assert revoked.status_code == 204
    assert after.status_code == 401


def test_token_endpoint_throttled(users, api_client, settings):
    settings.IMS_API_THROTTLE_RATES = {"intake": None, "token": "3/min"}
    client = api_client()
    body = {"username": "manager", "password": "wrong"}

    statuses = [
        client.post("/api/v1/auth/token/", body, format="json").status_code
        for _ in range(4)
    ]

    assert statuses == [400, 400, 400, 429]


def test_reference_lists(users, category, service, team, manager_client):
    categories = manager_client.get("/api/v1/categories/").json()["results"]
    services_ = manager_client.get("/api/v1/services/").json()["results"]
    teams = manager_client.get("/api/v1/teams/").json()["results"]

    assert [c["full_name"] for c in categories] == ["Network", "Network > Switch"]
    assert [s["name"] for s in services_] == ["Core switching"]
    assert {t["name"] for t in teams} == {"Network", "Database"}


def test_schema_and_docs_served(db, client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/incidents/{number}/transitions/triage/" in schema.content
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar" in docs.content


@pytest.mark.parametrize("value", [True, 12, 1.5])
def test_report_non_text_timestamp_is_400(value, users, api_client):
    response = api_client(users[REPORTER]).post(
        "/api/v1/incidents/",
        {"title": "A", "description": "B", "started_at": value},
        format="json",
    )

    assert response.status_code == 400
    assert "started_at" in response.json()["errors"]


def test_transition_integer_given_as_number(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.post(
        transition_url(incident, "override_priority"),
        {"priority": 1, "reason": "Board meeting."},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["priority"] == 1


def test_token_throttle_ignores_forwarded_for(users, api_client, settings):
    settings.IMS_API_THROTTLE_RATES = {"intake": None, "token": "3/min"}
    client = api_client()
    body = {"username": "manager", "password": "wrong"}

    statuses = [
        client.post(
            "/api/v1/auth/token/",
            body,
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.9.{attempt}.1",
        ).status_code
        for attempt in range(4)
    ]

    assert statuses == [400, 400, 400, 429]


def test_malformed_json_is_parse_error(make_incident, manager_client):
    incident = make_incident("triaged")

    response = manager_client.patch(
        detail_url(incident), "{", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_body_over_upload_limit_is_json_413(make_incident, manager_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    incident = make_incident("triaged")

    response = manager_client.patch(
        detail_url(incident), {"title": "x" * 2000}, format="json"
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"
    incident.refresh_from_db()
    assert incident.title != "x" * 2000


def test_intake_body_over_upload_limit_is_json_413(intake_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = load_payload("firing")
    payload["alerts"][0]["annotations"]["description"] = "x" * 2000

    response = intake_client.post(
        "/api/v1/intake/alertmanager/", payload, format="json"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert Incident.objects.count() == 0
