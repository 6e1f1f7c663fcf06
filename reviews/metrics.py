"""Incident metrics aggregated in the database, for SQLite and PostgreSQL alike.

Durations are seconds between two stored timestamps of the same incident. Each
distribution is summarised as count, mean, median and 90th percentile. Percentiles
use linear interpolation between the closest ranks (Hyndman and Fan's type 7, the
definition of PostgreSQL's percentile_cont and of NumPy's default): for n sorted
values x[0..n-1] and a fraction p, h = (n - 1) * p and the percentile is
x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]). The database sorts
the values and returns only the one or two rows at that rank (ORDER BY with
OFFSET), so no incident is loaded into Python.
"""

from fractions import Fraction

from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least

from incidents.models import HoldPeriod, Incident

MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)


class SecondsBetween(Func):
    """Seconds from the second timestamp to the first, as a float."""

    output_field = FloatField()
    arity = 2

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django registers django_timestamp_diff on SQLite connections; it returns
        # whole microseconds between the two stored UTC timestamps.
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        sql = f"(django_timestamp_diff({end}, {start}) / 1000000.0)"
        return sql, (*end_params, *start_params)

    def as_postgresql(self, compiler, connection, **extra_context):
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        sql = f"EXTRACT(EPOCH FROM ({end} - {start}))::double precision"
        return sql, (*end_params, *start_params)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError(
            f"SecondsBetween supports SQLite and PostgreSQL, not {connection.vendor}."
        )


def hold_seconds_within_resolution():
    """Seconds each incident spent on hold between reported_at and resolved_at,
    as a subquery for Incident querysets (0 when it never was on hold).

    A hold period still open counts up to resolved_at; parts of a period outside
    [reported_at, resolved_at] are clipped.
    """
    clipped_end = Least(
        Coalesce("ended_at", OuterRef("resolved_at"), output_field=DateTimeField()),
        OuterRef("resolved_at"),
        output_field=DateTimeField(),
    )
    clipped_start = Greatest(
        "started_at", OuterRef("reported_at"), output_field=DateTimeField()
    )
    overlaps = (
        HoldPeriod.objects.filter(
            incident=OuterRef("pk"), started_at__lt=OuterRef("resolved_at")
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=OuterRef("reported_at")))
        .annotate(seconds=SecondsBetween(clipped_end, clipped_start))
        .order_by()
        .values("incident")
        .annotate(total=Sum("seconds"))
        .values("total")
    )
    return Coalesce(
        Subquery(overlaps, output_field=FloatField()),
        Value(0.0),
        output_field=FloatField(),
    )


def _interpolate(queryset, count, fraction):
    # Integer arithmetic on the rank keeps p90 of 11 values exactly at x[9].
    position = (count - 1) * fraction
    lower = position.numerator // position.denominator
    weight = position - lower
    rows = list(
        queryset.order_by("seconds").values_list("seconds", flat=True)[
            lower : lower + 2
        ]
    )
    if weight == 0 or len(rows) == 1:
        return rows[0]
    return rows[0] + float(weight) * (rows[1] - rows[0])


def distribution(queryset, seconds):
    """Return {"count", "mean", "median", "p90"} of the expression `seconds` over
    the queryset's rows, in seconds; the figures are None for no rows.

    Runs three queries: one aggregate and one ranked read per percentile.
    """
    annotated = queryset.annotate(seconds=seconds).filter(seconds__isnull=False)
    summary = annotated.aggregate(count=Count("pk"), mean=Avg("seconds"))
    count = summary["count"]
    if not count:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    return {
        "count": count,
        "mean": _round(summary["mean"]),
        "median": _round(_interpolate(annotated, count, MEDIAN)),
        "p90": _round(_interpolate(annotated, count, P90)),
    }


def _round(value):
    # Millisecond precision hides float noise without losing a stored timestamp's
    # meaning (the source data has minute precision).
    return None if value is None else round(float(value), 3)


