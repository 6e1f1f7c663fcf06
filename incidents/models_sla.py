"""Service-level targets, business-hours calendars, escalation markers,
notification preferences and outbound webhooks.

Imported at the bottom of incidents.models, so that Django registers these models
in the incidents app.
"""

import datetime
import zoneinfo

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q

from incidents.priority import Priority

__all__ = [
    "BusinessHoliday",
    "BusinessHoursCalendar",
    "NotificationPreference",
    "ServiceLevelEvent",
    "ServiceLevelTarget",
    "TargetKind",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def validate_time_zone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{value!r} is not an IANA time zone, such as UTC or Europe/Paris."
        ) from None


def parse_weekdays(value):
    """Return the set of ISO weekday numbers (1 = Monday) in a text such as "1,2,5".

    Raises ValidationError naming the first invalid item.
    """
    days = set()
    for item in str(value).split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isdigit() or not 1 <= int(item) <= 7:
            raise ValidationError(
                f"{item!r} is not a weekday number: use 1 (Monday) to 7 (Sunday)."
            )
        days.add(int(item))
    if not days:
        raise ValidationError("List at least one working weekday, such as 1,2,3,4,5.")
    return days


def validate_weekdays(value):
    parse_weekdays(value)


def validate_holiday_country(value):
    if value and value not in holidays.list_supported_countries():
        raise ValidationError(
            f"{value!r} is not a country code that the holidays package knows; "
            "use an ISO 3166 alpha-2 code such as FR or US."
        )


def validate_positive_duration(value):
    if value <= datetime.timedelta(0):
        raise ValidationError(f"{value} is not a positive duration.")


class BusinessHoursCalendar(models.Model):
    """Working hours during which a service-level clock runs, in one time zone."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    working_weekdays = models.CharField(
        max_length=20,
        default="1,2,3,4,5",
        validators=[validate_weekdays],
        help_text="ISO weekday numbers, comma-separated: 1 is Monday, 7 is Sunday.",
    )
    start_time = models.TimeField(
        default=datetime.time(9), help_text="Local start of the working day."
    )
    end_time = models.TimeField(
        default=datetime.time(17), help_text="Local end of the working day."
    )
    holiday_country = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_holiday_country],
        help_text="ISO 3166 country code whose public holidays are days off, "
        "such as FR; empty for none.",
    )
    holiday_subdivision = models.CharField(
        max_length=10,
        blank=True,
        help_text="Optional region code within the country, such as BY for Bavaria.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.start_time and self.end_time and self.start_time >= self.end_time:
            errors["end_time"] = (
                f"The working day must end after it starts ({self.start_time} to "
                f"{self.end_time})."
            )
        if self.holiday_subdivision and not self.holiday_country:
            errors["holiday_subdivision"] = "A subdivision needs a holiday country."
        elif self.holiday_subdivision:
            known = holidays.list_supported_countries().get(self.holiday_country, [])
            if self.holiday_subdivision not in known:
                errors["holiday_subdivision"] = (
                    f"{self.holiday_subdivision!r} is not a subdivision of "
                    f"{self.holiday_country}; known: {', '.join(known) or 'none'}."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def weekdays(self):
        return parse_weekdays(self.working_weekdays)

    def describe_weekdays(self):
        return ", ".join(WEEKDAY_NAMES[day - 1] for day in sorted(self.weekdays))


class BusinessHoliday(models.Model):
    """A day off entered by hand, in addition to the country's public holidays."""

    calendar = models.ForeignKey(
        BusinessHoursCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"], name="business_holiday_unique_date"
            )
        ]

    def __str__(self):
        return f"{self.date} {self.name}".strip()


class TargetKind(models.TextChoices):
    RESPONSE = "response", "Response"
    RESOLUTION = "resolution", "Resolution"


