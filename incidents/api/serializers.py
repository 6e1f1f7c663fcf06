"""JSON shapes of the API.

The same Django forms as in the admin (incidents.forms) validate the data of
reports and actions. The request serializers here only describe those bodies in
the OpenAPI schema. IncidentUpdateSerializer is the exception: it converts PATCH
values before services.update_fields checks them.
"""

from django import forms
from django.contrib.auth import get_user_model
from rest_framework import serializers

from incidents import rules
from incidents.forms import ACTION_FORMS, IncidentNumberField, UsernameField
from incidents.models import (
    CancelReason,
    Category,
    HoldReason,
    Incident,
    ResolutionCode,
    Service,
    Source,
    Team,
    TimelineEntry,
)

User = get_user_model()


class UsernameRelatedField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(slug_field="username", **kwargs)


class IncidentSerializer(serializers.ModelSerializer):
    """An incident as the API shows it; users by username, records by id."""

    url = serializers.HyperlinkedIdentityField(
        view_name="api:incident-detail", lookup_field="number"
    )
    major = serializers.BooleanField(source="is_major", read_only=True)
    category_name = serializers.StringRelatedField(source="category", allow_null=True)
    service_name = serializers.StringRelatedField(source="service", allow_null=True)
    assignment_group_name = serializers.StringRelatedField(
        source="assignment_group", allow_null=True
    )
    # Declared because a read-only model field loses its blank choice in the
    # schema, and these are empty until their action runs.
    resolution_code = serializers.ChoiceField(
        choices=ResolutionCode.choices, allow_blank=True, read_only=True
    )
    hold_reason = serializers.ChoiceField(
        choices=HoldReason.choices, allow_blank=True, read_only=True
    )
    cancel_reason = serializers.ChoiceField(
        choices=CancelReason.choices, allow_blank=True, read_only=True
    )
    reporter = UsernameRelatedField(allow_null=True)
    opened_by = UsernameRelatedField(allow_null=True)
    assignee = UsernameRelatedField(allow_null=True)
    closure_verified_by = UsernameRelatedField(allow_null=True)
    duplicate_of = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True
    )
    related_to = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True
    )

    class Meta:
        model = Incident
        fields = [
            "url",
            "number",
            "title",
            "description",
            "source",
            "status",
            "impact",
            "urgency",
            "priority",
            "priority_overridden",
            "declared_major",
            "major",
            "category",
            "category_name",
            "service",
            "service_name",
            "assignment_group",
            "assignment_group_name",
            "assignee",
            "reporter",
            "opened_by",
            "location",
            "started_at",
            "detected_at",
            "reported_at",
            "triaged_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "closed_at",
            "cancelled_at",
            "workaround",
            "investigation_notes",
            "resolution_code",
            "resolution_notes",
            "recovery_notes",
            "root_cause",
            "closure_verified_by",
            "closure_notes",
            "hold_reason",
            "hold_note",
            "cancel_reason",
            "duplicate_of",
            "related_to",
            "reopen_count",
            "reassignment_count",
            "version",
            "updated_at",
        ]
        read_only_fields = fields


# The related rows IncidentSerializer reads, fetched in the list query itself.
INCIDENT_SELECT_RELATED = (
    "category__parent",
    "service",
    "assignment_group",
    "assignee",
    "reporter",
    "opened_by",
    "closure_verified_by",
    "duplicate_of",
    "related_to",
)


