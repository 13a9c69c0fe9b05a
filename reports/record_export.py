"""Right of access: a patient's full record as one JSON file (HIPAA 45 CFR 164.524, GDPR art. 15/20).

One service, `patient_record_export`, that the web page and the API both call. It holds the
designated record set as the clinic keeps it: demographics, weights, every course with its
stage history, evaluations with the contraindication screen, sessions, the patient's own doses
with their vitals and adverse events, questionnaires with answers, scores and safety alerts,
the messages sent to the patient, and who read or changed the record. Voided records are in it,
marked; amendments sit beside the records they correct. Other patients are never in it: a group
session shows how many others took part, never who, and its shared note is withheld.

It reads the measures app's rows too (the questionnaires are part of the patient's record), in
a fixed number of queries whatever the size of the record. That is why it lives in reports, the
layer that may read both courses and measures (pyproject.toml [tool.importlinter]); its page and
endpoint keep the patient URLs (reports/web/urls.py, reports/api/urls.py).

One module on purpose, at about 500 lines: it is one service and one file format. The format's
description (SECTIONS, CONVENTIONS), the row writers (_record, _session, ...) and the reads in
_build change together whenever a field or a section is added, and the writers serve this file
alone; split apart, they would become a public API with a single caller.
"""

import datetime as dt
import json
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from accounts.models import User
from courses.audit import audit
from courses.choices import SessionFormat
from courses.models import (
    AdverseEvent,
    Amendment,
    AuditAction,
    AuditEvent,
    ClinicSettings,
    Course,
    CourseStatusChange,
    Dose,
    DosingSession,
    HoldOverride,
    InSessionAlert,
    IntegrationSession,
    MedicalEvaluation,
    Patient,
    PreparatorySession,
    PsychiatricEvaluation,
    VitalReading,
    WeightMeasurement,
)
from courses.rules import SCREEN_ITEMS
from measures.instruments import INSTRUMENTS
from measures.models import Administration, MessageKind, OutboundMessage
from measures.scoring import SCORING_VERSION

FORMAT_NAME = "kapclinic-patient-record"
FORMAT_VERSION = "1"
REASON_MAX_LENGTH = 500
CONTENT_TYPE = "application/json; charset=utf-8"

# The audit trail's detail column is 300 characters; a longer reason is cut there (the file keeps it whole).
_AUDIT_DETAIL_PREFIX = "right of access: "
_AUDIT_DETAIL_ROOM = 300 - len(_AUDIT_DETAIL_PREFIX)
AUDIT_REASON_KEPT = _AUDIT_DETAIL_ROOM - 1  # then "…"

# Who made, signed and voided a row is given once per record, in its own block, not among its fields.
_RECORD_META = {
    "id",
    "created_at",
    "created_by",
    "voided_at",
    "voided_by",
    "void_reason",
    "signed_at",
    "signed_by",
}

GROUP_NOTE_WITHHELD = (
    "Withheld: the shared notes of a group session may describe other participants. "
    "The practice lead reviews it and releases the parts about this patient on request."
)

SECTIONS = {
    "about": "This file: who made it, when, why, and how to read it.",
    "patient": "Your details as the clinic holds them: name, record number, date of birth, sex, "
    "race/ethnicity if you told us, how to reach you, and how you receive questionnaires.",
    "weights": "Every weight the clinic recorded for you, used to work out doses.",
    "courses": "Each treatment course, with its stage history (evaluation, preparation, dosing, "
    "integration, follow-up) and every record made in it.",
    "courses[].medical_evaluations": "The medical evaluation: history, medications, baseline vital signs, "
    "and the contraindication screen with each question's answer and the provider's decision.",
    "courses[].psychiatric_evaluations": "The psychiatric evaluation: diagnosis, indication, suicide-risk "
    "review and safety plan.",
    "courses[].preparatory_sessions": "Sessions with your therapist before dosing.",
    "courses[].dosing": "Each dosing session you took part in: its date, place and care team, your dose, "
    "your vital signs, any vital-sign alert and what was done about it, any decision to dose despite a "
    "raised blood pressure (with its reason), any adverse events and your discharge checklist. In a group "
    "session the other participants are given only as a number, and the shared group note is withheld.",
    "courses[].adverse_events_outside_sessions": "Adverse events reported outside a dosing session "
    "(at an integration session, by phone).",
    "courses[].integration_sessions": "Sessions with your therapist after dosing. In a group session the "
    "other participants are given only as a number, and the shared group note is withheld.",
    "courses[].questionnaires": "The questionnaires planned for you (PHQ-9, GAD-7, PCL-5): when each was "
    "open, its status, and your answers with the question text, the score, its severity band, the "
    "scoring version, and any safety alert with what the clinician did about it.",
    "messages": "Invitations and reminders sent to you to answer questionnaires: kind, channel, address, "
    "status and times. The links they carried are not included: they were single-use.",
    "access_log": "Everyone who read, created, changed, signed, voided or exported your record: who, "
    "their role, when, what they did and to which kind of record.",
}

