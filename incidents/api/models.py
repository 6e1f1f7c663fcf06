"""Records of the monitoring intake: severity mapping, received alerts, tokens.

The models belong to the ``incidents`` app (their tables and migrations live
there); ``incidents.models`` imports this module so that Django registers them.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.priority import Level


class AlertSeverityMapping(models.Model):
    """The impact and urgency given to incidents opened by alerts of a severity."""

    severity = models.CharField(
        max_length=50,
        unique=True,
        help_text="Value of the alert's severity label, compared case-insensitively.",
    )
    impact = models.PositiveSmallIntegerField(choices=Level.choices)
    urgency = models.PositiveSmallIntegerField(choices=Level.choices)

    class Meta:
        app_label = "incidents"
        ordering = ["impact", "urgency", "severity"]

    def __str__(self):
        return f"{self.severity}: impact {self.impact}, urgency {self.urgency}"

    def save(self, *args, **kwargs):
        self.severity = self.severity.strip().lower()
        super().save(*args, **kwargs)


class AlertEvent(models.Model):
    """One alert state received from Alertmanager, and the incident it went to.

    The fingerprint links repeated notifications of one alert to one incident.
    The unique key (fingerprint, status, starts_at) makes a redelivered
    notification a no-op: Alertmanager resends the same alert with the same
    start time until it ends.
    """

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alert_events",
        help_text="Empty for a resolved alert whose firing was never received.",
    )
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict, blank=True)
    receiver = models.CharField(max_length=200, blank=True)
    generator_url = models.URLField(max_length=1000, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "incidents"
        ordering = ["-received_at", "-id"]
        permissions = [("submit_alerts", "Can submit monitoring alerts")]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint", "status", "starts_at"],
                name="alertevent_unique_delivery",
            )
        ]
        indexes = [
            models.Index(fields=["fingerprint", "-id"], name="alertevent_fingerprint")
        ]

    def __str__(self):
        return f"{self.fingerprint} {self.status} from {self.starts_at:%Y-%m-%d %H:%M}"


def hash_token(key):
    return hashlib.sha256(key.encode()).hexdigest()


class IntakeToken(models.Model):
    """A bearer token of a monitoring system. Only its SHA-256 digest is stored."""

    name = models.CharField(max_length=100, help_text="What uses the token.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="intake_tokens",
        help_text="The intake service account that the token acts as.",
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="First characters, to recognise it."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        app_label = "incidents"
        ordering = ["name", "-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}...)"

    @classmethod
    def issue(cls, user, name):
        """Create a token for the user and return (token, key); the key is shown
        once and never stored."""
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, digest=hash_token(key), prefix=key[:8]
        )
        return token, key


class AlertFingerprintLock(models.Model):
    """One row per alert fingerprint that the intake has seen, locked with
    SELECT ... FOR UPDATE while a delivery handles that fingerprint.

    Without it, concurrent deliveries of one fingerprint on PostgreSQL each
    find no open incident and each open one. The row is never deleted, so a
    delivery can always lock it.
    """

    fingerprint = models.CharField(
        max_length=AlertEvent._meta.get_field("fingerprint").max_length, unique=True
    )

    class Meta:
        app_label = "incidents"

    def __str__(self):
        return self.fingerprint
