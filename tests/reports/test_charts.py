"""Geometry of the outcome report's charts: report figures in, SVG coordinates out."""

import pytest

from reports.charts import (
    AT_RISK_ROW,
    CENSOR_GAP,
    CENSOR_LABEL_GAP,
    HEIGHT,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    WIDTH,
    at_risk_on,
    km_chart,
    km_milestones,
    km_tick_days,
    means_chart,
    nice_step,
    rate_chart,
)
from reports.stats import KMStep, Mean, Rate, kaplan_meier, wilson

LEFT, RIGHT, TOP, BOTTOM = MARGIN_LEFT, WIDTH - MARGIN_RIGHT, MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
PLOT_H = BOTTOM - TOP
LABELS = {"baseline": "Baseline", "end": "End of course", "month_1": "+1 month", "month_3": "+3", "month_6": "+6"}


def y_of(value, top=100):
    return round(BOTTOM - value / top * PLOT_H, 1)


@pytest.mark.parametrize(
    ("y_max", "step"), [(5, 1), (10, 2), (21, 5), (27, 5), (80, 20), (100, 20), (600, 100), (1000, 200)]
)
def test_nice_step_gives_at_most_six_intervals(y_max, step):
    assert nice_step(y_max) == step


def test_means_are_spaced_evenly_and_scaled_to_the_instrument():
    means = {
        "baseline": Mean(18, 16.2, 3.0, 14.7, 17.7),
        "end": Mean(8, 5.4, 1.9, 3.8, 7.0),
        "month_1": Mean(0, None, None, None, None),
        "month_3": Mean(1, 9.0, None, None, None),
        "month_6": Mean(2, 7.5, 3.5, -24.3, 39.3),
    }
    chart = means_chart(means, LABELS, 27)
    slot = (RIGHT - LEFT) / 5
    assert [p.x for p in chart.points] == [round(LEFT + slot * (i + 0.5), 1) for i in range(5)]
    baseline, end, month_1, month_3, month_6 = chart.points
    assert baseline.y == y_of(16.2, 27) and baseline.y_low == y_of(14.7, 27) and baseline.y_high == y_of(17.7, 27)
    assert (baseline.clipped_low, baseline.clipped_high) == (False, False)
    assert month_1.y is None and month_1.n == 0
    assert month_3.y == y_of(9, 27) and month_3.y_low is None  # one score: no interval
    # An interval past the scale is drawn to its edge and flagged (the template draws an arrowhead).
    assert (month_6.y_low, month_6.y_high) == (BOTTOM, TOP) and month_6.clipped_low and month_6.clipped_high
    # The line is broken where a timepoint has no mean.
    assert (
        chart.path == f"M{baseline.x},{baseline.y} L{end.x},{end.y} M{month_3.x},{month_3.y} L{month_6.x},{month_6.y}"
    )
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10", "15", "20", "25"]
    assert chart.y_ticks[0].position == BOTTOM


def test_means_chart_needs_a_positive_scale():
    with pytest.raises(ValueError):
        means_chart({}, LABELS, 0)


def test_rate_bars_carry_height_interval_and_the_count():
    rates = {"month_1": wilson(3, 4), "month_3": wilson(0, 2), "month_6": Rate(0, 0, None, None)}
    chart = rate_chart(rates, {"month_1": "+1", "month_3": "+3", "month_6": "+6"})
    one, three, six = chart.bars
    assert one.y == y_of(75) and one.height == round(BOTTOM - y_of(75), 1)
    assert one.y_low == y_of(rates["month_1"].low) and one.y_high == y_of(rates["month_1"].high)
    assert one.count_label == "3/4"
    assert three.height == 0 and three.count_label == "0/2" and three.y_low == BOTTOM
    assert six.height == 0 and six.y_low is None and six.count_label == "no data"
    assert one.centre == round(one.x + one.width / 2, 1)
    assert [t.label for t in chart.y_ticks] == ["0%", "20%", "40%", "60%", "80%", "100%"]


@pytest.mark.parametrize(
    ("day", "expected"),
    [(0, 5), (10, 5), (11, 4), (60, 4), (61, 2), (150, 2), (151, 0)],
)
def test_number_at_risk_just_before_a_day(day, expected):
    steps = kaplan_meier([(10, False), (60, True), (60, False), (150, True), (150, False)])
    assert at_risk_on(steps, day) == expected


@pytest.mark.parametrize(("x_max", "ticks"), [(180, 7), (210, 8), (240, 5), (400, 7)])
def test_km_ticks_are_whole_months_and_at_most_eight(x_max, ticks):
    days = km_tick_days(x_max)
    assert len(days) == ticks and days[0] == 0 and all(d % 30 == 0 for d in days)


