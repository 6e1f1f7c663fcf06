"""Post-incident reviews, action items, lessons-learned tags and trend reports."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from reviews import rules


class Tag(models.Model):
    """A label for lessons learned, such as "dns" or "capacity", shared by reviews."""

    name = models.CharField(
        max_length=50,
        unique=True,
        help_text="Lower case words joined by hyphens; other text is normalized.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.name = normalize_tag(self.name)
        super().save(*args, **kwargs)

    def clean(self):
        if not normalize_tag(self.name):
            raise ValidationError({"name": f"{self.name!r} has no letter or digit."})


def normalize_tag(text):
    """Return text as a tag name: lower case, runs of other characters as one hyphen.

    "Capacity Planning" and "capacity_planning" both become "capacity-planning", so
    one lesson is not split over spellings.
    """
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:50]


class ReviewState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


# Fields a review must fill before it can be published, with their labels.
PUBLISH_REQUIRED_FIELDS = (
    ("summary", "summary"),
    ("customer_impact", "customer impact"),
    ("root_cause", "root cause"),
    ("lessons_learned", "lessons learned"),
)


class PostIncidentReview(FSMModelMixin, models.Model):
    """A blameless review of one or more incidents: what happened, why, and what the
    organisation learned."""

    title = models.CharField(max_length=200)
    state = FSMField(
        max_length=20,
        choices=ReviewState.choices,
        default=ReviewState.DRAFT,
        protected=True,
    )
    incidents = models.ManyToManyField(
        "incidents.Incident", related_name="reviews", blank=False
    )
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="facilitated_reviews",
        help_text="Who runs the review meeting and owns the write-up.",
    )
    due_date = models.DateField(null=True, blank=True)

    summary = models.TextField(blank=True)
    customer_impact = models.TextField(blank=True)
    timeline_highlights = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    contributing_factors = models.TextField(blank=True)
    what_went_well = models.TextField(blank=True)
    what_went_badly = models.TextField(blank=True)
    where_we_got_lucky = models.TextField(blank=True)
    lessons_learned = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, related_name="reviews", blank=True)

    no_action_needed = models.BooleanField(
        default=False,
        help_text="Tick when the review decides that nothing needs to change.",
    )
    no_action_reason = models.TextField(
        blank=True, help_text="Why no action item is needed; required with the tick."
    )

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "post-incident review"
        permissions = [
            ("submit_review", "Can submit a post-incident review for review"),
            ("publish_review", "Can publish a post-incident review"),
            ("return_review", "Can return a post-incident review to draft"),
        ]
        indexes = [models.Index(fields=["state", "due_date"], name="review_state_due")]

    def __str__(self):
        return f"Review {self.pk}: {self.title}"

    def get_absolute_url(self):
        return reverse("admin:reviews_postincidentreview_change", args=[self.pk])

    @property
    def is_editable(self):
        return self.state != ReviewState.PUBLISHED

    def publish_problems(self):
        """Return what is missing before the review can be published, as phrases."""
        problems = [
            f"the {label} is empty"
            for name, label in PUBLISH_REQUIRED_FIELDS
            if not getattr(self, name).strip()
        ]
        if self.no_action_needed:
            if not self.no_action_reason.strip():
                problems.append("'no action needed' is ticked but has no reason")
        elif not self.action_items.exists():
            problems.append(
                "there is no action item (add one, or tick 'no action needed' "
                "and give the reason)"
            )
        return problems

    @transition(
        field=state,
        source=ReviewState.DRAFT,
        target=ReviewState.IN_REVIEW,
        permission=rules.review_permission("submit"),
    )
    def submit(self, *, at=None):
        self.submitted_at = at or timezone.now()

    @transition(
        field=state,
        source=ReviewState.IN_REVIEW,
        target=ReviewState.DRAFT,
        permission=rules.review_permission("return"),
    )
    def return_to_draft(self, *, at=None):
        self.submitted_at = None

    @transition(
        field=state,
        source=ReviewState.IN_REVIEW,
        target=ReviewState.PUBLISHED,
        permission=rules.review_permission("publish"),
    )
    def publish(self, *, by=None, at=None):
        problems = self.publish_problems()
        if problems:
            raise ValidationError(
                "This review cannot be published yet: " + "; ".join(problems) + "."
            )
        self.published_at = at or timezone.now()
        self.published_by = by


class ActionItemKind(models.TextChoices):
    PREVENT = "prevent", "Prevent"
    DETECT = "detect", "Detect"
    MITIGATE = "mitigate", "Mitigate"
    PROCESS = "process", "Process"


class ActionItemState(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


ACTION_ITEM_OPEN_STATES = (ActionItemState.OPEN, ActionItemState.IN_PROGRESS)


class ActionItemQuerySet(models.QuerySet):
    def overdue(self, today=None):
        """Items whose due date has passed and that are neither done nor cancelled."""
        today = today or timezone.localdate()
        return self.filter(state__in=ACTION_ITEM_OPEN_STATES, due_date__lt=today)


class ActionItem(FSMModelMixin, models.Model):
    """A change the organisation commits to after a review, with an owner and a
    due date."""

    review = models.ForeignKey(
        PostIncidentReview, on_delete=models.CASCADE, related_name="action_items"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="review_action_items",
    )
    due_date = models.DateField()
    kind = models.CharField(max_length=20, choices=ActionItemKind.choices)
    state = FSMField(
        max_length=20,
        choices=ActionItemState.choices,
        default=ActionItemState.OPEN,
        protected=True,
    )
    cancel_reason = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        permissions = [
            ("update_own_actionitem", "Can progress action items they own"),
        ]
        indexes = [
            models.Index(fields=["state", "due_date"], name="actionitem_state_due"),
            models.Index(fields=["created_at"], name="actionitem_created"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("admin:reviews_actionitem_change", args=[self.pk])

    def is_overdue(self, today=None):
        today = today or timezone.localdate()
        return self.state in ACTION_ITEM_OPEN_STATES and self.due_date < today

    @transition(
        field=state,
        source=ActionItemState.OPEN,
        target=ActionItemState.IN_PROGRESS,
        permission=rules.action_item_permission("start"),
    )
    def start(self, *, at=None):
        pass

    @transition(
        field=state,
        source=ACTION_ITEM_OPEN_STATES,
        target=ActionItemState.DONE,
        permission=rules.action_item_permission("complete"),
    )
    def complete(self, *, at=None):
        self.completed_at = at or timezone.now()

    @transition(
        field=state,
        source=ACTION_ITEM_OPEN_STATES,
        target=ActionItemState.CANCELLED,
        permission=rules.action_item_permission("cancel"),
    )
    def cancel(self, *, reason, at=None):
        if not (reason or "").strip():
            raise ValidationError({"reason": "Say why the action item is cancelled."})
        self.cancel_reason = reason.strip()
        self.cancelled_at = at or timezone.now()


class PeriodKind(models.TextChoices):
    WEEK = "week", "ISO week"
    MONTH = "month", "Calendar month"
    QUARTER = "quarter", "Quarter"


class TrendReport(models.Model):
    """The figures of one period, built once and kept so that they can be compared
    and exported later."""

    period_kind = models.CharField(max_length=10, choices=PeriodKind.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive end of the period.")
    time_zone = models.CharField(max_length=64)
    built_at = models.DateTimeField(default=timezone.now)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the scheduled command built it.",
    )
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-period_start", "period_kind"]
        permissions = [("build_trendreport", "Can build trend reports")]
        constraints = [
            models.UniqueConstraint(
                fields=["period_kind", "period_start"],
                name="trendreport_one_per_period",
            )
        ]

    def __str__(self):
        return f"{self.get_period_kind_display()} report {self.label}"

    def get_absolute_url(self):
        return reverse("admin:reviews_trendreport_change", args=[self.pk])

    @property
    def label(self):
        return self.data.get("period_label") or self.period_start.date().isoformat()