def in_period(field, start, end):
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def time_to_acknowledge():
    return SecondsBetween(F("acknowledged_at"), F("reported_at"))


def time_to_resolve():
    return SecondsBetween(F("resolved_at"), F("reported_at"))


def time_to_resolve_net():
    return ExpressionWrapper(
        SecondsBetween(F("resolved_at"), F("reported_at"))
        - hold_seconds_within_resolution(),
        output_field=FloatField(),
    )


def time_to_mitigate():
    return SecondsBetween(F("mitigated_at"), F("reported_at"))


def time_to_detect():
    return SecondsBetween(F("detected_at"), F("started_at"))


def durations(start, end):
    """Return the duration distributions of the period.

    Time to acknowledge covers incidents acknowledged in the period. The other
    durations cover incidents resolved in the period that store both timestamps.
    """
    incidents = Incident.objects.order_by()
    resolved = incidents.filter(in_period("resolved_at", start, end))
    acknowledged = incidents.filter(in_period("acknowledged_at", start, end))
    return {
        "time_to_acknowledge": distribution(acknowledged, time_to_acknowledge()),
        "time_to_resolve": distribution(resolved, time_to_resolve()),
        "time_to_resolve_net": distribution(resolved, time_to_resolve_net()),
        "time_to_mitigate": distribution(
            resolved.filter(mitigated_at__isnull=False), time_to_mitigate()
        ),
        "time_to_detect": distribution(
            resolved.filter(started_at__isnull=False), time_to_detect()
        ),
    }


def counts(start, end):
    """Return the volume figures of the period, from timestamps, not from the
    incidents' current status."""
    incidents = Incident.objects.order_by()
    figures = incidents.aggregate(
        reported=Count("pk", filter=in_period("reported_at", start, end)),
        resolved=Count("pk", filter=in_period("resolved_at", start, end)),
        closed=Count("pk", filter=in_period("closed_at", start, end)),
        cancelled=Count("pk", filter=in_period("cancelled_at", start, end)),
        resolved_reopened=Count(
            "pk", filter=in_period("resolved_at", start, end) & Q(reopen_count__gt=0)
        ),
        resolved_reassigned=Count(
            "pk",
            filter=in_period("resolved_at", start, end) & Q(reassignment_count__gt=0),
        ),
    )
    # NOTE: an incident resolved before `end` and reopened after it has lost that
    # resolved_at (reopen clears it), so it counts as backlog here.
    figures["backlog_end"] = (
        incidents.filter(reported_at__lt=end)
        .exclude(resolved_at__lt=end)
        .exclude(closed_at__lt=end)
        .exclude(cancelled_at__lt=end)
        .count()
    )
    figures["reopened"] = reopened_count(start, end)
    resolved = figures["resolved"]
    figures["reopen_rate"] = _share(figures.pop("resolved_reopened"), resolved)
    figures["reassignment_rate"] = _share(figures.pop("resolved_reassigned"), resolved)
    return figures


def reopened_count(start, end):
    """Return how many distinct incidents were reopened in the period, from the
    timeline's reopen transitions."""
    from incidents.models import TimelineEntry

    return (
        TimelineEntry.objects.filter(
            in_period("created_at", start, end),
            kind=TimelineEntry.Kind.TRANSITION,
            transition="reopen",
        )
        .order_by()
        .values("incident")
        .distinct()
        .count()
    )


def _share(part, whole):
    return round(part / whole, 4) if whole else None


