"""Badges and figures for the operator console's templates.

Every badge carries its text: colour helps scanning but is never the only signal.
"""

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from incidents import sla
from incidents.admin_queues import dashboard_figures, queues_for, start_of_today
from incidents.models import OPEN_STATES, Status
from incidents.priority import Priority
from incidents.rules import visible_incidents

register = template.Library()


@register.filter
def words(name):
    """Return an identifier such as declare_major as words: declare major."""
    return name.replace("_", " ")


@register.filter
def sla_time_left(time_left):
    return sla.format_time_left(time_left)


@register.simple_tag
def sla_badge(incident, now=None):
    """Render the service-level badge from the incident's stored due times, with
    no query: the worst of the response and resolution clocks, and its time
    left or overdue."""
    badge = sla.badge_for_stored(incident, now or timezone.now())
    if badge is None:
        return format_html('<span class="ims-sla-none">{}</span>', "no target")
    detail = ""
    if badge["time_left"] is not None:
        detail = sla.format_time_left(badge["time_left"])
    return format_html(
        '<span class="ims-badge ims-sla-{}" title="{} target">{}</span>'
        '<span class="ims-sla-detail"> {}</span>',
        badge["state"],
        badge["kind"],
        badge["label"],
        detail,
    )


@register.simple_tag
def state_badge(incident):
    return format_html(
        '<span class="ims-badge ims-state-{}">{}</span>',
        incident.status,
        incident.get_status_display(),
    )


@register.simple_tag
def priority_badge(incident):
    if incident.priority is None:
        return format_html(
            '<span class="ims-badge ims-priority-none" title="{}">'
            '<span aria-hidden="true">—</span>'
            '<span class="visually-hidden">{}</span></span>',
            "Not triaged yet",
            "Not triaged",
        )
    return format_html(
        '<span class="ims-badge ims-priority-{}" title="{}">P{}</span>',
        incident.priority,
        incident.get_priority_display(),
        incident.priority,
    )


@register.simple_tag
def major_badge(incident):
    if not incident.is_major:
        return ""
    return format_html('<span class="ims-badge ims-major">{}</span>', "Major")


@register.filter
def age(value, now=None):
    """Return the time since a datetime in its largest unit, such as "3 days"."""
    if value is None:
        return ""
    return timesince(value, now or timezone.now(), depth=1)


def changelist_url(query=""):
    url = reverse("admin:incidents_incident_changelist")
    return f"{url}?{query}" if query else url


@register.simple_tag(takes_context=True)
def incident_dashboard(context):
    """Return the dashboard rows for the current user, each figure with the link
    to the filtered list behind it."""
    user = context["request"].user
    now = timezone.now()
    figures = dashboard_figures(user, now)

    by_priority = [
        {
            "label": priority.label,
            "css": f"ims-priority-{priority.value}",
            "count": figures[f"priority_{priority.value}"],
            "url": changelist_url(f"queue=open&priority__exact={priority.value}"),
        }
        for priority in Priority
    ]
    by_priority.append(
        {
            "label": "Not triaged",
            "css": "ims-priority-none",
            "count": figures["priority_none"],
            "url": changelist_url("queue=open&priority__isnull=True"),
        }
    )
    by_state = [
        {
            "label": Status(state).label,
            "css": f"ims-state-{state}",
            "count": figures[f"state_{state}"],
            "url": changelist_url(f"status__exact={state}"),
        }
        for state in OPEN_STATES
    ]
    queues = [
        {
            "key": queue.key,
            "label": queue.label,
            "count": figures[f"queue_{queue.key}"],
            "url": changelist_url(f"queue={queue.key}"),
        }
        for queue in queues_for(user)
    ]
    # The second and last query: the oldest open incident itself, so that the
    # figure links to it.
    oldest = (
        visible_incidents(user)
        .open()
        .order_by("reported_at", "id")
        .only("pk", "number", "title", "reported_at", "version")
        .first()
    )
    return {
        "by_priority": by_priority,
        "by_state": by_state,
        "queues": queues,
        "open_total": sum(row["count"] for row in by_state),
        "open_url": changelist_url("queue=open"),
        "new_today": figures["new_today"],
        "new_today_url": changelist_url(
            urlencode({"reported_at__gte": str(start_of_today(now))})
        ),
        "major_open": figures["queue_major"],
        "major_url": changelist_url("queue=major"),
        "mine": figures["queue_mine"],
        "mine_url": changelist_url("queue=mine"),
        "oldest_open": oldest,
    }
