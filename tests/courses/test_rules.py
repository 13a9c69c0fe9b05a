"""Table tests for the pure clinical rules in courses/rules.py (no database)."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courses import rules
from courses.choices import Drug, Route, ScreenDecision, VitalAlert, VitalPhase
from kernel.clock import RECORD_YEARS_MESSAGE, record_year_errors

CLEARED = ScreenDecision.CLEARED
WITH_CAUTIONS = ScreenDecision.CLEARED_WITH_CAUTIONS
NOT_CLEARED = ScreenDecision.NOT_CLEARED


# --- screen_decision_errors -------------------------------------------------------------------
# (unanswered and unknown items, childbearing potential and the baseline pressure: test_safety.py)


def answered(*yes: str) -> dict[str, str]:
    """Every screen item answered: "yes" for those named, "no" for the rest."""
    answers = dict.fromkeys(rules.ABSOLUTE_ITEMS + rules.CAUTION_ITEMS, rules.NO)
    answers.update(dict.fromkeys(yes, rules.YES))
    return answers


def decide(answers, decision, note=""):
    childbearing = rules.YES if answers.get("ci_pregnancy") == rules.YES else rules.NO
    return rules.screen_decision_errors(answers, decision, note, childbearing_potential=childbearing)


@pytest.mark.parametrize("item", rules.ABSOLUTE_ITEMS)
@pytest.mark.parametrize("decision", [CLEARED, WITH_CAUTIONS])
def test_every_absolute_item_blocks_clearance(item, decision):
    errors = decide(answered(item), decision, "managed")
    assert "decision" in errors
    label = next(i.label for i in rules.SCREEN_ITEMS if i.field == item)
    assert label in errors["decision"]
    assert "not cleared" in errors["decision"]


@pytest.mark.parametrize("item", rules.CAUTION_ITEMS)
def test_every_caution_blocks_plain_clearance(item):
    errors = decide(answered(item), CLEARED)
    assert "cleared with cautions" in errors["decision"]


@pytest.mark.parametrize("item", rules.CAUTION_ITEMS)
def test_a_caution_is_allowed_cleared_with_cautions_and_a_note(item):
    assert decide(answered(item), WITH_CAUTIONS, "BP checked twice; escort arranged") == {}


@pytest.mark.parametrize("note", ["", "   \n"])
def test_cleared_with_cautions_needs_a_note(note):
    errors = decide(answered("caution_breastfeeding"), WITH_CAUTIONS, note)
    assert set(errors) == {"caution_note"}


@pytest.mark.parametrize(
    "answers",
    [
        answered(),
        answered(rules.ABSOLUTE_ITEMS[0]),
        answered(rules.CAUTION_ITEMS[0]),
        answered(*rules.ABSOLUTE_ITEMS, *rules.CAUTION_ITEMS),
    ],
)
def test_not_cleared_is_always_allowed_once_answered(answers):
    assert decide(answers, NOT_CLEARED) == {}


def test_a_clean_screen_can_be_cleared():
    assert decide(answered(), CLEARED) == {}


def test_absolute_item_wins_over_caution_message():
    errors = decide(answered("ci_pregnancy", "caution_breastfeeding"), CLEARED)
    assert "absolute contraindication" in errors["decision"]


# --- mg_per_kg and the route maximum ----------------------------------------------------------


@pytest.mark.parametrize(
    "dose, weight, expected",
    [
        ("35", "70", "0.500"),
        ("70", "70", "1.000"),
        ("50", "70.3", "0.711"),  # 0.71124… rounds down
        ("1", "3", "0.333"),
        ("2", "3", "0.667"),  # 0.6666… rounds up
        ("0.1", "400", "0.000"),  # 0.00025 rounds to zero at 3 places
        ("0.2", "400", "0.001"),  # 0.0005 rounds half up
        ("1000", "20", "50.000"),
    ],
)
def test_mg_per_kg_rounds_to_three_places_half_up(dose, weight, expected):
    result = rules.mg_per_kg(Decimal(dose), Decimal(weight))
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -3


IV_MAX = rules.RouteMaximum(Decimal("1.00"), "mg/kg")
IN_MAX = rules.RouteMaximum(Decimal("84"), "mg")


@pytest.mark.parametrize(
    "dose_mg, weight_kg, maximum, exceeds",
    [
        ("70", "70", IV_MAX, False),  # equal to the maximum is allowed
        ("70.1", "70", IV_MAX, True),
        ("35", "70", IV_MAX, False),
        ("400.1", "400", IV_MAX, True),  # stores as 1.000 mg/kg, but is above the maximum
        ("84", "70", IN_MAX, False),  # mg unit: mg/kg is not what counts
        ("84.1", "70", IN_MAX, True),
        ("56", "70", IN_MAX, False),
        ("500", "100", None, False),  # no maximum, nothing exceeds it
    ],
)
def test_dose_exceeds_maximum_at_the_edge(dose_mg, weight_kg, maximum, exceeds):
    assert rules.dose_exceeds_maximum(Decimal(dose_mg), Decimal(weight_kg), maximum) is exceeds


@pytest.mark.parametrize(
    "drug, route, ok",
    [
        (Drug.ESKETAMINE, Route.INTRANASAL, True),
        (Drug.ESKETAMINE, Route.IV, False),
        (Drug.ESKETAMINE, Route.IM, False),
        (Drug.ESKETAMINE, Route.SUBLINGUAL, False),
        (Drug.RACEMIC_KETAMINE, Route.IV, True),
        (Drug.RACEMIC_KETAMINE, Route.IM, True),
        (Drug.RACEMIC_KETAMINE, Route.SUBLINGUAL, True),
        (Drug.RACEMIC_KETAMINE, Route.INTRANASAL, True),
    ],
)
def test_drug_route_error(drug, route, ok):
    error = rules.drug_route_error(drug, route)
    assert (error is None) is ok
    if not ok:
        assert "intranasal" in error.lower()


# --- vital ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, ok",
    [
        ("systolic_bp", 49, False),
        ("systolic_bp", 50, True),
        ("systolic_bp", 260, True),
        ("systolic_bp", 261, False),
        ("diastolic_bp", 29, False),
        ("diastolic_bp", 30, True),
        ("diastolic_bp", 160, True),
        ("diastolic_bp", 161, False),
        ("heart_rate", 24, False),
        ("heart_rate", 25, True),
        ("heart_rate", 220, True),
        ("heart_rate", 221, False),
        ("spo2", 49, False),
        ("spo2", 50, True),
        ("spo2", 100, True),
        ("spo2", 101, False),
        ("respiratory_rate", 3, False),
        ("respiratory_rate", 4, True),
        ("respiratory_rate", 60, True),
        ("respiratory_rate", 61, False),
    ],
)
def test_vital_range_edges(field, value, ok):
    errors = rules.vital_range_errors({field: value})
    if ok:
        assert errors == {}
    else:
        low, high, unit = rules.VITAL_RANGES[field]
        assert set(errors) == {field}
        assert f"{low}–{high} {unit}" in errors[field]
        assert str(value) in errors[field]


@pytest.mark.parametrize("sbp, dbp, ok", [(120, 80, True), (120, 119, True), (120, 120, False), (100, 110, False)])
def test_diastolic_must_be_below_systolic(sbp, dbp, ok):
    errors = rules.vital_range_errors({"systolic_bp": sbp, "diastolic_bp": dbp})
    assert (errors == {}) is ok
    if not ok:
        assert "lower than systolic" in errors["diastolic_bp"]


def test_missing_values_are_not_range_errors():
    assert rules.vital_range_errors({"systolic_bp": None, "heart_rate": None}) == {}


# --- vital alerts -----------------------------------------------------------------------------

DEFAULTS = rules.VitalThresholds(
    hold_systolic=140,
    hold_diastolic=90,
    alert_systolic=180,
    alert_diastolic=110,
    alert_heart_rate=120,
    alert_spo2_below=92,
)
HOLD, HIGH_BP, HIGH_HR, LOW_SPO2 = (
    VitalAlert.PRE_DOSE_HOLD,
    VitalAlert.HIGH_BP,
    VitalAlert.HIGH_HR,
    VitalAlert.LOW_SPO2,
)


@pytest.mark.parametrize(
    "reading, phase, expected",
    [
        ({"systolic_bp": 140, "diastolic_bp": 80}, VitalPhase.PRE_DOSE, []),
        ({"systolic_bp": 141, "diastolic_bp": 80}, VitalPhase.PRE_DOSE, [HOLD]),
        ({"systolic_bp": 130, "diastolic_bp": 90}, VitalPhase.PRE_DOSE, []),
        ({"systolic_bp": 130, "diastolic_bp": 91}, VitalPhase.PRE_DOSE, [HOLD]),
        # The hold is a pre-dose rule only.
        ({"systolic_bp": 150, "diastolic_bp": 95}, VitalPhase.DURING, []),
        ({"systolic_bp": 150, "diastolic_bp": 95}, VitalPhase.PRE_DISCHARGE, []),
        ({"systolic_bp": 180, "diastolic_bp": 100}, VitalPhase.DURING, []),
        ({"systolic_bp": 181, "diastolic_bp": 100}, VitalPhase.DURING, [HIGH_BP]),
        ({"systolic_bp": 170, "diastolic_bp": 110}, VitalPhase.DURING, []),
        ({"systolic_bp": 170, "diastolic_bp": 111}, VitalPhase.DURING, [HIGH_BP]),
        ({"systolic_bp": 181, "diastolic_bp": 100}, VitalPhase.PRE_DOSE, [HOLD, HIGH_BP]),
        ({"heart_rate": 120}, VitalPhase.DURING, []),
        ({"heart_rate": 121}, VitalPhase.DURING, [HIGH_HR]),
        ({"spo2": 92}, VitalPhase.DURING, []),
        ({"spo2": 91}, VitalPhase.DURING, [LOW_SPO2]),
        ({"systolic_bp": None, "diastolic_bp": None, "heart_rate": None, "spo2": None}, VitalPhase.PRE_DOSE, []),
    ],
)
def test_vital_alerts(reading, phase, expected):
    assert rules.vital_alerts(reading, phase, DEFAULTS) == [a.value for a in expected]


def test_vital_alerts_follow_the_clinic_thresholds():
    stricter = rules.VitalThresholds(130, 85, 170, 100, 110, 94)
    assert rules.vital_alerts({"systolic_bp": 131}, VitalPhase.PRE_DOSE, stricter) == [HOLD.value]
    assert rules.vital_alerts({"spo2": 93}, VitalPhase.DURING, stricter) == [LOW_SPO2.value]


# --- monitoring, group size, overlap ----------------------------------------------------------


@pytest.mark.parametrize(
    "drug, route, minutes",
    [
        (Drug.ESKETAMINE, Route.INTRANASAL, 120),
        (Drug.RACEMIC_KETAMINE, Route.INTRANASAL, 60),
        (Drug.RACEMIC_KETAMINE, Route.IV, 60),
        (Drug.RACEMIC_KETAMINE, Route.IM, 60),
        (Drug.RACEMIC_KETAMINE, Route.SUBLINGUAL, 60),
    ],
)
def test_minimum_monitoring_minutes(drug, route, minutes):
    assert rules.minimum_monitoring_minutes(drug, route, 120, 60) == minutes


@pytest.mark.parametrize(
    "fmt, n, ok",
    [
        ("group", 3, False),
        ("group", 4, True),
        ("group", 12, True),
        ("group", 13, False),
        ("individual", 0, False),
        ("individual", 1, True),
        ("individual", 2, False),
    ],
)
def test_group_size_error(fmt, n, ok):
    error = rules.group_size_error(fmt, n)
    assert (error is None) is ok
    if not ok:
        assert str(n) in error


T = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    "a, b, overlap",
    [
        ((T, T + H), (T + H, T + 2 * H), False),  # touching ends
        ((T + H, T + 2 * H), (T, T + H), False),
        ((T, T + 2 * H), (T + H, T + 3 * H), True),
        ((T, T + 3 * H), (T + H, T + 2 * H), True),  # containment
        ((T, T + H), (T, T + H), True),
        ((T, T + H), (T + 2 * H, T + 3 * H), False),
    ],
)
def test_intervals_overlap(a, b, overlap):
    assert rules.intervals_overlap(*a, *b) is overlap
    assert rules.intervals_overlap(*b, *a) is overlap


# --- properties -------------------------------------------------------------------------------

doses = st.decimals(min_value=Decimal("0.1"), max_value=Decimal("1000"), places=1)
weights = st.decimals(min_value=Decimal("20"), max_value=Decimal("400"), places=1)


@given(doses, weights)
def test_mg_per_kg_times_weight_gives_back_the_dose(dose, weight):
    # Rounding to 0.001 mg/kg moves the product by at most half a unit in the last place.
    assert abs(rules.mg_per_kg(dose, weight) * weight - dose) <= Decimal("0.0005") * weight


vital_values = st.fixed_dictionaries({field: st.integers(min_value=0, max_value=300) for field in rules.VITAL_RANGES})


@given(vital_values)
def test_range_errors_name_exactly_the_fields_out_of_range(reading):
    errors = rules.vital_range_errors(reading)
    out = {f for f, (low, high, _) in rules.VITAL_RANGES.items() if not low <= reading[f] <= high}
    inverted = reading["diastolic_bp"] >= reading["systolic_bp"]
    assert set(errors) == out | ({"diastolic_bp"} if inverted else set())
    assert (errors == {}) == (not out and not inverted)


@given(vital_values, st.sampled_from([VitalPhase.DURING, VitalPhase.PRE_DISCHARGE]))
def test_no_hold_outside_the_pre_dose_phase(reading, phase):
    assert VitalAlert.PRE_DOSE_HOLD.value not in rules.vital_alerts(reading, phase, DEFAULTS)


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        (dt.date(1900, 1, 1), False),
        (dt.date(2099, 12, 31), False),
        (dt.date(1899, 12, 31), True),
        (dt.date(2100, 1, 1), True),
        (dt.datetime(562, 3, 10, 15, 0, tzinfo=dt.UTC), True),
        (None, False),
    ],
)
def test_record_dates_are_held_to_the_years_a_record_can_hold(value, refused):
    assert (record_year_errors({"held_at": value}) == {"held_at": RECORD_YEARS_MESSAGE}) is refused
