"""List filters and the paginator of the incident list, built to stay fast with
hundreds of thousands of incidents."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from incidents.admin_queues import QUEUES_BY_KEY, queue_q, queues_for
from incidents.models import MAJOR_Q, Category


class CappedCountPaginator(Paginator):
    """A paginator that counts at most COUNT_CAP rows.

    COUNT(*) over a large filtered set scans every matching row; counting a
    LIMITed subquery stops early. Past the cap the list shows COUNT_CAP results
    and the last pages are reached by narrowing the filters.
    """

    COUNT_CAP = 10_000

    @cached_property
    def count(self):
        limited = self.object_list.order_by().values("pk")[: self.COUNT_CAP + 1]
        return min(limited.count(), self.COUNT_CAP)

    @property
    def is_capped(self):
        return self.count >= self.COUNT_CAP


class QueueFilter(admin.SimpleListFilter):
    """Filter by one of the work queues; the queue links above the list set it."""

    title = "queue"
    parameter_name = "queue"
    template = "admin/incidents/queue_filter.html"

    def lookups(self, request, model_admin):
        return [(queue.key, queue.label) for queue in queues_for(request.user)]

    def queryset(self, request, queryset):
        key = self.value()
        if key not in QUEUES_BY_KEY:
            return queryset
        return queryset.filter(queue_q(key, request.user))


class MajorFilter(admin.SimpleListFilter):
    title = "major incident"
    parameter_name = "major"

    def lookups(self, request, model_admin):
        return [("yes", "Major"), ("no", "Not major")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(MAJOR_Q)
        if self.value() == "no":
            return queryset.exclude(MAJOR_Q)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    """Filter by assignee: me, unassigned, or a username typed into a box.

    A typed username scales to any number of accounts, where a list of every user
    would not.
    """

    title = "assignee"
    parameter_name = "assignee"
    template = "admin/incidents/assignee_filter.html"

    def lookups(self, request, model_admin):
        return [("me", "Me"), ("none", "Unassigned")]

    def has_output(self):
        return True

    def choices(self, changelist):
        # The username box is a GET form of its own: it must carry the other
        # filters along, and a page number would point past the new result.
        self.kept_params = [
            (name, value)
            for name, value in changelist.params.items()
            if name not in (self.parameter_name, "p")
        ]
        value = self.value() or ""
        self.typed_value = "" if value in ("me", "none") else value
        yield from super().choices(changelist)

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value == "me":
            return queryset.filter(assignee=request.user.pk)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        user_model = get_user_model()
        return queryset.filter(
            assignee__in=user_model.objects.filter(
                **{user_model.USERNAME_FIELD: value}
            ).values("pk")
        )


class CategoryFilter(admin.RelatedFieldListFilter):
    """The category filter, with parents fetched in the same query: a category's
    name includes its parent's."""

    def field_choices(self, field, request, model_admin):
        return [
            (category.pk, str(category))
            for category in Category.objects.select_related("parent")
        ]
