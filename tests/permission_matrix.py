"""Who may run which action, as a table: the source of the generated
permission tests.

Keys are (role, action): the role names of incidents.roles plus "outsider", a
responder of a team the incident is not assigned to. Each action is tried on an
incident in ACTION_SOURCE_STATE[action], reported by the Reporter user and, from
triage on, assigned to the Responder's team.
"""

from incidents.roles import (
    AUDITOR,
    INCIDENT_MANAGER,
    REPORTER,
    RESPONDER,
    REVIEWER,
    SERVICE_DESK,
)

ROLES = (REPORTER, SERVICE_DESK, RESPONDER, INCIDENT_MANAGER, REVIEWER, AUDITOR)
ROLE_KEYS = (*ROLES, "outsider")

ACTION_SOURCE_STATE = {
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

_ALLOWED = {
    # Their own incident only: confirm or reject its resolution.
    REPORTER: {"close", "reopen"},
    SERVICE_DESK: {"triage", "hold", "resume", "cancel", "reassign"},
    # Incidents assigned to one of their teams.
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

EXPECTED: dict[tuple[str, str], bool] = {
    (role, action): action in _ALLOWED[role]
    for role in ROLE_KEYS
    for action in ACTION_SOURCE_STATE
}
