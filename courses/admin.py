"""The Django admin over the course record: a window onto the same services, never around them.

Nothing clinical is deleted here. Edits of unsigned records go through services.record_update
(or patient_update / clinic_settings_update / course_update_team), so the admin meets the
same rules as the web pages and the API; records whose creation has rules of its own are
created there, not here. Signed and voided records, amendments and the audit trail are
read-only. Opening a patient's record here is audited like any other read.
"""

from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper

from courses import kinds, services
from courses.audit import audit_view
from courses.models import (
    AdverseEvent,
    Amendment,
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
from courses.selectors import record_patients
from kernel.admin import ReadOnlyAdmin, ReadOnlyInline, SingletonSettingsAdmin, VersionedServiceForm

NO_ADD_HELP = (
    "Records of this kind are created in the clinic's pages or through the API, where the "
    "creation rules are applied; the admin only corrects unsigned ones."
)


class ClinicalAdmin(admin.ModelAdmin):
    """Clinical rows: never deleted, never added here, edited through a service while unlocked."""

    form = VersionedServiceForm
    editable_fields: tuple[str, ...] = ()
    add_help = NO_ADD_HELP
    # The models' get_absolute_url() is for the clinic's pages; the admin keeps to its own.
    view_on_site = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def is_locked(self, obj) -> bool:
        return obj is not None and (getattr(obj, "is_signed", False) or obj.is_voided)

    def has_change_permission(self, request, obj=None):
        if self.is_locked(obj):
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        every = [f.name for f in self.model._meta.fields] + [f.name for f in self.model._meta.many_to_many]
        if obj is None or self.is_locked(obj):
            return every
        return [name for name in every if name not in self.editable_fields]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"admin_site_model": self, "request": request})

    def changed_values(self, form) -> dict:
        return {name: form.cleaned_data[name] for name in form.changed_data if name in self.editable_fields}

    def service_save(self, request, form) -> None:
        changes = self.changed_values(form)
        if changes:
            self.update(form.instance, by=request.user, version=form.cleaned_data["opened_version"], **changes)

    def update(self, record, *, by, version, **changes) -> None:
        services.record_update(record=record, by=by, version=version, changes=changes)

    def save_model(self, request, obj, form, change):
        # The service wrote the row during validation (ServiceForm); nothing is saved around it.
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def patients_shown(self, obj) -> list:
        return record_patients(obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None:
                for patient in self.patients_shown(obj):
                    audit_view(actor=request.user, patient=patient, record=obj, detail="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # Staff accounts are managed on their own page, not from inside a clinical record.
        if isinstance(getattr(field, "widget", None), RelatedFieldWidgetWrapper):
            field.widget.can_add_related = field.widget.can_change_related = False
            field.widget.can_delete_related = False
        return field

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "subtitle": self.add_help}
        return super().changelist_view(request, extra_context)


@admin.register(ClinicSettings)
class ClinicSettingsAdmin(SingletonSettingsAdmin):
    list_display = ("clinic_name", "max_iv_mg_per_kg", "max_intranasal_mg", "hold_systolic", "updated_at", "updated_by")
    settings_fields = services.SETTINGS_FIELDS
    update_service = services.clinic_settings_update


@admin.register(Patient)
class PatientAdmin(ClinicalAdmin):
    list_display = ("display_name", "mrn", "date_of_birth", "sex", "preferred_channel", "voided_at")
    list_filter = ("sex", "race_ethnicity", "preferred_channel")
    search_fields = ("mrn", "family_name", "given_name")
    editable_fields = kinds.PATIENT_FIELDS
    add_help = "Patients are registered in the clinic's pages or the API; details are edited here through the service."

    def update(self, record, *, by, version, **changes) -> None:
        services.patient_update(patient=record, by=by, version=version, changes=changes)


@admin.register(WeightMeasurement)
class WeightMeasurementAdmin(ClinicalAdmin):
    list_display = ("patient", "measured_on", "weight_kg", "voided_at")
    list_filter = ("measured_on",)
    date_hierarchy = "measured_on"


@admin.register(Course)
class CourseAdmin(ClinicalAdmin):
    list_display = ("__str__", "patient", "indication", "format", "status", "medical_provider", "created_at")
    list_filter = ("status", "indication", "format")
    date_hierarchy = "created_at"
    editable_fields = ("medical_provider", "planned_dosing_sessions")
    add_help = (
        "Courses are opened, and move between stages, in the clinic's pages or the API. "
        "The care team and the planned number of sessions can be changed here."
    )

    def update(self, record, **kwargs) -> None:
        services.course_update_team(course=record, **kwargs)


@admin.register(CourseStatusChange)
class CourseStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("course", "from_status", "to_status", "changed_at", "changed_by")
    list_filter = ("to_status",)


@admin.register(MedicalEvaluation)
class MedicalEvaluationAdmin(ClinicalAdmin):
    list_display = ("__str__", "course", "decision", "signed_at", "signed_by", "voided_at")
    list_filter = ("decision", ("signed_at", admin.EmptyFieldListFilter))
    editable_fields = kinds.of(MedicalEvaluation).amendable


@admin.register(PsychiatricEvaluation)
class PsychiatricEvaluationAdmin(ClinicalAdmin):
    list_display = ("__str__", "course", "indication", "suicide_risk", "signed_at", "voided_at")
    list_filter = ("indication", "suicide_risk", ("signed_at", admin.EmptyFieldListFilter))
    editable_fields = kinds.of(PsychiatricEvaluation).amendable


@admin.register(PreparatorySession)
class PreparatorySessionAdmin(ClinicalAdmin):
    list_display = ("__str__", "course", "therapist", "held_at", "signed_at", "voided_at")
    list_filter = (("signed_at", admin.EmptyFieldListFilter),)
    date_hierarchy = "held_at"
    editable_fields = kinds.of(PreparatorySession).amendable


@admin.register(IntegrationSession)
class IntegrationSessionAdmin(ClinicalAdmin):
    list_display = ("__str__", "format", "therapist", "held_at", "signed_at", "voided_at")
    list_filter = ("format", ("signed_at", admin.EmptyFieldListFilter))
    date_hierarchy = "held_at"
    editable_fields = kinds.of(IntegrationSession).amendable


class DoseInline(ReadOnlyInline):
    model = Dose
    fields = ("course", "drug", "route", "dose_mg", "dose_mg_per_kg", "dosed_at", "discharged_at", "signed_at")


@admin.register(DosingSession)
class DosingSessionAdmin(ClinicalAdmin):
    list_display = ("__str__", "format", "starts_at", "ends_at", "medical_provider", "signed_at", "voided_at")
    list_filter = ("format", ("signed_at", admin.EmptyFieldListFilter))
    date_hierarchy = "starts_at"
    editable_fields = kinds.of(DosingSession).amendable
    inlines = [DoseInline]


class VitalInline(ReadOnlyInline):
    model = VitalReading
    fields = ("taken_at", "phase", "systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate", "alerts")


@admin.register(Dose)
class DoseAdmin(ClinicalAdmin):
    list_display = ("__str__", "course", "session", "dose_mg_per_kg", "is_maintenance", "dosed_at", "signed_at")
    list_filter = ("drug", "route", "is_maintenance", ("signed_at", admin.EmptyFieldListFilter))
    # The dose service takes these; dosing, overrides and discharge have services of their own.
    editable_fields = kinds.of(Dose).editable
    inlines = [VitalInline]


@admin.register(VitalReading)
class VitalReadingAdmin(ClinicalAdmin):
    list_display = ("taken_at", "dose", "phase", "blood_pressure", "heart_rate", "spo2", "alerts")
    list_filter = ("phase",)
    date_hierarchy = "taken_at"

    def is_locked(self, obj) -> bool:
        # A reading is never edited in place: it is corrected by amendment (with a reason) at the bedside.
        return True


@admin.register(InSessionAlert)
class InSessionAlertAdmin(ReadOnlyAdmin):
    list_display = ("reading", "dose", "alerts", "raised_at", "closed_at", "action")
    list_filter = ("action", ("closed_at", admin.EmptyFieldListFilter))


@admin.register(HoldOverride)
class HoldOverrideAdmin(ReadOnlyAdmin):
    list_display = ("dose", "reading", "overridden_at", "overridden_by")


@admin.register(AdverseEvent)
class AdverseEventAdmin(ClinicalAdmin):
    list_display = ("__str__", "course", "dose", "grade", "serious", "onset_at", "acknowledged_at", "voided_at")
    list_filter = ("serious", "grade", "term", "relatedness", ("acknowledged_at", admin.EmptyFieldListFilter))
    date_hierarchy = "onset_at"
    editable_fields = kinds.of(AdverseEvent).amendable

    def is_locked(self, obj) -> bool:
        signed_dose = obj is not None and obj.dose is not None and obj.dose.is_signed
        return super().is_locked(obj) or signed_dose


@admin.register(Amendment)
class AmendmentAdmin(ReadOnlyAdmin):
    list_display = ("record_type", "record_id", "amended_at", "amended_by")
    list_filter = ("record_type",)
    date_hierarchy = "amended_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_username", "action", "record_type", "record_id", "patient_id", "ip_address")
    list_filter = ("action", "record_type")
    search_fields = ("actor_username", "record_id")
    date_hierarchy = "at"
