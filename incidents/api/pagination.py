"""Cursor pagination: pages are read by an indexed range, with no COUNT(*)."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"


class IncidentCursorPagination(CursorPagination):
    # reported_at plus number keeps the order total, so a page boundary that
    # falls between incidents reported in the same second loses none.
    ordering = ("-reported_at", "-number")


class TimelineCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class IdCursorPagination(CursorPagination):
    ordering = "id"