CONVENTIONS = {
    "times": "Every date-time is ISO 8601 with its offset from UTC, given in the clinic's time zone.",
    "dates": "Dates without a time are ISO 8601 (YYYY-MM-DD).",
    "numbers": "Measured values with decimals (doses, weights) are strings, so that no digit is lost.",
    "codes": "A coded value is {code, label}: the code for software, the label for people.",
    "staff": "A member of staff is {name, role}; the role is the one they hold now.",
    "records": "Each record has `recorded` (who entered it, when), `signed` (who signed it, when; null if "
    "unsigned), `voided` (null, or who voided it, when and why: a record entered in error stays in "
    "the record, marked) and `amendments` (each correction after signing: who, when, why, and every "
    "changed field's value before and after).",
}


def _iso(value):
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _Staff:
    """Every member of staff named anywhere in the file, fetched in one query."""

    def __init__(self, ids):
        ids = {i for i in ids if i is not None}
        self.people = {u.pk: u for u in User.objects.filter(pk__in=ids)} if ids else {}

    @staticmethod
    def describe(user: User) -> dict:
        role = user.get_role_display() or ("Administrator" if user.is_superuser else "No clinical role")
        return {"name": str(user), "role": role}

    def __call__(self, user_id):
        return None if user_id is None else self.describe(self.people[user_id])


def _staff_ids(rows) -> set:
    ids = set()
    for row in rows:
        for field in row._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                ids.add(getattr(row, field.attname))
    return ids


def _field_value(row, field, staff: _Staff):
    value = getattr(row, field.attname)
    if value is None:
        return None
    if field.is_relation:
        return staff(value) if field.related_model is User else str(value)
    if field.choices:
        if value == "":
            return None  # a blank choice means "not asked", e.g. race/ethnicity
        return {"code": value, "label": str(getattr(row, f"get_{field.name}_display")())}
    if isinstance(value, Decimal | UUID):
        return str(value)
    return _iso(value)


def _fields(row, staff: _Staff, omit=()) -> dict:
    return {f.name: _field_value(row, f, staff) for f in row._meta.concrete_fields if f.name not in omit}


def _amended_value(value):
    """Amendments store times as str(datetime) in UTC ("2026-03-10 15:00:00+00:00"): give them like every other time."""
    if isinstance(value, str) and len(value) > 10 and value[10] in " T":
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            return _iso(parsed)
    return value


def _amendment(amendment: Amendment, staff: _Staff, withhold=()) -> dict:
    changes = {
        field: (
            {"from": GROUP_NOTE_WITHHELD, "to": GROUP_NOTE_WITHHELD}
            if field in withhold
            else {side: _amended_value(change.get(side)) for side in ("from", "to")}
        )
        for field, change in amendment.changes.items()
    }
    return {
        "at": _iso(amendment.amended_at),
        "by": staff(amendment.amended_by_id),
        "reason": amendment.reason,
        "changes": changes,
    }


def _record(row, staff: _Staff, amendments: dict, omit=(), withhold=()) -> dict:
    """A clinical record: its fields, then who entered, signed and voided it, and its corrections."""
    out = {"id": str(row.pk), **_fields(row, staff, _RECORD_META | set(omit))}
    out["recorded"] = {"at": _iso(row.created_at), "by": staff(row.created_by_id)}
    if hasattr(row, "signed_at"):
        out["signed"] = {"at": _iso(row.signed_at), "by": staff(row.signed_by_id)} if row.signed_at else None
    out["voided"] = (
        {"at": _iso(row.voided_at), "by": staff(row.voided_by_id), "reason": row.void_reason} if row.voided_at else None
    )
    out["amendments"] = [_amendment(a, staff, withhold) for a in amendments.get(row.pk, [])]
    return out


