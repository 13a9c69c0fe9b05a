"""The practice lead's pages: inviting staff, the clinic's settings."""

from django import forms

from accounts.models import Role
from courses import services
from courses.models import ClinicSettings
from courses.web.forms.base import ServiceModelForm


class StaffInviteForm(forms.Form):
    """The lead names the colleague; the colleague chooses the password through the mailed link."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(help_text="The invitation goes here; so do password-reset links later.")
    username = forms.CharField(max_length=150, help_text="What they sign in with.")
    role = forms.ChoiceField(choices=Role.choices)
    credentials = forms.CharField(max_length=60, required=False, help_text="Shown after the name, e.g. MD, LCSW.")


class ClinicSettingsForm(ServiceModelForm):
    class Meta:
        model = ClinicSettings
        fields = services.SETTINGS_FIELDS
        labels = {
            "clinic_name": "Clinic name",
            "max_iv_mg_per_kg": "Maximum IV dose (mg/kg)",
            "max_im_mg_per_kg": "Maximum IM dose (mg/kg)",
            "max_intranasal_mg": "Maximum intranasal dose (mg)",
            "max_sublingual_mg": "Maximum sublingual dose (mg)",
            "ceiling_iv_mg_per_kg": "Absolute ceiling, IV (mg/kg): no reason allows more",
            "ceiling_im_mg_per_kg": "Absolute ceiling, IM (mg/kg)",
            "ceiling_intranasal_mg": "Absolute ceiling, intranasal (mg)",
            "ceiling_sublingual_mg": "Absolute ceiling, sublingual (mg)",
            "hold_systolic": "Pre-dose hold: systolic above (mmHg)",
            "hold_diastolic": "Pre-dose hold: diastolic above (mmHg)",
            "hold_recheck_minutes": "A normal re-check lifts a hold from (minutes after the high reading)",
            "alert_systolic": "Intra-session alert: systolic above (mmHg)",
            "alert_diastolic": "Intra-session alert: diastolic above (mmHg)",
            "alert_heart_rate": "Intra-session alert: heart rate above (/min)",
            "alert_spo2_below": "Intra-session alert: SpO2 below (%)",
            "alert_respiratory_rate_below": "Intra-session alert: respiratory rate below (/min)",
            "vitals_interval_minutes": "Vitals during monitoring every (minutes)",
            "monitoring_minutes_esketamine": "Minimum monitoring after intranasal esketamine (min, at least 120)",
            "monitoring_minutes_other": "Minimum monitoring, other routes (min, at least 40)",
            "min_dose_interval_hours": "Minimum interval between two doses of a patient (hours)",
            "weight_max_age_days": "A recorded weight may be used for (days)",
            "screen_valid_months": "A contraindication screen is valid for (months)",
            "minimum_age_years": "Minimum age to start a course (years)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            default = ClinicSettings._meta.get_field(name).default
            field.help_text = f"Default: {default}"
            if name != "clinic_name":
                field.widget.attrs["inputmode"] = "decimal"
