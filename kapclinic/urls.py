"""URL map: the staff web UI, the REST API with its schema and docs, health, and the admin."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe

from kapclinic.api_docs import DocsView, SchemaView
from kapclinic.health import healthz, livez, readyz


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (a PDF, the JSON API): the same
    mark. A temporary redirect, since the file's name carries its content's hash."""
    return HttpResponseRedirect(static("img/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # Staff only unless API_DOCS_PUBLIC (kapclinic/api_docs.py).
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Measures first: the course API ends in a catch-all JSON 404.
    path("api/", include("measures.api.urls")),
    path("api/", include("reports.api.urls")),
    path("api/", include("courses.api.urls")),
    path("", include("accounts.urls")),
    path("", include("accounts.password_urls")),
    path("", include("measures.web.urls")),
    path("", include("reports.web.urls")),
    path("", include("courses.web.urls")),
]

# What goes wrong outside a view (a body Django will not read, an uncaught exception): under /api/
# in the API's JSON error shape, elsewhere the web UI's pages (templates/400.html …).
handler400 = "kernel.api.errors.bad_request"
handler403 = "kernel.api.errors.permission_denied"
handler404 = "kernel.api.errors.page_not_found"
handler500 = "kernel.api.errors.server_error"
