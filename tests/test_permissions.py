"""The permission matrix at the model and service layer, from one table."""

import pytest
from django_fsm import has_transition_perm

from incidents import rules, services
from incidents.models import Incident
from tests.permission_matrix import (
    EXPECTED,
    OTHER_REPORTER,
    ROLE_KEYS,
    SOURCE_STATE,
    action_data,
    make_other_reporter,
)


@pytest.mark.parametrize(("role", "action"), sorted(EXPECTED))
def test_role_action_matrix(
    role, action, users, make_incident, category, service, team, other_team
):
    incident = make_incident(SOURCE_STATE[action])
    user = make_other_reporter() if role == OTHER_REPORTER else users[role]
    expected = EXPECTED[(role, action)]
    fixtures = {
        "category": category,
        "service": service,
        "team": team,
        "other_team": other_team,
    }
    data = action_data(action, fixtures)

    assert has_transition_perm(getattr(incident, action), user) is expected
    assert (action in rules.available_actions(user, incident)) is expected

    if expected:
        updated = services.run_action(incident, action, user, data)
        assert updated.timeline.first().actor == user
        return

    with pytest.raises(services.ActionRefused) as refusal:
        services.run_action(incident, action, user, data)
    message = str(refusal.value)
    assert "permission" in message or "team" in message or "reported" in message
    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.status == incident.status
    assert fresh.version == incident.version


@pytest.mark.parametrize("role", ROLE_KEYS)
def test_visibility_by_role(role, users, make_incident):
    own = make_incident("new")
    user = make_other_reporter() if role == OTHER_REPORTER else users[role]
    visible = set(rules.visible_incidents(user).values_list("pk", flat=True))
    sees_all = role not in ("Reporter", OTHER_REPORTER)
    assert (own.pk in visible) is (sees_all or own.reporter == user)
    assert rules.can_view(user, own) is (own.pk in visible)


def test_reporter_sees_only_own(users, make_incident):
    mine = make_incident("new")
    theirs = make_incident("new")
    Incident.objects.filter(pk=theirs.pk).update(reporter=users["outsider"])
    visible = rules.visible_incidents(users["Reporter"])
    assert list(visible.values_list("pk", flat=True)) == [mine.pk]


def test_reporter_cannot_close_others_incident(users, make_incident):
    incident = make_incident("resolved")
    Incident.objects.filter(pk=incident.pk).update(reporter=users["outsider"])
    incident.refresh_from_db()
    refusal = rules.transition_refusal(users["Reporter"], incident, "close")
    assert refusal == "You may close only incidents that you reported."


def test_responder_refusal_names_team(users, make_incident):
    incident = make_incident("triaged")
    refusal = rules.transition_refusal(users["outsider"], incident, "acknowledge")
    assert "Network" in refusal
    assert "not a member" in refusal


def test_state_refusal_names_state(users, make_incident):
    incident = make_incident("closed")
    refusal = rules.transition_refusal(users["Incident manager"], incident, "triage")
    assert "closed" in refusal
    assert "new" in refusal


def test_inactive_user_refused(users, make_incident):
    incident = make_incident("new")
    manager = users["Incident manager"]
    manager.is_active = False
    manager.save()
    assert rules.available_actions(manager, incident) == []
    assert rules.visible_incidents(manager).count() == 0


def test_comment_needs_visibility(users, make_incident):
    incident = make_incident("new")
    Incident.objects.filter(pk=incident.pk).update(reporter=users["outsider"])
    incident.refresh_from_db()
    with pytest.raises(services.ActionRefused):
        services.add_comment(incident, users["Reporter"], "Any news?")
    entry = services.add_comment(incident, users["Service desk"], "Calling back.")
    assert entry.kind == "comment"


def test_auditor_edits_nothing(users, make_incident):
    incident = make_incident("in_progress")
    assert rules.editable_fields(users["Auditor"], incident) == set()
    with pytest.raises(services.ActionRefused):
        services.update_fields(incident, users["Auditor"], {"title": "Changed"})
