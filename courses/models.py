"""The treatment-course record: patients, courses, evaluations, sessions, vitals, adverse events.

Rules live in courses/services.py; the constraints here are the database's backstop for the
ones that fit on a single row. Clinical rows are never deleted: they are voided with a reason.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.deconstruct import deconstructible

from courses import rules
from courses.choices import (
    AdverseEventAction,
    AdverseEventGrade,
    AdverseEventOutcome,
    AdverseEventTerm,
    Channel,
    CourseStatus,
    Drug,
    Expectedness,
    Indication,
    InSessionAlertAction,
    PregnancyTest,
    RaceEthnicity,
    Relatedness,
    Route,
    ScreenAnswer,
    ScreenDecision,
    SessionFormat,
    Sex,
    SuicideRisk,
    VitalPhase,
)

STAFF = settings.AUTH_USER_MODEL


@deconstructible
class TextLimit:
    """Free text no longer than its field holds (rules.text_length_error says how it is put)."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, value) -> None:
        message = rules.text_length_error(str(value), self.limit)
        if message:
            raise ValidationError(message, code="max_length")

    def __eq__(self, other) -> bool:
        return isinstance(other, TextLimit) and other.limit == self.limit


@deconstructible
class PrintableName:
    """A name or identifier without control or text-direction characters (rules.name_character_error)."""

    def __call__(self, value) -> None:
        message = rules.name_character_error(str(value))
        if message:
            raise ValidationError(message, code="unprintable")

    def __eq__(self, other) -> bool:
        return isinstance(other, PrintableName)


def free_text(*args, limit: int = rules.TEXT_MAX, **kwargs) -> models.TextField:
    """A text column a person types into. The limit reaches the web form (maxlength), the API
    schema (maxLength) and full_clean, so every entry point refuses the same thing."""
    return models.TextField(*args, max_length=limit, validators=[TextLimit(limit)], **kwargs)


def _range_check(field: str, low, high, name: str, nullable: bool = True) -> models.CheckConstraint:
    cond = Q(**{f"{field}__gte": low, f"{field}__lte": high})
    if nullable:
        cond |= Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=cond, name=name)


def screen_answer(verbose_name: str | None = None) -> models.CharField:
    """A contraindication-screen answer: yes, no or unknown; blank until someone answers."""
    return models.CharField(verbose_name, max_length=8, choices=ScreenAnswer.choices, blank=True, default="")


def _all_answered_yes_or_no(fields) -> Q:
    condition = Q()
    for name in fields:
        condition &= Q(**{f"{name}__in": [rules.YES, rules.NO]})
    return condition


def _vital_checks(prefix: str) -> list[models.CheckConstraint]:
    return [
        _range_check(field, low, high, f"{prefix}_{field}_plausible")
        for field, (low, high, _unit) in rules.VITAL_RANGES.items()
    ]


class PermanentQuerySet(models.QuerySet):
    """A bulk delete is refused like a single one."""

    def delete(self):
        raise models.ProtectedError("Clinical records are voided, never deleted.", set())


class Permanent(models.Model):
    """A row of the clinical record, kept for good: voided, cancelled or superseded, never
    deleted. On PostgreSQL a trigger (migration 0005) refuses DELETE from any client too."""

    objects = PermanentQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise models.ProtectedError("Clinical records are voided, never deleted.", [self])


class VoidableQuerySet(PermanentQuerySet):
    def active(self):
        return self.filter(voided_at__isnull=True)


