"""The base of every signed-in API view, and the two helpers each app's views repeat.

`ApiView` fixes how a request is authenticated (REST_FRAMEWORK's authenticators, token first);
permissions, paging, parsing and the error body come from REST_FRAMEWORK's defaults, which point
into this package. `read_body` checks a request body with a serializer; `error_responses` documents
the error answers of an operation, each with the one error body (ErrorSerializer).
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.settings import api_settings

from kernel.api.serializers import ErrorSerializer


class ApiView(GenericAPIView):
    # REST_FRAMEWORK's authenticators with session authentication last: the first one's
    # WWW-Authenticate header (the token's) is what turns "not signed in" into a 401 (with
    # session authentication first, DRF has no header to send and answers 403).
    authentication_classes = sorted(
        api_settings.DEFAULT_AUTHENTICATION_CLASSES, key=lambda cls: issubclass(cls, SessionAuthentication)
    )


def read_body(serializer_class, request, partial: bool = False) -> dict:
    """The request body as SERIALIZER_CLASS validated it; a 400 naming each field otherwise."""
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def error_responses(ok, texts: dict[int, str], ok_status: int, errors) -> dict:
    """An operation's documented answers: OK under OK_STATUS, then each status code in ERRORS with
    the error body and the app's own wording of it from TEXTS."""
    out = {ok_status: ok}
    for code in errors:
        out[code] = OpenApiResponse(ErrorSerializer, description=texts[code])
    return out
