"""The incident list filters, one test each."""

import datetime
import zoneinfo

import pytest

from incidents.models import Incident, Service, Team
from incidents.roles import INCIDENT_MANAGER, RESPONDER

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture
def listing(users, api_client):
    client = api_client(users[INCIDENT_MANAGER])

    def numbers(query):
        response = client.get(f"/api/v1/incidents/?{query}")
        assert response.status_code == 200, response.json()
        return {entry["number"] for entry in response.json()["results"]}

    return numbers


def set_fields(incident, **fields):
    Incident.objects.filter(pk=incident.pk).update(**fields)


def test_state(make_incident, listing):
    new, triaged, closed = (make_incident(s) for s in ("new", "triaged", "closed"))

    assert listing("state=triaged") == {triaged.number}
    assert listing("state=new&state=closed") == {new.number, closed.number}


def test_state_invalid_is_400(db, users, api_client):
    response = api_client(users[INCIDENT_MANAGER]).get("/api/v1/incidents/?state=x")

    assert response.status_code == 400
    assert "state" in response.json()["errors"]


def test_priority(make_incident, listing):
    p1 = make_incident("triaged", impact=1, urgency=1)
    make_incident("triaged", impact=3, urgency=3)

    assert listing("priority=1") == {p1.number}


def test_impact(make_incident, listing):
    high = make_incident("triaged", impact=1, urgency=3)
    make_incident("triaged", impact=3, urgency=3)

    assert listing("impact=1") == {high.number}


def test_urgency(make_incident, listing):
    urgent = make_incident("triaged", impact=3, urgency=1)
    make_incident("triaged", impact=3, urgency=3)

    assert listing("urgency=1") == {urgent.number}


def test_category_includes_subcategories(make_incident, listing, category):
    triaged = make_incident("triaged")
    make_incident("new")

    assert listing(f"category={category.pk}") == {triaged.number}
    assert listing(f"category={category.parent_id}") == {triaged.number}


def test_service(make_incident, listing, service):
    triaged = make_incident("triaged")
    other = make_incident("triaged")
    set_fields(other, service=Service.objects.create(name="Mail"))

    assert listing(f"service={service.pk}") == {triaged.number}


def test_team(make_incident, listing, team):
    ours = make_incident("triaged")
    theirs = make_incident("triaged")
    set_fields(theirs, assignment_group=Team.objects.create(name="Storage"))

    assert listing(f"team={team.pk}") == {ours.number}


def test_assignee(make_incident, listing, users):
    mine = make_incident("in_progress")
    theirs = make_incident("in_progress")
    set_fields(theirs, assignee=users[RESPONDER])

    assert listing("assignee=manager") == {mine.number}
    assert listing("assignee=responder") == {theirs.number}


def test_source(make_incident, listing):
    phone = make_incident("new")
    web = make_incident("new")
    set_fields(web, source="web")

    assert listing("source=web") == {web.number}
    assert listing("source=phone") == {phone.number}


def test_major(make_incident, listing):
    p1 = make_incident("triaged", impact=1, urgency=1)
    declared = make_incident("triaged")
    set_fields(declared, declared_major=True)
    minor = make_incident("triaged")
    new = make_incident("new")

    assert listing("major=true") == {p1.number, declared.number}
    assert listing("major=false") == {minor.number, new.number}


def test_reported_after_and_before(make_incident, listing):
    early, middle, late = (make_incident("new") for _ in range(3))
    base = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    for hours, incident in enumerate((early, middle, late)):
        set_fields(incident, reported_at=base + datetime.timedelta(hours=hours))

    assert listing("reported_after=2026-03-02T10:00:00Z") == {
        middle.number,
        late.number,
    }
    assert listing("reported_before=2026-03-02T10:00:00Z") == {early.number}
    assert listing(
        "reported_after=2026-03-02T09:30:00%2B00:00&reported_before=2026-03-02T11:00Z"
    ) == {middle.number}


def test_resolved_after_and_before(make_incident, listing):
    first, second = make_incident("resolved"), make_incident("resolved")
    make_incident("new")
    set_fields(first, resolved_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC))
    set_fields(second, resolved_at=datetime.datetime(2026, 3, 5, tzinfo=datetime.UTC))

    assert listing("resolved_after=2026-03-02T00:00:00Z") == {second.number}
    assert listing("resolved_before=2026-03-02T00:00:00Z") == {first.number}


