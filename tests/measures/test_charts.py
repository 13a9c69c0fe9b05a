"""The chart geometry as a pure function: tables of cases, no database."""

from datetime import date

import pytest

from measures.charts import (
    HEIGHT,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    WIDTH,
    BandSpec,
    DoseMark,
    ScorePoint,
    chart_geometry,
    date_domain,
    tick_label,
    x_tick_days,
    y_tick_values,
)

PHQ9_BANDS = [
    BandSpec(0, 4, "Minimal"),
    BandSpec(5, 9, "Mild"),
    BandSpec(10, 14, "Moderate"),
    BandSpec(15, 19, "Moderately severe"),
    BandSpec(20, 27, "Severe"),
]
LEFT, RIGHT, TOP, BOTTOM = MARGIN_LEFT, WIDTH - MARGIN_RIGHT, MARGIN_TOP, HEIGHT - MARGIN_BOTTOM


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ([date(2026, 3, 10)], (date(2026, 3, 3), date(2026, 3, 17))),  # one day: a week either side
        ([date(2026, 3, 1), date(2026, 3, 11)], (date(2026, 2, 27), date(2026, 3, 13))),  # at least 2 days
        ([date(2026, 1, 1), date(2026, 7, 20)], (date(2025, 12, 24), date(2026, 7, 28))),  # 4 % of 200 days
    ],
)
def test_date_domain_pads_both_ends(days, expected):
    assert date_domain(days) == expected


def test_date_domain_needs_a_day():
    with pytest.raises(ValueError):
        date_domain([])


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (date(2026, 3, 1), date(2026, 3, 1), [date(2026, 3, 1)]),
        (date(2026, 3, 1), date(2026, 3, 3), [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]),
        (date(2026, 3, 1), date(2026, 3, 11), [date(2026, 3, d) for d in (1, 3, 5, 7, 9, 11)]),
    ],
)
def test_x_ticks_are_evenly_spaced_whole_days(first, last, expected):
    assert x_tick_days(first, last) == expected


@pytest.mark.parametrize(
    ("day", "previous", "label"),
    [
        (date(2026, 3, 10), None, "Mar 10, 2026"),
        (date(2026, 3, 17), date(2026, 3, 10), "Mar 17"),
        (date(2027, 1, 2), date(2026, 12, 20), "Jan 2, 2027"),
    ],
)
def test_tick_labels_carry_the_year_where_it_changes(day, previous, label):
    assert tick_label(day, previous) == label


@pytest.mark.parametrize(
    ("y_max", "bands", "ticks"),
    [
        (27, PHQ9_BANDS, [0, 5, 10, 15, 20, 27]),  # 25 would crowd 27
        (21, PHQ9_BANDS[:3] + [BandSpec(15, 21, "Severe")], [0, 5, 10, 15, 21]),
        (80, [BandSpec(33, 80, "Provisional PTSD")], [0, 10, 20, 33, 40, 50, 60, 70, 80]),  # 30 would crowd 33
    ],
)
def test_y_ticks_include_band_edges_and_the_maximum(y_max, bands, ticks):
    assert y_tick_values(y_max, bands) == ticks


@pytest.mark.parametrize(
    ("score", "y"),
    [(0, BOTTOM), (27, TOP), (10, round(BOTTOM - 10 / 27 * (BOTTOM - TOP), 1)), (40, TOP), (-3, BOTTOM)],
)
def test_scores_map_onto_the_plot_height_and_are_clamped(score, y):
    chart = chart_geometry(points=[ScorePoint(date(2026, 3, 10), score)], doses=[], y_max=27, bands=[])
    assert chart.points[0].y == y


def test_points_are_in_date_order_and_span_the_plot_width():
    points = [ScorePoint(date(2026, 4, 9), 6), ScorePoint(date(2026, 3, 10), 18), ScorePoint(date(2026, 3, 25), 11)]
    chart = chart_geometry(points=points, doses=[], y_max=27, bands=PHQ9_BANDS)
    assert [p.score for p in chart.points] == [18, 11, 6]
    xs = [p.x for p in chart.points]
    assert LEFT < xs[0] < xs[1] < xs[2] < RIGHT
    first, last = date_domain([p.day for p in points])
    span = (last - first).days
    assert xs[0] == round(LEFT + (date(2026, 3, 10) - first).days / span * (RIGHT - LEFT), 1)
    assert chart.path.startswith(f"M{xs[0]},") and chart.path.count("L") == 2


