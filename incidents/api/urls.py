"""Routes of /api/v1/. Other apps register their viewsets on ``router``."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from incidents.api import views
from incidents.api.intake import AlertmanagerIntakeView
from incidents.forms import ACTION_FORMS

app_name = "api"

router = DefaultRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("services", views.ServiceViewSet, basename="service")
router.register("teams", views.TeamViewSet, basename="team")

# One route per action, so that the schema documents each action's body; any
# other name falls through to a JSON 404.
transition_urls = [
    path(
        f"incidents/<str:number>/transitions/{name}/",
        views.transition_view(name).as_view(),
        name=f"incident-transition-{name}",
    )
    for name in ACTION_FORMS
]

urlpatterns = [
    *transition_urls,
    path(
        "incidents/<str:number>/transitions/<str:name>/",
        views.UnknownTransitionView.as_view(),
        name="incident-transition-unknown",
    ),
    path(
        "intake/alertmanager/",
        AlertmanagerIntakeView.as_view(),
        name="intake-alertmanager",
    ),
    path("auth/token/", views.AuthTokenView.as_view(), name="auth-token"),
]


def get_urlpatterns():
    """Return the routes, including viewsets registered on the router later."""
    return urlpatterns + router.urls
