"""Work queues of the operator console and the dashboard's figures.

Each queue is a function returning a ``Q`` for one user at one moment, so the
incident list can filter by it and ``queue_counts`` can count every queue in one
aggregate query with ``Count(filter=...)``.
"""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from incidents import rules, sla
from incidents.models import MAJOR_Q, OPEN_STATES, Status, Team
from incidents.priority import Priority

# Every queue lies within these states, so the counts read only their rows through
# the status index. Closed and cancelled incidents, most of a mature table, are
# skipped. A queue that needs other states must widen this.
ACTIVE_STATES = (*OPEN_STATES, Status.RESOLVED)

# States in which the incident is still waiting for a fix after triage.
TRIAGED_OPEN_STATES = (
    Status.TRIAGED,
    Status.IN_PROGRESS,
    Status.MITIGATED,
    Status.INVESTIGATING,
    Status.ON_HOLD,
)


def open_q(user, now):
    return Q(status__in=OPEN_STATES)


def mine_q(user, now):
    return Q(assignee=user.pk, status__in=OPEN_STATES)


def my_team_q(user, now):
    # A subquery rather than the user's team ids, so counting needs no extra query.
    team_ids = Team.members.through.objects.filter(user=user.pk).values("team_id")
    return Q(assignment_group__in=team_ids, status__in=OPEN_STATES)


def unassigned_q(user, now):
    return Q(status__in=TRIAGED_OPEN_STATES, assignee__isnull=True)


def major_q(user, now):
    return Q(status__in=OPEN_STATES) & MAJOR_Q


def breached_or_at_risk_q(user, now):
    """Match incidents whose response or resolution clock is at risk or breached,
    on the due times stored by the service-level module."""
    return sla.breached_or_at_risk_q(now)


def on_hold_q(user, now):
    return Q(status=Status.ON_HOLD)


def awaiting_closure_q(user, now):
    return Q(status=Status.RESOLVED)


def my_reports_q(user, now):
    return Q(reporter=user.pk) & ~Q(status__in=(Status.CLOSED, Status.CANCELLED))


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    condition: object
    # Whether the queue makes sense for users who see only their own reports.
    for_reporters: bool = False


QUEUES = (
    Queue("mine", "My incidents", mine_q),
    Queue("my_team", "My team's open incidents", my_team_q),
    Queue("unassigned", "Unassigned", unassigned_q),
    Queue("major", "Major incidents", major_q),
    Queue("breached", "Breached or at risk", breached_or_at_risk_q),
    Queue("on_hold", "On hold", on_hold_q, for_reporters=True),
    Queue("awaiting_closure", "Resolved, awaiting closure", awaiting_closure_q, True),
    Queue("my_reports", "My open reports", my_reports_q, for_reporters=True),
    Queue("open", "All open", open_q, for_reporters=True),
)
QUEUES_BY_KEY = {queue.key: queue for queue in QUEUES}


def queues_for(user):
    """Return the queues worth showing to the user."""
    if rules.can_see_all(user):
        return [queue for queue in QUEUES if queue.key != "my_reports"]
    return [queue for queue in QUEUES if queue.for_reporters]


def queue_q(key, user, now=None):
    """Return the filter of the queue named key; raises KeyError for an unknown
    queue."""
    return QUEUES_BY_KEY[key].condition(user, now or timezone.now())


def start_of_today(now):
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def dashboard_figures(user, now=None):
    """Return the dashboard's counts for the incidents the user may see, computed
    in one aggregate query.

    Keys: ``queue_<key>`` for each queue, ``priority_<n>`` for open incidents by
    priority (``priority_none`` before triage), ``state_<status>`` for open
    incidents by state, and ``new_today``.
    """
    now = now or timezone.now()
    is_open = Q(status__in=OPEN_STATES)
    aggregates = {
        f"queue_{queue.key}": Count("pk", filter=queue.condition(user, now))
        for queue in QUEUES
    }
    for priority in Priority:
        aggregates[f"priority_{priority.value}"] = Count(
            "pk", filter=is_open & Q(priority=priority)
        )
    aggregates["priority_none"] = Count("pk", filter=is_open & Q(priority__isnull=True))
    for state in OPEN_STATES:
        aggregates[f"state_{state.value}"] = Count("pk", filter=Q(status=state))
    reported_today = Q(reported_at__gte=start_of_today(now))
    aggregates["new_today"] = Count("pk", filter=reported_today)
    rows = rules.visible_incidents(user).filter(
        Q(status__in=ACTIVE_STATES) | reported_today
    )
    return rows.order_by().aggregate(**aggregates)


def queue_counts(user, now=None):
    """Return {queue key: count} for the user's queues, in one aggregate query."""
    now = now or timezone.now()
    queues = queues_for(user)
    aggregates = {
        queue.key: Count("pk", filter=queue.condition(user, now)) for queue in queues
    }
    rows = rules.visible_incidents(user).filter(status__in=ACTIVE_STATES)
    return rows.order_by().aggregate(**aggregates)
