"""Before dosing: the medical evaluation with its contraindication screen, and the psychiatric evaluation."""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from courses import rules
from courses.choices import Indication, ScreenDecision, SuicideRisk
from courses.models.base import (
    SignableRecord,
    all_answered_yes_or_no,
    free_text,
    range_check,
    screen_answer,
    vital_checks,
)
from courses.models.courses import Course


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
            + vital_checks("medical_evaluation")
            + [
                range_check("weight_kg", 20, 400, "medical_evaluation_weight_plausible"),
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
                    | all_answered_yes_or_no(rules.CAUTION_ITEMS),
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

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        return reverse("course-timeline", args=[self.course_id])

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

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        return reverse("course-timeline", args=[self.course_id])
