"""One exception handler for the whole API, and Django's own error views in the API's shape.

Domain errors (Django's ValidationError and PermissionDenied, a stale write) and DRF's become a
uniform JSON body naming the fields, whichever app's view raised them (REST_FRAMEWORK's
EXCEPTION_HANDLER; kapclinic/urls.py handler400…500 and CSRF_FAILURE_VIEW for the rest).

Body of every error: {"detail": "...", "errors": {"field": ["message", ...], "non_field_errors": [...]}};
`errors` is empty when no field is at fault (403, 404), and names `version` on a 409 for a stale write.
"""

import logging
import sys

from django import db
from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    ValidationError,
)
from django.db import IntegrityError
from django.http import JsonResponse
from django.views import csrf, defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kernel.api.parsers import BodyError
from kernel.concurrency import StaleWrite

logger = logging.getLogger(__name__)


def validation_error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == NON_FIELD_ERRORS else field): [str(m) for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _messages(value, prefix: str = "") -> list[str]:
    """Flatten DRF's nested errors (list items, dict keys) into plain messages."""
    if isinstance(value, dict):
        return [m for key, inner in value.items() for m in _messages(inner, f"{prefix}{key}: ")]
    if isinstance(value, list | tuple):
        out = []
        for index, inner in enumerate(value):
            if isinstance(inner, dict | list | tuple):
                out += _messages(inner, f"{prefix}item {index}: ")
            else:
                out.append(f"{prefix}{inner}")
        return out
    return [f"{prefix}{value}"]


def flatten_errors(data) -> dict[str, list[str]]:
    if not isinstance(data, dict):
        return {"non_field_errors": _messages(data)}
    return {str(field): _messages(value) for field, value in data.items()}


def body_refusal(exc: SuspiciousOperation) -> tuple[str, dict[str, list[str]]]:
    """Django's own refusals of a request body, as (detail, errors) naming the limit."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The body is larger than {limit:,} bytes, the most the API reads."
    elif isinstance(exc, TooManyFieldsSent):
        message = f"The body has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields."
    else:  # not the body: a Host header the site does not answer to, a bad multipart boundary…
        return "Bad request: it was refused before it was read.", {}
    return "The request body could not be read.", {"non_field_errors": [message]}


def exception_handler(exc, context):
    if isinstance(exc, BodyError):
        return Response(
            {"detail": "The request body could not be read.", "errors": {exc.field: [str(exc.detail)]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, SuspiciousOperation):
        # Raised by Django when DRF reads the body; unhandled it is a 400 HTML page and a
        # traceback in the log. One warning line instead, without the path (it may hold a link token).
        logger.warning("Refused an API request body: %s", type(exc).__name__)
        detail, errors = body_refusal(exc)
        return Response({"detail": detail, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ValidationError):
        errors = validation_error_dict(exc)
        return Response(
            {"detail": "The request breaks a rule of the record.", "errors": errors}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, StaleWrite):
        return Response(
            {
                "detail": str(exc),
                "errors": {
                    "version": [f"You sent version {exc.read_version}; the record is now version {exc.record.version}."]
                },
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, IntegrityError):
        # A race lost against a unique constraint: the other write won; tell the client to retry.
        return Response(
            {"detail": "The record changed while you were saving it; reload and try again.", "errors": {}},
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Some fields are invalid.", "errors": flatten_errors(response.data)}
    elif isinstance(exc, exceptions.ParseError):  # a form or multipart body that will not parse
        response.data = {"detail": "The request body could not be read.", "errors": {"non_field_errors": [str(exc)]}}
    elif isinstance(response.data, dict):
        response.data = {"detail": str(response.data.get("detail", "")), "errors": {}}
    return response


def not_found(request, *args, **kwargs):
    """Any unmatched path under /api/ (a malformed id included) answers in the API's own shape."""
    return JsonResponse({"detail": "Not found.", "errors": {}}, status=404)


# --- Django's own error views (kapclinic/urls.py handler400…500, CSRF_FAILURE_VIEW) -------------
# They answer what goes wrong outside DRF (middleware, a body Django refuses to read, an exception
# no view caught): under /api/ in the API's shape, elsewhere the web UI's HTML pages.


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def _api_error(detail: str, code: int, errors: dict | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": errors or {}}, status=code)


def bad_request(request, exception=None, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if _is_api(request):
        if isinstance(exception, SuspiciousOperation):
            detail, errors = body_refusal(exception)
            return _api_error(detail, 400, errors)
        return _api_error("Bad request.", 400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception=None, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if _is_api(request):
        return _api_error(str(exception or "") or "You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception=None, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if _is_api(request):
        return not_found(request)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if _is_api(request):
        # Django calls this inside its except block. A database that does not answer is an outage
        # the client should wait out (503 with Retry-After), not a fault in the request.
        if isinstance(sys.exc_info()[1], (db.OperationalError, db.InterfaceError)):
            response = _api_error("The database is not answering: nothing was saved. Try again in a minute.", 503)
            response["Retry-After"] = "30"
            return response
        return _api_error("Server error: the request was not completed. Try again; if it persists, tell IT.", 500)
    return defaults.server_error(request, template_name)


def csrf_failure(request, reason="", template_name=csrf.CSRF_FAILURE_TEMPLATE_NAME):
    if _is_api(request):
        return _api_error(f"CSRF check failed: {reason} Send the X-CSRFToken header, or use a token.", 403)
    return csrf.csrf_failure(request, reason, template_name)
