"""Issue 11's rules through the services, each on the careless path a busy clinician takes:
a partial set of values, the wrong order, an edit after the fact, a second click, another role.

Numbered as in the issue's "What must hold" (rule 1, one answer per question, is in
test_one_answer.py; the pure arithmetic in test_safety.py)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role, User
from courses import bedside, rules, services
from courses.models import (
    Amendment,
    ClinicSettings,
    Dose,
    HoldOverride,
    InSessionAlert,
    MedicalEvaluation,
    WeightMeasurement,
)
from devtools import builders
from devtools.builders import (
    DISCHARGE_CHECKLIST,
    PASSWORD,
    SERIOUS_EVENT,
    SIGNABLE_EVALUATION,
    monitor,
    normal_vitals,
    prepare_course,
)
from measures import services as measure_services

pytestmark = pytest.mark.django_db


def pre_dose(dose, provider, **values):
    return services.vital_reading_add(dose=dose, by=provider, phase="pre_dose", **normal_vitals(**values))


def codes(dose) -> set[str]:
    """What the dose page lists for this dose now (read afresh, as the page does)."""
    fresh = bedside.doses_for_states(Dose.objects.filter(pk=dose.pk))[0]
    return {b.code for b in bedside.dose_state(fresh, now=timezone.now()).blockers}


def refused(call, **kwargs) -> dict:
    with pytest.raises(ValidationError) as exc:
        call(**kwargs)
    return exc.value.message_dict


# --- 2. vital signs are a full set where it matters -------------------------------------------


def test_a_heart_rate_only_recheck_is_refused_and_the_hold_stays(dose, provider, clock):
    pre_dose(dose, provider, systolic_bp=165, diastolic_bp=100)
    clock.shift(dt.timedelta(minutes=20))
    errors = refused(services.vital_reading_add, dose=dose, by=provider, phase="pre_dose", heart_rate=72)
    assert set(errors) == {"systolic_bp", "diastolic_bp", "spo2"}
    assert "full set" in errors["spo2"][0]
    assert services.pre_dose_hold_active(dose)
    assert "Pre-dose hold" in refused(services.dose_administer, dose=dose, by=provider)["__all__"][0]


def test_only_spo2_before_the_dose_is_refused_and_the_dose_waits_for_a_full_set(dose, provider):
    errors = refused(services.vital_reading_add, dose=dose, by=provider, phase="pre_dose", spo2=97)
    assert {"systolic_bp", "diastolic_bp", "heart_rate"} <= set(errors)
    assert "pre_dose_vitals" in codes(dose)


def test_a_normal_recheck_lifts_the_hold_only_after_the_clinic_interval(dose, provider, clock):
    pre_dose(dose, provider, systolic_bp=165, diastolic_bp=100)
    clock.shift(dt.timedelta(minutes=14))
    pre_dose(dose, provider)
    assert services.pre_dose_hold_active(dose)  # 14 minutes: a retake, not a rest
    clock.shift(dt.timedelta(minutes=1))
    pre_dose(dose, provider)
    hold = services.pre_dose_hold(dose)
    assert not hold.active and hold.lifted_by == "recheck"


def test_editing_the_high_reading_down_is_a_correction_with_a_reason_kept_beside_it(dose, provider):
    high = pre_dose(dose, provider, systolic_bp=165, diastolic_bp=100)
    errors = refused(services.record_update, record=high, by=provider, changes={"systolic_bp": 130})
    assert "amendment" in errors["__all__"][0]
    assert services.pre_dose_hold_active(dose)
    assert "reason" in refused(services.record_amend, record=high, by=provider, changes={"systolic_bp": 130}, reason="")
    # A correction alone does not lift the hold: that takes an override or a full re-check.
    lifts = refused(
        services.record_amend,
        record=high,
        by=provider,
        changes={"systolic_bp": 130, "diastolic_bp": 82},
        reason="Cuff too small; re-measured with the large cuff.",
    )
    assert "would lift the pre-dose hold" in lifts["__all__"][0] and "override" in lifts["__all__"][0]
    assert services.pre_dose_hold_active(dose) and not Amendment.objects.filter(record_id=high.pk).exists()

    override = services.dosing_hold_override(
        dose=dose, by=provider, reason="Typed 165/100 for 130/82; the cuff reading is on the monitor."
    )
    services.record_amend(
        record=high,
        by=provider,
        changes={"systolic_bp": 130, "diastolic_bp": 82},
        reason="Cuff too small; re-measured with the large cuff.",
    )
    high.refresh_from_db()
    assert high.alerts == []
    amendment = Amendment.objects.get(record_id=high.pk)
    assert amendment.changes["systolic_bp"] == {"from": 165, "to": 130}
    override.refresh_from_db()
    assert override.lapsed_at is not None and "Cuff too small" in override.lapsed_why
    assert not services.pre_dose_hold_active(dose)


def test_an_override_lapses_when_its_reading_is_corrected_up(dose, provider):
    """An override is a decision about a reading as it stood: corrected higher, the hold is back."""
    high = pre_dose(dose, provider, systolic_bp=142, diastolic_bp=85)
    services.dosing_hold_override(dose=dose, by=provider, reason="Anxious; home BP normal.")
    assert not services.pre_dose_hold_active(dose)
    services.record_amend(
        record=high, by=provider, changes={"systolic_bp": 179, "diastolic_bp": 109}, reason="Transcribed wrongly."
    )
    assert services.pre_dose_hold_active(dose)
    assert "hold" in codes(dose)


def test_an_override_does_not_stretch_to_a_later_high_reading_moved_earlier(dose, provider, clock):
    first = pre_dose(dose, provider, systolic_bp=145, diastolic_bp=85)
    services.dosing_hold_override(dose=dose, by=provider, reason="Anxious; home BP normal.")
    clock.shift(dt.timedelta(minutes=15))
    later = pre_dose(dose, provider, systolic_bp=178, diastolic_bp=108)
    assert services.pre_dose_hold_active(dose)
    # Moving the later, higher reading before the overridden one would put it under the override.
    moved = refused(
        services.record_amend,
        record=later,
        by=provider,
        changes={"taken_at": first.taken_at - dt.timedelta(minutes=1)},
        reason="Wrong time.",
    )
    assert "would shorten the pre-dose hold" in moved["taken_at"][0]
    # Moving the overridden one after it makes the override lapse: the hold stays.
    services.record_amend(
        record=first, by=provider, changes={"taken_at": timezone.now()}, reason="Taken later than written."
    )
    assert services.pre_dose_hold_active(dose)


def test_a_hold_is_not_lifted_by_voiding_its_reading_or_moving_it_back(dose, provider, clock):
    high = pre_dose(dose, provider, systolic_bp=165, diastolic_bp=100)
    clock.shift(dt.timedelta(minutes=3))
    pre_dose(dose, provider)
    assert services.pre_dose_hold_active(dose)  # the normal set came too soon to lift it
    voided = refused(services.record_void, record=high, by=provider, reason="Entered in error.")
    assert "would lift the pre-dose hold" in voided["__all__"][0]
    moved = refused(
        services.record_amend,
        record=high,
        by=provider,
        changes={"taken_at": high.taken_at - dt.timedelta(minutes=20)},
        reason="Earlier than written.",
    )
    assert "would shorten the pre-dose hold" in moved["taken_at"][0]
    assert services.pre_dose_hold_active(dose)


def test_a_high_reading_filed_as_during_before_the_dose_is_refused(dose, provider):
    errors = refused(
        services.vital_reading_add,
        dose=dose,
        by=provider,
        phase="during",
        **normal_vitals(systolic_bp=165),
    )
    assert "pre-dose" in errors["phase"][0]


def test_a_reading_timed_before_the_dose_cannot_be_during(given_dose, provider):
    errors = refused(
        services.vital_reading_add,
        dose=given_dose,
        by=provider,
        phase="during",
        taken_at=timezone.now() - dt.timedelta(minutes=5),
        **normal_vitals(),
    )
    assert "comes after it" in errors["taken_at"][0]


def test_a_dose_timed_before_its_pre_dose_reading_is_refused(dose, provider):
    pre_dose(dose, provider)
    errors = refused(
        services.dose_administer,
        dose=dose,
        by=provider,
        dosed_at=timezone.now() - dt.timedelta(minutes=5),
    )
    assert "before the pre-dose reading" in errors["dosed_at"][0]


def test_an_override_covers_its_reading_not_a_higher_one_after_it(dose, provider, clock):
    first = pre_dose(dose, provider, systolic_bp=150, diastolic_bp=92)
    services.dosing_hold_override(dose=dose, by=provider, reason="White-coat; home readings normal.")
    assert not services.pre_dose_hold_active(dose)
    clock.shift(dt.timedelta(minutes=5))
    second = pre_dose(dose, provider, systolic_bp=172, diastolic_bp=104)
    assert services.pre_dose_hold_active(dose)
    services.dosing_hold_override(dose=dose, by=provider, reason="Re-weighed the risk: still dosing.")
    assert [o.reading for o in HoldOverride.objects.filter(dose=dose)] == [first, second]
    assert services.dose_administer(dose=dose, by=provider).dosed_at


# --- 3. monitoring and discharge --------------------------------------------------------------


def test_an_alerting_reading_opens_an_alert_that_a_provider_closes_by_saying_what_was_done(
    given_dose, provider, therapist, clock
):
    clock.shift(dt.timedelta(minutes=40))
    reading = services.vital_reading_add(
        dose=given_dose, by=provider, phase="during", **normal_vitals(systolic_bp=185, diastolic_bp=112)
    )
    alert = reading.in_session_alerts.get()
    assert alert.alerts == ["high_bp"] and alert.closed_at is None
    with pytest.raises(PermissionDenied):
        services.in_session_alert_close(alert=alert, by=therapist, action="other", note="Seen.")
    assert (
        "recheck reading first"
        in refused(services.in_session_alert_close, alert=alert, by=provider, action="recheck")["action"][0]
    )
    assert "adverse_event" in refused(services.in_session_alert_close, alert=alert, by=provider, action="adverse_event")
    assert "note" in refused(services.in_session_alert_close, alert=alert, by=provider, action="other", note=" ")
    assert "action" in refused(services.in_session_alert_close, alert=alert, by=provider, action="")
    event = services.adverse_event_add(
        dose=given_dose,
        by=provider,
        term="elevated_bp",
        grade=2,
        relatedness="probable",
        expectedness="expected",
        action_taken="medication_given",
    )
    services.in_session_alert_close(alert=alert, by=provider, action="adverse_event", adverse_event=event)
    alert.refresh_from_db()
    assert (alert.action, alert.adverse_event, alert.closed_by) == ("adverse_event", event, provider)
    assert (
        "already been closed"
        in refused(services.in_session_alert_close, alert=alert, by=provider, action="other", note="again")["__all__"][
            0
        ]
    )


def test_slow_breathing_alerts(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=30))
    reading = services.vital_reading_add(
        dose=given_dose, by=provider, phase="during", **normal_vitals(respiratory_rate=8)
    )
    assert reading.alerts == ["low_rr"] and reading.in_session_alerts.get().closed_at is None


def test_an_alerting_reading_is_voided_or_corrected_only_once_its_alert_says_what_was_done(given_dose, provider, clock):
    """A correction or a void would otherwise make the alert (and the discharge exception it
    leads to) disappear without a word of what was done."""
    clock.shift(dt.timedelta(minutes=30))
    reading = services.vital_reading_add(dose=given_dose, by=provider, phase="during", **normal_vitals(heart_rate=135))
    why = "Typed into the wrong patient's record."
    errors = refused(services.record_void, record=reading, by=provider, reason=why)
    assert "alert is still open" in errors["__all__"][0]
    errors = refused(services.record_amend, record=reading, by=provider, changes={"heart_rate": 85}, reason=why)
    assert "Record what was done first" in errors["__all__"][0]
    alert = InSessionAlert.objects.get(reading=reading)
    services.in_session_alert_close(alert=alert, by=provider, action="other", note=why)
    services.record_void(record=reading, by=provider, reason=why)
    alert.refresh_from_db()
    assert (alert.action, alert.note) == ("other", why)


def test_an_open_alert_holds_the_discharge_and_the_signature(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=40))
    services.vital_reading_add(dose=given_dose, by=provider, phase="during", **normal_vitals(spo2=89))
    clock.shift(dt.timedelta(minutes=30))
    services.vital_reading_add(dose=given_dose, by=provider, phase="pre_discharge", **normal_vitals())
    errors = refused(services.dose_discharge, dose=given_dose, by=provider, **DISCHARGE_CHECKLIST)
    assert any("still open" in m for m in errors["__all__"])


def test_discharge_with_an_alerting_pre_discharge_set_needs_a_documented_exception(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=65))
    reading = monitor(given_dose, provider, final={"systolic_bp": 182, "diastolic_bp": 111})
    services.in_session_alert_close(
        alert=reading.in_session_alerts.get(), by=provider, action="other", note="Asymptomatic."
    )
    errors = refused(services.dose_discharge, dose=given_dose, by=provider, **DISCHARGE_CHECKLIST)
    assert "document why discharge is safe" in errors["exception_reason"][0]
    done = services.dose_discharge(
        dose=given_dose,
        by=provider,
        exception_reason="Treated hypertension, usual level; escort briefed; GP informed.",
        **DISCHARGE_CHECKLIST,
    )
    assert done.discharged_at and not done.discharge_vitals_acceptable
    assert done.discharge_exception_reason.startswith("Treated hypertension")


def test_an_exception_is_refused_when_the_vitals_are_within_the_limits(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=65))
    monitor(given_dose, provider)
    errors = refused(
        services.dose_discharge,
        dose=given_dose,
        by=provider,
        exception_reason="Just in case.",
        **DISCHARGE_CHECKLIST,
    )
    assert "no exception is needed" in errors["exception_reason"][0]


def test_a_ticked_box_is_not_a_pre_discharge_reading(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=65))
    services.vital_reading_add(
        dose=given_dose,
        by=provider,
        phase="during",
        taken_at=timezone.now() - dt.timedelta(minutes=25),
        **normal_vitals(),
    )
    errors = refused(services.dose_discharge, dose=given_dose, by=provider, **DISCHARGE_CHECKLIST)
    assert any("full set of vital signs before discharge" in m for m in errors["__all__"])


def test_no_reading_after_discharge(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=65))
    monitor(given_dose, provider)
    services.dose_discharge(dose=given_dose, by=provider, **DISCHARGE_CHECKLIST)
    errors = refused(services.vital_reading_add, dose=given_dose, by=provider, phase="during", **normal_vitals())
    assert "discharged" in errors["__all__"][0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("monitoring_minutes_esketamine", 90, "at least 120"), ("monitoring_minutes_other", 30, "at least 40")],
)
def test_minimum_monitoring_cannot_go_below_the_label(lead, field, value, message):
    assert message in refused(services.clinic_settings_update, by=lead, changes={field: value})[field][0]


# --- 4. dose spacing and amount ---------------------------------------------------------------


def _discharge_now(dose, provider, clock):
    clock.shift(dt.timedelta(minutes=65))
    monitor(dose, provider)
    return services.dose_discharge(dose=dose, by=provider, **DISCHARGE_CHECKLIST)


def test_a_second_dose_waits_for_the_discharge_and_the_clinic_interval(dose, ready_course, therapist, provider, clock):
    # Booked ahead, before any dose was given: the second session 4 hours after the first.
    later = builders.session(therapist=therapist, provider=provider, start=timezone.now() + dt.timedelta(hours=4))
    second = builders.dose_planned(session=later, course=ready_course, provider=provider)
    pre_dose(dose, provider)
    services.dose_administer(dose=dose, by=provider)
    clock.shift(dt.timedelta(hours=4, minutes=5))
    pre_dose(second, provider)
    assert {"previous_not_discharged", "too_soon"} <= codes(second)
    errors = " ".join(refused(services.dose_administer, dose=second, by=provider)["course"])
    assert "has not been discharged" in errors and "minimum interval between doses is 24 hours" in errors


def test_a_session_that_ends_before_the_interval_cannot_take_the_next_dose(
    given_dose, ready_course, therapist, provider
):
    tomorrow_early = builders.session(
        therapist=therapist, provider=provider, start=timezone.now() + dt.timedelta(hours=18), hours=3
    )
    errors = refused(builders.dose_planned, session=tomorrow_early, course=ready_course, provider=provider)
    assert "minimum interval is 24 hours" in errors["course"][0]


def test_a_dose_24_hours_after_a_discharged_one_is_allowed(given_dose, ready_course, therapist, provider, clock):
    _discharge_now(given_dose, provider, clock)
    tomorrow = builders.session(
        therapist=therapist, provider=provider, start=given_dose.dosed_at + dt.timedelta(hours=24)
    )
    second = builders.dose_planned(session=tomorrow, course=ready_course, provider=provider)
    clock.move_to(tomorrow.starts_at + dt.timedelta(minutes=5))
    pre_dose(second, provider)
    assert codes(second) == set()


def test_a_typed_weight_is_refused_and_a_weight_measured_now_is_recorded(ready_course, dosing_session, provider):
    errors = refused(
        builders.dose_planned, session=dosing_session, course=ready_course, provider=provider, weight_kg=Decimal("110")
    )
    assert "recorded weight is 70.0 kg" in errors["weight_kg"][0] and "weighed now" in errors["weight_kg"][0]
    dose = builders.dose_planned(
        session=dosing_session, course=ready_course, provider=provider, weight_kg=Decimal("68.5"), weighed_now=True
    )
    assert dose.weight_kg == Decimal("68.5") and dose.weight_measurement.measured_on == timezone.localdate()
    assert dose.dose_mg_per_kg == Decimal("0.511")
    assert WeightMeasurement.objects.filter(patient=ready_course.patient).count() == 2


def test_a_weight_older_than_the_clinic_accepts_is_refused(ready_course, therapist, provider, clock):
    later = builders.session(therapist=therapist, provider=provider, start=timezone.now() + dt.timedelta(days=31))
    errors = refused(builders.dose_planned, session=later, course=ready_course, provider=provider)
    assert "31 days ago" in errors["weight_kg"][0]


def test_any_reason_does_not_unlock_a_dose_above_the_ceiling(ready_course, dosing_session, provider):
    errors = refused(
        builders.dose_planned,
        session=dosing_session,
        course=ready_course,
        provider=provider,
        dose_mg=Decimal("1000"),
        over_maximum_reason="Protocol says so.",
    )
    assert "absolute ceiling" in errors["dose_mg"][0] and "no reason allows it" in errors["dose_mg"][0]
    dose = builders.dose_planned(
        session=dosing_session,
        course=ready_course,
        provider=provider,
        dose_mg=Decimal("140"),
        over_maximum_reason="Titration per protocol; 2.0 mg/kg is the clinic ceiling.",
    )
    assert (dose.dose_mg_per_kg, dose.protocol_ceiling) == (Decimal("2.000"), Decimal("2.00"))


def test_the_ceiling_cannot_be_set_below_the_maximum(lead):
    assert (
        "at least its maximum"
        in refused(services.clinic_settings_update, by=lead, changes={"ceiling_iv_mg_per_kg": Decimal("0.8")})[
            "ceiling_iv_mg_per_kg"
        ][0]
    )


# --- 5. the screen ------------------------------------------------------------------------------


def _screen(**answers):
    base = {k: v for k, v in SIGNABLE_EVALUATION.items() if k not in rules.SCREEN_NOTHING_FOUND}
    return {**base, **answers}


def test_a_screen_cleared_without_answers_is_refused_item_by_item(course, provider):
    errors = refused(services.medical_evaluation_add, course=course, by=provider, decision="cleared", **_screen())
    assert set(errors) == {*rules.ABSOLUTE_ITEMS, *rules.CAUTION_ITEMS, rules.CHILDBEARING_FIELD}
    assert not MedicalEvaluation.objects.exists()
    draft = services.medical_evaluation_add(course=course, by=provider, decision="pending", **_screen())
    assert draft.ci_pregnancy == "" and "decision" in refused(services.record_sign, record=draft, by=provider)


def test_unknown_cannot_be_cleared(course, provider):
    errors = refused(
        services.medical_evaluation_add,
        course=course,
        by=provider,
        decision="cleared_with_cautions",
        caution_note="Will ask the cardiologist.",
        **{**SIGNABLE_EVALUATION, "caution_cardio_cerebrovascular": "unknown"},
    )
    assert "'Unknown' cannot be cleared" in errors["caution_cardio_cerebrovascular"][0]


def test_a_baseline_of_200_over_120_needs_the_hypertension_caution(course, provider):
    high = {**SIGNABLE_EVALUATION, "systolic_bp": 200, "diastolic_bp": 120}
    errors = refused(services.medical_evaluation_add, course=course, by=provider, decision="cleared", **high)
    assert "200/120" in errors["caution_uncontrolled_hypertension"][0]
    evaluation = services.medical_evaluation_add(
        course=course,
        by=provider,
        decision="cleared_with_cautions",
        caution_note="Amlodipine started; re-check before the first dose (the pre-dose hold applies).",
        **{**high, "caution_uncontrolled_hypertension": "yes"},
    )
    assert evaluation.decision == "cleared_with_cautions"


def test_recent_suicidality_needs_a_psychiatric_risk_level_and_plan(course, provider, therapist):
    evaluation = services.medical_evaluation_add(
        course=course,
        by=provider,
        decision="cleared_with_cautions",
        caution_note="Attempt 3 months ago; see the psychiatric risk plan.",
        **{**SIGNABLE_EVALUATION, "caution_recent_suicidality": "yes"},
    )
    services.record_sign(record=evaluation, by=provider)
    psych = services.psychiatric_evaluation_add(
        course=course, by=therapist, evaluated_on=dt.date(2026, 3, 2), diagnosis="MDD", suicide_risk="low"
    )
    services.record_sign(record=psych, by=therapist)
    state = bedside.course_state(course)
    assert not state.cleared and "suicidality_unaddressed" in {b.code for b in state.blockers}
    services.record_amend(
        record=psych,
        by=therapist,
        changes={"suicide_risk": "moderate", "risk_plan": "Weekly check-ins; crisis line; partner aware."},
        reason="Risk re-rated after reading the medical screen.",
    )
    assert bedside.course_state(course).cleared


def test_a_screen_older_than_a_year_blocks_a_maintenance_dose_until_a_re_screen(
    ready_course, therapist, provider, clock
):
    clock.move_to(dt.datetime(2027, 3, 5, 15, 0, tzinfo=dt.UTC))
    services.weight_add(patient=ready_course.patient, by=provider, measured_on=dt.date(2027, 3, 5), weight_kg=70)
    session = builders.session(therapist=therapist, provider=provider)
    errors = refused(builders.dose_planned, session=session, course=ready_course, provider=provider)
    assert "expired on 2027-03-01" in errors["course"][0]
    new = services.medical_evaluation_add(
        course=ready_course,
        by=provider,
        decision="cleared",
        **{**SIGNABLE_EVALUATION, "evaluated_on": dt.date(2027, 3, 5)},
    )
    services.record_sign(record=new, by=provider)
    old = MedicalEvaluation.objects.exclude(pk=new.pk).get()
    assert old.superseded_by == new and not old.is_voided
    assert builders.dose_planned(session=session, course=ready_course, provider=provider)


def test_childbearing_potential_needs_a_negative_test_before_each_dose(course, therapist, provider, dosing_session):
    builders.clear_course(course, provider, therapist, diagnosis="MDD", childbearing_potential="yes")
    prepare_course(course, therapist)
    dose = builders.dose_planned(
        session=dosing_session, course=course, provider=provider, pregnancy_test="not_applicable"
    )
    pre_dose(dose, provider)
    errors = refused(services.dose_administer, dose=dose, by=provider)
    assert "negative pregnancy test" in errors["pregnancy_test"][0]
    services.record_update(record=dose, by=provider, changes={"pregnancy_test": "negative"})
    assert services.dose_administer(dose=dose, by=provider).dosed_at


def test_a_12_year_old_starts_a_course_only_on_a_leads_documented_exception(therapist, provider, lead):
    child = services.patient_register(
        by=therapist,
        mrn="TEST-0012",
        given_name="Kid",
        family_name="Minor-Demo",
        date_of_birth=dt.date(2014, 1, 5),
        sex="male",
        email="kid@example.invalid",
    )
    team = {"indication": "mdd_trd", "therapists": [therapist], "medical_provider": provider}
    errors = refused(services.course_open, patient=child, by=therapist, **team)
    assert "is 12, under the clinic's minimum age of 18" in errors["age_exception_reason"][0]
    with pytest.raises(PermissionDenied):
        services.course_open(patient=child, by=therapist, age_exception_reason="Adolescent service.", **team)
    course = services.course_open(
        patient=child, by=lead, age_exception_reason="Adolescent programme approved by the ethics board.", **team
    )
    assert (course.age_exception_by, course.age_exception_reason) == (
        lead,
        "Adolescent programme approved by the ethics board.",
    )


def test_a_date_of_birth_corrected_to_a_minor_blocks_the_dose_until_the_exception(
    dose, ready_course, provider, therapist, lead
):
    patient = ready_course.patient
    errors = refused(
        services.patient_update, patient=patient, by=therapist, changes={"date_of_birth": dt.date(2010, 1, 1)}
    )
    assert "minimum-age rule" in errors["reason"][0]
    services.patient_update(
        patient=patient,
        by=therapist,
        reason="Registered with a parent's DOB.",
        changes={"date_of_birth": dt.date(2010, 1, 1)},
    )
    correction = Amendment.objects.get(record_type="patient", record_id=patient.pk)
    assert correction.changes["date_of_birth"]["to"] == "2010-01-01" and correction.reason
    pre_dose(dose, provider)
    assert "under_age" in codes(dose)
    with pytest.raises(PermissionDenied):
        services.course_age_exception(course=ready_course, by=therapist, reason="x")
    services.course_age_exception(course=ready_course, by=lead, reason="Transition-age programme; guardian consented.")
    assert codes(dose) == set()


# --- 6. before the first dose ---------------------------------------------------------------------


def test_the_first_dose_waits_for_preparation_and_the_baseline(cleared_course, dosing_session, provider, therapist):
    dose = builders.dose_planned(session=dosing_session, course=cleared_course, provider=provider)
    pre_dose(dose, provider)
    assert {"preparation_missing", "baseline_open"} <= codes(dose)
    errors = refused(services.dose_administer, dose=dose, by=provider)
    assert any("Baseline questionnaires not answered: GAD-7, PCL-5, PHQ-9" in m for m in errors["course"])
    prepare_course(cleared_course, therapist)
    waived = cleared_course.administrations.filter(timepoint="baseline")
    assert {(a.status, a.waived_by_id) for a in waived} == {("waived", therapist.pk)}
    assert services.dose_administer(dose=dose, by=provider).dosed_at


# --- 7. roles ----------------------------------------------------------------------------------------


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@kapclinic.invalid", PASSWORD)


def test_an_administrator_without_a_clinical_role_cannot_clear_override_dose_or_sign(dose, course, therapist, root):
    pre_dose(dose, dose.session.medical_provider, systolic_bp=160)
    note = services.preparatory_session_add(course=course, by=therapist, held_at=timezone.now(), note="Prep.")
    for call, kwargs in (
        (services.medical_evaluation_add, {"course": course, "decision": "cleared", **SIGNABLE_EVALUATION}),
        (services.dosing_hold_override, {"dose": dose, "reason": "Because."}),
        (services.dose_administer, {"dose": dose}),
        (services.record_sign, {"record": note}),
        (services.adverse_event_acknowledge, {"event": None, "note": "x"}),
    ):
        with pytest.raises(PermissionDenied) as exc:
            call(by=root, **kwargs)
        assert "without a clinical role" in str(exc.value) or "Only a" in str(exc.value)
    assert not HoldOverride.objects.exists()


def test_an_administrator_still_administers_but_does_not_set_clinical_limits(root, lead):
    member = services.staff_create(by=root, username="newhire", password=PASSWORD + "x", role=Role.THERAPIST)
    assert member.role == Role.THERAPIST
    with pytest.raises(PermissionDenied) as exc:
        services.clinic_settings_update(
            by=root, changes={"max_im_mg_per_kg": Decimal("1.5"), "ceiling_im_mg_per_kg": Decimal("3")}
        )
    assert "Administrator accounts without a clinical role" in str(exc.value)
    with pytest.raises(PermissionDenied):
        measure_services.measure_settings_update(by=root, changes={"safety_alert_escalation_hours": 72})
    services.clinic_settings_update(by=lead, changes={"hold_recheck_minutes": 20})


def test_a_route_maximum_or_ceiling_cannot_be_typed_beyond_belief(lead):
    errors = refused(
        services.clinic_settings_update,
        by=lead,
        changes={"max_im_mg_per_kg": Decimal("999"), "ceiling_im_mg_per_kg": Decimal("999")},
    )
    assert "At most 2.00 mg/kg" in errors["max_im_mg_per_kg"][0]
    assert ClinicSettings.load().max_im_mg_per_kg == Decimal("1.00")


def test_a_practice_lead_cannot_deactivate_an_administrator(lead, root):
    with pytest.raises(PermissionDenied):
        services.staff_set_active(by=lead, user=root, active=False)
    root.refresh_from_db()
    assert root.is_active


def test_only_the_author_or_a_lead_voids_a_signed_note(cleared_course, therapist, other_therapist, lead):
    cleared_course.therapists.add(other_therapist)
    note = services.preparatory_session_add(
        course=cleared_course, by=therapist, held_at=timezone.now(), note="Set and setting."
    )
    services.record_sign(record=note, by=therapist)
    with pytest.raises(PermissionDenied) as exc:
        services.record_void(record=note, by=other_therapist, reason="Looks wrong.")
    assert "only its author or a practice lead" in str(exc.value)
    services.record_void(record=note, by=lead, reason="Entered on the wrong course.")
    note.refresh_from_db()
    assert note.voided_by == lead


# --- 8. alerts are closed loops ------------------------------------------------------------------


def test_a_serious_event_is_acknowledged_with_what_was_done(given_dose, provider, lead):
    event = services.adverse_event_add(dose=given_dose, by=provider, **SERIOUS_EVENT)
    assert "Say what was done" in refused(services.adverse_event_acknowledge, event=event, by=lead, note=" ")["note"][0]
    services.adverse_event_acknowledge(event=event, by=lead, note="Called the ED; admitted; follow-up booked.")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"grade": 5, "serious_criteria": ["death"], "outcome": "resolved"}, "outcome"),
        ({"grade": 5, "serious_criteria": ["life_threatening"], "outcome": "fatal"}, "serious_criteria"),
        ({"grade": 4, "serious_criteria": ["death"], "outcome": "fatal"}, "grade"),
        ({"grade": 4, "outcome": "fatal"}, "grade"),
    ],
)
def test_grade_5_death_and_a_fatal_outcome_go_together(given_dose, provider, changes, field):
    errors = refused(services.adverse_event_add, dose=given_dose, by=provider, **{**SERIOUS_EVENT, **changes})
    assert field in errors


def test_expectedness_is_asked(given_dose, provider):
    event = {k: v for k, v in SERIOUS_EVENT.items() if k != "expectedness"}
    assert "expected" in refused(services.adverse_event_add, dose=given_dose, by=provider, **event)["expectedness"][0]


def test_a_therapist_reports_an_event_heard_of_at_integration(given_dose, therapist, lead):
    course = given_dose.course
    event = services.adverse_event_add(
        course=course,
        by=therapist,
        term="anxiety_panic",
        grade=2,
        relatedness="possible",
        expectedness="expected",
        onset_at=timezone.now() - dt.timedelta(days=1),
        description="Panic the evening after the session; settled by morning.",
    )
    assert event.dose is None and event.course == course
    assert event in course.adverse_events.all()