def test_bands_are_shaded_from_their_low_edge_to_the_next_bands_low_edge():
    chart = chart_geometry(points=[ScorePoint(date(2026, 3, 10), 12)], doses=[], y_max=27, bands=PHQ9_BANDS)
    scale = (BOTTOM - TOP) / 27
    assert [b.label for b in chart.bands] == ["Minimal", "Mild", "Moderate", "Moderately severe", "Severe"]
    minimal, severe = chart.bands[0], chart.bands[-1]
    assert minimal.y + minimal.height == pytest.approx(BOTTOM, abs=0.2)
    assert minimal.height == pytest.approx(5 * scale, abs=0.2)
    assert severe.y == TOP and severe.height == pytest.approx(7 * scale, abs=0.2)
    total = sum(b.height for b in chart.bands)
    assert total == pytest.approx(BOTTOM - TOP, abs=0.5)  # no gap, no overlap
    assert all(b.y < b.label_y < b.y + b.height + 4 for b in chart.bands)


def test_a_cut_off_band_covers_the_cut_off_to_the_top():
    chart = chart_geometry(
        points=[ScorePoint(date(2026, 3, 10), 40)], doses=[], y_max=80, bands=[BandSpec(33, 80, "Provisional PTSD")]
    )
    (band,) = chart.bands
    assert band.y == TOP and band.y + band.height == pytest.approx(BOTTOM - 33 / 80 * (BOTTOM - TOP), abs=0.2)


def test_doses_are_numbered_in_date_order_and_maintenance_is_marked_m():
    doses = [
        DoseMark(date(2026, 3, 20), False),
        DoseMark(date(2026, 3, 13), False),
        DoseMark(date(2026, 5, 1), True),
    ]
    chart = chart_geometry(points=[ScorePoint(date(2026, 3, 10), 15)], doses=doses, y_max=27, bands=PHQ9_BANDS)
    assert [(d.label, d.maintenance) for d in chart.doses] == [("1", False), ("2", False), ("M", True)]
    assert chart.doses[0].x < chart.doses[1].x < chart.doses[2].x
    assert chart.x_ticks[-1].position == RIGHT  # the domain reaches the last dose, padded


def test_x_ticks_sit_inside_the_plot_and_the_first_carries_the_year():
    points = [ScorePoint(date(2026, 3, 10), 15), ScorePoint(date(2026, 9, 10), 4)]
    chart = chart_geometry(points=points, doses=[], y_max=27, bands=PHQ9_BANDS)
    assert 2 <= len(chart.x_ticks) <= 6
    assert chart.x_ticks[0].position == LEFT and chart.x_ticks[-1].position == RIGHT
    assert chart.x_ticks[0].label.endswith(", 2026") and "," not in chart.x_ticks[1].label


def test_y_max_must_be_positive():
    with pytest.raises(ValueError):
        chart_geometry(points=[ScorePoint(date(2026, 3, 10), 1)], doses=[], y_max=0, bands=[])


def test_crowded_point_labels_alternate_above_and_below():
    days = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 6, 1)]
    chart = chart_geometry(points=[ScorePoint(d, 10) for d in days], doses=[], y_max=27, bands=PHQ9_BANDS)
    assert [p.label_dy for p in chart.points] == [-10, 20, -10, -10]


def test_crowded_dose_labels_take_a_second_row():
    days = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 6, 1)]
    chart = chart_geometry(
        points=[ScorePoint(date(2026, 3, 1), 10)], doses=[DoseMark(d, False) for d in days], y_max=27, bands=[]
    )
    rows = [d.label_y for d in chart.doses]
    assert rows[0] == rows[2] == rows[3] == TOP - 6 and rows[1] == TOP - 20


def test_charts_given_one_domain_share_the_time_axis():
    domain = (date(2026, 2, 1), date(2026, 9, 30))
    one = chart_geometry(points=[ScorePoint(date(2026, 3, 10), 5)], doses=[], y_max=27, bands=[], domain=domain)
    two = chart_geometry(points=[ScorePoint(date(2026, 3, 10), 50)], doses=[], y_max=80, bands=[], domain=domain)
    assert one.points[0].x == two.points[0].x and one.x_ticks == two.x_ticks
