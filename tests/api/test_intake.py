"""Alertmanager webhook intake, on recorded payload shapes (JSON version 4)."""

import copy

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents import services
from incidents.api.intake import intake_account
from incidents.api.models import AlertEvent, AlertSeverityMapping, IntakeToken
from incidents.models import Incident, Service, TimelineEntry
from incidents.roles import INCIDENT_MANAGER
from tests.api.conftest import load_payload

URL = "/api/v1/intake/alertmanager/"


def post(client, payload):
    return client.post(URL, payload, format="json")


def alert_entries(incident):
    return TimelineEntry.objects.filter(incident=incident, kind="alert")


def test_firing_alert_opens_incident(intake_client, service):
    response = post(intake_client, load_payload("firing"))

    assert response.status_code == 200, response.json()
    (number,) = response.json()["opened"]
    incident = Incident.objects.get(number=number)
    assert incident.status == "new"
    assert incident.source == "alertmanager"
    assert incident.title == "DiskFull: Disk full on db1"
    assert "/var on db1 is 99% full." in incident.description
    assert "instance=db1.example.org:9100" in incident.description
    assert incident.reporter is None
    assert incident.opened_by.username == "alertmanager"
    assert incident.detected_at.isoformat() == "2026-03-02T09:00:00.123456+00:00"
    assert incident.started_at == incident.detected_at
    assert incident.service == service
    assert incident.location == "db1.example.org:9100"


def test_critical_severity_maps_to_p1(intake_client):
    number = post(intake_client, load_payload("firing")).json()["opened"][0]

    incident = Incident.objects.get(number=number)
    assert (incident.impact, incident.urgency, incident.priority) == (1, 1, 1)
    assert incident.is_major


def test_severity_mapping_from_admin_table(intake_client):
    AlertSeverityMapping.objects.filter(severity="critical").update(impact=3, urgency=2)

    number = post(intake_client, load_payload("firing")).json()["opened"][0]

    incident = Incident.objects.get(number=number)
    assert (incident.impact, incident.urgency, incident.priority) == (3, 2, 4)


def test_firing_alert_timeline(intake_client):
    number = post(intake_client, load_payload("firing")).json()["opened"][0]

    incident = Incident.objects.get(number=number)
    kinds = sorted(incident.timeline.values_list("kind", flat=True))
    assert kinds == ["alert", "reported"]
    entry = alert_entries(incident).get()
    assert entry.actor_label == "alertmanager:ims"
    assert entry.data["fingerprint"] == "5d4b1c0a9e8f7a61"
    assert entry.data["labels"]["severity"] == "critical"


def test_repeated_delivery_is_skipped(intake_client):
    first = post(intake_client, load_payload("firing")).json()
    entries_before = TimelineEntry.objects.count()

    second = post(intake_client, load_payload("firing"))

    assert second.status_code == 200
    assert second.json()["duplicates"] == 1
    assert second.json()["opened"] == []
    assert Incident.objects.count() == 1
    assert AlertEvent.objects.count() == 1
    assert TimelineEntry.objects.count() == entries_before
    assert first["opened"]


def test_refiring_alert_updates_open_incident(intake_client):
    number = post(intake_client, load_payload("firing")).json()["opened"][0]
    again = load_payload("firing")
    again["alerts"][0]["startsAt"] = "2026-03-02T11:00:00Z"

    response = post(intake_client, again)

    assert response.json()["updated"] == [number]
    assert Incident.objects.count() == 1
    assert alert_entries(Incident.objects.get(number=number)).count() == 2


def test_firing_after_closure_opens_new_incident(intake_client, make_incident):
    number = post(intake_client, load_payload("firing")).json()["opened"][0]
    Incident.objects.filter(number=number).update(status="cancelled")
    again = load_payload("firing")
    again["alerts"][0]["startsAt"] = "2026-03-03T08:00:00Z"

    response = post(intake_client, again)

    (new_number,) = response.json()["opened"]
    assert new_number != number


def test_resolved_alert_adds_timeline_entry(intake_client):
    number = post(intake_client, load_payload("firing")).json()["opened"][0]

    response = post(intake_client, load_payload("resolved"))

    assert response.json()["resolved"] == [number]
    assert response.json()["mitigated"] == []
    incident = Incident.objects.get(number=number)
    assert incident.status == "new"
    resolved = alert_entries(incident).filter(data__status="resolved").get()
    assert "resolved at 2026-03-02T09:20:00.500000+00:00" in resolved.message


