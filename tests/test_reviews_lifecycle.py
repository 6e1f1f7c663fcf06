"""Post-incident reviews and action items: automatic drafts, lifecycle, publish
checks and permissions per role."""

import datetime

import pytest
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import TimelineEntry
from incidents.roles import (
    AUDITOR,
    INCIDENT_MANAGER,
    REPORTER,
    RESPONDER,
    REVIEWER,
    SERVICE_DESK,
)
from reviews import rules
from reviews.models import ActionItem, PostIncidentReview, Tag, normalize_tag
from reviews.services import (
    ReviewActionRefused,
    add_business_days,
    open_review,
    run_action_item_action,
    run_review_action,
    start_review,
)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The role fixtures create seven users; the default PBKDF2 hasher makes that
    # cost seconds per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def complete_review(review):
    review.summary = "Core switch failed on floor 3."
    review.customer_impact = "Floor 3 offline for 2 hours."
    review.root_cause = "Faulty line card."
    review.lessons_learned = "Keep spare line cards on site."
    review.save()
    return review


def add_item(review, owner, **fields):
    fields.setdefault("due_date", datetime.date(2026, 4, 1))
    return ActionItem.objects.create(
        review=review, title="Stock spare cards", owner=owner, kind="prevent", **fields
    )


@pytest.fixture
def review(make_incident):
    incident = make_incident("resolved", impact=2, urgency=2)
    return open_review(incident)[0]


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-03-05", 1, "2026-03-06"),  # Thursday -> Friday
        ("2026-03-06", 1, "2026-03-09"),  # Friday -> Monday
        ("2026-03-06", 5, "2026-03-13"),  # Friday -> next Friday
        ("2026-03-07", 1, "2026-03-09"),  # Saturday -> Monday
    ],
)
def test_business_days_skip_weekends(start, days, expected):
    result = add_business_days(datetime.date.fromisoformat(start), days)

    assert result == datetime.date.fromisoformat(expected)


def test_major_incident_resolution_opens_draft(make_incident):
    incident = make_incident("resolved", impact=1, urgency=1)

    reviews = list(PostIncidentReview.objects.filter(incidents=incident))

    assert len(reviews) == 1
    assert reviews[0].state == "draft"
    assert reviews[0].due_date == add_business_days(
        timezone.localtime(incident.resolved_at).date(), 5
    )
    assert reviews[0].root_cause == "Faulty line card."


def test_draft_opening_writes_timeline_entry(make_incident):
    incident = make_incident("resolved", impact=1, urgency=1)

    entry = TimelineEntry.objects.get(incident=incident, kind="system")

    assert entry.message.startswith("Post-incident review")
    assert "opened, due" in entry.message
    assert entry.actor_label == "system"


def test_due_date_follows_setting(make_incident, settings):
    settings.IMS_REVIEW_DUE_BUSINESS_DAYS = 1
    incident = make_incident("resolved", impact=1, urgency=1)

    review = PostIncidentReview.objects.get(incidents=incident)

    assert review.due_date == add_business_days(
        timezone.localtime(incident.resolved_at).date(), 1
    )


def test_p3_resolution_opens_no_review(make_incident):
    incident = make_incident("resolved", impact=2, urgency=2)

    assert incident.priority == 3
    assert not PostIncidentReview.objects.filter(incidents=incident).exists()


def test_declared_major_resolution_opens_draft(make_incident, users):
    incident = make_incident("in_progress", impact=2, urgency=2)
    manager = users[INCIDENT_MANAGER]
    incident = incident_services.run_action(
        incident, "declare_major", manager, {"reason": "Whole floor down."}
    )
    incident_services.run_action(
        incident,
        "resolve",
        manager,
        {
            "resolution_code": "fixed",
            "resolution_notes": "Replaced the card.",
            "recovery_notes": "Back on primary.",
            "root_cause": "Card.",
        },
    )

    assert PostIncidentReview.objects.filter(incidents=incident).count() == 1


