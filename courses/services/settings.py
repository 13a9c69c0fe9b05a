"""The clinic's clinical settings (the practice lead's)."""

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction

from accounts.models import Role, User
from courses import rules
from courses.audit import audit
from courses.choices import Route
from courses.models import AuditAction, ClinicSettings
from courses.services.base import _json_value, _refuse_unknown, _require_role, _save
from kernel import clock
from kernel.models import settings_update
from kernel.validation import fail

SETTINGS_FIELDS = (
    "clinic_name",
    "max_iv_mg_per_kg",
    "max_im_mg_per_kg",
    "max_intranasal_mg",
    "max_sublingual_mg",
    "ceiling_iv_mg_per_kg",
    "ceiling_im_mg_per_kg",
    "ceiling_intranasal_mg",
    "ceiling_sublingual_mg",
    "hold_systolic",
    "hold_diastolic",
    "hold_recheck_minutes",
    "alert_systolic",
    "alert_diastolic",
    "alert_heart_rate",
    "alert_spo2_below",
    "alert_respiratory_rate_below",
    "vitals_interval_minutes",
    "monitoring_minutes_esketamine",
    "monitoring_minutes_other",
    "min_dose_interval_hours",
    "weight_max_age_days",
    "screen_valid_months",
    "minimum_age_years",
)


CEILING_FIELDS = {
    Route.IV: "ceiling_iv_mg_per_kg",
    Route.IM: "ceiling_im_mg_per_kg",
    Route.INTRANASAL: "ceiling_intranasal_mg",
    Route.SUBLINGUAL: "ceiling_sublingual_mg",
}


@transaction.atomic
def clinic_settings_update(*, by: User, changes: Mapping[str, object], now: datetime | None = None) -> ClinicSettings:
    """`changes`: setting → new value, of SETTINGS_FIELDS (another name is refused, naming it)."""
    now = clock.now(now)
    # Thresholds, maxima and intervals are clinical decisions: the practice lead's, not an administrator's.
    _require_role(by, {Role.PRACTICE_LEAD}, "change the clinic's clinical settings")
    settings = ClinicSettings.load_for_update()
    _refuse_unknown(changes, SETTINGS_FIELDS, "settings")
    settings_update(
        settings,
        dict(changes),
        by=by,
        now=now,
        check=_check_clinic_settings,
        save=_save,
        audit=lambda changes: audit(
            actor=by,
            action=AuditAction.UPDATE,
            record_type="clinic settings",
            detail="; ".join(f"{k}: {_json_value(old)} → {_json_value(new)}" for k, (old, new) in changes.items()),
            at=now,
        ),
    )
    return settings


def _check_clinic_settings(settings: ClinicSettings, changes) -> None:
    """The rules across settings: each hold below its alert, each ceiling at least its maximum."""
    for kind in ("systolic", "diastolic"):
        hold, alert = getattr(settings, f"hold_{kind}"), getattr(settings, f"alert_{kind}")
        if hold >= alert:
            low, high = rules.SETTING_RANGES[f"hold_{kind}"]
            fail(
                f"hold_{kind}",
                f"The {kind} pre-dose hold must be below the intra-session alert ({alert} mmHg), between {low} and "
                f"{high} mmHg.",
            )
    for route, name in CEILING_FIELDS.items():
        maximum, ceiling = settings.route_maximum(route), settings.route_ceiling(route)
        if ceiling.value < maximum.value:
            fail(
                name,
                f"The ceiling for {Route(route).label.lower()} ({ceiling.value} {ceiling.unit}) must be at least its "
                f"maximum ({maximum.value} {maximum.unit}).",
            )
