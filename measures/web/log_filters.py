"""Keep the patients' self-report tokens out of the logs.

The token in /r/<token>/ and /api/self-report/<token>/ is the patient's only credential while the
questionnaire is open. Django's request logger names the path of every error answer ("Internal Server
Error: /r/<token>/"), and the development server logs every request line. This filter, on the console
handler in settings.LOGGING, writes "…" where the token was, in the message and in its arguments.
"""

import logging
import re

TOKEN_IN_PATH = re.compile(r"(/r/|/api/self-report/)[^/\s\"'?#<>]+")
REDACTED = r"\1…"


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class RedactSelfReportTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        # A traceback can quote the request too (a template's failed lookup prints its whole context).
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
