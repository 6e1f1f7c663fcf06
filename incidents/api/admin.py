"""Admin pages of the monitoring intake: severity mapping, alerts, intake tokens."""

from django.contrib import admin

from incidents.api.models import AlertEvent, AlertSeverityMapping, IntakeToken


@admin.register(AlertSeverityMapping)
class AlertSeverityMappingAdmin(admin.ModelAdmin):
    list_display = ["severity", "impact", "urgency"]
    list_editable = ["impact", "urgency"]
    ordering = ["severity"]


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    """Received alerts, read-only: they are the record of what monitoring sent."""

    list_display = [
        "fingerprint",
        "status",
        "alert_name",
        "starts_at",
        "ends_at",
        "incident",
        "received_at",
    ]
    list_filter = ["status", "receiver"]
    list_select_related = ["incident"]
    search_fields = ["fingerprint", "incident__number"]
    raw_id_fields = ["incident"]
    date_hierarchy = "received_at"
    show_full_result_count = False

    @admin.display(description="alert name")
    def alert_name(self, event):
        return event.labels.get("alertname", "")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IntakeToken)
class IntakeTokenAdmin(admin.ModelAdmin):
    """Intake tokens; delete one to revoke it. New ones come from the
    create_intake_token command, which prints the key once."""

    list_display = ["name", "prefix", "user", "created_at", "last_used_at"]
    list_select_related = ["user"]
    readonly_fields = ["name", "user", "prefix", "created_at", "last_used_at"]
    search_fields = ["name", "prefix", "user__username"]

    def has_add_permission(self, request):
        return False
