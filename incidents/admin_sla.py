"""Admin pages for service-level targets, calendars, escalation markers,
notification preferences and webhooks. Imported from IncidentsConfig.ready()."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect

from incidents import webhooks
from incidents.models import (
    BusinessHoliday,
    BusinessHoursCalendar,
    NotificationPreference,
    ServiceLevelEvent,
    ServiceLevelTarget,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)


@admin.register(ServiceLevelTarget)
class ServiceLevelTargetAdmin(admin.ModelAdmin):
    list_display = [
        "priority",
        "service",
        "response_target",
        "resolution_target",
        "calendar",
    ]
    list_filter = ["priority", "calendar"]
    list_select_related = ["service", "calendar"]
    raw_id_fields = ["service"]
    search_fields = ["service__name"]


class BusinessHolidayInline(admin.TabularInline):
    model = BusinessHoliday
    extra = 1


@admin.register(BusinessHoursCalendar)
class BusinessHoursCalendarAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "time_zone",
        "weekdays_display",
        "start_time",
        "end_time",
        "holiday_country",
    ]
    search_fields = ["name"]
    inlines = [BusinessHolidayInline]

    @admin.display(description="Working days")
    def weekdays_display(self, obj):
        return obj.describe_weekdays()


@admin.register(ServiceLevelEvent)
class ServiceLevelEventAdmin(admin.ModelAdmin):
    list_display = ["incident", "kind", "state", "due_at", "created_at"]
    list_filter = ["kind", "state"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        help_text="http or https address that receives a POST per event.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Shared key for the HMAC-SHA256 signature, at least 16 "
        "characters. Leave empty when editing to keep the current one.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "events", "secret", "active"]

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret:
            if self.instance.pk:
                return self.instance.secret
            raise forms.ValidationError("A new subscription needs a secret.")
        if len(secret) < 16:
            raise forms.ValidationError(
                f"The secret has {len(secret)} characters; use at least 16."
            )
        return secret


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "events_display", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]

    @admin.display(description="Events")
    def events_display(self, obj):
        return ", ".join(obj.events)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subscription",
        "event",
        "status",
        "attempts",
        "response_code",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "event", "subscription"]
    list_select_related = ["subscription"]
    readonly_fields = [
        "subscription",
        "event",
        "payload",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "created_at",
        "finished_at",
    ]
    date_hierarchy = "created_at"
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(
        description="Send the selected failed deliveries again",
        permissions=["change"],
    )
    def send_again(self, request, queryset):
        failed = queryset.filter(status=WebhookDelivery.Status.FAILED)
        ids = list(failed.values_list("pk", flat=True))
        with transaction.atomic():
            failed.update(
                status=WebhookDelivery.Status.PENDING,
                attempts=0,
                last_error="",
                response_code=None,
                finished_at=None,
            )
            transaction.on_commit(lambda: webhooks.enqueue_deliveries(ids))
        self.message_user(
            request, f"Queued {len(ids)} deliveries to send again.", messages.SUCCESS
        )


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    """Each user sees and edits only their own preferences; superusers see all."""

    list_display = [
        "user",
        "email_sla_at_risk",
        "email_sla_breached",
        "email_major_incident",
    ]
    list_select_related = ["user"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user=request.user)

    def get_exclude(self, request, obj=None):
        if request.user.is_superuser:
            return []
        return ["user"]

    def _owns(self, request, obj):
        return (
            obj is None or request.user.is_superuser or obj.user_id == request.user.pk
        )

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._owns(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)

    def add_view(self, request, form_url="", extra_context=None):
        # A user has one preference row. The check lives here rather than in
        # has_add_permission, which every admin page calls to build its app list.
        if not request.user.is_superuser:
            existing = NotificationPreference.objects.filter(user=request.user).first()
            if existing is not None:
                return redirect(
                    "admin:incidents_notificationpreference_change", existing.pk
                )
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.user = request.user
        super().save_model(request, obj, form, change)
