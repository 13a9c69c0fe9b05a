"""The clinical questions of the dosing day (courses/safety/), as tables of plain cases."""

import datetime as dt

import pytest

from courses import rules, safety
from courses.safety import (
    CourseReadiness,
    DischargeFacts,
    DoseFacts,
    OtherDose,
    Override,
    Psych,
    Reading,
    Screen,
)

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
RECHECK = dt.timedelta(minutes=15)
FULL = {"systolic_bp": 128, "diastolic_bp": 80, "heart_rate": 76, "spo2": 98, "respiratory_rate": 14}
HIGH = {**FULL, "systolic_bp": 165, "diastolic_bp": 100}


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def reading(minutes: int, values=FULL, phase="pre_dose", alerts=None, rid=None) -> Reading:
    if alerts is None:
        alerts = ("pre_dose_hold",) if phase == "pre_dose" and values.get("systolic_bp", 0) > 140 else ()
    return Reading(id=rid or f"r{minutes}{phase}", phase=phase, taken_at=at(minutes), values=values, alerts=alerts)


def codes(blockers) -> set[str]:
    return {b.code for b in blockers}


# --- the pre-dose hold -------------------------------------------------------------------------

HOLD_CASES = [
    ("no readings", [], [], False, ""),
    ("a normal full reading", [reading(0)], [], False, ""),
    ("a high reading holds", [reading(0, HIGH)], [], True, ""),
    ("a normal full re-check after the interval lifts it", [reading(0, HIGH), reading(15)], [], False, "recheck"),
    ("a re-check too soon does not", [reading(0, HIGH), reading(10)], [], True, ""),
    (
        "a heart-rate-only re-check does not",
        [reading(0, HIGH), reading(30, {"heart_rate": 70})],
        [],
        True,
        "",
    ),
    (
        "a re-check without SpO2 does not",
        [reading(0, HIGH), reading(30, {**FULL, "spo2": None})],
        [],
        True,
        "",
    ),
    ("an override of the high reading lifts it", [reading(0, HIGH)], [Override(at(0), at(5))], False, "override"),
    (
        "a higher reading after the override holds again",
        [reading(0, HIGH), reading(20, {**HIGH, "systolic_bp": 178})],
        [Override(at(0), at(5))],
        True,
        "",
    ),
    (
        "high again after a normal re-check holds again",
        [reading(0, HIGH), reading(20), reading(40, HIGH)],
        [],
        True,
        "",
    ),
    (
        "an override of a later reading covers an earlier one",
        [reading(0, HIGH), reading(10, HIGH)],
        [Override(at(10), at(12))],
        False,
        "override",
    ),
    (
        "a high 'during' reading sets no pre-dose hold",
        [reading(0), reading(50, HIGH, phase="during", alerts=("high_bp",))],
        [],
        False,
        "",
    ),
]


@pytest.mark.parametrize(("case", "readings", "overrides", "active", "lifted_by"), HOLD_CASES)
def test_hold_status(case, readings, overrides, active, lifted_by):
    hold = safety.hold_status(readings, overrides, RECHECK)
    assert (hold.active, hold.lifted_by) == (active, lifted_by), case
    if active:
        assert hold.recheck_from == hold.reading.taken_at + RECHECK
        assert "hold" in hold.message and hold.reading.blood_pressure in hold.message


# --- a reading's phase, time and completeness --------------------------------------------------