def test_second_resolution_opens_no_second_review(make_incident, users):
    manager = users[INCIDENT_MANAGER]
    incident = make_incident("resolved", impact=1, urgency=1)
    incident = incident_services.run_action(
        incident, "reopen", manager, {"reason": "Still down."}
    )
    incident_services.run_action(
        incident,
        "resolve",
        manager,
        {
            "resolution_code": "fixed",
            "resolution_notes": "Replaced it again.",
            "recovery_notes": "Back.",
            "root_cause": "Second faulty card.",
        },
    )

    assert PostIncidentReview.objects.filter(incidents=incident).count() == 1
    assert TimelineEntry.objects.filter(incident=incident, kind="system").count() == 1


def test_reviewer_starts_review_of_any_incident(make_incident, users):
    incident = make_incident("in_progress")

    review, created = start_review(users[REVIEWER], incident)

    assert created
    assert review.facilitator == users[REVIEWER]
    assert list(review.incidents.all()) == [incident]


def test_responder_cannot_start_review(make_incident, users):
    incident = make_incident("in_progress")

    with pytest.raises(ReviewActionRefused, match="permission to start reviews"):
        start_review(users[RESPONDER], incident)


def test_publish_names_missing_fields(review, users):
    reviewer = users[REVIEWER]
    review = run_review_action(review, "submit", reviewer)

    with pytest.raises(ReviewActionRefused) as refusal:
        run_review_action(review, "publish", reviewer)

    message = str(refusal.value)
    for phrase in (
        "the summary is empty",
        "the customer impact is empty",
        "the lessons learned is empty",
        "there is no action item",
    ):
        assert phrase in message
    # The root cause was copied from the incident, so it is not missing.
    assert "root cause" not in message
    review.refresh_from_db()
    assert review.state == "in_review"


def test_publish_requires_reason_for_no_action(review, users):
    reviewer = users[REVIEWER]
    complete_review(review)
    review.no_action_needed = True
    review.save()
    review = run_review_action(review, "submit", reviewer)

    with pytest.raises(ReviewActionRefused, match="'no action needed' is ticked"):
        run_review_action(review, "publish", reviewer)


def test_publish_with_no_action_and_reason(review, users):
    reviewer = users[REVIEWER]
    complete_review(review)
    review.no_action_needed = True
    review.no_action_reason = "The vendor replaced the whole switch model."
    review.save()
    review = run_review_action(review, "submit", reviewer)

    review = run_review_action(review, "publish", reviewer)

    assert review.state == "published"
    assert review.published_by == reviewer
    assert review.published_at is not None


def test_publish_with_action_item(review, users):
    reviewer = users[REVIEWER]
    complete_review(review)
    add_item(review, users[RESPONDER])
    review = run_review_action(review, "submit", reviewer)

    assert run_review_action(review, "publish", reviewer).state == "published"


def test_return_to_draft_from_in_review(review, users):
    reviewer = users[REVIEWER]
    review = run_review_action(review, "submit", reviewer)

    review = run_review_action(review, "return", reviewer)

    assert review.state == "draft"
    assert review.submitted_at is None


def test_publish_from_draft_is_refused(review, users):
    with pytest.raises(ReviewActionRefused, match="not possible from there"):
        run_review_action(review, "publish", users[REVIEWER])


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (REVIEWER, True),
        (RESPONDER, False),
        (AUDITOR, False),
        (INCIDENT_MANAGER, False),
        (SERVICE_DESK, False),
        (REPORTER, False),
    ],
)
def test_publish_permission_per_role(review, users, role, allowed):
    complete_review(review)
    add_item(review, users[RESPONDER])
    review = run_review_action(review, "submit", users[REVIEWER])

    if allowed:
        assert run_review_action(review, "publish", users[role]).state == "published"
    else:
        with pytest.raises(ReviewActionRefused, match="permission to publish"):
            run_review_action(review, "publish", users[role])


