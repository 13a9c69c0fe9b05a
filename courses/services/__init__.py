"""The course record's public write API. Every clinical rule has its one home in this package.

The web forms, the REST API, the admin, Celery tasks and management commands call these
functions as `from courses import services; services.course_open(...)`. Each takes keyword
arguments, reads the clock once (`now`), runs in a transaction, audits what it did, and refuses
a broken rule with a ValidationError keyed by the field concerned.

Parameters are named, typed and keyword-only; there is no `**fields`:

- A service that creates a record spells out each field it takes, with the model's default
  (`patient_register`, `medical_evaluation_add` with every screen item, `dose_add`,
  `adverse_event_add`, …): a misspelt name is a TypeError at the call, found by the tests,
  and `tests/courses/test_service_signatures.py` holds each list equal to its table in
  `courses.kinds` (or the serializer's), so the two cannot drift.
- A service that changes some fields of a record or a settings row takes them as one typed
  mapping, `changes: Mapping[str, object]` (field → new value): `patient_update`, `dose_update`,
  `record_update`, `clinic_settings_update`, `measures…measure_settings_update`,
  `reports…outcome_settings_update`, as `record_amend` always did. A name present is a change,
  even to None or ""; a name absent is left as it is, so a partial PATCH needs no sentinel. The
  service checks the names against the kind's or the row's table (`kinds.PATIENT_FIELDS`,
  `kind.editable`, `SETTINGS_FIELDS`, …) and refuses another with the ValidationError the user
  sees ("Unknown … field(s): …", "These fields cannot be edited: …"), never a TypeError: the
  API's generic PATCH, the web edit page and the admin pass names their user chose. The
  parameters that are not fields of the record (`version`, `reason`, `weighed_now`, `now`) stay
  named beside it.
- `now: datetime | None = None` everywhere: None reads the clock (`kernel.clock.now`), once.

The package is split by workflow stage; this module only re-exports the public names:

- `base`: the save/version kernel (`_save`, `check_version`, `RecordChanged`, `_save_audited`),
  shared text, choice and role checks, and the course-changed hook (`courses.hooks`)
- `patients`: patients and their weights
- `courses`: opening a course, its care team, stages and stopping its follow-up
- `evaluations`: the medical and psychiatric evaluations
- `sessions`: preparatory and integration sessions
- `dosing`: dosing sessions, doses, giving a dose, discharge
- `vitals`: vital readings, pre-dose holds and overrides, in-session alerts
- `adverse_events`: adverse events and the leads' notification and acknowledgement
- `lifecycle`: sign, edit before signing, amend, void
- `settings`, `staff`: the practice lead's clinic settings and staff accounts

Private helpers (leading underscore) are not re-exported: code that needs one imports it from
its module (`from courses.services.dosing import _weight_for_dose`). Reads that pages show live
in `courses.selectors`, not here.
"""

from courses.services.adverse_events import (
    adverse_event_acknowledge,
    adverse_event_add,
    adverse_event_notify_leads,
)
from courses.services.base import (
    ANY_STAFF,
    CLINICIANS,
    CONSTRAINT_MESSAGES,
    FUTURE_TOLERANCE,
    RecordChanged,
    check_version,
)
from courses.services.courses import (
    AFTER_DOSING,
    course_age_exception,
    course_change_status,
    course_follow_up_stop,
    course_open,
    course_update_team,
    next_stage,
)
from courses.services.dosing import (
    dose_add,
    dose_administer,
    dose_discharge,
    dose_update,
    dosing_session_note,
    dosing_session_schedule,
)
from courses.services.evaluations import (
    active_medical_evaluation,
    medical_evaluation_add,
    psychiatric_evaluation_add,
)
from courses.services.lifecycle import (
    record_amend,
    record_sign,
    record_update,
    record_void,
)
from courses.services.patients import patient_register, patient_update, weight_add
from courses.services.sessions import MAX_PREPARATORY_SESSIONS, integration_session_add, preparatory_session_add
from courses.services.settings import CEILING_FIELDS, SETTINGS_FIELDS, clinic_settings_update
from courses.services.staff import staff_create, staff_invite, staff_set_active
from courses.services.vitals import (
    ALERT_CLOSE_ACTIONS,
    OVERRIDE_JUDGED,
    dosing_hold_override,
    in_session_alert_close,
    pre_dose_hold,
    pre_dose_hold_active,
    vital_reading_add,
)

__all__ = [
    "AFTER_DOSING",
    "ALERT_CLOSE_ACTIONS",
    "ANY_STAFF",
    "CEILING_FIELDS",
    "CLINICIANS",
    "CONSTRAINT_MESSAGES",
    "FUTURE_TOLERANCE",
    "MAX_PREPARATORY_SESSIONS",
    "OVERRIDE_JUDGED",
    "RecordChanged",
    "SETTINGS_FIELDS",
    "active_medical_evaluation",
    "adverse_event_acknowledge",
    "adverse_event_notify_leads",
    "adverse_event_add",
    "check_version",
    "clinic_settings_update",
    "course_age_exception",
    "course_change_status",
    "course_follow_up_stop",
    "course_open",
    "course_update_team",
    "dose_administer",
    "dosing_hold_override",
    "dose_add",
    "dose_update",
    "dosing_session_note",
    "dosing_session_schedule",
    "in_session_alert_close",
    "integration_session_add",
    "medical_evaluation_add",
    "next_stage",
    "dose_discharge",
    "patient_register",
    "patient_update",
    "pre_dose_hold",
    "pre_dose_hold_active",
    "preparatory_session_add",
    "psychiatric_evaluation_add",
    "record_amend",
    "record_sign",
    "record_update",
    "record_void",
    "staff_create",
    "staff_invite",
    "staff_set_active",
    "vital_reading_add",
    "weight_add",
]
