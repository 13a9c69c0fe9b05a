"""Template context every page needs: the clinic's name and the signed-in person's alerts."""

from django.conf import settings

from courses.models import AdverseEvent, ClinicSettings


def clinic(request):
    user = getattr(request, "user", None)
    context = {"clinic_name": ClinicSettings.load().clinic_name}
    if user is not None and user.is_authenticated:
        # The page's script warns before the idle time-out (static/js/session.js).
        context["session_idle_seconds"] = settings.SESSION_COOKIE_AGE
    if user is not None and user.is_authenticated and user.is_practice_lead:
        context["open_serious_events"] = AdverseEvent.objects.serious_unacknowledged().count()
    return context
