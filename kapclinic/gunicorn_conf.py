"""gunicorn's settings for kapclinic: `gunicorn -c python:kapclinic.gunicorn_conf kapclinic.wsgi:application`.

The access log writes every request's path, and a patient's self-report link carries its token
in the path (/r/<token>/): the same redaction filter as Django's logging rewrites it to
/r/[link]/ before the line is written. Bind address and workers stay on the command line.
"""

_REDACT = {"()": "measures.web.log_redaction.RedactSelfReportTokens"}

# gunicorn's default line plus the request id the app put on the response (kapclinic/logs.py), so
# an access line joins the application's log lines of the same request.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_link_tokens": _REDACT},
    "formatters": {"generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": ["redact_link_tokens"],
            "stream": "ext://sys.stdout",
        }
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
