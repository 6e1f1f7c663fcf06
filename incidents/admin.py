"""The operator console: the Django admin for incidents and their reference data.

incidents.rules decides who may see and change what, and every change goes
through incidents.services. This module only arranges the pages.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone

from incidents import rules, services, sla
from incidents.admin_actions import (
    BULK_ACTIONS,
    action_url,
    action_view,
    comment_view,
)
from incidents.admin_filters import (
    AssigneeFilter,
    CappedCountPaginator,
    CategoryFilter,
    MajorFilter,
    QueueFilter,
)
from incidents.admin_queues import QUEUES_BY_KEY, queue_counts, queues_for
from incidents.forms import ACTION_FORMS, ReportForm
from incidents.models import (
    Category,
    HoldPeriod,
    Incident,
    IncidentConflict,
    Service,
    Team,
    TimelineEntry,
    format_incident_number,
)
from incidents.templatetags.incident_admin import (
    age,
    major_badge,
    priority_badge,
    sla_badge,
    state_badge,
)

# Timeline entries shown on the change page; the rest are one link away.
TIMELINE_LIMIT = 20
RELATED_LIMIT = 10
# Fields of an incident listed by number; Incident.from_db reads version, so
# leaving it out would cost one query per row.
SUMMARY_FIELDS = (
    "pk",
    "number",
    "title",
    "status",
    "priority",
    "declared_major",
    "version",
)
RELATED_WINDOW_DAYS = 7

NUMBER_SEARCH = re.compile(r"^(?:INC)?(\d+)$", re.IGNORECASE)

admin.site.site_header = "Incident management"
admin.site.site_title = "Incident management"
admin.site.index_title = "Operations dashboard"
# The incident list needs the width more than a second copy of the app list.
admin.site.enable_nav_sidebar = False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "email")
    search_fields = ("name",)
    filter_horizontal = ("members",)

    def has_delete_permission(self, request, obj=None):
        # Incidents keep pointing at their teams; a team is never removed.
        return False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "parent")
    list_select_related = ("parent",)
    search_fields = ("name", "parent__name")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "owning_team", "tier")
    list_filter = ("tier", "owning_team")
    list_select_related = ("owning_team",)
    search_fields = ("name",)
    autocomplete_fields = ("owning_team",)

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin:
    """No add, change or delete for anyone, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "incident", "actor_display", "kind", "message")
    list_filter = ("kind",)
    list_select_related = ("incident", "actor")
    search_fields = ("incident__number",)
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    list_per_page = 100
    actions = None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if rules.can_see_all(request.user):
            return queryset
        return queryset.filter(incident__in=rules.visible_incidents(request.user))

    @admin.display(description="actor")
    def actor_display(self, entry):
        return entry.actor_name


class HoldPeriodInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = HoldPeriod
    fields = ("reason", "note", "started_at", "ended_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


class IncidentChangeForm(forms.ModelForm):
    """The change form: the editable fields plus the version the page was loaded
    at, the optimistic lock of the save."""

    expected_version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version
            self.fields["expected_version"].required = True


CHANGE_FIELDSETS = (
    (
        "Report",
        {
            "fields": (
                "title",
                "description",
                ("source", "location"),
                ("reporter_name", "opened_by_name"),
                ("started_at", "detected_at", "reported_at"),
            )
        },
    ),
    (
        "Classification and assignment",
        {
            "fields": (
                ("category", "service"),
                ("impact", "urgency", "priority_display"),
                ("assignment_group", "assignee_name", "reassignment_count"),
            )
        },
    ),
    ("Response", {"fields": ("workaround", "investigation_notes")}),
    (
        "Resolution and closure",
        {
            "fields": (
                "resolution_code",
                "resolution_notes",
                "recovery_notes",
                "root_cause",
                ("closure_verified_by_name", "reopen_count"),
                "closure_notes",
            )
        },
    ),
    (
        "Hold, cancellation and links",
        {
            "classes": ("collapse",),
            "fields": (
                ("hold_reason", "hold_note"),
                ("cancel_reason", "duplicate_of"),
                "related_to",
            ),
        },
    ),
    (
        "Lifecycle",
        {
            "classes": ("collapse",),
            "fields": (
                ("triaged_at", "acknowledged_at", "mitigated_at"),
                ("resolved_at", "closed_at", "cancelled_at"),
                ("updated_at", "version"),
            ),
        },
    ),
)


def _username(user):
    return user.get_username() if user is not None else "-"


def fieldset_names(fieldsets):
    for _title, options in fieldsets:
        for entry in options["fields"]:
            if isinstance(entry, tuple | list):
                yield from entry
            else:
                yield entry


CHANGE_FIELD_NAMES = tuple(fieldset_names(CHANGE_FIELDSETS))

# States in which a later stage's section is shown unfolded.
SECTION_STATES = {
    "Response": ("mitigated", "investigating", "resolved", "closed"),
    "Resolution and closure": ("resolved", "closed"),
}


class SaveRefused(Exception):
    """Raised inside the admin's save transaction to roll it back and show the
    message instead."""


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentChangeForm
    list_display = (
        "number",
        "title",
        "state",
        "priority_column",
        "major",
        "service",
        "team",
        "assignee",
        "service_level",
        "age_column",
    )
    list_display_links = ("number", "title")
    list_filter = (
        QueueFilter,
        "status",
        "priority",
        MajorFilter,
        ("category", CategoryFilter),
        "service",
        "assignment_group",
        AssigneeFilter,
        "source",
        ("reported_at", admin.DateFieldListFilter),
        ("resolved_at", admin.DateFieldListFilter),
    )
    search_fields = ("title", "description")
    search_help_text = (
        "An incident number (INC0000042, or just 42) finds that incident; other "
        "words are looked up in titles and descriptions."
    )
    date_hierarchy = "reported_at"
    list_select_related = ("service", "assignment_group", "assignee")
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    list_per_page = 50
    view_on_site = False
    autocomplete_fields = ("category", "service")
    inlines = (HoldPeriodInline,)
    actions = BULK_ACTIONS
    change_form_template = "admin/incidents/incident/change_form.html"
    change_list_template = "admin/incidents/incident/change_list.html"

    # Columns

    @admin.display(description="state", ordering="status")
    def state(self, incident):
        return state_badge(incident)

    @admin.display(description="priority", ordering="priority")
    def priority_column(self, incident):
        return priority_badge(incident)

    @admin.display(description="major")
    def major(self, incident):
        return major_badge(incident)

    @admin.display(description="service level", ordering="resolution_due_at")
    def service_level(self, incident):
        return sla_badge(incident)

    @admin.display(description="team", ordering="assignment_group__name")
    def team(self, incident):
        return incident.assignment_group or "-"

    @admin.display(description="age", ordering="-reported_at")
    def age_column(self, incident):
        return age(incident.reported_at)

    # People are shown as plain names: Django would link them to the user admin,
    # which only superusers may open.

    @admin.display(description="reporter")
    def reporter_name(self, incident):
        return _username(incident.reporter)

    @admin.display(description="opened by")
    def opened_by_name(self, incident):
        return _username(incident.opened_by)

    @admin.display(description="assignee")
    def assignee_name(self, incident):
        return _username(incident.assignee)

    @admin.display(description="closure verified by")
    def closure_verified_by_name(self, incident):
        return _username(incident.closure_verified_by)

    @admin.display(description="priority")
    def priority_display(self, incident):
        return priority_badge(incident)

    # Permissions: incidents.rules decides and the admin calls it.

    def get_queryset(self, request):
        return rules.visible_incidents(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return super().has_add_permission(request) and rules.can_report(request.user)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        # A change page with nothing editable is shown as a view page.
        return bool(rules.editable_fields(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        # Incidents are cancelled, never deleted.
        return False

    def _has_action_permission(self, request, *actions):
        return any(
            request.user.has_perm(rules.permission_name(action)) for action in actions
        )

    def has_acknowledge_permission(self, request):
        return self._has_action_permission(request, "acknowledge")

    def has_assign_permission(self, request):
        return self._has_action_permission(request, "triage", "reassign")

    def has_close_permission(self, request):
        return self._has_action_permission(request, "close") or request.user.has_perm(
            "incidents.close_own_incident"
        )

    def has_hold_permission(self, request):
        return self._has_action_permission(request, "hold")

    def has_resume_permission(self, request):
        return self._has_action_permission(request, "resume")

    # The add (report) page

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ReportForm.Meta.fields})]
        # Sections of later stages start folded until the incident gets there,
        # which keeps the timeline near the top of the page.
        editable = rules.editable_fields(request.user, obj)
        fieldsets = []
        for title, options in CHANGE_FIELDSETS:
            stage_states = SECTION_STATES.get(title)
            names = set(fieldset_names([(title, options)]))
            if stage_states and obj.status not in stage_states and not names & editable:
                options = {**options, "classes": ("collapse",)}
            fieldsets.append((title, options))
        return fieldsets

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        # Adding another incident from a change page is a report, made from
        # the list; the button would only crowd the actions.
        context["show_save_and_add_another"] = False
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        editable = rules.editable_fields(request.user, obj)
        return tuple(name for name in CHANGE_FIELD_NAMES if name not in editable)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ReportForm
            kwargs["fields"] = ReportForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_object(self, request, object_id, from_field=None):
        # The change view calls this twice per request (for its context and for the
        # form); one query is enough.
        cache = request.__dict__.setdefault("_ims_incidents", {})
        if object_id not in cache:
            cache[object_id] = self.load_incident(request, object_id)
        return cache[object_id]

    def load_incident(self, request, object_id):
        queryset = self.get_queryset(request).select_related(
            "category__parent",
            "service__owning_team",
            "assignment_group",
            "assignee",
            "reporter",
            "opened_by",
            "closure_verified_by",
            "duplicate_of",
            "related_to",
        )
        try:
            return queryset.get(pk=int(object_id))
        except (Incident.DoesNotExist, ValueError, TypeError):
            return None

    def save_model(self, request, obj, form, change):
        if not change:
            services.create_reported_incident(form, request.user, reporter=request.user)
            return
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name != "expected_version"
        }
        try:
            services.update_fields(
                obj,
                request.user,
                changes,
                expected_version=form.cleaned_data["expected_version"],
            )
        except IncidentConflict as error:
            raise SaveRefused(f"Conflict: {error}") from error
        except services.ActionRefused as error:
            raise SaveRefused(str(error)) from error
        except ValidationError as error:
            raise SaveRefused(" ".join(error.messages)) from error

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except SaveRefused as error:
            # The admin's transaction has been rolled back: nothing was stored.
            self.message_user(request, str(error), messages.ERROR)
            return redirect(request.path)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if incident is not None:
            extra_context.update(self.incident_context(request, incident))
        return super().change_view(request, object_id, form_url, extra_context)

    def incident_context(self, request, incident):
        """Return the header, timeline and related incidents of the change page."""
        user = request.user
        actions = [
            {
                "name": name,
                "label": ACTION_FORMS[name].label,
                "url": action_url(incident, name),
            }
            for name in rules.available_actions(user, incident)
        ]
        timeline = list(
            incident.timeline.select_related("actor").order_by("-created_at", "-id")[
                : TIMELINE_LIMIT + 1
            ]
        )
        since = timezone.now() - timezone.timedelta(days=RELATED_WINDOW_DAYS)
        visible = rules.visible_incidents(user)
        same_service = []
        if incident.service_id:
            same_service = list(
                visible.filter(service=incident.service_id, reported_at__gte=since)
                .exclude(pk=incident.pk)
                .order_by("-reported_at")
                .only(*SUMMARY_FIELDS)[:RELATED_LIMIT]
            )
        duplicates = list(
            visible.filter(duplicate_of=incident.pk)
            .order_by("-reported_at")
            .only(*SUMMARY_FIELDS)[:RELATED_LIMIT]
        )
        return {
            "incident": incident,
            "incident_actions": actions,
            "timeline": timeline[:TIMELINE_LIMIT],
            "timeline_truncated": len(timeline) > TIMELINE_LIMIT,
            "timeline_url": reverse("admin:incidents_timelineentry_changelist")
            + f"?incident__id__exact={incident.pk}",
            "can_comment": rules.can_comment(user, incident),
            "same_service": same_service,
            "duplicates": duplicates,
            "related_window_days": RELATED_WINDOW_DAYS,
            "service_level_clocks": sla.clocks_for_display(incident, timezone.now()),
            "reviews": list(incident.reviews.order_by("-id")[:RELATED_LIMIT]),
        }

    # Search: number first, then words.

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        match = NUMBER_SEARCH.match(term)
        if match:
            by_number = self.number_matches(queryset, term, match.group(1))
            if by_number.exists():
                return by_number, False
        return super().get_search_results(request, queryset, search_term)

    def number_matches(self, queryset, term, digits):
        # A full number matches exactly; a shorter "INC00012" matches as a prefix.
        # Both use the number's unique index.
        if term.upper().startswith("INC"):
            return queryset.filter(number__startswith=term.upper())
        return queryset.filter(number=format_incident_number(int(digits)))

    # List page

    def changelist_view(self, request, extra_context=None):
        user = request.user
        counts = queue_counts(user)
        current = request.GET.get("queue")
        extra_context = {
            **(extra_context or {}),
            "queues": [
                {
                    "key": queue.key,
                    "label": queue.label,
                    "count": counts[queue.key],
                    "current": queue.key == current,
                }
                for queue in queues_for(user)
            ],
            "current_queue": QUEUES_BY_KEY.get(current),
        }
        return super().changelist_view(request, extra_context)

    def get_list_display(self, request):
        if rules.can_see_all(request.user):
            return self.list_display
        # Reporters see their own reports: who works on them matters less to them.
        return ("number", "title", "state", "priority_column", "age_column")

    def get_list_filter(self, request):
        if rules.can_see_all(request.user):
            return self.list_filter
        return (QueueFilter, "status", ("reported_at", admin.DateFieldListFilter))

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(view)

        return [
            path(
                "<path:object_id>/action/<str:action>/",
                wrap(
                    lambda request, object_id, action: action_view(
                        self, request, object_id, action
                    )
                ),
                name="incidents_incident_action",
            ),
            path(
                "<path:object_id>/comment/",
                wrap(lambda request, object_id: comment_view(self, request, object_id)),
                name="incidents_incident_comment",
            ),
            *super().get_urls(),
        ]
