"""Prometheus Alertmanager webhook intake.

Alertmanager (0.25 and newer) posts JSON "version 4" notifications: a group of
alerts, each with labels, annotations, startsAt/endsAt and a fingerprint that
identifies the alert by its labels. Each notification is validated as a whole
and processed in one transaction, so a malformed one stores nothing:

* a firing alert whose fingerprint has no open incident opens one;
* a firing alert already linked to an open incident adds an alert entry to its
  timeline;
* a resolved alert adds an alert entry to the incident of its fingerprint and,
  when that incident is in progress or investigating, mitigates it (never
  resolves or closes it);
* a notification received again (same fingerprint, status and startsAt) is
  skipped, because Alertmanager redelivers on retries and repeat intervals.
"""

import dataclasses
import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import services
from incidents.api.authentication import IntakeTokenAuthentication
from incidents.api.base import error_response
from incidents.api.errors import FieldErrors
from incidents.api.models import (
    AlertEvent,
    AlertFingerprintLock,
    AlertSeverityMapping,
)
from incidents.api.permissions import CanSubmitAlerts
from incidents.api.throttling import SettingsScopedRateThrottle
from incidents.forms import ReportForm
from incidents.models import (
    EARLIEST_INCIDENT_TIME,
    OPEN_STATES,
    Incident,
    IncidentConflict,
    Service,
    Source,
    Status,
    TimelineEntry,
)

logger = logging.getLogger(__name__)

INTAKE_GROUP = "Alert intake"
INTAKE_PERMISSIONS = (
    "incidents.submit_alerts",
    "incidents.report_incident",
    "incidents.comment_incident",
    "incidents.mitigate_incident",
    "incidents.act_on_any_incident",
)
# States in which a resolved alert mitigates its incident.
MITIGATE_ON_RESOLVE_STATES = (Status.IN_PROGRESS, Status.INVESTIGATING)
# Alertmanager sends this endsAt for alerts that have not ended.
ZERO_TIME_YEAR = 1
TITLE_MAX_LENGTH = Incident._meta.get_field("title").max_length
URL_MAX_LENGTH = AlertEvent._meta.get_field("generator_url").max_length
FINGERPRINT_MAX_LENGTH = AlertEvent._meta.get_field("fingerprint").max_length


# Validation -----------------------------------------------------------------


@dataclasses.dataclass
class Alert:
    status: str
    labels: dict
    annotations: dict
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None
    generator_url: str
    fingerprint: str

    @property
    def name(self):
        return self.labels.get("alertname", "")


@dataclasses.dataclass
class Notification:
    receiver: str
    status: str
    group_key: str
    truncated_alerts: int
    external_url: str
    common_labels: dict
    alerts: list


