"""Escalation of service-level targets that became at risk or breached.

``check_service_levels`` is safe to run every minute and from several hosts. It
creates a ServiceLevelEvent row, unique per incident, target kind and state, in
the same transaction as the timeline entry and the queued notifications. So each
change is escalated once, however often the check runs.
"""

import dataclasses
import logging

from django.db import IntegrityError, transaction

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


def check_service_levels(now):
    """Escalate every target that is at risk or breached at now and was not
    escalated in that state before. Returns a CheckResult with counts."""
    result = CheckResult()
    candidates = sla.breached_or_at_risk(Incident.objects.all(), now)
    ids = list(candidates.order_by("pk").values_list("pk", flat=True))
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
                if _escalate(incident, clock, state):
                    result.escalated += 1
    return result


def _escalate(incident, clock, state):
    """Record and notify one change; returns False if another run did it first."""
    try:
        with transaction.atomic():
            ServiceLevelEvent.objects.create(
                incident=incident,
                kind=clock.kind,
                state=state,
                due_at=clock.due_at or clock.at_risk_at,
            )
            recipients = notifications.notify_service_level(incident, clock, state)
            label = (
                "breached" if state == ServiceLevelEvent.State.BREACHED else "at risk"
            )
            due = clock.due_at.isoformat() if clock.due_at else "paused"
            TimelineEntry.objects.create(
                incident=incident,
                kind=TimelineEntry.Kind.SERVICE_LEVEL,
                actor_label="service level check",
                message=(
                    f"{clock.kind.capitalize()} target {label} (target {clock.target}, "
                    f"due {due}); notified {len(recipients)} recipients."
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
