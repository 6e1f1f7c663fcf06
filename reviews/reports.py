"""Build and store trend reports: the figures of one period, its trend over the
previous periods and the change against the period before it."""

import datetime
import logging
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, F, Q
from django.db.models.functions import Trunc
from django.utils import timezone

from incidents.models import Incident
from reviews import metrics
from reviews.models import TrendReport
from reviews.periods import Period, local_zone, period_starting, trailing_periods

logger = logging.getLogger(__name__)

TREND_PERIODS = 12

# Figures compared with the previous period; durations compare their means.
HEADLINE_COUNTS = (
    "reported",
    "resolved",
    "closed",
    "backlog_end",
    "reopened",
    "reopen_rate",
    "reassignment_rate",
    "reviews_completed",
    "action_items_created",
    "action_items_done",
    "action_items_overdue",
)
HEADLINE_MEANS = ("time_to_acknowledge", "time_to_resolve", "time_to_resolve_net")
HEADLINE_SHARES = ("sla_response_met", "sla_resolution_met")


def sla_compliance(start, end):
    """Return the shares of incidents that met their response and resolution
    targets in the period, as {"response": share, "resolution": share}, in one
    query.

    The response share is over incidents acknowledged in the period, the
    resolution share over incidents resolved in it, each counting only incidents
    with a target. A share is None when no incident counts. The due times are the
    ones the service-level module stores, so holds and business hours count here
    exactly as they do on the incident page.
    """
    acknowledged = metrics.in_period("acknowledged_at", start, end) & Q(
        response_due_at__isnull=False
    )
    resolved = metrics.in_period("resolved_at", start, end) & Q(
        resolution_due_at__isnull=False
    )
    figures = Incident.objects.order_by().aggregate(
        response_total=Count("pk", filter=acknowledged),
        response_met=Count(
            "pk", filter=acknowledged & Q(acknowledged_at__lte=F("response_due_at"))
        ),
        resolution_total=Count("pk", filter=resolved),
        resolution_met=Count(
            "pk", filter=resolved & Q(resolved_at__lte=F("resolution_due_at"))
        ),
    )
    return {
        "response": _share(figures["response_met"], figures["response_total"]),
        "resolution": _share(figures["resolution_met"], figures["resolution_total"]),
    }


def _share(part, total):
    if not total:
        return None
    return round(part / total, 4)


def headline(period):
    """Return the figures of a period that the next period is compared with."""
    figures = metrics.counts(period.start, period.end)
    figures.update(metrics.learning(period.start, period.end, period.end_day))
    incidents = Incident.objects.order_by()
    figures["time_to_acknowledge"] = _mean(
        incidents.filter(
            metrics.in_period("acknowledged_at", period.start, period.end)
        ),
        metrics.time_to_acknowledge(),
    )
    resolved = incidents.filter(
        metrics.in_period("resolved_at", period.start, period.end)
    )
    figures["time_to_resolve"] = _mean(resolved, metrics.time_to_resolve())
    shares = sla_compliance(period.start, period.end)
    figures["sla_response_met"] = shares["response"]
    figures["sla_resolution_met"] = shares["resolution"]
    figures["time_to_resolve_net"] = _mean(resolved, metrics.time_to_resolve_net())
    return figures


def _mean(queryset, seconds):
    value = queryset.annotate(seconds=seconds).aggregate(mean=Avg("seconds"))["mean"]
    return None if value is None else round(float(value), 3)


def _delta(current, previous):
    if current is None or previous is None:
        return None
    return round(current - previous, 4)


def trend(period):
    """Return volume, mean TTA and mean TTR for the TREND_PERIODS periods ending
    with this one, oldest first, grouped by the database in local time."""
    periods = trailing_periods(period, TREND_PERIODS)
    start, end = periods[0].start, period.end
    zone = local_zone()
    incidents = Incident.objects.order_by()

    def grouped(field, **aggregates):
        bucket = Trunc(field, period.kind, tzinfo=zone)
        rows = (
            incidents.filter(metrics.in_period(field, start, end))
            .annotate(bucket=bucket)
            .values("bucket")
            .annotate(**aggregates)
        )
        return {timezone.localtime(row["bucket"], zone).date(): row for row in rows}

    reported = grouped("reported_at", count=Count("pk"))
    resolved = grouped(
        "resolved_at",
        count=Count("pk"),
        mttr=Avg(metrics.SecondsBetween(F("resolved_at"), F("reported_at"))),
    )
    acknowledged = grouped(
        "acknowledged_at",
        mtta=Avg(metrics.SecondsBetween(F("acknowledged_at"), F("reported_at"))),
    )
    points = []
    for each in periods:
        day = each.first_day
        shares = sla_compliance(each.start, each.end)
        points.append(
            {
                "label": each.label,
                "start": each.start.isoformat(),
                "end": each.end.isoformat(),
                "reported": reported.get(day, {}).get("count", 0),
                "resolved": resolved.get(day, {}).get("count", 0),
                "mtta": metrics._round(acknowledged.get(day, {}).get("mtta")),
                "mttr": metrics._round(resolved.get(day, {}).get("mttr")),
                "sla_response_met": shares["response"],
                "sla_resolution_met": shares["resolution"],
            }
        )
    return points


