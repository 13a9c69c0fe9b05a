"""How the reports print a figure: every percentage with the n behind it and its 95% CI.

One set of filters for the page and the PDF, so the two print the same strings. The `*_export`
forms apply the small-cell rule (reports.aggregate.suppressed) for anything that leaves the clinic.
"""

from django import template
from django.utils import timezone

from reports.aggregate import count_hidden, suppressed
from reports.stats import MIN_N_FOR_MEAN_INTERVAL, Mean, Rate

register = template.Library()


@register.filter
def clock(moment) -> str:
    """A moment on the clinic's clock with its zone, e.g. "2026-11-01 01:05 EST". Django's "T"
    prints nothing for the hour the clocks go back (an ambiguous local time); the zone's own name
    for the moment, which knows which of the two hours it is, does."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


def _one(value: float) -> str:
    return f"{value:.1f}"


@register.filter
def pct(value: float | None) -> str:
    return "—" if value is None else f"{_one(value)}%"


@register.filter
def rate(value: Rate) -> str:
    """ "9/13, 69.2% (95% CI 42.4–87.3)"; a rate with nobody in its denominator says so."""
    if value is None or value.denominator == 0:
        return "no courses (0/0)"
    text = f"{value.numerator}/{value.denominator}, {_one(value.pct)}%"
    if value.low is not None and value.high is not None:
        text += f" (95% CI {_one(value.low)}–{_one(value.high)})"
    return text


@register.filter
def rate_short(value: Rate) -> str:
    """ "9/13, 69.2%": for narrow table cells whose CI is printed beside them."""
    if value is None or value.denominator == 0:
        return "0/0"
    return f"{value.numerator}/{value.denominator}, {_one(value.pct)}%"


@register.filter
def rate_ci(value: Rate) -> str:
    if value is None or value.low is None or value.high is None:
        return "—"
    return f"{_one(value.low)}–{_one(value.high)}"


@register.filter
def is_suppressed(value: Rate, threshold: int) -> bool:
    return value is not None and suppressed(value, int(threshold))


@register.filter
def count_suppressed(value: int, threshold: int) -> bool:
    """A bare count of patients from 1 to threshold-1 is a small cell too."""
    return count_hidden(int(value), int(threshold))


@register.filter
def plural_cell(value: int, threshold: int) -> str:
    """The plural "s" of a count printed with count_cell: a hidden count reads plural, so that
    "< 11 events" does not say by its grammar that there was one."""
    return "s" if count_suppressed(value, threshold) or int(value) != 1 else ""


@register.filter
def count_cell(value: int, threshold: int) -> str:
    """A count of courses, or "< 11" when it is a small cell (threshold 0: never hidden)."""
    return f"< {threshold}" if count_suppressed(value, threshold) else str(value)


@register.filter
def pair(first, second) -> tuple:
    """Two values to loop over in a template: {% for r in oc|pair:itt %}."""
    return (first, second)


@register.filter
def mean_sd(value: Mean) -> str:
    """ "16.6 ± 3.0 (n = 18)"."""
    if value is None or value.n == 0 or value.mean is None:
        return "— (n = 0)"
    if value.sd is None:
        return f"{_one(value.mean)} (n = {value.n})"
    return f"{_one(value.mean)} ± {_one(value.sd)} (n = {value.n})"


@register.filter
def mean_ci(value: Mean) -> str:
    if value is not None and 1 < value.n < MIN_N_FOR_MEAN_INTERVAL:
        return f"too few for an interval (n < {MIN_N_FOR_MEAN_INTERVAL})"
    if value is None or value.low is None or value.high is None:
        return "—"
    return f"{_one(value.low)}–{_one(value.high)}"


@register.filter
def one_decimal(value: float | None) -> str:
    return "—" if value is None else _one(value)


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key)


@register.filter
def mul100(value: float | None) -> float | None:
    return None if value is None else 100.0 * value
