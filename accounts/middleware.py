"""A session that has not given its second factor reaches only the second-factor pages.

After the right password, accounts/mfa.py marks the session "pending" when a code is owed. Until
the code is given (or, with no device yet, an authenticator enrolled), every other page, the admin
and the session-authenticated API refuse it: pages redirect to the code form, the API answers 403.
"""

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import mfa

# Reached while pending: the code and enrolment pages, signing out, and the session probe the
# idle-timeout script polls (it reads no record).
OPEN_WHILE_PENDING = ("second-factor", "second-factor-enrol", "logout", "login", "session-state")


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._refused(request):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": "Second factor required: sign in on the web and enter the code from your "
                        "authenticator app before using the API with this session.",
                        "errors": {},
                    },
                    status=403,
                )
            return redirect(f"{reverse('second-factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    def _refused(self, request) -> bool:
        session = getattr(request, "session", None)
        if session is None:
            return False
        state = session.get(mfa.SESSION_KEY)
        if state == mfa.PASSED:
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if state is None:
            # A session from before this rule existed: decide now, once.
            mfa.start_session(request, user)
            if not mfa.session_pending(request):
                return False
        return request.path not in {reverse(name) for name in OPEN_WHILE_PENDING}
