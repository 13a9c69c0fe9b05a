"""Small statistics, pure: Wilson intervals for rates, mean/SD with a t interval, Kaplan–Meier.

Written here rather than pulled from SciPy: each is a few lines with table tests, and the
reports need nothing else from a numerical stack.
"""

import math
from collections import Counter
from dataclasses import dataclass
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    low: float | None
    high: float | None

    @property
    def pct(self) -> float | None:
        return None if self.denominator == 0 else 100.0 * self.numerator / self.denominator


def wilson(numerator: int, denominator: int, z: float = Z95) -> Rate:
    """Wilson score interval (95% by default) for numerator/denominator, in percent."""
    if denominator == 0:
        return Rate(numerator, 0, None, None)
    p = numerator / denominator
    centre = p + z * z / (2 * denominator)
    spread = z * math.sqrt(p * (1 - p) / denominator + z * z / (4 * denominator * denominator))
    scale = 1 + z * z / denominator
    # At 0/n and n/n the bounds are exactly 0% and 100%; the float arithmetic lands a few ulps
    # off (2e-15% above zero, or just above 100%), so they are pinned there.
    low = 0.0 if numerator == 0 else max(0.0, 100.0 * (centre - spread) / scale)
    high = 100.0 if numerator == denominator else min(100.0, 100.0 * (centre + spread) / scale)
    return Rate(numerator, denominator, low, high)


# Published values for small df, where the expansion below is too coarse (3.1786 for df 3,
# against 3.1824).
T_975_SMALL_DF = {
    1: 12.706205,
    2: 4.302653,
    3: 3.182446,
    4: 2.776445,
    5: 2.570582,
    6: 2.446912,
    7: 2.364624,
    8: 2.306004,
    9: 2.262157,
    10: 2.228139,
}


def t_quantile_975(df: int) -> float:
    """Student's t 97.5th percentile: the table for df up to 10, the Cornish–Fisher expansion
    above (within 1e-5 from df 11)."""
    if df < 1:
        raise ValueError("df must be at least 1")
    if df in T_975_SMALL_DF:
        return T_975_SMALL_DF[df]
    z = Z95
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


# Below this many scores a t interval for the mean is too wide to say anything (n = 2 gives
# ±12.7 SD/√2): the report says "too few for an interval" instead of printing one.
MIN_N_FOR_MEAN_INTERVAL = 5


@dataclass(frozen=True)
class Mean:
    n: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None


def mean_sd(values, *, bounds: tuple[float, float] | None = None) -> Mean:
    """Mean, sample SD and a 95% t interval for the mean, given from MIN_N_FOR_MEAN_INTERVAL scores.

    `bounds` is the scale's range (0–27 for the PHQ-9): a mean cannot lie outside it, so neither
    does the interval printed for it (the t interval is cut at the scale's ends)."""
    values = list(values)
    return mean_from_moments(len(values), sum(values), sum(v * v for v in values), bounds=bounds)


def mean_from_moments(n: int, total, squares, *, bounds: tuple[float, float] | None = None) -> Mean:
    """mean_sd from the count, the sum and the sum of squares of the values: what a database can
    add up. Scores are integers, so the sums are exact and the variance is one exact fraction
    (n·Σx² − (Σx)²) / (n(n−1)) rounded once: the same figure however the values were summed."""
    if n == 0:
        return Mean(0, None, None, None, None)
    mean = total / n
    if n == 1:
        return Mean(1, mean, None, None, None)
    spread = n * squares - total * total
    sd = math.sqrt(max(spread, 0) / (n * (n - 1)))
    if n < MIN_N_FOR_MEAN_INTERVAL:
        return Mean(n, mean, sd, None, None)
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Mean(n, mean, sd, low, high)


@dataclass(frozen=True)
class KMStep:
    time: int
    at_risk: int
    events: int
    censored: int
    survival: float


def kaplan_meier(observations) -> list[KMStep]:
    """Kaplan–Meier estimate from (time, event) pairs; event False means censored at that time.
    Returns one step per distinct time, starting with time 0 (survival 1 unless an event happens
    then). At a tie, events are counted before censorings (the usual convention)."""
    counts = Counter((t, bool(e)) for t, e in observations)
    at_risk = sum(counts.values())
    steps = [KMStep(0, at_risk, 0, 0, 1.0)]
    survival = 1.0
    for time in sorted({t for t, _ in counts}):
        events, censored = counts[(time, True)], counts[(time, False)]
        if events:
            survival *= 1 - events / at_risk
        if time == 0:
            # The curve's first step is time 0: what happens then is recorded on it, not on a
            # second step at the same time.
            steps[0] = KMStep(0, at_risk, events, censored, survival)
        else:
            steps.append(KMStep(time, at_risk, events, censored, survival))
        at_risk -= events + censored
    return steps