def test_km_curve_is_a_step_function_with_censor_ticks():
    steps = kaplan_meier([(3, False), (3, False), (25, True), (26, False), (152, True), (152, False)])
    chart = km_chart(steps, x_max=210)
    span = RIGHT - LEFT

    def x(day):
        return round(LEFT + day / 210 * span, 1)

    s25 = 100 * (1 - 1 / 4)
    s152 = s25 * (1 - 1 / 2)
    assert chart.path == (f"M{x(0)},{y_of(100)} H{x(3)} H{x(25)} V{y_of(s25)} H{x(26)} H{x(152)} V{y_of(s152)}")
    assert [(c.x, c.y, c.count) for c in chart.censors] == [
        (x(3), y_of(100), 2),
        (x(26), y_of(s25), 1),
        (x(152), y_of(s152), 1),
    ]
    assert [(a.day, a.n) for a in chart.at_risk] == [
        (0, 6),
        (30, 2),
        (60, 2),
        (90, 2),
        (120, 2),
        (150, 2),
        (180, 0),
        (210, 0),
    ]
    assert chart.svg_height == HEIGHT + AT_RISK_ROW


def test_km_axis_defaults_to_six_months_or_the_last_whole_month():
    assert km_chart([KMStep(0, 1, 0, 0, 1.0), KMStep(40, 1, 0, 1, 1.0)]).x_max == 180
    assert km_chart([KMStep(0, 1, 0, 0, 1.0), KMStep(200, 1, 1, 0, 0.0)]).x_max == 210


def test_km_with_an_event_at_day_zero_drops_at_once():
    chart = km_chart(kaplan_meier([(0, True), (90, False)]), x_max=180)
    assert chart.path == f"M{LEFT:.1f},{y_of(100)} H{LEFT:.1f} V{y_of(50)} H{LEFT + (RIGHT - LEFT) / 2:.1f}"


def test_the_km_curve_carries_its_itt_twins_where_they_have_a_denominator():
    from reports.charts import km_chart
    from reports.stats import kaplan_meier, wilson

    chart = km_chart(
        kaplan_meier([(90, False), (180, False)]),
        x_max=210,
        twins=((90, wilson(5, 5)), (180, wilson(2, 3)), (180, wilson(0, 0))),
    )
    assert [t.label for t in chart.twins] == ["ITT 100% (5/5)", "ITT 67% (2/3)"]
    assert chart.twins[0].x < chart.twins[1].x and chart.twins[0].y < chart.twins[1].y  # lower share, lower mark


def test_an_itt_twin_low_on_the_chart_is_labelled_above_its_diamond():
    """Below the diamond, a label near 0% would print over the axis's day labels."""
    from reports.charts import km_chart
    from reports.stats import kaplan_meier, wilson

    twins = ((90, wilson(0, 2)), (180, wilson(2, 2)), (120, wilson(1, 2)))
    chart = km_chart(kaplan_meier([(90, False), (180, False)]), x_max=210, twins=twins)
    assert [t.label_dy for t in chart.twins] == [-11, 20, 20]


def test_the_km_table_reads_the_curve_at_the_axis_days():
    steps = kaplan_meier([(3, False), (3, False), (25, True), (26, False), (152, True), (152, False)])
    rows = km_milestones(steps, km_tick_days(210))
    assert [(m.day, m.at_risk, m.lost, m.censored, m.survival) for m in rows] == [
        (0, 6, 0, 0, 1.0),
        (30, 2, 1, 3, 0.75),
        (60, 2, 1, 3, 0.75),
        (90, 2, 1, 3, 0.75),
        (120, 2, 1, 3, 0.75),
        (150, 2, 1, 3, 0.75),
        (180, 0, 2, 4, None),  # past the last observation (day 152) the estimate is not known
        (210, 0, 2, 4, None),
    ]
    # A curve that reaches 0 is known to stay there.
    assert km_milestones(kaplan_meier([(10, True)]), [0, 30])[-1].survival == 0.0


def test_km_censor_ticks_stay_as_few_as_the_axis_has_room_for():
    # A large practice: censorings on each of 200 days, 3 a day.
    steps = kaplan_meier([(day, False) for day in range(1, 201) for _ in range(3)] + [(100, True)])
    chart = km_chart(steps, x_max=210)
    xs = [c.x for c in chart.censors]
    assert all(b - a >= CENSOR_GAP for a, b in zip(xs, xs[1:], strict=False))
    assert len(xs) <= (RIGHT - LEFT) / CENSOR_GAP + 1
    assert sum(c.count for c in chart.censors) == 600  # every censored course is on some tick
    labelled = [c.x for c in chart.censors if c.labelled]
    assert all(b - a >= CENSOR_LABEL_GAP for a, b in zip(labelled, labelled[1:], strict=False))
