"""The reviews, action items and reports API: permissions, filters, transitions."""

import datetime

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents.models import Service
from incidents.roles import AUDITOR, INCIDENT_MANAGER, RESPONDER, REVIEWER
from reviews.models import ActionItem, PostIncidentReview, Tag, TrendReport
from reviews.services import open_review


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def api_as(user):
    client = APIClient()
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def review(make_incident):
    incident = make_incident("resolved", title="Core switch outage")
    review = open_review(incident)[0]
    review.lessons_learned = "Keep spare line cards."
    review.save()
    review.tags.add(Tag.objects.create(name="hardware"))
    return review


def complete(review, owner):
    review.summary = "Switch failed."
    review.customer_impact = "Floor offline."
    review.root_cause = "Line card."
    review.save()
    ActionItem.objects.create(
        review=review,
        title="Stock spares",
        owner=owner,
        due_date=datetime.date(2020, 1, 1),
        kind="prevent",
    )


def test_anonymous_request_is_rejected(db):
    response = APIClient().get("/api/v1/reviews/")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "expected"),
    [(REVIEWER, 200), (AUDITOR, 200), (INCIDENT_MANAGER, 200), (RESPONDER, 200)],
)
def test_staff_roles_list_reviews(users, review, role, expected):
    response = api_as(users[role]).get("/api/v1/reviews/")

    assert response.status_code == expected
    assert response.json()["results"][0]["tags"] == ["hardware"]


def test_service_desk_cannot_list_reviews(users, review):
    response = api_as(users["Service desk"]).get("/api/v1/reviews/")

    assert response.status_code == 403


def test_review_list_query_count(
    users, review, make_incident, django_assert_num_queries
):
    for number in range(3):
        other = open_review(make_incident("resolved", title=f"Other {number}"))[0]
        complete(other, users[RESPONDER])
    client = api_as(users[AUDITOR])

    # Token with user, two permission reads, the page, and one prefetch each for
    # incidents, tags, action items and their owners.
    with django_assert_num_queries(8):
        response = client.get("/api/v1/reviews/")

    assert len(response.json()["results"]) == 4


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"tag": "Hardware"}, 1),
        ({"tag": "dns"}, 0),
        ({"q": "spare cards"}, 1),
        ({"q": "unrelated"}, 0),
        ({"state": "draft"}, 1),
        ({"state": "published"}, 0),
    ],
)
def test_review_filters(users, review, params, count):
    response = api_as(users[AUDITOR]).get("/api/v1/reviews/", params)

    assert len(response.json()["results"]) == count


def test_review_service_filter(users, review, service):
    other = Service.objects.create(name="Mail")
    client = api_as(users[AUDITOR])

    assert (
        len(client.get(f"/api/v1/reviews/?service={service.pk}").json()["results"]) == 1
    )
    assert (
        len(client.get(f"/api/v1/reviews/?service={other.pk}").json()["results"]) == 0
    )


def test_bad_service_filter_names_field(users, review):
    response = api_as(users[AUDITOR]).get("/api/v1/reviews/?service=mail")

    assert response.status_code == 400
    assert response.json()["errors"] == {"service": ["'mail' is not a whole number."]}


