"""Business-hours calendars: validation, and their use by stored due times."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import sla
from incidents.models import (
    BusinessHoliday,
    BusinessHoursCalendar,
    ServiceLevelTarget,
)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def calendar(**fields):
    values = {"name": "Paris office", "time_zone": "Europe/Paris"}
    values.update(fields)
    return BusinessHoursCalendar(**values)


@pytest.mark.parametrize(
    ("fields", "error_field", "fragment"),
    [
        ({"time_zone": "Europe/Lutetia"}, "time_zone", "Europe/Lutetia"),
        ({"working_weekdays": "1,2,8"}, "working_weekdays", "'8'"),
        ({"working_weekdays": " , "}, "working_weekdays", "at least one"),
        ({"holiday_country": "XX"}, "holiday_country", "'XX'"),
        (
            {"start_time": datetime.time(18), "end_time": datetime.time(9)},
            "end_time",
            "must end after it starts",
        ),
        (
            {"holiday_country": "FR", "holiday_subdivision": "ZZ"},
            "holiday_subdivision",
            "'ZZ'",
        ),
        ({"holiday_subdivision": "BY"}, "holiday_subdivision", "needs a holiday"),
    ],
)
def test_calendar_rejects_invalid_values(db, fields, error_field, fragment):
    with pytest.raises(ValidationError) as error:
        calendar(**fields).full_clean()

    assert fragment in " ".join(error.value.message_dict[error_field])


def test_calendar_accepts_country_and_subdivision(db):
    calendar(holiday_country="DE", holiday_subdivision="BY").full_clean()


def test_calendar_describes_weekdays(db):
    assert calendar(working_weekdays="5,1,3").describe_weekdays() == "Mon, Wed, Fri"


def test_target_rejects_non_positive_duration(db):
    target = ServiceLevelTarget(
        priority=1,
        response_target=datetime.timedelta(0),
        resolution_target=datetime.timedelta(hours=1),
    )

    with pytest.raises(ValidationError) as error:
        target.full_clean()

    assert "response_target" in error.value.message_dict


def test_triage_uses_target_calendar_and_manual_holidays(make_incident):
    office = calendar(holiday_country="FR")
    office.save()
    today = timezone.now().astimezone(PARIS).date()
    BusinessHoliday.objects.create(calendar=office, date=today, name="Office closed")
    ServiceLevelTarget.objects.filter(priority=3, service=None).update(calendar=office)

    incident = make_incident("triaged", impact=2, urgency=2)

    plain = sla.Calendar.from_model(office)
    assert today in plain.holiday_dates
    expected = sla.compute_due(
        incident.reported_at, datetime.timedelta(hours=4), [], plain
    )
    assert incident.response_due_at == expected
    # Today is a holiday in Paris, so the four working hours end on a later day.
    assert incident.response_due_at.astimezone(PARIS).date() > today
