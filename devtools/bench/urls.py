"""The product's URLs plus the API benchmark's yardstick, for the benchmark's gunicorn only.

`devtools.bench.wsgi` serves this URLconf; the product's own (kapclinic.urls) never names the
yardstick. The project's URLconf is included by name: devtools and kapclinic do not import each
other (pyproject.toml, the import contract).
"""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from courses import selectors
from courses.audit import audit_view
from kernel.api.views import ApiView


class YardstickView(ApiView):
    """The least an API read of a record can do: the same authentication and permission as every
    API view, one indexed query (the course by its key, within the caller's caseload) and the same
    audit row a read of a course writes. The API's lists are measured against it."""

    @extend_schema(exclude=True)
    def get(self, request, course_id):
        course = selectors.courses_for(request.user).select_related("patient").get(pk=course_id)
        audit_view(actor=request.user, patient=course.patient, record=course)
        return Response({"id": str(course.pk), "status": course.status})


urlpatterns = [
    path("bench/yardstick/<uuid:course_id>/", YardstickView.as_view(), name="bench-yardstick"),
    path("", include("kapclinic.urls")),
]

handler400 = "kernel.api.errors.bad_request"
handler403 = "kernel.api.errors.permission_denied"
handler404 = "kernel.api.errors.page_not_found"
handler500 = "kernel.api.errors.server_error"
