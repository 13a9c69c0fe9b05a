"""Request ids and JSON log lines (settings.LOGGING, LOG_FORMAT=json|plain).

RequestIdMiddleware gives every request an id: the incoming X-Request-ID when it is safe (a proxy's
id, so its log and ours join up), else a new one. The id goes back in the response's X-Request-ID
and, through RequestIdFilter, onto every log line written while the request is handled.

JsonFormatter writes one JSON object per line with a fixed set of keys. Log records can carry
objects (Django's request logger attaches the whole request, whose repr holds the URL and so a
patient's link token); only the listed keys are written, and every string value passes the
self-report token redaction again, the traceback included.
"""

import contextvars
import datetime as dt
import logging
import re
import uuid

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from measures.web.log_redaction import redact

HEADER = "X-Request-ID"
# A proxy's id (uuid, hex, base64url, "abc-123.4"): short, printable, no spaces, quotes or newlines,
# so a client cannot forge extra log lines or fields with it.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
NO_REQUEST = "-"

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str:
    return _request_id.get()


def request_id_from(header: str | None) -> str:
    if header and SAFE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so every later middleware's and view's log lines carry the id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on the record ("-" outside a request: a worker, a command)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


# Written keys (renamed from the LogRecord attribute where it differs). Anything else on a record,
# such as Django's `request` or `server_time`, is left out.
FIELDS = {"asctime": "time", "levelname": "level", "name": "logger", "message": "message", "request_id": "request_id"}
EXTRA_FIELDS = {"status_code", "exc_info", "stack_info"}


class JsonFormatter(_JsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", list(FIELDS))
        kwargs.setdefault("rename_fields", {k: v for k, v in FIELDS.items() if k != v})
        super().__init__(*args, **kwargs)

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        # UTC with its offset: log collectors sort and join on it, whatever the clinic's zone.
        return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")

    def formatException(self, ei):  # noqa: N802 - logging's name
        return redact(super().formatException(ei))

    def process_log_record(self, log_data):
        allowed = set(FIELDS.values()) | EXTRA_FIELDS
        return {
            key: redact(value) if isinstance(value, str) else value for key, value in log_data.items() if key in allowed
        }
