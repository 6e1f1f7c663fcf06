"""The permission matrix: which role may run which action, as one table.

Both the admin tests and the API tests generate their cases from this module, so
the expectations live in one place.

- ``ROLE_KEYS``: the actors. Most are role names from incidents.roles, whose
  users the ``users`` fixture of tests/conftest.py creates. "outsider" is a
  responder of another team, also from ``users``. "other_reporter" is a
  reporter who did not report the incident, made by ``make_other_reporter``.
- ``SOURCE_STATE[action]``: the state the incident is walked to first (with
  ``make_incident``, which triages it to the Network team, the responder's team).
  The incident is always reported by the "reporter" user.
- ``EXPECTED[(role_key, action)]``: True when that actor may run that action on
  that incident, False when it must be refused and nothing may change.
- ``action_data(action, fixtures)``: valid form data for the action;
  ``fixtures`` is a dict with "category", "service", "team" and "other_team".
- ``applied(action, incident)``: True when the reloaded incident shows the
  action's effect.
"""

from incidents.roles import (
    AUDITOR,
    INCIDENT_MANAGER,
    REPORTER,
    RESPONDER,
    REVIEWER,
    SERVICE_DESK,
)

OUTSIDER = "outsider"
OTHER_REPORTER = "other_reporter"

ROLE_KEYS = (
    REPORTER,
    SERVICE_DESK,
    RESPONDER,
    INCIDENT_MANAGER,
    REVIEWER,
    AUDITOR,
    OUTSIDER,
    OTHER_REPORTER,
)

SOURCE_STATE = {
    "triage": "new",
    "acknowledge": "triaged",
    "mitigate": "in_progress",
    "investigate": "in_progress",
    "resolve": "in_progress",
    "close": "resolved",
    "reopen": "resolved",
    "hold": "triaged",
    "resume": "on_hold",
    "cancel": "new",
    "reassign": "triaged",
    "declare_major": "triaged",
    "override_priority": "triaged",
}
ACTIONS = tuple(SOURCE_STATE)

# Actions each actor may run on the incident in its SOURCE_STATE; every other
# (actor, action) pair is refused.
ALLOWED = {
    # Reporters confirm or reject the resolution of their own incidents only.
    REPORTER: {"close", "reopen"},
    SERVICE_DESK: {"triage", "hold", "resume", "cancel", "reassign"},
    # The responder is a member of the team the incident is assigned to.
    RESPONDER: {
        "acknowledge",
        "mitigate",
        "investigate",
        "resolve",
        "hold",
        "resume",
        "reassign",
    },
    INCIDENT_MANAGER: set(ACTIONS),
    REVIEWER: set(),
    AUDITOR: set(),
    # Same role as RESPONDER, but a member of another team only.
    OUTSIDER: set(),
    OTHER_REPORTER: set(),
}

EXPECTED = {
    (role, action): action in ALLOWED[role] for role in ROLE_KEYS for action in ACTIONS
}


def action_data(action, fixtures):
    """Return valid form data for the action, as an HTML form would post it."""
    return {
        "triage": {
            "category": fixtures["category"].pk,
            "service": fixtures["service"].pk,
            "impact": 1,
            "urgency": 2,
            "assignment_group": fixtures["team"].pk,
        },
        "acknowledge": {},
        "mitigate": {"workaround": "Moved traffic to the standby link."},
        "investigate": {"investigation_notes": "Reading the switch logs."},
        "resolve": {
            "resolution_code": "hardware",
            "resolution_notes": "Replaced the line card.",
            "recovery_notes": "Traffic is back on the primary path.",
            "root_cause": "A failed line card.",
        },
        "close": {"closure_notes": "The caller confirmed the fix."},
        "reopen": {"reason": "The floor is offline again."},
        "hold": {"hold_reason": "vendor", "hold_note": "Waiting for the vendor."},
        "resume": {"note": "The vendor answered."},
        "cancel": {"cancel_reason": "raised_in_error", "note": "Test call."},
        "reassign": {"assignment_group": fixtures["other_team"].pk},
        "declare_major": {"reason": "Whole building offline."},
        "override_priority": {"priority": 1, "reason": "CEO floor."},
    }[action]


TARGET_STATE = {
    "triage": "triaged",
    "acknowledge": "in_progress",
    "mitigate": "mitigated",
    "investigate": "investigating",
    "resolve": "resolved",
    "close": "closed",
    "reopen": "in_progress",
    "hold": "on_hold",
    "resume": "triaged",
    "cancel": "cancelled",
}


def applied(action, incident):
    """Return True when the reloaded incident shows the action's effect."""
    if action in TARGET_STATE:
        return incident.status == TARGET_STATE[action]
    if action == "reassign":
        # action_data moves it from the "team" fixture to "other_team".
        return incident.reassignment_count == 1
    if action == "declare_major":
        return incident.declared_major
    if action == "override_priority":
        return incident.priority == 1 and incident.priority_overridden
    raise KeyError(action)


def make_other_reporter():
    """Create the "other_reporter" user: a reporter who reported nothing."""
    from tests.conftest import make_user

    return make_user("other_reporter", REPORTER)
