"""The contraindication screen and the rule "no dosing before a signed, cleared screen"."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from courses import bedside, rules, services
from courses.choices import CourseStatus, ScreenDecision
from courses.models import MedicalEvaluation
from devtools.builders import SIGNABLE_EVALUATION, normal_vitals

pytestmark = pytest.mark.django_db


def _psych_signed(course, therapist):
    psych = services.psychiatric_evaluation_add(
        course=course, by=therapist, evaluated_on=dt.date(2026, 3, 2), diagnosis="MDD", suicide_risk="low"
    )
    services.record_sign(record=psych, by=therapist)


def _add(dosing_session, course, provider):
    return services.dose_add(
        session=dosing_session,
        course=course,
        by=provider,
        route="iv",
        dose_mg=Decimal("35"),
        weight_kg=Decimal("70"),
        fasting_confirmed=True,
    )


# --- the screen's own rules -------------------------------------------------------------------


@pytest.mark.parametrize("item", rules.ABSOLUTE_ITEMS)
@pytest.mark.parametrize("decision", [ScreenDecision.CLEARED, ScreenDecision.CLEARED_WITH_CAUTIONS])
def test_it_refuses_to_clear_a_screen_with_an_absolute_item(course, provider, item, decision):
    with pytest.raises(ValidationError) as exc:
        services.medical_evaluation_add(
            course=course, by=provider, decision=decision, caution_note="n", **{**SIGNABLE_EVALUATION, item: "yes"}
        )
    assert "absolute contraindication" in exc.value.message_dict["decision"][0]
    assert not MedicalEvaluation.objects.exists()


def test_it_records_not_cleared_with_an_absolute_item(course, provider):
    evaluation = services.medical_evaluation_add(
        course=course,
        by=provider,
        decision=ScreenDecision.NOT_CLEARED,
        **{**SIGNABLE_EVALUATION, "ci_pregnancy": "yes", "childbearing_potential": "yes"},
    )
    services.record_sign(record=evaluation, by=provider)
    assert MedicalEvaluation.objects.get().is_signed


def test_a_caution_refuses_plain_clearance(course, provider):
    with pytest.raises(ValidationError) as exc:
        services.medical_evaluation_add(
            course=course, by=provider, decision="cleared", **{**SIGNABLE_EVALUATION, "caution_breastfeeding": "yes"}
        )
    assert "cleared with cautions" in exc.value.message_dict["decision"][0]


def test_cleared_with_cautions_needs_a_note(course, provider):
    with pytest.raises(ValidationError) as exc:
        services.medical_evaluation_add(
            course=course,
            by=provider,
            decision=ScreenDecision.CLEARED_WITH_CAUTIONS,
            **{**SIGNABLE_EVALUATION, "caution_substance_use_history": "yes"},
        )
    assert "caution_note" in exc.value.message_dict


def test_a_caution_with_a_note_can_be_cleared_with_cautions(course, provider):
    evaluation = services.medical_evaluation_add(
        course=course,
        by=provider,
        decision=ScreenDecision.CLEARED_WITH_CAUTIONS,
        caution_note="No take-home doses; urine screen before each session.",
        **{**SIGNABLE_EVALUATION, "caution_substance_use_history": "yes"},
    )
    services.record_sign(record=evaluation, by=provider)
    # The screen clears: what is left is the psychiatric evaluation and the first dose's needs.
    assert {b.code for b in bedside.course_state(course).blockers} == {
        "psych_missing",
        "preparation_missing",
        "baseline_open",
    }


def test_it_refuses_implausible_baseline_vitals(course, provider):
    values = dict(SIGNABLE_EVALUATION, systolic_bp=300)
    with pytest.raises(ValidationError) as exc:
        services.medical_evaluation_add(course=course, by=provider, decision="cleared", **values)
    assert "50–260 mmHg" in exc.value.message_dict["systolic_bp"][0]


def test_only_a_medical_provider_records_the_screen(course, therapist):
    with pytest.raises(PermissionDenied):
        services.medical_evaluation_add(course=course, by=therapist, decision="cleared", **SIGNABLE_EVALUATION)


def test_signing_needs_a_decision_and_baseline_values(course, provider):
    evaluation = services.medical_evaluation_add(course=course, by=provider, evaluated_on=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError) as exc:
        services.record_sign(record=evaluation, by=provider)
    assert "decision" in exc.value.message_dict
    services.record_update(
        record=evaluation, by=provider, changes={"decision": "cleared", **rules.SCREEN_NOTHING_FOUND}
    )
    with pytest.raises(ValidationError) as exc:
        services.record_sign(record=evaluation, by=provider)
    assert {"systolic_bp", "diastolic_bp", "heart_rate", "weight_kg"} <= set(exc.value.message_dict)


def test_a_course_has_one_unsigned_medical_evaluation_at_a_time(course, provider):
    services.medical_evaluation_add(course=course, by=provider, **SIGNABLE_EVALUATION)
    with pytest.raises(ValidationError) as exc:
        services.medical_evaluation_add(course=course, by=provider, **SIGNABLE_EVALUATION)
    assert "edit or void it" in exc.value.messages[0]


# --- no dosing before a signed, cleared screen ------------------------------------------------


def _unsigned(course, provider, therapist):
    services.medical_evaluation_add(course=course, by=provider, decision="cleared", **SIGNABLE_EVALUATION)


def _not_cleared(course, provider, therapist):
    evaluation = services.medical_evaluation_add(
        course=course, by=provider, decision="not_cleared", **{**SIGNABLE_EVALUATION, "ci_psychosis_or_mania": "yes"}
    )
    services.record_sign(record=evaluation, by=provider)


def _voided(course, provider, therapist):
    evaluation = services.medical_evaluation_add(course=course, by=provider, decision="cleared", **SIGNABLE_EVALUATION)
    services.record_sign(record=evaluation, by=provider)
    services.record_void(record=evaluation, by=provider, reason="Entered on the wrong course.")


def _none(course, provider, therapist):
    pass


SCREEN_STATES = {
    "no evaluation": (_none, "medical evaluation"),
    "unsigned": (_unsigned, "not signed"),
    "not cleared": (_not_cleared, "not cleared"),
    "voided": (_voided, "medical evaluation"),
}


@pytest.mark.parametrize("state", SCREEN_STATES)
def test_no_dose_is_added_before_a_cleared_screen(state, course, provider, therapist, dosing_session):
    make, message = SCREEN_STATES[state]
    make(course, provider, therapist)
    with pytest.raises(ValidationError) as exc:
        _add(dosing_session, course, provider)
    assert message in exc.value.message_dict["course"][0]


def test_a_dose_is_added_after_a_cleared_screen(cleared_course, provider, dosing_session):
    assert _add(dosing_session, cleared_course, provider).course == cleared_course


@pytest.mark.parametrize("state", ["unsigned", "not cleared", "voided"])
def test_the_course_cannot_move_to_dosing_before_a_cleared_screen(state, course, provider, therapist):
    make, message = SCREEN_STATES[state]
    make(course, provider, therapist)
    _psych_signed(course, therapist)
    services.course_change_status(course=course, by=therapist, to_status=CourseStatus.PREPARATION)
    with pytest.raises(ValidationError) as exc:
        services.course_change_status(course=course, by=therapist, to_status=CourseStatus.DOSING)
    assert message in exc.value.message_dict["to_status"][0]
    course.refresh_from_db()
    assert course.status == CourseStatus.PREPARATION


def test_the_course_moves_to_dosing_when_ready_for_the_first_dose(ready_course, therapist):
    services.course_change_status(course=ready_course, by=therapist, to_status=CourseStatus.PREPARATION)
    services.course_change_status(course=ready_course, by=therapist, to_status=CourseStatus.DOSING)
    ready_course.refresh_from_db()
    assert ready_course.status == CourseStatus.DOSING


def test_the_course_needs_a_signed_psychiatric_evaluation_for_dosing(course, provider, therapist):
    evaluation = services.medical_evaluation_add(course=course, by=provider, decision="cleared", **SIGNABLE_EVALUATION)
    services.record_sign(record=evaluation, by=provider)
    services.course_change_status(course=course, by=therapist, to_status=CourseStatus.PREPARATION)
    with pytest.raises(ValidationError) as exc:
        services.course_change_status(course=course, by=therapist, to_status=CourseStatus.DOSING)
    assert "psychiatric" in exc.value.message_dict["to_status"][0]


def test_voiding_the_screen_after_adding_blocks_the_dose(dose, cleared_course, provider):
    services.vital_reading_add(dose=dose, by=provider, phase="pre_dose", **normal_vitals())
    services.record_void(record=cleared_course.medical_evaluations.get(), by=provider, reason="Wrong patient's screen.")
    with pytest.raises(ValidationError) as exc:
        services.dose_administer(dose=dose, by=provider)
    assert "medical evaluation" in exc.value.message_dict["course"][0]
    dose.refresh_from_db()
    assert dose.dosed_at is None
