"""The kinds of clinical record, in one registry.

A record kind is everything the generic record actions (sign, amend, edit, void), the selectors,
the admin, the API and the web need to know about one model: its slug in URLs and the API, the
fields a correction or an edit may change, the patients it belongs to, the caseload it is read
through, and the page it lives on. Adding a kind means adding a model and one `RecordKind` here;
the interfaces key their own tables (a serializer, an entry form) by the kind's slug, and
`tests/courses/test_kinds.py` fails until each of them has the new kind.

The rules of who may sign, amend or void a kind, and its own checks, are services: each workflow
module in `courses/services/` registers them for the kinds it owns with `register` below, so the
record-lifecycle services (`courses/services/lifecycle.py`) ask the registry instead of branching
on types.

This module sits between the models and the services: it imports only `courses.models` and
`courses.rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Model, Q, QuerySet

from courses import rules
from courses.models import (
    AdverseEvent,
    Course,
    Dose,
    DosingSession,
    IntegrationSession,
    MedicalEvaluation,
    Patient,
    PreparatorySession,
    PsychiatricEvaluation,
    VitalReading,
)

if TYPE_CHECKING:
    from accounts.models import User

# --- what each kind is entered with ------------------------------------------------------------
# The services refuse any other field on entry; the web forms and the API serializers list the same.

PATIENT_FIELDS = (
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "race_ethnicity",
    "email",
    "phone",
    "preferred_channel",
)

MEDICAL_EVALUATION_FIELDS = (
    "evaluated_on",
    "history",
    "medications",
    "systolic_bp",
    "diastolic_bp",
    "heart_rate",
    "spo2",
    "respiratory_rate",
    "weight_kg",
    *rules.ABSOLUTE_ITEMS,
    *rules.CAUTION_ITEMS,
    rules.CHILDBEARING_FIELD,
    "decision",
    "caution_note",
)

DOSE_FIELDS = (
    "drug",
    "route",
    "dose_mg",
    "weight_kg",
    "over_maximum_reason",
    "lot_number",
    "fasting_confirmed",
    "pregnancy_test",
    "concomitant_medications",
)

AE_FIELDS = (
    "term",
    "term_other",
    "grade",
    "serious",
    "serious_criteria",
    "onset_at",
    "resolved_at",
    "relatedness",
    "expectedness",
    "action_taken",
    "outcome",
    "description",
)

VITAL_FIELDS = tuple(rules.VITAL_RANGES)

# What an edit before signing or a correction after may change, where that is all of the kind's
# own fields (the entry services take more: the course, the therapist, the time it was held).
PSYCHIATRIC_EVALUATION_FIELDS = (
    "evaluated_on",
    "diagnosis",
    "icd10_code",
    "indication",
    "suicide_risk",
    "risk_plan",
    "note",
)
PREPARATORY_SESSION_FIELDS = ("held_at", "duration_minutes", "topics", "intentions", "note")
INTEGRATION_SESSION_FIELDS = ("held_at", "duration_minutes", "techniques", "note")
DOSING_SESSION_NOTE_FIELDS = ("facilitation_note", "others_present", "location")


@dataclass(frozen=True)
class Caseload:
    """The querysets a user reads records through (lazy: nothing runs until one is used)."""

    user: User
    patients: QuerySet
    courses: QuerySet
    dosing_sessions: QuerySet
    doses: QuerySet


@dataclass
class RecordKind:
    slug: str
    model: type[Model]
    # The records of this kind the user may read, within their caseload.
    scope: Callable[[Caseload], QuerySet]
    # The patients a record belongs to: several for a group session.
    patients: Callable[[Model], list[Patient]]
    # What a correction may change; derived values are recomputed, never typed.
    amendable: tuple[str, ...] = ()
    # What may be edited in place before signing (the edit page, PATCH). Empty: not edited in place.
    editable: tuple[str, ...] = ()
    # Why a kind is not edited in place, said by the API's PATCH (405) and the edit page.
    edited_elsewhere: str = ""
    # Corrected only by an amendment with a reason, even before the record above it is signed.
    always_amended: bool = False
    # What the trail called this kind before a rename: its audit label (verbose name) and its
    # amendments' record_type (model name). Rows are never rewritten, so readers match these too.
    former_labels: tuple[str, ...] = ()
    former_model_names: tuple[str, ...] = ()
    # Registered by the services that own the kind (see the module docstring and `register`).
    # (record, by): refuses a signature by the wrong person or of an incomplete record. None: never signed.
    sign_check: Callable | None = field(default=None, repr=False)
    # (record, by): refuses a correction or an edit by the wrong person.
    amend_permission: Callable | None = field(default=None, repr=False)
    # (record, by): refuses voiding by the wrong person, or while something depends on the record.
    void_permission: Callable | None = field(default=None, repr=False)
    # (record): refuses voiding while something still hangs on it (checked after the reason is given).
    void_check: Callable | None = field(default=None, repr=False)
    # (record, now, changed, before, reason): the kind's own rules, re-run after an edit or a correction.
    recheck: Callable | None = field(default=None, repr=False)
    # (record): locked for correction by more than its own signature (a given dose, a signed dose's events).
    locked: Callable | None = field(default=None, repr=False)
    # (record, by, now) -> after(why, before): watches a change of the record for what follows from it
    # (a corrected or voided vital reading re-judges the hold and the in-session alerts).
    watch: Callable | None = field(default=None, repr=False)
    # (record, by, version, now, changes): the kind's own edit service, when its edit is more than
    # setting fields (a dose recalculates mg/kg and may record a weight).
    update: Callable | None = field(default=None, repr=False)

    @property
    def signable(self) -> bool:
        return self.sign_check is not None

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every audit record_type this kind's events carry: its label, then the former ones."""
        return (self.label, *self.former_labels)

    @property
    def model_names(self) -> tuple[str, ...]:
        """Every Amendment.record_type this kind's amendments carry: its model name, then the former ones."""
        return (self.model._meta.model_name, *self.former_model_names)


