"""Geometry of the outcome report's charts as pure functions: report figures in, SVG coordinates out.

Three charts (the templates under templates/reports/charts/ draw what these return, on screen
and in the PDF alike): mean score by timepoint with 95% CI error bars, the share of
end-of-course responders still responding at each follow-up with Wilson intervals, and the
Kaplan–Meier curve of time to loss of response with its number-at-risk table. Nothing here
knows the ORM, the request or the template.
"""

from dataclasses import dataclass

from measures.charts import Tick  # one tick type for every chart
from reports.aggregate import count_hidden, suppressed
from reports.stats import KMStep, Mean, Rate

WIDTH = 640
HEIGHT = 280
MARGIN_LEFT = 52
MARGIN_RIGHT = 16
MARGIN_TOP = 20
MARGIN_BOTTOM = 48
CAP = 7  # half-width of an error bar's cap, px
KM_TICK_DAYS = 30  # x ticks of the Kaplan–Meier chart every month, more when the span is long
KM_MAX_TICKS = 8
AT_RISK_ROW = 26  # px under the Kaplan–Meier plot for its number-at-risk row
# Censor ticks closer than this (px) are drawn as one, with their counts summed; a "×N" label is
# printed only this far (px) from the last one. With thousands of courses there is a censoring on
# almost every day: one tick and label each would draw over one another (and each SVG text costs
# the PDF a few milliseconds), so the marks stay as few as the axis has room for.
CENSOR_GAP = 8
CENSOR_LABEL_GAP = 26


def _round(value: float) -> float:
    return round(value, 1)


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top


def _frame(width: int, height: int) -> Frame:
    return Frame(width, height, MARGIN_LEFT, width - MARGIN_RIGHT, MARGIN_TOP, height - MARGIN_BOTTOM)


def _y_scale(frame: Frame, y_max: float):
    def y_of(value: float) -> float:
        return _round(frame.bottom - min(max(value, 0), y_max) / y_max * frame.plot_height)

    return y_of