class PayloadErrors:
    """Collects "path: problem" messages while a payload is checked."""

    def __init__(self):
        self.errors = {}

    def add(self, path, message):
        self.errors.setdefault(path, []).append(message)

    def string(self, data, key, path, *, required=True, choices=None):
        if key not in data:
            if required:
                self.add(path, "missing")
            return ""
        value = data[key]
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {type(value).__name__}")
            return ""
        if "\x00" in value:
            # PostgreSQL text columns cannot store NUL, and Django's forms reject it.
            self.add(path, f"{value!r} contains a NUL character")
            return ""
        if choices and value not in choices:
            self.add(path, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def string_map(self, data, key, path, *, required=True):
        if key not in data:
            if required:
                self.add(path, "missing")
            return {}
        value = data[key]
        if not isinstance(value, dict):
            self.add(path, f"must be an object, not {type(value).__name__}")
            return {}
        for name, item in value.items():
            if "\x00" in name:
                self.add(f"{path}.{name!r}", "name contains a NUL character")
            elif not isinstance(item, str):
                self.add(f"{path}.{name}", "must be a string")
            elif "\x00" in item:
                self.add(f"{path}.{name}", f"{item!r} contains a NUL character")
        return value

    def timestamp(self, data, key, path, *, required=True):
        text = self.string(data, key, path, required=required)
        if not text:
            if required and key in data:
                self.add(path, "must not be empty")
            return None
        try:
            value = datetime.datetime.fromisoformat(text)
        except ValueError:
            self.add(path, f"{text!r} is not an RFC 3339 timestamp")
            return None
        if "T" not in text.upper() or value.tzinfo is None:
            self.add(path, f"{text!r} is not an RFC 3339 timestamp with a time zone")
            return None
        if value.year == ZERO_TIME_YEAR:
            return None
        try:
            # Django stores UTC, so an offset that moves the time out of years
            # 1 to 9999 cannot be stored.
            value.astimezone(datetime.UTC)
        except OverflowError:
            self.add(path, f"{text!r} is out of range once converted to UTC")
            return None
        if value < EARLIEST_INCIDENT_TIME:
            # Incidents reject times before 1970 as typos, so an alert may not
            # carry one either.
            self.add(path, f"{text!r} is before 1970")
            return None
        return value


def parse_notification(payload):
    """Return the Notification in an Alertmanager webhook body.

    Raises FieldErrors naming every invalid field by its path, such as
    ``alerts[2].fingerprint``.
    """
    check = PayloadErrors()
    if not isinstance(payload, dict):
        check.add("body", "must be a JSON object")
        raise FieldErrors(check.errors, detail="Invalid Alertmanager payload.")

    version = payload.get("version")
    if version != "4":
        check.add("version", "missing" if version is None else f"{version!r} is not 4")
    status = check.string(payload, "status", "status", choices=("firing", "resolved"))
    receiver = check.string(payload, "receiver", "receiver")
    group_key = check.string(payload, "groupKey", "groupKey")
    external_url = check.string(payload, "externalURL", "externalURL", required=False)
    check.string_map(payload, "groupLabels", "groupLabels", required=False)
    common_labels = check.string_map(
        payload, "commonLabels", "commonLabels", required=False
    )
    check.string_map(payload, "commonAnnotations", "commonAnnotations", required=False)
    truncated = payload.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        check.add("truncatedAlerts", "must be a whole number of 0 or more")
        truncated = 0

    alerts = []
    raw_alerts = payload.get("alerts")
    if raw_alerts is None:
        check.add("alerts", "missing")
    elif not isinstance(raw_alerts, list):
        check.add("alerts", f"must be a list, not {type(raw_alerts).__name__}")
    else:
        for index, raw in enumerate(raw_alerts):
            alert = _parse_alert(raw, f"alerts[{index}]", check)
            if alert is not None:
                alerts.append(alert)

    if check.errors:
        raise FieldErrors(check.errors, detail="Invalid Alertmanager payload.")
    return Notification(
        receiver=receiver,
        status=status,
        group_key=group_key,
        truncated_alerts=truncated,
        external_url=external_url,
        common_labels=common_labels,
        alerts=alerts,
    )


def _parse_alert(raw, path, check):
    """Return the Alert in one element of ``alerts``, or None after recording
    its errors in check."""
    if not isinstance(raw, dict):
        check.add(path, "must be an object")
        return None
    errors_before = len(check.errors)

    status = check.string(
        raw, "status", f"{path}.status", choices=("firing", "resolved")
    )
    labels = check.string_map(raw, "labels", f"{path}.labels")
    annotations = check.string_map(
        raw, "annotations", f"{path}.annotations", required=False
    )

    starts_at = check.timestamp(raw, "startsAt", f"{path}.startsAt")
    if (
        "startsAt" in raw
        and starts_at is None
        and f"{path}.startsAt" not in check.errors
    ):
        check.add(f"{path}.startsAt", "must not be the zero time")
    ends_at = check.timestamp(raw, "endsAt", f"{path}.endsAt", required=False)
    if status == "resolved" and "endsAt" in raw and ends_at is None:
        if f"{path}.endsAt" not in check.errors:
            check.add(f"{path}.endsAt", "a resolved alert needs its end time")

    if status == "resolved" and starts_at and ends_at and ends_at < starts_at:
        check.add(
            f"{path}.endsAt",
            f"{raw['endsAt']!r} is before startsAt {raw['startsAt']!r}",
        )

    generator_url = check.string(
        raw, "generatorURL", f"{path}.generatorURL", required=False
    )
    fingerprint = check.string(raw, "fingerprint", f"{path}.fingerprint")
    if "fingerprint" in raw and isinstance(raw["fingerprint"], str):
        if not fingerprint.strip():
            check.add(f"{path}.fingerprint", "must not be empty")
        elif len(fingerprint) > FINGERPRINT_MAX_LENGTH:
            check.add(
                f"{path}.fingerprint",
                f"longer than {FINGERPRINT_MAX_LENGTH} characters",
            )

    if len(check.errors) > errors_before:
        return None
    return Alert(
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        generator_url=generator_url[:URL_MAX_LENGTH],
        fingerprint=fingerprint,
    )


# Processing -----------------------------------------------------------------


@dataclasses.dataclass
class IntakeResult:
    opened: list = dataclasses.field(default_factory=list)
    updated: list = dataclasses.field(default_factory=list)
    resolved: list = dataclasses.field(default_factory=list)
    mitigated: list = dataclasses.field(default_factory=list)
    duplicates: int = 0
    unmatched: int = 0

    def as_dict(self):
        return {
            "opened": self.opened,
            "updated": self.updated,
            "resolved": self.resolved,
            "mitigated": self.mitigated,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
        }


def process_notification(notification, account):
    """Apply every alert of the notification, all in one transaction."""
    result = IntakeResult()
    mappings = {m.severity: m for m in AlertSeverityMapping.objects.all()}
    with transaction.atomic():
        _lock_fingerprints(notification.alerts)
        for alert in notification.alerts:
            if _already_received(alert):
                result.duplicates += 1
                continue
            try:
                # A savepoint per alert: if a concurrent delivery stored the same
                # alert first, the unique constraint rejects this one and only
                # its own rows are rolled back.
                with transaction.atomic():
                    if alert.status == "firing":
                        _receive_firing(alert, notification, account, mappings, result)
                    else:
                        _receive_resolved(alert, notification, account, result)
            except IntegrityError:
                logger.info(
                    "intake: alert %s received twice at once", alert.fingerprint
                )
                result.duplicates += 1
    return result


def _lock_fingerprints(alerts):
    """Lock the fingerprints of these alerts until the transaction ends.

    Concurrent deliveries of one fingerprint then run one after the other, so
    only the first opens an incident. On PostgreSQL an insert of a row that
    another open transaction inserted waits for that transaction, and SELECT
    ... FOR UPDATE waits for the lock on an existing row. Sorting the
    fingerprints makes every delivery take its locks in the same order, which
    avoids deadlocks between two deliveries. SQLite ignores FOR UPDATE, but it
    already runs one write transaction at a time.
    """
    fingerprints = sorted({alert.fingerprint for alert in alerts})
    if not fingerprints:
        return
    AlertFingerprintLock.objects.bulk_create(
        [AlertFingerprintLock(fingerprint=value) for value in fingerprints],
        ignore_conflicts=True,
    )
    list(
        AlertFingerprintLock.objects.select_for_update()
        .filter(fingerprint__in=fingerprints)
        .order_by("fingerprint")
        .values_list("pk", flat=True)
    )


def _already_received(alert):
    return AlertEvent.objects.filter(
        fingerprint=alert.fingerprint, status=alert.status, starts_at=alert.starts_at
    ).exists()


def _linked_incident(fingerprint, *, open_only):
    events = AlertEvent.objects.filter(
        fingerprint=fingerprint, incident__isnull=False
    ).select_related("incident")
    if open_only:
        events = events.filter(incident__status__in=OPEN_STATES)
    event = events.order_by("-id").first()
    return event.incident if event else None


def _record(alert, notification, incident):
    AlertEvent.objects.create(
        fingerprint=alert.fingerprint,
        status=alert.status,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        incident=incident,
        labels=alert.labels,
        annotations=alert.annotations,
        receiver=notification.receiver,
        generator_url=alert.generator_url,
    )


def _timeline_alert(incident, alert, notification, message):
    TimelineEntry.objects.create(
        incident=incident,
        kind=TimelineEntry.Kind.ALERT,
        actor_label=f"alertmanager:{notification.receiver}"[:150],
        message=message,
        data={
            "status": alert.status,
            "fingerprint": alert.fingerprint,
            "labels": alert.labels,
            "annotations": alert.annotations,
            "startsAt": alert.starts_at.isoformat(),
            "endsAt": alert.ends_at.isoformat() if alert.ends_at else None,
            "generatorURL": alert.generator_url,
        },
    )


def _receive_firing(alert, notification, account, mappings, result):
    name = alert.name or alert.fingerprint
    since = alert.starts_at.isoformat()
    incident = _linked_incident(alert.fingerprint, open_only=True)
    if incident is None:
        incident = _open_incident(alert, account, mappings)
        outcome, message = result.opened, f"Alert {name} firing since {since}."
    else:
        outcome, message = result.updated, f"Alert {name} firing again since {since}."
    _record(alert, notification, incident)
    _timeline_alert(incident, alert, notification, message)
    outcome.append(incident.number)


def _receive_resolved(alert, notification, account, result):
    incident = _linked_incident(alert.fingerprint, open_only=True) or _linked_incident(
        alert.fingerprint, open_only=False
    )
    _record(alert, notification, incident)
    if incident is None:
        # Its firing was never received (for example before the intake was set
        # up): there is nothing to attach it to, and a resolved alert opens none.
        result.unmatched += 1
        return

    ended = (alert.ends_at or timezone.now()).isoformat()
    name = alert.name or alert.fingerprint
    _timeline_alert(incident, alert, notification, f"Alert {name} resolved at {ended}.")
    if incident.status in MITIGATE_ON_RESOLVE_STATES:
        _mitigate(incident, account, ended, result)
    result.resolved.append(incident.number)


def _mitigate(incident, account, ended, result):
    try:
        with transaction.atomic():
            services.run_action(
                incident,
                "mitigate",
                account,
                {"workaround": f"Alert resolved at {ended}."},
                expected_version=incident.version,
            )
    except (services.ActionRefused, services.ActionInvalid, IncidentConflict) as error:
        # The alert is recorded either way; a person decides on the state.
        logger.warning(
            "intake: resolved alert did not mitigate %s: %s", incident.number, error
        )
        return
    result.mitigated.append(incident.number)


def _open_incident(alert, account, mappings):
    form = ReportForm(
        {
            "title": _title(alert),
            "description": _description(alert),
            "source": Source.ALERTMANAGER,
            # An alert clock ahead of ours must not make the report invalid.
            "detected_at": min(alert.starts_at, timezone.now()),
            "started_at": min(alert.starts_at, timezone.now()),
            "service": _service_id(alert.labels),
            "location": alert.labels.get("instance", "")[:100],
        },
        alert_intake=True,
    )
    if not form.is_valid():
        # Every value above is built from checked data, so this is a bug.
        raise RuntimeError(
            f"Alert {alert.fingerprint} gave an invalid report: {form.errors.as_text()}"
        )
    severity = alert.labels.get("severity", "").strip().lower()
    mapping = mappings.get(severity)
    if mapping is not None:
        impact, urgency = mapping.impact, mapping.urgency
    else:
        impact = settings.IMS_ALERT_DEFAULT_IMPACT
        urgency = settings.IMS_ALERT_DEFAULT_URGENCY
    form.instance.set_impact_urgency(impact, urgency)
    return services.create_reported_incident(form, account, reporter=None)


def _title(alert):
    name = alert.name or "Alert"
    summary = alert.annotations.get("summary", "").strip()
    title = f"{name}: {summary}" if summary else name
    if len(title) > TITLE_MAX_LENGTH:
        title = title[: TITLE_MAX_LENGTH - 1] + "…"
    return title


def _description(alert):
    lines = []
    description = alert.annotations.get("description", "").strip()
    if description:
        lines += [description, ""]
    lines.append("Labels:")
    lines += [f"  {name}={value}" for name, value in sorted(alert.labels.items())]
    extra = {
        name: value
        for name, value in alert.annotations.items()
        if name not in ("summary", "description")
    }
    if extra:
        lines.append("Annotations:")
        lines += [f"  {name}={value}" for name, value in sorted(extra.items())]
    if alert.generator_url:
        lines.append(f"Source: {alert.generator_url}")
    return "\n".join(lines)


def _service_id(labels):
    for label in settings.IMS_ALERT_SERVICE_LABELS:
        name = labels.get(label, "").strip()
        if not name:
            continue
        service = Service.objects.filter(name__iexact=name).only("pk").first()
        if service is not None:
            return service.pk
    return None


# Account --------------------------------------------------------------------


def intake_group():
    """Return the "Alert intake" group with exactly its permissions."""
    group, _ = Group.objects.get_or_create(name=INTAKE_GROUP)
    wanted = []
    for name in INTAKE_PERMISSIONS:
        app_label, codename = name.split(".")
        wanted.append(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    group.permissions.set(wanted)
    return group


def intake_account(username):
    """Return the intake service account, created with no usable password."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"is_staff": False, "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(intake_group())
    return user, created


# View -----------------------------------------------------------------------


class AlertmanagerIntakeView(APIView):
    """Receive an Alertmanager webhook notification."""

    authentication_classes = [IntakeTokenAuthentication]
    permission_classes = [IsAuthenticated, CanSubmitAlerts]
    throttle_classes = [SettingsScopedRateThrottle]
    throttle_scope = "intake"

    @extend_schema(
        summary="Receive an Alertmanager webhook notification (version 4)",
        tags=["intake"],
        request=inline_serializer(
            "AlertmanagerNotification",
            fields={
                "version": serializers.CharField(),
                "groupKey": serializers.CharField(),
                "truncatedAlerts": serializers.IntegerField(required=False),
                "status": serializers.ChoiceField(choices=["firing", "resolved"]),
                "receiver": serializers.CharField(),
                "groupLabels": serializers.DictField(child=serializers.CharField()),
                "commonLabels": serializers.DictField(child=serializers.CharField()),
                "commonAnnotations": serializers.DictField(
                    child=serializers.CharField()
                ),
                "externalURL": serializers.CharField(),
                "alerts": serializers.ListField(child=serializers.DictField()),
            },
        ),
        responses={
            200: inline_serializer(
                "IntakeResult",
                fields={
                    "opened": serializers.ListField(child=serializers.CharField()),
                    "updated": serializers.ListField(child=serializers.CharField()),
                    "resolved": serializers.ListField(child=serializers.CharField()),
                    "mitigated": serializers.ListField(child=serializers.CharField()),
                    "duplicates": serializers.IntegerField(),
                    "unmatched": serializers.IntegerField(),
                },
            ),
            400: error_response("Invalid payload; `errors` names each field path."),
            401: error_response("Missing, invalid or revoked intake token."),
            403: error_response("The account may not submit alerts."),
            429: error_response("Too many deliveries; Alertmanager retries later."),
        },
    )
    def post(self, request):
        notification = parse_notification(request.data)
        result = process_notification(notification, request.user)
        logger.info(
            "intake: receiver=%s groupKey=%s alerts=%d truncated=%d opened=%d "
            "updated=%d resolved=%d mitigated=%d duplicates=%d unmatched=%d",
            notification.receiver,
            notification.group_key,
            len(notification.alerts),
            notification.truncated_alerts,
            len(result.opened),
            len(result.updated),
            len(result.resolved),
            len(result.mitigated),
            result.duplicates,
            result.unmatched,
        )
        if notification.truncated_alerts:
            logger.warning(
                "intake: receiver=%s groupKey=%s dropped %d alerts (max_alerts); "
                "raise max_alerts in the Alertmanager webhook config to see them",
                notification.receiver,
                notification.group_key,
                notification.truncated_alerts,
            )
        return Response(result.as_dict())
