"""GET /healthz: is the database answering, and can a task be handed to the broker?

Always 200 with the state in the body, so a load balancer or a person can read what is wrong;
"status" is "degraded" when either check fails. No authentication and no patient data: the
body names the database vendor and the broker transport, never a host, user or password.
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