class ServiceLevelTarget(models.Model):
    """The response and resolution targets of one priority, for every service or
    for one service, which then overrides the default of that priority."""

    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    service = models.ForeignKey(
        "incidents.Service",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="service_level_targets",
        help_text="Empty for the default target of this priority.",
    )
    response_target = models.DurationField(
        validators=[validate_positive_duration],
        help_text="Time from report to acknowledgement, such as 00:15:00.",
    )
    resolution_target = models.DurationField(
        validators=[validate_positive_duration],
        help_text="Time from report to resolution, such as 4:00:00 or 3 00:00:00.",
    )
    calendar = models.ForeignKey(
        BusinessHoursCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="targets",
        help_text="Working hours the clock follows; empty for around the clock.",
    )

    class Meta:
        ordering = ["priority", "service__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["priority"],
                condition=Q(service__isnull=True),
                name="sla_target_unique_default_priority",
            ),
            models.UniqueConstraint(
                fields=["priority", "service"],
                condition=Q(service__isnull=False),
                name="sla_target_unique_service_priority",
            ),
        ]

    def __str__(self):
        scope = self.service.name if self.service_id else "all services"
        return f"P{self.priority} ({scope})"

    def clean(self):
        if (
            self.response_target
            and self.resolution_target
            and self.response_target > self.resolution_target
        ):
            raise ValidationError(
                {
                    "resolution_target": (
                        f"The resolution target ({self.resolution_target}) cannot "
                        f"be shorter than the response target "
                        f"({self.response_target})."
                    )
                }
            )

    def duration(self, kind):
        if kind == TargetKind.RESPONSE:
            return self.response_target
        return self.resolution_target


class ServiceLevelEvent(models.Model):
    """The marker that an incident's target reached a state and was escalated.

    The unique constraint makes escalation happen once per incident, target and
    state, however often check_service_levels runs.
    """

    class State(models.TextChoices):
        AT_RISK = "at_risk", "At risk"
        BREACHED = "breached", "Breached"

    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        related_name="service_level_events",
    )
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    state = models.CharField(max_length=20, choices=State.choices)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "kind", "state"],
                name="sla_event_once_per_state",
            )
        ]

    def __str__(self):
        return f"{self.incident_id} {self.kind} {self.state}"


class NotificationPreference(models.Model):
    """The e-mail notifications that one user chooses to receive.

    A user without a row receives all of them.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email_sla_at_risk = models.BooleanField(
        "E-mail when a service level is at risk", default=True
    )
    email_sla_breached = models.BooleanField(
        "E-mail when a service level is breached", default=True
    )
    email_major_incident = models.BooleanField(
        "E-mail when a major incident is declared", default=True
    )

    def __str__(self):
        return f"Notifications of {self.user}"


class WebhookEvent(models.TextChoices):
    INCIDENT_CREATED = "incident.created", "Incident created"
    INCIDENT_TRANSITIONED = "incident.transitioned", "Incident transitioned"
    SLA_AT_RISK = "sla.at_risk", "Service level at risk"
    SLA_BREACHED = "sla.breached", "Service level breached"
    REVIEW_PUBLISHED = "review.published", "Review published"


def validate_webhook_events(value):
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one event.")
    unknown = [event for event in value if event not in WebhookEvent.values]
    if unknown:
        raise ValidationError(
            f"Unknown events: {', '.join(map(str, unknown))}; use "
            f"{', '.join(WebhookEvent.values)}."
        )


class WebhookSubscription(models.Model):
    """An outside URL that receives signed JSON messages for chosen events."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="http or https address that receives a POST per event.",
    )
    events = models.JSONField(default=list, validators=[validate_webhook_events])
    secret = models.CharField(
        max_length=200,
        help_text="Shared key for the HMAC-SHA256 signature of every message.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class WebhookDelivery(models.Model):
    """One message to one subscription, with the outcome of its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "created_at"], name="webhook_status_created")
        ]

    def __str__(self):
        return f"{self.event} to {self.subscription_id} ({self.status})"
