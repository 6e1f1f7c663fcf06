"""Pieces every API view shares: ETags, If-Match, error responses in the schema."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, viewsets

from incidents.api.errors import ErrorSerializer, PreconditionFailed
from incidents.api.pagination import IdCursorPagination

IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        'The ETag of the incident as last read, such as "7". When it is not the '
        "current version, nothing changes and the response is 412."
    ),
)


def error_response(description):
    return OpenApiResponse(response=ErrorSerializer, description=description)


# Errors any authenticated endpoint can return.
COMMON_ERRORS = {
    401: error_response("Missing or invalid credentials."),
    403: error_response("The role or the object rules do not allow it."),
}
NOT_FOUND = {404: error_response("No such incident, or it is not visible to you.")}
INVALID = {400: error_response("Invalid data; `errors` names each field.")}
WRITE_ERRORS = {
    **COMMON_ERRORS,
    **NOT_FOUND,
    **INVALID,
    409: error_response(
        "The incident's state does not allow the action, or it changed while the "
        "request ran."
    ),
    412: error_response("If-Match does not match the incident's current version."),
}


def etag(version):
    return f'"{version}"'


def if_match_version(request):
    """Return the version that the If-Match header names, or None when absent.

    Accepts "7", W/"7" and 7; "*" matches any version. Raises a 400 for a value
    that names no version.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return None
    value = header.split(",")[0].strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    # str.isdigit() also accepts digits such as "²" that int() rejects.
    if not (value.isascii() and value.isdigit()):
        raise exceptions.ValidationError(
            {"If-Match": [f'{header!r} is not an incident ETag, such as "7".']}
        )
    return int(value)


def check_if_match(request, incident):
    """Raise 412 if If-Match names another version; return the expected version."""
    expected = if_match_version(request)
    if expected is not None and expected != incident.version:
        raise PreconditionFailed(
            f"{incident.number} is at version {incident.version}, not {expected}; "
            "reload it and try again."
        )
    return incident.version


class ReferenceViewSet(viewsets.ReadOnlyModelViewSet):
    """A read-only list and detail of reference data, paginated by id.

    Subclasses set ``queryset`` (ordered by id) and ``serializer_class``.
    """

    pagination_class = IdCursorPagination
