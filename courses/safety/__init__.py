"""The clinical questions of the dosing day, answered once (DOMAIN §2–4).

"Is there a pre-dose hold?", "is this course cleared for dosing?", "what is still needed before
this patient can be dosed?", "can this patient be discharged?", "are vitals overdue?": each is a
pure function here, of plain facts, with no ORM inside. The services call them to refuse an act,
the pages to list what is missing, the API to report it, so the three cannot disagree
(courses/bedside.py gathers the facts from the database, in a bounded number of queries).

A refusal is a list of Blockers: what is missing, which field it concerns, what to do about it.

One module per question; callers use `from courses import safety` and `safety.<name>`, the names
re-exported here:

- blockers: Blocker, errors_of (a refusal and its ValidationError form)
- vitals: is there a pre-dose hold? does this reading fit the dose? is it a full set?
- clearance: is this course cleared for dosing, and ready for a dose at all?
- dose: what is still needed before this patient can be dosed? does a corrected dose time still fit?
- discharge: can this patient be discharged?
- monitoring: are vitals overdue?
"""

from courses.safety.blockers import NON_FIELD, Blocker, errors_of
from courses.safety.clearance import (
    CourseReadiness,
    Psych,
    Screen,
    add_months,
    clearance_blockers,
    course_blockers,
    screen_expires_on,
)
from courses.safety.discharge import (
    CHECKLIST_MESSAGES,
    UNEXCUSABLE,
    DischargeFacts,
    discharge_blockers,
    latest_pre_discharge,
)
from courses.safety.dose import (
    ALREADY_GIVEN,
    DoseFacts,
    OtherDose,
    dose_blockers,
    given_dose_errors,
    pregnancy_blockers,
    pregnancy_test_needed,
    spacing_blockers,
    weight_blockers,
)
from courses.safety.monitoring import PEAK_READING_DUE, PEAK_READING_FROM, Monitoring, monitoring_status
from courses.safety.vitals import (
    TO_THE_MINUTE,
    Hold,
    Override,
    Reading,
    full_set_errors,
    hold_blocker,
    hold_status,
    reading_fit_errors,
)

__all__ = [
    "ALREADY_GIVEN",
    "CHECKLIST_MESSAGES",
    "NON_FIELD",
    "PEAK_READING_DUE",
    "PEAK_READING_FROM",
    "TO_THE_MINUTE",
    "UNEXCUSABLE",
    "Blocker",
    "CourseReadiness",
    "DischargeFacts",
    "DoseFacts",
    "Hold",
    "Monitoring",
    "OtherDose",
    "Override",
    "Psych",
    "Reading",
    "Screen",
    "add_months",
    "clearance_blockers",
    "course_blockers",
    "discharge_blockers",
    "dose_blockers",
    "errors_of",
    "full_set_errors",
    "given_dose_errors",
    "hold_blocker",
    "hold_status",
    "latest_pre_discharge",
    "monitoring_status",
    "pregnancy_blockers",
    "pregnancy_test_needed",
    "reading_fit_errors",
    "screen_expires_on",
    "spacing_blockers",
    "weight_blockers",
]
