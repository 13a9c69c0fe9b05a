"""The admin: every model opens, nothing is deleted, locked records are read-only, edits go through services."""

import datetime as dt

import pytest
from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from courses import services
from courses.models import (
    AdverseEvent,
    AuditEvent,
    ClinicSettings,
    Course,
    MedicalEvaluation,
)
from devtools.builders import PASSWORD, SIGNABLE_EVALUATION, monitor, normal_vitals

pytestmark = pytest.mark.django_db

COURSE_MODELS = [m for m in admin.site._registry if m._meta.app_label == "courses"]


@pytest.fixture
def superuser(db):
    # An administrator who is also a medical provider: the clinical edits below are theirs to make.
    # One without a clinical role administers but does not write the record (test at the end).
    return User.objects.create_superuser("root", "root@kapclinic.invalid", PASSWORD, role=Role.MEDICAL_PROVIDER)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def everything(dose, provider, therapist, clock):
    """One row of every model: a signed dose with vitals, a hold overridden, an alert closed, an
    event, notes, an amendment."""
    services.vital_reading_add(dose=dose, by=provider, phase="pre_dose", **normal_vitals(systolic_bp=150))
    services.dosing_hold_override(dose=dose, by=provider, reason="White-coat; home BP normal.")
    given_dose = services.dose_administer(dose=dose, by=provider)
    course = given_dose.course
    clock.shift(dt.timedelta(minutes=30))
    alerting = services.vital_reading_add(dose=given_dose, by=provider, phase="during", **normal_vitals(heart_rate=130))
    services.in_session_alert_close(
        alert=alerting.in_session_alerts.get(), by=provider, action="other", note="Settled."
    )
    clock.shift(dt.timedelta(minutes=30))
    monitor(given_dose, provider)
    services.adverse_event_add(
        dose=given_dose,
        by=provider,
        term="nausea",
        grade=1,
        relatedness="probable",
        expectedness="expected",
    )
    services.dose_discharge(
        dose=given_dose,
        by=provider,
        alert_oriented=True,
        escort_present=True,
        no_driving_advised=True,
    )
    services.record_sign(record=given_dose, by=provider)
    services.preparatory_session_add(course=course, by=therapist, held_at=clock_now(), note="Set and setting.")
    services.course_change_status(course=course, by=therapist, to_status="integration")
    services.integration_session_add(courses=[course], by=therapist, held_at=clock_now(), note="Journaling.")
    services.record_amend(
        record=course.medical_evaluations.get(), by=provider, changes={"spo2": 97}, reason="Re-read the monitor."
    )
    ClinicSettings.load()
    return given_dose


def clock_now():
    return timezone.now()


def _url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_course_model_is_registered():
    names = {m._meta.model_name for m in COURSE_MODELS}
    assert {
        "patient",
        "course",
        "dose",
        "vitalreading",
        "adverseevent",
        "auditevent",
        "amendment",
        "holdoverride",
        "insessionalert",
    } <= names
    assert len(names) == 17


@pytest.mark.parametrize("model", COURSE_MODELS, ids=lambda m: m._meta.model_name)
def test_changelist_and_change_page_open(admin_client, everything, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    obj = model.objects.first()
    assert obj is not None, model
    response = admin_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert b'class="deletelink"' not in response.content
    assert b"delete-related" not in response.content


@pytest.mark.parametrize("model", COURSE_MODELS, ids=lambda m: m._meta.model_name)
def test_nothing_is_deleted_or_added_in_the_admin(admin_client, everything, model):
    obj = model.objects.first()
    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
    assert admin_client.get(_url(model, "add")).status_code == 403
    changelist = admin_client.get(_url(model, "changelist"))
    assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)


def test_the_accounts_admin_opens(admin_client, therapist):
    assert admin_client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:accounts_user_change", args=[therapist.pk])).status_code == 200


def test_a_signed_record_has_no_editable_inputs(admin_client, cleared_course):
    evaluation = cleared_course.medical_evaluations.get()
    response = admin_client.get(_url(MedicalEvaluation, "change", evaluation.pk))
    html = response.content.decode()
    for name in ("history", "decision", "ci_pregnancy", "systolic_bp"):
        assert f'name="{name}"' not in html
    assert 'name="_save"' not in html
    before = MedicalEvaluation.objects.get(pk=evaluation.pk).history
    assert admin_client.post(_url(MedicalEvaluation, "change", evaluation.pk), {"history": "x"}).status_code == 403
    assert MedicalEvaluation.objects.get(pk=evaluation.pk).history == before