def _course_patient(record) -> list[Patient]:
    return [record.course.patient]


def _integration_patients(record: IntegrationSession) -> list[Patient]:
    return [c.patient for c in record.courses.select_related("patient")]


def _session_patients(record: DosingSession) -> list[Patient]:
    return [p.course.patient for p in record.doses.select_related("course__patient")]


def _of_courses(model: type[Model]) -> Callable[[Caseload], QuerySet]:
    return lambda caseload: model.objects.filter(course__in=caseload.courses)


KINDS: tuple[RecordKind, ...] = (
    RecordKind(
        slug="patient",
        model=Patient,
        scope=lambda c: c.patients,
        patients=lambda record: [record],
        edited_elsewhere="A patient's details are edited with PATCH /api/patients/{id}/.",
    ),
    RecordKind(
        slug="course",
        model=Course,
        scope=lambda c: c.courses,
        patients=lambda record: [record.patient],
        edited_elsewhere="A course changes through its own steps: status/, age-exception/, follow-up-stop/.",
    ),
    RecordKind(
        slug="medical-evaluation",
        model=MedicalEvaluation,
        scope=_of_courses(MedicalEvaluation),
        patients=_course_patient,
        amendable=MEDICAL_EVALUATION_FIELDS,
        editable=MEDICAL_EVALUATION_FIELDS,
    ),
    RecordKind(
        slug="psychiatric-evaluation",
        model=PsychiatricEvaluation,
        scope=_of_courses(PsychiatricEvaluation),
        patients=_course_patient,
        amendable=PSYCHIATRIC_EVALUATION_FIELDS,
        editable=PSYCHIATRIC_EVALUATION_FIELDS,
    ),
    RecordKind(
        slug="preparatory-session",
        model=PreparatorySession,
        scope=_of_courses(PreparatorySession),
        patients=_course_patient,
        amendable=PREPARATORY_SESSION_FIELDS,
        editable=PREPARATORY_SESSION_FIELDS,
    ),
    RecordKind(
        slug="integration-session",
        model=IntegrationSession,
        # A group integration session is read by its therapist and by every course in it.
        scope=lambda c: IntegrationSession.objects.filter(Q(courses__in=c.courses) | Q(therapist=c.user)).distinct(),
        patients=_integration_patients,
        amendable=INTEGRATION_SESSION_FIELDS,
        editable=INTEGRATION_SESSION_FIELDS,
    ),
    RecordKind(
        slug="dosing-session",
        model=DosingSession,
        scope=lambda c: c.dosing_sessions,
        patients=_session_patients,
        amendable=DOSING_SESSION_NOTE_FIELDS,
        editable=DOSING_SESSION_NOTE_FIELDS,
    ),
    RecordKind(
        slug="dose",
        model=Dose,
        scope=lambda c: c.doses,
        patients=_course_patient,
        amendable=(*DOSE_FIELDS, "is_maintenance", "dosed_at"),
        # The given time is set only by dose_administer, which runs the pre-dose checks.
        editable=(*DOSE_FIELDS, "is_maintenance"),
        # DosingParticipant until issue 14 (the table keeps that name).
        former_labels=("dosing participant",),
        former_model_names=("dosingparticipant",),
    ),
    RecordKind(
        slug="vital-reading",
        model=VitalReading,
        scope=lambda c: VitalReading.objects.filter(dose__in=c.doses),
        patients=lambda record: [record.dose.course.patient],
        amendable=("taken_at", *VITAL_FIELDS),
        # Never edited in place: a changed value is a correction with a reason, kept beside the original.
        edited_elsewhere="A vital reading is corrected with POST …/amend/, giving the reason; the original stays.",
        always_amended=True,
    ),
    RecordKind(
        slug="adverse-event",
        model=AdverseEvent,
        scope=lambda c: AdverseEvent.objects.filter(Q(dose__in=c.doses) | Q(course__in=c.courses)),
        patients=_course_patient,
        amendable=AE_FIELDS,
        editable=AE_FIELDS,
    ),
)

