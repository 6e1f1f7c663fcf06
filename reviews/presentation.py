"""Turn a stored trend report into the rows, charts and CSV that people read.

Everything here works from TrendReport.data and the report's period only, so
showing a report runs no incident query.
"""

import csv
import datetime
import io

from reviews import charts
from reviews.links import incident_list_url
from reviews.reports import HEADLINE_COUNTS, HEADLINE_MEANS, report_period

# Headline figures in display order: key, label, unit, timestamp behind it.
HEADLINES = (
    ("reported", "Reported", "count", "reported_at"),
    ("resolved", "Resolved", "count", "resolved_at"),
    ("closed", "Closed", "count", "closed_at"),
    ("backlog_end", "Backlog at period end", "count", None),
    ("reopened", "Reopened (distinct incidents)", "count", None),
    ("reopen_rate", "Reopen rate (of resolved)", "share", "resolved_at"),
    ("reassignment_rate", "Reassignment rate (of resolved)", "share", "resolved_at"),
    ("sla_response_met", "Response SLA met", "share", "acknowledged_at"),
    ("sla_resolution_met", "Resolution SLA met", "share", "resolved_at"),
    ("reviews_completed", "Reviews published", "count", None),
    ("action_items_created", "Action items created", "count", None),
    ("action_items_done", "Action items done", "count", None),
    ("action_items_overdue", "Action items overdue at period end", "count", None),
)

DURATIONS = (
    ("time_to_acknowledge", "Time to acknowledge", "acknowledged_at"),
    ("time_to_resolve", "Time to resolve", "resolved_at"),
    ("time_to_resolve_net", "Time to resolve, net of on-hold time", "resolved_at"),
    ("time_to_mitigate", "Time to mitigate", "resolved_at"),
    ("time_to_detect", "Time to detect", "resolved_at"),
)

BREAKDOWNS = (
    ("by_priority", "Priority", "priority"),
    ("by_category", "Category", "category"),
    ("by_service", "Service", "service"),
    ("by_source", "Source", "source"),
)


def _parse(text):
    return datetime.datetime.fromisoformat(text)


def report_context(report):
    """Return the template context of a report page: figures with their links,
    and the charts as SVG."""
    data = report.data
    period = report_period(report)
    start, end = period.start, period.end
    change = data.get("change", {})

    headlines = []
    for key, label, unit, field in HEADLINES:
        value = data.get(key)
        headlines.append(
            {
                "key": key,
                "label": label,
                "value": charts.format_value(value, unit),
                "change": _format_change(change.get(key), unit),
                "url": incident_list_url(field, start, end) if field else None,
            }
        )

    durations = []
    for key, label, field in DURATIONS:
        figures = data.get(key) or {}
        durations.append(
            {
                "key": key,
                "label": label,
                "count": figures.get("count", 0),
                "mean": charts.format_seconds(figures.get("mean")),
                "median": charts.format_seconds(figures.get("median")),
                "p90": charts.format_seconds(figures.get("p90")),
                "change": _format_change(change.get(key), "seconds")
                if key in HEADLINE_MEANS
                else "",
                "url": incident_list_url(field, start, end),
            }
        )

    breakdowns = []
    for key, title, lookup in BREAKDOWNS:
        rows = [
            {
                "label": row["label"],
                "value": row["count"],
                "url": incident_list_url(
                    "reported_at", start, end, **{lookup: row["key"]}
                ),
            }
            for row in data.get(key, [])
        ]
        breakdowns.append(
            {
                "key": key,
                "title": title,
                "rows": rows,
                "chart": charts.bar_chart(f"Reported by {title.lower()}", rows),
            }
        )

    recurring = [
        {
            **row,
            "url": incident_list_url(
                "reported_at",
                start,
                end,
                service=row["service"],
                category=row["category"],
            ),
        }
        for row in data.get("top_recurring", [])
    ]
    mtbf = [
        {
            **row,
            "mtbf_text": charts.format_seconds(row["mtbf"]),
            "url": incident_list_url("reported_at", start, end, service=row["key"]),
        }
        for row in data.get("mtbf_by_service", [])
    ]

    trend = [
        {
            **point,
            "url": incident_list_url(
                "reported_at", _parse(point["start"]), _parse(point["end"])
            ),
        }
        for point in data.get("trend", [])
    ]
    trend_charts = [
        charts.line_chart(
            "Volume", trend, [("reported", "Reported"), ("resolved", "Resolved")]
        ),
        charts.line_chart(
            "Mean time to acknowledge", trend, [("mtta", "MTTA")], unit="seconds"
        ),
        charts.line_chart(
            "Mean time to resolve", trend, [("mttr", "MTTR")], unit="seconds"
        ),
        charts.line_chart(
            "SLA compliance",
            trend,
            [("sla_response_met", "Response"), ("sla_resolution_met", "Resolution")],
            unit="share",
        ),
    ]
    return {
        "report": report,
        "data": data,
        "period": period,
        "headlines": headlines,
        "durations": durations,
        "breakdowns": breakdowns,
        "recurring": recurring,
        "mtbf": mtbf,
        "trend_charts": trend_charts,
    }


def _format_change(delta, unit):
    if delta is None:
        return ""
    if delta > 0:
        sign = "+"
    elif delta < 0:
        sign = "-"
    else:
        sign = "\u00b1"
    magnitude = abs(delta)
    if unit == "seconds":
        return f"{sign}{charts.format_seconds(magnitude)}"
    if unit == "share":
        return f"{sign}{magnitude * 100:.1f} pt"
    return f"{sign}{magnitude:g}"


def report_csv(report):
    """Return the report as CSV text with the columns section, key, label, value,
    previous, change; durations in seconds."""
    data = report.data
    previous = data.get("previous", {})
    change = data.get("change", {})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "key", "label", "value", "previous", "change"])
    writer.writerow(["period", "kind", report.period_kind, data.get("period_label")])
    writer.writerow(["period", "start", "", data.get("period_start")])
    writer.writerow(["period", "end", "", data.get("period_end")])
    writer.writerow(["period", "time_zone", "", data.get("time_zone")])
    for key in HEADLINE_COUNTS + ("sla_response_met", "sla_resolution_met"):
        writer.writerow(
            ["headline", key, "", data.get(key), previous.get(key), change.get(key)]
        )
    for key, label, _ in DURATIONS:
        for statistic in ("count", "mean", "median", "p90"):
            writer.writerow(
                [
                    "duration_seconds",
                    f"{key}.{statistic}",
                    label,
                    (data.get(key) or {}).get(statistic),
                    previous.get(key) if statistic == "mean" else "",
                    change.get(key) if statistic == "mean" else "",
                ]
            )
    for key, _title, _lookup in BREAKDOWNS:
        for row in data.get(key, []):
            writer.writerow([key, row["key"], row["label"], row["count"]])
    for row in data.get("mtbf_by_service", []):
        writer.writerow(["mtbf_seconds", row["key"], row["label"], row["mtbf"]])
    for row in data.get("top_recurring", []):
        writer.writerow(
            [
                "top_recurring",
                f"{row['service']}/{row['category']}",
                f"{row['service_label']} / {row['category_label']}",
                row["count"],
            ]
        )
    for point in data.get("trend", []):
        for key in ("reported", "resolved", "mtta", "mttr"):
            writer.writerow(["trend", f"{point['label']}.{key}", "", point.get(key)])
    return buffer.getvalue()
