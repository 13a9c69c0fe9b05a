"""Fixed-window request counts on Django's cache, per client address or any other subject.

Used by the self-report link (measures/rate_limit.py), the sign-in lockout and the password
reset requests (accounts). In production the cache is Redis (settings.CACHES), so all gunicorn
workers and web machines add to one count; the local-memory cache of development counts per
process.

Fixed windows are the simplest counter that is atomic on both caches (`add` then `incr`); their
known cost is that a client can spend two windows' worth around a boundary, which still bounds
it. Cache keys are hashes: neither a token (a credential) nor an address is written to Redis.
"""

import hashlib
import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window: int  # seconds


def client_ip(request) -> str | None:
    """The address the clinic's own proxy saw, not one the client claims.

    Behind the production proxy the peer is the proxy, so its header is trusted only when told
    to, and then only its last entry: the proxy appends the peer it saw, and entries to the left
    came from the client itself. Anything that is not an address falls back to the peer."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
        if entries:
            try:
                return str(ipaddress.ip_address(entries[-1]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


def client_address(request) -> str:
    """The address the clinic's own proxy saw (client_ip: a client claiming a new address on
    every request would never be counted). IPv6 clients are counted by their /64, which one
    subscriber gets whole."""
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


def hit(limit: Limit, subject: str, now: float) -> int | None:
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


def minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))
