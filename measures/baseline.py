"""The first-dose rule's one read of the measures: which baseline questionnaires are still open.

courses.bedside asks it through courses.hooks.open_baseline (registered in
MeasuresConfig.ready()): courses never imports measures.
"""

from collections import defaultdict

from django.db.models import Q

from measures.instruments import Instrument
from measures.models import Administration, AdministrationStatus, Timepoint


def open_baseline(course_ids) -> dict:
    """{course_id: [label, …]} of each course's baseline questionnaires not yet answered."""
    done = (AdministrationStatus.COMPLETED, AdministrationStatus.WAIVED, AdministrationStatus.CANCELLED)
    out: dict = defaultdict(list)
    rows = (
        Administration.objects.filter(course_id__in=course_ids, timepoint=Timepoint.BASELINE)
        # An answer a clinician entered with items missing is kept, but it cannot be scored: the
        # course would still have no baseline, so it is not "answered" for the first dose.
        .filter(~Q(status__in=done) | Q(status=AdministrationStatus.COMPLETED, response__complete=False))
        .order_by("instrument")
        .values_list("course_id", "instrument", "status")
    )
    for course_id, instrument, status in rows:
        label = Instrument(instrument).label
        out[course_id].append(f"{label} (answered with items missing)" if status == "completed" else label)
    return out
