"""Geometry of a score-over-time chart as a pure function: plain dates and numbers in, SVG coordinates out.

The template draws what `chart_geometry` returns; nothing here knows the ORM or the request.
x is the calendar day (clinic time zone, decided by the caller), y the score from 0 to the
instrument's maximum. Severity bands are shaded from their low score to the next band's low,
so band edges sit exactly on the axis ticks.
"""

from dataclasses import dataclass
from datetime import date, timedelta

WIDTH = 760
HEIGHT = 300
MARGIN_LEFT = 44
MARGIN_RIGHT = 170  # room for the band labels, right of the plot
MARGIN_TOP = 34  # room for two rows of dosing-session labels
LABEL_GAP = 24  # closer than this (px), neighbouring labels are staggered
MARGIN_BOTTOM = 40
MAX_X_TICKS = 6


@dataclass(frozen=True)
class ScorePoint:
    day: date
    score: int


@dataclass(frozen=True)
class DoseMark:
    day: date
    maintenance: bool


@dataclass(frozen=True)
class BandSpec:
    low: int
    high: int
    label: str


@dataclass(frozen=True)
class PlottedPoint:
    x: float
    y: float
    day: date
    score: int
    label_dy: int = -10  # above the point, or below it when the neighbour's label is above


@dataclass(frozen=True)
class PlottedBand:
    index: int
    y: float
    height: float
    label: str
    label_y: float


@dataclass(frozen=True)
class PlottedDose:
    x: float
    label: str
    maintenance: bool
    label_y: float = 0


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    points: tuple[PlottedPoint, ...]
    path: str
    bands: tuple[PlottedBand, ...]
    doses: tuple[PlottedDose, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top


def _round(value: float) -> float:
    return round(value, 1)


def date_domain(days: list[date]) -> tuple[date, date]:
    """The first and last day shown: every point and dose, padded so none sits on the frame."""
    if not days:
        raise ValueError("a chart needs at least one day")
    first, last = min(days), max(days)
    span = (last - first).days
    pad = max(2, round(span * 0.04))
    if span == 0:
        pad = 7
    return first - timedelta(days=pad), last + timedelta(days=pad)


def x_tick_days(first: date, last: date, most: int = MAX_X_TICKS) -> list[date]:
    """Up to `most` evenly spaced whole days from first to last, both included."""
    span = (last - first).days
    count = min(most, span + 1)
    if count <= 1:
        return [first]
    return list(dict.fromkeys(first + timedelta(days=round(i * span / (count - 1))) for i in range(count)))


def tick_label(day: date, previous: date | None) -> str:
    # The year is printed on the first tick and wherever it changes; the rest stay short.
    if previous is None or previous.year != day.year:
        return f"{day:%b} {day.day}, {day.year}"
    return f"{day:%b} {day.day}"


def y_tick_values(y_max: int, bands: list[BandSpec]) -> list[int]:
    step = 5 if y_max <= 30 else 10
    edges = {y_max} | {b.low for b in bands if 0 <= b.low <= y_max}
    # A round tick that would crowd the label of the maximum or of a band edge is left out.
    round_ticks = {v for v in range(0, y_max + 1, step) if all(abs(v - e) >= step / 2 for e in edges if e != v)}
    return sorted(round_ticks | edges)


def chart_geometry(
    *,
    points: list[ScorePoint],
    doses: list[DoseMark],
    y_max: int,
    bands: list[BandSpec],
    width: int = WIDTH,
    height: int = HEIGHT,
    domain: tuple[date, date] | None = None,
) -> Chart:
    """Coordinates of everything on one chart. Points are drawn in date order; doses are
    numbered 1, 2, … in date order, maintenance doses labelled M. Pass the same `domain` to
    several charts (see `date_domain`) to put them on one time axis."""
    if y_max <= 0:
        raise ValueError("y_max must be positive")
    left, right = MARGIN_LEFT, width - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, height - MARGIN_BOTTOM
    first, last = domain or date_domain([p.day for p in points] + [d.day for d in doses])
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        return _round(left + (day - first).days / span * (right - left))

    def y_of(score: float) -> float:
        return _round(bottom - min(max(score, 0), y_max) / y_max * (bottom - top))

    plotted_points: list[PlottedPoint] = []
    for p in sorted(points, key=lambda p: p.day):
        x, y = x_of(p.day), y_of(p.score)
        previous = plotted_points[-1] if plotted_points else None
        crowded = previous is not None and x - previous.x < LABEL_GAP and previous.label_dy < 0
        plotted_points.append(PlottedPoint(x, y, p.day, p.score, 20 if crowded else -10))
    plotted = tuple(plotted_points)
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(plotted))

    plotted_bands = []
    for index, band in enumerate(sorted(bands, key=lambda b: b.low)):
        upper = min(band.high + 1, y_max)
        y_top, y_low = y_of(upper), y_of(band.low)
        plotted_bands.append(
            PlottedBand(index, y_top, _round(y_low - y_top), band.label, _round((y_top + y_low) / 2 + 4))
        )

    marks: list[PlottedDose] = []
    induction = 0
    upper_row, lower_row = _round(top - 20), _round(top - 6)
    for dose in sorted(doses, key=lambda d: (d.day, d.maintenance)):
        if dose.maintenance:
            label = "M"
        else:
            induction += 1
            label = str(induction)
        x = x_of(dose.day)
        crowded = bool(marks) and x - marks[-1].x < LABEL_GAP / 2 and marks[-1].label_y == lower_row
        marks.append(PlottedDose(x, label, dose.maintenance, upper_row if crowded else lower_row))

    days = x_tick_days(first, last)
    x_ticks = tuple(Tick(x_of(d), tick_label(d, days[i - 1] if i else None)) for i, d in enumerate(days))
    y_ticks = tuple(Tick(y_of(v), str(v)) for v in y_tick_values(y_max, bands))
    return Chart(
        width, height, left, right, top, bottom, plotted, path, tuple(plotted_bands), tuple(marks), x_ticks, y_ticks
    )