@pytest.mark.parametrize("state", ["in_progress", "investigating"])
def test_resolved_alert_mitigates_working_incident(
    state, intake_client, users, category, service, team
):
    number = post(intake_client, load_payload("firing")).json()["opened"][0]
    manager = users[INCIDENT_MANAGER]
    incident = Incident.objects.get(number=number)
    incident = services.run_action(
        incident,
        "triage",
        manager,
        {
            "category": category.pk,
            "service": service.pk,
            "impact": 1,
            "urgency": 1,
            "assignment_group": team.pk,
        },
    )
    incident = services.run_action(incident, "acknowledge", manager, {})
    if state == "investigating":
        incident = services.run_action(incident, "investigate", manager, {})

    response = post(intake_client, load_payload("resolved"))

    assert response.json()["mitigated"] == [number]
    incident.refresh_from_db()
    assert incident.status == "mitigated"
    assert incident.workaround.startswith("Alert resolved at 2026-03-02T09:20:00")
    transition = incident.timeline.filter(transition="mitigate").get()
    assert transition.actor.username == "alertmanager"


@pytest.mark.parametrize("state", ["resolved", "closed"])
def test_resolved_alert_never_resolves_or_closes(state, intake_client, make_incident):
    incident = make_incident(state)
    AlertEvent.objects.create(
        fingerprint="5d4b1c0a9e8f7a61",
        status="firing",
        starts_at="2026-03-02T09:00:00.123456Z",
        incident=incident,
        labels={"alertname": "DiskFull"},
    )

    response = post(intake_client, load_payload("resolved"))

    assert response.json()["resolved"] == [incident.number]
    incident.refresh_from_db()
    assert incident.status == state


def test_resolved_alert_without_firing_opens_nothing(intake_client):
    response = post(intake_client, load_payload("resolved"))

    assert response.json()["unmatched"] == 1
    assert Incident.objects.count() == 0
    assert AlertEvent.objects.get().incident is None


def test_grouped_alerts_open_one_incident_each(intake_client):
    response = post(intake_client, load_payload("grouped"))

    assert response.status_code == 200
    assert len(response.json()["opened"]) == 3
    priorities = sorted(Incident.objects.values_list("impact", "urgency"))
    # warning -> 2/2, info -> 3/3, and "page" has no mapping: the default 2/2.
    assert priorities == [(2, 2), (2, 2), (3, 3)]


def test_unicode_labels_survive(intake_client):
    Service.objects.create(name="Base de données")

    number = post(intake_client, load_payload("unicode")).json()["opened"][0]

    incident = Incident.objects.get(number=number)
    assert incident.title == "DisqueSaturé: Disque plein sur « bdd-é1 » 💾"
    assert incident.service.name == "Base de données"
    assert "équipe=Opérations" in incident.description
    assert alert_entries(incident).get().data["labels"]["équipe"] == "Opérations"


def test_missing_annotations_use_alert_name(intake_client):
    number = post(intake_client, load_payload("missing_annotations")).json()["opened"][
        0
    ]

    incident = Incident.objects.get(number=number)
    assert incident.title == "TargetDown"
    assert incident.description.startswith("Labels:")


def test_service_from_job_label(intake_client):
    payload = load_payload("missing_annotations")
    blackbox = Service.objects.create(name="Blackbox")

    number = post(intake_client, payload).json()["opened"][0]

    assert Incident.objects.get(number=number).service == blackbox


def test_unknown_service_stays_empty(intake_client):
    number = post(intake_client, load_payload("missing_annotations")).json()["opened"][
        0
    ]

    assert Incident.objects.get(number=number).service is None
    assert not Service.objects.filter(name__iexact="blackbox").exists()


def test_truncated_alerts_processes_the_rest(intake_client, caplog):
    response = post(intake_client, load_payload("truncated"))

    assert response.status_code == 200
    assert len(response.json()["opened"]) == 1
    assert "dropped 5 alerts" in caplog.text


