"""API views: thin wrappers around incidents.services and incidents.rules."""

import logging

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, filters, mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import rules, services
from incidents.api import serializers as api_serializers
from incidents.api.base import (
    COMMON_ERRORS,
    IF_MATCH_PARAMETER,
    INVALID,
    NOT_FOUND,
    WRITE_ERRORS,
    ReferenceViewSet,
    check_if_match,
    error_response,
    etag,
)
from incidents.api.errors import Conflict, FieldErrors, form_errors
from incidents.api.filters import IncidentFilterSet
from incidents.api.pagination import (
    IncidentCursorPagination,
    TimelineCursorPagination,
)
from incidents.api.throttling import SettingsScopedRateThrottle
from incidents.forms import ACTION_FORMS
from incidents.models import Category, Incident, IncidentConflict, Service, Team

logger = logging.getLogger(__name__)


def json_object(request):
    """Return the request body as a dict of scalars; raise 400 otherwise.

    The forms behind the API expect one value per field, so lists and objects
    are rejected here with the field's name rather than stringified.
    """
    data = request.data
    if not isinstance(data, dict):
        raise FieldErrors(
            {"non_field_errors": ["The body must be a JSON object."]},
            detail="The body must be a JSON object.",
        )
    nested = {
        name: ["Must be a string, a number, true, false or null."]
        for name, value in data.items()
        if isinstance(value, dict | list)
    }
    if nested:
        raise FieldErrors(nested)
    return dict(data)


def form_data(data):
    """Return JSON values as the text that Django form fields parse.

    Form fields expect what an HTML form posts: some call str methods on the
    value, so a JSON true or 3 would crash them. None stays None (empty).
    """
    converted = {}
    for name, value in data.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        converted[name] = value
    return converted


def reject_unknown(data, allowed):
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise FieldErrors({name: ["Unknown or read-only field."] for name in unknown})


def refusal_exception(incident, action_name, reason):
    """Return the API error for a refused action: 409 when the state (or a
    condition on it, such as "not major yet") does not allow it, 403 when the
    role or the object rules do not."""
    meta = getattr(Incident, action_name)._django_fsm
    if not meta.has_transition(incident.status):
        return Conflict(reason)
    if not meta.conditions_met(incident, incident.status):
        return Conflict(reason)
    return exceptions.PermissionDenied(reason)


