"""The medical and psychiatric evaluations (the screen)."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from courses import rules
from courses.audit import audit
from courses.choices import ScreenDecision, SuicideRisk
from courses.models import AuditAction, ClinicSettings, Course, MedicalEvaluation, PsychiatricEvaluation
from courses.services.base import (
    CLINICIANS,
    _ensure_course_open,
    _ensure_editable,
    _require_role,
    _reread,
    _save,
    _save_audited,
)
from kernel import clock
from kernel.validation import fail


def active_medical_evaluation(course: Course) -> MedicalEvaluation | None:
    """The course's current screen: not voided and not superseded by a newer one."""
    return course.medical_evaluations.active().filter(superseded_at__isnull=True).first()


def _check_medical_evaluation(evaluation: MedicalEvaluation, today: date) -> None:
    if evaluation.evaluated_on and evaluation.evaluated_on > today:
        fail("evaluated_on", "An evaluation cannot be dated in the future.")
    errors = rules.vital_range_errors({f: getattr(evaluation, f) for f in rules.VITAL_RANGES})
    errors.update(
        rules.screen_decision_errors(
            evaluation.screen_answers,
            evaluation.decision,
            evaluation.caution_note,
            childbearing_potential=evaluation.childbearing_potential,
            baseline_bp=(evaluation.systolic_bp, evaluation.diastolic_bp),
            hold=ClinicSettings.load().vital_thresholds().hold,
        )
    )
    if evaluation.weight_kg is not None:
        low, high = rules.WEIGHT_RANGE_KG
        if not low <= evaluation.weight_kg <= high:
            errors["weight_kg"] = f"Weight must be between {low} and {high} kg."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def medical_evaluation_add(
    *,
    course: Course,
    by: User,
    evaluated_on: date | None = None,
    history: str = "",
    medications: str = "",
    systolic_bp: int | None = None,
    diastolic_bp: int | None = None,
    heart_rate: int | None = None,
    spo2: int | None = None,
    respiratory_rate: int | None = None,
    weight_kg: Decimal | None = None,
    # The screen (rules.SCREEN_ITEMS): each "yes", "no" or "unknown"; blank is not answered yet.
    # Spelled out, in kinds.MEDICAL_EVALUATION_FIELDS' order (tests/courses/test_service_signatures.py
    # holds the two lists equal), so a caller's misspelt item is a TypeError, not a silent blank.
    ci_psychosis_or_mania: str = "",
    ci_pregnancy: str = "",
    ci_aneurysmal_vascular_disease: str = "",
    ci_intracerebral_haemorrhage: str = "",
    ci_ketamine_hypersensitivity: str = "",
    caution_uncontrolled_hypertension: str = "",
    caution_raised_icp_or_iop: str = "",
    caution_cardio_cerebrovascular: str = "",
    caution_substance_use_history: str = "",
    caution_breastfeeding: str = "",
    caution_recent_suicidality: str = "",
    caution_interacting_medications: str = "",
    childbearing_potential: str = "",
    decision: str = ScreenDecision.PENDING,
    caution_note: str = "",
    now: datetime | None = None,
) -> MedicalEvaluation:
    """Record the medical evaluation, or a new one (a re-screen) once the current one is signed:
    the new one supersedes it, and the old one stays on the record."""
    now = clock.now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record a medical evaluation")
    course = _reread(course)
    _ensure_editable(course)
    _ensure_course_open(course)
    current = active_medical_evaluation(course)
    if current is not None and not current.is_signed:
        fail(NON_FIELD_ERRORS, "This course has an unsigned medical evaluation: edit or void it instead.")
    evaluation = MedicalEvaluation(
        course=course,
        created_at=now,
        created_by=by,
        evaluated_on=evaluated_on,
        history=history,
        medications=medications,
        systolic_bp=systolic_bp,
        diastolic_bp=diastolic_bp,
        heart_rate=heart_rate,
        spo2=spo2,
        respiratory_rate=respiratory_rate,
        weight_kg=weight_kg,
        ci_psychosis_or_mania=ci_psychosis_or_mania,
        ci_pregnancy=ci_pregnancy,
        ci_aneurysmal_vascular_disease=ci_aneurysmal_vascular_disease,
        ci_intracerebral_haemorrhage=ci_intracerebral_haemorrhage,
        ci_ketamine_hypersensitivity=ci_ketamine_hypersensitivity,
        caution_uncontrolled_hypertension=caution_uncontrolled_hypertension,
        caution_raised_icp_or_iop=caution_raised_icp_or_iop,
        caution_cardio_cerebrovascular=caution_cardio_cerebrovascular,
        caution_substance_use_history=caution_substance_use_history,
        caution_breastfeeding=caution_breastfeeding,
        caution_recent_suicidality=caution_recent_suicidality,
        caution_interacting_medications=caution_interacting_medications,
        childbearing_potential=childbearing_potential,
        decision=decision,
        caution_note=caution_note,
    )
    _check_medical_evaluation(evaluation, timezone.localdate(now))
    if current is not None and evaluation.evaluated_on and evaluation.evaluated_on < current.evaluated_on:
        fail("evaluated_on", f"A new screen cannot be dated before the current one ({current.evaluated_on}).")
    if current is not None:
        # Superseded first: only one current screen per course (a constraint holds it to that).
        current.superseded_at = now
        current.save(update_fields=["superseded_at"])
    _save(evaluation)
    if current is not None:
        current.superseded_by = evaluation
        current.save(update_fields=["superseded_by"])
        audit(actor=by, action=AuditAction.UPDATE, patient=course.patient, record=current, detail="superseded", at=now)
    audit(actor=by, action=AuditAction.CREATE, patient=course.patient, record=evaluation, at=now)
    return evaluation


def _check_psychiatric_evaluation(evaluation: PsychiatricEvaluation, today: date) -> None:
    if evaluation.evaluated_on and evaluation.evaluated_on > today:
        fail("evaluated_on", "An evaluation cannot be dated in the future.")
    if evaluation.suicide_risk in (SuicideRisk.MODERATE, SuicideRisk.HIGH) and not evaluation.risk_plan.strip():
        fail("risk_plan", f"A {evaluation.suicide_risk} suicide risk needs a documented safety plan.")


@transaction.atomic
def psychiatric_evaluation_add(
    *,
    course: Course,
    by: User,
    evaluated_on: date | None = None,
    diagnosis: str = "",
    icd10_code: str = "",
    indication: str | None = None,
    suicide_risk: str = "",
    risk_plan: str = "",
    note: str = "",
    now: datetime | None = None,
) -> PsychiatricEvaluation:
    """`indication` None: the course's."""
    now = clock.now(now)
    _require_role(by, CLINICIANS, "record a psychiatric evaluation")
    course = _reread(course)
    _ensure_editable(course)
    _ensure_course_open(course)
    if course.psychiatric_evaluations.active().exists():
        fail(NON_FIELD_ERRORS, "This course already has a psychiatric evaluation; edit, amend or void it instead.")
    evaluation = PsychiatricEvaluation(
        course=course,
        created_at=now,
        created_by=by,
        evaluated_on=evaluated_on,
        diagnosis=diagnosis,
        icd10_code=icd10_code,
        indication=course.indication if indication is None else indication,
        suicide_risk=suicide_risk,
        risk_plan=risk_plan,
        note=note,
    )
    _check_psychiatric_evaluation(evaluation, timezone.localdate(now))
    _save_audited(evaluation, by=by, action=AuditAction.CREATE, patient=course.patient, now=now)
    return evaluation
