"""The incident change page, its action pages, the report form and the comment
box."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from incidents import rules, services
from incidents.admin import TIMELINE_LIMIT
from incidents.models import Incident, Status, TimelineEntry
from incidents.roles import AUDITOR, INCIDENT_MANAGER, REPORTER, RESPONDER
from tests.admin_support import fast_password_hashing  # noqa: F401

LIST_URL = "/admin/incidents/incident/"


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def action_url(incident, action):
    return reverse("admin:incidents_incident_action", args=[incident.pk, action])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def buttons_on(response):
    return re.findall(r'class="button ims-action ims-action-(\w+)"', response.text)


@pytest.mark.parametrize(
    ("role", "state"),
    [
        (RESPONDER, "triaged"),
        (RESPONDER, "in_progress"),
        ("outsider", "in_progress"),
        (INCIDENT_MANAGER, "resolved"),
        ("Service desk", "new"),
        (REPORTER, "resolved"),
        (AUDITOR, "in_progress"),
    ],
)
def test_buttons_match_available_actions(client, users, make_incident, role, state):
    incident = make_incident(state)
    client.force_login(users[role])

    response = client.get(change_url(incident))

    assert response.status_code == 200
    assert buttons_on(response) == rules.available_actions(users[role], incident)


def test_auditor_page_is_read_only(client, users, make_incident):
    incident = make_incident("in_progress")
    client.force_login(users[AUDITOR])

    response = client.get(change_url(incident))

    assert buttons_on(response) == []
    assert 'name="text"' not in response.text
    assert 'name="_save"' not in response.text
    assert not response.context["adminform"].form.fields.keys() - {"expected_version"}


def test_reporter_list_shows_own_incidents_only(client, users, make_incident):
    own = make_incident("triaged")
    foreign = make_incident("triaged")
    Incident.objects.filter(pk=foreign.pk).update(
        reporter=users[RESPONDER], opened_by=users[RESPONDER]
    )
    client.force_login(users[REPORTER])

    response = client.get(LIST_URL)

    numbers = {incident.number for incident in response.context["cl"].result_list}
    assert numbers == {own.number}
    assert client.get(change_url(foreign)).status_code == 302


def test_action_page_renders_form_with_version(client, users, make_incident):
    incident = make_incident("in_progress")
    client.force_login(users[RESPONDER])

    response = client.get(action_url(incident, "resolve"))

    assert response.status_code == 200
    assert f'name="version" value="{incident.version}"' in response.text
    assert '<label for="id_resolution_notes"' in response.text


def test_refused_action_page_shows_reason(client, users, make_incident):
    incident = make_incident("in_progress")
    client.force_login(users["outsider"])

    response = client.get(action_url(incident, "resolve"))

    assert response.status_code == 403
    reason = rules.transition_refusal(users["outsider"], incident, "resolve")
    assert "not a member of that team" in reason
    assert reason in response.text


def test_action_from_wrong_state_shows_reason(client, users, make_incident):
    incident = make_incident("new")
    client.force_login(users[INCIDENT_MANAGER])

    response = client.get(action_url(incident, "close"))

    assert response.status_code == 403
    assert "close is possible only from: resolved" in response.text


def test_unknown_action_is_not_found(client, users, make_incident):
    incident = make_incident("new")
    client.force_login(users[INCIDENT_MANAGER])

    assert client.get(action_url(incident, "delete")).status_code == 404


def test_invalid_action_data_shows_errors(client, users, make_incident):
    incident = make_incident("in_progress", impact=1, urgency=1)
    client.force_login(users[RESPONDER])

    response = client.post(
        action_url(incident, "resolve"),
        {"version": incident.version, "resolution_code": "fixed"},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"resolution_notes", "recovery_notes", "root_cause"}
    assert Incident.objects.get(pk=incident.pk).status == Status.IN_PROGRESS


def test_stale_version_action_reports_conflict(client, users, make_incident):
    incident = make_incident("in_progress")
    services.add_comment(incident, users[INCIDENT_MANAGER], "Looking.")
    services.update_fields(incident, users[INCIDENT_MANAGER], {"location": "Floor 3"})
    client.force_login(users[RESPONDER])

    response = client.post(
        action_url(incident, "mitigate"),
        {"version": incident.version, "workaround": "Rebooted."},
        follow=True,
    )

    messages = messages_of(response)
    assert any(m.startswith("Conflict:") for m in messages), messages
    assert Incident.objects.get(pk=incident.pk).status == Status.IN_PROGRESS


def test_action_without_version_changes_nothing(client, users, make_incident):
    incident = make_incident("in_progress")
    client.force_login(users[RESPONDER])

    response = client.post(
        action_url(incident, "mitigate"), {"workaround": "Rebooted."}, follow=True
    )

    assert any("no valid version" in m for m in messages_of(response))
    assert Incident.objects.get(pk=incident.pk).status == Status.IN_PROGRESS


def change_form_data(incident, **changes):
    data = {
        "title": incident.title,
        "description": incident.description,
        "location": incident.location,
        "detected_at_0": incident.detected_at.strftime("%Y-%m-%d"),
        "detected_at_1": incident.detected_at.strftime("%H:%M:%S"),
        "started_at_0": "",
        "started_at_1": "",
        "category": incident.category_id,
        "service": incident.service_id,
        "impact": incident.impact,
        "urgency": incident.urgency,
        "workaround": incident.workaround,
        "investigation_notes": incident.investigation_notes,
        "expected_version": incident.version,
        "hold_periods-TOTAL_FORMS": 0,
        "hold_periods-INITIAL_FORMS": 0,
        "_save": "Save",
    }
    data.update(changes)
    return data


def test_save_records_field_changes_in_timeline(client, users, make_incident):
    incident = make_incident("in_progress")
    # Impact belongs to triage, which the incident manager may do.
    client.force_login(users[INCIDENT_MANAGER])

    response = client.post(
        change_url(incident),
        change_form_data(incident, title="Switch down on floor 3", impact=1),
    )

    assert response.status_code == 302
    saved = Incident.objects.get(pk=incident.pk)
    assert saved.title == "Switch down on floor 3"
    assert saved.priority == 2
    assert saved.version == incident.version + 1
    entry = TimelineEntry.objects.filter(incident=incident).first()
    assert entry.kind == TimelineEntry.Kind.FIELD_CHANGE
    assert set(entry.data["changes"]) == {"title", "impact", "priority"}


def test_save_with_stale_version_changes_nothing(client, users, make_incident):
    incident = make_incident("in_progress")
    stale = incident.version
    services.update_fields(incident, users[INCIDENT_MANAGER], {"location": "Hall"})
    client.force_login(users[RESPONDER])

    response = client.post(
        change_url(incident),
        change_form_data(incident, title="Overwritten", expected_version=stale),
        follow=True,
    )

    assert any(m.startswith("Conflict:") for m in messages_of(response))
    saved = Incident.objects.get(pk=incident.pk)
    assert saved.title == incident.title
    assert saved.location == "Hall"


def test_responder_cannot_change_impact(client, users, make_incident):
    incident = make_incident("in_progress")
    client.force_login(users[RESPONDER])

    client.post(change_url(incident), change_form_data(incident, impact=1))

    assert Incident.objects.get(pk=incident.pk).impact == incident.impact


def test_editable_fields_follow_rules(client, users, make_incident):
    incident = make_incident("in_progress")
    client.force_login(users[RESPONDER])

    response = client.get(change_url(incident))

    form_fields = set(response.context["adminform"].form.fields) - {"expected_version"}
    assert form_fields == rules.editable_fields(users[RESPONDER], incident)
    assert not form_fields & {"priority", "status", "reported_at", "resolved_at"}


def test_report_page_creates_incident_with_timeline(client, users):
    client.force_login(users[REPORTER])
    form = client.get(reverse("admin:incidents_incident_add")).context["adminform"]
    assert set(form.form.fields) == {
        "title",
        "description",
        "source",
        "detected_at",
        "started_at",
        "service",
        "location",
    }

    response = client.post(
        reverse("admin:incidents_incident_add"),
        {
            "title": "Laptop cannot reach the VPN",
            "description": "Since this morning.",
            "source": "web",
            "detected_at_0": "2026-03-02",
            "detected_at_1": "08:30:00",
            "hold_periods-TOTAL_FORMS": 0,
            "hold_periods-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302
    incident = Incident.objects.get(title="Laptop cannot reach the VPN")
    assert incident.reporter == users[REPORTER]
    assert incident.status == Status.NEW
    entry = TimelineEntry.objects.get(incident=incident)
    assert entry.kind == TimelineEntry.Kind.REPORTED


def test_report_page_rejects_future_detection(client, users):
    client.force_login(users[REPORTER])

    response = client.post(
        reverse("admin:incidents_incident_add"),
        {
            "title": "Future",
            "description": "x",
            "source": "web",
            "detected_at_0": "2099-01-01",
            "detected_at_1": "08:30:00",
        },
    )

    assert response.status_code == 200
    assert "detected_at" in response.context["adminform"].form.errors
    assert not Incident.objects.exists()


def test_comment_box_appends_comment(client, users, make_incident):
    incident = make_incident("triaged")
    client.force_login(users[REPORTER])

    response = client.post(
        reverse("admin:incidents_incident_comment", args=[incident.pk]),
        {"text": "Still down here."},
        follow=True,
    )

    assert f"Comment added to {incident.number}." in messages_of(response)
    entry = TimelineEntry.objects.filter(incident=incident).first()
    assert entry.kind == TimelineEntry.Kind.COMMENT
    assert entry.message == "Still down here."


def test_comment_refused_for_auditor(client, users, make_incident):
    incident = make_incident("triaged")
    client.force_login(users[AUDITOR])
    before = TimelineEntry.objects.count()

    response = client.post(
        reverse("admin:incidents_incident_comment", args=[incident.pk]),
        {"text": "Sneaky."},
        follow=True,
    )

    assert any("may not comment" in m for m in messages_of(response))
    assert TimelineEntry.objects.count() == before


def test_timeline_newest_first_and_capped(client, users, make_incident):
    incident = make_incident("triaged")
    for index in range(TIMELINE_LIMIT + 3):
        services.add_comment(incident, users[INCIDENT_MANAGER], f"Note {index}")
    client.force_login(users[INCIDENT_MANAGER])

    response = client.get(change_url(incident))

    timeline = response.context["timeline"]
    assert len(timeline) == TIMELINE_LIMIT
    assert timeline[0].message == f"Note {TIMELINE_LIMIT + 2}"
    assert response.context["timeline_truncated"]
    full = client.get(response.context["timeline_url"])
    assert full.status_code == 200
    assert len(full.context["cl"].result_list) == TIMELINE_LIMIT + 3 + 2


def test_related_incidents_listed(client, users, make_incident):
    original = make_incident("triaged")
    neighbour = make_incident("triaged", title="Another switch")
    duplicate = make_incident("new")
    services.run_action(
        duplicate,
        "cancel",
        users[INCIDENT_MANAGER],
        {"cancel_reason": "duplicate", "duplicate_of": original.number},
    )
    client.force_login(users[INCIDENT_MANAGER])

    response = client.get(change_url(original))

    assert [i.number for i in response.context["duplicates"]] == [duplicate.number]
    assert [i.number for i in response.context["same_service"]] == [neighbour.number]


def test_nobody_may_delete_incidents_or_timeline(client, db, make_incident):
    incident = make_incident("triaged")
    admin_user = get_user_model().objects.create_superuser("root", "r@x.test", "pw")
    client.force_login(admin_user)

    assert client.get(change_url(incident) + "../delete/").status_code == 403
    entry = TimelineEntry.objects.filter(incident=incident).first()
    entry_url = reverse("admin:incidents_timelineentry_change", args=[entry.pk])
    response = client.post(entry_url, {"message": "rewritten"})
    assert response.status_code == 403
    assert client.get(reverse("admin:incidents_timelineentry_add")).status_code == 403
