"""Admin pages for reviews, action items, tags and trend reports.

Transitions run through reviews.services, which applies reviews.rules, so the
buttons here and the REST API reject the same actions for the same reasons.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from incidents.models import Incident, Service
from reviews import rules, services
from reviews.models import (
    ACTION_ITEM_OPEN_STATES,
    ActionItem,
    PeriodKind,
    PostIncidentReview,
    Tag,
    TrendReport,
)
from reviews.periods import last_complete_period, period_starting
from reviews.presentation import report_context, report_csv
from reviews.reports import build_report

logger = logging.getLogger(__name__)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "review_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(review_count=Count("reviews"))

    @admin.display(description="reviews", ordering="review_count")
    def review_count(self, obj):
        return obj.review_count


class ServiceOfIncidentFilter(admin.SimpleListFilter):
    """Reviews of incidents that affected a service: "what have we learned about
    this service"."""

    title = "service"
    parameter_name = "service"

    def lookups(self, request, model_admin):
        return [
            (str(pk), name) for pk, name in Service.objects.values_list("pk", "name")
        ]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(incidents__service_id=self.value()).distinct()
        return queryset


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 0
    fields = ["title", "owner", "due_date", "kind", "state", "overdue_badge"]
    readonly_fields = ["state", "overdue_badge"]
    raw_id_fields = ["owner"]
    show_change_link = True

    @admin.display(description="overdue")
    def overdue_badge(self, obj):
        return overdue_badge(obj)


def overdue_badge(item):
    if item.pk is None or not item.is_overdue():
        return ""
    days = (timezone.localdate() - item.due_date).days
    return format_html(
        '<span class="ims-badge ims-overdue" style="background:#ba2121;color:#fff;'
        'padding:1px 6px;border-radius:8px">Overdue by {} day{}</span>',
        days,
        "" if days == 1 else "s",
    )


class TransitionButtonsMixin:
    """Show the transitions the user may run on the object as buttons, and run
    them through a POST-only URL."""

    change_form_template = "admin/reviews/change_form_transitions.html"
    transitions = ()

    def available_transitions(self, request, obj):
        raise NotImplementedError

    def run_transition(self, request, obj, action):
        raise NotImplementedError

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<int:pk>/transition/<str:action>/",
                self.admin_site.admin_view(self.transition_view),
                name=f"{opts.app_label}_{opts.model_name}_transition",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, **kw):
        obj = context.get("original")
        if obj is not None:
            context["transition_buttons"] = [
                (action, label, self._needs_reason(action))
                for action, label in self.transitions
                if action in self.available_transitions(request, obj)
            ]
        return super().render_change_form(request, context, add, change, **kw)

    def _needs_reason(self, action):
        return False

    def transition_view(self, request, pk, action):
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        obj = get_object_or_404(self.model, pk=pk)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        try:
            self.run_transition(request, obj, action)
        except services.ReviewActionRefused as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, f"{obj}: {action.replace('_', ' ')} done.")
        opts = self.model._meta
        change_url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]
        )
        return HttpResponseRedirect(change_url)


class ReviewAdminForm(forms.ModelForm):
    class Meta:
        model = PostIncidentReview
        # The admin's fieldsets choose the fields shown; this list is the
        # fallback for forms built outside the admin.
        fields = ["title", "incidents", "facilitator", "due_date"]

    def clean_incidents(self):
        incidents = self.cleaned_data["incidents"]
        problems = services.incidents_already_reviewed(
            incidents, self.instance if self.instance.pk else None
        )
        if problems:
            raise forms.ValidationError(problems)
        return incidents


