"""Trend reports in the admin: list, report page with charts, exports, build."""

import csv
import datetime
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from incidents.models import Incident
from incidents.roles import AUDITOR, RESPONDER, REVIEWER
from reviews.models import TrendReport
from reviews.periods import period_starting
from reviews.reports import build_report

UTC = datetime.UTC


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def report(users, category, service):
    for day in range(2, 8):
        reported = datetime.datetime(2026, 3, day, 9, tzinfo=UTC)
        Incident.objects.create(
            number=f"ADM{day:07d}",
            title="Switch down",
            description="Test.",
            source="phone",
            status="resolved",
            priority=1 if day % 2 else 3,
            category=category,
            service=service,
            detected_at=reported,
            reported_at=reported,
            acknowledged_at=reported + datetime.timedelta(minutes=10),
            resolved_at=reported + datetime.timedelta(hours=day),
        )
    return build_report(period_starting("month", datetime.date(2026, 3, 1)))[0]


def login(client, user):
    client.force_login(user)
    return client


def test_report_page_has_svg_charts(client, users, report):
    login(client, users[AUDITOR])

    response = client.get(reverse("admin:reviews_trendreport_change", args=[report.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    # Four trend charts and four breakdowns.
    assert body.count('class="ims-chart"') == 8
    assert "Mean time to resolve" in body
    # No chart library and nothing from another host.
    assert 'src="http' not in body


def test_report_page_links_figures_to_incident_list(client, users, report):
    login(client, users[AUDITOR])

    response = client.get(reverse("admin:reviews_trendreport_change", args=[report.pk]))

    links = [
        parse_qs(urlsplit(href).query)
        for href in response.context["headlines"][0:1]
        for href in [href["url"]]
    ]
    assert links[0] == {
        "reported_at__gte": ["2026-03-01T00:00:00+00:00"],
        "reported_at__lt": ["2026-04-01T00:00:00+00:00"],
    }
    body = response.content.decode()
    assert "/admin/incidents/incident/?reported_at__gte=" in body
    assert "priority__exact=1" in body
    assert "category__id__exact=" in body
    assert "service__id__exact=" in body


def test_report_csv_export_parses(client, users, report):
    login(client, users[AUDITOR])

    response = client.get(reverse("admin:reviews_trendreport_csv", args=[report.pk]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_key = {(row["section"], row["key"]): row for row in rows}
    assert by_key[("headline", "reported")]["value"] == "6"
    assert by_key[("duration_seconds", "time_to_resolve.median")]["value"] == "16200.0"
    assert by_key[("by_priority", "1")]["value"] == "3"


def test_report_print_page_stands_alone(client, users, report):
    login(client, users[AUDITOR])

    response = client.get(reverse("admin:reviews_trendreport_print", args=[report.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "@media print" in body
    assert body.count('class="ims-chart"') == 8


def test_report_list_query_count(client, users, report, django_assert_max_num_queries):
    for first_day in ("2025-12-01", "2026-01-01", "2026-02-01"):
        build_report(period_starting("month", datetime.date.fromisoformat(first_day)))
    login(client, users[AUDITOR])
    url = reverse("admin:reviews_trendreport_changelist")

    # Session, user, two permission reads, two counts, the date hierarchy and the
    # page of reports: the same whatever the number of reports.
    with django_assert_max_num_queries(9):
        response = client.get(url)

    assert response.status_code == 200
    assert "2026-03" in response.content.decode()


def test_report_page_query_count(client, users, report, django_assert_max_num_queries):
    login(client, users[AUDITOR])
    url = reverse("admin:reviews_trendreport_change", args=[report.pk])

    # The page reads the stored report only: no incident query.
    with django_assert_max_num_queries(5):
        client.get(url)


def test_reviewer_builds_report_from_admin(client, users, db):
    login(client, users[REVIEWER])

    response = client.post(
        reverse("admin:reviews_trendreport_build"),
        {"period": "week", "start": "2026-03-23"},
    )

    report = TrendReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == report.get_absolute_url()
    assert report.built_by == users[REVIEWER]
    assert report.data["period_label"] == "2026-W13"


def test_admin_build_rejects_start_inside_period(client, users, db):
    login(client, users[REVIEWER])

    response = client.post(
        reverse("admin:reviews_trendreport_build"),
        {"period": "month", "start": "2026-03-15"},
    )

    assert response.status_code == 200
    assert "is not the first day of a month" in response.content.decode()
    assert not TrendReport.objects.exists()


@pytest.mark.parametrize("role", [AUDITOR, RESPONDER])
def test_only_reviewers_build_reports(client, users, role):
    login(client, users[role])

    response = client.post(
        reverse("admin:reviews_trendreport_build"), {"period": "month"}
    )

    assert response.status_code == 403


def test_responder_cannot_view_reports(client, users, report):
    login(client, users[RESPONDER])

    response = client.get(reverse("admin:reviews_trendreport_change", args=[report.pk]))

    assert response.status_code == 403


def test_rebuild_replaces_report(users, report):
    call_command("build_trend_report", "--period", "month", "--start", "2026-03-01")

    assert TrendReport.objects.count() == 1
    assert TrendReport.objects.get().pk == report.pk


def test_every_figure_link_opens_incident_list(client, users, report):
    login(client, users[AUDITOR])
    page = client.get(reverse("admin:reviews_trendreport_change", args=[report.pk]))
    body = page.content.decode().replace("&amp;", "&")
    prefix = "/admin/incidents/incident/?"
    hrefs = {prefix + chunk.split('"', 1)[0] for chunk in body.split(prefix)[1:]}
    assert len(hrefs) >= 5

    for href in sorted(hrefs):
        response = client.get(href)
        assert response.status_code == 200, href
        assert "e=1" not in response.request["QUERY_STRING"], href

    reported_link = page.context["headlines"][0]["url"]
    listing = client.get(reported_link)
    assert listing.context["cl"].result_count == 6
