"""One exception handler: domain errors become a uniform JSON body naming the fields.

Body of every error: {"detail": "...", "errors": {"field": ["message", ...], "non_field_errors": [...]}};
`errors` is empty when no field is at fault (403, 404), and names `version` on a 409 for a stale write.
"""

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from courses.services import RecordChanged


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


def exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        errors = validation_error_dict(exc)
        return Response(
            {"detail": "The request breaks a rule of the record.", "errors": errors}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, RecordChanged):
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
    elif isinstance(response.data, dict):
        response.data = {"detail": str(response.data.get("detail", "")), "errors": {}}
    return response


def not_found(request, *args, **kwargs):
    """Any unmatched path under /api/ (a malformed id included) answers in the API's own shape."""
    return JsonResponse({"detail": "Not found.", "errors": {}}, status=404)