@extend_schema_view(
    list=extend_schema(
        summary="List the incidents visible to you",
        responses={200: api_serializers.IncidentSerializer(many=True), **COMMON_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Read one incident; the ETag header carries its version",
        responses={
            200: api_serializers.IncidentSerializer,
            **COMMON_ERRORS,
            **NOT_FOUND,
        },
    ),
)
class IncidentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Incidents, looked up by number, with their timeline and transitions."""

    serializer_class = api_serializers.IncidentSerializer
    lookup_field = "number"
    # Any segment, so that a malformed number gets the API's JSON 404.
    lookup_value_regex = "[^/]+"
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = IncidentFilterSet
    ordering_fields = ["reported_at", "detected_at", "updated_at", "number"]
    pagination_class = IncidentCursorPagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        queryset = Incident.objects.select_related(
            *api_serializers.INCIDENT_SELECT_RELATED
        )
        return rules.visible_incidents(self.request.user, queryset)

    def get_object(self):
        number = self.kwargs["number"].upper()
        incident = get_object_or_404(self.get_queryset(), number=number)
        self.check_object_permissions(self.request, incident)
        return incident

    def retrieve(self, request, *args, **kwargs):
        incident = self.get_object()
        serializer = self.get_serializer(incident)
        return Response(serializer.data, headers={"ETag": etag(incident.version)})

    @extend_schema(
        summary="Report an incident",
        request=api_serializers.IncidentCreateSerializer,
        responses={201: api_serializers.IncidentSerializer, **COMMON_ERRORS, **INVALID},
    )
    def create(self, request, *args, **kwargs):
        data = json_object(request)
        reject_unknown(data, api_serializers.IncidentCreateSerializer().fields)
        data.setdefault("source", "api")
        data.setdefault("detected_at", timezone.now().isoformat())
        try:
            incident = services.report_incident(request.user, form_data(data))
        except services.ActionRefused as refusal:
            raise exceptions.PermissionDenied(str(refusal)) from None
        except services.ActionInvalid as invalid:
            raise FieldErrors(form_errors(invalid.form)) from None
        incident = self.get_queryset().get(pk=incident.pk)
        serializer = self.get_serializer(incident)
        return Response(
            serializer.data,
            status=status.HTTP_201_CREATED,
            headers={
                "ETag": etag(incident.version),
                # str(): the serializer returns a Hyperlink, which WSGI rejects.
                "Location": str(serializer.data["url"]),
            },
        )

    @extend_schema(
        summary="Change plain fields of an incident",
        description=(
            "Only the fields that your role may edit in the incident's current "
            "state can change (403 names the others). Status, priority and the "
            "lifecycle timestamps change only through transitions."
        ),
        parameters=[IF_MATCH_PARAMETER],
        request=api_serializers.IncidentUpdateSerializer,
        responses={200: api_serializers.IncidentSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request, *args, **kwargs):
        incident = self.get_object()
        data = json_object(request)
        reject_unknown(data, api_serializers.EDITABLE_FIELDS)
        expected = check_if_match(request, incident)

        serializer = api_serializers.IncidentUpdateSerializer(
            incident, data=data, partial=True
        )
        serializer.is_valid(raise_exception=True)
        try:
            incident = services.update_fields(
                incident,
                request.user,
                serializer.validated_data,
                expected_version=expected,
            )
        except services.ActionRefused as refusal:
            raise exceptions.PermissionDenied(str(refusal)) from None
        incident = self.get_queryset().get(pk=incident.pk)
        return Response(
            self.get_serializer(incident).data,
            headers={"ETag": etag(incident.version)},
        )

    @extend_schema(
        methods=["GET"],
        summary="List the timeline of an incident, newest first",
        responses={
            200: api_serializers.TimelineEntrySerializer(many=True),
            **COMMON_ERRORS,
            **NOT_FOUND,
        },
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a comment to the timeline",
        request=api_serializers.CommentSerializer,
        responses={
            201: api_serializers.TimelineEntrySerializer,
            **COMMON_ERRORS,
            **NOT_FOUND,
            **INVALID,
        },
    )
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=TimelineCursorPagination,
        filter_backends=[],
        serializer_class=api_serializers.TimelineEntrySerializer,
    )
    def timeline(self, request, number=None):
        incident = self.get_object()
        if request.method == "POST":
            return self._comment(request, incident)
        entries = incident.timeline.select_related("actor")
        page = self.paginate_queryset(entries)
        serializer = api_serializers.TimelineEntrySerializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def _comment(self, request, incident):
        data = json_object(request)
        reject_unknown(data, ["text"])
        text = data.get("text")
        if not isinstance(text, str):
            raise FieldErrors({"text": ["Must be a non-empty string."]})
        try:
            entry = services.add_comment(incident, request.user, text)
        except services.ActionRefused as refusal:
            raise exceptions.PermissionDenied(str(refusal)) from None
        return Response(
            api_serializers.TimelineEntrySerializer(entry).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="List the actions you may run on the incident now",
        responses={
            200: api_serializers.ActionSerializer(many=True),
            **COMMON_ERRORS,
            **NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def transitions(self, request, number=None):
        incident = self.get_object()
        actions = [
            api_serializers.describe_action(incident, name, request.user)
            for name in rules.available_actions(request.user, incident)
        ]
        return Response(actions, headers={"ETag": etag(incident.version)})


class TransitionView(APIView):
    """Run one action on an incident. Subclassed once per action, so that the
    schema documents each action's body."""

    action_name = None

    def post(self, request, number):
        incident = get_object_or_404(
            rules.visible_incidents(request.user), number=number.upper()
        )
        data = json_object(request)
        reject_unknown(data, ACTION_FORMS[self.action_name].base_fields)
        expected = check_if_match(request, incident)
        try:
            incident = services.run_action(
                incident,
                self.action_name,
                request.user,
                form_data(data),
                expected_version=expected,
            )
        except services.ActionInvalid as invalid:
            raise FieldErrors(form_errors(invalid.form)) from None
        except services.ActionRefused as refusal:
            current = Incident.objects.get(pk=incident.pk)
            raise refusal_exception(current, self.action_name, str(refusal)) from None
        except IncidentConflict as conflict:
            raise Conflict(str(conflict)) from None

        incident = Incident.objects.select_related(
            *api_serializers.INCIDENT_SELECT_RELATED
        ).get(pk=incident.pk)
        serializer = api_serializers.IncidentSerializer(
            incident, context={"request": request}
        )
        return Response(serializer.data, headers={"ETag": etag(incident.version)})


def transition_view(action_name):
    """Build the TransitionView subclass of one action, with its schema."""
    form_class = ACTION_FORMS[action_name]

    # A function of its own per action: extend_schema stores the schema on the
    # function object, which a shared inherited post() would make common.
    def post(self, request, number):
        return TransitionView.post(self, request, number)

    schema = extend_schema(
        operation_id=f"incidents_transitions_{action_name}",
        summary=f"{form_class.label} the incident",
        tags=["transitions"],
        parameters=[IF_MATCH_PARAMETER],
        request=api_serializers.TRANSITION_REQUEST_SERIALIZERS[action_name],
        responses={200: api_serializers.IncidentSerializer, **WRITE_ERRORS},
    )
    return type(
        f"{form_class.__name__.removesuffix('Form')}TransitionView",
        (TransitionView,),
        {"action_name": action_name, "post": schema(post)},
    )


class UnknownTransitionView(APIView):
    @extend_schema(exclude=True)
    def post(self, request, number, name):
        raise Http404(
            f"{name!r} is not an incident action; actions are: "
            f"{', '.join(ACTION_FORMS)}."
        )


class CategoryViewSet(ReferenceViewSet):
    queryset = Category.objects.select_related("parent").order_by("id")
    serializer_class = api_serializers.CategorySerializer


class ServiceViewSet(ReferenceViewSet):
    queryset = Service.objects.order_by("id")
    serializer_class = api_serializers.ServiceSerializer


class TeamViewSet(ReferenceViewSet):
    queryset = Team.objects.order_by("id")
    serializer_class = api_serializers.TeamSerializer


TokenSerializer = inline_serializer(
    "Token", fields={"token": drf_serializers.CharField()}
)


class AuthTokenView(APIView):
    """Exchange a username and password for the user's API token, or revoke it.

    A user has one token; deleting it (here or in the admin) revokes it, and the
    next POST creates a new one.
    """

    throttle_classes = [SettingsScopedRateThrottle]
    throttle_scope = "token"

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_authenticators(self):
        # The password is the credential of a POST; a session cookie must not
        # make it subject to CSRF checks or stand in for the password.
        request = getattr(self, "request", None)
        if request is not None and request.method == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(
        summary="Get your API token from a username and password",
        request=AuthTokenSerializer,
        responses={
            200: TokenSerializer,
            **INVALID,
            429: error_response("Too many attempts; retry later."),
        },
        auth=[],
    )
    def post(self, request):
        serializer = AuthTokenSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, created = Token.objects.get_or_create(user=user)
        logger.info(
            "API token %s for user %s", "created" if created else "read", user.pk
        )
        return Response({"token": token.key})

    @extend_schema(
        summary="Revoke your API token",
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked."),
            **COMMON_ERRORS,
            429: error_response("Too many attempts; retry later."),
        },
    )
    def delete(self, request):
        deleted, _ = Token.objects.filter(user=request.user).delete()
        logger.info("API token of user %s revoked (%s)", request.user.pk, deleted)
        return Response(status=status.HTTP_204_NO_CONTENT)
