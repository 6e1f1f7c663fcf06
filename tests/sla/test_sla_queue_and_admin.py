"""Queue filter and badge helpers for the incident list, and the admin pages of
targets, subscriptions and notification preferences."""

import datetime

import pytest
from django.urls import reverse

from incidents import sla
from incidents.models import (
    Incident,
    NotificationPreference,
    ServiceLevelTarget,
    WebhookDelivery,
    WebhookSubscription,
)
from incidents.roles import INCIDENT_MANAGER, REPORTER, RESPONDER
from tests.conftest import PASSWORD

HOUR = datetime.timedelta(hours=1)


def numbers(queryset):
    return sorted(queryset.values_list("number", flat=True))


def test_queue_filter_selects_at_risk_and_breached(make_incident):
    on_track = make_incident("triaged", title="on track")
    reported = on_track.reported_at
    acknowledged = make_incident("in_progress", title="acknowledged")
    untriaged = make_incident("new", title="no priority")

    at_risk_time = reported + 3 * HOUR + datetime.timedelta(minutes=30)
    queue = sla.breached_or_at_risk(Incident.objects.all(), at_risk_time)
    early = sla.breached_or_at_risk(Incident.objects.all(), reported + HOUR)

    assert numbers(queue) == [on_track.number]
    assert acknowledged.number not in numbers(queue)
    assert untriaged.number not in numbers(queue)
    assert numbers(early) == []


def test_breached_filter_excludes_at_risk(make_incident):
    incident = make_incident("triaged")
    reported = incident.reported_at

    assert numbers(sla.breached(Incident.objects.all(), reported + 3.5 * HOUR)) == []
    assert numbers(sla.breached(Incident.objects.all(), reported + 5 * HOUR)) == [
        incident.number
    ]


def test_queue_filter_is_one_query(make_incident, django_assert_num_queries):
    for _ in range(3):
        make_incident("triaged")
    now = Incident.objects.first().reported_at + 5 * HOUR

    with django_assert_num_queries(1):
        rows = list(sla.breached_or_at_risk(Incident.objects.all(), now))

    assert len(rows) == 3


def test_resolved_incident_leaves_queue(make_incident):
    incident = make_incident("resolved")

    queue = sla.breached_or_at_risk(
        Incident.objects.all(), incident.reported_at + 100 * HOUR
    )

    assert numbers(queue) == []


@pytest.mark.parametrize(
    ("offset", "state", "label"),
    [
        (HOUR, sla.ON_TRACK, "On track"),
        (3.5 * HOUR, sla.AT_RISK, "At risk"),
        (5 * HOUR, sla.BREACHED, "Breached"),
    ],
)
def test_badge_states_of_running_response(make_incident, offset, state, label):
    incident = make_incident("triaged")

    badge = sla.badge_for_stored(incident, incident.reported_at + offset)

    assert badge["state"] == state
    assert badge["label"] == label
    assert badge["kind"] == "response"
    assert badge["due_at"] == incident.response_due_at


def test_badge_time_left_is_negative_when_overdue(make_incident):
    incident = make_incident("triaged")

    badge = sla.badge_for_stored(incident, incident.reported_at + 5 * HOUR)

    assert badge["time_left"] == -HOUR


def test_badge_shows_resolution_after_response_met(make_incident):
    incident = make_incident("in_progress")

    badge = sla.badge_for_stored(incident, incident.reported_at + HOUR)

    assert badge["kind"] == "resolution"
    assert badge["state"] == sla.ON_TRACK


def test_badge_of_resolved_incident_is_met(make_incident):
    incident = make_incident("resolved")

    badge = sla.badge_for_stored(incident, incident.reported_at + 100 * HOUR)

    assert badge["state"] == sla.MET


def test_badge_of_incident_on_hold_is_paused(make_incident):
    incident = make_incident("on_hold")

    badge = sla.badge_for_stored(incident, incident.reported_at + HOUR)

    assert badge["state"] == sla.PAUSED
    assert badge["time_left"] is None


def test_badge_without_priority_is_none(make_incident):
    incident = make_incident("new")

    assert sla.badge_for_stored(incident, incident.reported_at) is None


def test_badge_needs_no_query(make_incident, django_assert_num_queries):
    incident = make_incident("triaged")

    with django_assert_num_queries(0):
        sla.badge_for_stored(incident, incident.reported_at + HOUR)


@pytest.mark.parametrize(
    ("time_left", "text"),
    [
        (datetime.timedelta(hours=2, minutes=5), "2 h 05 min left"),
        (datetime.timedelta(minutes=-7), "7 min overdue"),
        (-datetime.timedelta(days=1, hours=3), "1 d 3 h overdue"),
        (None, ""),
    ],
)
def test_format_time_left(time_left, text):
    assert sla.format_time_left(time_left) == text


# Admin pages.


@pytest.fixture
def client_for(client):
    def login(user):
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return login


def test_manager_can_add_service_target(users, service, client_for):
    client = client_for(users[INCIDENT_MANAGER])

    response = client.post(
        reverse("admin:incidents_serviceleveltarget_add"),
        {
            "priority": 1,
            "service": service.pk,
            "response_target": "00:10:00",
            "resolution_target": "02:00:00",
        },
    )

    assert response.status_code == 302
    target = ServiceLevelTarget.objects.get(service=service)
    assert target.response_target == datetime.timedelta(minutes=10)


