"""URLs for the reviews API tests: the project's URLs plus the reviews router
under /api/v1/, as the project includes it."""

from django.urls import include, path

from ims_project.urls import urlpatterns as project_urlpatterns
from reviews.api import router

urlpatterns = [
    path("api/v1/", include(router.urls)),
    *project_urlpatterns,
]
