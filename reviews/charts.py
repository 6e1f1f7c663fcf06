"""Charts as inline SVG, rendered on the server so that the admin needs no
JavaScript or outside resource. Every bar and point links to the incidents behind
it and carries a <title> with its exact value."""

from django.utils.html import format_html
from django.utils.safestring import mark_safe

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 64
MARGIN_BOTTOM = 40
MARGIN_TOP = 16
COLORS = ("#2f6db5", "#d0622b", "#3b8f4a", "#8a4fb0")


def format_seconds(value):
    """Return a duration in seconds as text such as "3 h 20 min"."""
    if value is None:
        return "-"
    minutes = round(value / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def format_value(value, unit):
    if value is None:
        return "no data"
    if unit == "seconds":
        return format_seconds(value)
    if unit == "share":
        return f"{value * 100:.1f} %"
    return str(value)


def _scale_max(values):
    top = max((v for v in values if v is not None), default=0)
    return top if top > 0 else 1


def line_chart(title, points, series, unit="count"):
    """Return an SVG line chart of `points` (dicts with "label" and "url") for each
    (key, name) pair of `series`; a None value leaves a gap."""
    plot_width = WIDTH - MARGIN_LEFT - 16
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = _scale_max([p.get(key) for p in points for key, _ in series])
    step = plot_width / max(len(points) - 1, 1)

    def x(index):
        return MARGIN_LEFT + index * step

    def y(value):
        return MARGIN_TOP + plot_height * (1 - value / top)

    parts = [_frame(title, format_value(top, unit))]
    for number, (key, name) in enumerate(series):
        color = COLORS[number % len(COLORS)]
        segment = []
        for index, point in enumerate(points):
            value = point.get(key)
            if value is None:
                parts.append(_polyline(segment, color))
                segment = []
                continue
            segment.append((x(index), y(value)))
            parts.append(
                format_html(
                    '<a href="{}"><circle cx="{}" cy="{}" r="4" fill="{}">'
                    "<title>{} {}: {}</title></circle></a>",
                    point["url"],
                    _number(x(index)),
                    _number(y(value)),
                    color,
                    name,
                    point["label"],
                    format_value(value, unit),
                )
            )
        parts.append(_polyline(segment, color))
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}" font-size="12">{}</text>',
                MARGIN_LEFT + 8 + number * 150,
                HEIGHT - 6,
                color,
                name,
            )
        )
    for index, point in enumerate(points):
        last = index == len(points) - 1
        if index % max(len(points) // 6, 1) == 0 or last:
            # The last label ends at its point so that it stays inside the chart.
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="10" text-anchor="{}">{}</text>',
                    _number(x(index)),
                    HEIGHT - MARGIN_BOTTOM + 14,
                    "end" if last else "middle",
                    point["label"],
                )
            )
    return _svg(title, parts)


def bar_chart(title, rows, unit="count", limit=10):
    """Return an SVG horizontal bar chart of rows (dicts with "label", "value" and
    "url"), largest first, at most `limit` bars."""
    rows = rows[:limit]

    bar_height = 18
    height = MARGIN_TOP + len(rows) * (bar_height + 6) + 10
    label_width = 200
    plot_width = WIDTH - label_width - 80
    top = _scale_max([row["value"] for row in rows])
    parts = [
        format_html(
            '<text x="0" y="12" font-size="13" font-weight="bold">{}</text>', title
        )
    ]
    if not rows:
        parts.append(
            mark_safe('<text x="0" y="32" font-size="12">No incidents.</text>')
        )
        height = 40

    for index, row in enumerate(rows):
        top_y = MARGIN_TOP + 6 + index * (bar_height + 6)
        length = max(plot_width * (row["value"] or 0) / top, 1)
        shown = format_value(row["value"], unit)
        parts.append(
            format_html(
                '<a href="{}"><text x="{}" y="{}" font-size="12" text-anchor="end">'
                "{}</text>"
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                "<title>{}: {}</title></rect>"
                '<text x="{}" y="{}" font-size="12">{}</text></a>',
                row["url"],
                label_width - 6,
                top_y + 13,
                _truncate(row["label"], 30),
                label_width,
                top_y,
                _number(length),
                bar_height,
                COLORS[0],
                row["label"],
                shown,
                _number(label_width + length + 4),
                top_y + 13,
                shown,
            )
        )
    return _svg(title, parts, height=height)


def _number(value):
    # format_html escapes its arguments into strings first, so numbers are
    # formatted here rather than with a format spec in the template string.
    return f"{value:.1f}"


def _truncate(text, size):
    text = str(text)
    return text if len(text) <= size else text[: size - 1] + "\u2026"


def _frame(title, top_label):
    bottom = HEIGHT - MARGIN_BOTTOM
    return format_html(
        '<text x="0" y="12" font-size="13" font-weight="bold">{}</text>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888"/>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">0</text>',
        title,
        MARGIN_LEFT,
        MARGIN_TOP,
        MARGIN_LEFT,
        bottom,
        MARGIN_LEFT,
        bottom,
        WIDTH - 16,
        bottom,
        MARGIN_LEFT - 4,
        MARGIN_TOP + 8,
        top_label,
        MARGIN_LEFT - 4,
        bottom,
    )


def _polyline(segment, color):
    if len(segment) < 2:
        return ""
    coordinates = " ".join(f"{px:.1f},{py:.1f}" for px, py in segment)
    return format_html(
        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
        coordinates,
        color,
    )


def _svg(title, parts, height=HEIGHT):
    body = mark_safe("".join(str(part) for part in parts))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="ims-chart" role="img" '
        'aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}">{}</svg>',
        title,
        WIDTH,
        height,
        WIDTH,
        height,
        body,
    )