class ClinicalRecord(Permanent):
    """Fields every clinical row carries: who made it, and voiding instead of deleting."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    void_reason = free_text(blank=True, limit=rules.REASON_MAX)
    # Optimistic concurrency: a writer says which version it read, and a save over a newer
    # version is refused (services.RecordChanged) instead of silently overwriting it.
    version = models.PositiveIntegerField(default=1, editable=False)

    # Columns the system keeps for itself (a notice sent, say): no one edits them on a form, so
    # writing only these does not move the version on and does not refuse an edit opened before.
    BOOKKEEPING_FIELDS: frozenset[str] = frozenset()

    objects = VoidableQuerySet.as_manager()

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | ~Q(void_reason=""),
                name="%(app_label)s_%(class)s_void_has_reason",
            ),
        ]

    def save(self, *args, **kwargs):
        # Every write of an existing row moves the version on, whichever service made it, except
        # one that writes only bookkeeping columns.
        update_fields = kwargs.get("update_fields")
        bookkeeping_only = update_fields is not None and set(update_fields) <= self.BOOKKEEPING_FIELDS
        if not self._state.adding and not bookkeeping_only:
            self.version += 1
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version"}
        super().save(*args, **kwargs)

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class SignableRecord(ClinicalRecord):
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        abstract = True
        constraints = ClinicalRecord.Meta.constraints + [
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="%(app_label)s_%(class)s_signature_complete",
            ),
        ]

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class ClinicSettings(models.Model):
    """The clinic's protocol values (DOMAIN defaults). One row; every change is audited."""

    clinic_name = models.CharField(max_length=120, default="Demo KAP Practice", validators=[PrintableName()])
    max_iv_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1.00"))
    max_im_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1.00"))
    max_intranasal_mg = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("84"))
    # DOMAIN gives no sublingual default; Hull 2022's upper dose (450 mg) is the starting value.
    max_sublingual_mg = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("450"))
    # Above the maximum a dose needs a reason; above the ceiling no reason unlocks it (default:
    # twice the maximum). A typo like 1000 mg IV stops here.
    ceiling_iv_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("2.00"))
    ceiling_im_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("2.00"))
    ceiling_intranasal_mg = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("168"))
    ceiling_sublingual_mg = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("900"))
    hold_systolic = models.PositiveSmallIntegerField(default=140)
    hold_diastolic = models.PositiveSmallIntegerField(default=90)
    # A normal full re-check lifts a hold only this long after the high reading (a rest, not a retake).
    hold_recheck_minutes = models.PositiveSmallIntegerField(default=15)
    alert_systolic = models.PositiveSmallIntegerField(default=180)
    alert_diastolic = models.PositiveSmallIntegerField(default=110)
    alert_heart_rate = models.PositiveSmallIntegerField(default=120)
    alert_spo2_below = models.PositiveSmallIntegerField(default=92)
    # Slow breathing (respiratory depression, DOMAIN §4); 10/min is the common sedation-monitoring floor.
    alert_respiratory_rate_below = models.PositiveSmallIntegerField(default=10)
    vitals_interval_minutes = models.PositiveSmallIntegerField(default=15)
    monitoring_minutes_esketamine = models.PositiveSmallIntegerField(default=120)
    monitoring_minutes_other = models.PositiveSmallIntegerField(default=60)
    min_dose_interval_hours = models.PositiveSmallIntegerField(default=24)
    weight_max_age_days = models.PositiveSmallIntegerField(default=30)
    screen_valid_months = models.PositiveSmallIntegerField(default=12)
    minimum_age_years = models.PositiveSmallIntegerField(default=18)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        verbose_name_plural = "clinic settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="clinic_settings_single_row"),
            models.CheckConstraint(condition=Q(max_iv_mg_per_kg__gt=0), name="clinic_settings_iv_max_positive"),
            models.CheckConstraint(condition=Q(max_im_mg_per_kg__gt=0), name="clinic_settings_im_max_positive"),
            models.CheckConstraint(condition=Q(max_intranasal_mg__gt=0), name="clinic_settings_in_max_positive"),
            models.CheckConstraint(condition=Q(max_sublingual_mg__gt=0), name="clinic_settings_sl_max_positive"),
            # Upper bounds: a typed 999 mg/kg must not become the clinic's limit (rules.SETTINGS_DOSE_BOUNDS).
            *(
                models.CheckConstraint(condition=Q(**{f"{field}__lte": bound}), name=f"clinic_settings_{field}_bound")
                for field, bound in rules.SETTINGS_DOSE_BOUNDS.items()
            ),
            models.CheckConstraint(
                condition=Q(ceiling_iv_mg_per_kg__gte=F("max_iv_mg_per_kg")), name="clinic_settings_iv_ceiling"
            ),
            models.CheckConstraint(
                condition=Q(ceiling_im_mg_per_kg__gte=F("max_im_mg_per_kg")), name="clinic_settings_im_ceiling"
            ),
            models.CheckConstraint(
                condition=Q(ceiling_intranasal_mg__gte=F("max_intranasal_mg")), name="clinic_settings_in_ceiling"
            ),
            models.CheckConstraint(
                condition=Q(ceiling_sublingual_mg__gte=F("max_sublingual_mg")), name="clinic_settings_sl_ceiling"
            ),
            # Ranges a clinic may set: beyond them a threshold switches its rule off in effect
            # (a hold at 259 mmHg never holds; an RR alert below 4 can never be entered).
            _range_check(
                "hold_systolic",
                *rules.SETTING_RANGES["hold_systolic"],
                "clinic_settings_hold_systolic_range",
                nullable=False,
            ),
            _range_check(
                "hold_diastolic",
                *rules.SETTING_RANGES["hold_diastolic"],
                "clinic_settings_hold_diastolic_range",
                nullable=False,
            ),
            _range_check("hold_recheck_minutes", 5, 120, "clinic_settings_hold_recheck_range", nullable=False),
            _range_check(
                "alert_systolic",
                *rules.SETTING_RANGES["alert_systolic"],
                "clinic_settings_alert_systolic_range",
                nullable=False,
            ),
            _range_check(
                "alert_diastolic",
                *rules.SETTING_RANGES["alert_diastolic"],
                "clinic_settings_alert_diastolic_range",
                nullable=False,
            ),
            _range_check(
                "alert_heart_rate",
                *rules.SETTING_RANGES["alert_heart_rate"],
                "clinic_settings_alert_hr_range",
                nullable=False,
            ),
            _range_check(
                "alert_spo2_below",
                *rules.SETTING_RANGES["alert_spo2_below"],
                "clinic_settings_alert_spo2_range",
                nullable=False,
            ),
            _range_check(
                "alert_respiratory_rate_below",
                *rules.SETTING_RANGES["alert_respiratory_rate_below"],
                "clinic_settings_alert_rr_range",
                nullable=False,
            ),
            _range_check("vitals_interval_minutes", 5, 60, "clinic_settings_vitals_interval_range", nullable=False),
            _range_check(
                "monitoring_minutes_esketamine",
                rules.ESKETAMINE_MONITORING_FLOOR_MINUTES,
                720,
                "clinic_settings_esketamine_monitoring_range",
                nullable=False,
            ),
            _range_check(
                "monitoring_minutes_other",
                rules.OTHER_MONITORING_FLOOR_MINUTES,
                720,
                "clinic_settings_other_monitoring_range",
                nullable=False,
            ),
            _range_check(
                "min_dose_interval_hours",
                *rules.SETTING_RANGES["min_dose_interval_hours"],
                "clinic_settings_dose_interval_range",
                nullable=False,
            ),
            _range_check("weight_max_age_days", 1, 365, "clinic_settings_weight_age_range", nullable=False),
            _range_check("screen_valid_months", 1, 24, "clinic_settings_screen_valid_range", nullable=False),
            _range_check("minimum_age_years", 12, 25, "clinic_settings_minimum_age_range", nullable=False),
        ]

    def __str__(self) -> str:
        return f"Settings of {self.clinic_name}"

    @classmethod
    def load(cls) -> "ClinicSettings":
        obj, _ = cls.objects.get_or_create(id=1)
        return obj

    def route_maximum(self, route: str) -> rules.RouteMaximum:
        return {
            Route.IV: rules.RouteMaximum(self.max_iv_mg_per_kg, "mg/kg"),
            Route.IM: rules.RouteMaximum(self.max_im_mg_per_kg, "mg/kg"),
            Route.INTRANASAL: rules.RouteMaximum(self.max_intranasal_mg, "mg"),
            Route.SUBLINGUAL: rules.RouteMaximum(self.max_sublingual_mg, "mg"),
        }[route]

    def route_ceiling(self, route: str) -> rules.RouteMaximum:
        return {
            Route.IV: rules.RouteMaximum(self.ceiling_iv_mg_per_kg, "mg/kg"),
            Route.IM: rules.RouteMaximum(self.ceiling_im_mg_per_kg, "mg/kg"),
            Route.INTRANASAL: rules.RouteMaximum(self.ceiling_intranasal_mg, "mg"),
            Route.SUBLINGUAL: rules.RouteMaximum(self.ceiling_sublingual_mg, "mg"),
        }[route]

    def vital_thresholds(self) -> rules.VitalThresholds:
        return rules.VitalThresholds(
            hold_systolic=self.hold_systolic,
            hold_diastolic=self.hold_diastolic,
            alert_systolic=self.alert_systolic,
            alert_diastolic=self.alert_diastolic,
            alert_heart_rate=self.alert_heart_rate,
            alert_spo2_below=self.alert_spo2_below,
            alert_respiratory_rate_below=self.alert_respiratory_rate_below,
        )


