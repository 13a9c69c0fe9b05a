"""The clinic's protocol values: dose maxima and ceilings, hold and alert thresholds, monitoring times."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from courses import rules
from courses.choices import Route
from courses.models.base import STAFF, PrintableName, range_check
from kernel.models import SingletonSettings


class ClinicSettings(SingletonSettings):
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
            range_check(
                "hold_systolic",
                *rules.SETTING_RANGES["hold_systolic"],
                "clinic_settings_hold_systolic_range",
                nullable=False,
            ),
            range_check(
                "hold_diastolic",
                *rules.SETTING_RANGES["hold_diastolic"],
                "clinic_settings_hold_diastolic_range",
                nullable=False,
            ),
            range_check("hold_recheck_minutes", 5, 120, "clinic_settings_hold_recheck_range", nullable=False),
            range_check(
                "alert_systolic",
                *rules.SETTING_RANGES["alert_systolic"],
                "clinic_settings_alert_systolic_range",
                nullable=False,
            ),
            range_check(
                "alert_diastolic",
                *rules.SETTING_RANGES["alert_diastolic"],
                "clinic_settings_alert_diastolic_range",
                nullable=False,
            ),
            range_check(
                "alert_heart_rate",
                *rules.SETTING_RANGES["alert_heart_rate"],
                "clinic_settings_alert_hr_range",
                nullable=False,
            ),
            range_check(
                "alert_spo2_below",
                *rules.SETTING_RANGES["alert_spo2_below"],
                "clinic_settings_alert_spo2_range",
                nullable=False,
            ),
            range_check(
                "alert_respiratory_rate_below",
                *rules.SETTING_RANGES["alert_respiratory_rate_below"],
                "clinic_settings_alert_rr_range",
                nullable=False,
            ),
            range_check("vitals_interval_minutes", 5, 60, "clinic_settings_vitals_interval_range", nullable=False),
            range_check(
                "monitoring_minutes_esketamine",
                rules.ESKETAMINE_MONITORING_FLOOR_MINUTES,
                720,
                "clinic_settings_esketamine_monitoring_range",
                nullable=False,
            ),
            range_check(
                "monitoring_minutes_other",
                rules.OTHER_MONITORING_FLOOR_MINUTES,
                720,
                "clinic_settings_other_monitoring_range",
                nullable=False,
            ),
            range_check(
                "min_dose_interval_hours",
                *rules.SETTING_RANGES["min_dose_interval_hours"],
                "clinic_settings_dose_interval_range",
                nullable=False,
            ),
            range_check("weight_max_age_days", 1, 365, "clinic_settings_weight_age_range", nullable=False),
            range_check("screen_valid_months", 1, 24, "clinic_settings_screen_valid_range", nullable=False),
            range_check("minimum_age_years", 12, 25, "clinic_settings_minimum_age_range", nullable=False),
        ]

    def __str__(self) -> str:
        return f"Settings of {self.clinic_name}"

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