_BY_SLUG = {kind.slug: kind for kind in KINDS}
_BY_MODEL = {kind.model: kind for kind in KINDS}


def by_slug(slug: str) -> RecordKind | None:
    return _BY_SLUG.get(slug)


def of(record_or_model) -> RecordKind:
    """The kind of a record (or of a model class)."""
    model = record_or_model if isinstance(record_or_model, type) else type(record_or_model)
    return _BY_MODEL[model]


def slugs() -> list[str]:
    return list(_BY_SLUG)


def is_kind(record) -> bool:
    return type(record) in _BY_MODEL


def record_patients(record) -> list[Patient]:
    """Every patient a record belongs to: several for a group session."""
    return of(record).patients(record)


def record_patient(record) -> Patient | None:
    """The patient a record belongs to; None for a group session (it belongs to several)."""
    patients = record_patients(record) if not isinstance(record, DosingSession) else []
    return patients[0] if len(patients) == 1 else None


# --- registration by the services that own a kind ------------------------------------------------

SLOTS = ("sign_check", "amend_permission", "void_permission", "void_check", "recheck", "locked", "watch", "update")


def register(slot: str, *models: type[Model]):
    """Decorator: the function fills `slot` of each model's kind. Each slot is filled once, by the
    services module that owns the kind (courses/services/*), when the services package is imported."""
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}: one of {', '.join(SLOTS)}")

    def decorate(function):
        for model in models:
            kind = _BY_MODEL[model]
            if getattr(kind, slot) is not None:
                raise RuntimeError(f"{slot} of {kind.slug} is registered twice.")
            setattr(kind, slot, function)
        return function

    return decorate