def _form_data(response) -> dict:
    """The change form's current values, as a browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data


@pytest.fixture
def unsigned_evaluation(course, provider):
    return services.medical_evaluation_add(course=course, by=provider, **SIGNABLE_EVALUATION)


def test_an_admin_edit_that_breaks_a_rule_shows_the_error_and_saves_nothing(admin_client, unsigned_evaluation):
    url = _url(MedicalEvaluation, "change", unsigned_evaluation.pk)
    data = _form_data(admin_client.get(url))
    data.update(decision="cleared", ci_pregnancy="yes", childbearing_potential="yes")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "cannot be cleared" in response.content.decode()
    row = MedicalEvaluation.objects.get(pk=unsigned_evaluation.pk)
    assert (row.decision, row.ci_pregnancy) == ("pending", "no")


def test_an_administrator_without_a_clinical_role_cannot_edit_the_record(client, unsigned_evaluation):
    root = User.objects.create_superuser("root2", "root2@kapclinic.invalid", PASSWORD)
    client.force_login(root)
    url = _url(MedicalEvaluation, "change", unsigned_evaluation.pk)
    data = _form_data(client.get(url))
    data.update(decision="cleared")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Administrator accounts without a clinical role" in response.content.decode()
    assert MedicalEvaluation.objects.get(pk=unsigned_evaluation.pk).decision == "pending"


def test_an_admin_edit_goes_through_the_service_and_is_audited(admin_client, unsigned_evaluation, superuser):
    url = _url(MedicalEvaluation, "change", unsigned_evaluation.pk)
    data = _form_data(admin_client.get(url))
    data.update(decision="cleared", history="Mild asthma.")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = MedicalEvaluation.objects.get(pk=unsigned_evaluation.pk)
    assert (row.decision, row.history) == ("cleared", "Mild asthma.")
    event = AuditEvent.objects.filter(action="update", actor=superuser).get()
    assert event.record_id == str(row.pk) and "decision" in event.detail


def test_opening_a_patient_record_is_audited(admin_client, unsigned_evaluation, superuser):
    admin_client.get(_url(MedicalEvaluation, "change", unsigned_evaluation.pk), REMOTE_ADDR="192.0.2.9")
    event = AuditEvent.objects.filter(action="view", actor=superuser).get()
    assert event.patient == unsigned_evaluation.course.patient
    assert event.ip_address == "192.0.2.9"


def test_clinic_settings_are_changed_through_the_service(admin_client, superuser, client):
    settings = ClinicSettings.load()
    url = _url(ClinicSettings, "change", settings.pk)
    data = _form_data(admin_client.get(url))
    data.update(hold_systolic=150)
    # Clinical limits are the practice lead's: an administrator who is a provider is refused, by name.
    assert "Only a practice lead can" in admin_client.post(url, data).content.decode()
    lead = User.objects.create_superuser("leadroot", "lead@kapclinic.invalid", PASSWORD, role=Role.PRACTICE_LEAD)
    admin_client.force_login(lead)
    data.update(hold_systolic=250)
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "below the intra-session alert" in response.content.decode()
    data.update(hold_systolic=150)
    assert admin_client.post(url, data).status_code == 302
    settings.refresh_from_db()
    assert (settings.hold_systolic, settings.updated_by) == (150, lead)


def test_patient_details_are_changed_through_the_service(admin_client, patient):
    from courses.models import Patient

    url = _url(Patient, "change", patient.pk)
    data = _form_data(admin_client.get(url))
    data.update(date_of_birth="2999-01-01")
    response = admin_client.post(url, data)
    assert "cannot be in the future" in response.content.decode()
    data.update(date_of_birth="1980-05-18")
    assert admin_client.post(url, data).status_code == 302
    assert str(Patient.objects.get(pk=patient.pk).date_of_birth) == "1980-05-18"


def test_an_adverse_event_under_a_signed_dose_is_read_only(admin_client, everything):
    event = AdverseEvent.objects.get()
    html = admin_client.get(_url(AdverseEvent, "change", event.pk)).content.decode()
    assert 'name="grade"' not in html


def test_a_course_is_not_moved_between_stages_in_the_admin(admin_client, course):
    html = admin_client.get(_url(Course, "change", course.pk)).content.decode()
    assert 'name="status"' not in html
    assert 'name="planned_dosing_sessions"' in html


def test_an_admin_save_over_a_newer_change_is_refused_not_written(admin_client, unsigned_evaluation, provider):
    url = _url(MedicalEvaluation, "change", unsigned_evaluation.pk)
    data = _form_data(admin_client.get(url))
    assert data["opened_version"] == 1
    services.record_update(
        record=unsigned_evaluation, by=provider, version=1, changes={"history": "Written on the ward."}
    )
    data.update(history="Written in the admin from the old page.")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "after you opened it" in html and "Open the record again to see the change." in html
    assert MedicalEvaluation.objects.get(pk=unsigned_evaluation.pk).history == "Written on the ward."
    # The same page saved again is refused again: only a freshly opened page can write.
    assert admin_client.post(url, data).status_code == 200
    fresh = _form_data(admin_client.get(url))
    fresh.update(history="Written in the admin after reopening.")
    assert admin_client.post(url, fresh).status_code == 302
    assert MedicalEvaluation.objects.get(pk=unsigned_evaluation.pk).history == "Written in the admin after reopening."


@pytest.mark.parametrize("version", ["", "x", "9" * 30])
def test_an_admin_save_without_a_readable_version_is_a_conflict(admin_client, patient, version):
    from courses.models import Patient

    url = _url(Patient, "change", patient.pk)
    data = _form_data(admin_client.get(url))
    data.update(opened_version=version, given_name="Changed")
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "after you opened it" in response.content.decode()
    assert Patient.objects.get(pk=patient.pk).given_name == patient.given_name


def test_the_admin_refuses_text_over_the_fields_limit(admin_client, unsigned_evaluation):
    url = _url(MedicalEvaluation, "change", unsigned_evaluation.pk)
    data = _form_data(admin_client.get(url))
    data.update(history="h" * 20_001)
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "at most 20000 characters" in response.content.decode()
    assert MedicalEvaluation.objects.get(pk=unsigned_evaluation.pk).history == ""
