"""OpenAPI descriptions of the API's authentication schemes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class UserTokenScheme(OpenApiAuthenticationExtension):
    target_class = "incidents.api.authentication.UserTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'API token: "Token KEY" or "Bearer KEY".',
        }


class IntakeTokenScheme(OpenApiAuthenticationExtension):
    target_class = "incidents.api.authentication.IntakeTokenAuthentication"
    name = "intakeToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Intake token printed by `manage.py create_intake_token`.",
        }