def build_report_data(period):
    """Return the whole report of a period as a JSON-ready dict."""
    start, end = period.start, period.end
    top = settings.IMS_REPORT_TOP_N
    data = {
        "period_kind": period.kind,
        "period_label": period.label,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "time_zone": settings.TIME_ZONE,
        "period_hours": round(period.duration.total_seconds() / 3600, 2),
    }
    data.update(metrics.counts(start, end))
    data.update(metrics.breakdowns(start, end))
    data.update(metrics.durations(start, end))
    shares = sla_compliance(start, end)
    data["sla_response_met"] = shares["response"]
    data["sla_resolution_met"] = shares["resolution"]
    data["mtbf_by_service"] = metrics.mtbf_by_service(start, end, top)
    data["top_recurring"] = metrics.recurring_pairs(start, end, top)
    data.update(metrics.learning(start, end, period.end_day))

    previous = headline(period.previous())
    current = {name: data[name] for name in HEADLINE_COUNTS}
    current.update({name: data[name]["mean"] for name in HEADLINE_MEANS})
    current.update({name: data[name] for name in HEADLINE_SHARES})
    data["previous"] = {"period_label": period.previous().label, **previous}
    data["change"] = {
        name: _delta(value, previous[name]) for name, value in current.items()
    }
    data["trend"] = trend(period)
    return data


def requested_period(kind, first_day, now=None):
    """Return the period of this kind starting on first_day, for a report that a
    user asked for. Raises ValueError naming the problem: a day that starts no
    such period, a period whose trend reaches outside years 1 to 9999 in UTC,
    or a period that has not started yet."""
    period = period_starting(kind, first_day)
    try:
        # The trend looks back TREND_PERIODS periods and each bound is stored
        # in UTC, so every one of those bounds must exist.
        for each in trailing_periods(period, TREND_PERIODS):
            each.start.astimezone(datetime.UTC)
            each.end.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        raise ValueError(
            f"{first_day.isoformat()} is outside the supported range: the {kind} "
            f"and the {TREND_PERIODS - 1} before it must fall within years 1 to "
            "9999 in UTC."
        ) from None
    if period.start > (now or timezone.now()):
        raise ValueError(
            f"The {kind} starting {first_day.isoformat()} has not started yet; "
            "choose a period that starts today or earlier."
        )
    return period


def build_report(period, *, user=None, now=None):
    """Build the period's report and store it, replacing an earlier build of the
    same period. Returns (report, replaced)."""
    data = build_report_data(period)
    with transaction.atomic():
        report, created = TrendReport.objects.update_or_create(
            period_kind=period.kind,
            period_start=period.start,
            defaults={
                "period_end": period.end,
                "time_zone": settings.TIME_ZONE,
                "built_at": now or timezone.now(),
                "built_by": user,
                "data": data,
            },
        )
    logger.info(
        "trend report %s %s %s (id %s)",
        period.kind,
        period.label,
        "built" if created else "rebuilt",
        report.pk,
    )
    return report, not created


def missing_periods(kind, now=None):
    """Return the complete periods of this kind, from the one holding the earliest
    incident up to the last complete one, that have no stored report yet."""
    from reviews.periods import last_complete_period, period_containing

    earliest = (
        Incident.objects.order_by("reported_at")
        .values_list("reported_at", flat=True)
        .first()
    )
    if earliest is None:
        return []
    last = last_complete_period(kind, now)
    current = period_containing(kind, earliest)
    stored = set(
        TrendReport.objects.filter(period_kind=kind).values_list(
            "period_start", flat=True
        )
    )
    found = []
    while current.first_day <= last.first_day:
        if current.start not in stored:
            found.append(current)
        current = current.next()
    return found


def report_period(report):
    """Return the Period of a stored report, in the zone it was built in."""
    zone = zoneinfo.ZoneInfo(report.time_zone)
    return Period(report.period_kind, report.period_start.astimezone(zone).date())
