"""One exception handler: domain errors become a uniform JSON body naming the fields.

Body: {"detail": "...", "errors": {"field": ["message", ...], "non_field_errors": [...]}}
"""

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def validation_error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == NON_FIELD_ERRORS else field): [str(m) for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        errors = validation_error_dict(exc)
        return Response({"detail": "The request breaks a rule of the record.", "errors": errors},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, IntegrityError):
        # A race lost against a unique constraint: the other write won; tell the client to retry.
        return Response({"detail": "The record changed while you were saving it; reload and try again.", "errors": {}},
                        status=status.HTTP_409_CONFLICT)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        data = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": "Some fields are invalid.", "errors": data}
    return response
