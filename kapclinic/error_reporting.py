"""Optional error reporting to Sentry (or a compatible service), on only when SENTRY_DSN is set.

What leaves the clinic is what a developer needs to find the bug and nothing about a patient or
a user: the exception's type and stack (file, function, line; no local variables), the log
message's format string (not its arguments), the request's method and path (link tokens
redacted; no query string, body, cookies or headers but a few harmless ones), the staff user's id
(no name, email or address) and the request id that joins the event to the server's log.
Exception messages are removed: a database error quotes the row ("Key (mrn)=(…)"), a validation
error the value typed.
"""

import sentry_sdk

from kapclinic.logs import current_request_id
from measures.web.log_redaction import redact

REMOVED = "[removed]"
# Request headers that cannot carry a credential, a cookie or a URL with a token (Referer can).
SAFE_HEADERS = {"content-type", "content-length", "user-agent", "accept", "x-request-id"}


def _redact_all(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_all(v) for k, v in value.items()}
    return value


def _scrub_request(request: dict) -> dict:
    kept = {}
    if request.get("method"):
        kept["method"] = request["method"]
    if request.get("url"):
        # Sentry's Django integration sends the URL without its query string; cut it anyway.
        kept["url"] = redact(str(request["url"]).split("?", 1)[0].split("#", 1)[0])
    headers = {k: redact(str(v)) for k, v in (request.get("headers") or {}).items() if k.lower() in SAFE_HEADERS}
    if headers:
        kept["headers"] = headers
    return kept


def _scrub_exception(exception: dict) -> dict:
    for value in exception.get("values") or []:
        if value.get("value"):
            value["value"] = REMOVED
        stack = value.get("stacktrace") or {}
        for frame in stack.get("frames") or []:
            frame.pop("vars", None)
            # Source lines are the code's, not data; kept, but a token in a literal would still go.
            for key in ("context_line", "pre_context", "post_context"):
                if key in frame:
                    frame[key] = _redact_all(frame[key])
    return exception


def before_send(event: dict, hint: dict | None = None) -> dict:
    """Sentry's last look at an event before it is sent: keep only what is listed above."""
    if "request" in event:
        event["request"] = _scrub_request(event["request"])
    if "exception" in event:
        event["exception"] = _scrub_exception(event["exception"])
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    logentry = event.get("logentry") or {}
    if logentry:
        # The format string is the code's; its arguments are data (a path, a name, an MRN).
        event["logentry"] = {"message": redact(str(logentry.get("message") or "")), "params": []}
    if "message" in event and isinstance(event["message"], str):
        event["message"] = redact(event["message"])
    user = event.get("user") or {}
    event["user"] = {"id": user["id"]} if user.get("id") else {}
    event.pop("extra", None)
    event.pop("breadcrumbs", None)
    if "transaction" in event:
        event["transaction"] = redact(str(event["transaction"]))
    event["tags"] = {k: redact(str(v)) for k, v in (event.get("tags") or {}).items()}
    request_id = current_request_id()
    if request_id != "-":
        event["tags"]["request_id"] = request_id
    return event


def init(dsn: str, *, environment: str = "", release: str = "", transport=None) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        send_default_pii=False,
        include_local_variables=False,
        max_breadcrumbs=0,
        # Errors only: no performance traces (they would carry URLs and queries).
        traces_sample_rate=0,
        before_send=before_send,
        transport=transport,
    )