MALFORMED = {
    "malformed_missing_fingerprint": {"alerts[2].fingerprint": ["missing"]},
    "malformed_bad_version": {"version": ["'3' is not 4"]},
    "malformed_bad_timestamps": {
        "alerts[0].endsAt": [
            "'2026-03-02 09:20' is not an RFC 3339 timestamp with a time zone"
        ],
        "alerts[1].startsAt": ["'yesterday at noon' is not an RFC 3339 timestamp"],
    },
    "malformed_alerts_not_list": {"alerts": ["must be a list, not dict"]},
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_payload_is_400(name, intake_client):
    response = post(intake_client, load_payload(name))

    assert response.status_code == 400
    assert response.json()["errors"] == MALFORMED[name]
    assert response.json()["detail"] == "Invalid Alertmanager payload."


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_payload_stores_nothing(name, intake_client):
    post(intake_client, load_payload(name))

    assert Incident.objects.count() == 0
    assert AlertEvent.objects.count() == 0
    assert TimelineEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda p: p.pop("receiver"), "receiver"),
        (lambda p: p.update(status="ok"), "status"),
        (lambda p: p.update(truncatedAlerts=-1), "truncatedAlerts"),
        (lambda p: p["alerts"][0].update(status=None), "alerts[0].status"),
        (lambda p: p["alerts"][0].update(labels=["a"]), "alerts[0].labels"),
        (lambda p: p["alerts"][0]["labels"].update(x=1), "alerts[0].labels.x"),
        (lambda p: p["alerts"][0].update(startsAt=""), "alerts[0].startsAt"),
        (
            lambda p: p["alerts"][0].update(startsAt="0001-01-01T00:00:00Z"),
            "alerts[0].startsAt",
        ),
        (lambda p: p["alerts"][0].update(fingerprint=" "), "alerts[0].fingerprint"),
        (lambda p: p["alerts"].append("alert"), "alerts[1]"),
    ],
)
def test_invalid_field_is_named(change, path, intake_client):
    payload = load_payload("firing")
    change(payload)

    response = post(intake_client, payload)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [path]


def test_body_not_an_object_is_400(intake_client):
    response = intake_client.post(URL, [1, 2], format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"body": ["must be a JSON object"]}


def test_valid_alert_not_stored_when_another_is_invalid(intake_client):
    payload = load_payload("grouped")
    payload["alerts"][2]["startsAt"] = "not a time"

    response = post(intake_client, payload)

    assert response.status_code == 400
    assert Incident.objects.count() == 0


def test_missing_token_is_401(db):
    response = post(APIClient(), load_payload("firing"))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert Incident.objects.count() == 0


def test_wrong_token_is_401(intake_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {intake_key}x")

    response = post(client, load_payload("firing"))

    assert response.status_code == 401
    assert Incident.objects.count() == 0


def test_revoked_token_is_401(intake_key, intake_client):
    IntakeToken.objects.all().delete()

    response = post(intake_client, load_payload("firing"))

    assert response.status_code == 401


def test_user_api_token_is_401(users):
    token = Token.objects.create(user=users[INCIDENT_MANAGER])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")

    response = post(client, load_payload("firing"))

    assert response.status_code == 401


def test_account_without_permission_is_403(users):
    _token, key = IntakeToken.issue(users[INCIDENT_MANAGER], "misissued")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = post(client, load_payload("firing"))

    assert response.status_code == 403
    assert Incident.objects.count() == 0


def test_token_stored_only_as_digest(intake_key):
    token = IntakeToken.objects.get()

    assert intake_key not in (token.digest, token.prefix)
    assert token.prefix == intake_key[:8]


def test_intake_throttled(intake_client, settings):
    settings.IMS_API_THROTTLE_RATES = {"intake": "2/min", "token": None}
    payload = load_payload("missing_annotations")

    statuses = []
    for minute in range(3):
        payload = copy.deepcopy(payload)
        payload["alerts"][0]["startsAt"] = f"2026-03-02T09:0{minute}:00Z"
        statuses.append(post(intake_client, payload).status_code)

    assert statuses == [200, 200, 429]


def test_delivery_logged_without_secret(intake_client, intake_key, caplog):
    post(intake_client, load_payload("grouped"))

    assert "receiver=ims" in caplog.text
    assert "opened=3" in caplog.text
    assert intake_key not in caplog.text


def test_create_intake_token_command(db, capsys):
    call_command("create_intake_token", "prometheus")
    first = capsys.readouterr().out.strip()
    call_command("create_intake_token", "prometheus")
    second = capsys.readouterr().out.strip()

    user = IntakeToken.objects.get(prefix=first[:8]).user
    assert user.username == "prometheus"
    assert not user.is_staff
    assert not user.has_usable_password()
    assert user.has_perm("incidents.submit_alerts")
    assert first != second
    assert IntakeToken.objects.filter(user=user).count() == 2
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {second}")
    assert post(client, load_payload("firing")).status_code == 200


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda p: p["alerts"][0]["labels"].update(alertname="a\x00b"), "alertname"),
        (lambda p: p["alerts"][0]["labels"].update(team="x\x00y"), "team"),
    ],
)
def test_nul_in_label_is_400(change, path, intake_client):
    payload = load_payload("firing")
    change(payload)

    response = post(intake_client, payload)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [f"alerts[0].labels.{path}"]
    assert Incident.objects.count() == 0
    assert AlertEvent.objects.count() == 0