@admin.register(PostIncidentReview)
class PostIncidentReviewAdmin(TransitionButtonsMixin, admin.ModelAdmin):
    form = ReviewAdminForm
    transitions = (
        ("submit", "Submit for review"),
        ("return", "Return to draft"),
        ("publish", "Publish"),
    )
    list_display = [
        "title",
        "state",
        "due_date",
        "facilitator",
        "incident_numbers",
        "open_items",
        "published_at",
    ]
    list_filter = ["state", ServiceOfIncidentFilter, "tags", "no_action_needed"]
    list_select_related = ["facilitator"]
    search_fields = [
        "title",
        "summary",
        "root_cause",
        "contributing_factors",
        "lessons_learned",
        "tags__name",
        "incidents__number",
    ]
    raw_id_fields = ["incidents", "facilitator"]
    filter_horizontal = ["tags"]
    readonly_fields = ["state", "created_at", "submitted_at", "published_at"]
    inlines = [ActionItemInline]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["title", "state", "incidents", "facilitator", "due_date"]}),
        (
            "What happened",
            {
                "fields": [
                    "summary",
                    "customer_impact",
                    "timeline_highlights",
                    "root_cause",
                    "contributing_factors",
                ]
            },
        ),
        (
            "Learning",
            {
                "fields": [
                    "what_went_well",
                    "what_went_badly",
                    "where_we_got_lucky",
                    "lessons_learned",
                    "tags",
                    "no_action_needed",
                    "no_action_reason",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "submitted_at", "published_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_item_count=Count(
                    "action_items",
                    filter=Q(action_items__state__in=ACTION_ITEM_OPEN_STATES),
                    distinct=True,
                )
            )
            .prefetch_related("incidents")
        )

    @admin.display(description="incidents")
    def incident_numbers(self, obj):
        return ", ".join(incident.number for incident in obj.incidents.all())

    @admin.display(description="open action items", ordering="open_item_count")
    def open_items(self, obj):
        return obj.open_item_count

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            services.record_review_opened(
                form.instance, form.instance.incidents.all(), request.user
            )

    def available_transitions(self, request, obj):
        method = {"return": "return_to_draft"}
        return [
            action
            for action, _ in self.transitions
            if rules.review_refusal(request.user, obj, action) is None
            and getattr(obj, method.get(action, action))._django_fsm.has_transition(
                obj.state
            )
        ]

    def run_transition(self, request, obj, action):
        services.run_review_action(obj, action, request.user)

    def get_urls(self):
        return [
            path(
                "start/<int:incident_pk>/",
                self.admin_site.admin_view(require_POST(self.start_view)),
                name="reviews_postincidentreview_start",
            ),
            *super().get_urls(),
        ]

    def start_view(self, request, incident_pk):
        """Open a review of an incident (POST), for a "Start review" button."""
        incident = get_object_or_404(Incident, pk=incident_pk)
        try:
            review, created = services.start_review(request.user, incident)
        except services.ReviewActionRefused as error:
            raise PermissionDenied(str(error)) from None
        if created:
            self.message_user(request, f"Opened {review} for {incident.number}.")
        else:
            self.message_user(
                request, f"{incident.number} already has {review}.", messages.WARNING
            )
        return HttpResponseRedirect(review.get_absolute_url())