def test_reported_on_local_day_at_dst_start(make_incident, listing, settings):
    settings.TIME_ZONE = "Europe/Paris"
    # 2026-03-29 is the day clocks go from 02:00 to 03:00 in Paris: 23 hours.
    times = {
        "before": datetime.datetime(2026, 3, 28, 23, 30, tzinfo=PARIS),
        "early": datetime.datetime(2026, 3, 29, 0, 30, tzinfo=PARIS),
        "late": datetime.datetime(2026, 3, 29, 23, 30, tzinfo=PARIS),
        "after": datetime.datetime(2026, 3, 30, 0, 30, tzinfo=PARIS),
    }
    incidents = {}
    for name, moment in times.items():
        incidents[name] = make_incident("new")
        set_fields(incidents[name], reported_at=moment)

    found = listing("reported_on=2026-03-29")

    assert found == {incidents["early"].number, incidents["late"].number}


def test_reported_on_uses_time_zone_not_utc(make_incident, listing, settings):
    settings.TIME_ZONE = "Europe/Paris"
    incident = make_incident("new")
    # 23:30 UTC on the 28th is already 00:30 on the 29th in Paris.
    set_fields(
        incident,
        reported_at=datetime.datetime(2026, 3, 28, 23, 30, tzinfo=datetime.UTC),
    )

    assert listing("reported_on=2026-03-29") == {incident.number}
    assert listing("reported_on=2026-03-28") == set()


def test_resolved_on_local_day_at_dst_end(make_incident, listing, settings):
    settings.TIME_ZONE = "Europe/Paris"
    # 2026-10-25 is the day clocks go back from 03:00 to 02:00: 25 hours.
    late = make_incident("resolved")
    set_fields(late, resolved_at=datetime.datetime(2026, 10, 25, 23, 30, tzinfo=PARIS))
    next_day = make_incident("resolved")
    set_fields(
        next_day, resolved_at=datetime.datetime(2026, 10, 26, 0, 0, tzinfo=PARIS)
    )

    assert listing("resolved_on=2026-10-25") == {late.number}


def test_q_searches_number_title_description(make_incident, listing):
    by_title = make_incident("new", title="Printer jam")
    by_description = make_incident("new")
    set_fields(by_description, description="The printer on floor 2 is jammed.")
    make_incident("new", title="VPN down")

    assert listing("q=printer") == {by_title.number, by_description.number}
    assert listing(f"q={by_title.number.lower()}") == {by_title.number}


@pytest.mark.parametrize("name", ["category", "service", "team"])
@pytest.mark.parametrize("value", ["abc", "0", str(2**64), "1.5"])
def test_invalid_id_is_400(name, value, db, users, api_client):
    client = api_client(users[INCIDENT_MANAGER])

    response = client.get(f"/api/v1/incidents/?{name}={value}")

    assert response.status_code == 400
    assert name in response.json()["errors"]


@pytest.mark.parametrize(
    ("value", "status", "count"),
    [
        # Offsets beyond PostgreSQL's 15:59 limit are converted to UTC.
        ("3007-06-27T10:07:52%2B19:31", 200, 1),
        # Year 10000 in UTC: outside the datetime range.
        ("9999-12-31T23:30:00-05:00", 400, 0),
        ("yesterday", 400, 0),
    ],
)
def test_reported_before_edge_values(
    value, status, count, make_incident, users, api_client
):
    make_incident("new")
    client = api_client(users[INCIDENT_MANAGER])

    response = client.get(f"/api/v1/incidents/?reported_before={value}")

    assert response.status_code == status
    if status == 200:
        assert len(response.json()["results"]) == count
    else:
        assert "reported_before" in response.json()["errors"]


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        ("9999-12-31", "UTC"),
        ("9999-12-31", "America/New_York"),
        # Local midnight east of UTC is still 31 December of year 0 in UTC.
        ("0001-01-01", "Europe/Paris"),
    ],
)
@pytest.mark.parametrize("name", ["reported_on", "resolved_on"])
def test_day_outside_range_is_400(value, zone, name, settings, db, users, api_client):
    settings.TIME_ZONE = zone
    client = api_client(users[INCIDENT_MANAGER])

    response = client.get(f"/api/v1/incidents/?{name}={value}")

    assert response.status_code == 400
    assert name in response.json()["errors"]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_first_day_west_of_utc_is_accepted(zone, settings, listing):
    settings.TIME_ZONE = zone

    assert listing("reported_on=0001-01-01") == set()
