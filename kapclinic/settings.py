"""Settings for kapclinic, read from the environment.

Defaults make a checkout work on a bare machine: SQLite in ./var and a Celery broker
on the filesystem. DATABASE_URL switches to PostgreSQL, REDIS_URL (or CELERY_BROKER_URL)
to Redis.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KAPCLINIC_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: str) -> int:
    return int(os.environ.get(name, default))


DEBUG = envbool("DEBUG", "false")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Under /api/ a failed CSRF check answers in the API's JSON error shape; elsewhere Django's page.
CSRF_FAILURE_VIEW = "kernel.api.errors.csrf_failure"
TRUST_X_FORWARDED_FOR = envbool("TRUST_X_FORWARDED_FOR", "false")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files, served from this app's static files: no CDN on the clinic's origin.
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    # Before accounts: accounts/admin.py replaces knox's admin page with its own.
    "knox",
    # The second factor for staff (accounts/mfa.py): TOTP apps and one-time recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "courses",
    "measures",
    "reports",
    # Development tools: the demo practice and the load generators (management commands only).
    "devtools",
    # Worker and beat heartbeats for /readyz and the lead's dashboard.
    "ops",
]

MIDDLEWARE = [
    # First: every later middleware's and view's log lines carry the request id (kapclinic/logs.py).
    "kapclinic.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "courses.audit.RequestContextMiddleware",
    # A session that still owes its second factor reaches only the second-factor pages.
    "accounts.middleware.SecondFactorMiddleware",
    # Axes last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kapclinic.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "courses.context_processors.clinic",
            ],
        },
    },
]

WSGI_APPLICATION = "kapclinic.wsgi.application"

VAR_DIR.mkdir(parents=True, exist_ok=True)
# Persistent connections in production: opening a PostgreSQL connection (TCP, TLS, authentication,
# a backend process) cost more than the whole of a list request (docs/operations.md, "Database
# connections"). Each gunicorn sync worker then keeps one connection for up to DB_CONN_MAX_AGE
# seconds; the health check pings a reused connection once per request, so one the database or a
# proxy dropped is replaced instead of failing the request. Debug mode (make run's runserver, the
# tests) opens one per request as before.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'kapclinic.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", "0" if DEBUG else "60"),
        conn_health_checks=envbool("DB_CONN_HEALTH_CHECKS", "true"),
        # Behind PgBouncer in transaction pooling a server-side cursor (QuerySet.iterator()) cannot
        # outlive its transaction: turn them off there.
        disable_server_side_cursors=envbool("DB_DISABLE_SERVER_SIDE_CURSORS", "false"),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}
# Two PostgreSQL roles (docs/operations.md "Database roles"): DATABASE_URL is the application's
# role, which owns nothing; `manage.py migrate` and `manage.py db_roles` connect as this URL's
# role, the tables' owner, when it is set (accounts/db_roles.py).
DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Failed sign-ins (accounts/lockout.py): LOGIN_FAILURE_LIMIT failures lock a username from that
# address only, so a stranger cannot lock the lead out; LOGIN_FAILURE_LIMIT_PER_ADDRESS failures
# from one address, over all usernames, lock that address (password spraying). A clinic whose
# staff share one NAT address shares the per-address count: its default (20) leaves room for typos.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
LOGIN_FAILURE_LIMIT_PER_ADDRESS = envint("LOGIN_FAILURE_LIMIT_PER_ADDRESS", "20")
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Forgiven only when the whole sign-in (password and second factor) is right: accounts/lockout.py.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False

# Second factor (accounts/mfa.py): always for practice leads and superusers; for every member of
# staff when MFA_REQUIRED_FOR_ALL is on. The authenticator app shows this name beside the code.
MFA_REQUIRED_FOR_ALL = envbool("MFA_REQUIRED_FOR_ALL", "false")
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "kapclinic")
# The admin lists devices (a superuser removes a lost phone there) but never shows a secret or its QR.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Sessions end after inactivity: every request pushes the expiry forward.
SESSION_COOKIE_AGE = envint("SESSION_IDLE_MINUTES", "30") * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Mailed links (accounts/invitations.py): an invitation to choose a first password lasts
# INVITATION_DAYS, a password-reset link PASSWORD_RESET_MINUTES; each works once. Reset requests
# are limited per client address and per typed email address within the window.
INVITATION_DAYS = envint("INVITATION_DAYS", "3")
PASSWORD_RESET_TIMEOUT = envint("PASSWORD_RESET_MINUTES", "60") * 60
PASSWORD_RESET_RATE_LIMIT_WINDOW_SECONDS = envint("PASSWORD_RESET_RATE_LIMIT_WINDOW_SECONDS", "900")
PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS = envint("PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS", "10")
PASSWORD_RESET_RATE_LIMIT_PER_EMAIL = envint("PASSWORD_RESET_RATE_LIMIT_PER_EMAIL", "3")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("CLINIC_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not envbool("TESTING", "false")
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Production hardening; on by default whenever DEBUG is off, so `check --deploy` is clean.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "false" if DEBUG else "true")
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "false" if DEBUG else "true")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Mail: console by default so `make run` shows what would be sent.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "10")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "kapclinic <no-reply@kapclinic.invalid>")
CLINIC_BASE_URL = os.environ.get("CLINIC_BASE_URL", "http://127.0.0.1:8000")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
SMS_BACKEND = os.environ.get("SMS_BACKEND", "measures.sms.FileSmsBackend")
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH", str(VAR_DIR / "sms"))

# Celery: filesystem transport needs no server; REDIS_URL or CELERY_BROKER_URL for real use.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "false")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Workers and beat log through LOGGING below (JSON or plain, link tokens redacted), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Beat only says "look now"; what is due is read from the database by the task itself.
CELERY_BEAT_SCHEDULE = {
    "measures-tick": {
        "task": "measures.tasks.tick",
        "schedule": envint("MEASURES_TICK_SECONDS", "300"),
        # A tick that waited longer than one interval is stale: the next one does its work.
        "options": {"expires": envint("MEASURES_TICK_SECONDS", "300") - 5},
    },
    "notify-pending-serious-events": {
        "task": "courses.tasks.notify_pending_serious_events",
        "schedule": envint("SAE_SWEEP_SECONDS", "60"),
        "options": {"expires": 55},
    },
}
# Exports requested while the broker was down are queued again by this sweep (docs/faults.md).
# A course stalls after days without a dose: once a day (and at beat's start) is soon enough.
CELERY_BEAT_SCHEDULE["sync-stalled-courses"] = {
    "task": "measures.tasks.sync_stalled_courses",
    "schedule": envint("STALLED_SYNC_SECONDS", "86400"),
    "options": {"expires": 3600},
}
CELERY_BEAT_SCHEDULE["queue-waiting-exports"] = {
    "task": "reports.tasks.queue_waiting_exports",
    "schedule": envint("EXPORT_SWEEP_SECONDS", "60"),
    "options": {"expires": 55},
}
# A publish to a Redis that is down or hangs must give up in seconds, since a web request (an
# export, a resend) may be the one waiting; kombu's default socket timeout is "forever".
BROKER_TIMEOUT_SECONDS = envint("BROKER_TIMEOUT_SECONDS", "2")
REDIS_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
}
if CELERY_BROKER_URL.split(":", 1)[0] in ("redis", "rediss"):
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
# Two quick retries, then the caller's fallback (the database keeps the work for beat's sweeps).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# The outcome report page and API answer from a count a worker made (reports/services.py
# `report_counted`); a request waits this long for a count it asked for, then shows the last count
# (saying when it was made) or "counting", so a large practice never holds a web worker for long.
REPORT_WAIT_SECONDS = float(os.environ.get("REPORT_WAIT_SECONDS", "2"))
# A count is current while the record's data version is unchanged (reports/data_version.py) and for
# at most this long: the version moves just after each commit, so a process killed between the two
# leaves it unmoved; this bounds how long such a count could be shown as current.
REPORT_COUNT_MAX_AGE_SECONDS = envint("REPORT_COUNT_MAX_AGE_SECONDS", "900")
# Fault tolerance (docs/faults.md). A send left "sending" this long was abandoned by a dead worker.
MEASURES_SEND_CLAIM_STALE_SECONDS = envint("MEASURES_SEND_CLAIM_STALE_SECONDS", "900")
# First retry of a failed send after up to this many seconds, doubling (with jitter) up to 300.
MEASURES_SEND_RETRY_BACKOFF_SECONDS = envint("MEASURES_SEND_RETRY_BACKOFF_SECONDS", "10")
# After those quick retries a message is not given up: beat's sweep tries it again after
# MEASURES_SEND_LATER_FIRST_SECONDS, doubling up to MEASURES_SEND_LATER_MAX_SECONDS, until the
# give-up time (from the first slow retry): 72 h for safety mail, 24 h for a patient's message.
# The cap bounds the wait after the server is back (5 min + one sweep); an attempt costs one connection.
MEASURES_SEND_SWEEP_SECONDS = envint("MEASURES_SEND_SWEEP_SECONDS", "60")
MEASURES_SEND_LATER_FIRST_SECONDS = envint("MEASURES_SEND_LATER_FIRST_SECONDS", "60")
MEASURES_SEND_LATER_MAX_SECONDS = envint("MEASURES_SEND_LATER_MAX_SECONDS", "300")
MEASURES_SEND_GIVE_UP_SAFETY_SECONDS = envint("MEASURES_SEND_GIVE_UP_SAFETY_SECONDS", str(72 * 3600))
MEASURES_SEND_GIVE_UP_PATIENT_SECONDS = envint("MEASURES_SEND_GIVE_UP_PATIENT_SECONDS", str(24 * 3600))
CELERY_BEAT_SCHEDULE["send-waiting-messages"] = {
    "task": "measures.tasks.send_waiting_messages",
    "schedule": MEASURES_SEND_SWEEP_SECONDS,
    "options": {"expires": max(MEASURES_SEND_SWEEP_SECONDS - 5, 1)},
}
# Heartbeats (ops/heartbeats.py): beat records each hand-over of this task, the worker that runs it
# records the run. Stale after two missed measure ticks (at least three heartbeats): /readyz answers
# 503 and the lead's dashboard says questionnaires are not being sent.
_tick_seconds = envint("MEASURES_TICK_SECONDS", "300")
OPS_HEARTBEAT_SECONDS = envint("OPS_HEARTBEAT_SECONDS", str(min(_tick_seconds, 60)))
_stale_default = str(max(2 * _tick_seconds, 3 * OPS_HEARTBEAT_SECONDS))
OPS_BEAT_STALE_SECONDS = envint("OPS_BEAT_STALE_SECONDS", _stale_default)
OPS_WORKER_STALE_SECONDS = envint("OPS_WORKER_STALE_SECONDS", _stale_default)
CELERY_BEAT_SCHEDULE["ops-heartbeat"] = {
    "task": "ops.tasks.heartbeat",
    "schedule": OPS_HEARTBEAT_SECONDS,
    "options": {"expires": OPS_WORKER_STALE_SECONDS},
}

# Cache: Redis whenever REDIS_URL is set, so the self-report rate limit below is counted once for
# every gunicorn worker and web machine (a per-process count would multiply the limit by the number
# of workers). Without Redis, a local-memory cache per process: right for `make run` and tests.
# CACHE_REDIS_URL puts the cache in another Redis database than the broker's; do that before anyone
# runs cache.clear(), which flushes the whole Redis database it points at, Celery's queue included.
CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL") or REDIS_URL
if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "KEY_PREFIX": "kapclinic",
            # A slow Redis must not hold a patient's page for long: the limiter lets the request through.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kapclinic"}}

# The patient's self-report link (/r/<token>/ and /api/self-report/<token>/) needs no sign-in, so it
# is rate limited (measures/rate_limit.py). Per client address, every request counts (page and
# API together); per link, every POST. Over a limit the patient gets 429, Retry-After and a page
# saying how many minutes to wait. The address is REMOTE_ADDR, or with TRUST_X_FORWARDED_FOR the
# last X-Forwarded-For entry (the one the clinic's proxy added). Windows are fixed, of
# SELF_REPORT_RATE_LIMIT_WINDOW_SECONDS; a limit of 0 turns it off. A whole clinic behind one
# address (patients on the clinic's Wi-Fi) shares the per-address count: raise it if that is you.
SELF_REPORT_RATE_LIMIT_WINDOW_SECONDS = envint("SELF_REPORT_RATE_LIMIT_WINDOW_SECONDS", "600")
SELF_REPORT_RATE_LIMIT_PER_ADDRESS = envint("SELF_REPORT_RATE_LIMIT_PER_ADDRESS", "30")
SELF_REPORT_RATE_LIMIT_POSTS_PER_TOKEN = envint("SELF_REPORT_RATE_LIMIT_POSTS_PER_TOKEN", "10")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.tokens.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["kernel.api.permissions.IsStaffMember"],
    # drf-spectacular's, plus the clinical ranges, date years and PATCH's required `version` the API enforces.
    "DEFAULT_SCHEMA_CLASS": "kapclinic.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "kernel.api.errors.exception_handler",
    # A bad `limit` (1-200) or `offset` (0-2147483647) is a 400 naming it, not silently ignored.
    "DEFAULT_PAGINATION_CLASS": "kernel.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    # JSON only (a form body cannot carry the lists and objects the API takes: it is a 415); nested
    # deeper than 20 levels, or not JSON, is a 400 in the API's shape (it was a RecursionError, a 500).
    "DEFAULT_PARSER_CLASSES": ["kernel.api.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# API tokens (accounts/tokens.py): django-rest-knox keys, stored as digests, expiring this many hours
# after they are issued. The old rest_framework.authtoken keys no longer authenticate.
API_TOKEN_TTL_HOURS = envint("API_TOKEN_TTL_HOURS", "10")
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# knox's own migrations create its default token table, which the swap above leaves unused; on
# PostgreSQL its foreign key to the users would also stop the tests' TRUNCATE. Skipped.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {"TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS), "AUTH_HEADER_PREFIX": "Token"}
SPECTACULAR_SETTINGS = {
    "TITLE": "kapclinic API",
    "DESCRIPTION": "Treatment-course record for ketamine-assisted psychotherapy clinics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every contraindication-screen item shares one answer set (yes / no / unknown): one schema name.
    "ENUM_NAME_OVERRIDES": {"ScreenAnswerEnum": "courses.choices.ScreenAnswer"},
    # Swagger UI from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# The schema (/api/schema/) and Swagger UI (/api/docs/) are for signed-in staff; true opens both to
# anyone who can reach the server (kapclinic/api_docs.py).
API_DOCS_PUBLIC = envbool("API_DOCS_PUBLIC", "false")

# Content-Security-Policy (django-csp): scripts, styles, fonts and fetches from this origin only,
# no inline script or style anywhere, no plugins, no framing, forms post only here. Images may
# also be data: URIs (Swagger UI's icons, a QR code). The PDFs are drawn by WeasyPrint on the
# server, which reads no CSP; their inline <style> never reaches a browser as HTML.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Log lines carry ids and actions, never names, MRNs or free text about a patient.
# LOG_FORMAT: "json" (one object per line, for a log collector; the default with DEBUG off) or
# "plain" (for a person, as in `make run`). Both carry the request id (kapclinic/logs.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "kapclinic.logs.JsonFormatter"},
    },
    # A self-report link is the patient's key: no log line may carry it (Django's request logger
    # writes the path of a failed request, the development server the path of every request).
    "filters": {
        "redact_link_tokens": {"()": "measures.web.log_redaction.RedactSelfReportTokens"},
        "request_id": {"()": "kapclinic.logs.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_link_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger writes the full URL and, on errors, request data.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # runserver's request log (make run, bin/run-all): Django's own handler for it has no
        # redaction, so it goes through ours.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Axes logs every successful login at INFO; failures and lock-outs are WARNING.
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # WeasyPrint narrates every layout step at INFO.
        "weasyprint": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "fontTools": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# Error reporting (kapclinic/error_reporting.py): off unless SENTRY_DSN is set. Events carry the
# exception's type and stack, the path and the request id; no body, cookie, header with a
# credential, query string, user name or email, exception message or link token.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from kapclinic.error_reporting import init as _init_error_reporting

    _init_error_reporting(
        SENTRY_DSN, environment=os.environ.get("SENTRY_ENVIRONMENT", ""), release=os.environ.get("SENTRY_RELEASE", "")
    )