FIT_CASES = [
    ("pre-dose before the dose", "pre_dose", 0, None, None, [], False, set()),
    ("during before the dose", "during", 0, None, None, [], False, {"phase"}),
    ("pre-discharge before the dose", "pre_discharge", 0, None, None, [], False, {"phase"}),
    ("pre-dose after the dose", "pre_dose", 30, 20, None, [], False, {"phase"}),
    ("during timed before the dose", "during", 10, 20, None, [], False, {"taken_at"}),
    ("during after the dose", "during", 60, 20, None, [], False, set()),
    (
        "pre-discharge before the last during reading",
        "pre_discharge",
        50,
        20,
        None,
        [reading(60, phase="during")],
        False,
        {"taken_at"},
    ),
    ("pre-discharge after it", "pre_discharge", 70, 20, None, [reading(60, phase="during")], False, set()),
    ("anything once discharged", "during", 200, 20, 180, [], False, {safety.NON_FIELD}),
    ("correcting a pre-dose reading after the dose", "pre_dose", 10, 20, None, [], True, set()),
    ("correcting it to a time after the dose", "pre_dose", 30, 20, None, [], True, {"taken_at"}),
]


@pytest.mark.parametrize(("case", "phase", "taken", "dosed", "discharged", "others", "correcting", "fields"), FIT_CASES)
def test_reading_fit(case, phase, taken, dosed, discharged, others, correcting, fields):
    errors = safety.reading_fit_errors(
        phase=phase,
        taken_at=at(taken),
        dosed_at=at(dosed) if dosed is not None else None,
        discharged_at=at(discharged) if discharged is not None else None,
        others=others,
        correcting=correcting,
    )
    assert set(errors) == fields, case


@pytest.mark.parametrize(
    ("phase", "values", "missing"),
    [
        ("pre_dose", FULL, set()),
        ("pre_dose", {"spo2": 97}, {"systolic_bp", "diastolic_bp", "heart_rate"}),
        ("pre_dose", {**FULL, "respiratory_rate": None}, set()),
        ("pre_discharge", {**FULL, "heart_rate": None}, {"heart_rate"}),
        ("during", {"heart_rate": 80}, set()),
    ],
)
def test_a_full_set_where_it_matters(phase, values, missing):
    errors = safety.full_set_errors(phase, values)
    assert set(errors) == missing
    assert all("full set" in m for m in errors.values())


# --- the screen and "cleared for dosing" ---------------------------------------------------------

DAY = dt.date(2026, 3, 10)
SIGNED = Screen(decision="cleared", signed=True, evaluated_on=dt.date(2026, 3, 1))
PSYCH = Psych(signed=True, suicide_risk="low")

CLEARANCE_CASES = [
    ("nothing recorded", None, None, DAY, {"screen_missing", "psych_missing"}),
    ("cleared and signed", SIGNED, PSYCH, DAY, set()),
    ("screen unsigned", Screen("cleared", False, DAY), PSYCH, DAY, {"screen_unsigned"}),
    ("not cleared", Screen("not_cleared", True, DAY), PSYCH, DAY, {"screen_not_cleared"}),
    ("psych unsigned", SIGNED, Psych(signed=False), DAY, {"psych_unsigned"}),
    ("the day before expiry", SIGNED, PSYCH, dt.date(2027, 2, 28), set()),
    ("on the day of expiry", SIGNED, PSYCH, dt.date(2027, 3, 1), {"screen_expired"}),
    ("two years on", SIGNED, PSYCH, dt.date(2028, 3, 1), {"screen_expired"}),
    (
        "recent suicidality, psychiatric risk low",
        Screen("cleared_with_cautions", True, DAY, recent_suicidality="yes"),
        PSYCH,
        DAY,
        {"suicidality_unaddressed"},
    ),
    (
        "recent suicidality, moderate risk without a plan",
        Screen("cleared_with_cautions", True, DAY, recent_suicidality="yes"),
        Psych(signed=True, suicide_risk="moderate", has_risk_plan=False),
        DAY,
        {"suicidality_unaddressed"},
    ),
    (
        "recent suicidality, moderate risk with a plan, unsigned",
        Screen("cleared_with_cautions", True, DAY, recent_suicidality="yes"),
        Psych(signed=False, suicide_risk="moderate", has_risk_plan=True),
        DAY,
        {"suicidality_unaddressed", "psych_unsigned"},
    ),
    (
        "recent suicidality addressed",
        Screen("cleared_with_cautions", True, DAY, recent_suicidality="yes"),
        Psych(signed=True, suicide_risk="high", has_risk_plan=True),
        DAY,
        set(),
    ),
]


