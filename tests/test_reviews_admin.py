"""Reviews and action items in the admin: lists, lessons search, buttons, queue."""

import datetime

import pytest
from django.urls import reverse

from incidents.models import Service
from incidents.roles import AUDITOR, RESPONDER, REVIEWER
from reviews.models import ActionItem, PostIncidentReview, Tag
from reviews.services import open_review


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def reviews(make_incident, users):
    """Three reviews, each of one incident, with two action items each."""
    created = []
    lessons = ("Run failover drills.", "Alert on capacity.", "Shorten DNS caching.")
    for number, lesson in enumerate(lessons):
        incident = make_incident("resolved", title=f"Outage {number}")
        review = open_review(incident)[0]
        review.lessons_learned = lesson
        review.save()
        for due in (datetime.date(2020, 1, 1), datetime.date(2099, 1, 1)):
            ActionItem.objects.create(
                review=review,
                title=f"Item due {due}",
                owner=users[RESPONDER],
                due_date=due,
                kind="detect",
            )
        created.append(review)
    return created


def test_review_list_query_count(client, users, reviews, django_assert_max_num_queries):
    client.force_login(users[REVIEWER])
    url = reverse("admin:reviews_postincidentreview_changelist")

    # Session, user, two permission reads, two counts, the date hierarchy, the
    # page with its annotated counts, the prefetched incidents and the filters'
    # choices (services, tags): the same for 3 reviews or 100.
    with django_assert_max_num_queries(12):
        response = client.get(url)

    assert response.status_code == 200
    assert response.content.decode().count("Outage") == 3


def test_lessons_search_finds_review(client, users, reviews):
    reviews[1].tags.add(Tag.objects.create(name="failover"))
    client.force_login(users[AUDITOR])
    url = reverse("admin:reviews_postincidentreview_changelist")

    response = client.get(url, {"q": "capacity"})

    assert list(response.context["cl"].result_list) == [reviews[1]]


def test_tag_filter_narrows_reviews(client, users, reviews):
    tag = Tag.objects.create(name="failover")
    reviews[2].tags.add(tag)
    client.force_login(users[AUDITOR])
    url = reverse("admin:reviews_postincidentreview_changelist")

    response = client.get(url, {"tags__id__exact": tag.pk})

    assert list(response.context["cl"].result_list) == [reviews[2]]


def test_service_filter_finds_reviews_of_service(client, users, reviews, service):
    other = Service.objects.create(name="Mail")
    client.force_login(users[AUDITOR])
    url = reverse("admin:reviews_postincidentreview_changelist")

    mine = client.get(url, {"service": service.pk})
    none = client.get(url, {"service": other.pk})

    assert len(mine.context["cl"].result_list) == 3
    assert len(none.context["cl"].result_list) == 0


def test_reviewer_sees_submit_button(client, users, reviews):
    client.force_login(users[REVIEWER])

    response = client.get(reviews[0].get_absolute_url())

    assert [b[0] for b in response.context["transition_buttons"]] == ["submit"]


def test_auditor_sees_no_buttons(client, users, reviews):
    client.force_login(users[AUDITOR])

    response = client.get(reviews[0].get_absolute_url())

    assert response.status_code == 200
    assert response.context["transition_buttons"] == []


def test_publish_button_reports_missing_fields(client, users, reviews):
    client.force_login(users[REVIEWER])
    url_name = "admin:reviews_postincidentreview_transition"
    client.post(reverse(url_name, args=[reviews[0].pk, "submit"]))

    response = client.post(
        reverse(url_name, args=[reviews[0].pk, "publish"]), follow=True
    )

    text = response.content.decode()
    assert "cannot be published yet" in text
    assert "the summary is empty" in text
    assert PostIncidentReview.objects.get(pk=reviews[0].pk).state == "in_review"


def test_auditor_transition_post_is_refused(client, users, reviews):
    client.force_login(users[AUDITOR])
    url = reverse(
        "admin:reviews_postincidentreview_transition", args=[reviews[0].pk, "submit"]
    )

    response = client.post(url, follow=True)

    assert "permission to submit" in response.content.decode()
    assert PostIncidentReview.objects.get(pk=reviews[0].pk).state == "draft"


