"""Dosing: route maxima, vitals and the pre-dose hold, group size, overlap, discharge, stages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from courses import services
from courses.choices import CourseStatus, SessionFormat, VitalAlert, VitalPhase
from courses.models import Dose, VitalReading
from devtools import builders
from devtools.builders import DISCHARGE_CHECKLIST, monitor, normal_vitals

pytestmark = pytest.mark.django_db


# --- the route maximum ------------------------------------------------------------------------


def test_iv_dose_at_the_maximum_needs_no_reason(dosing_session, cleared_course, provider):
    dose = builders.dose_planned(
        session=dosing_session, course=cleared_course, provider=provider, dose_mg=Decimal("70")
    )
    assert dose.dose_mg_per_kg == Decimal("1.000")
    assert (dose.protocol_maximum, dose.protocol_maximum_unit) == (Decimal("1.00"), "mg/kg")
    assert not dose.is_over_maximum


def test_iv_dose_above_the_maximum_needs_a_reason(dosing_session, cleared_course, provider):
    with pytest.raises(ValidationError) as exc:
        builders.dose_planned(session=dosing_session, course=cleared_course, provider=provider, dose_mg=Decimal("70.1"))
    message = exc.value.message_dict["over_maximum_reason"][0]
    assert "1.001 mg/kg" in message and "1.00 mg/kg" in message
    dose = builders.dose_planned(
        session=dosing_session,
        course=cleared_course,
        provider=provider,
        dose_mg=Decimal("70.1"),
        over_maximum_reason="Partial response at 1.0 mg/kg; titrating per protocol.",
    )
    dose.refresh_from_db()
    assert dose.is_over_maximum and dose.protocol_maximum == Decimal("1.00")


def test_intranasal_maximum_is_in_mg(dosing_session, cleared_course, provider):
    with pytest.raises(ValidationError) as exc:
        builders.dose_planned(
            session=dosing_session,
            course=cleared_course,
            provider=provider,
            drug="esketamine",
            route="intranasal",
            dose_mg=Decimal("84.1"),
        )
    assert "84.1 mg" in exc.value.message_dict["over_maximum_reason"][0]
    dose = builders.dose_planned(
        session=dosing_session,
        course=cleared_course,
        provider=provider,
        drug="esketamine",
        route="intranasal",
        dose_mg=Decimal("84"),
    )
    assert (dose.protocol_maximum, dose.protocol_maximum_unit) == (Decimal("84"), "mg")
    assert not dose.is_over_maximum


def test_the_maximum_in_force_stays_on_the_row_when_the_clinic_changes_it(dose, lead):
    services.clinic_settings_update(by=lead, changes={"max_iv_mg_per_kg": Decimal("0.75")})
    dose.refresh_from_db()
    assert dose.protocol_maximum == Decimal("1.00")


def test_esketamine_is_intranasal_only(dosing_session, cleared_course, provider):
    with pytest.raises(ValidationError) as exc:
        builders.dose_planned(session=dosing_session, course=cleared_course, provider=provider, drug="esketamine")
    assert "intranasal" in exc.value.message_dict["route"][0].lower()


# --- vitals, the pre-dose hold, intra-session alerts ------------------------------------------


@pytest.mark.parametrize(
    "field, value, expected",
    [("systolic_bp", 261, "50–260 mmHg"), ("spo2", 101, "50–100 %"), ("respiratory_rate", 3, "4–60 /min")],
)
def test_implausible_vitals_are_refused_naming_the_range(dose, provider, field, value, expected):
    with pytest.raises(ValidationError) as exc:
        services.vital_reading_add(dose=dose, by=provider, phase=VitalPhase.PRE_DOSE, **normal_vitals(**{field: value}))
    assert expected in exc.value.message_dict[field][0]
    assert not VitalReading.objects.exists()


def test_pre_dose_hold_blocks_the_dose_until_overridden(dose, provider):
    reading = builders.pre_dose_vitals(dose, provider, systolic_bp=141)
    assert reading.alerts == [VitalAlert.PRE_DOSE_HOLD]
    with pytest.raises(ValidationError) as exc:
        services.dose_administer(dose=dose, by=provider)
    assert "Pre-dose hold" in exc.value.messages[0]

    with pytest.raises(ValidationError) as exc:
        services.dosing_hold_override(dose=dose, by=provider, reason="  ")
    assert "reason" in exc.value.message_dict

    override = services.dosing_hold_override(dose=dose, by=provider, reason="White-coat; home readings 125/80.")
    assert (override.reading, override.overridden_by) == (reading, provider)
    dosed = services.dose_administer(dose=dose, by=provider)
    assert dosed.dosed_at == timezone.now()


def test_a_reading_at_the_hold_threshold_does_not_hold(dose, provider):
    builders.pre_dose_vitals(dose, provider, systolic_bp=140, diastolic_bp=90)
    assert services.dose_administer(dose=dose, by=provider).dosed_at is not None


def test_a_normal_recheck_lifts_the_hold(dose, provider, clock):
    builders.pre_dose_vitals(dose, provider, systolic_bp=152)
    clock.shift(dt.timedelta(minutes=15))
    builders.pre_dose_vitals(dose, provider, systolic_bp=134)
    assert not services.pre_dose_hold_active(dose)
    assert services.dose_administer(dose=dose, by=provider).dosed_at is not None
    assert not dose.hold_overrides.exists()


def test_a_high_recheck_keeps_the_hold(dose, provider, clock):
    builders.pre_dose_vitals(dose, provider, systolic_bp=134)
    clock.shift(dt.timedelta(minutes=10))
    builders.pre_dose_vitals(dose, provider, systolic_bp=152)
    with pytest.raises(ValidationError, match="Pre-dose hold"):
        services.dose_administer(dose=dose, by=provider)


def test_no_first_dose_before_the_psychiatric_evaluation_is_signed(dosing_session, course, provider, therapist):
    from devtools.builders import SIGNABLE_EVALUATION

    evaluation = services.medical_evaluation_add(course=course, by=provider, decision="cleared", **SIGNABLE_EVALUATION)
    services.record_sign(record=evaluation, by=provider)
    with pytest.raises(ValidationError, match="psychiatric evaluation"):
        builders.dose_planned(session=dosing_session, course=course, provider=provider)
    assert course.status_changes.count() == 0


def test_there_is_no_override_without_a_hold(dose, provider):
    builders.pre_dose_vitals(dose, provider)
    with pytest.raises(ValidationError):
        services.dosing_hold_override(dose=dose, by=provider, reason="just in case")


def test_no_dose_without_pre_dose_vitals(dose, provider):
    with pytest.raises(ValidationError) as exc:
        services.dose_administer(dose=dose, by=provider)
    assert "pre-dose" in exc.value.messages[0]


def test_intra_session_alerts_are_stored_on_the_reading(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=40))
    reading = services.vital_reading_add(
        dose=given_dose,
        by=provider,
        phase=VitalPhase.DURING,
        systolic_bp=182,
        diastolic_bp=100,
        heart_rate=121,
        spo2=91,
    )
    reading.refresh_from_db()
    assert reading.alerts == ["high_bp", "high_hr", "low_spo2"]
    assert reading.thresholds_in_force["alert_systolic"] == 180
    assert reading.in_session_alerts.get().closed_at is None
    assert reading.in_session_alerts.get().alerts == ["high_bp", "high_hr", "low_spo2"]


def test_pre_dose_phase_is_refused_after_the_dose(given_dose, provider):
    with pytest.raises(ValidationError) as exc:
        builders.pre_dose_vitals(given_dose, provider)
    assert "phase" in exc.value.message_dict


# --- group size and overlap -------------------------------------------------------------------


def test_a_group_of_three_cannot_start(therapist, provider):
    group, doses = builders.group_session_with(3, therapist=therapist, provider=provider)
    builders.pre_dose_vitals(doses[0], provider)
    with pytest.raises(ValidationError) as exc:
        services.dose_administer(dose=doses[0], by=provider)
    assert "4–12 participants; it has 3" in exc.value.messages[0]


def test_a_group_of_four_starts(therapist, provider):
    group, doses = builders.group_session_with(4, therapist=therapist, provider=provider)
    builders.pre_dose_vitals(doses[0], provider)
    assert services.dose_administer(dose=doses[0], by=provider).dosed_at is not None


def test_a_thirteenth_dose_is_refused(therapist, provider):
    group, doses = builders.group_session_with(12, therapist=therapist, provider=provider)
    extra = builders.cleared_course_for(n=1, therapist=therapist, provider=provider, format=SessionFormat.GROUP)
    with pytest.raises(ValidationError) as exc:
        builders.dose_planned(session=group, course=extra, provider=provider)
    assert "full (12" in exc.value.message_dict["course"][0]


def test_an_individual_session_takes_one(dose, therapist, provider, dosing_session):
    second = builders.cleared_course_for(n=2, therapist=therapist, provider=provider)
    with pytest.raises(ValidationError) as exc:
        builders.dose_planned(session=dosing_session, course=second, provider=provider)
    assert "full (1" in exc.value.message_dict["course"][0]


def test_a_group_course_cannot_join_an_individual_session(dosing_session, therapist, provider):
    group_course = builders.cleared_course_for(n=3, therapist=therapist, provider=provider, format=SessionFormat.GROUP)
    with pytest.raises(ValidationError):
        builders.dose_planned(session=dosing_session, course=group_course, provider=provider)


def test_a_patient_cannot_be_in_two_overlapping_sessions(dose, cleared_course, therapist, provider):
    clash = builders.session(
        therapist=therapist, provider=provider, start=dose.session.ends_at - dt.timedelta(minutes=1)
    )
    with pytest.raises(ValidationError) as exc:
        builders.dose_planned(session=clash, course=cleared_course, provider=provider)
    assert "overlaps" in exc.value.message_dict["course"][0]


def test_adjacent_sessions_do_not_overlap(dose, cleared_course, therapist, provider):
    after = builders.session(therapist=therapist, provider=provider, start=dose.session.ends_at)
    assert builders.dose_planned(session=after, course=cleared_course, provider=provider).session == after


def test_a_voided_dose_does_not_block_another_session(dose, cleared_course, therapist, provider):
    services.record_void(record=dose, by=provider, reason="Added to the wrong session.")
    clash = builders.session(therapist=therapist, provider=provider, start=dose.session.starts_at)
    assert builders.dose_planned(session=clash, course=cleared_course, provider=provider)


# --- discharge --------------------------------------------------------------------------------

CHECKLIST = DISCHARGE_CHECKLIST


def test_iv_discharge_needs_sixty_minutes(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=59))
    monitor(given_dose, provider)
    with pytest.raises(ValidationError) as exc:
        services.dose_discharge(dose=given_dose, by=provider, **CHECKLIST)
    assert "60 minutes" in exc.value.message_dict["discharged_at"][0]
    clock.shift(dt.timedelta(minutes=1))
    done = services.dose_discharge(dose=given_dose, by=provider, **CHECKLIST)
    assert done.discharged_by == provider


def test_esketamine_discharge_needs_two_hours(dosing_session, ready_course, provider, clock):
    dose = builders.dose_planned(
        session=dosing_session,
        course=ready_course,
        provider=provider,
        drug="esketamine",
        route="intranasal",
        dose_mg=Decimal("56"),
    )
    builders.pre_dose_vitals(dose, provider)
    services.dose_administer(dose=dose, by=provider)
    clock.shift(dt.timedelta(minutes=119))
    monitor(dose, provider)
    with pytest.raises(ValidationError) as exc:
        services.dose_discharge(dose=dose, by=provider, **CHECKLIST)
    assert "120 minutes" in exc.value.message_dict["discharged_at"][0]
    clock.shift(dt.timedelta(minutes=1))
    assert services.dose_discharge(dose=dose, by=provider, **CHECKLIST).discharged_at


def test_discharge_needs_a_pre_discharge_reading(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=90))
    services.vital_reading_add(
        dose=given_dose,
        by=provider,
        phase=VitalPhase.DURING,
        taken_at=timezone.now() - dt.timedelta(minutes=50),
        **normal_vitals(),
    )
    with pytest.raises(ValidationError) as exc:
        services.dose_discharge(dose=given_dose, by=provider, **CHECKLIST)
    assert "before discharge" in exc.value.messages[0]


@pytest.mark.parametrize("missing", sorted(CHECKLIST))
def test_discharge_needs_the_whole_checklist(given_dose, provider, clock, missing):
    clock.shift(dt.timedelta(minutes=90))
    monitor(given_dose, provider)
    with pytest.raises(ValidationError) as exc:
        services.dose_discharge(dose=given_dose, by=provider, **dict(CHECKLIST, **{missing: False}))
    assert set(exc.value.message_dict) == {missing}
    given_dose.refresh_from_db()
    assert given_dose.discharged_at is None


# --- course stages ----------------------------------------------------------------------------


def test_the_first_dose_moves_the_course_to_dosing(given_dose, cleared_course):
    cleared_course.refresh_from_db()
    assert cleared_course.status == CourseStatus.DOSING
    assert [c.to_status for c in cleared_course.status_changes.all()] == ["preparation", "dosing"]


@pytest.mark.parametrize("to_status", ["dosing", "integration", "completed"])
def test_a_course_cannot_skip_a_stage(cleared_course, therapist, to_status):
    with pytest.raises(ValidationError) as exc:
        services.course_change_status(course=cleared_course, by=therapist, to_status=to_status)
    assert "moves next to preparation" in exc.value.message_dict["to_status"][0]


def test_a_course_cannot_move_back(given_dose, cleared_course, therapist):
    with pytest.raises(ValidationError):
        services.course_change_status(course=cleared_course, by=therapist, to_status=CourseStatus.PREPARATION)


def test_discontinuing_needs_a_reason(course, therapist):
    with pytest.raises(ValidationError) as exc:
        services.course_change_status(course=course, by=therapist, to_status=CourseStatus.DISCONTINUED)
    assert "reason" in exc.value.message_dict
    services.course_change_status(
        course=course, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Moved out of state."
    )
    course.refresh_from_db()
    assert (course.status, course.discontinued_reason) == ("discontinued", "Moved out of state.")
    with pytest.raises(ValidationError):
        services.course_change_status(course=course, by=therapist, to_status=CourseStatus.PREPARATION)


def test_integration_needs_a_dose_given(ready_course, therapist):
    services.course_change_status(course=ready_course, by=therapist, to_status="preparation")
    services.course_change_status(course=ready_course, by=therapist, to_status="dosing")
    with pytest.raises(ValidationError) as exc:
        services.course_change_status(course=ready_course, by=therapist, to_status="integration")
    assert "No dose" in exc.value.message_dict["to_status"][0]


@pytest.mark.parametrize("stage", ["integration", "follow_up"])
def test_a_dose_after_the_acute_series_is_maintenance(given_dose, cleared_course, therapist, provider, stage):
    services.course_change_status(course=cleared_course, by=therapist, to_status="integration")
    if stage == "follow_up":
        services.course_change_status(course=cleared_course, by=therapist, to_status="follow_up")
    later = builders.session(
        therapist=therapist, provider=provider, start=given_dose.session.ends_at + dt.timedelta(days=1)
    )
    booster = builders.dose_planned(session=later, course=cleared_course, provider=provider)
    assert booster.is_maintenance
    assert not Dose.objects.get(pk=given_dose.pk).is_maintenance


# --- services judge the row as it is now, not the caller's copy -------------------------------


def test_a_stale_course_instance_does_not_let_a_discontinued_course_dose(cleared_course, therapist, provider):
    stale = cleared_course
    services.course_change_status(
        course=type(stale).objects.get(pk=stale.pk), by=therapist, to_status="discontinued", reason="Withdrew consent."
    )
    assert stale.status == CourseStatus.EVALUATION  # the caller's copy has not seen the change
    session = builders.session(therapist=therapist, provider=provider)
    with pytest.raises(ValidationError) as exc:
        builders.dose_planned(session=session, course=stale, provider=provider)
    assert "discontinued" in exc.value.message_dict["course"][0]


def test_a_stale_dose_instance_sees_the_dose_given(dose, provider):
    builders.pre_dose_vitals(dose, provider)
    services.dose_administer(dose=dose, by=provider)
    assert dose.dosed_at is None  # the caller's copy
    reading = services.vital_reading_add(dose=dose, by=provider, phase=VitalPhase.DURING, **normal_vitals())
    assert reading.phase == VitalPhase.DURING
    with pytest.raises(ValidationError):
        builders.pre_dose_vitals(dose, provider)