@pytest.mark.parametrize(("case", "screen", "psych", "on", "expected"), CLEARANCE_CASES)
def test_clearance(case, screen, psych, on, expected):
    assert codes(safety.clearance_blockers(screen, psych, on=on, valid_months=12)) == expected, case


@pytest.mark.parametrize(
    ("day", "months", "expires"),
    [
        (dt.date(2026, 3, 1), 12, dt.date(2027, 3, 1)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
        (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),
    ],
)
def test_a_screen_expires_the_same_day_months_later(day, months, expires):
    assert safety.add_months(day, months) == expires


READY = CourseReadiness(on=DAY, screen=SIGNED, psych=PSYCH, signed_preparatory_sessions=1, patient_age=40)

COURSE_CASES = [
    ("ready", READY, set()),
    ("closed", CourseReadiness(**{**READY.__dict__, "closed": True, "status": "discontinued"}), {"course_closed"}),
    ("12 years old", CourseReadiness(**{**READY.__dict__, "patient_age": 12}), {"under_age"}),
    (
        "12 years old with the lead's exception",
        CourseReadiness(**{**READY.__dict__, "patient_age": 12, "age_exception": True}),
        set(),
    ),
    (
        "no preparation",
        CourseReadiness(**{**READY.__dict__, "signed_preparatory_sessions": 0}),
        {"preparation_missing"},
    ),
    ("baseline open", CourseReadiness(**{**READY.__dict__, "baseline_open": ("PHQ-9",)}), {"baseline_open"}),
    (
        "no preparation or baseline needed after the first dose",
        CourseReadiness(
            **{**READY.__dict__, "first_dose": False, "signed_preparatory_sessions": 0, "baseline_open": ("PHQ-9",)}
        ),
        set(),
    ),
]


@pytest.mark.parametrize(("case", "readiness", "expected"), COURSE_CASES)
def test_course_blockers(case, readiness, expected):
    assert codes(safety.course_blockers(readiness)) == expected, case


# --- what is still needed before the dose ------------------------------------------------------

DOSE_AT = at(30)
BASE = DoseFacts(
    at=DOSE_AT,
    today=DOSE_AT.date(),
    fasting_confirmed=True,
    pregnancy_test="",
    childbearing_potential="no",
    weight_measured_on=DOSE_AT.date() - dt.timedelta(days=3),
    readings=(reading(0),),
)


def dose(**changes) -> DoseFacts:
    return DoseFacts(**{**BASE.__dict__, **changes})


DOSE_CASES = [
    ("ready", dose(), set()),
    ("already given", dose(given=True), {"given"}),
    ("fasting not confirmed", dose(fasting_confirmed=False), {"fasting"}),
    ("childbearing potential, no test", dose(childbearing_potential="yes"), {"pregnancy_test"}),
    (
        "childbearing potential, 'not applicable'",
        dose(childbearing_potential="yes", pregnancy_test="not_applicable"),
        {"pregnancy_test"},
    ),
    ("childbearing potential unknown, no test", dose(childbearing_potential="unknown"), {"pregnancy_test"}),
    ("childbearing potential, negative test", dose(childbearing_potential="yes", pregnancy_test="negative"), set()),
    ("a positive test, whatever the screen says", dose(pregnancy_test="positive"), {"pregnant"}),
    ("no recorded weight", dose(weight_measured_on=None), {"weight_missing"}),
    ("a typed weight on an old record", dose(weight_is_recorded=False), {"weight_missing"}),
    ("a weight 31 days old", dose(weight_measured_on=DOSE_AT.date() - dt.timedelta(days=31)), {"weight_stale"}),
    ("a weight 30 days old", dose(weight_measured_on=DOSE_AT.date() - dt.timedelta(days=30)), set()),
    ("no pre-dose reading", dose(readings=()), {"pre_dose_vitals"}),
    ("only SpO2 before the dose", dose(readings=(reading(0, {"spo2": 97}),)), {"pre_dose_vitals"}),
    ("a held pressure", dose(readings=(reading(0, HIGH),)), {"hold"}),
    (
        "a heart-rate-only re-check after a hold",
        dose(readings=(reading(0, HIGH), reading(20, {"heart_rate": 70}))),
        {"hold"},
    ),
    ("an open alert", dose(open_alerts=1), {"open_alert"}),
    ("a dose timed before the pre-dose reading", dose(at=at(-10)), {"dose_before_vitals"}),
    (
        "the previous dose not discharged",
        dose(other_doses=(OtherDose(at(-4 * 60), ended=False),)),
        {"previous_not_discharged", "too_soon"},
    ),
    ("the previous dose 4 hours ago", dose(other_doses=(OtherDose(at(-4 * 60), ended=True),)), {"too_soon"}),
    (
        "the previous dose 24 hours ago",
        dose(other_doses=(OtherDose(DOSE_AT - dt.timedelta(hours=24), ended=True),)),
        set(),
    ),
    (
        "a later dose 3 hours after",
        dose(other_doses=(OtherDose(DOSE_AT + dt.timedelta(hours=3), ended=True),)),
        {"too_close_to_next"},
    ),
    ("a group of 3", dose(session_format="group", session_doses=3, session_booked=3), {"group_size"}),
    (
        "a group of 4 with a no-show voided on the day",
        dose(session_format="group", session_doses=3, session_booked=4),
        set(),
    ),
    ("a group of 13", dose(session_format="group", session_doses=13, session_booked=13), {"group_size"}),
    ("course not cleared", dose(course=(safety.Blocker("screen_unsigned", "…", "course"),)), {"screen_unsigned"}),
]


@pytest.mark.parametrize(("case", "facts", "expected"), DOSE_CASES)
def test_dose_blockers(case, facts, expected):
    blockers = safety.dose_blockers(facts)
    assert codes(blockers) == expected, case
    assert all(b.message for b in blockers)


def test_every_blocker_is_listed_at_once():
    facts = dose(fasting_confirmed=False, readings=(), weight_measured_on=None, childbearing_potential="yes")
    assert codes(safety.dose_blockers(facts)) == {"fasting", "pregnancy_test", "weight_missing", "pre_dose_vitals"}


# --- discharge and monitoring ------------------------------------------------------------------

DOSED = at(0)
DURING = reading(40, phase="during")
FINAL = reading(70, phase="pre_discharge")
CHECKED = {"alert_oriented": True, "escort_present": True, "no_driving_advised": True}
DISCHARGE = DischargeFacts(
    at=at(65), dosed_at=DOSED, monitoring=dt.timedelta(minutes=60), readings=(DURING, FINAL), checklist=CHECKED
)


def discharge(**changes) -> DischargeFacts:
    return DischargeFacts(**{**DISCHARGE.__dict__, **changes})


DISCHARGE_CASES = [
    ("ready", discharge(at=at(75)), set()),
    ("not dosed", discharge(dosed_at=None), {"not_dosed"}),
    (
        "before the minimum monitoring",
        discharge(at=at(50), readings=(DURING, reading(45, phase="pre_discharge"))),
        {"monitoring_time"},
    ),
    (
        "timed before a reading taken while the patient was there",
        discharge(at=at(75), readings=(DURING, reading(80, phase="pre_discharge"))),
        {"discharge_before_reading"},
    ),
    ("no reading during monitoring", discharge(at=at(75), readings=(FINAL,)), {"no_during_reading"}),
    (
        "only an early reading during",
        discharge(at=at(75), readings=(reading(10, phase="during"), FINAL)),
        {"no_peak_reading"},
    ),
    ("no pre-discharge set", discharge(at=at(75), readings=(DURING,)), {"no_pre_discharge_set"}),
    (
        "a partial pre-discharge set",
        discharge(at=at(75), readings=(DURING, reading(70, {"heart_rate": 70}, phase="pre_discharge"))),
        {"no_pre_discharge_set"},
    ),
    (
        "a pre-discharge set before the last during reading",
        discharge(at=at(95), readings=(DURING, FINAL, reading(80, phase="during"))),
        {"no_pre_discharge_set"},
    ),
    (
        "the pre-discharge set alerts",
        discharge(
            at=at(75),
            readings=(
                DURING,
                reading(
                    70, {**FULL, "systolic_bp": 182, "diastolic_bp": 111}, phase="pre_discharge", alerts=("high_bp",)
                ),
            ),
        ),
        {"pre_discharge_alerting"},
    ),
    ("an alert still open", discharge(at=at(75), open_alerts=1), {"open_alert"}),
    (
        "the set before discharge is stale",
        discharge(at=at(140), fresh_within=dt.timedelta(minutes=15)),
        {"pre_discharge_stale"},
    ),
    ("the set before discharge is recent enough", discharge(at=at(85), fresh_within=dt.timedelta(minutes=15)), set()),
    (
        "the checklist not ticked",
        discharge(at=at(75), checklist={}),
        {"checklist_alert_oriented", "checklist_escort_present", "checklist_no_driving_advised"},
    ),
    ("a page asking what is still needed", discharge(at=at(75), checklist=None), set()),
]


@pytest.mark.parametrize(("case", "facts", "expected"), DISCHARGE_CASES)
def test_discharge_blockers(case, facts, expected):
    blockers = safety.discharge_blockers(facts)
    assert codes(blockers) == expected, case
    assert [b.code for b in blockers if b.exceptionable] in ([], ["pre_discharge_alerting"])


MONITORING_CASES = [
    ("not dosed", None, False, [], 30, False, ""),
    ("just dosed", 0, False, [], 10, False, ""),
    ("no reading 20 minutes after the dose", 0, False, [], 20, True, "overdue"),
    ("a reading at 10, now 30", 0, False, [reading(10, phase="during")], 30, True, "overdue"),
    (
        "readings every 15 minutes through 45",
        0,
        False,
        [reading(m, phase="during") for m in (15, 30, 45)],
        55,
        False,
        "",
    ),
    (
        "no reading after 30 minutes, now 55",
        0,
        False,
        [reading(m, phase="during") for m in (10, 25)],
        55,
        True,
        "40 minutes",
    ),
    ("discharged", 0, True, [], 200, False, ""),
]


@pytest.mark.parametrize(("case", "dosed", "ended", "readings", "now", "overdue", "words"), MONITORING_CASES)
def test_vitals_overdue(case, dosed, ended, readings, now, overdue, words):
    status = safety.monitoring_status(
        dosed_at=at(dosed) if dosed is not None else None,
        ended=ended,
        readings=readings,
        now=at(now),
        interval=dt.timedelta(minutes=15),
    )
    assert status.overdue == overdue, case
    assert words in status.message


# --- the screen's own rules (courses/rules.py) -------------------------------------------------

NOTHING = {k: v for k, v in rules.SCREEN_NOTHING_FOUND.items() if k != rules.CHILDBEARING_FIELD}
HOLD = rules.HoldThresholds(140, 90)


def screen_errors(answers=None, decision="cleared", note="", childbearing="no", bp=(120, 80)):
    return rules.screen_decision_errors(
        {**NOTHING, **(answers or {})}, decision, note, childbearing_potential=childbearing, baseline_bp=bp, hold=HOLD
    )


SCREEN_CASES = [
    ("every item answered no", {}, "cleared", "", "no", (120, 80), set()),
    ("nothing answered, pending", dict.fromkeys(NOTHING, ""), "pending", "", "", (120, 80), set()),
    (
        "nothing answered, cleared",
        dict.fromkeys(NOTHING, ""),
        "cleared",
        "",
        "",
        (120, 80),
        {*NOTHING, "childbearing_potential"},
    ),
    ("one item left unanswered", {"ci_pregnancy": ""}, "not_cleared", "", "no", (120, 80), {"ci_pregnancy"}),
    (
        "an unknown item cannot be cleared",
        {"caution_breastfeeding": "unknown"},
        "cleared_with_cautions",
        "note",
        "no",
        (120, 80),
        {"caution_breastfeeding"},
    ),
    ("an unknown item, not cleared", {"caution_breastfeeding": "unknown"}, "not_cleared", "", "no", (120, 80), set()),
    (
        "baseline 200/120 without the hypertension caution",
        {},
        "cleared",
        "",
        "no",
        (200, 120),
        {"caution_uncontrolled_hypertension"},
    ),
    (
        "baseline 200/120 with the caution",
        {"caution_uncontrolled_hypertension": "yes"},
        "cleared_with_cautions",
        "Treated; re-check.",
        "no",
        (200, 120),
        set(),
    ),
    ("baseline 141/80, not cleared", {}, "not_cleared", "", "no", (141, 80), set()),
    (
        "pregnant without childbearing potential",
        {"ci_pregnancy": "yes"},
        "not_cleared",
        "",
        "no",
        (120, 80),
        {"childbearing_potential"},
    ),
    ("an absolute contraindication", {"ci_pregnancy": "yes"}, "cleared", "", "yes", (120, 80), {"decision"}),
]


@pytest.mark.parametrize(("case", "answers", "decision", "note", "childbearing", "bp", "fields"), SCREEN_CASES)
def test_screen_decision(case, answers, decision, note, childbearing, bp, fields):
    assert set(screen_errors(answers, decision, note, childbearing, bp)) == fields, case


# --- a given dose corrected after the fact --------------------------------------------------------

GIVEN = {
    "dosed_at": DOSED,
    "discharged_at": at(75),
    "monitoring": dt.timedelta(minutes=60),
    "readings": (reading(0), DURING, FINAL),
    "others": (),
    "min_interval": dt.timedelta(hours=24),
}
GIVEN_CASES = [
    ("as given", {}, []),
    ("moved 5 minutes later, still between its readings", {"dosed_at": DOSED + dt.timedelta(minutes=5)}, []),
    ("moved before its pre-dose reading", {"dosed_at": at(-5)}, ["no longer fits"]),
    ("moved after a during reading", {"dosed_at": at(45), "discharged_at": at(120)}, ["no longer fits"]),
    ("moved so that discharge comes too soon", {"dosed_at": at(30), "readings": (reading(0),)}, ["less than the 60"]),
    ("esketamine's 120 minutes, discharged at 75", {"monitoring": dt.timedelta(minutes=120)}, ["less than the 120"]),
    (
        "moved to 3 hours after another dose",
        {"others": (safety.OtherDose(DOSED - dt.timedelta(hours=3), True),)},
        ["minimum interval"],
    ),
    (
        "another dose 3 hours later",
        {"others": (safety.OtherDose(DOSED + dt.timedelta(hours=3), True),)},
        ["less than 24 hours after"],
    ),
]


@pytest.mark.parametrize(("case", "changes", "words"), GIVEN_CASES)
def test_a_corrected_dose_keeps_the_rules_it_was_given_under(case, changes, words):
    errors = safety.given_dose_errors(**{**GIVEN, **changes})
    assert len(errors) == len(words), (case, errors)
    for error, word in zip(errors, words, strict=True):
        assert word in error.message, case


def test_a_recheck_timed_ahead_of_now_does_not_lift_the_hold():
    """The few minutes' allowance for clocks must not shorten the wait: a re-check timed after
    'now' has not happened yet."""
    readings = [reading(0, HIGH), reading(15)]
    assert safety.hold_status(readings, [], RECHECK, now=at(11)).active
    assert not safety.hold_status(readings, [], RECHECK, now=at(15)).active
