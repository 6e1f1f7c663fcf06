"""The expected permission matrix: which role may run which action.

One table feeds the model-layer, admin and API permission tests, so the three can
never disagree about a rule. Each action is tried on an incident in
``ACTION_SOURCE_STATE[action]`` that was reported by the reporter and is assigned
to the responder's team. "outsider" is a responder of another team.
"""

from incidents.roles import (
    AUDITOR,
    INCIDENT_MANAGER,
    REPORTER,
    RESPONDER,
    REVIEWER,
    SERVICE_DESK,
)

ROLE_KEYS = (REPORTER, SERVICE_DESK, RESPONDER, INCIDENT_MANAGER, REVIEWER, AUDITOR)
ROLE_KEYS_WITH_OUTSIDER = (*ROLE_KEYS, "outsider")

ACTION_SOURCE_STATE = {
    "triage": "new",
    "acknowledge": "triaged",
    "mitigate": "in_progress",
    "investigate": "in_progress",
    "resolve": "in_progress",
    "close": "resolved",
    "reopen": "resolved",
    "hold": "in_progress",
    "resume": "on_hold",
    "cancel": "triaged",
    "reassign": "in_progress",
    "declare_major": "in_progress",
    "override_priority": "in_progress",
}

# The actions each role may run on that incident; every other pair is refused.
ALLOWED = {
    REPORTER: {"close", "reopen"},
    SERVICE_DESK: {"triage", "hold", "resume", "cancel", "reassign"},
    RESPONDER: {
        "acknowledge",
        "mitigate",
        "investigate",
        "resolve",
        "hold",
        "resume",
        "reassign",
    },
    INCIDENT_MANAGER: set(ACTION_SOURCE_STATE),
    REVIEWER: set(),
    AUDITOR: set(),
    "outsider": set(),
}

EXPECTED = {
    (role, action): action in ALLOWED[role]
    for role in ROLE_KEYS_WITH_OUTSIDER
    for action in ACTION_SOURCE_STATE
}


def action_data(action, *, category, service, team, other_team):
    """Return valid form data for the action, by ids and usernames as the forms
    and the API take them."""
    return {
        "triage": {
            "category": category.pk,
            "service": service.pk,
            "impact": 2,
            "urgency": 1,
            "assignment_group": team.pk,
        },
        "acknowledge": {},
        "mitigate": {"workaround": "Traffic moved to the backup link."},
        "investigate": {"investigation_notes": "Looking at the switch logs."},
        "resolve": {
            "resolution_code": "hardware",
            "resolution_notes": "Replaced the line card.",
            "recovery_notes": "Traffic is back on the primary link.",
            "root_cause": "A failed line card.",
        },
        "close": {"closure_notes": "The caller confirmed the fix."},
        "reopen": {"reason": "The link dropped again."},
        "hold": {"hold_reason": "vendor", "hold_note": "Waiting for the vendor."},
        "resume": {"note": "The vendor answered."},
        "cancel": {"cancel_reason": "raised_in_error", "note": "Wrong floor."},
        "reassign": {"assignment_group": other_team.pk},
        "declare_major": {"reason": "Three floors are down."},
        "override_priority": {"priority": 1, "reason": "The CEO's floor."},
    }[action]
