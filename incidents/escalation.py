"""Escalation of service-level targets that became at risk or breached.

``check_service_levels`` is safe to run every minute and from several hosts. It
creates a ServiceLevelEvent row, unique per incident, target kind and state, in
the same transaction as the timeline entry and the queued notifications. So each
change is escalated once, however often the check runs.
"""

import dataclasses
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from incidents import notifications, sla, webhooks
from incidents.models import (
    Incident,
    ServiceLevelEvent,
    TimelineEntry,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

# Incidents evaluated per batch, to bound memory on large queues.
BATCH_SIZE = 500

_WEBHOOK_EVENTS = {
    ServiceLevelEvent.State.AT_RISK: WebhookEvent.SLA_AT_RISK,
    ServiceLevelEvent.State.BREACHED: WebhookEvent.SLA_BREACHED,
}


@dataclasses.dataclass
class CheckResult:
    checked: int = 0
    escalated: int = 0
    skipped_stale: int = 0


def _pending_changes(incident, clocks, sent):
    """Yield (clock, state) for each target whose current state has not been
    escalated yet. A breach escalated directly also covers at risk."""
    for kind, clock in clocks.items():
        if clock.stopped_at is not None:
            continue
        done = sent.get((incident.pk, kind), set())
        if clock.state == sla.BREACHED and ServiceLevelEvent.State.BREACHED not in done:
            yield clock, ServiceLevelEvent.State.BREACHED
        elif clock.state == sla.AT_RISK and not done:
            yield clock, ServiceLevelEvent.State.AT_RISK


def _unescalated(kind, states=None):
    events = ServiceLevelEvent.objects.filter(incident=OuterRef("pk"), kind=kind)
    if states is not None:
        events = events.filter(state__in=states)
    return ~Exists(events)


def _candidates(now):
    """Return the incidents with a running clock past a stored threshold, unless
    that state of that clock was already escalated.

    Filtering in SQL keeps a run cheap when many open incidents stay breached
    for a long time.
    """
    breached = [ServiceLevelEvent.State.BREACHED]
    pending = Q()
    for kind, stop in (("response", "acknowledged_at"), ("resolution", "resolved_at")):
        running = Q(**{f"{stop}__isnull": True})
        new_breach = Q(**{f"{kind}_due_at__lte": now}) & _unescalated(kind, breached)
        new_risk = Q(**{f"{kind}_at_risk_at__lte": now}) & _unescalated(kind)
        pending |= running & (new_breach | new_risk)
    return sla.breached_or_at_risk(Incident.objects.all(), now).filter(pending)


def check_service_levels(now, *, notify=True):
    """Escalate every target that is at risk or breached at now and was not
    escalated in that state before. Returns a CheckResult with counts.

    With notify=False the changes are recorded (event and timeline entry) but no
    e-mail or webhook is sent, which suits the first run after an import of old
    incidents.
    """
    result = CheckResult()
    # One run reads the recipients and subscriptions once, because they rarely
    # change within a minute and reading them per escalation costs queries.
    context = {
        "notify": notify,
        "recipients": {},
        "subscriptions": webhooks.active_subscriptions() if notify else [],
    }
    ids = list(_candidates(now).order_by("pk").values_list("pk", flat=True))
    targets = sla.targets_by_key()
    for start in range(0, len(ids), BATCH_SIZE):
        batch_ids = ids[start : start + BATCH_SIZE]
        incidents = Incident.objects.filter(pk__in=batch_ids).select_related(
            "assignment_group", "assignee", "service"
        )
        holds = sla.holds_by_incident(batch_ids)
        sent = {}
        for incident_id, kind, state in ServiceLevelEvent.objects.filter(
            incident_id__in=batch_ids
        ).values_list("incident_id", "kind", "state"):
            sent.setdefault((incident_id, kind), set()).add(state)

        for incident in incidents:
            result.checked += 1
            clocks = sla.evaluate_incident(
                incident, now, targets=targets, holds=holds.get(incident.pk, [])
            )
            changes = list(_pending_changes(incident, clocks, sent))
            if not changes:
                # The stored thresholds mark it at risk, but the computation from
                # the timestamps does not, because targets changed since the last
                # recompute.
                if not any(
                    c.state in (sla.AT_RISK, sla.BREACHED) for c in clocks.values()
                ):
                    result.skipped_stale += 1
                continue
            for clock, state in changes:
                if _escalate(incident, clock, state, context):
                    result.escalated += 1
    return result


def _escalate(incident, clock, state, context):
    """Record and notify one change. Returns False if another run did it first."""
    try:
        with transaction.atomic():
            ServiceLevelEvent.objects.create(
                incident=incident,
                kind=clock.kind,
                state=state,
                due_at=clock.due_at or clock.at_risk_at,
            )
            recipients = []
            if context["notify"]:
                recipients = notifications.notify_service_level(
                    incident, clock, state, cache=context["recipients"]
                )
            label = (
                "breached" if state == ServiceLevelEvent.State.BREACHED else "at risk"
            )
            due = clock.due_at.isoformat() if clock.due_at else "paused"
            if context["notify"]:
                outcome = f"Notified {len(recipients)} recipients."
            else:
                outcome = "Recorded without notifications."
            TimelineEntry.objects.create(
                incident=incident,
                kind=TimelineEntry.Kind.SERVICE_LEVEL,
                actor_label="service level check",
                message=(
                    f"{clock.kind.capitalize()} target {label} (target "
                    f"{clock.target}, due {due}). {outcome}"
                ),
                data={
                    "target_kind": clock.kind,
                    "state": state,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None,
                    "elapsed_seconds": int(clock.elapsed.total_seconds()),
                    "target_seconds": int(clock.target.total_seconds()),
                    "recipients": recipients,
                },
            )
            webhooks.emit(
                _WEBHOOK_EVENTS[state],
                {
                    "incident": {
                        "id": incident.pk,
                        "number": incident.number,
                        "title": incident.title,
                        "priority": incident.priority,
                        "status": incident.status,
                        "url": notifications.incident_url(incident),
                    },
                    "target_kind": clock.kind,
                    "state": state,
                    "due_at": clock.due_at,
                    "elapsed_seconds": int(clock.elapsed.total_seconds()),
                },
                subscriptions=context["subscriptions"],
            )
    except IntegrityError:
        logger.info(
            "incident %s: %s %s already escalated by another run",
            incident.number,
            clock.kind,
            state,
        )
        return False
    logger.info(
        "incident %s: %s target %s, notified %s recipients",
        incident.number,
        clock.kind,
        state,
        len(recipients),
    )
    return True