class Patient(ClinicalRecord):
    """A person in treatment. The UUID is the only identifier that ever appears in a URL."""

    mrn = models.CharField(
        "MRN", max_length=32, help_text="The clinic's medical record number.", validators=[PrintableName()]
    )
    given_name = models.CharField(max_length=80, validators=[PrintableName()])
    family_name = models.CharField(max_length=80, validators=[PrintableName()])
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=16, choices=Sex.choices)
    race_ethnicity = models.CharField(
        "race/ethnicity (self-reported)", max_length=32, choices=RaceEthnicity.choices, blank=True
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[PrintableName()])
    preferred_channel = models.CharField(
        "questionnaire channel", max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = ClinicalRecord.Meta.constraints + [
            # "demo-0002" and "DEMO-0002" are one chart: MRNs are compared regardless of case.
            models.UniqueConstraint(
                Lower("mrn"),
                name="patient_mrn_unique_any_case",
                violation_error_message=rules.MRN_TAKEN,
            ),
            models.CheckConstraint(
                condition=~Q(preferred_channel=Channel.EMAIL) | ~Q(email=""),
                name="patient_email_channel_has_email",
                violation_error_message="Questionnaires by email need an email address.",
            ),
            models.CheckConstraint(
                condition=~Q(preferred_channel=Channel.SMS) | ~Q(phone=""),
                name="patient_sms_channel_has_phone",
                violation_error_message="Questionnaires by text message need a phone number.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def display_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


class WeightMeasurement(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="weights")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    # Why a weight far from a recent one is right (re-weighed, an illness): mg/kg comes from it.
    change_reason = free_text("why it differs from the recent weight", limit=rules.REASON_MAX, blank=True, default="")

    class Meta:
        ordering = ["-measured_on", "-created_at"]
        constraints = ClinicalRecord.Meta.constraints + [
            _range_check("weight_kg", 20, 400, "weight_plausible", nullable=False),
        ]

    def __str__(self) -> str:
        return f"{self.weight_kg} kg on {self.measured_on}"


class CourseQuerySet(VoidableQuerySet):
    def open(self):
        return self.active().exclude(status__in=[CourseStatus.COMPLETED, CourseStatus.DISCONTINUED])


class Course(ClinicalRecord):
    """One treatment course: evaluation through follow-up. A patient may have several."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    indication = models.CharField(max_length=32, choices=Indication.choices)
    indication_detail = models.CharField(max_length=200, blank=True)
    format = models.CharField(max_length=16, choices=SessionFormat.choices, default=SessionFormat.INDIVIDUAL)
    therapists = models.ManyToManyField(STAFF, related_name="therapist_courses")
    medical_provider = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="provider_courses")
    planned_dosing_sessions = models.PositiveSmallIntegerField(default=6)
    status = models.CharField(max_length=16, choices=CourseStatus.choices, default=CourseStatus.EVALUATION)
    # When things happened, not when they were typed: a clinic records last week's discontinuation,
    # or brings in last year's courses. The outcome definitions read these (reports/cohort.py).
    started_on = models.DateField("course start")
    start_backdated_reason = free_text(
        "why the start is earlier than the day it was recorded", blank=True, limit=rules.REASON_MAX
    )
    status_changed_at = models.DateTimeField()
    discontinued_reason = free_text(blank=True, limit=rules.REASON_MAX)
    # A discontinued course keeps its end-of-course and follow-up questionnaires (intention-to-treat
    # needs them) unless staff stop them, with a reason (the patient declined, moved away).
    follow_up_stopped_at = models.DateTimeField(null=True, blank=True)
    follow_up_stopped_reason = free_text("why follow-up questionnaires stopped", blank=True, limit=rules.REASON_MAX)
    # A patient under the clinic's minimum age starts a course only on a practice lead's documented exception.
    age_exception_reason = free_text("minimum-age exception", blank=True, limit=rules.REASON_MAX)
    age_exception_at = models.DateTimeField(null=True, blank=True)
    age_exception_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = ClinicalRecord.Meta.constraints + [
            _range_check("planned_dosing_sessions", 1, 20, "course_planned_sessions_range", nullable=False),
            models.CheckConstraint(
                condition=~Q(status=CourseStatus.DISCONTINUED) | ~Q(discontinued_reason=""),
                name="course_discontinued_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(indication=Indication.OTHER) | ~Q(indication_detail=""),
                name="course_other_indication_described",
            ),
            models.CheckConstraint(
                condition=Q(age_exception_at__isnull=True, age_exception_by__isnull=True, age_exception_reason="")
                | Q(age_exception_at__isnull=False, age_exception_by__isnull=False) & ~Q(age_exception_reason=""),
                name="course_age_exception_complete",
            ),
            models.CheckConstraint(
                condition=Q(follow_up_stopped_at__isnull=True, follow_up_stopped_reason="")
                | Q(follow_up_stopped_at__isnull=False, status=CourseStatus.DISCONTINUED)
                & ~Q(follow_up_stopped_reason=""),
                name="course_follow_up_stop_explained",
            ),
        ]
        indexes = [
            # Serves the lead's dashboard and status filters: open courses by stage.
            models.Index(fields=["status", "created_at"], name="course_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_indication_display()} course ({self.get_status_display()})"


class CourseStatusChange(Permanent):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=CourseStatus.choices)
    to_status = models.CharField(max_length=16, choices=CourseStatus.choices)
    reason = free_text(blank=True, limit=rules.REASON_MAX)
    changed_at = models.DateTimeField()  # when the change happened (back-dated: noon of its day)
    changed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(null=True, blank=True)  # when it was typed (null before 2026-12)
    late_entry_reason = free_text("why it is recorded after the day it happened", blank=True, limit=rules.REASON_MAX)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


class MedicalEvaluation(SignableRecord):
    """Medical evaluation with the contraindication screen (DOMAIN §2), signed by a provider."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="medical_evaluations")
    evaluated_on = models.DateField()
    history = free_text("medical history", blank=True)
    medications = free_text("current medications", blank=True)
    systolic_bp = models.PositiveSmallIntegerField("baseline systolic BP (mmHg)", null=True, blank=True)
    diastolic_bp = models.PositiveSmallIntegerField("baseline diastolic BP (mmHg)", null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField("baseline heart rate (/min)", null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField("baseline SpO2 (%)", null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField("baseline respiratory rate (/min)", null=True, blank=True)
    weight_kg = models.DecimalField("baseline weight (kg)", max_digits=5, decimal_places=1, null=True, blank=True)
    # Every item is answered on purpose (yes / no / unknown); blank is "not answered yet", never "no".
    ci_psychosis_or_mania = screen_answer()
    ci_pregnancy = screen_answer()
    ci_aneurysmal_vascular_disease = screen_answer()
    ci_intracerebral_haemorrhage = screen_answer()
    ci_ketamine_hypersensitivity = screen_answer()
    caution_uncontrolled_hypertension = screen_answer()
    caution_raised_icp_or_iop = screen_answer()
    caution_cardio_cerebrovascular = screen_answer()
    caution_substance_use_history = screen_answer()
    caution_breastfeeding = screen_answer()
    caution_recent_suicidality = screen_answer()
    caution_interacting_medications = screen_answer()
    childbearing_potential = screen_answer(rules.CHILDBEARING_LABEL)
    decision = models.CharField(max_length=32, choices=ScreenDecision.choices, default=ScreenDecision.PENDING)
    caution_note = free_text(blank=True)
    # A screen is valid for the clinic's set time; a new one supersedes it (the old one stays).
    superseded_at = models.DateTimeField(null=True, blank=True, editable=False)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="+", null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-evaluated_on"]
        constraints = (
            SignableRecord.Meta.constraints
            + _vital_checks("medical_evaluation")
            + [
                _range_check("weight_kg", 20, 400, "medical_evaluation_weight_plausible"),
                models.UniqueConstraint(
                    fields=["course"],
                    condition=Q(voided_at__isnull=True, superseded_at__isnull=True),
                    name="medical_evaluation_one_current_per_course",
                ),
                # Cleared means every absolute item answered "no"; plain "cleared", every caution too.
                models.CheckConstraint(
                    condition=~Q(decision__in=[ScreenDecision.CLEARED, ScreenDecision.CLEARED_WITH_CAUTIONS])
                    | Q(**dict.fromkeys(rules.ABSOLUTE_ITEMS, rules.NO)),
                    name="medical_evaluation_cleared_absolute_no",
                ),
                models.CheckConstraint(
                    condition=~Q(decision=ScreenDecision.CLEARED) | Q(**dict.fromkeys(rules.CAUTION_ITEMS, rules.NO)),
                    name="medical_evaluation_cleared_cautions_no",
                ),
                models.CheckConstraint(
                    condition=~Q(decision__in=[ScreenDecision.CLEARED, ScreenDecision.CLEARED_WITH_CAUTIONS])
                    | _all_answered_yes_or_no(rules.CAUTION_ITEMS),
                    name="medical_evaluation_cleared_answered",
                ),
                models.CheckConstraint(
                    condition=~Q(decision=ScreenDecision.CLEARED_WITH_CAUTIONS) | ~Q(caution_note=""),
                    name="medical_evaluation_cautions_have_note",
                ),
                models.CheckConstraint(
                    condition=Q(signed_at__isnull=True) | ~Q(decision=ScreenDecision.PENDING),
                    name="medical_evaluation_signed_has_decision",
                ),
            ]
        )

    def __str__(self) -> str:
        return f"Medical evaluation {self.evaluated_on} ({self.get_decision_display()})"

    @property
    def screen_answers(self) -> dict[str, str]:
        return {item.field: getattr(self, item.field) for item in rules.SCREEN_ITEMS}

    @property
    def is_current(self) -> bool:
        return not self.is_voided and self.superseded_at is None


class PsychiatricEvaluation(SignableRecord):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="psychiatric_evaluations")
    evaluated_on = models.DateField()
    diagnosis = models.CharField(max_length=200)
    icd10_code = models.CharField("ICD-10 code", max_length=10, blank=True)
    indication = models.CharField(max_length=32, choices=Indication.choices)
    suicide_risk = models.CharField("suicide risk", max_length=16, choices=SuicideRisk.choices)
    risk_plan = free_text("safety / risk plan", blank=True)
    note = free_text(blank=True)

    class Meta:
        ordering = ["-evaluated_on"]
        constraints = SignableRecord.Meta.constraints + [
            models.UniqueConstraint(
                fields=["course"],
                condition=Q(voided_at__isnull=True),
                name="psychiatric_evaluation_one_active_per_course",
            ),
            models.CheckConstraint(
                condition=Q(suicide_risk=SuicideRisk.LOW) | ~Q(risk_plan=""),
                name="psychiatric_evaluation_risk_has_plan",
            ),
        ]

    def __str__(self) -> str:
        return f"Psychiatric evaluation {self.evaluated_on}"


class PreparatorySession(SignableRecord):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="preparatory_sessions")
    therapist = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    held_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    topics = models.JSONField(default=list, blank=True)
    intentions = free_text(blank=True)
    note = free_text()

    class Meta:
        ordering = ["held_at"]
        constraints = SignableRecord.Meta.constraints + [
            _range_check("duration_minutes", 5, 480, "preparatory_session_duration_range", nullable=False),
        ]

    def __str__(self) -> str:
        return f"Preparatory session {self.held_at:%Y-%m-%d}"


class IntegrationSession(SignableRecord):
    """Integration after dosing; a group session lists every participating course."""

    courses = models.ManyToManyField(Course, related_name="integration_sessions")
    format = models.CharField(max_length=16, choices=SessionFormat.choices, default=SessionFormat.INDIVIDUAL)
    therapist = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    held_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    techniques = models.JSONField(default=list, blank=True)
    note = free_text()

    class Meta:
        ordering = ["held_at"]
        constraints = SignableRecord.Meta.constraints + [
            _range_check("duration_minutes", 5, 480, "integration_session_duration_range", nullable=False),
        ]

    def __str__(self) -> str:
        return f"Integration session {self.held_at:%Y-%m-%d}"


class DosingSession(SignableRecord):
    """A dosing session: one facilitation note, one participant (individual) or 4–12 (group)."""

    format = models.CharField(max_length=16, choices=SessionFormat.choices, default=SessionFormat.INDIVIDUAL)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="Planned end; set to the actual end when the session closes.")
    location = models.CharField(max_length=120, blank=True)
    medical_provider = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="dosing_sessions_as_provider")
    facilitators = models.ManyToManyField(STAFF, related_name="dosing_sessions_facilitated")
    others_present = models.CharField("others present", max_length=300, blank=True)
    facilitation_note = free_text(blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = SignableRecord.Meta.constraints + [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="dosing_session_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | ~Q(facilitation_note=""),
                name="dosing_session_signed_has_note",
            ),
        ]
        indexes = [
            # Serves "today's dosing sessions" and the overlap check.
            models.Index(fields=["starts_at"], name="dosing_session_starts_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} dosing session {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"


class DosingParticipant(SignableRecord):
    """One patient's dose in a dosing session, with their own vitals and adverse events."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="participants")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="doses")
    is_maintenance = models.BooleanField(
        "maintenance / booster dose", default=False, help_text="After the acute series; does not move its end."
    )
    drug = models.CharField(max_length=16, choices=Drug.choices, default=Drug.RACEMIC_KETAMINE)
    route = models.CharField(max_length=16, choices=Route.choices)
    dose_mg = models.DecimalField("dose (mg)", max_digits=6, decimal_places=1)
    weight_kg = models.DecimalField("weight used (kg)", max_digits=5, decimal_places=1)
    # The recorded weight the dose was calculated on (null only on records made before this was kept).
    weight_measurement = models.ForeignKey(
        WeightMeasurement, on_delete=models.PROTECT, related_name="+", null=True, blank=True, editable=False
    )
    dose_mg_per_kg = models.DecimalField("dose (mg/kg)", max_digits=7, decimal_places=3, editable=False)
    protocol_maximum = models.DecimalField(max_digits=6, decimal_places=2, editable=False)
    protocol_maximum_unit = models.CharField(max_length=8, editable=False)
    # The absolute ceiling in force, in the maximum's unit; no reason unlocks a dose above it.
    protocol_ceiling = models.DecimalField(max_digits=6, decimal_places=2, null=True, editable=False)
    over_maximum_reason = free_text("reason for dose above protocol maximum", blank=True, limit=rules.REASON_MAX)
    lot_number = models.CharField(max_length=40, blank=True)
    fasting_confirmed = models.BooleanField("fasting confirmed (2 h solids, 30 min liquids)", default=False)
    pregnancy_test = models.CharField(
        "pregnancy test (this dose)", max_length=16, choices=PregnancyTest.choices, blank=True, default=""
    )
    concomitant_medications = free_text(blank=True)
    dosed_at = models.DateTimeField("dose given at", null=True, blank=True)
    discharge_alert_oriented = models.BooleanField("alert and oriented", default=False)
    # Set by the service from the last pre-discharge reading, no longer ticked by hand.
    discharge_vitals_acceptable = models.BooleanField("vitals within limits at discharge", default=False)
    discharge_escort_present = models.BooleanField("escort home present", default=False)
    discharge_no_driving_advised = models.BooleanField("advised not to drive until the next day", default=False)
    # Discharge while the last reading still alerts: the provider's documented reason (safety report).
    discharge_exception_reason = free_text(
        "why discharge is safe despite the alert", blank=True, limit=rules.REASON_MAX
    )
    discharged_at = models.DateTimeField(null=True, blank=True)
    discharged_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    # Left before the discharge checks were met (against advice, or collected early): the dose ends
    # so the record can move on, with what happened in discharge_exception_reason (safety report).
    left_before_discharge = models.BooleanField(default=False)

    class Meta:
        ordering = ["session__starts_at"]
        constraints = SignableRecord.Meta.constraints + [
            models.UniqueConstraint(
                fields=["session", "course"],
                condition=Q(voided_at__isnull=True),
                name="dosing_participant_once_per_session",
            ),
            models.CheckConstraint(condition=Q(dose_mg__gt=0, dose_mg__lte=1000), name="dosing_participant_dose_range"),
            _range_check("weight_kg", 20, 400, "dosing_participant_weight_plausible", nullable=False),
            models.CheckConstraint(
                condition=~Q(drug=Drug.ESKETAMINE) | Q(route=Route.INTRANASAL),
                name="dosing_participant_esketamine_intranasal",
            ),
            # The maximum in force is stored on the row, so "above it needs a reason" fits on one row.
            models.CheckConstraint(
                condition=~Q(over_maximum_reason="")
                | Q(protocol_maximum_unit="mg/kg", dose_mg_per_kg__lte=models.F("protocol_maximum"))
                | Q(protocol_maximum_unit="mg", dose_mg__lte=models.F("protocol_maximum")),
                name="dosing_participant_over_maximum_has_reason",
            ),
            # And the ceiling: nothing above it, whatever the reason.
            models.CheckConstraint(
                condition=Q(protocol_ceiling__isnull=True)
                | Q(protocol_maximum_unit="mg/kg", dose_mg_per_kg__lte=models.F("protocol_ceiling"))
                | Q(protocol_maximum_unit="mg", dose_mg__lte=models.F("protocol_ceiling")),
                name="dosing_participant_within_ceiling",
            ),
            models.CheckConstraint(
                condition=Q(dosed_at__isnull=True) | Q(fasting_confirmed=True),
                name="dosing_participant_dosed_fasting_confirmed",
            ),
            models.CheckConstraint(
                condition=Q(dosed_at__isnull=True) | ~Q(pregnancy_test=PregnancyTest.POSITIVE),
                name="dosing_participant_no_dose_when_pregnant",
            ),
            models.CheckConstraint(
                condition=Q(discharged_at__isnull=True)
                | Q(
                    dosed_at__isnull=False,
                    discharged_by__isnull=False,
                    discharge_alert_oriented=True,
                    discharge_escort_present=True,
                    discharge_no_driving_advised=True,
                )
                & (Q(discharge_vitals_acceptable=True) | ~Q(discharge_exception_reason=""))
                # A patient who left before discharge: what happened is written, the checks may be unmet.
                | Q(
                    dosed_at__isnull=False,
                    discharged_by__isnull=False,
                    left_before_discharge=True,
                )
                & ~Q(discharge_exception_reason=""),
                name="dosing_participant_discharge_checklist",
            ),
        ]
        indexes = [
            # Serves the spacing rule: a patient's latest given dose (through its course).
            models.Index(fields=["course", "dosed_at"], name="dose_course_dosed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} {self.dose_mg} mg {self.get_route_display()}"

    @property
    def is_over_maximum(self) -> bool:
        return rules.dose_exceeds_maximum(
            self.dose_mg, self.weight_kg, rules.RouteMaximum(self.protocol_maximum, self.protocol_maximum_unit)
        )


class HoldOverride(Permanent):
    """A medical provider's documented decision to dose despite a pre-dose hold. It covers the
    reading that set the hold (and earlier ones); a higher reading taken later needs a new one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    participant = models.ForeignKey(DosingParticipant, on_delete=models.PROTECT, related_name="hold_overrides")
    reading = models.ForeignKey("VitalReading", on_delete=models.PROTECT, related_name="+")
    reason = free_text("clinical reason for dosing despite the hold", limit=rules.REASON_MAX)
    overridden_at = models.DateTimeField()
    overridden_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    # The decision was about the reading as it stood: once that reading is corrected or voided the
    # override no longer applies (it stays on the record, marked), and the hold is judged afresh.
    lapsed_at = models.DateTimeField(null=True, blank=True)
    lapsed_why = free_text("why the override no longer applies", limit=rules.REASON_MAX, blank=True, default="")

    class Meta:
        ordering = ["overridden_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="hold_override_has_reason"),
            models.UniqueConstraint(fields=["participant", "reading"], name="hold_override_once_per_reading"),
        ]

    def __str__(self) -> str:
        return f"Pre-dose hold overridden {timezone.localtime(self.overridden_at):%Y-%m-%d %H:%M}"


class VitalReading(ClinicalRecord):
    participant = models.ForeignKey(DosingParticipant, on_delete=models.PROTECT, related_name="vitals")
    taken_at = models.DateTimeField()
    phase = models.CharField(max_length=16, choices=VitalPhase.choices)
    systolic_bp = models.PositiveSmallIntegerField("systolic BP (mmHg)", null=True, blank=True)
    diastolic_bp = models.PositiveSmallIntegerField("diastolic BP (mmHg)", null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField("heart rate (/min)", null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField("SpO2 (%)", null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField("respiratory rate (/min)", null=True, blank=True)
    alerts = models.JSONField(default=list, blank=True, editable=False)
    thresholds_in_force = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["taken_at", "created_at"]
        constraints = (
            ClinicalRecord.Meta.constraints
            + _vital_checks("vital_reading")
            + [
                models.CheckConstraint(
                    condition=Q(systolic_bp__isnull=False)
                    | Q(diastolic_bp__isnull=False)
                    | Q(heart_rate__isnull=False)
                    | Q(spo2__isnull=False)
                    | Q(respiratory_rate__isnull=False),
                    name="vital_reading_not_empty",
                ),
            ]
        )

    def __str__(self) -> str:
        return f"Vitals {timezone.localtime(self.taken_at):%H:%M} ({self.get_phase_display()})"

    @property
    def blood_pressure(self) -> str:
        if self.systolic_bp is None and self.diastolic_bp is None:
            return ""
        return f"{self.systolic_bp or '–'}/{self.diastolic_bp or '–'}"


class InSessionAlertQuerySet(PermanentQuerySet):
    def open(self):
        return self.filter(closed_at__isnull=True)


class InSessionAlert(Permanent):
    """An alerting reading (DOMAIN §3, and slow breathing) opens one; a medical provider closes it
    by recording what was done. Open alerts hold the dose and the discharge."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    participant = models.ForeignKey(DosingParticipant, on_delete=models.PROTECT, related_name="in_session_alerts")
    # One open alert per reading; a corrected reading that alerts on something new opens another.
    reading = models.ForeignKey(VitalReading, on_delete=models.PROTECT, related_name="in_session_alerts")
    alerts = models.JSONField(default=list)
    raised_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    action = models.CharField(max_length=24, choices=InSessionAlertAction.choices, blank=True)
    adverse_event = models.ForeignKey("AdverseEvent", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    note = free_text("what was done", blank=True, limit=rules.REASON_MAX)

    objects = InSessionAlertQuerySet.as_manager()

    class Meta:
        ordering = ["raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["reading"], condition=Q(closed_at__isnull=True), name="in_session_alert_one_open_per_reading"
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, closed_by__isnull=True, action="")
                | Q(closed_at__isnull=False) & ~Q(action=""),
                name="in_session_alert_closed_has_action",
            ),
            models.CheckConstraint(
                condition=~Q(action=InSessionAlertAction.ADVERSE_EVENT) | Q(adverse_event__isnull=False),
                name="in_session_alert_event_named",
            ),
            models.CheckConstraint(
                condition=~Q(action=InSessionAlertAction.OTHER) | ~Q(note=""),
                name="in_session_alert_other_has_note",
            ),
        ]
        indexes = [
            # Serves the bedside, group and today pages: open alerts of a set of doses.
            models.Index(fields=["participant"], condition=Q(closed_at__isnull=True), name="in_session_alert_open"),
        ]

    def __str__(self) -> str:
        return "Vital-sign alert" + (" (closed)" if self.closed_at else " (open)")


class AdverseEventQuerySet(VoidableQuerySet):
    def serious_unacknowledged(self):
        return self.active().filter(serious=True, acknowledged_at__isnull=True)


class AdverseEvent(ClinicalRecord):
    """An adverse event of a course: during a dose (participant set) or reported outside a dosing
    session (at an integration session, by phone), against the course alone."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="adverse_events")
    participant = models.ForeignKey(
        DosingParticipant, on_delete=models.PROTECT, related_name="adverse_events", null=True, blank=True
    )
    term = models.CharField(max_length=32, choices=AdverseEventTerm.choices)
    term_other = models.CharField("other (describe)", max_length=200, blank=True)
    grade = models.PositiveSmallIntegerField(choices=AdverseEventGrade.choices)
    serious = models.BooleanField(default=False)
    serious_criteria = models.JSONField(default=list, blank=True)
    onset_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    relatedness = models.CharField(max_length=16, choices=Relatedness.choices)
    # Blank only on events recorded before expectedness was asked.
    expectedness = models.CharField(max_length=16, choices=Expectedness.choices, blank=True)
    action_taken = models.CharField(max_length=32, choices=AdverseEventAction.choices, default=AdverseEventAction.NONE)
    outcome = models.CharField(max_length=32, choices=AdverseEventOutcome.choices, default=AdverseEventOutcome.ONGOING)
    description = free_text(blank=True)
    lead_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    acknowledgement_note = free_text(blank=True, limit=rules.REASON_MAX)

    # The practice leads' serious-event mail is the system's doing, often while a provider still
    # has the event open to complete it.
    BOOKKEEPING_FIELDS = frozenset({"lead_notified_at"})

    objects = AdverseEventQuerySet.as_manager()

    class Meta:
        ordering = ["onset_at", "created_at"]
        constraints = ClinicalRecord.Meta.constraints + [
            _range_check("grade", 1, 5, "adverse_event_grade_range", nullable=False),
            # Life-threatening and fatal events meet the 21 CFR 312.32 definition of serious.
            models.CheckConstraint(condition=Q(grade__lte=3) | Q(serious=True), name="adverse_event_grade4_serious"),
            # Grade 5 is death: the outcome is fatal, and only then (the "death" criterion is the service's check).
            models.CheckConstraint(
                condition=Q(grade=5, outcome=AdverseEventOutcome.FATAL)
                | ~Q(grade=5) & ~Q(outcome=AdverseEventOutcome.FATAL),
                name="adverse_event_grade5_fatal",
            ),
            models.CheckConstraint(
                condition=~Q(term=AdverseEventTerm.OTHER) | ~Q(term_other=""), name="adverse_event_other_described"
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("onset_at")),
                name="adverse_event_resolves_after_onset",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(serious=True, acknowledged_by__isnull=False),
                name="adverse_event_acknowledged_serious_only",
            ),
        ]
        indexes = [
            # Serves the lead's dashboard: serious events awaiting acknowledgement.
            models.Index(
                fields=["onset_at"],
                condition=Q(serious=True, acknowledged_at__isnull=True, voided_at__isnull=True),
                name="adverse_event_sae_open",
            ),
        ]

    def __str__(self) -> str:
        term = self.term_other if self.term == AdverseEventTerm.OTHER else self.get_term_display()
        return f"{term} (grade {self.grade}{', serious' if self.serious else ''})"


class Amendment(Permanent):
    """A correction to a signed record: who, when, why, and each field's old and new value."""

    id = models.BigAutoField(primary_key=True)
    record_type = models.CharField(max_length=60)
    record_id = models.UUIDField()
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+", null=True)
    changes = models.JSONField()
    reason = free_text(limit=rules.REASON_MAX)
    amended_at = models.DateTimeField()
    amended_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["amended_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="amendment_has_reason")]
        indexes = [models.Index(fields=["record_type", "record_id"], name="amendment_record")]

    def __str__(self) -> str:
        return f"Amendment of {self.record_type} ({', '.join(self.changes)})"


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    SIGN = "sign", "Signed"
    AMEND = "amend", "Amended"
    VOID = "void", "Voided"
    ACKNOWLEDGE = "acknowledge", "Acknowledged"
    EXPORT = "export", "Exported"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise models.ProtectedError("The audit trail is append-only.", set())

    def delete(self):
        raise models.ProtectedError("The audit trail is append-only.", set())


class AuditEvent(models.Model):
    """Append-only: who read or changed which record, when, from where. On PostgreSQL a
    trigger (migration 0002) also refuses UPDATE and DELETE from any client."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True)
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+", null=True)
    record_type = models.CharField(max_length=60)
    record_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True)
    detail = models.CharField(max_length=300, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # Serves the per-patient audit page, newest first.
            models.Index(fields=["patient", "-at"], name="audit_patient_at"),
            # Serves "who changed this record last" for a save refused as stale (RecordChanged).
            models.Index(fields=["record_type", "record_id", "-at"], name="audit_record_at"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_username or 'system'} {self.action} {self.record_type}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise models.ProtectedError("The audit trail is append-only.", {self})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise models.ProtectedError("The audit trail is append-only.", {self})
