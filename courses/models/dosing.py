"""The dosing session and each patient's dose in it, with the bedside record: vitals, hold overrides
and in-session alerts."""

import uuid

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from courses import rules
from courses.choices import Drug, InSessionAlertAction, PregnancyTest, Route, SessionFormat, VitalPhase
from courses.models.base import (
    STAFF,
    ClinicalRecord,
    Permanent,
    PermanentQuerySet,
    SignableRecord,
    free_text,
    range_check,
    vital_checks,
)
from courses.models.courses import Course
from courses.models.patients import WeightMeasurement
from kernel.text import REASON_MAX


class DosingSession(SignableRecord):
    """A dosing session: one facilitation note, one dose (individual) or 4–12 (group)."""

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

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        return reverse("dosing-session", args=[self.pk])


# Named DosingParticipant until issue 14: the table, and the constraints named after it, keep that name.
DOSE_TABLE = "courses_dosingparticipant"


def _named_for_table(constraint, table: str):
    """An inherited constraint named after the table rather than the class (which is renamed)."""
    clone = constraint.clone()
    clone.name = constraint.name.replace("%(app_label)s_%(class)s", table)
    return clone


class Dose(SignableRecord):
    """One patient's dose in a dosing session, with their own vitals and adverse events."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="doses")
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
    over_maximum_reason = free_text("reason for dose above protocol maximum", blank=True, limit=REASON_MAX)
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
    discharge_exception_reason = free_text("why discharge is safe despite the alert", blank=True, limit=REASON_MAX)
    discharged_at = models.DateTimeField(null=True, blank=True)
    discharged_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    # Left before the discharge checks were met (against advice, or collected early): the dose ends
    # so the record can move on, with what happened in discharge_exception_reason (safety report).
    left_before_discharge = models.BooleanField(default=False)

    class Meta:
        db_table = DOSE_TABLE
        verbose_name = "dose"
        verbose_name_plural = "doses"
        ordering = ["session__starts_at"]
        constraints = [_named_for_table(c, DOSE_TABLE) for c in SignableRecord.Meta.constraints] + [
            models.UniqueConstraint(
                fields=["session", "course"],
                condition=Q(voided_at__isnull=True),
                name="dosing_participant_once_per_session",
            ),
            models.CheckConstraint(condition=Q(dose_mg__gt=0, dose_mg__lte=1000), name="dosing_participant_dose_range"),
            range_check("weight_kg", 20, 400, "dosing_participant_weight_plausible", nullable=False),
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

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        return reverse("dose", args=[self.pk])

    @property
    def is_over_maximum(self) -> bool:
        return rules.dose_exceeds_maximum(
            self.dose_mg, self.weight_kg, rules.RouteMaximum(self.protocol_maximum, self.protocol_maximum_unit)
        )


class HoldOverride(Permanent):
    """A medical provider's documented decision to dose despite a pre-dose hold. It covers the
    reading that set the hold (and earlier ones); a higher reading taken later needs a new one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dose = models.ForeignKey(Dose, on_delete=models.PROTECT, related_name="hold_overrides", db_column="participant_id")
    reading = models.ForeignKey("VitalReading", on_delete=models.PROTECT, related_name="+")
    reason = free_text("clinical reason for dosing despite the hold", limit=REASON_MAX)
    overridden_at = models.DateTimeField()
    overridden_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    # The decision was about the reading as it stood: once that reading is corrected or voided the
    # override no longer applies (it stays on the record, marked), and the hold is judged afresh.
    lapsed_at = models.DateTimeField(null=True, blank=True)
    lapsed_why = free_text("why the override no longer applies", limit=REASON_MAX, blank=True, default="")

    class Meta:
        ordering = ["overridden_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="hold_override_has_reason"),
            models.UniqueConstraint(fields=["dose", "reading"], name="hold_override_once_per_reading"),
        ]

    def __str__(self) -> str:
        return f"Pre-dose hold overridden {timezone.localtime(self.overridden_at):%Y-%m-%d %H:%M}"


class VitalReading(ClinicalRecord):
    dose = models.ForeignKey(Dose, on_delete=models.PROTECT, related_name="vitals", db_column="participant_id")
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
            + vital_checks("vital_reading")
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

    def get_absolute_url(self) -> str:
        """The page this record is shown on, where its actions return to."""
        return reverse("dose", args=[self.dose_id])

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
    dose = models.ForeignKey(
        Dose, on_delete=models.PROTECT, related_name="in_session_alerts", db_column="participant_id"
    )
    # One open alert per reading; a corrected reading that alerts on something new opens another.
    reading = models.ForeignKey(VitalReading, on_delete=models.PROTECT, related_name="in_session_alerts")
    alerts = models.JSONField(default=list)
    raised_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    action = models.CharField(max_length=24, choices=InSessionAlertAction.choices, blank=True)
    adverse_event = models.ForeignKey("AdverseEvent", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    note = free_text("what was done", blank=True, limit=REASON_MAX)

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
            models.Index(fields=["dose"], condition=Q(closed_at__isnull=True), name="in_session_alert_open"),
        ]

    def __str__(self) -> str:
        return "Vital-sign alert" + (" (closed)" if self.closed_at else " (open)")