def _screen(evaluation: MedicalEvaluation) -> list[dict]:
    return [
        {
            "item": item.field,
            "question": item.label,
            "kind": "absolute contraindication" if item.absolute else "caution",
            "answer": getattr(evaluation, item.field),
        }
        for item in SCREEN_ITEMS
    ]


def _answers(response) -> list[dict]:
    definition = INSTRUMENTS.get(response.instrument)
    if definition is None:
        return [{"item": k, "question": "", "answer": v, "answer_label": ""} for k, v in response.answers.items()]
    labels = {o.value: o.label for o in definition.options}
    return [
        {
            "item": item.number,
            "question": item.text,
            "answer": response.answers.get(str(item.number)),
            "answer_label": labels.get(response.answers.get(str(item.number)), ""),
        }
        for item in definition.items
    ]


def _questionnaire(administration: Administration, staff: _Staff) -> dict:
    # The nonce is half of the self-report link: never in a file that leaves the clinic.
    out = _fields(administration, staff, omit={"course", "link_nonce"})
    response = getattr(administration, "response", None)
    if response is None:
        out["response"] = None
        return out
    answer = _fields(response, staff, omit={"administration", "course", "patient"})
    answer["answers"] = _answers(response)
    alert = getattr(response, "safety_alert", None)
    answer["safety_alert"] = None if alert is None else _fields(alert, staff, omit={"response", "course"})
    out["response"] = answer
    return out


def _session(session: DosingSession, staff: _Staff, amendments: dict, others: int) -> dict:
    group = session.format == SessionFormat.GROUP
    # "Others present" is free text too, and in a group may name other participants' companions.
    withhold = {"facilitation_note", "others_present"} if group else set()
    out = _record(session, staff, amendments, withhold=withhold)
    out["facilitators"] = [_Staff.describe(u) for u in session.facilitators.all()]
    out["other_participants"] = others
    for field in withhold:
        out[field] = GROUP_NOTE_WITHHELD
    return out


def _integration(session: IntegrationSession, staff: _Staff, amendments: dict) -> dict:
    group = session.format == SessionFormat.GROUP
    withhold = {"note"} if group else set()
    out = _record(session, staff, amendments, withhold=withhold)
    out["other_participants"] = session.patient_count - 1
    if group:
        out["note"] = GROUP_NOTE_WITHHELD
    return out


def _check(by: User, reason: str) -> str:
    if not by.is_practice_lead:
        raise PermissionDenied(
            "Only the practice lead exports a patient's full record (right of access). Ask the practice lead."
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the record is exported, e.g. 'Patient request received 2026-03-02'."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": f"Keep the reason to {REASON_MAX_LENGTH} characters or fewer (it has {len(reason)})."}
        )
    return reason


def export_filename(patient: Patient, now: dt.datetime) -> str:
    """Names neither the patient nor the MRN: the file may sit in a downloads folder or an email."""
    return f"kapclinic-record-{str(patient.pk)[:8]}-{timezone.localdate(now):%Y%m%d}.json"


def patient_record_export(
    *, patient: Patient, by: User, reason: str, now: dt.datetime | None = None
) -> tuple[str, bytes]:
    """The patient's whole record as one UTF-8 JSON file, for the practice lead; audited with the reason.

    The export event is written first, so the file's access log ends with the export that made it."""
    reason = _check(by, reason)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # One snapshot for the whole record, so that a correction saved while the file is built
            # cannot show in one section and not in another. Only a transaction's first statement may
            # set this; inside a caller's transaction, that transaction decides.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _build(patient=patient, by=by, reason=reason, now=now or timezone.now())