def test_target_rejects_resolution_shorter_than_response(users, client_for):
    client = client_for(users[INCIDENT_MANAGER])

    response = client.post(
        reverse("admin:incidents_serviceleveltarget_add"),
        {"priority": 1, "response_target": "02:00:00", "resolution_target": "01:00:00"},
    )

    assert response.status_code == 200
    assert "cannot be shorter" in response.content.decode()


def test_responder_cannot_change_targets(users, client_for):
    client = client_for(users[RESPONDER])
    target = ServiceLevelTarget.objects.get(priority=1, service=None)

    response = client.post(
        reverse("admin:incidents_serviceleveltarget_change", args=[target.pk]),
        {"priority": 1, "response_target": "01:00:00", "resolution_target": "09:00:00"},
    )

    assert response.status_code == 403


def test_manager_can_add_webhook_subscription(users, client_for):
    client = client_for(users[INCIDENT_MANAGER])

    response = client.post(
        reverse("admin:incidents_webhooksubscription_add"),
        {
            "name": "Pager",
            "url": "https://example.com/hook",
            "events": ["sla.breached", "sla.at_risk"],
            "secret": "a-long-shared-secret",
            "active": "on",
        },
    )

    assert response.status_code == 302


def test_user_sees_only_own_preferences(users, client_for):
    own = NotificationPreference.objects.create(user=users[RESPONDER])
    other = NotificationPreference.objects.create(
        user=users[INCIDENT_MANAGER], email_sla_at_risk=False
    )
    client = client_for(users[RESPONDER])

    listing = client.get(reverse("admin:incidents_notificationpreference_changelist"))
    foreign = client.get(
        reverse("admin:incidents_notificationpreference_change", args=[other.pk])
    )
    mine = client.get(
        reverse("admin:incidents_notificationpreference_change", args=[own.pk])
    )

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert foreign.status_code == 302  # the admin redirects: object not found
    assert mine.status_code == 200


def test_user_cannot_change_another_users_preferences(users, client_for):
    other = NotificationPreference.objects.create(user=users[INCIDENT_MANAGER])
    client = client_for(users[RESPONDER])

    client.post(
        reverse("admin:incidents_notificationpreference_change", args=[other.pk]),
        {"email_sla_at_risk": "", "email_major_incident": "on"},
    )

    other.refresh_from_db()
    assert other.email_sla_at_risk is True


def test_reporter_adds_own_preferences(users, client_for):
    reporter = users[REPORTER]
    client = client_for(reporter)

    response = client.post(
        reverse("admin:incidents_notificationpreference_add"),
        {"email_sla_breached": "on"},
    )

    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=reporter)
    assert preference.email_sla_at_risk is False
    assert preference.email_sla_breached is True


def test_second_preference_row_cannot_be_added(users, client_for):
    existing = NotificationPreference.objects.create(user=users[RESPONDER])
    client = client_for(users[RESPONDER])
    add_url = reverse("admin:incidents_notificationpreference_add")

    response = client.get(add_url)
    posted = client.post(add_url, {})

    change_url = reverse(
        "admin:incidents_notificationpreference_change", args=[existing.pk]
    )
    assert response.status_code == 302
    assert response["Location"] == change_url
    assert posted.status_code == 302
    assert NotificationPreference.objects.filter(user=users[RESPONDER]).count() == 1


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:incidents_serviceleveltarget_changelist",
        "admin:incidents_serviceleveltarget_add",
        "admin:incidents_businesshourscalendar_changelist",
        "admin:incidents_businesshourscalendar_add",
        "admin:incidents_servicelevelevent_changelist",
        "admin:incidents_webhooksubscription_changelist",
        "admin:incidents_webhooksubscription_add",
        "admin:incidents_webhookdelivery_changelist",
        "admin:incidents_notificationpreference_changelist",
        "admin:incidents_notificationpreference_add",
    ],
)
def test_admin_pages_render_for_manager(users, client_for, url_name):
    client = client_for(users[INCIDENT_MANAGER])

    response = client.get(reverse(url_name))

    assert response.status_code == 200


def test_failed_delivery_can_be_sent_again(
    users, client_for, make_receiver, fast_webhooks, django_capture_on_commit_callbacks
):
    receiver = make_receiver([200])
    subscription = WebhookSubscription.objects.create(
        name="Pager", url=receiver.url, events=["sla.breached"], secret="x" * 16
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event="sla.breached",
        payload={},
        status=WebhookDelivery.Status.FAILED,
        attempts=3,
    )
    client = client_for(users[INCIDENT_MANAGER])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:incidents_webhookdelivery_changelist"),
            {"action": "send_again", "_selected_action": [delivery.pk]},
        )

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    assert len(receiver.requests) == 1


def test_clocks_for_display_of_paused_incident(make_incident):
    incident = make_incident("on_hold")

    rows = sla.clocks_for_display(incident, incident.reported_at + HOUR)

    assert [row["kind"] for row in rows] == ["response", "resolution"]
    assert rows[0]["state"] == sla.PAUSED
    assert rows[0]["due_at"] is None
    assert rows[0]["paused"] is True
    assert rows[0]["label"] == "Paused"


def test_clocks_for_display_without_priority(make_incident):
    incident = make_incident("new")

    assert sla.clocks_for_display(incident, incident.reported_at) == []
