"""The roles, as Django groups, and the permissions each one holds.

``ROLE_PERMISSIONS`` is the single table of who may do what; ``setup_roles`` makes
the groups match it, and the tests generate their permission matrix from it.
Permissions are "app_label.codename".
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

REPORTER = "Reporter"
SERVICE_DESK = "Service desk"
RESPONDER = "Responder"
INCIDENT_MANAGER = "Incident manager"
REVIEWER = "Reviewer"
AUDITOR = "Auditor"

ROLES = (REPORTER, SERVICE_DESK, RESPONDER, INCIDENT_MANAGER, REVIEWER, AUDITOR)

_REFERENCE_VIEW = (
    "incidents.view_category",
    "incidents.view_service",
    "incidents.view_team",
)

# Every user may see and edit their own notification preferences; the admin
# limits each user to their own row.
_OWN_PREFERENCES = (
    "incidents.add_notificationpreference",
    "incidents.change_notificationpreference",
    "incidents.view_notificationpreference",
)

_REPORTER = (
    "incidents.add_incident",
    "incidents.view_incident",
    "incidents.report_incident",
    "incidents.comment_incident",
    "incidents.close_own_incident",
    "incidents.reopen_own_incident",
    "incidents.view_timelineentry",
    *_REFERENCE_VIEW,
    *_OWN_PREFERENCES,
)

_STAFF_VIEW = (
    "incidents.view_incident",
    "incidents.view_all_incidents",
    "incidents.view_timelineentry",
    "incidents.view_holdperiod",
    "incidents.view_serviceleveltarget",
    *_REFERENCE_VIEW,
    *_OWN_PREFERENCES,
)

_REVIEWS_VIEW = (
    "reviews.view_postincidentreview",
    "reviews.view_actionitem",
    "reviews.view_tag",
)

ROLE_PERMISSIONS = {
    REPORTER: _REPORTER,
    SERVICE_DESK: (
        *_REPORTER,
        *_STAFF_VIEW,
        "incidents.change_incident",
        "incidents.act_on_any_incident",
        "incidents.triage_incident",
        "incidents.hold_incident",
        "incidents.resume_incident",
        "incidents.cancel_incident",
        "incidents.reassign_incident",
    ),
    RESPONDER: (
        *_STAFF_VIEW,
        "incidents.add_incident",
        "incidents.report_incident",
        "incidents.comment_incident",
        "incidents.change_incident",
        "incidents.acknowledge_incident",
        "incidents.mitigate_incident",
        "incidents.investigate_incident",
        "incidents.hold_incident",
        "incidents.resume_incident",
        "incidents.resolve_incident",
        "incidents.reassign_incident",
        *_REVIEWS_VIEW,
        "reviews.update_own_actionitem",
    ),
    INCIDENT_MANAGER: (
        *_STAFF_VIEW,
        "incidents.add_incident",
        "incidents.change_incident",
        "incidents.report_incident",
        "incidents.comment_incident",
        "incidents.act_on_any_incident",
        "incidents.triage_incident",
        "incidents.acknowledge_incident",
        "incidents.mitigate_incident",
        "incidents.investigate_incident",
        "incidents.resolve_incident",
        "incidents.close_incident",
        "incidents.reopen_incident",
        "incidents.hold_incident",
        "incidents.resume_incident",
        "incidents.cancel_incident",
        "incidents.reassign_incident",
        "incidents.declare_major_incident",
        "incidents.override_priority_incident",
        "incidents.add_category",
        "incidents.change_category",
        "incidents.add_service",
        "incidents.change_service",
        "incidents.add_team",
        "incidents.change_team",
        "incidents.add_serviceleveltarget",
        "incidents.change_serviceleveltarget",
        "incidents.delete_serviceleveltarget",
        "incidents.view_businesshourscalendar",
        "incidents.add_businesshourscalendar",
        "incidents.change_businesshourscalendar",
        "incidents.view_businessholiday",
        "incidents.add_businessholiday",
        "incidents.change_businessholiday",
        "incidents.delete_businessholiday",
        "incidents.view_servicelevelevent",
        "incidents.view_webhooksubscription",
        "incidents.add_webhooksubscription",
        "incidents.change_webhooksubscription",
        "incidents.delete_webhooksubscription",
        "incidents.view_webhookdelivery",
        "incidents.change_webhookdelivery",
        *_REVIEWS_VIEW,
    ),
    REVIEWER: (
        *_STAFF_VIEW,
        *_REVIEWS_VIEW,
        "reviews.add_postincidentreview",
        "reviews.change_postincidentreview",
        "reviews.submit_review",
        "reviews.return_review",
        "reviews.publish_review",
        "reviews.add_actionitem",
        "reviews.change_actionitem",
        "reviews.add_tag",
        "reviews.change_tag",
        "reviews.view_trendreport",
        "reviews.build_trendreport",
    ),
    AUDITOR: (
        *_STAFF_VIEW,
        *_REVIEWS_VIEW,
        "reviews.view_trendreport",
        "incidents.view_businesshourscalendar",
        "incidents.view_businessholiday",
        "incidents.view_servicelevelevent",
        "incidents.view_webhooksubscription",
        "incidents.view_webhookdelivery",
    ),
}


def setup_roles(stdout=None):
    """Create the role groups and set each one's permissions to exactly the table's.

    Idempotent: a second run changes nothing. Raises LookupError naming a
    permission that does not exist, before changing any group.
    """
    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    found = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    missing = sorted(wanted - found.keys())
    if missing:
        raise LookupError(
            f"Unknown permissions: {', '.join(missing)}. Run migrate first."
        )

    with transaction.atomic():
        for role, perms in ROLE_PERMISSIONS.items():
            group, created = Group.objects.get_or_create(name=role)
            group.permissions.set([found[perm] for perm in perms])
            if stdout is not None:
                verb = "Created" if created else "Checked"
                stdout.write(f"{verb} role {role} with {len(set(perms))} permissions.")
