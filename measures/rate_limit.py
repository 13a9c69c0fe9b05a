"""Rate limit of the patient's self-report link, shared by its page (/r/<token>/) and its API.

The link needs no sign-in, so nothing but a count stops a script from hammering it. Two fixed
windows (kernel/rate_limit.py): every request counts against the client's address, and every POST
against its token as well.
"""

import logging
import time

from django.conf import settings
from redis.exceptions import RedisError

from kernel.rate_limit import Limit, client_address, hit

logger = logging.getLogger(__name__)


def address_limit() -> Limit:
    return Limit("address", settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS, settings.SELF_REPORT_RATE_LIMIT_WINDOW_SECONDS)


def token_post_limit() -> Limit:
    return Limit(
        "token-post", settings.SELF_REPORT_RATE_LIMIT_POSTS_PER_TOKEN, settings.SELF_REPORT_RATE_LIMIT_WINDOW_SECONDS
    )


def check(request, token: str) -> int | None:
    """Count this request to the link; seconds to wait when it is one too many, else None.

    A cache outage lets the request through: a patient who can answer late is better served than
    one who cannot answer at all, and the link is still signed, single-use and expiring."""
    now = time.time()
    try:
        wait = hit(address_limit(), client_address(request), now)
        if wait is None and request.method == "POST":
            wait = hit(token_post_limit(), token, now)
    except (RedisError, OSError) as exc:  # the cache server is down, unreachable or too slow
        logger.warning("self-report rate limit not applied: cache unavailable (%s)", type(exc).__name__)
        return None
    if wait is not None:
        logger.info("self-report rate limit reached (%s %s)", request.method, "API" if _is_api(request) else "page")
    return wait


def _is_api(request) -> bool:
    return request.path.startswith("/api/")