def nice_step(y_max: float, most: int = 6) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … that gives at most `most` intervals up to y_max."""
    step, factors = 1, (1, 2, 5)
    magnitude = 1
    while True:
        for f in factors:
            step = f * magnitude
            if y_max / step <= most:
                return step
        magnitude *= 10


def _y_ticks(y_of, y_max: int, suffix: str = "") -> tuple[Tick, ...]:
    step = nice_step(y_max)
    values = list(range(0, y_max + 1, step))
    return tuple(Tick(y_of(v), f"{v}{suffix}") for v in values)


# --- mean score by timepoint ---------------------------------------------------------------


@dataclass(frozen=True)
class MeanPoint:
    key: str
    label: str
    x: float
    n: int
    mean: float | None
    y: float | None  # None when no course had a score at this timepoint
    y_low: float | None  # error bar ends; None when n < 2 (no interval)
    y_high: float | None
    clipped_low: bool  # the interval runs past the scale: drawn to the edge with an arrow
    clipped_high: bool
    hidden: bool = False  # a small cell in a file to share: no point, no n


@dataclass(frozen=True)
class MeansChart:
    frame: Frame
    y_max: int
    points: tuple[MeanPoint, ...]
    path: str  # joins consecutive timepoints that have a mean
    y_ticks: tuple[Tick, ...]


def means_chart(
    means: dict[str, Mean],
    labels: dict[str, str],
    y_max: int,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    hidden: frozenset = frozenset(),
) -> MeansChart:
    """Timepoints in the order of `labels`, evenly spaced; the y axis is the instrument's range.
    A `hidden` timepoint (a small cell in a file to share) is not drawn, and its n is not kept."""
    if y_max <= 0:
        raise ValueError("y_max must be positive")
    frame = _frame(width, height)
    y_of = _y_scale(frame, y_max)
    keys = list(labels)
    slot = frame.plot_width / len(keys)
    points = []
    for i, key in enumerate(keys):
        m = means.get(key) or Mean(0, None, None, None, None)
        if small := key in hidden:
            m = Mean(0, None, None, None, None)
        x = _round(frame.left + slot * (i + 0.5))
        has_ci = m.mean is not None and m.low is not None and m.high is not None
        points.append(
            MeanPoint(
                key=key,
                label=labels[key],
                x=x,
                n=m.n,
                mean=m.mean,
                y=y_of(m.mean) if m.mean is not None else None,
                y_low=y_of(m.low) if has_ci else None,
                y_high=y_of(m.high) if has_ci else None,
                clipped_low=has_ci and m.low < 0,
                clipped_high=has_ci and m.high > y_max,
                hidden=small,
            )
        )
    path, pen_down = [], False
    for p in points:
        if p.y is None:
            pen_down = False
            continue
        path.append(f"{'L' if pen_down else 'M'}{p.x},{p.y}")
        pen_down = True
    return MeansChart(frame, y_max, tuple(points), " ".join(path), _y_ticks(y_of, y_max))


# --- responders still responding -------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    x: float  # left edge
    centre: float
    width: float
    y: float  # top of the bar
    height: float
    rate: Rate
    y_low: float | None
    y_high: float | None
    count_label: str  # "3/4", printed above the bar so the n is never only in the table
    hidden: bool = False  # a small cell in a file to share: no bar, no counts


@dataclass(frozen=True)
class RateChart:
    frame: Frame
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]


def rate_chart(
    rates: dict[str, Rate],
    labels: dict[str, str],
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    threshold: int = 0,
) -> RateChart:
    """One bar per key of `labels`, its height the percentage (0–100) with its Wilson interval.
    A rate with no denominator gets no bar (height 0) and "no data" for its label; a rate that is a
    small cell under `threshold` (aggregate.suppressed) gets no bar and keeps none of its counts."""
    frame = _frame(width, height)
    y_of = _y_scale(frame, 100)
    keys = list(labels)
    slot = frame.plot_width / len(keys)
    bar_width = _round(min(slot * 0.5, 90))
    bars = []
    for i, key in enumerate(keys):
        rate = rates.get(key) or Rate(0, 0, None, None)
        hidden = threshold > 0 and suppressed(rate, threshold)
        if hidden:
            rate = Rate(0, 0, None, None)
        centre = _round(frame.left + slot * (i + 0.5))
        pct = rate.pct
        top = y_of(pct) if pct is not None else frame.bottom
        bars.append(
            Bar(
                key=key,
                label=labels[key],
                x=_round(centre - bar_width / 2),
                centre=centre,
                width=bar_width,
                y=top,
                height=_round(frame.bottom - top),
                rate=rate,
                y_low=y_of(rate.low) if rate.low is not None else None,
                y_high=y_of(rate.high) if rate.high is not None else None,
                count_label=(
                    f"suppressed (< {threshold})"
                    if hidden
                    else f"{rate.numerator}/{rate.denominator}"
                    if rate.denominator
                    else "no data"
                ),
                hidden=hidden,
            )
        )
    return RateChart(frame, tuple(bars), _y_ticks(y_of, 100, "%"))


# --- Kaplan–Meier ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CensorMark:
    x: float
    y: float
    count: int  # censored courses this tick stands for (0: a small cell, not shown)
    labelled: bool = True  # room for its "×N" beside the previous label


@dataclass(frozen=True)
class AtRisk:
    day: int
    x: float
    n: int | None  # None: a small cell in a file to share


@dataclass(frozen=True)
class TwinMark:
    """An intention-to-treat figure drawn on the observed-cases curve, so the curve never stands alone."""

    x: float
    y: float
    label: str  # "ITT 67%"
    # The label's baseline from the diamond: below it in the upper half of the chart, above it in
    # the lower half, where below would print over the axis's day labels.
    label_dy: int = 20


@dataclass(frozen=True)
class KMChart:
    frame: Frame
    x_max: int
    path: str
    censors: tuple[CensorMark, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    at_risk: tuple[AtRisk, ...]
    at_risk_y: float  # the baseline of the number-at-risk row, under the x-axis title
    svg_height: int
    twins: tuple[TwinMark, ...] = ()


def at_risk_on(steps: list[KMStep], day: int) -> int:
    """How many were still followed and responding just before `day`: the at-risk count of the
    first step on or after it (nobody is left after the last step)."""
    for step in steps:
        if step.time >= day:
            return step.at_risk
    return 0


def km_tick_days(x_max: int) -> list[int]:
    step = KM_TICK_DAYS
    while x_max / step > KM_MAX_TICKS - 1:
        step *= 2
    return list(range(0, x_max + 1, step))


def km_chart(
    steps: list[KMStep],
    *,
    x_max: int | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    twins: tuple[tuple[int, Rate], ...] = (),
    threshold: int = 0,
) -> KMChart:
    """The curve; `twins` are (day, rate) intention-to-treat figures marked on it (sustained
    response among every end-of-course responder at +3 and +6 months).

    The survival estimate as a right-continuous step function from day 0 at 100%, ending at
    the last observation (beyond it nothing is known); a tick where courses were censored; and
    the number at risk under each x tick. The x axis runs to `x_max` days (default: the last
    step rounded up to a whole month, at least 180 days).

    With a `threshold` (a file to share outside the clinic) the curve stops where fewer than
    `threshold` courses are still at risk, since each step below it is a small cell; the at-risk
    row says "< N" there, and a censor tick counting a small cell keeps no count."""
    frame = _frame(width, height)
    all_steps = steps
    steps = km_steps_shown(steps, threshold)
    last = all_steps[-1].time if all_steps else 0
    if x_max is None:
        x_max = max(180, -(-last // KM_TICK_DAYS) * KM_TICK_DAYS)
    y_of = _y_scale(frame, 100)

    def x_of(day: float) -> float:
        return _round(frame.left + min(day, x_max) / x_max * frame.plot_width)

    path = [f"M{x_of(0)},{y_of(100)}"]
    survival = 1.0
    censored = []  # [x, y, count] of each tick
    for step in steps:
        if step.time > 0 or step.events:
            path.append(f"H{x_of(step.time)}")
            if step.survival != survival:
                survival = step.survival
                path.append(f"V{y_of(100 * survival)}")
        if step.censored:
            x, y = x_of(step.time), y_of(100 * survival)
            if censored and x - censored[-1][0] < CENSOR_GAP:
                censored[-1][2] += step.censored  # drawn as one tick with the one before it
            else:
                censored.append([x, y, step.censored])
    censors, last_label = [], None
    for x, y, n in censored:
        labelled = n > 1 and (last_label is None or x - last_label >= CENSOR_LABEL_GAP)
        last_label = x if labelled else last_label
        censors.append(CensorMark(x, y, 0 if count_hidden(n, threshold) else n, labelled))
    days = km_tick_days(x_max)

    def at_risk(day: int) -> int | None:
        n = at_risk_on(all_steps, day)
        return None if count_hidden(n, threshold) else n

    return KMChart(
        frame=frame,
        x_max=x_max,
        path=" ".join(path),
        censors=tuple(censors),
        x_ticks=tuple(Tick(x_of(d), str(d)) for d in days),
        y_ticks=_y_ticks(y_of, 100, "%"),
        at_risk=tuple(AtRisk(d, x_of(d), at_risk(d)) for d in days),
        at_risk_y=height + AT_RISK_ROW - 8,
        svg_height=height + AT_RISK_ROW,
        twins=tuple(
            TwinMark(
                x_of(day),
                y_of(rate.pct),
                f"ITT {rate.pct:.0f}% ({rate.numerator}/{rate.denominator})",
                label_dy=20 if rate.pct >= 50 else -11,
            )
            for day, rate in twins
            if rate.denominator and not (threshold and suppressed(rate, threshold))
        ),
    )


@dataclass(frozen=True)
class KMMilestone:
    """The curve read at one day of its x axis: a bounded summary of its steps for the printed
    table (the steps themselves grow with the practice; the CSV holds them all)."""

    day: int
    at_risk: int  # still followed and responding just before `day` (the chart's at-risk row)
    lost: int  # lost response on or before `day`, in all
    censored: int  # censored on or before `day`, in all
    survival: float | None  # the estimate on `day`; None past the last observation (not known)


def km_milestones(steps: list[KMStep], days: list[int]) -> list[KMMilestone]:
    """The curve at each of `days`, as a Kaplan–Meier table reads: the number at risk on the day
    (still followed and responding, as under the chart), the lost responses and censorings up to
    and including it, and the estimate S(day). Past the last observation S is not known."""
    rows = []
    last = steps[-1].time if steps else 0
    for day in days:
        upto = [s for s in steps if s.time <= day]
        survival = upto[-1].survival if upto else 1.0
        known = day <= last or survival == 0
        rows.append(
            KMMilestone(
                day=day,
                at_risk=at_risk_on(steps, day),
                lost=sum(s.events for s in upto),
                censored=sum(s.censored for s in upto),
                survival=survival if known else None,
            )
        )
    return rows


def km_steps_shown(steps: list[KMStep], threshold: int) -> list[KMStep]:
    """The steps a file for `threshold` may show: those with at least `threshold` at risk (the
    number at risk only falls, so this is the start of the curve). Threshold 0 keeps them all."""
    return [s for s in steps if not count_hidden(s.at_risk, threshold)]
