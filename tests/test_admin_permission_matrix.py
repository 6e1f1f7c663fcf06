"""Every role x every action through the admin's action pages, generated from
the table in tests/permission_matrix.py."""

import pytest
from django.urls import reverse

from incidents import rules
from incidents.models import Incident, TimelineEntry
from tests.admin_support import fast_password_hashing  # noqa: F401
from tests.permission_matrix import (
    EXPECTED,
    OTHER_REPORTER,
    SOURCE_STATE,
    action_data,
    applied,
    make_other_reporter,
)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(("role", "action"), sorted(EXPECTED))
def test_action_through_admin(
    client, users, make_incident, category, service, team, other_team, role, action
):
    incident = make_incident(SOURCE_STATE[action])
    actor = make_other_reporter() if role == OTHER_REPORTER else users[role]
    fixtures = {
        "category": category,
        "service": service,
        "team": team,
        "other_team": other_team,
    }
    entries_before = TimelineEntry.objects.filter(incident=incident).count()
    expected_refusal = rules.transition_refusal(actor, incident, action)
    client.force_login(actor)

    response = client.post(
        reverse("admin:incidents_incident_action", args=[incident.pk, action]),
        {**action_data(action, fixtures), "version": incident.version},
        follow=True,
    )

    after = Incident.objects.get(pk=incident.pk)
    messages = messages_of(response)
    entries_after = TimelineEntry.objects.filter(incident=incident).count()
    if EXPECTED[(role, action)]:
        assert applied(action, after), messages
        assert entries_after == entries_before + 1
        assert any("done" in message for message in messages), messages
    else:
        assert not applied(action, after)
        assert after.version == incident.version
        assert entries_after == entries_before
        if role == OTHER_REPORTER:
            # The incident is not even visible to a reporter who did not report it.
            assert any("doesn’t exist" in message for message in messages), messages
        else:
            assert expected_refusal is not None
            assert any(expected_refusal in message for message in messages), messages
