"""The operator console driven in a real Chromium, as operators use it.

Playwright's sync API runs an event loop in the test's thread. Django's
async-safety check then rejects database calls from the test code. The live
server runs in its own thread, so allowing those calls here is safe.

Set IMS_UPDATE_SCREENSHOTS=1 to rewrite docs/screenshots/ from these tests.
"""

import datetime
import io
import os
import re
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from incidents import services  # noqa: E402
from incidents.models import Incident, Status  # noqa: E402
from incidents.roles import (  # noqa: E402
    AUDITOR,
    INCIDENT_MANAGER,
    REPORTER,
    RESPONDER,
    REVIEWER,
    SERVICE_DESK,
)
from tests.admin_support import fast_password_hashing, seed_demo  # noqa: E402, F401
from tests.conftest import PASSWORD, ROLE_USERNAMES  # noqa: E402

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM_PATH).exists(),
        reason=f"no Chromium at {CHROMIUM_PATH}; set CHROMIUM_PATH",
    ),
]


@pytest.fixture(scope="module")
def allow_async_unsafe():
    # Only while this module's tests run, so that other tests keep the check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(allow_async_unsafe):
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, live_server):
    """Return a function that logs a user in, in a fresh browser context, and
    returns the page."""
    contexts = []

    def login(username):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/admin/")
        return page

    yield login
    for context in contexts:
        context.close()


def incident_page(page, live_server, incident):
    page.goto(f"{live_server.url}/admin/incidents/incident/{incident.pk}/change/")


def header_text(page):
    return page.locator(".ims-incident-header").inner_text()


def click_action(page, label):
    page.locator(".ims-actions").get_by_role("link", name=label, exact=True).click()


def submit_action(page, label):
    page.locator("#ims-action-form").get_by_role("button", name=label).click()


def test_each_role_sees_its_console(open_page, users, make_incident):
    make_incident("in_progress")
    expectations = {
        REPORTER: ("My open reports", True),
        SERVICE_DESK: ("Unassigned", True),
        RESPONDER: ("My team's open incidents", True),
        INCIDENT_MANAGER: ("Major incidents", True),
        REVIEWER: ("Breached or at risk", False),
        AUDITOR: ("Breached or at risk", False),
    }
    for role, (queue_label, may_report) in expectations.items():
        page = open_page(ROLE_USERNAMES[role])

        dashboard = page.locator(".ims-dashboard")
        assert (
            dashboard.get_by_role("link", name=queue_label, exact=True).count() == 1
        ), role
        page.goto(page.url + "incidents/incident/")
        add_link = page.get_by_role("link", name=re.compile("Add incident"))
        assert add_link.count() == (1 if may_report else 0), role


def test_walk_incident_from_report_to_closure(
    open_page, live_server, users, category, service, team
):
    # The reporter reports through the add form.
    page = open_page("reporter")
    page.goto(f"{live_server.url}/admin/incidents/incident/add/")
    page.get_by_label("Title").fill("Badge readers offline in building B")
    page.get_by_label("Description").fill("No door on floors 1-3 accepts badges.")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    incident = Incident.objects.get(title="Badge readers offline in building B")

    # The service desk triages it to the responder's team.
    page = open_page("servicedesk")
    incident_page(page, live_server, incident)
    click_action(page, "Triage")
    page.get_by_label("Category").select_option(label=str(category))
    page.get_by_label("Service").select_option(label=str(service))
    page.get_by_label("Impact").select_option(label="1 - High")
    page.get_by_label("Urgency").select_option(label="2 - Medium")
    page.get_by_label("Assignment group").select_option(label=str(team))
    submit_action(page, "Triage")
    assert "Triaged" in header_text(page)
    assert "P2" in header_text(page)

    # The responder acknowledges by keyboard, then works the incident.
    page = open_page("responder")
    incident_page(page, live_server, incident)
    page.locator(".ims-actions a", has_text="Acknowledge").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/action/acknowledge/$"))
    submit_action(page, "Acknowledge")
    assert "In progress" in header_text(page)

    click_action(page, "Mitigate")
    page.get_by_label("Workaround").fill("Doors set to open on a guard's call.")
    submit_action(page, "Mitigate")
    assert "Mitigated" in header_text(page)

    click_action(page, "Investigate")
    submit_action(page, "Investigate")
    assert "Investigating" in header_text(page)

    click_action(page, "Resolve")
    page.get_by_label("Resolution code").select_option(label="Hardware replaced")
    page.get_by_label("Resolution notes").fill("Replaced the controller board.")
    page.get_by_label("Recovery notes").fill("All readers accept badges again.")
    page.get_by_label("Root cause").fill("Controller board failed after a surge.")
    submit_action(page, "Resolve")
    assert "Resolved" in header_text(page)

    # The reporter confirms the resolution.
    page = open_page("reporter")
    incident_page(page, live_server, incident)
    click_action(page, "Close")
    page.get_by_label("Closure notes").fill("Doors work for me again.")
    submit_action(page, "Close")
    assert "Closed" in header_text(page)
    sync_api.expect(page.locator("#timeline tbody tr")).to_have_count(7)

    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    assert incident.closure_verified_by == users[REPORTER]


