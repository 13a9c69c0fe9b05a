"""Wilson intervals, the t quantile, mean and SD, Kaplan–Meier: against published values."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.stats import Z95, kaplan_meier, mean_sd, t_quantile_975, wilson


def wilson_by_hand(x: int, n: int) -> tuple[float, float]:
    """The Wilson score interval written out once more, the textbook way."""
    p, z = x / n, 1.959963984540054
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return 100 * (centre - half), 100 * (centre + half)


@pytest.mark.parametrize(
    "x, n, low, high",
    [
        (0, 10, 0.0, 27.8),  # Newcombe 1998, table I
        (5, 10, 23.7, 76.3),
        (10, 10, 72.2, 100.0),
        (9, 13, 42.4, 87.3),  # Feder 2025's 9 responders of 13
        (8, 13, 35.5, 82.3),
        (81, 263, 25.53, 36.62),  # Newcombe 1998, table I: 0.2553-0.3662
        (15, 148, 6.24, 16.05),  # Newcombe 1998, table I: 0.0624-0.1605
    ],
)
def test_wilson_matches_published_intervals(x, n, low, high):
    rate = wilson(x, n)
    assert (rate.numerator, rate.denominator) == (x, n)
    # Published to the digits given: within half a unit of the last one.
    tolerance = 0.05 if low == round(low, 1) and high == round(high, 1) else 0.005
    assert rate.low == pytest.approx(low, abs=tolerance)
    assert rate.high == pytest.approx(high, abs=tolerance)


@pytest.mark.parametrize("x, n", [(1, 3), (7, 19), (42, 100), (999, 1000)])
def test_wilson_agrees_with_the_formula_written_out(x, n):
    rate = wilson(x, n)
    assert (rate.low, rate.high) == pytest.approx(wilson_by_hand(x, n), abs=1e-9)


def test_wilson_at_the_edges_is_exactly_0_and_100():
    assert wilson(0, 9).low == 0.0
    assert wilson(9, 9).high == 100.0
    assert wilson(12, 12).high == 100.0


def test_a_rate_of_nothing_has_no_percentage_and_no_interval():
    rate = wilson(0, 0)
    assert (rate.pct, rate.low, rate.high) == (None, None, None)


def test_rate_percentage():
    assert wilson(9, 13).pct == pytest.approx(69.2307, abs=1e-3)
    assert wilson(0, 4).pct == 0.0


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_observed_rate_and_stays_within_0_and_100(pair):
    x, n = pair
    rate = wilson(x, n)
    assert 0.0 <= rate.low <= rate.pct <= rate.high <= 100.0


def test_z_is_the_normal_975_quantile():
    assert abs(Z95 - 1.959964) < 1e-6


@pytest.mark.parametrize(
    "df, table",
    [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (10, 2.228), (11, 2.201), (20, 2.086)]
    + [(30, 2.042), (60, 2.000), (100, 1.984), (1000, 1.962)],
)
def test_t_quantile_is_within_0_002_of_the_table(df, table):
    assert abs(t_quantile_975(df) - table) < 0.002


def test_t_quantile_falls_towards_z_as_df_grows():
    values = [t_quantile_975(df) for df in range(1, 400)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    assert values[-1] > Z95


def test_t_quantile_needs_one_degree_of_freedom():
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_mean_sd_and_t_interval():
    result = mean_sd([2, 4, 4, 4, 5, 5, 7, 9])
    assert result.n == 8
    assert result.mean == 5.0
    assert result.sd == pytest.approx(math.sqrt(32 / 7))
    half = 2.364624 * math.sqrt(32 / 7) / math.sqrt(8)
    assert (result.low, result.high) == pytest.approx((5 - half, 5 + half), abs=1e-6)


def test_mean_sd_of_one_or_no_value():
    assert mean_sd([7]) == mean_sd([7]).__class__(1, 7.0, None, None, None)
    assert mean_sd([]).mean is None and mean_sd([]).n == 0
    assert mean_sd(v for v in (3, 3)).sd == 0.0


# Freireich et al. 1963, the 6-MP arm (Kleinbaum & Klein, "Survival Analysis", ch. 2): weeks in
# remission, "+" censored. Three events and a censoring tie at week 6.
SIX_MP = [(6, True)] * 3 + [(6, False), (7, True), (9, False), (10, True), (10, False), (11, False)]
SIX_MP += [(13, True), (16, True), (17, False), (19, False), (20, False), (22, True), (23, True), (25, False)]
SIX_MP += [(32, False), (32, False), (34, False), (35, False)]


def test_kaplan_meier_on_the_textbook_example():
    steps = kaplan_meier(SIX_MP)
    by_time = {s.time: s for s in steps}
    assert steps[0].time == 0 and steps[0].survival == 1.0 and steps[0].at_risk == 21
    expected = {6: (21, 3, 1, 0.857), 7: (17, 1, 0, 0.807), 10: (15, 1, 1, 0.753), 13: (12, 1, 0, 0.690)}
    expected |= {16: (11, 1, 0, 0.627), 22: (7, 1, 0, 0.538), 23: (6, 1, 0, 0.448)}
    for time, (at_risk, events, censored, survival) in expected.items():
        step = by_time[time]
        assert (step.at_risk, step.events, step.censored) == (at_risk, events, censored)
        assert round(step.survival, 3) == survival
    # Censorings alone do not move the curve, but they leave the risk set.
    assert by_time[9].survival == by_time[7].survival and by_time[9].at_risk == 16
    assert by_time[35].at_risk == 1 and by_time[35].survival == by_time[23].survival


def test_kaplan_meier_counts_events_before_censorings_at_the_same_time():
    # Were the censoring counted first, the event would be 1 of 2 (0.5), not 1 of 3.
    steps = kaplan_meier([(5, False), (5, True), (9, True)])
    assert steps[1].time == 5 and steps[1].at_risk == 3
    assert steps[1].survival == pytest.approx(2 / 3)
    assert steps[2].at_risk == 1 and steps[2].survival == 0.0


def test_kaplan_meier_keeps_one_step_for_time_zero():
    steps = kaplan_meier([(0, True), (0, False), (3, True)])
    assert [s.time for s in steps] == [0, 3]
    assert steps[0].at_risk == 3 and (steps[0].events, steps[0].censored) == (1, 1)
    assert steps[0].survival == pytest.approx(2 / 3)
    assert steps[1].at_risk == 1 and steps[1].survival == 0.0


def test_kaplan_meier_of_nobody():
    assert kaplan_meier([]) == [kaplan_meier([])[0]]
    assert kaplan_meier([])[0].survival == 1.0


@given(st.lists(st.tuples(st.integers(0, 400), st.booleans()), max_size=60))
def test_kaplan_meier_survival_never_rises_and_ends_at_or_above_zero(observations):
    steps = kaplan_meier(observations)
    survival = [s.survival for s in steps]
    assert all(a >= b for a, b in zip(survival, survival[1:], strict=False))
    assert 0.0 <= survival[-1] <= 1.0
    assert [s.time for s in steps] == sorted({0} | {t for t, _ in observations})
    assert steps[0].at_risk == len(observations)
    # The number at risk at each time is everyone observed at or after it.
    for step in steps:
        assert step.at_risk == sum(1 for t, _ in observations if t >= step.time)


@pytest.mark.parametrize(
    "values, bounds, expected",
    [
        # n = 2 on the PHQ-9: the t interval would be about −24 to 39; too few, none is given.
        ([2, 13], (0, 27), (None, None)),
        ([1, 2, 3, 4], (0, 27), (None, None)),
        # n = 5 near the floor: the interval is cut at 0, the scale's end.
        ([0, 0, 0, 1, 9], (0, 27), (0.0, pytest.approx(2 + 2.776445 * math.sqrt(15.5) / math.sqrt(5)))),
        # Near the ceiling of the GAD-7 (0–21).
        ([21, 21, 21, 21, 12], (0, 21), (pytest.approx(19.2 - 2.776445 * math.sqrt(16.2) / math.sqrt(5)), 21.0)),
        # Well inside the scale: untouched.
        (
            [10, 12, 14, 16, 18],
            (0, 27),
            (
                pytest.approx(14 - 2.776445 * math.sqrt(10) / math.sqrt(5)),
                pytest.approx(14 + 2.776445 * math.sqrt(10) / math.sqrt(5)),
            ),
        ),
    ],
)
def test_mean_intervals_stay_on_the_scale_and_need_five_scores(values, bounds, expected):
    result = mean_sd(values, bounds=bounds)
    assert (result.low, result.high) == expected
    assert result.sd is not None and result.n == len(values)
