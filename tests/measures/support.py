"""Helpers for the measures tests: reading a course's schedule, zero answers, an added questionnaire.

Doses placed on given days are `devtools.builders.book_dose` and `dose_given`."""

import datetime as dt

from measures.models import Administration, AdministrationStatus


def at_day(base: dt.datetime, days: int, hour_offset: int = 0) -> dt.datetime:
    return base + dt.timedelta(days=days, hours=hour_offset)


def rows(course, **filters):
    return list(Administration.objects.filter(course=course, **filters).order_by("timepoint", "instrument"))


def summary(course, *, exclude_cancelled=True) -> list[tuple]:
    qs = Administration.objects.filter(course=course)
    if exclude_cancelled:
        qs = qs.exclude(status=AdministrationStatus.CANCELLED)
    return sorted((a.timepoint, a.instrument, a.status) for a in qs)


PHQ9_ZERO = dict.fromkeys(range(1, 10), 0)
GAD7_ZERO = dict.fromkeys(range(1, 8), 0)
PCL5_ZERO = dict.fromkeys(range(1, 21), 0)
ZERO = {"phq9": PHQ9_ZERO, "gad7": GAD7_ZERO, "pcl5": PCL5_ZERO}


def ad_hoc(course, by, instrument: str = "phq9"):
    """An additional questionnaire open from today for a week, opened by the tick: the kind a
    clinician may cancel (a baseline is waived instead, never cancelled)."""
    from django.utils import timezone

    from measures import services

    today = timezone.localdate()
    added = services.administration_add(
        course=course, by=by, instrument=instrument, open_from=today, missed_after=today + dt.timedelta(days=7)
    )
    services.tick()
    added.refresh_from_db()
    return added