@pytest.mark.parametrize(
    ("role", "can_view", "can_edit"),
    [
        (REVIEWER, True, True),
        (AUDITOR, True, False),
        (INCIDENT_MANAGER, True, False),
        (RESPONDER, True, False),
        (SERVICE_DESK, False, False),
        (REPORTER, False, False),
    ],
)
def test_review_view_and_edit_per_role(review, users, role, can_view, can_edit):
    user = users[role]

    assert rules.can_view_reviews(user) is can_view
    assert rules.can_edit_review(user, review) is can_edit


def test_published_review_is_not_editable(review, users):
    complete_review(review)
    add_item(review, users[RESPONDER])
    review = run_review_action(review, "submit", users[REVIEWER])
    review = run_review_action(review, "publish", users[REVIEWER])

    assert rules.can_edit_review(users[REVIEWER], review) is False


def test_state_field_is_protected(review):
    with pytest.raises(AttributeError):
        review.state = "published"


def test_action_item_open_to_done(review, users):
    item = add_item(review, users[RESPONDER])
    reviewer = users[REVIEWER]

    item = run_action_item_action(item, "start", reviewer)
    assert item.state == "in_progress"
    item = run_action_item_action(item, "complete", reviewer)

    assert item.state == "done"
    assert item.completed_at is not None


def test_action_item_cancel_requires_reason(review, users):
    item = add_item(review, users[RESPONDER])

    with pytest.raises(ReviewActionRefused, match="Say why"):
        run_action_item_action(item, "cancel", users[REVIEWER], reason=" ")
    item = run_action_item_action(
        item, "cancel", users[REVIEWER], reason="Replaced by a vendor fix."
    )

    assert item.state == "cancelled"
    assert item.cancel_reason == "Replaced by a vendor fix."
    assert item.cancelled_at is not None


def test_done_action_item_cannot_restart(review, users):
    item = add_item(review, users[RESPONDER])
    item = run_action_item_action(item, "complete", users[REVIEWER])

    with pytest.raises(ReviewActionRefused, match="not possible from there"):
        run_action_item_action(item, "start", users[REVIEWER])


def test_responder_progresses_own_action_item(review, users):
    item = add_item(review, users[RESPONDER])

    item = run_action_item_action(item, "start", users[RESPONDER])

    assert item.state == "in_progress"


def test_responder_cannot_progress_others_item(review, users):
    item = add_item(review, users["outsider"])

    with pytest.raises(ReviewActionRefused, match="only action items that you own"):
        run_action_item_action(item, "start", users[RESPONDER])


def test_responder_cannot_cancel_own_item(review, users):
    item = add_item(review, users[RESPONDER])

    with pytest.raises(ReviewActionRefused, match="permission to cancel"):
        run_action_item_action(item, "cancel", users[RESPONDER], reason="No.")


def test_auditor_cannot_progress_action_item(review, users):
    item = add_item(review, users[AUDITOR])

    with pytest.raises(ReviewActionRefused):
        run_action_item_action(item, "complete", users[AUDITOR])


def test_overdue_queue_lists_open_past_due_items(review, users):
    today = datetime.date(2026, 3, 10)
    owner = users[RESPONDER]
    late = add_item(review, owner, due_date=datetime.date(2026, 3, 9))
    add_item(review, owner, due_date=datetime.date(2026, 3, 10))
    done = add_item(review, owner, due_date=datetime.date(2026, 3, 1))
    run_action_item_action(done, "complete", users[REVIEWER])

    overdue = list(ActionItem.objects.overdue(today))

    assert overdue == [late]
    assert late.is_overdue(today)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Capacity Planning", "capacity-planning"),
        ("capacity_planning", "capacity-planning"),
        ("  DNS!! ", "dns"),
    ],
)
def test_tag_names_are_normalized(text, expected):
    assert normalize_tag(text) == expected


def test_tag_save_normalizes(db):
    assert Tag.objects.create(name="Change Management").name == "change-management"