def breakdowns(start, end):
    """Return counts of the incidents reported in the period by priority,
    category, service and source, largest first."""
    reported = Incident.objects.order_by().filter(in_period("reported_at", start, end))

    def grouped(*fields):
        return list(
            reported.values(*fields).annotate(count=Count("pk")).order_by("-count")
        )

    by_priority = [
        {"key": row["priority"], "label": _priority_label(row["priority"]), **row}
        for row in grouped("priority")
    ]
    by_category = [
        {
            "key": row["category"],
            "label": _category_label(
                row["category__parent__name"], row["category__name"]
            ),
            "count": row["count"],
        }
        for row in grouped("category", "category__name", "category__parent__name")
    ]
    by_service = [
        {
            "key": row["service"],
            "label": row["service__name"] or "(none)",
            "count": row["count"],
        }
        for row in grouped("service", "service__name")
    ]
    by_source = [
        {"key": row["source"], "label": row["source"], "count": row["count"]}
        for row in grouped("source")
    ]
    for rows in (by_priority, by_category, by_service, by_source):
        rows.sort(key=lambda row: (-row["count"], row["label"]))
    for row in by_priority:
        del row["priority"]
    return {
        "by_priority": by_priority,
        "by_category": by_category,
        "by_service": by_service,
        "by_source": by_source,
    }


def _priority_label(priority):
    return f"P{priority}" if priority else "(none)"


def _category_label(parent, name):
    if name is None:
        return "(none)"
    return f"{parent} > {name}" if parent else name


def mtbf_by_service(start, end, limit):
    """Return the services with the shortest mean time between failures in the
    period, shortest first.

    A failure's time is started_at, or detected_at where the start is unknown. The
    mean of the gaps between consecutive failures equals (last - first) / (n - 1),
    so one grouped query gives it. Services with fewer than two failures in the
    period have no gap and are left out.
    """
    failure_time = Coalesce("started_at", "detected_at", output_field=DateTimeField())
    rows = (
        Incident.objects.order_by()
        .filter(service__isnull=False)
        .annotate(failed_at=failure_time)
        .filter(failed_at__gte=start, failed_at__lt=end)
        .values("service", "service__name")
        .annotate(failures=Count("pk"), first=Min("failed_at"), last=Max("failed_at"))
        .filter(failures__gte=2)
        .annotate(
            mtbf=ExpressionWrapper(
                SecondsBetween(F("last"), F("first")) / (F("failures") - 1),
                output_field=FloatField(),
            )
        )
        .order_by("mtbf", "service__name")[:limit]
    )
    return [
        {
            "key": row["service"],
            "label": row["service__name"],
            "failures": row["failures"],
            "mtbf": _round(row["mtbf"]),
        }
        for row in rows
    ]


def recurring_pairs(start, end, limit):
    """Return the (service, category) pairs with two or more incidents reported in
    the period, most frequent first."""
    rows = (
        Incident.objects.order_by()
        .filter(in_period("reported_at", start, end))
        .filter(service__isnull=False, category__isnull=False)
        .values(
            "service",
            "service__name",
            "category",
            "category__name",
            "category__parent__name",
        )
        .annotate(count=Count("pk"))
        .filter(count__gte=2)
        .order_by("-count", "service__name", "category__name")[:limit]
    )
    return [
        {
            "service": row["service"],
            "service_label": row["service__name"],
            "category": row["category"],
            "category_label": _category_label(
                row["category__parent__name"], row["category__name"]
            ),
            "count": row["count"],
        }
        for row in rows
    ]


def learning(start, end, end_day):
    """Return review and action item figures of the period.

    An action item is overdue at the period's end when it existed before the end,
    its due date is before end_day (the first local day after the period) and it
    was neither done nor cancelled before the end.
    """
    from reviews.models import ActionItem, PostIncidentReview

    reviews_completed = PostIncidentReview.objects.filter(
        in_period("published_at", start, end)
    ).count()
    items = ActionItem.objects.order_by().aggregate(
        created=Count("pk", filter=in_period("created_at", start, end)),
        done=Count("pk", filter=in_period("completed_at", start, end)),
        overdue=Count(
            "pk",
            filter=Q(created_at__lt=end, due_date__lt=end_day)
            & ~Q(completed_at__lt=end)
            & ~Q(cancelled_at__lt=end),
        ),
    )
    return {
        "reviews_completed": reviews_completed,
        "action_items_created": items["created"],
        "action_items_done": items["done"],
        "action_items_overdue": items["overdue"],
    }
