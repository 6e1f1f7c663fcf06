"""Escalation by check_service_levels, and major-incident notifications."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from incidents import services, sla, sla_hooks
from incidents.escalation import check_service_levels
from incidents.models import (
    Incident,
    NotificationPreference,
    ServiceLevelEvent,
    ServiceLevelTarget,
    TimelineEntry,
    WebhookDelivery,
    WebhookSubscription,
)
from incidents.roles import INCIDENT_MANAGER, RESPONDER

HOUR = datetime.timedelta(hours=1)
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def addressed(users, team):
    """Give the manager, the responder and the team e-mail addresses."""
    users[INCIDENT_MANAGER].email = "manager@example.com"
    users[INCIDENT_MANAGER].save()
    users[RESPONDER].email = "responder@example.com"
    users[RESPONDER].save()
    team.email = "network@example.com"
    team.save()
    return users


@pytest.fixture
def subscription(db, make_receiver, fast_webhooks):
    receiver = make_receiver([200])
    subscription = WebhookSubscription.objects.create(
        name="Pager bridge",
        url=receiver.url,
        events=["sla.at_risk", "sla.breached"],
        secret="a-long-shared-secret",
    )
    subscription.receiver = receiver
    return subscription


def age(incident, delta):
    """Move the incident's report time back by delta and recompute its due times."""
    Incident.objects.filter(pk=incident.pk).update(
        reported_at=incident.reported_at - delta
    )
    sla.recompute_all()
    return Incident.objects.get(pk=incident.pk)


def sla_entries(incident):
    return TimelineEntry.objects.filter(
        incident=incident, kind=TimelineEntry.Kind.SERVICE_LEVEL
    )


def test_command_twice_notifies_once(
    make_incident, addressed, subscription, django_capture_on_commit_callbacks
):
    # P3: response target 4 h, so 5 h after the report it is breached.
    incident = age(make_incident("triaged"), 5 * HOUR)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("check_service_levels")
    mails_after_first = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("check_service_levels")

    assert mails_after_first == 3
    assert len(mail.outbox) == 3
    assert WebhookDelivery.objects.count() == 1
    assert len(subscription.receiver.requests) == 1
    assert sla_entries(incident).count() == 1


def test_at_risk_then_breached_records_two_entries(
    make_incident, addressed, subscription, django_capture_on_commit_callbacks
):
    incident = make_incident("triaged")
    reported = incident.reported_at

    with django_capture_on_commit_callbacks(execute=True):
        first = check_service_levels(reported + 3 * HOUR + MINUTE)
        second = check_service_levels(reported + 3 * HOUR + 2 * MINUTE)
        third = check_service_levels(reported + 4 * HOUR + MINUTE)

    states = list(
        sla_entries(incident).order_by("created_at").values_list("data", flat=True)
    )
    assert (first.escalated, second.escalated, third.escalated) == (1, 0, 1)
    assert [d["state"] for d in states] == ["at_risk", "breached"]
    assert [d["target_kind"] for d in states] == ["response", "response"]
    assert WebhookDelivery.objects.count() == 2
    assert [r["headers"]["x-ims-event"] for r in subscription.receiver.requests] == [
        "sla.at_risk",
        "sla.breached",
    ]


def test_breach_found_late_skips_at_risk(make_incident, addressed):
    incident = make_incident("triaged")

    check_service_levels(incident.reported_at + 5 * HOUR)
    check_service_levels(incident.reported_at + 5 * HOUR + MINUTE)

    events = set(
        ServiceLevelEvent.objects.filter(incident=incident).values_list("kind", "state")
    )
    assert events == {("response", "breached")}


def test_notification_goes_to_team_members_and_managers(
    make_incident, addressed, django_capture_on_commit_callbacks
):
    incident = make_incident("triaged")

    with django_capture_on_commit_callbacks(execute=True):
        check_service_levels(incident.reported_at + 5 * HOUR)

    recipients = sorted(address for m in mail.outbox for address in m.to)
    assert recipients == [
        "manager@example.com",
        "network@example.com",
        "responder@example.com",
    ]
    assert incident.number in mail.outbox[0].subject
    assert "BREACHED" in mail.outbox[0].subject


def test_opted_out_user_gets_no_mail(
    make_incident, addressed, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=addressed[RESPONDER], email_sla_breached=False
    )
    incident = make_incident("triaged")

    with django_capture_on_commit_callbacks(execute=True):
        check_service_levels(incident.reported_at + 5 * HOUR)

    recipients = sorted(address for m in mail.outbox for address in m.to)
    assert recipients == ["manager@example.com", "network@example.com"]


def test_acknowledged_response_is_not_escalated(make_incident, addressed):
    incident = make_incident("in_progress")

    result = check_service_levels(incident.reported_at + 5 * HOUR)

    assert result.escalated == 0
    assert not sla_entries(incident).exists()


def test_incident_on_hold_is_not_escalated(make_incident, addressed):
    incident = make_incident("on_hold")

    result = check_service_levels(incident.reported_at + 5 * HOUR)

    assert result.escalated == 0


