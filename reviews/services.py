"""Operations on reviews and action items that the admin, the API and the signal
handler share.

Each one runs in a transaction, checks reviews.rules and either stores the whole
change or nothing.
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from incidents.models import TimelineEntry
from reviews import rules
from reviews.models import ActionItem, PostIncidentReview

logger = logging.getLogger(__name__)


class ReviewActionRefused(Exception):
    """Raised when the state or the user's permissions do not allow an action;
    the message names the rule or the missing data."""


def add_business_days(start, days):
    """Return the date `days` working days after `start`, skipping Saturdays and
    Sundays. Public holidays are not skipped."""
    current = start
    remaining = days
    while remaining > 0:
        current += datetime.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def review_due_date(resolved_at):
    local_day = timezone.localtime(resolved_at).date()
    return add_business_days(local_day, settings.IMS_REVIEW_DUE_BUSINESS_DAYS)


def open_review(incident, *, actor=None, facilitator=None, due_date=None):
    """Create a draft review of the incident and note it on the incident's
    timeline. Returns (review, created): the existing review, and False, when
    the incident already has one."""
    with transaction.atomic():
        existing = (
            PostIncidentReview.objects.filter(incidents=incident).order_by("id").first()
        )
        if existing is not None:
            return existing, False

        if due_date is None:
            due_date = review_due_date(incident.resolved_at or timezone.now())
        review = PostIncidentReview.objects.create(
            title=f"{incident.number} {incident.title}"[:200],
            facilitator=facilitator,
            due_date=due_date,
            root_cause=incident.root_cause,
        )
        review.incidents.add(incident)
        record_review_opened(review, [incident], actor)
    logger.info(
        "review %s opened for incident %s, due %s",
        review.pk,
        incident.number,
        due_date.isoformat(),
    )
    return review, True


def record_review_opened(review, incidents, actor=None):
    """Append a timeline entry to each incident saying that the review opened."""
    due = review.due_date.isoformat() if review.due_date else None
    message = f"Post-incident review {review.pk} opened"
    message += f", due {due}." if due else "."
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            actor=actor,
            actor_label="" if actor else "system",
            kind=TimelineEntry.Kind.SYSTEM,
            message=message,
            data={"review": review.pk, "due_date": due},
        )
        for incident in incidents
    )


def record_review_removed(review, incidents, actor=None):
    """Append a timeline entry to each incident saying that the review no
    longer covers it."""
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            actor=actor,
            actor_label="" if actor else "system",
            kind=TimelineEntry.Kind.SYSTEM,
            message=f"Removed from post-incident review {review.pk}.",
            data={"review": review.pk, "removed": True},
        )
        for incident in incidents
    )


def incidents_already_reviewed(incidents, exclude_review=None):
    """Return messages naming each incident that another review already covers."""
    links = PostIncidentReview.incidents.through.objects.filter(incident__in=incidents)
    if exclude_review is not None:
        links = links.exclude(postincidentreview=exclude_review)
    pairs = links.values_list("incident__number", "postincidentreview_id")
    return [
        f"{number} already has post-incident review {pk}."
        for number, pk in sorted(set(pairs))
    ]


def start_review(actor, incident):
    """Open a review of any incident on a reviewer's request."""
    if not actor.has_perm("reviews.add_postincidentreview"):
        raise ReviewActionRefused(
            "Your role does not include the permission to start reviews."
        )
    return open_review(incident, actor=actor, facilitator=actor)


def _apply(obj, method_name, refusal, kwargs):
    """Run one transition on a row locked for the change, or raise
    ReviewActionRefused with the reason; returns the saved object."""
    if refusal:
        raise ReviewActionRefused(refusal)
    try:
        getattr(obj, method_name)(**kwargs)
    except TransitionNotAllowed:
        raise ReviewActionRefused(
            f"{obj} is {obj.get_state_display().lower()}; "
            f"{method_name.replace('_', ' ')} is not possible from there."
        ) from None
    except ValidationError as error:
        raise ReviewActionRefused(" ".join(error.messages)) from None
    obj.save()
    return obj


REVIEW_METHODS = {"submit": "submit", "return": "return_to_draft", "publish": "publish"}


def run_review_action(review, action, actor):
    """Submit, return to draft or publish a review as the actor."""
    if action not in REVIEW_METHODS:
        raise ReviewActionRefused(f"{action!r} is not a review action.")
    with transaction.atomic():
        locked = PostIncidentReview.objects.select_for_update().get(pk=review.pk)
        kwargs = {"by": actor} if action == "publish" else {}
        refusal = rules.review_refusal(actor, locked, action)
        _apply(locked, REVIEW_METHODS[action], refusal, kwargs)
    logger.info(
        "review %s: %s by %s, now %s",
        locked.pk,
        action,
        actor.get_username(),
        locked.state,
    )
    return locked


def run_action_item_action(item, action, actor, *, reason=""):
    """Start, complete or cancel an action item as the actor."""
    if action not in rules.ACTION_ITEM_ACTIONS:
        raise ReviewActionRefused(f"{action!r} is not an action item action.")
    with transaction.atomic():
        locked = ActionItem.objects.select_for_update().get(pk=item.pk)
        kwargs = {"reason": reason} if action == "cancel" else {}
        refusal = rules.action_item_refusal(actor, locked, action)
        _apply(locked, action, refusal, kwargs)
    logger.info(
        "action item %s: %s by %s, now %s",
        locked.pk,
        action,
        actor.get_username(),
        locked.state,
    )
    return locked