def test_reviewer_creates_review_with_tags(users, make_incident):
    incident = make_incident("in_progress")

    response = api_as(users[REVIEWER]).post(
        "/api/v1/reviews/",
        {"title": "Slow DNS", "incidents": [incident.number], "tags": ["DNS Caching"]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["tags"] == ["dns-caching"]
    assert response.json()["incidents"] == [incident.number]


def test_create_rejects_unknown_incident(users, db):
    response = api_as(users[REVIEWER]).post(
        "/api/v1/reviews/",
        {"title": "Ghost", "incidents": ["INC9999999"]},
        format="json",
    )

    assert response.status_code == 400
    assert "incidents" in response.json()["errors"]
    assert not PostIncidentReview.objects.exists()


def test_auditor_cannot_edit_review(users, review):
    response = api_as(users[AUDITOR]).patch(
        f"/api/v1/reviews/{review.pk}/", {"summary": "x"}, format="json"
    )

    assert response.status_code == 403


def test_publish_refusal_names_missing_fields(users, review):
    client = api_as(users[REVIEWER])
    client.post(f"/api/v1/reviews/{review.pk}/submit/")

    response = client.post(f"/api/v1/reviews/{review.pk}/publish/")

    assert response.status_code == 409
    assert "the summary is empty" in response.json()["detail"]


def test_reviewer_publishes_through_api(users, review):
    complete(review, users[RESPONDER])
    client = api_as(users[REVIEWER])
    client.post(f"/api/v1/reviews/{review.pk}/submit/")

    response = client.post(f"/api/v1/reviews/{review.pk}/publish/")

    assert response.status_code == 200
    assert response.json()["state"] == "published"


@pytest.mark.parametrize("role", [RESPONDER, AUDITOR])
def test_other_roles_cannot_publish(users, review, role):
    complete(review, users[RESPONDER])
    api_as(users[REVIEWER]).post(f"/api/v1/reviews/{review.pk}/submit/")

    response = api_as(users[role]).post(f"/api/v1/reviews/{review.pk}/publish/")

    assert response.status_code == 403
    assert PostIncidentReview.objects.get(pk=review.pk).state == "in_review"


def test_published_review_rejects_edit(users, review):
    complete(review, users[RESPONDER])
    client = api_as(users[REVIEWER])
    client.post(f"/api/v1/reviews/{review.pk}/submit/")
    client.post(f"/api/v1/reviews/{review.pk}/publish/")

    response = client.patch(
        f"/api/v1/reviews/{review.pk}/", {"summary": "Rewritten."}, format="json"
    )

    assert response.status_code == 403
    assert "published" in response.json()["detail"]


def test_overdue_filter_on_action_items(users, review):
    complete(review, users[RESPONDER])
    ActionItem.objects.create(
        review=review,
        title="Later",
        owner=users[RESPONDER],
        due_date=datetime.date(2099, 1, 1),
        kind="detect",
    )
    client = api_as(users[AUDITOR])

    overdue = client.get("/api/v1/action-items/?overdue=true").json()["results"]
    bad = client.get("/api/v1/action-items/?overdue=maybe")

    assert [item["title"] for item in overdue] == ["Stock spares"]
    assert overdue[0]["overdue"] is True
    assert bad.status_code == 400


def test_owner_completes_item_through_api(users, review):
    complete(review, users[RESPONDER])
    item = review.action_items.get()

    response = api_as(users[RESPONDER]).post(
        f"/api/v1/action-items/{item.pk}/complete/"
    )

    assert response.status_code == 200
    assert response.json()["state"] == "done"


def test_non_owner_cannot_complete_item(users, review):
    complete(review, users["outsider"])
    item = review.action_items.get()

    response = api_as(users[RESPONDER]).post(
        f"/api/v1/action-items/{item.pk}/complete/"
    )

    assert response.status_code == 403
    assert ActionItem.objects.get(pk=item.pk).state == "open"


def test_cancel_without_reason_is_409(users, review):
    complete(review, users[RESPONDER])
    item = review.action_items.get()

    response = api_as(users[REVIEWER]).post(
        f"/api/v1/action-items/{item.pk}/cancel/", {}
    )

    assert response.status_code == 409
    assert "Say why" in response.json()["detail"]


def test_reviewer_builds_report_through_api(users, db):
    client = api_as(users[REVIEWER])

    first = client.post(
        "/api/v1/reports/build/", {"period": "month", "start": "2026-03-01"}
    )
    again = client.post(
        "/api/v1/reports/build/", {"period": "month", "start": "2026-03-01"}
    )

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["replaced"] is True
    assert again.json()["data"]["period_label"] == "2026-03"
    assert TrendReport.objects.count() == 1


def test_build_rejects_bad_start(users, db):
    response = api_as(users[REVIEWER]).post(
        "/api/v1/reports/build/", {"period": "week", "start": "2026-03-04"}
    )

    assert response.status_code == 400
    assert "Monday" in response.json()["errors"]["start"][0]


def test_auditor_reads_but_cannot_build_reports(users, db):
    api_as(users[REVIEWER]).post("/api/v1/reports/build/", {"period": "month"})
    client = api_as(users[AUDITOR])

    listing = client.get("/api/v1/reports/")
    build = client.post("/api/v1/reports/build/", {"period": "month"})

    assert listing.status_code == 200
    assert "data" not in listing.json()["results"][0]
    assert build.status_code == 403


def test_report_detail_and_csv(users, db):
    built = api_as(users[REVIEWER]).post("/api/v1/reports/build/", {"period": "week"})
    client = api_as(users[AUDITOR])
    pk = built.json()["id"]

    detail = client.get(f"/api/v1/reports/{pk}/")
    exported = client.get(f"/api/v1/reports/{pk}/csv/")

    assert "time_to_resolve" in detail.json()["data"]
    assert exported.content.decode().startswith("section,key,label,value")


def test_responder_cannot_read_reports(users, db):
    response = api_as(users[RESPONDER]).get("/api/v1/reports/")

    assert response.status_code == 403


def test_create_rejects_incident_with_review(users, review):
    number = review.incidents.get().number

    response = api_as(users[REVIEWER]).post(
        "/api/v1/reviews/",
        {"title": "Again", "incidents": [number]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"]["incidents"] == [
        f"{number} already has post-incident review {review.pk}."
    ]


def test_created_review_is_noted_on_incident(users, make_incident):
    incident = make_incident("in_progress")

    response = api_as(users[REVIEWER]).post(
        "/api/v1/reviews/",
        {"title": "Slow DNS", "incidents": [incident.number]},
        format="json",
    )

    entry = incident.timeline.get(kind="system")
    assert entry.message == f"Post-incident review {response.json()['id']} opened."
    assert entry.actor == users[REVIEWER]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/reviews/?service=99999999999999999999", "service"),
        ("/api/v1/reviews/?service=0", "service"),
        ("/api/v1/action-items/?review=99999999999999999999", "review"),
        ("/api/v1/reviews/?state=bogus", "state"),
        ("/api/v1/action-items/?state=bogus", "state"),
        ("/api/v1/action-items/?kind=bogus", "kind"),
        ("/api/v1/reviews/?q=a%00b", "q"),
        ("/api/v1/reviews/?tag=a%00b", "tag"),
        ("/api/v1/reviews/?incident=a%00b", "incident"),
        ("/api/v1/action-items/?owner=a%00b", "owner"),
    ],
)
def test_invalid_filter_value_is_400(url, name, users, review):
    response = api_as(users[AUDITOR]).get(url)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [name]


def test_patch_review_state_is_400(users, review):
    response = api_as(users[REVIEWER]).patch(
        f"/api/v1/reviews/{review.pk}/", {"state": "published"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["state"]
    assert PostIncidentReview.objects.get(pk=review.pk).state == "draft"


def test_patch_action_item_state_is_400(users, review):
    complete(review, users[RESPONDER])
    item = review.action_items.get()

    response = api_as(users[REVIEWER]).patch(
        f"/api/v1/action-items/{item.pk}/",
        {"state": "done", "title": "Renamed"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["state"]
    item.refresh_from_db()
    assert item.state == "open"
    assert item.title == "Stock spares"


def test_refused_transition_409_has_code(users, review):
    response = api_as(users[REVIEWER]).post(f"/api/v1/reviews/{review.pk}/publish/")

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_incident_added_to_review_is_noted(users, review, make_incident):
    kept = review.incidents.get()
    added = make_incident("resolved")

    response = api_as(users[REVIEWER]).patch(
        f"/api/v1/reviews/{review.pk}/",
        {"incidents": [kept.number, added.number]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    entry = added.timeline.get(kind="system")
    due = review.due_date.isoformat()
    assert entry.message == f"Post-incident review {review.pk} opened, due {due}."
    assert entry.actor == users[REVIEWER]
    assert kept.timeline.filter(kind="system").count() == 1


def test_incident_removed_from_review_is_noted(users, review, make_incident):
    removed = review.incidents.get()
    added = make_incident("resolved")

    response = api_as(users[REVIEWER]).patch(
        f"/api/v1/reviews/{review.pk}/", {"incidents": [added.number]}, format="json"
    )

    assert response.status_code == 200, response.json()
    entry = removed.timeline.filter(kind="system").latest("id")
    assert entry.message == f"Removed from post-incident review {review.pk}."
    assert entry.actor == users[REVIEWER]


@pytest.mark.parametrize(
    ("period", "start", "message"),
    [
        ("month", "9999-12-01", "outside the supported range"),
        ("month", "0001-01-01", "outside the supported range"),
        ("quarter", "9999-10-01", "outside the supported range"),
        ("week", "9999-12-27", "outside the supported range"),
        ("month", "2099-01-01", "has not started yet"),
    ],
)
def test_build_rejects_start_outside_range(period, start, message, users, db):
    response = api_as(users[REVIEWER]).post(
        "/api/v1/reports/build/", {"period": period, "start": start}
    )

    assert response.status_code == 400
    assert message in response.json()["errors"]["start"][0]
    assert not TrendReport.objects.exists()