def test_resolution_breach_is_escalated_separately(make_incident, addressed):
    # P3 resolution target is 3 days; the response was met by acknowledging.
    incident = make_incident("in_progress")

    check_service_levels(incident.reported_at + datetime.timedelta(days=3, hours=1))

    events = set(
        ServiceLevelEvent.objects.filter(incident=incident).values_list("kind", "state")
    )
    assert events == {("resolution", "breached")}


def test_check_skips_escalated_incidents_in_sql(
    make_incident, addressed, django_assert_max_num_queries
):
    first = make_incident("triaged")
    for _ in range(3):
        make_incident("triaged")
    now = first.reported_at + 5 * HOUR
    # Pre-mark every breach, so that nothing is left to escalate.
    for incident in Incident.objects.all():
        ServiceLevelEvent.objects.create(
            incident=incident, kind="response", state="breached", due_at=now
        )

    # Subscriptions, candidate ids and targets; no incident is read.
    with django_assert_max_num_queries(3):
        result = check_service_levels(now)

    assert result.checked == 0
    assert result.escalated == 0


def test_at_risk_marker_keeps_incident_candidate_for_breach(make_incident, addressed):
    incident = make_incident("triaged")
    ServiceLevelEvent.objects.create(
        incident=incident,
        kind="response",
        state="at_risk",
        due_at=incident.response_due_at,
    )

    at_risk_only = check_service_levels(incident.reported_at + 3.5 * HOUR)
    breached = check_service_levels(incident.reported_at + 5 * HOUR)

    assert at_risk_only.checked == 0
    assert breached.escalated == 1


def test_declare_major_notifies_incident_managers(
    make_incident, addressed, django_capture_on_commit_callbacks
):
    incident = make_incident("triaged")

    with django_capture_on_commit_callbacks(execute=True):
        services.run_action(
            incident,
            "declare_major",
            addressed[INCIDENT_MANAGER],
            {"reason": "All floors are down."},
        )

    assert [m.to for m in mail.outbox] == [["manager@example.com"]]
    assert "Major incident" in mail.outbox[0].subject


def test_triage_as_p1_notifies_incident_managers(
    make_incident, addressed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_incident("triaged", impact=1, urgency=1)

    assert [m.to for m in mail.outbox] == [["manager@example.com"]]


def test_triage_below_p1_notifies_nobody(
    make_incident, addressed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_incident("triaged", impact=2, urgency=2)

    assert mail.outbox == []


def test_stale_due_times_are_not_escalated(make_incident, addressed):
    incident = make_incident("triaged")
    # Loosen the target without recomputing: the stored threshold is stale.
    ServiceLevelTarget.objects.filter(priority=3, service=None).update(
        response_target=24 * HOUR, resolution_target=72 * HOUR
    )

    result = check_service_levels(incident.reported_at + 5 * HOUR)

    assert result.escalated == 0
    assert result.skipped_stale == 1


def test_command_reports_counts(make_incident, addressed, capsys):
    age(make_incident("triaged"), 5 * HOUR)

    call_command("check_service_levels")

    assert "escalated 1 changes" in capsys.readouterr().out


def test_event_records_due_time(make_incident, addressed):
    incident = make_incident("triaged")
    now = timezone.now() + 5 * HOUR

    check_service_levels(now)

    event = ServiceLevelEvent.objects.get(incident=incident)
    assert event.due_at == incident.response_due_at


def test_no_notify_records_without_sending(
    make_incident, addressed, subscription, django_capture_on_commit_callbacks
):
    incident = age(make_incident("triaged"), 5 * HOUR)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("check_service_levels", "--no-notify")
        call_command("check_service_levels")

    assert sla_entries(incident).count() == 1
    assert "without notifications" in sla_entries(incident).get().message
    assert mail.outbox == []
    assert WebhookDelivery.objects.count() == 0


def test_escalation_reads_recipients_once_per_run(
    make_incident, addressed, django_assert_max_num_queries
):
    first = make_incident("triaged")
    for _ in range(3):
        make_incident("triaged")

    # Six reads: subscriptions, candidate ids, targets, incidents, hold periods
    # and markers. Per escalation a savepoint, the marker, the timeline
    # entry and the release; once per run the team's and the managers' addresses.
    with django_assert_max_num_queries(6 + 4 * 4 + 2):
        result = check_service_levels(first.reported_at + 5 * HOUR)

    assert result.escalated == 4


def test_silenced_block_sends_nothing_but_sets_due_times(
    make_incident, addressed, subscription, django_capture_on_commit_callbacks
):
    subscription.events = ["incident.created", "incident.transitioned"]
    subscription.save()

    with django_capture_on_commit_callbacks(execute=True):
        with sla_hooks.silenced():
            incident = make_incident("triaged", impact=1, urgency=1)

    assert incident.response_due_at == incident.reported_at + 15 * MINUTE
    assert mail.outbox == []
    assert WebhookDelivery.objects.count() == 0
