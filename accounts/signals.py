"""What every login() does, whichever view called it."""

from accounts import lockout, mfa


def on_login(sender, request, user, **kwargs):
    if request is None:
        return
    mfa.start_session(request, user)
    if hasattr(request, "session") and not mfa.session_pending(request):
        # No code owed: the password completed the sign-in.
        lockout.sign_in_complete(request, user)
