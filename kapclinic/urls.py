"""URL map: the staff web UI, the REST API with its schema and docs, health, and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from kapclinic.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Measures first: the course API ends in a catch-all JSON 404.
    path("api/", include("measures.api.urls")),
    path("api/", include("reports.api.urls")),
    path("api/", include("courses.api.urls")),
    path("", include("measures.web.urls")),
    path("", include("reports.web.urls")),
    path("", include("courses.web.urls")),
]