def _build(*, patient: Patient, by: User, reason: str, now: dt.datetime) -> tuple[str, bytes]:
    clinic = ClinicSettings.load()
    detail = reason if len(reason) <= _AUDIT_DETAIL_ROOM else reason[:AUDIT_REASON_KEPT] + "…"
    audit(
        actor=by,
        action=AuditAction.EXPORT,
        patient=patient,
        record=patient,
        detail=_AUDIT_DETAIL_PREFIX + detail,
        at=now,
    )

    weights = list(WeightMeasurement.objects.filter(patient=patient).order_by("measured_on", "created_at", "id"))
    courses = list(Course.objects.filter(patient=patient).prefetch_related("therapists").order_by("created_at", "id"))
    changes = list(CourseStatusChange.objects.filter(course__patient=patient).order_by("changed_at", "id"))
    medical = list(MedicalEvaluation.objects.filter(course__patient=patient).order_by("evaluated_on", "created_at"))
    psychiatric = list(
        PsychiatricEvaluation.objects.filter(course__patient=patient).order_by("evaluated_on", "created_at")
    )
    preparatory = list(PreparatorySession.objects.filter(course__patient=patient).order_by("held_at", "created_at"))
    integration = list(
        IntegrationSession.objects.filter(
            pk__in=IntegrationSession.objects.filter(courses__patient=patient).values("pk")
        )
        .annotate(patient_count=Count("courses__patient", distinct=True))
        .prefetch_related(Prefetch("courses", queryset=Course.objects.filter(patient=patient), to_attr="own"))
        .order_by("held_at", "created_at")
    )
    doses = list(
        Dose.objects.filter(course__patient=patient)
        .prefetch_related(
            Prefetch("vitals", queryset=VitalReading.objects.order_by("taken_at", "created_at", "id")),
            Prefetch("adverse_events", queryset=AdverseEvent.objects.order_by("onset_at", "created_at", "id")),
            Prefetch("hold_overrides", queryset=HoldOverride.objects.order_by("overridden_at", "id")),
            Prefetch("in_session_alerts", queryset=InSessionAlert.objects.order_by("raised_at", "id")),
        )
        .order_by("session__starts_at", "created_at")
    )
    course_events = list(
        AdverseEvent.objects.filter(course__patient=patient, dose__isnull=True).order_by("onset_at", "id")
    )
    sessions = {
        s.pk: s
        for s in DosingSession.objects.filter(pk__in={d.session_id for d in doses})
        .annotate(active=Count("doses", filter=Q(doses__voided_at__isnull=True)))
        .prefetch_related("facilitators")
    }
    administrations = list(
        Administration.objects.filter(course__patient=patient)
        .select_related("response", "response__safety_alert")
        .order_by("target_date", "instrument", "timepoint", "created_at")
    )
    messages = list(
        OutboundMessage.objects.filter(administration__course__patient=patient)
        .exclude(kind=MessageKind.SAFETY_ALERT)
        .order_by("created_at", "id")
    )
    events = list(AuditEvent.objects.filter(patient=patient).order_by("at", "id"))

    vitals = [v for d in doses for v in d.vitals.all()]
    adverse = [e for d in doses for e in d.adverse_events.all()] + course_events
    records = [patient, *weights, *courses, *medical, *psychiatric, *preparatory, *integration, *doses]
    records += [*sessions.values(), *vitals, *adverse]
    amendments: dict = {}
    for amendment in Amendment.objects.filter(record_id__in=[r.pk for r in records]).order_by("amended_at", "id"):
        amendments.setdefault(amendment.record_id, []).append(amendment)
    responses = [a.response for a in administrations if hasattr(a, "response")]
    alerts = [r.safety_alert for r in responses if hasattr(r, "safety_alert")]
    staff = _Staff(
        _staff_ids([*records, *changes, *responses, *alerts])
        | {o.overridden_by_id for d in doses for o in d.hold_overrides.all()}
        | {a.closed_by_id for d in doses for a in d.in_session_alerts.all() if a.closed_by_id}
        | {a.amended_by_id for rows in amendments.values() for a in rows}
        | {e.actor_id for e in events}
        | {by.pk}
    )

    def per_course(rows, course_id, build):
        return [build(r) for r in rows if r.course_id == course_id]

    def dose_out(dose):
        session = sessions[dose.session_id]
        others = session.active - (0 if dose.is_voided else 1)
        out = _record(dose, staff, amendments, omit={"course", "session"})
        out["session"] = _session(session, staff, amendments, others)
        out["vital_signs"] = [_record(v, staff, amendments, omit={"dose"}) for v in dose.vitals.all()]
        out["adverse_events"] = [
            _record(e, staff, amendments, omit={"dose", "course"}) for e in dose.adverse_events.all()
        ]
        out["hold_overrides"] = [
            {
                "reading": str(o.reading_id),
                "reason": o.reason,
                "at": _iso(o.overridden_at),
                "by": staff(o.overridden_by_id),
            }
            for o in dose.hold_overrides.all()
        ]
        out["vital_sign_alerts"] = [
            {
                "reading": str(a.reading_id),
                "alerts": a.alerts,
                "raised_at": _iso(a.raised_at),
                "closed_at": _iso(a.closed_at),
                "closed_by": staff(a.closed_by_id),
                "what_was_done": {"code": a.action, "label": a.get_action_display()} if a.action else None,
                "adverse_event": str(a.adverse_event_id) if a.adverse_event_id else None,
                "note": a.note,
            }
            for a in dose.in_session_alerts.all()
        ]
        return out

    def medical_evaluation(evaluation):
        out = _record(evaluation, staff, amendments, omit={"course", *(i.field for i in SCREEN_ITEMS)})
        out["contraindication_screen"] = _screen(evaluation)
        return out

    course_rows = []
    for course in courses:
        out = _record(course, staff, amendments, omit={"patient"})
        out["therapists"] = [_Staff.describe(u) for u in course.therapists.all()]
        out["status_history"] = [
            {
                "from": {"code": c.from_status, "label": c.get_from_status_display()},
                "to": {"code": c.to_status, "label": c.get_to_status_display()},
                "at": _iso(c.changed_at),
                "by": staff(c.changed_by_id),
                "reason": c.reason,
            }
            for c in changes
            if c.course_id == course.pk
        ]
        out["medical_evaluations"] = per_course(medical, course.pk, medical_evaluation)
        out["psychiatric_evaluations"] = per_course(
            psychiatric, course.pk, lambda r: _record(r, staff, amendments, omit={"course"})
        )
        out["preparatory_sessions"] = per_course(
            preparatory, course.pk, lambda r: _record(r, staff, amendments, omit={"course"})
        )
        out["dosing"] = per_course(doses, course.pk, dose_out)
        out["adverse_events_outside_sessions"] = per_course(
            course_events, course.pk, lambda r: _record(r, staff, amendments, omit={"course", "dose"})
        )
        out["integration_sessions"] = [
            _integration(s, staff, amendments) for s in integration if any(c.pk == course.pk for c in s.own)
        ]
        out["questionnaires"] = per_course(administrations, course.pk, lambda a: _questionnaire(a, staff))
        course_rows.append(out)

    document = {
        "about": {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "title": "Your full record at the clinic (right of access)",
            "clinic": clinic.clinic_name,
            "generated_at": _iso(now),
            "generated_by": _Staff.describe(by),
            "reason": reason,
            "time_zone": settings.TIME_ZONE,
            "scoring_version": SCORING_VERSION,
            "legal_basis": "HIPAA right of access (45 CFR 164.524); GDPR right of access and data "
            "portability (articles 15 and 20).",
            "sections": SECTIONS,
            "conventions": CONVENTIONS,
        },
        "patient": _record(patient, staff, amendments),
        "weights": [_record(w, staff, amendments, omit={"patient"}) for w in weights],
        "courses": course_rows,
        "messages": [
            {
                "id": m.pk,
                "kind": {"code": m.kind, "label": m.get_kind_display()},
                "channel": {"code": m.channel, "label": m.get_channel_display()},
                "to": m.to_address,
                "questionnaire": str(m.administration_id),
                "status": {"code": m.status, "label": m.get_status_display()},
                "attempts": m.attempts,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
                "failed_at": _iso(m.failed_at),
            }
            for m in messages
        ],
        "access_log": [
            {
                "at": _iso(e.at),
                "by": staff(e.actor_id) if e.actor_id else {"name": e.actor_username or "system", "role": ""},
                "action": {"code": e.action, "label": e.get_action_display()},
                "record_type": e.record_type,
                "record_id": e.record_id,
                "detail": e.detail,
            }
            for e in events
        ],
    }
    content = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    return export_filename(patient, now), content
