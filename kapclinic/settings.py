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
    "axes",
    "accounts",
    "courses",
    "measures",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "courses.audit.RequestContextMiddleware",
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
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'kapclinic.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", "0"),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}

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

# Failed logins: lock the username (whatever the address) for a while after repeated failures.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Locked per username, not per address: a clinic's staff often share one NAT address, and an
# address lock after five typos would lock the whole clinic out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Sessions end after inactivity: every request pushes the expiry forward.
SESSION_COOKIE_AGE = envint("SESSION_IDLE_MINUTES", "30") * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

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
# Fault tolerance (docs/faults.md). A send left "sending" this long was abandoned by a dead worker.
MEASURES_SEND_CLAIM_STALE_SECONDS = envint("MEASURES_SEND_CLAIM_STALE_SECONDS", "900")
# First retry of a failed send after up to this many seconds, doubling (with jitter) up to 300.
MEASURES_SEND_RETRY_BACKOFF_SECONDS = envint("MEASURES_SEND_RETRY_BACKOFF_SECONDS", "10")

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
# is rate limited (measures/web/rate_limit.py). Per client address, every request counts (page and
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
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["courses.api.permissions.IsStaffMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "courses.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kapclinic API",
    "DESCRIPTION": "Treatment-course record for ketamine-assisted psychotherapy clinics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every contraindication-screen item shares one answer set (yes / no / unknown): one schema name.
    "ENUM_NAME_OVERRIDES": {"ScreenAnswerEnum": "courses.choices.ScreenAnswer"},
}

# Log lines carry ids and actions, never names, MRNs or free text about a patient.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A self-report link is the patient's key: no log line may carry it (Django's request logger
    # writes the path of a failed request).
    "filters": {"redact_link_tokens": {"()": "measures.web.log_redaction.RedactSelfReportTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_link_tokens"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger writes the full URL and, on errors, request data.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # Axes logs every successful login at INFO; failures and lock-outs are WARNING.
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # WeasyPrint narrates every layout step at INFO.
        "weasyprint": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "fontTools": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