class OverdueFilter(admin.SimpleListFilter):
    """The overdue queue: due date passed and neither done nor cancelled."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        overdue = queryset.overdue()
        if self.value() == "yes":
            return overdue
        if self.value() == "no":
            return queryset.exclude(pk__in=overdue.values("pk"))
        return queryset


class CancelForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, max_length=2000)


@admin.register(ActionItem)
class ActionItemAdmin(TransitionButtonsMixin, admin.ModelAdmin):
    transitions = (
        ("start", "Start"),
        ("complete", "Mark done"),
        ("cancel", "Cancel"),
    )
    list_display = [
        "title",
        "review",
        "owner",
        "kind",
        "state",
        "due_date",
        "overdue",
    ]
    list_filter = [OverdueFilter, "state", "kind", "due_date"]
    list_select_related = ["review", "owner"]
    search_fields = ["title", "description", "review__title"]
    raw_id_fields = ["review", "owner"]
    readonly_fields = [
        "state",
        "cancel_reason",
        "created_at",
        "completed_at",
        "cancelled_at",
    ]

    @admin.display(description="overdue")
    def overdue(self, obj):
        return overdue_badge(obj)

    def _needs_reason(self, action):
        return action == "cancel"

    def available_transitions(self, request, obj):
        return [
            action
            for action, _ in self.transitions
            if rules.action_item_refusal(request.user, obj, action) is None
            and getattr(obj, action)._django_fsm.has_transition(obj.state)
        ]

    def run_transition(self, request, obj, action):
        reason = ""
        if action == "cancel":
            form = CancelForm(request.POST)
            if not form.is_valid():
                raise services.ReviewActionRefused(
                    "Say why the action item is cancelled."
                )
            reason = form.cleaned_data["reason"]
        services.run_action_item_action(obj, action, request.user, reason=reason)


class BuildReportForm(forms.Form):
    period = forms.ChoiceField(choices=PeriodKind.choices)
    start = forms.DateField(
        required=False,
        help_text="First day of the period (YYYY-MM-DD); empty for the last "
        "complete one.",
    )

    def clean(self):
        data = super().clean()
        kind, start = data.get("period"), data.get("start")
        if kind and start:
            try:
                data["resolved_period"] = period_starting(kind, start)
            except ValueError as error:
                self.add_error("start", str(error))
        elif kind:
            data["resolved_period"] = last_complete_period(kind)
        return data


@admin.register(TrendReport)
class TrendReportAdmin(admin.ModelAdmin):
    list_display = [
        "period_label",
        "period_kind",
        "period_start",
        "reported",
        "resolved",
        "backlog_end",
        "built_at",
    ]
    list_filter = ["period_kind"]
    date_hierarchy = "period_start"
    change_list_template = "admin/reviews/trendreport/change_list.html"

    @admin.display(description="period", ordering="period_start")
    def period_label(self, obj):
        return obj.label

    @admin.display(description="reported")
    def reported(self, obj):
        return obj.data.get("reported")

    @admin.display(description="resolved")
    def resolved(self, obj):
        return obj.data.get("resolved")

    @admin.display(description="backlog at end")
    def backlog_end(self, obj):
        return obj.data.get("backlog_end")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("build/", view(self.build_view), name="reviews_trendreport_build"),
            path("<int:pk>/csv/", view(self.csv_view), name="reviews_trendreport_csv"),
            path(
                "<int:pk>/print/",
                view(self.print_view),
                name="reviews_trendreport_print",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_build": rules.can_build_reports(request.user),
        }
        return super().changelist_view(request, extra_context)

    def _get_report(self, request, pk):
        report = get_object_or_404(TrendReport, pk=pk)
        if not self.has_view_permission(request, report):
            raise PermissionDenied
        return report

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self._get_report(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            **report_context(report),
            "opts": self.model._meta,
            "title": str(report),
            "can_build": rules.can_build_reports(request.user),
        }
        return TemplateResponse(
            request, "admin/reviews/trendreport/report.html", context
        )

    def csv_view(self, request, pk):
        report = self._get_report(request, pk)
        filename = f"trend-report-{report.period_kind}-{report.label}.csv"
        return HttpResponse(
            report_csv(report),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def print_view(self, request, pk):
        report = self._get_report(request, pk)
        return TemplateResponse(
            request, "reviews/report_print.html", report_context(report)
        )

    def build_view(self, request):
        if not rules.can_build_reports(request.user):
            raise PermissionDenied
        form = BuildReportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            period = form.cleaned_data["resolved_period"]
            report, replaced = build_report(period, user=request.user)
            verb = "Rebuilt (replacing the earlier build)" if replaced else "Built"
            self.message_user(request, f"{verb}: {report}.")
            logger.info(
                "trend report %s built from the admin by %s",
                report.pk,
                request.user.get_username(),
            )
            return HttpResponseRedirect(report.get_absolute_url())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Build a trend report",
            "form": form,
        }
        return TemplateResponse(
            request, "admin/reviews/trendreport/build.html", context
        )
