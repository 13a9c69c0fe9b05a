"""The signed-in session as the page's script sees it: still signed in, for how long, and the
token a form needs to be posted.

A page warns two minutes before the idle time-out and offers to stay signed in (a request to this
view, which like any request pushes the expiry forward). After the time-out the page keeps what
was typed: pressing Save asks this view first, and only posts once the person has signed in again
(in another tab), with the new session's CSRF token. Nothing here reads or writes a record.
"""

from django.conf import settings
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def session_state(request):
    if not request.user.is_authenticated:
        # An answer, not the login redirect: the script asks, it does not navigate.
        return JsonResponse({"signed_in": False})
    return JsonResponse(
        {"signed_in": True, "idle_seconds": settings.SESSION_COOKIE_AGE, "csrf_token": get_token(request)}
    )
