"""Who may see and act on which incident: the one place that decides it.

The admin, the REST API and the model's FSM transitions all call these functions,
so a rule changes in one place only. Model permissions, held through the role
groups, decide which actions a user may take at all. The object rules here narrow
them to incidents the user reported (reporters) or that are assigned to one of the
user's teams (responders). Holders of ``incidents.act_on_any_incident`` are not
narrowed.
"""

# Transitions and state-keeping actions, each guarded by the permission
# ``incidents.<name>_incident``.
ACTIONS = (
    "triage",
    "acknowledge",
    "mitigate",
    "investigate",
    "resolve",
    "close",
    "reopen",
    "hold",
    "resume",
    "cancel",
    "reassign",
    "declare_major",
    "override_priority",
)

# Actions that a reporter may take on incidents they reported, through the
# permission ``incidents.<name>_own_incident``.
OWN_INCIDENT_ACTIONS = ("close", "reopen")


def permission_name(action):
    return f"incidents.{action}_incident"


def _team_ids(user):
    # Cached on the user object: one request checks many incidents and actions.
    if not hasattr(user, "_ims_team_ids"):
        user._ims_team_ids = frozenset(user.teams.values_list("id", flat=True))
    return user._ims_team_ids


def can_see_all(user):
    return user.is_active and (
        user.is_superuser or user.has_perm("incidents.view_all_incidents")
    )


def visible_incidents(user, queryset=None):
    """Narrow a queryset of incidents to the ones the user may see."""
    from incidents.models import Incident

    if queryset is None:
        queryset = Incident.objects.all()
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if can_see_all(user):
        return queryset
    return queryset.filter(reporter=user)


def can_view(user, incident):
    if not user.is_authenticated or not user.is_active:
        return False
    if can_see_all(user):
        return True
    return incident.reporter_id == user.pk


def can_comment(user, incident):
    return user.has_perm("incidents.comment_incident") and can_view(user, incident)


def can_report(user):
    return user.is_active and user.has_perm("incidents.report_incident")


def action_refusal(user, incident, action):
    """Return why the user may not run the action on this incident, or None.

    Checks permissions and the object rules only: whether the incident's state
    allows the action is the FSM's question (see ``transition_refusal``).
    """
    if not user.is_authenticated or not user.is_active:
        return "You must be logged in with an active account."
    if user.has_perm(permission_name(action)):
        if user.has_perm("incidents.act_on_any_incident"):
            return None
        if incident.assignment_group_id is None:
            return (
                f"{incident.number} has no assignment group yet, and you may act "
                "only on incidents assigned to one of your teams."
            )
        if incident.assignment_group_id in _team_ids(user):
            return None
        return (
            f"{incident.number} is assigned to {incident.assignment_group}, and you "
            "are not a member of that team."
        )
    if action in OWN_INCIDENT_ACTIONS and user.has_perm(
        f"incidents.{action}_own_incident"
    ):
        if incident.reporter_id == user.pk:
            return None
        return f"You may {action} only incidents that you reported."
    return f"Your role does not include the permission to {action_label(action)}."


def action_label(action):
    return action.replace("_", " ") + " incidents"


def transition_refusal(user, incident, action):
    """Return why the action cannot run now, naming the rule, or None if it can.

    The FSM is asked first (is the action possible from this state?), then the
    permissions. Data the action needs is checked later by its form.
    """
    method = getattr(incident, action)
    meta = method._django_fsm
    if not meta.has_transition(incident.status):
        from incidents.models import Status

        sources = sorted(
            Status(state).label.lower()
            for state in meta.transitions
            if state not in ("*", "+")
        )
        return (
            f"{incident.number} is {incident.get_status_display().lower()}; "
            f"{action.replace('_', ' ')} is possible only from: {', '.join(sources)}."
        )
    if not meta.conditions_met(incident, incident.status):
        return CONDITION_REFUSALS.get(action, f"{action} is not possible now.").format(
            number=incident.number
        )
    return action_refusal(user, incident, action)


# Plain-words reasons for the FSM conditions declared on the model's transitions.
CONDITION_REFUSALS = {
    "declare_major": "{number} is already a major incident.",
}


def available_actions(user, incident):
    """Return the names of the actions the user may run on the incident now."""
    return [
        action
        for action in ACTIONS
        if transition_refusal(user, incident, action) is None
    ]


def fsm_permission(action):
    """Return a django-fsm ``permission`` callable that applies these rules."""

    def check(instance, user):
        return action_refusal(user, instance, action) is None

    check.__name__ = f"may_{action}"
    return check


# Fields that can be edited outside transitions, by the stage that owns them: the
# action whose permission is needed and the states in which they are editable.
STAGE_FIELDS = (
    (
        "report",
        ("title", "description", "started_at", "detected_at", "location"),
        ("new", "triaged", "in_progress", "mitigated", "investigating", "on_hold"),
    ),
    (
        "triage",
        ("category", "service", "impact", "urgency"),
        ("triaged", "in_progress", "mitigated", "investigating", "on_hold"),
    ),
    ("mitigate", ("workaround",), ("mitigated", "investigating")),
    ("investigate", ("investigation_notes",), ("investigating", "mitigated")),
    (
        "resolve",
        ("resolution_code", "resolution_notes", "recovery_notes", "root_cause"),
        ("resolved",),
    ),
)


def editable_fields(user, incident):
    """Return the set of field names the user may edit on the incident now."""
    if not user.is_active or not user.has_perm("incidents.change_incident"):
        return set()
    fields = set()
    for stage, names, states in STAGE_FIELDS:
        if incident.status not in states:
            continue
        if stage == "report":
            # Whoever works on the incident may correct its description.
            allowed = any(
                action_refusal(user, incident, action) is None
                for action in ("triage", "acknowledge", "resolve")
            )
        else:
            allowed = action_refusal(user, incident, stage) is None
        if allowed:
            fields.update(names)
    return fields
