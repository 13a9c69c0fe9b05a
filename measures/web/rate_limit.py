"""Rate limit of the patient's self-report link, shared by its page (/r/<token>/) and its API.

The link needs no sign-in, so nothing but a count stops a script from hammering it. Two fixed
windows on Django's cache: every request counts against the client's address, and every POST
against its token as well. In production the cache is Redis (settings.CACHES), so all gunicorn
workers and web machines add to one count; the local-memory cache of development counts per
process.

Fixed windows are the simplest counter that is atomic on both caches (`add` then `incr`); their
known cost is that a client can spend two windows' worth around a boundary, which still bounds
it. Cache keys are hashes: neither the token (a credential) nor the address is written to Redis.
"""

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from courses.audit import client_ip

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window: int  # seconds


def address_limit() -> Limit:
    return Limit("address", settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS, settings.SELF_REPORT_RATE_LIMIT_WINDOW_SECONDS)


def token_post_limit() -> Limit:
    return Limit(
        "token-post", settings.SELF_REPORT_RATE_LIMIT_POSTS_PER_TOKEN, settings.SELF_REPORT_RATE_LIMIT_WINDOW_SECONDS
    )


def client_address(request) -> str:
    """The address the clinic's own proxy saw (courses.audit.client_ip: a client claiming a new
    address on every request would never be counted). IPv6 clients are counted by their /64,
    which one subscriber gets whole."""
    address = client_ip(request) or ""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if parsed.version == 6:
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _hit(limit: Limit, subject: str, now: float) -> int | None:
    """Count one request; the seconds until its window ends when that is over the limit, else None."""
    if limit.limit <= 0 or limit.window <= 0:
        return None  # 0 turns this limit off
    start = int(now // limit.window) * limit.window
    remaining = max(1, math.ceil(start + limit.window - now))
    digest = hashlib.sha256(f"{limit.scope}\0{subject}".encode()).hexdigest()[:32]
    key = f"self-report-rate:{limit.scope}:{digest}:{start}"
    # The window index is in the key, so a moved clock starts a new count even before the key expires.
    cache.add(key, 0, timeout=remaining + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request starts the next count
        cache.add(key, 1, timeout=remaining + 1)
        count = 1
    return remaining if count > limit.limit else None


def check(request, token: str) -> int | None:
    """Count this request to the link; seconds to wait when it is one too many, else None.

    A cache outage lets the request through: a patient who can answer late is better served than
    one who cannot answer at all, and the link is still signed, single-use and expiring."""
    now = time.time()
    try:
        wait = _hit(address_limit(), client_address(request), now)
        if wait is None and request.method == "POST":
            wait = _hit(token_post_limit(), token, now)
    except (RedisError, OSError) as exc:  # the cache server is down, unreachable or too slow
        logger.warning("self-report rate limit not applied: cache unavailable (%s)", type(exc).__name__)
        return None
    if wait is not None:
        logger.info("self-report rate limit reached (%s %s)", request.method, "API" if _is_api(request) else "page")
    return wait


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))