def test_reviewer_starts_review_from_admin(client, users, make_incident):
    incident = make_incident("in_progress")
    client.force_login(users[REVIEWER])

    response = client.post(
        reverse("admin:reviews_postincidentreview_start", args=[incident.pk])
    )

    review = PostIncidentReview.objects.get(incidents=incident)
    assert response.status_code == 302
    assert response["Location"] == review.get_absolute_url()


def test_overdue_queue_and_badge(client, users, reviews):
    client.force_login(users[REVIEWER])
    url = reverse("admin:reviews_actionitem_changelist")

    response = client.get(url, {"overdue": "yes"})

    items = list(response.context["cl"].result_list)
    assert len(items) == 3
    assert all(item.due_date == datetime.date(2020, 1, 1) for item in items)
    assert "Overdue by" in response.content.decode()


def test_action_item_list_query_count(
    client, users, reviews, django_assert_max_num_queries
):
    client.force_login(users[REVIEWER])
    url = reverse("admin:reviews_actionitem_changelist")

    with django_assert_max_num_queries(9):
        response = client.get(url)

    assert len(response.context["cl"].result_list) == 6


def test_owner_starts_item_from_admin(client, users, reviews):
    item = reviews[0].action_items.first()
    client.force_login(users[RESPONDER])

    page = client.get(item.get_absolute_url())
    client.post(reverse("admin:reviews_actionitem_transition", args=[item.pk, "start"]))

    assert [b[0] for b in page.context["transition_buttons"]] == ["start", "complete"]
    assert ActionItem.objects.get(pk=item.pk).state == "in_progress"


def test_cancel_from_admin_needs_reason(client, users, reviews):
    item = reviews[0].action_items.first()
    client.force_login(users[REVIEWER])
    url = reverse("admin:reviews_actionitem_transition", args=[item.pk, "cancel"])

    client.post(url, {"reason": ""})
    assert ActionItem.objects.get(pk=item.pk).state == "open"
    client.post(url, {"reason": "Superseded by a new monitor."})

    assert ActionItem.objects.get(pk=item.pk).state == "cancelled"


def test_review_add_page_renders(client, users, db):
    client.force_login(users[REVIEWER])

    response = client.get(reverse("admin:reviews_postincidentreview_add"))

    assert response.status_code == 200
    assert 'name="incidents"' in response.content.decode()


def test_auditor_cannot_open_add_page(client, users, db):
    client.force_login(users[AUDITOR])

    response = client.get(reverse("admin:reviews_postincidentreview_add"))

    assert response.status_code == 403


def test_add_form_rejects_reviewed_incident(client, users, reviews):
    incident = reviews[0].incidents.get()
    client.force_login(users[REVIEWER])

    response = client.post(
        reverse("admin:reviews_postincidentreview_add"),
        {
            "title": "Second look",
            "incidents": str(incident.pk),
            "action_items-TOTAL_FORMS": "0",
            "action_items-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert f"{incident.number} already has post-incident review" in (
        response.content.decode()
    )
    assert PostIncidentReview.objects.count() == 3


def _change_form_data(response):
    """Return the POST data of an admin change page as its form stands."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name)
        if value is None:
            continue
        if isinstance(value, list):
            data[name] = [getattr(item, "pk", item) for item in value]
        else:
            data[name] = field.prepare_value(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data[f"{formset.prefix}-TOTAL_FORMS"] = 0
        data[f"{formset.prefix}-INITIAL_FORMS"] = 0
    return data


def test_transition_button_saves_edits_first(client, users, reviews):
    client.force_login(users[REVIEWER])
    review = reviews[0]
    page = client.get(review.get_absolute_url())
    data = _change_form_data(page)
    data["summary"] = "Typed just before submitting."
    data["_transition"] = "submit"

    response = client.post(review.get_absolute_url(), data)

    assert response.status_code == 302
    review.refresh_from_db()
    assert review.summary == "Typed just before submitting."
    assert review.state == "in_review"


def test_incident_page_links_its_review(client, users, reviews):
    client.force_login(users[REVIEWER])
    review = reviews[0]
    incident = review.incidents.get()

    response = client.get(f"/admin/incidents/incident/{incident.pk}/change/")

    assert response.status_code == 200
    assert review.get_absolute_url() in response.text