class IncidentCreateSerializer(serializers.Serializer):
    """The body of a report; ReportForm validates it."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    source = serializers.ChoiceField(
        choices=Source.choices, default=Source.API, required=False
    )
    detected_at = serializers.DateTimeField(
        required=False, help_text="When the problem was noticed; defaults to now."
    )
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    service = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of the affected service."
    )
    location = serializers.CharField(max_length=100, required=False, allow_blank=True)


# Fields that PATCH may change, when rules.editable_fields allows them.
EDITABLE_FIELDS = tuple(
    name for _stage, names, _states in rules.STAGE_FIELDS for name in names
)


class IncidentUpdateSerializer(serializers.ModelSerializer):
    """Plain fields that PATCH may change; which ones depends on the role and state."""

    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), allow_null=True, required=False
    )
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Incident
        fields = list(EDITABLE_FIELDS)
        extra_kwargs = {
            "impact": {"required": False, "allow_null": False},
            "urgency": {"required": False, "allow_null": False},
            "detected_at": {"required": False},
        }


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = UsernameRelatedField(allow_null=True)
    actor_name = serializers.CharField(read_only=True)

    class Meta:
        model = TimelineEntry
        fields = [
            "id",
            "created_at",
            "kind",
            "actor",
            "actor_name",
            "transition",
            "from_state",
            "to_state",
            "message",
            "data",
        ]
        read_only_fields = fields


class CommentSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The comment; it cannot be empty.")


class CategorySerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Category
        fields = ["id", "name", "parent", "full_name"]


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "name", "description", "owning_team", "tier"]


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "description", "email"]


# Transitions ------------------------------------------------------------------

RELATED_RESOURCES = {Category: "categories", Service: "services", Team: "teams"}


def describe_form_field(name, field):
    """Return the API description of one action form field."""
    description = {
        "name": name,
        "type": "string",
        "required": field.required,
        "help_text": str(field.help_text or ""),
        "choices": None,
        "related": None,
    }
    if isinstance(field, UsernameField):
        description["type"] = "username"
    elif isinstance(field, forms.ModelChoiceField):
        description["type"] = "id"
        description["related"] = RELATED_RESOURCES.get(field.queryset.model)
    elif isinstance(field, IncidentNumberField):
        description["type"] = "incident_number"
    elif isinstance(field, forms.TypedChoiceField) and field.coerce is int:
        description["type"] = "integer"
        description["choices"] = _choices(field)
    elif isinstance(field, forms.ChoiceField):
        description["choices"] = _choices(field)
    elif isinstance(field, forms.DateTimeField):
        description["type"] = "datetime"
    return description


def _choices(field):
    return [
        {"value": value, "label": str(label)}
        for value, label in field.choices
        if value != ""
    ]


def describe_action(incident, action, actor):
    form = ACTION_FORMS[action](incident=incident, actor=actor)
    return {
        "name": action,
        "label": form.label,
        "fields": [describe_form_field(n, f) for n, f in form.fields.items()],
    }


class ChoiceSerializer(serializers.Serializer):
    value = serializers.JSONField(help_text="A string or an integer.")
    label = serializers.CharField()


class ActionFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(
        choices=["string", "integer", "datetime", "username", "id", "incident_number"]
    )
    required = serializers.BooleanField()
    help_text = serializers.CharField(allow_blank=True)
    choices = ChoiceSerializer(many=True, allow_null=True)
    related = serializers.CharField(
        allow_null=True, help_text="The API resource listing the ids, for type id."
    )


class ActionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    fields = ActionFieldSerializer(many=True)


def _request_field(name, field):
    """Return the DRF field that documents one action form field."""
    common = {"required": field.required, "help_text": str(field.help_text or "")}
    # Checked first: they are ModelChoiceFields, whose choices would query.
    if isinstance(field, UsernameField | IncidentNumberField):
        return serializers.CharField(allow_blank=True, allow_null=True, **common)
    if isinstance(field, forms.ModelChoiceField):
        return serializers.IntegerField(**common)
    if isinstance(field, forms.ChoiceField):
        choices = [(value, label) for value, label in field.choices if value != ""]
        if isinstance(field, forms.TypedChoiceField) and field.coerce is int:
            choices = [(int(value), label) for value, label in choices]
        return serializers.ChoiceField(choices=choices, **common)
    return serializers.CharField(allow_blank=not field.required, **common)


def transition_request_serializer(action):
    """Build a serializer class documenting the JSON body of an action."""
    form_class = ACTION_FORMS[action]
    fields = {
        name: _request_field(name, field)
        for name, field in form_class.base_fields.items()
    }
    class_name = "".join(part.title() for part in action.split("_"))
    return type(f"{class_name}RequestSerializer", (serializers.Serializer,), fields)


TRANSITION_REQUEST_SERIALIZERS = {
    action: transition_request_serializer(action) for action in ACTION_FORMS
}
