"""Incidents, what they affect, who works on them, and their append-only timeline."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from incidents import rules
from incidents.priority import Level, Priority, derive_priority


class Team(models.Model):
    """An assignment group: the people an incident can be routed to."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True, help_text="Address for team notifications.")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teams", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Category(models.Model):
    """A node of the two-level category tree: a category, or a subcategory of one."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="Empty for a top-level category.",
    )

    class Meta:
        ordering = ["parent__name", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="category_unique_name_in_parent"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="category_unique_top_level_name",
            ),
        ]

    def __str__(self):
        if self.parent_id:
            return f"{self.parent.name} > {self.name}"
        return self.name

    def clean(self):
        if self.parent_id and self.parent.parent_id:
            raise ValidationError(
                {
                    "parent": f"{self.parent} is itself a subcategory; categories "
                    "have two levels only."
                }
            )
        if self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": "A category cannot be its own parent."})


class Service(models.Model):
    """A configuration item that incidents affect, such as an application or host."""

    class Tier(models.IntegerChoices):
        TIER_1 = 1, "Tier 1 - business critical"
        TIER_2 = 2, "Tier 2 - important"
        TIER_3 = 3, "Tier 3 - standard"
        TIER_4 = 4, "Tier 4 - low"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owning_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
    )
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.TIER_3)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class NumberSequence(models.Model):
    """A counter that only grows, so that an incident number is never reused."""

    name = models.CharField(max_length=50, primary_key=True)
    last_value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}: {self.last_value}"


INCIDENT_NUMBER_PREFIX = "INC"
INCIDENT_NUMBER_DIGITS = 7


def format_incident_number(value):
    return f"{INCIDENT_NUMBER_PREFIX}{value:0{INCIDENT_NUMBER_DIGITS}d}"


def next_incident_number():
    """Take the next incident number from the counter row, inside the caller's
    transaction.

    The UPDATE takes the row's write lock, so two transactions never read the same
    value. A rolled-back transaction gives its value back, which is safe because no
    stored incident ever carried it.
    """
    with transaction.atomic():
        updated = NumberSequence.objects.filter(name="incident").update(
            last_value=F("last_value") + 1
        )
        if not updated:
            NumberSequence.objects.create(name="incident", last_value=1)
        value = NumberSequence.objects.get(name="incident").last_value
    return format_incident_number(value)


# Earliest time an incident's clock may name. Older values are typos, and values
# near year 1 overflow when converted to UTC for the database.
EARLIEST_INCIDENT_TIME = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# Clock skew allowed between a reporter's clock and ours.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)


def incident_time_errors(started_at, detected_at, now=None):
    """Return {field: message} for impact and detection times that cannot be
    true: in the future, before 1970, or an impact that starts after it was
    detected."""
    now = now or timezone.now()
    errors = {}
    for name, value in (("detected_at", detected_at), ("started_at", started_at)):
        if value is None:
            continue
        if value > now + FUTURE_TOLERANCE:
            errors[name] = f"{value.isoformat()} is in the future."
        elif value < EARLIEST_INCIDENT_TIME:
            errors[name] = f"{value.isoformat()} is before 1970."
    if started_at and detected_at and started_at > detected_at and not errors:
        errors["started_at"] = "The impact cannot start after it was detected."
    return errors


class IncidentConflict(Exception):
    """Raised when an incident changed in the database since it was read."""


class Status(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    IN_PROGRESS = "in_progress", "In progress"
    MITIGATED = "mitigated", "Mitigated"
    INVESTIGATING = "investigating", "Investigating"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATES = (
    Status.NEW,
    Status.TRIAGED,
    Status.IN_PROGRESS,
    Status.MITIGATED,
    Status.INVESTIGATING,
    Status.ON_HOLD,
)
# States in which someone is working on the incident after triage.
WORKING_STATES = (Status.IN_PROGRESS, Status.MITIGATED, Status.INVESTIGATING)
HOLDABLE_STATES = (Status.NEW, Status.TRIAGED, *WORKING_STATES)


class Source(models.TextChoices):
    WEB = "web", "Web form"
    API = "api", "API"
    ALERTMANAGER = "alertmanager", "Alertmanager"
    PHONE = "phone", "Phone"
    EMAIL = "email", "E-mail"
    SELF_SERVICE = "self_service", "Self service"
    DIRECT = "direct", "Direct opening"
    IVR = "ivr", "IVR"


class HoldReason(models.TextChoices):
    CALLER = "caller", "Awaiting caller information"
    VENDOR = "vendor", "Awaiting vendor"
    PROBLEM = "problem", "Awaiting problem investigation"
    EVIDENCE = "evidence", "Awaiting evidence"
    CHANGE = "change", "Awaiting change"


class CancelReason(models.TextChoices):
    NOT_AN_INCIDENT = "not_an_incident", "Not an incident"
    DUPLICATE = "duplicate", "Duplicate"
    RAISED_IN_ERROR = "raised_in_error", "Raised in error"


class ResolutionCode(models.TextChoices):
    FIXED = "fixed", "Fixed"
    WORKAROUND = "workaround", "Permanent workaround"
    CONFIGURATION = "configuration", "Configuration change"
    HARDWARE = "hardware", "Hardware replaced"
    SOFTWARE = "software", "Software fix or rollback"
    USER_ERROR = "user_error", "User error"
    NO_FAULT_FOUND = "no_fault_found", "No fault found"
    RESOLVED_BY_CALLER = "resolved_by_caller", "Resolved by caller"
    OTHER = "other", "Other"


class IncidentQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATES)

    def major(self):
        return self.filter(MAJOR_Q)


# P1 incidents are major by definition; an incident manager can declare others major.
MAJOR_Q = Q(priority=Priority.P1) | Q(declared_major=True)


class Incident(FSMModelMixin, models.Model):
    """An interruption or degradation of a service, from first report to closure."""

    number = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField()
    source = models.CharField(max_length=20, choices=Source.choices)
    status = FSMField(
        max_length=20, choices=Status.choices, default=Status.NEW, protected=True
    )
    # Incremented by every save; it is the optimistic lock and the API's ETag.
    version = models.PositiveIntegerField(default=1, editable=False)

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_incidents",
        help_text="The person who reported it; empty when an alert opened it.",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opened_incidents",
        help_text="The account that logged it, for example a service desk agent.",
    )
    location = models.CharField(max_length=100, blank=True)

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    impact = models.PositiveSmallIntegerField(choices=Level.choices, null=True)
    urgency = models.PositiveSmallIntegerField(choices=Level.choices, null=True)
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, null=True, editable=False
    )
    priority_overridden = models.BooleanField(default=False, editable=False)
    declared_major = models.BooleanField(default=False, editable=False)
    assignment_group = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_incidents",
    )

    # Lifecycle timestamps. The metric names (time to acknowledge and so on) are
    # measured between these fields.
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the impact started, if known."
    )
    detected_at = models.DateTimeField(help_text="When the problem was noticed.")
    reported_at = models.DateTimeField(default=timezone.now, db_index=True)
    triaged_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True, editable=False)
    mitigated_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Service-level due times, derived by incidents.sla from the timestamps above
    # and the hold periods, and stored only so that queues can filter on them.
    # Null when no target applies or while the clock is paused before reaching them.
    response_due_at = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True
    )
    response_at_risk_at = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True
    )
    resolution_due_at = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True
    )
    resolution_at_risk_at = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True
    )

    workaround = models.TextField(blank=True)
    investigation_notes = models.TextField(blank=True)
    resolution_code = models.CharField(
        max_length=30, choices=ResolutionCode.choices, blank=True
    )
    resolution_notes = models.TextField(blank=True)
    recovery_notes = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    closure_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closure_notes = models.TextField(blank=True)

    hold_reason = models.CharField(
        max_length=20, choices=HoldReason.choices, blank=True
    )
    hold_note = models.TextField(blank=True)
    # The state to return to when the hold ends.
    held_from_status = models.CharField(
        max_length=20, choices=Status.choices, blank=True, editable=False
    )
    cancel_reason = models.CharField(
        max_length=20, choices=CancelReason.choices, blank=True
    )
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    related_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recurrences",
        help_text="An earlier, closed incident that this one repeats.",
    )

    reopen_count = models.PositiveIntegerField(default=0, editable=False)
    reassignment_count = models.PositiveIntegerField(default=0, editable=False)

    # Values recorded by the system an incident was imported from (see
    # incidents.importer); empty for incidents reported here.
    source_made_sla = models.BooleanField(
        null=True,
        blank=True,
        editable=False,
        help_text="The source system's verdict: did the incident meet its service "
        "level? Empty unless imported.",
    )
    source_data = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="Source fields that have no column here, as recorded.",
    )

    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        permissions = [
            ("report_incident", "Can report an incident"),
            ("view_all_incidents", "Can see every incident"),
            ("act_on_any_incident", "Can act on incidents of any team"),
            ("comment_incident", "Can comment on an incident"),
            ("triage_incident", "Can triage an incident"),
            ("acknowledge_incident", "Can acknowledge an incident"),
            ("mitigate_incident", "Can mitigate an incident"),
            ("investigate_incident", "Can start investigating an incident"),
            ("resolve_incident", "Can resolve an incident"),
            ("close_incident", "Can close any resolved incident"),
            ("close_own_incident", "Can confirm the resolution of own incidents"),
            ("reopen_incident", "Can reopen any resolved incident"),
            ("reopen_own_incident", "Can reject the resolution of own incidents"),
            ("hold_incident", "Can put an incident on hold"),
            ("resume_incident", "Can resume an incident on hold"),
            ("cancel_incident", "Can cancel an incident"),
            ("reassign_incident", "Can reassign an incident to another team"),
            ("declare_major_incident", "Can declare a major incident"),
            ("override_priority_incident", "Can override the derived priority"),
        ]
        indexes = [
            models.Index(fields=["status", "-reported_at"], name="incident_status_rep"),
            models.Index(
                fields=["priority", "-reported_at"], name="incident_priority_rep"
            ),
            models.Index(
                fields=["assignment_group", "status"], name="incident_group_status"
            ),
            models.Index(fields=["assignee", "status"], name="incident_assignee_st"),
            models.Index(
                fields=["service", "reported_at"], name="incident_service_rep"
            ),
            models.Index(fields=["resolved_at"], name="incident_resolved_at"),
            models.Index(fields=["closed_at"], name="incident_closed_at"),
            # The admin list: its default ordering, the source filter, the
            # major filter (priority 1 or declared, so both sides indexed) and
            # the number prefix search, which PostgreSQL can serve from a btree
            # only with the pattern operator class.
            models.Index(fields=["reported_at", "id"], name="incident_rep_id"),
            models.Index(fields=["source", "-reported_at"], name="incident_source_rep"),
            models.Index(
                fields=["declared_major"],
                condition=Q(declared_major=True),
                name="incident_declared_major",
            ),
            models.Index(
                fields=["number"],
                name="incident_number_prefix",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def save(self, *args, **kwargs):
        if not self.number:
            self.number = next_incident_number()
        if not self._state.adding:
            self.version = self._loaded_version + 1
        super().save(*args, **kwargs)
        self._loaded_version = self.version

    def get_absolute_url(self):
        return reverse("admin:incidents_incident_change", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_version = instance.version
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._loaded_version = self.version

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        # Optimistic lock: the UPDATE matches only the version this object was read
        # at. Row locks taken by the services make the race rare on PostgreSQL; on
        # SQLite, which has no row locks, this check is what stops a lost update.
        locked_qs = base_qs.filter(version=self._loaded_version)
        updated = super()._do_update(
            locked_qs, using, pk_val, values, update_fields, forced_update
        )
        if not updated and base_qs.filter(pk=pk_val).exists():
            raise IncidentConflict(
                f"{self.number} was changed by someone else since it was loaded "
                f"(version {self._loaded_version}); reload it and try again."
            )
        return updated

    @property
    def is_major(self):
        return self.priority == Priority.P1 or self.declared_major

    @property
    def is_open(self):
        return self.status in OPEN_STATES

    def set_impact_urgency(self, impact, urgency):
        """Set impact and urgency, and the priority the matrix derives from them
        unless an incident manager has overridden it."""
        self.impact = impact
        self.urgency = urgency
        if not self.priority_overridden:
            self.priority = derive_priority(impact, urgency)

    # Transitions. Each method receives data that its form has validated; the
    # checks here repeat only the rules that must hold whatever the caller.
    # Timeline entries are written by incidents.services, which wraps each call.

    @transition(
        field=status,
        source=Status.NEW,
        target=Status.TRIAGED,
        permission=rules.fsm_permission("triage"),
    )
    def triage(self, *, category, service, impact, urgency, assignment_group, at=None):
        if category is None:
            raise ValidationError({"category": "Triage requires a category."})
        if service is None:
            raise ValidationError({"service": "Triage requires an affected service."})
        if assignment_group is None:
            raise ValidationError(
                {"assignment_group": "Triage requires an assignment group."}
            )
        self.category = category
        self.service = service
        self.set_impact_urgency(impact, urgency)
        self.assignment_group = assignment_group
        self.triaged_at = at or timezone.now()

    @transition(
        field=status,
        source=Status.TRIAGED,
        target=Status.IN_PROGRESS,
        permission=rules.fsm_permission("acknowledge"),
    )
    def acknowledge(self, *, assignee, at=None):
        self.assignee = assignee
        self.acknowledged_at = at or timezone.now()

    @transition(
        field=status,
        source=[Status.IN_PROGRESS, Status.INVESTIGATING],
        target=Status.MITIGATED,
        permission=rules.fsm_permission("mitigate"),
    )
    def mitigate(self, *, workaround, at=None):
        if not (workaround or "").strip():
            raise ValidationError({"workaround": "Describe the workaround applied."})
        self.workaround = workaround
        if self.mitigated_at is None:
            self.mitigated_at = at or timezone.now()

    @transition(
        field=status,
        source=[Status.IN_PROGRESS, Status.MITIGATED],
        target=Status.INVESTIGATING,
        permission=rules.fsm_permission("investigate"),
    )
    def investigate(self, *, investigation_notes="", at=None):
        if investigation_notes:
            self.investigation_notes = investigation_notes

    @transition(
        field=status,
        source=[Status.IN_PROGRESS, Status.MITIGATED, Status.INVESTIGATING],
        target=Status.RESOLVED,
        permission=rules.fsm_permission("resolve"),
    )
    def resolve(
        self,
        *,
        resolution_code,
        resolution_notes,
        recovery_notes,
        root_cause="",
        at=None,
    ):
        errors = {}
        if not resolution_code:
            errors["resolution_code"] = "Choose a resolution code."
        if not (resolution_notes or "").strip():
            errors["resolution_notes"] = "Describe how the incident was resolved."
        if not (recovery_notes or "").strip():
            errors["recovery_notes"] = "Describe how service was recovered."
        if (
            self.priority in (Priority.P1, Priority.P2)
            and not (root_cause or "").strip()
        ):
            errors["root_cause"] = (
                f"A root cause is required for P{self.priority} incidents."
            )
        if errors:
            raise ValidationError(errors)
        self.resolution_code = resolution_code
        self.resolution_notes = resolution_notes
        self.recovery_notes = recovery_notes
        self.root_cause = root_cause
        self.resolved_at = at or timezone.now()

    @transition(
        field=status,
        source=Status.RESOLVED,
        target=Status.CLOSED,
        permission=rules.fsm_permission("close"),
    )
    def close(self, *, closure_verified_by, closure_notes, at=None, automatic=False):
        # Only the scheduled auto-close closes without a verifying person.
        if closure_verified_by is None and not automatic:
            raise ValidationError(
                {"closure_verified_by": "Name who verified the resolution."}
            )
        self.closure_verified_by = closure_verified_by
        self.closure_notes = closure_notes
        self.closed_at = at or timezone.now()

    @transition(
        field=status,
        source=Status.RESOLVED,
        target=Status.IN_PROGRESS,
        permission=rules.fsm_permission("reopen"),
    )
    def reopen(self, *, reason, at=None):
        if not (reason or "").strip():
            raise ValidationError({"reason": "Say why the resolution is rejected."})
        self.reopen_count += 1
        self.resolved_at = None

    @transition(
        field=status,
        source=HOLDABLE_STATES,
        target=Status.ON_HOLD,
        permission=rules.fsm_permission("hold"),
    )
    def hold(self, *, hold_reason, hold_note="", at=None):
        if hold_reason not in HoldReason.values:
            raise ValidationError(
                {"hold_reason": f"{hold_reason!r} is not a hold reason."}
            )
        self.held_from_status = self.status
        self.hold_reason = hold_reason
        self.hold_note = hold_note
        HoldPeriod.objects.create(
            incident=self,
            reason=hold_reason,
            note=hold_note,
            started_at=at or timezone.now(),
        )

    @transition(
        field=status,
        source=Status.ON_HOLD,
        target=RETURN_VALUE(*HOLDABLE_STATES),
        permission=rules.fsm_permission("resume"),
    )
    def resume(self, *, note="", at=None):
        HoldPeriod.objects.filter(incident=self, ended_at__isnull=True).update(
            ended_at=at or timezone.now()
        )
        previous = self.held_from_status or Status.TRIAGED
        self.held_from_status = ""
        self.hold_reason = ""
        return previous

    @transition(
        field=status,
        source=OPEN_STATES,
        target=Status.CANCELLED,
        permission=rules.fsm_permission("cancel"),
    )
    def cancel(self, *, cancel_reason, duplicate_of=None, note="", at=None):
        if cancel_reason not in CancelReason.values:
            raise ValidationError(
                {"cancel_reason": f"{cancel_reason!r} is not a cancel reason."}
            )
        if cancel_reason == CancelReason.DUPLICATE:
            if duplicate_of is None:
                raise ValidationError(
                    {"duplicate_of": "Name the incident this one duplicates."}
                )
            if duplicate_of.pk == self.pk:
                raise ValidationError(
                    {"duplicate_of": "An incident cannot duplicate itself."}
                )
        elif duplicate_of is not None:
            raise ValidationError(
                {"duplicate_of": "Only a duplicate names the incident it duplicates."}
            )
        if self.status == Status.ON_HOLD:
            HoldPeriod.objects.filter(incident=self, ended_at__isnull=True).update(
                ended_at=at or timezone.now()
            )
        self.cancel_reason = cancel_reason
        self.duplicate_of = duplicate_of
        self.cancelled_at = at or timezone.now()

    # Actions that keep the state but are checked like transitions.

    @transition(
        field=status,
        source=[Status.TRIAGED, *WORKING_STATES, Status.ON_HOLD],
        target=None,
        permission=rules.fsm_permission("reassign"),
    )
    def reassign(self, *, assignment_group, assignee=None, at=None):
        if assignment_group is None:
            raise ValidationError(
                {"assignment_group": "Choose the team to reassign to."}
            )
        if assignment_group.pk == self.assignment_group_id and assignee is None:
            raise ValidationError(
                {"assignment_group": f"{assignment_group} already has this incident."}
            )
        if assignment_group.pk != self.assignment_group_id:
            self.reassignment_count += 1
        self.assignment_group = assignment_group
        self.assignee = assignee

    @transition(
        field=status,
        source=[s for s in Status.values if s not in (Status.CLOSED, Status.CANCELLED)],
        target=None,
        conditions=[lambda incident: not incident.is_major],
        permission=rules.fsm_permission("declare_major"),
    )
    def declare_major(self, *, reason, at=None):
        if not (reason or "").strip():
            raise ValidationError({"reason": "Say why this is a major incident."})
        self.declared_major = True

    @transition(
        field=status,
        source=[s for s in Status.values if s not in (Status.CLOSED, Status.CANCELLED)],
        target=None,
        permission=rules.fsm_permission("override_priority"),
    )
    def override_priority(self, *, priority, reason, at=None):
        if priority not in Priority.values:
            raise ValidationError({"priority": f"{priority!r} is not a priority."})
        if not (reason or "").strip():
            raise ValidationError({"reason": "Say why the priority is overridden."})
        self.priority = priority
        self.priority_overridden = True


class HoldPeriod(models.Model):
    """One stretch of time an incident spent on hold; its service-level clock
    stops for it."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="hold_periods"
    )
    reason = models.CharField(max_length=20, choices=HoldReason.choices)
    note = models.TextField(blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]
        indexes = [models.Index(fields=["incident", "started_at"])]

    def __str__(self):
        return f"{self.get_reason_display()} from {self.started_at:%Y-%m-%d %H:%M}"


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete a timeline entry."""


class TimelineQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Timeline entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Timeline entries cannot be deleted.")

    def bulk_create(self, objs, *args, update_conflicts=False, **kwargs):
        if update_conflicts:
            raise AppendOnlyError("Timeline entries cannot be changed by an upsert.")
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Timeline entries cannot be changed.")


class TimelineEntry(models.Model):
    """One event in an incident's history. Entries are only ever added."""

    class Kind(models.TextChoices):
        REPORTED = "reported", "Reported"
        TRANSITION = "transition", "Transition"
        FIELD_CHANGE = "field_change", "Field change"
        COMMENT = "comment", "Comment"
        ALERT = "alert", "Alert"
        SERVICE_LEVEL = "service_level", "Service level"
        NOTIFICATION = "notification", "Notification"
        SYSTEM = "system", "System"

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="timeline"
    )
    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who acted when no user did: "system", an alert receiver, or an imported name.
    actor_label = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    transition = models.CharField(max_length=30, blank=True)
    from_state = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=Status.choices, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = TimelineQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "timeline entries"
        # Django's internal paths (saves, related lookups) use the base manager,
        # so it gets the append-only queryset as well.
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["incident", "-created_at"], name="timeline_incident"),
            models.Index(fields=["kind", "created_at"], name="timeline_kind_created"),
        ]

    def __str__(self):
        return f"{self.incident_id} {self.kind} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Timeline entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Timeline entries cannot be deleted.")

    def _do_update(self, *args, **kwargs):
        # Every UPDATE that a save would issue, forced or not, ends here.
        # NOTE: raw SQL is stopped only by the PostgreSQL trigger; SQLite has none.
        raise AppendOnlyError("Timeline entries cannot be changed.")

    @property
    def actor_name(self):
        if self.actor_id:
            return self.actor.get_username()
        return self.actor_label or "system"


# Registers the intake models, which live beside the API that uses them.
from incidents.api.models import (  # noqa: E402, F401
    AlertEvent,
    AlertSeverityMapping,
    IntakeToken,
)
from incidents.models_sla import *  # noqa: E402, F401, F403
