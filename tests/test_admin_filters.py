"""Each filter and the search of the incident list."""

import datetime

import pytest
from django.utils import timezone

from incidents.admin_queues import start_of_today
from incidents.models import Category, Incident, Service
from incidents.roles import INCIDENT_MANAGER, RESPONDER
from tests.admin_support import fast_password_hashing  # noqa: F401

LIST_URL = "/admin/incidents/incident/"


def listed(client, params):
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    return {incident.number for incident in response.context["cl"].result_list}


def set_fields(incident, **fields):
    Incident.objects.filter(pk=incident.pk).update(**fields)
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def cast(client, users, make_incident, other_team):
    """Four incidents that differ in every filtered field."""
    other_service = Service.objects.create(name="Payroll", owning_team=other_team)
    other_category = Category.objects.create(name="Software")
    old = timezone.now() - datetime.timedelta(days=40)
    incidents = {
        "new": make_incident("new", title="Printer jam on floor 2"),
        "p1": make_incident("in_progress", impact=1, urgency=1, title="Core down"),
        "resolved": make_incident("resolved", title="Switch flapping"),
        "other": set_fields(
            make_incident("triaged", title="Payroll export late"),
            service=other_service,
            category=other_category,
            assignment_group=other_team,
            source="email",
            reported_at=old,
            declared_major=True,
        ),
    }
    incidents["resolved"] = set_fields(incidents["resolved"], assignee=users[RESPONDER])
    client.force_login(users[INCIDENT_MANAGER])
    return incidents


def numbers(cast, *keys):
    return {cast[key].number for key in keys}


def test_status_filter(client, cast):
    assert listed(client, {"status__exact": "resolved"}) == numbers(cast, "resolved")


def test_priority_filter(client, cast):
    assert listed(client, {"priority__exact": 1}) == numbers(cast, "p1")


def test_priority_filter_untriaged(client, cast):
    assert listed(client, {"priority__isnull": "True"}) == numbers(cast, "new")


def test_major_filter(client, cast):
    assert listed(client, {"major": "yes"}) == numbers(cast, "p1", "other")
    assert listed(client, {"major": "no"}) == numbers(cast, "new", "resolved")


def test_category_filter(client, cast):
    category = cast["other"].category
    assert listed(client, {"category__id__exact": category.pk}) == numbers(
        cast, "other"
    )


def test_service_filter(client, cast):
    service = cast["other"].service
    assert listed(client, {"service__id__exact": service.pk}) == numbers(cast, "other")


def test_team_filter(client, cast, other_team):
    assert listed(client, {"assignment_group__id__exact": other_team.pk}) == numbers(
        cast, "other"
    )


def test_assignee_filter_by_username(client, cast):
    assert listed(client, {"assignee": "responder"}) == numbers(cast, "resolved")


def test_assignee_filter_me(client, cast):
    # The manager acknowledged the P1, which made the manager its assignee.
    assert listed(client, {"assignee": "me"}) == numbers(cast, "p1")


def test_assignee_filter_unassigned(client, cast):
    assert listed(client, {"assignee": "none"}) == numbers(cast, "new", "other")


def test_assignee_filter_unknown_username_lists_nothing(client, cast):
    assert listed(client, {"assignee": "nobody-by-this-name"}) == set()


def test_source_filter(client, cast):
    assert listed(client, {"source__exact": "email"}) == numbers(cast, "other")


def test_reported_at_range_filter(client, cast):
    since = timezone.now() - datetime.timedelta(days=7)
    assert listed(client, {"reported_at__gte": str(since)}) == numbers(
        cast, "new", "p1", "resolved"
    )


def test_resolved_at_range_filter(client, cast):
    today = start_of_today(timezone.now())
    params = {
        "resolved_at__gte": str(today),
        "resolved_at__lt": str(today + datetime.timedelta(days=1)),
    }
    assert listed(client, params) == numbers(cast, "resolved")


def test_date_hierarchy_year(client, cast):
    year = timezone.now().year
    assert numbers(cast, "new") <= listed(client, {"reported_at__year": year})


def test_search_by_full_number(client, cast):
    number = cast["p1"].number
    assert listed(client, {"q": number}) == {number}


def test_search_by_bare_digits(client, cast):
    number = cast["p1"].number
    assert listed(client, {"q": str(int(number[3:]))}) == {number}


def test_search_by_number_prefix(client, cast):
    assert listed(client, {"q": "INC00000"}) == numbers(
        cast, "new", "p1", "resolved", "other"
    )


def test_search_by_title_words(client, cast):
    assert listed(client, {"q": "payroll export"}) == numbers(cast, "other")


def test_sorting_by_priority_keeps_all_rows(client, cast):
    response = client.get(LIST_URL, {"o": "4"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 4
