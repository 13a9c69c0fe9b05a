"""The kernel of the measures' services: the care-team check, the claim timeout and
the shape of a message that cannot be sent. Every other module of `measures.services` builds on these.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied

from accounts.models import User
from courses.models import Course
from courses.selectors import courses_for
from measures.models import AdministrationStatus, MessageStatus

# A message claimed this long ago and still "sending" was left by a worker that died
# (settings.MEASURES_SEND_CLAIM_STALE_SECONDS; the fault tests shorten it for their workers).
STALE_CLAIM = timedelta(minutes=15)


ACTIVE = (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN)


def _stale_claim() -> timedelta:
    return timedelta(seconds=getattr(settings, "MEASURES_SEND_CLAIM_STALE_SECONDS", STALE_CLAIM.total_seconds()))


def _require_clinician_on_course(by: User, course: Course, doing: str) -> None:
    if not (by.is_clinician or by.is_practice_lead):
        raise PermissionDenied(f"Only a clinician can {doing}.")
    if not courses_for(by).filter(pk=course.pk).exists():
        raise PermissionDenied(f"Only the course's care team can {doing}.")


def _unsendable(now: datetime, why: str) -> dict:
    # Made failed at once, so it shows in the staff list of failed messages instead of vanishing.
    return {"status": MessageStatus.FAILED, "failed_at": now, "last_error": why}
