"""Health endpoints, none needing a login and none naming a patient, host, user or password.

GET /livez: the process is up and serving (no dependency is checked): 200 {"status": "alive"}.
GET /readyz: 200 when the database and the broker answer and the worker and beat heartbeats are
  fresh, else 503 with the failing checks named in "failing".
GET /healthz: the older probe, kept as documented: the database and broker state, always 200,
  "status" is "degraded" when either check fails.
"""

import logging
import os
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)

# A probe must answer fast even when Redis is down or unreachable.
BROKER_TIMEOUT_SECONDS = 2


def database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.error("healthz: database check failed: %s", type(exc).__name__)
        return {"ok": False, "vendor": connection.vendor}
    return {"ok": True, "vendor": connection.vendor}


def transport_name(url: str) -> str:
    scheme = urlsplit(url).scheme or url.split(":", 1)[0]
    return {"rediss": "redis"}.get(scheme, scheme)


def broker_state(url: str | None = None, transport_options: dict | None = None) -> dict:
    """Open (and close) one connection to the broker. The URL is read from settings at call time."""
    url = url or settings.CELERY_BROKER_URL
    if transport_options is None:
        transport_options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    transport = transport_name(url)
    if transport == "redis":
        transport_options.setdefault("socket_connect_timeout", BROKER_TIMEOUT_SECONDS)
        transport_options.setdefault("socket_timeout", BROKER_TIMEOUT_SECONDS)
    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=transport_options) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
        if transport == "filesystem":
            # Connecting to the filesystem transport always succeeds; what can fail is the folder.
            folders = {transport_options.get("data_folder_in"), transport_options.get("data_folder_out")} - {None}
            unusable = [f for f in folders if not (os.path.isdir(f) and os.access(f, os.W_OK))]
            if unusable:
                raise OSError("broker folder missing or not writable")
    except Exception as exc:
        logger.error("healthz: broker check failed (%s): %s", transport, type(exc).__name__)
        return {"ok": False, "transport": transport}
    return {"ok": True, "transport": transport}


@never_cache
@require_GET
def healthz(request):
    database = database_state()
    broker = broker_state()
    status = "ok" if database["ok"] and broker["ok"] else "degraded"
    return JsonResponse({"status": status, "database": database, "broker": broker})


@never_cache
@require_GET
def livez(request):
    return JsonResponse({"status": "alive"})


def heartbeat_states(database_ok: bool) -> dict:
    # Imported here: kapclinic is loaded before the apps (celery.py imports this package).
    from ops import heartbeats

    if database_ok:
        try:
            return heartbeats.states()
        except Exception as exc:  # the table may be missing before `migrate`: not ready, not a 500
            logger.error("readyz: heartbeat check failed: %s", type(exc).__name__)
    # Unknown rather than failing: "failing" names the database, which is what to fix.
    unknown = {"ok": None, "last": None, "detail": "unknown: the heartbeats are kept in the database"}
    return {"beat": dict(unknown), "worker": dict(unknown)}


@never_cache
@require_GET
def readyz(request):
    checks = {"database": database_state(), "broker": broker_state()}
    checks.update(heartbeat_states(checks["database"]["ok"]))
    failing = [name for name, state in checks.items() if state["ok"] is False]
    ready = all(state["ok"] for state in checks.values())
    body = {"status": "ready" if ready else "unavailable", "failing": failing, **checks}
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        # One WARNING naming the checks, instead of Django's "Service Unavailable" ERROR for every
        # probe (a load balancer asks every few seconds).
        logger.warning("readyz: not ready: failing=%s", ",".join(failing) or "unknown")
        response._has_been_logged = True
    return response
