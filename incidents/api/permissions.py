"""API permissions beyond "authenticated"; object rules stay in incidents.rules."""

from rest_framework.permissions import BasePermission


class CanSubmitAlerts(BasePermission):
    message = "This account may not submit alerts (needs incidents.submit_alerts)."

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("incidents.submit_alerts"))
