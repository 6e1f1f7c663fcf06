"""REST API of reviews, action items and trend reports.

``router`` contains the routes; the project includes it under /api/v1/, giving
/api/v1/reviews/, /api/v1/action-items/ and /api/v1/reports/. Permissions are the
model permissions of the role groups (view permissions included) plus the object
rules of reviews.rules, the same checks the admin runs.
"""

import logging
import operator

from django import forms
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from incidents.api.authentication import UserTokenAuthentication
from incidents.api.errors import Conflict
from incidents.api.filters import IdFilter
from incidents.models import Incident
from reviews import rules, services
from reviews.models import (
    ActionItem,
    ActionItemKind,
    ActionItemState,
    PeriodKind,
    PostIncidentReview,
    ReviewState,
    Tag,
    TrendReport,
    normalize_tag,
)
from reviews.periods import last_complete_period
from reviews.presentation import report_csv
from reviews.reports import build_report, requested_period

logger = logging.getLogger(__name__)


class ModelPermissionsWithView(DjangoModelPermissions):
    """DjangoModelPermissions that also requires the view permission to read."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class Pagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-id"


class BaseViewSet(viewsets.GenericViewSet):
    # Token first, so that an anonymous request gets 401 with WWW-Authenticate.
    # The same token class as the incidents API, so that one token (Token or
    # Bearer keyword) works everywhere and the schema names one scheme.
    authentication_classes = [UserTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    pagination_class = Pagination

    def _transition(self, run, obj, refusal):
        # A rule refusal is a permission problem (403); anything the transition
        # itself rejects, such as a wrong state or missing fields, is a 409.
        if refusal:
            raise PermissionDenied(refusal)
        try:
            return run()
        except services.ReviewActionRefused as error:
            raise Conflict(str(error)) from None


def _flag(request, name):
    value = request.query_params.get(name)
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ValidationError({name: f"{value!r} is not a boolean; use true or false."})


def _id_param(request, name):
    """Return the record id in a query parameter, checked like the incidents
    API's id filters, so that a value the database cannot hold is a 400."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    field = IdFilter(field_name=name).field
    try:
        return field.clean(value)
    except forms.ValidationError as error:
        if not value.strip().lstrip("+-").isdigit():
            message = f"{value!r} is not a whole number."
        else:
            message = f"{value!r} is not a valid id: {' '.join(error.messages)}"
        raise ValidationError({name: message}) from None


def _text_param(request, name):
    """Return a text query parameter, or "" when absent. PostgreSQL cannot
    compare text with a NUL character, so one is a 400, not a database error."""
    value = request.query_params.get(name, "")
    if "\x00" in value:
        raise ValidationError({name: f"{value!r} contains a NUL character."})
    return value


def _choice_param(request, name, choices):
    value = request.query_params.get(name)
    if not value:
        return None
    if value not in choices.values:
        raise ValidationError(
            {name: f"{value!r} is not one of {', '.join(choices.values)}."}
        )
    return value


class RejectReadOnlyFieldsMixin:
    """Reject a read-only field in the request body with a 400, as the
    incidents API does, instead of silently ignoring it."""

    read_only_hint = ""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            read_only = sorted(
                name
                for name in data.keys()
                if name in self.fields and self.fields[name].read_only
            )
            if read_only:
                message = f"Read-only field. {self.read_only_hint}".strip()
                raise ValidationError({name: [message] for name in read_only})
        return super().to_internal_value(data)


class ActionItemSummarySerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ActionItem
        fields = ["id", "title", "owner", "due_date", "kind", "state"]


class TagListField(serializers.ListField):
    """Tags as a list of names; input names are normalized like Tag.save does."""

    def to_representation(self, data):
        return [tag.name for tag in data.all()]