def test_nul_in_annotation_is_400(intake_client):
    payload = load_payload("firing")
    payload["alerts"][0]["annotations"]["summary"] = "disk\x00full"

    response = post(intake_client, payload)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["alerts[0].annotations.summary"]
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("groupKey", "groupKey"),
        ("receiver", "receiver"),
        ("externalURL", "externalURL"),
    ],
)
def test_nul_in_notification_string_is_400(key, path, intake_client):
    payload = load_payload("firing")
    payload[key] = "a\x00b"

    response = post(intake_client, payload)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [path]
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("startsAt", "9999-12-31T23:59:59-05:00"),
        ("endsAt", "9999-12-31T23:00:00-05:00"),
        ("startsAt", "1960-05-01T10:00:00Z"),
        ("startsAt", "0001-01-02T00:00:00Z"),
    ],
)
def test_timestamp_beyond_utc_range_is_400(field, value, intake_client):
    payload = load_payload("firing")
    payload["alerts"][0][field] = value

    response = post(intake_client, payload)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [f"alerts[0].{field}"]
    assert Incident.objects.count() == 0
    assert AlertEvent.objects.count() == 0


def test_resolved_alert_ending_before_start_is_400(intake_client):
    payload = load_payload("resolved")
    alert = payload["alerts"][0]
    alert["endsAt"] = "2000-01-01T00:00:00Z"

    response = post(intake_client, payload)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["alerts[0].endsAt"]
    assert AlertEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad name!", "'bad name!' is invalid"),
        ("a\x00b", "is invalid"),
        ("x" * 151, "151 characters long"),
    ],
)
def test_create_intake_token_rejects_bad_name(name, message, db):
    with pytest.raises(CommandError, match=message):
        call_command("create_intake_token", name)

    assert IntakeToken.objects.count() == 0
    # PostgreSQL rejects a NUL in a query, so count users instead of filtering.
    assert get_user_model().objects.count() == 0


def test_create_intake_token_rejects_long_label(db):
    with pytest.raises(CommandError, match="--label"):
        call_command("create_intake_token", "prometheus", "--label", "x" * 101)

    assert IntakeToken.objects.count() == 0


def test_create_intake_token_accepts_long_name(db, capsys):
    call_command("create_intake_token", "p" * 150)

    token = IntakeToken.objects.get()
    assert token.user.username == "p" * 150
    assert token.name == "p" * 100


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda user: user.set_password("secret-pass-1"), "has a password"),
        (lambda user: setattr(user, "is_staff", True), "is a staff account"),
        (lambda user: user.groups.clear(), 'is not in the "Alert intake" group'),
    ],
)
def test_create_intake_token_rejects_person(change, problem, db):
    user, _ = intake_account("prometheus")
    change(user)
    user.save()

    with pytest.raises(CommandError, match=problem):
        call_command("create_intake_token", "prometheus")

    assert IntakeToken.objects.count() == 0


def test_create_intake_token_leaves_person_unchanged(users):
    person = users[INCIDENT_MANAGER]

    with pytest.raises(CommandError, match="not an intake account"):
        call_command("create_intake_token", person.username)

    assert not person.groups.filter(name="Alert intake").exists()
    assert IntakeToken.objects.count() == 0
