"""Small statistics, pure: Wilson intervals for rates, mean/SD with a t interval, Kaplan–Meier.

Written here rather than pulled from SciPy: each is a few lines with table tests, and the
reports need nothing else from a numerical stack.
"""

import math
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
    return Rate(numerator, denominator, 100.0 * (centre - spread) / scale, 100.0 * (centre + spread) / scale)


def t_quantile_975(df: int) -> float:
    """Student's t 97.5th percentile, by the Cornish–Fisher expansion (within 0.002 for df >= 3;
    exact values for df 1 and 2)."""
    if df < 1:
        raise ValueError("df must be at least 1")
    if df == 1:
        return 12.706204736
    if df == 2:
        return 4.302652730
    z = Z95
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True)
class Mean:
    n: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None


def mean_sd(values) -> Mean:
    """Mean, sample SD and a 95% t interval for the mean."""
    values = list(values)
    n = len(values)
    if n == 0:
        return Mean(0, None, None, None, None)
    mean = sum(values) / n
    if n == 1:
        return Mean(1, mean, None, None, None)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return Mean(n, mean, sd, mean - half, mean + half)


@dataclass(frozen=True)
class KMStep:
    time: int
    at_risk: int
    events: int
    censored: int
    survival: float


def kaplan_meier(observations) -> list[KMStep]:
    """Kaplan–Meier estimate from (time, event) pairs; event False means censored at that time.
    Returns one step per distinct time, starting with time 0 at survival 1. At a tie, events
    are counted before censorings (the usual convention)."""
    observations = sorted(observations)
    at_risk = len(observations)
    steps = [KMStep(0, at_risk, 0, 0, 1.0)]
    survival = 1.0
    times = sorted({t for t, _ in observations})
    for time in times:
        events = sum(1 for t, e in observations if t == time and e)
        censored = sum(1 for t, e in observations if t == time and not e)
        if events:
            survival *= 1 - events / at_risk
        if time == 0 and not events:
            steps[0] = KMStep(0, at_risk, 0, censored, 1.0)
        else:
            steps.append(KMStep(time, at_risk, events, censored, survival))
        at_risk -= events + censored
    return steps
