"""A logging filter that takes self-report link tokens (and staff invitation and reset tokens) out of log lines.

The token is the patient's credential and sits in the URL path, and Django's request logger
writes that path: at ERROR for every 500 (`Internal Server Error: /r/<token>/`), and at WARNING
for every 4xx should anyone lower its level. Put on the console handler (settings.LOGGING), it
rewrites such lines to `/r/[link]/` before any handler formats them.
"""

import logging
import re
from urllib.parse import unquote

_LINK = re.compile(r"(/(?:api/self-report|r)/)[^/\s?#'\"]+")
# A staff member's mailed link (accounts/password_urls.py): /password-reset/<uid>/<token>/ and
# /invitation/<uid>/<token>/. The token is a credential for the account; the uid is not.
_STAFF_LINK = re.compile(r"(/(?:password-reset|invitation)/[^/\s?#'\"]+/)[^/\s?#'\"]+")


def redact(text: str) -> str:
    # Django routes /%72/<token>/ as /r/<token>/ (it decodes the path once), while the access log
    # writes the path as sent: decode first, so an encoded path is redacted too (found by review).
    if "%" in text:
        text = unquote(text)
    return _STAFF_LINK.sub(r"\1[link]", _LINK.sub(r"\1[link]", text))


class RedactSelfReportTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not ours
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        # A traceback can quote the request too (a template's failed lookup prints its whole context).
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
