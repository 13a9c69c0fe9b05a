"""The API's OpenAPI schema and its Swagger UI: for signed-in staff, unless API_DOCS_PUBLIC is true.

The schema lists every operation and field of the clinical record; a stranger has no use for it.
Swagger UI comes from drf-spectacular-sidecar's static files (settings.SPECTACULAR_SETTINGS), never
from a CDN, and its start-up script is a separate request (SpectacularSwaggerSplitView), so the
page runs under the Content-Security-Policy without inline script or style.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer

from accounts.tokens import ApiTokenAuthentication
from kernel.api.permissions import IsStaffMember


class _DocsAccess:
    def get_permissions(self):
        # Read per request: drf-spectacular's SERVE_PERMISSIONS is fixed when its module is imported.
        return [AllowAny()] if settings.API_DOCS_PUBLIC else [IsStaffMember()]


class SchemaView(_DocsAccess, SpectacularAPIView):
    """GET /api/schema/: the OpenAPI document (staff, by session or API token)."""

    # Token first, as in the API: its WWW-Authenticate header makes "not signed in" a 401.
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]

    def finalize_response(self, request, response, *args, **kwargs):
        # A refusal in the API's JSON error shape, not as an OpenAPI YAML document.
        if response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class DocsView(_DocsAccess, SpectacularSwaggerSplitView):
    """GET /api/docs/: Swagger UI. Someone not signed in is sent to sign in, like any staff page."""

    template_name = "web/api_docs.html"

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated) and "script" not in self.request.GET:
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
