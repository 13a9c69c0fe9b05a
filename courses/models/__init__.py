"""The treatment-course record: patients, courses, evaluations, sessions, vitals, adverse events.

Rules live in courses/services/; the constraints here are the database's backstop for the
ones that fit on a single row. Clinical rows are never deleted: they are voided with a reason.

One module per workflow stage; this package re-exports every model (Django's convention for a
models package), so `from courses.models import X` is the import everywhere. Migrations name
`courses.models.TextLimit` and `courses.models.PrintableName`, which stay importable from here.

- base: Permanent, ClinicalRecord, SignableRecord and the column helpers (free_text, TextLimit, ...)
- settings: ClinicSettings
- patients: Patient, WeightMeasurement
- courses: Course, CourseStatusChange
- evaluations: MedicalEvaluation, PsychiatricEvaluation
- sessions: PreparatorySession, IntegrationSession
- dosing: DosingSession, Dose, HoldOverride, VitalReading, InSessionAlert
- adverse_events: AdverseEvent
- records: Amendment
- audit: AuditAction, AuditEvent
"""

from courses.models.adverse_events import AdverseEvent, AdverseEventQuerySet
from courses.models.audit import AuditAction, AuditEvent, AuditEventQuerySet
from courses.models.base import (
    STAFF,
    ClinicalRecord,
    Permanent,
    PermanentQuerySet,
    PrintableName,
    SignableRecord,
    TextLimit,
    VoidableQuerySet,
    free_text,
    screen_answer,
)
from courses.models.courses import Course, CourseQuerySet, CourseStatusChange
from courses.models.dosing import (
    Dose,
    DosingSession,
    HoldOverride,
    InSessionAlert,
    InSessionAlertQuerySet,
    VitalReading,
)
from courses.models.evaluations import MedicalEvaluation, PsychiatricEvaluation
from courses.models.patients import Patient, WeightMeasurement
from courses.models.records import Amendment
from courses.models.sessions import IntegrationSession, PreparatorySession
from courses.models.settings import ClinicSettings

__all__ = [
    "STAFF",
    "AdverseEvent",
    "AdverseEventQuerySet",
    "Amendment",
    "AuditAction",
    "AuditEvent",
    "AuditEventQuerySet",
    "ClinicSettings",
    "ClinicalRecord",
    "Course",
    "CourseQuerySet",
    "CourseStatusChange",
    "Dose",
    "DosingSession",
    "HoldOverride",
    "InSessionAlert",
    "InSessionAlertQuerySet",
    "IntegrationSession",
    "MedicalEvaluation",
    "Patient",
    "Permanent",
    "PermanentQuerySet",
    "PreparatorySession",
    "PrintableName",
    "PsychiatricEvaluation",
    "SignableRecord",
    "TextLimit",
    "VitalReading",
    "VoidableQuerySet",
    "WeightMeasurement",
    "free_text",
    "screen_answer",
]
