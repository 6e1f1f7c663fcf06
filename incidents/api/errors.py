"""The one error format of the API, and the handler that produces it.

Every error body is ``{"detail": "...", "code": "...", "errors": {...}}``, where
``errors`` maps a field name (or ``non_field_errors``) to a list of messages and is
present only when fields are at fault.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from incidents.models import IncidentConflict


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in plain words.")
    code = serializers.CharField(help_text="A stable, machine-readable error code.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages per field; non_field_errors for the whole request.",
    )


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The incident changed in the meantime; reload it and retry."
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The If-Match version is not the incident's current version."
    default_code = "precondition_failed"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class FieldErrors(exceptions.APIException):
    """A 400 whose body lists messages per field."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, errors, detail=None):
        self.field_errors = {
            field: [str(message) for message in messages]
            for field, messages in errors.items()
        }
        if detail is None:
            fields = ", ".join(sorted(self.field_errors))
            detail = f"Invalid data in: {fields}."
        super().__init__(detail)


def form_errors(form):
    """Return a form's errors as {field: [message, ...]}, with __all__ renamed."""
    return {
        ("non_field_errors" if field == "__all__" else field): list(messages)
        for field, messages in form.errors.items()
    }


def django_validation_errors(error):
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": error.messages}


def _flatten(errors, prefix=""):
    """Flatten DRF's nested serializer errors to {"a.b": [messages]}."""
    flat = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(errors, list) and errors and not isinstance(errors[0], str):
        for index, value in enumerate(errors):
            flat.update(_flatten(value, f"{prefix}[{index}]"))
    else:
        messages = errors if isinstance(errors, list) else [errors]
        flat[prefix or "non_field_errors"] = [str(message) for message in messages]
    return flat


def exception_handler(exc, context):
    """Render every API error in the one format described above."""
    if isinstance(exc, IncidentConflict):
        exc = Conflict(str(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = FieldErrors(django_validation_errors(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, RequestDataTooBig):
        # Django would return its own HTML 400 page, but API clients expect JSON.
        exc = RequestTooLarge(
            "The request body is larger than the limit of "
            f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    body = {}
    if isinstance(exc, FieldErrors):
        body = {"detail": str(exc.detail), "code": exc.default_code}
        body["errors"] = exc.field_errors
    elif isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        body = {
            "detail": "Invalid data in: " + ", ".join(sorted(errors)) + ".",
            "code": "invalid",
            "errors": errors,
        }
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"detail": str(detail), "code": str(code)}
    return Response(body, status=response.status_code, headers=response.headers)
