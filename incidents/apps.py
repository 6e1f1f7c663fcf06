from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incident management"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from incidents import admin_sla, sla_hooks  # noqa: F401

        sla_hooks.connect()