def test_refusals_are_shown_not_raised(open_page, live_server, users, make_incident):
    incident = make_incident("in_progress")

    # A responder of another team sees why the action is refused.
    page = open_page("outsider")
    page.goto(
        f"{live_server.url}/admin/incidents/incident/{incident.pk}/action/resolve/"
    )
    assert "not a member of that team" in page.locator(".errornote").inner_text()

    # Someone changes the incident while the responder fills in the form.
    page = open_page("responder")
    incident_page(page, live_server, incident)
    click_action(page, "Mitigate")
    page.get_by_label("Workaround").fill("Rebooted the switch.")
    services.update_fields(
        incident, users[INCIDENT_MANAGER], {"location": "Building B"}
    )
    submit_action(page, "Mitigate")

    assert "Conflict:" in page.locator(".messagelist").inner_text()
    assert Incident.objects.get(pk=incident.pk).status == Status.IN_PROGRESS


def test_queue_and_bulk_close(open_page, live_server, make_incident):
    resolved = [make_incident("resolved"), make_incident("resolved")]
    make_incident("in_progress")

    page = open_page("manager")
    page.goto(f"{live_server.url}/admin/incidents/incident/")
    page.locator(".ims-queues").get_by_role(
        "link", name=re.compile("Resolved, awaiting closure")
    ).click()
    sync_api.expect(page.locator("#result_list tbody tr")).to_have_count(2)

    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("close_resolved")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Closure notes").fill("Verified with the callers.")
    page.get_by_role("button", name="Close resolved incidents").click()

    assert "Closed 2 incidents." in page.locator(".messagelist").inner_text()
    statuses = {
        i.status for i in Incident.objects.filter(pk__in=[r.pk for r in resolved])
    }
    assert statuses == {Status.CLOSED}


def test_dashboard_and_incident_screenshots(
    open_page, live_server, users, team, other_team, tmp_path
):
    created = seed_demo(users, team=team, other_team=other_team)
    major = created["Checkout returns HTTP 502 for all card payments"]
    for note in (
        "Payment provider confirms elevated 5xx on their side too.",
        "Rolled back the 14:05 release of the checkout service; no change.",
    ):
        services.add_comment(major, users[INCIDENT_MANAGER], note)
    target = SCREENSHOTS if os.environ.get("IMS_UPDATE_SCREENSHOTS") else tmp_path
    target.mkdir(parents=True, exist_ok=True)

    page = open_page("manager")
    page.screenshot(path=str(target / "dashboard.png"), full_page=True)
    assert page.locator(".ims-card").count() == 5

    page.goto(f"{live_server.url}/admin/incidents/incident/?queue=open")
    page.screenshot(path=str(target / "list.png"), full_page=False)
    sync_api.expect(page.locator("#result_list tbody tr")).to_have_count(9)

    incident_page(page, live_server, major)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.screenshot(path=str(target / "incident.png"), full_page=True)
    assert "MAJOR" in header_text(page)


def test_breached_queue_shows_sla_badges(open_page, live_server, make_incident):
    late = make_incident("triaged", impact=1, urgency=1, title="Core router down")
    make_incident("triaged", impact=1, urgency=1, title="Fresh P1")
    # P1 response target: 15 minutes, so five hours without acknowledgement
    # is a breach. The UPDATE skips the hooks, hence the recompute.
    Incident.objects.filter(pk=late.pk).update(
        reported_at=timezone.now() - datetime.timedelta(hours=5)
    )
    call_command("recompute_service_levels", stdout=io.StringIO())

    page = open_page("manager")
    page.goto(f"{live_server.url}/admin/incidents/incident/")
    page.locator(".ims-queues").get_by_role(
        "link", name=re.compile("Breached or at risk")
    ).click()
    rows = page.locator("#result_list tbody tr")
    sync_api.expect(rows).to_have_count(1)

    row_text = rows.inner_text()
    assert late.number in row_text
    assert "Breached" in row_text
    incident_page(page, live_server, late)
    assert "Breached" in header_text(page)
