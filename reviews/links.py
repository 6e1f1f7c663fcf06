"""Links from report figures to the incident admin list filtered to the incidents
behind them.

The query strings use the Django admin's standard lookup parameters, which the
incident admin accepts for fields in its list_filter or date_hierarchy:

- ``<field>__gte`` and ``<field>__lt`` for reported_at, acknowledged_at,
  resolved_at and closed_at (DateFieldListFilter), with ISO 8601 values that carry
  the UTC offset, such as ``2026-03-01T00:00:00+01:00``;
- ``priority__exact``, ``source__exact`` (choices filters);
- ``category__id__exact``, ``service__id__exact`` (related field filters), and
  ``<field>__isnull=True`` for the "(none)" rows.
"""

from urllib.parse import urlencode

from django.urls import reverse

RANGE_FIELDS = ("reported_at", "acknowledged_at", "resolved_at", "closed_at")
EXACT_PARAMS = {
    "priority": "priority__exact",
    "category": "category__id__exact",
    "service": "service__id__exact",
    "source": "source__exact",
}


def incident_list_url(field, start, end, **exact):
    """Return the incident admin list URL of incidents whose `field` falls in
    [start, end), narrowed by equality on priority, category, service or source
    (a None value selects incidents where that field is empty)."""
    if field not in RANGE_FIELDS:
        raise ValueError(f"{field!r} is not a filterable timestamp.")
    params = {f"{field}__gte": start.isoformat(), f"{field}__lt": end.isoformat()}
    for name, value in exact.items():
        if value is None:
            params[f"{name}__isnull"] = "True"
        else:
            params[EXACT_PARAMS[name]] = value
    # The incident admin is registered by the incidents app; building the path
    # from the admin index keeps this module usable before that admin exists.
    return f"{reverse('admin:index')}incidents/incident/?{urlencode(params)}"