class ReviewSerializer(RejectReadOnlyFieldsMixin, serializers.ModelSerializer):
    read_only_hint = "Change the state with the submit, return or publish actions."
    incidents = serializers.SlugRelatedField(
        slug_field="number", many=True, queryset=Incident.objects.all()
    )
    facilitator = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    tags = TagListField(child=serializers.CharField(max_length=50), required=False)
    action_items = ActionItemSummarySerializer(many=True, read_only=True)

    class Meta:
        model = PostIncidentReview
        fields = [
            "id",
            "title",
            "state",
            "incidents",
            "facilitator",
            "due_date",
            "summary",
            "customer_impact",
            "timeline_highlights",
            "root_cause",
            "contributing_factors",
            "what_went_well",
            "what_went_badly",
            "where_we_got_lucky",
            "lessons_learned",
            "tags",
            "no_action_needed",
            "no_action_reason",
            "action_items",
            "created_at",
            "submitted_at",
            "published_at",
        ]
        read_only_fields = ["state", "created_at", "submitted_at", "published_at"]

    def validate_incidents(self, value):
        if not value:
            raise serializers.ValidationError("Name at least one incident.")
        # One review per incident: a second one would split the learning.
        problems = services.incidents_already_reviewed(value, self.instance)
        if problems:
            raise serializers.ValidationError(problems)
        return value

    def validate_tags(self, value):
        names = []
        for text in value:
            name = normalize_tag(text)
            if not name:
                raise serializers.ValidationError(f"{text!r} has no letter or digit.")
            names.append(name)
        return names

    @transaction.atomic
    def create(self, validated_data):
        tags = validated_data.pop("tags", [])
        review = super().create(validated_data)
        self._set_tags(review, tags)
        actor = self.context["request"].user
        services.record_review_opened(review, review.incidents.all(), actor)
        return review

    @transaction.atomic
    def update(self, instance, validated_data):
        tags = validated_data.pop("tags", None)
        before = set(instance.incidents.all())
        review = super().update(instance, validated_data)
        if tags is not None:
            self._set_tags(review, tags)
        if "incidents" in validated_data:
            after = set(validated_data["incidents"])
            actor = self.context["request"].user
            by_pk = operator.attrgetter("pk")
            added = sorted(after - before, key=by_pk)
            removed = sorted(before - after, key=by_pk)
            services.record_review_opened(review, added, actor)
            services.record_review_removed(review, removed, actor)
        return review

    @staticmethod
    def _set_tags(review, names):
        tags = [Tag.objects.get_or_create(name=name)[0] for name in names]
        review.tags.set(tags)


class ReviewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    BaseViewSet,
):
    """Post-incident reviews. Filters: state, tag (name), service (id), incident
    (number), q (words searched in the text fields)."""

    serializer_class = ReviewSerializer
    queryset = PostIncidentReview.objects.all()

    def get_queryset(self):
        queryset = (
            PostIncidentReview.objects.select_related("facilitator")
            .prefetch_related("incidents", "tags", "action_items__owner")
            .order_by("-id")
        )
        state = _choice_param(self.request, "state", ReviewState)
        if state:
            queryset = queryset.filter(state=state)
        tag = _text_param(self.request, "tag")
        if tag:
            queryset = queryset.filter(tags__name=normalize_tag(tag))
        service = _id_param(self.request, "service")
        if service is not None:
            queryset = queryset.filter(incidents__service_id=service)
        incident = _text_param(self.request, "incident")
        if incident:
            queryset = queryset.filter(incidents__number=incident.upper())
        for word in _text_param(self.request, "q").split():
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(summary__icontains=word)
                | Q(root_cause__icontains=word)
                | Q(contributing_factors__icontains=word)
                | Q(lessons_learned__icontains=word)
                | Q(tags__name__icontains=word)
            )
        return queryset.distinct()

    def perform_update(self, serializer):
        if not rules.can_edit_review(self.request.user, serializer.instance):
            raise PermissionDenied(
                f"{serializer.instance} is published and can no longer be changed."
            )
        serializer.save()

    def _run(self, request, pk, name):
        review = self.get_object()
        refusal = rules.review_refusal(request.user, review, name)

        def run():
            updated = services.run_review_action(review, name, request.user)
            return Response(
                self.get_serializer(self.get_queryset().get(pk=updated.pk)).data
            )

        return self._transition(run, review, refusal)

    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._run(request, pk, "submit")

    @action(detail=True, methods=["post"], url_path="return")
    def return_to_draft(self, request, pk=None):
        return self._run(request, pk, "return")

    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._run(request, pk, "publish")

    def get_permissions(self):
        # Transitions are checked by reviews.rules; viewing the review is enough
        # to reach them.
        if self.action in ("submit", "return_to_draft", "publish"):
            return [IsAuthenticated(), _ViewOnly()]
        return super().get_permissions()


class _ViewOnly(ModelPermissionsWithView):
    perms_map = {
        method: ["%(app_label)s.view_%(model_name)s"]
        for method in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
    }


class ActionItemSerializer(RejectReadOnlyFieldsMixin, serializers.ModelSerializer):
    read_only_hint = "Change the state with the start, complete or cancel actions."
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True)
    )
    review = serializers.PrimaryKeyRelatedField(
        queryset=PostIncidentReview.objects.all()
    )
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "review",
            "title",
            "description",
            "owner",
            "due_date",
            "kind",
            "state",
            "overdue",
            "cancel_reason",
            "created_at",
            "completed_at",
            "cancelled_at",
        ]
        read_only_fields = [
            "state",
            "cancel_reason",
            "created_at",
            "completed_at",
            "cancelled_at",
        ]

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue()

    def validate_review(self, review):
        if not review.is_editable:
            raise serializers.ValidationError(
                f"{review} is published; add action items before publishing."
            )
        return review


class ActionItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    BaseViewSet,
):
    """Action items. Filters: state, kind, owner (username), review (id), overdue
    (true or false)."""

    serializer_class = ActionItemSerializer
    queryset = ActionItem.objects.all()

    def get_queryset(self):
        queryset = ActionItem.objects.select_related("owner").order_by("-id")
        for name, choices in (("state", ActionItemState), ("kind", ActionItemKind)):
            value = _choice_param(self.request, name, choices)
            if value:
                queryset = queryset.filter(**{name: value})
        owner = _text_param(self.request, "owner")
        if owner:
            queryset = queryset.filter(owner__username=owner)
        review = _id_param(self.request, "review")
        if review is not None:
            queryset = queryset.filter(review_id=review)
        overdue = _flag(self.request, "overdue")
        if overdue is True:
            queryset = queryset.overdue()
        elif overdue is False:
            queryset = queryset.exclude(
                pk__in=ActionItem.objects.overdue().values("pk")
            )
        return queryset

    def get_permissions(self):
        if self.action in ("start", "complete", "cancel"):
            return [IsAuthenticated(), _ViewOnly()]
        return super().get_permissions()

    def _run(self, request, name):
        item = self.get_object()
        refusal = rules.action_item_refusal(request.user, item, name)
        reason = request.data.get("reason", "") if name == "cancel" else ""
        if name == "cancel" and not isinstance(reason, str):
            raise ValidationError({"reason": "The reason must be text."})

        def run():
            updated = services.run_action_item_action(
                item, name, request.user, reason=reason
            )
            return Response(self.get_serializer(updated).data)

        return self._transition(run, item, refusal)

    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._run(request, "start")

    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._run(request, "complete")

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._run(request, "cancel")


class ReportListSerializer(serializers.ModelSerializer):
    period_label = serializers.CharField(source="label", read_only=True)

    class Meta:
        model = TrendReport
        fields = [
            "id",
            "period_kind",
            "period_label",
            "period_start",
            "period_end",
            "time_zone",
            "built_at",
        ]


class ReportSerializer(ReportListSerializer):
    class Meta(ReportListSerializer.Meta):
        fields = [*ReportListSerializer.Meta.fields, "data"]


class BuildSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PeriodKind.values)
    start = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        kind, start = attrs["period"], attrs.get("start")
        if start is None:
            attrs["resolved_period"] = last_complete_period(kind)
            return attrs
        try:
            attrs["resolved_period"] = requested_period(kind, start)
        except ValueError as error:
            raise serializers.ValidationError({"start": str(error)}) from None
        return attrs


class ReportPagination(Pagination):
    ordering = ("-period_start", "-id")


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Stored trend reports; POST build/ to build one. Filter: period_kind."""

    queryset = TrendReport.objects.all()
    pagination_class = ReportPagination

    def get_queryset(self):
        queryset = TrendReport.objects.order_by("-period_start", "-id")
        if self.action == "list":
            # The list does not need the figures.
            queryset = queryset.defer("data")
        kind = self.request.query_params.get("period_kind")
        if kind:
            if kind not in PeriodKind.values:
                raise ValidationError(
                    {"period_kind": f"{kind!r} is not one of {PeriodKind.values}."}
                )
            queryset = queryset.filter(period_kind=kind)
        return queryset

    def get_serializer_class(self):
        if self.action == "list":
            return ReportListSerializer
        if self.action == "build":
            return BuildSerializer
        return ReportSerializer

    def get_permissions(self):
        if self.action in ("build", "csv"):
            return [IsAuthenticated(), _ViewOnly()]
        return super().get_permissions()

    @action(detail=False, methods=["post"])
    def build(self, request):
        if not rules.can_build_reports(request.user):
            raise PermissionDenied("Your role does not include building reports.")
        serializer = BuildSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        period = serializer.validated_data["resolved_period"]
        report, replaced = build_report(period, user=request.user)
        logger.info(
            "trend report %s built through the API by %s",
            report.pk,
            request.user.get_username(),
        )
        return Response(
            {**ReportSerializer(report).data, "replaced": replaced},
            status=status.HTTP_200_OK if replaced else status.HTTP_201_CREATED,
        )

    @action(detail=True, methods=["get"])
    def csv(self, request, pk=None):
        report = self.get_object()
        return HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")


router = SimpleRouter()
router.register("reviews", ReviewViewSet, basename="review")
router.register("action-items", ActionItemViewSet, basename="action-item")
router.register("reports", ReportViewSet, basename="report")
