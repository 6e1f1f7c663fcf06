"""Query filters of the incident list.

Day filters (``reported_on``, ``resolved_on``) take a calendar day in the
configured TIME_ZONE and match from its local midnight to the next one, so a
day on which daylight saving time starts or ends spans 23 or 25 hours.
"""

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

from incidents.models import MAJOR_Q, Incident, Source, Status
from incidents.priority import Level, Priority


def local_day_bounds(day):
    """Return the aware datetimes of the day's local midnight and the next one."""
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return start, end


class LocalDayField(forms.DateField):
    """A calendar day whose local midnights, in UTC, are both within years 1-9999."""

    def to_python(self, value):
        day = super().to_python(value)
        if day is None:
            return None
        try:
            start, end = local_day_bounds(day)
            start.astimezone(datetime.UTC)
            end.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(
                f"{value!r} is outside the supported date range.", code="invalid"
            ) from None
        return day


class LocalDayFilter(django_filters.DateFilter):
    """Match datetimes that fall on a calendar day in the configured time zone."""

    field_class = LocalDayField

    def filter(self, queryset, value):
        if value is None:
            return queryset
        start, end = local_day_bounds(value)
        return queryset.filter(
            **{f"{self.field_name}__gte": start, f"{self.field_name}__lt": end}
        )


# The largest primary key a 64-bit integer column holds. A larger value would
# make the database driver raise instead of matching nothing.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number from 1 to MAX_ID, else a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime, converted to UTC.

    PostgreSQL rejects UTC offsets beyond 15:59 hours, which ISO 8601 allows, so
    the value is sent in UTC. A conversion that leaves the datetime range is
    invalid input, not a server error.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(
                f"{value!r} is outside the supported date range.", code="invalid"
            ) from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class IncidentFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(
        field_name="status",
        choices=Status.choices,
        help_text="Incident state; repeat the parameter for several.",
    )
    priority = django_filters.MultipleChoiceFilter(
        choices=Priority.choices, help_text="1 (P1) to 5 (P5); repeatable."
    )
    impact = django_filters.TypedChoiceFilter(choices=Level.choices, coerce=int)
    urgency = django_filters.TypedChoiceFilter(choices=Level.choices, coerce=int)
    category = IdFilter(
        method="filter_category",
        help_text="Category id; a top-level category includes its subcategories.",
    )
    service = IdFilter(field_name="service_id")
    team = IdFilter(
        field_name="assignment_group_id", help_text="Id of the assignment group."
    )
    assignee = django_filters.CharFilter(
        field_name="assignee__username", help_text="Username of the assignee."
    )
    source = django_filters.ChoiceFilter(choices=Source.choices)
    major = django_filters.BooleanFilter(
        method="filter_major", help_text="P1 or declared major."
    )
    reported_after = UtcIsoDateTimeFilter(
        field_name="reported_at", lookup_expr="gte", help_text="Inclusive."
    )
    reported_before = UtcIsoDateTimeFilter(
        field_name="reported_at", lookup_expr="lt", help_text="Exclusive."
    )
    reported_on = LocalDayFilter(
        field_name="reported_at", help_text="Calendar day in the server's time zone."
    )
    resolved_after = UtcIsoDateTimeFilter(
        field_name="resolved_at", lookup_expr="gte", help_text="Inclusive."
    )
    resolved_before = UtcIsoDateTimeFilter(
        field_name="resolved_at", lookup_expr="lt", help_text="Exclusive."
    )
    resolved_on = LocalDayFilter(
        field_name="resolved_at", help_text="Calendar day in the server's time zone."
    )
    q = django_filters.CharFilter(
        method="search", help_text="Text in the number, title or description."
    )

    class Meta:
        model = Incident
        fields = []

    def filter_category(self, queryset, name, value):
        return queryset.filter(Q(category_id=value) | Q(category__parent_id=value))

    def filter_major(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(MAJOR_Q) if value else queryset.exclude(MAJOR_Q)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__iexact=value)
            | Q(title__icontains=value)
            | Q(description__icontains=value)
        )
