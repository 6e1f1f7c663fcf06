"""Signal receivers that keep due times current and emit notifications and
webhooks when incidents change. Connected in IncidentsConfig.ready()."""

import contextlib
import contextvars
import logging

from django.db.models.signals import post_save
from django_fsm.signals import post_transition

from incidents import notifications, sla, webhooks
from incidents.models import Incident, WebhookEvent
from incidents.priority import Priority

logger = logging.getLogger(__name__)

_silenced = contextvars.ContextVar("incidents_sla_hooks_silenced", default=False)


@contextlib.contextmanager
def silenced():
    """Send no notification and no webhook for incident changes made inside the
    block; due times are still refreshed.

    For bulk work on history, such as an import of old incidents, which must not
    e-mail the incident managers about every past P1.
    """
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


# Actions after which the clocks may have moved: every status change, plus the
# state-keeping actions that change the priority.
_KEEPING_ACTIONS_THAT_MOVE_CLOCKS = {"override_priority"}


def incident_payload(incident):
    """Return the incident's fields that webhook receivers get, as JSON values."""
    return {
        "id": incident.pk,
        "number": incident.number,
        "title": incident.title,
        "status": incident.status,
        "priority": incident.priority,
        "major": incident.is_major,
        "service": incident.service.name if incident.service_id else None,
        "assignment_group": (
            incident.assignment_group.name if incident.assignment_group_id else None
        ),
        "reported_at": incident.reported_at,
        "response_due_at": incident.response_due_at,
        "resolution_due_at": incident.resolution_due_at,
        "url": notifications.incident_url(incident),
    }


def on_transition(sender, instance, name, source, target, **kwargs):
    """Refresh the due times on the instance (saved by the caller) and queue the
    notifications and webhooks of this transition."""
    if "exception" in kwargs:
        return
    if target is not None or name in _KEEPING_ACTIONS_THAT_MOVE_CLOCKS:
        sla.refresh_due_times(instance)
    if _silenced.get():
        return

    reason = _major_reason(instance, name)
    if reason:
        notifications.notify_major_incident(instance, reason)
        logger.info("incident %s became major (%s)", instance.number, reason)

    webhooks.emit(
        WebhookEvent.INCIDENT_TRANSITIONED,
        lambda: {
            "incident": incident_payload(instance),
            "transition": name,
            "from_state": source,
            "to_state": instance.status,
        },
    )


def _major_reason(instance, name):
    """Return why this action made the incident major, or None if it did not."""
    if name == "declare_major":
        return "declared major"
    if instance.priority != Priority.P1 or instance.declared_major:
        return None
    if name == "triage":
        return "triaged as P1"
    if name == "override_priority":
        # The handler runs before the save, so the row still has the old priority.
        stored = (
            Incident.objects.filter(pk=instance.pk)
            .values_list("priority", flat=True)
            .first()
        )
        if stored != Priority.P1:
            return "priority raised to P1"
    return None


def on_incident_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw and not _silenced.get():
        webhooks.emit(
            WebhookEvent.INCIDENT_CREATED,
            lambda: {"incident": incident_payload(instance)},
        )


def connect():
    post_transition.connect(
        on_transition, sender=Incident, dispatch_uid="incidents.sla_hooks.transition"
    )
    post_save.connect(
        on_incident_saved, sender=Incident, dispatch_uid="incidents.sla_hooks.saved"
    )
