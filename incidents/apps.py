from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incident management"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Admin pages of the intake models, and the OpenAPI descriptions of
        # the API's authentication schemes.
        from incidents import admin_sla, sla_hooks  # noqa: F401
        from incidents.api import admin, schema  # noqa: F401

        sla_hooks.connect()
