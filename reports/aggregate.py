"""Counting outcomes into the figures of a report, pure: outcomes in, rates and means out.

Every rate carries its numerator and denominator (reports print the n behind every %).
Durability is counted the four ways DOMAIN §6 asks: as a share of all eligible courses and
of end-of-course responders, under observed cases (OC) and intention-to-treat (ITT).
"""

from dataclasses import dataclass, field, replace

from measures.instruments import INSTRUMENTS
from reports.outcomes import FOLLOW_UPS, Outcome, loss_of_response_time
from reports.stats import KMStep, Mean, Rate, kaplan_meier, mean_from_moments, wilson

TIMEPOINTS = ("baseline", "end", *FOLLOW_UPS)


@dataclass(frozen=True)
class Durability:
    all_itt: Rate
    all_oc: Rate
    responders_itt: Rate
    responders_oc: Rate


@dataclass(frozen=True)
class InstrumentSummary:
    instrument: str
    n_with_baseline: int
    n_eligible: int
    baseline: Mean
    end: Mean
    response_itt: Rate
    response_oc: Rate
    partial_oc: Rate
    partial_itt: Rate
    remission_itt: Rate
    remission_oc: Rate
    meaningful_change_oc: Rate | None
    meaningful_change_itt: Rate | None
    completion: dict  # timepoint -> Rate (scores present / courses due)
    durability: dict  # follow-up -> Durability
    durability_by_maintenance: dict  # follow-up -> {"with": Durability, "without": Durability}
    # Sustained response (DOMAIN §6) among end-of-course responders, the observed-cases view and its
    # intention-to-treat twin: the chart of "responders still responding" shows both.
    still_responding: dict  # follow-up -> Rate, OC: responders with that follow-up scored
    still_responding_itt: dict  # follow-up -> Rate, ITT: every responder whose window has closed
    means: dict  # timepoint -> Mean, eligible courses, observed
    km: list[KMStep] = field(default_factory=list)


GROUPS = ("all", "with", "without")  # every eligible course; with / without maintenance before the follow-up


def durability_of(outcomes: list[Outcome], follow_up: str) -> Durability:
    """Sustained response at `follow_up` four ways (all eligible / responders × ITT / OC)."""
    return durability_from(durability_counts(outcomes, follow_up))


def durability_counts(outcomes: list[Outcome], follow_up: str) -> dict[str, int]:
    """The five counts durability is made of: due (ITT) and observed (OC) courses, the same among
    end-of-course responders, and the courses with sustained response (in all four: a sustained
    course is a responder, scored at the follow-up, so it is both due and observed)."""
    counts = dict.fromkeys(("due", "observed", "responders_due", "responders_observed", "sustained"), 0)
    for o in outcomes:
        due = o.follow_up_due[follow_up]
        observed = o.end is not None and o.follow_ups[follow_up] is not None
        counts["due"] += due
        counts["observed"] += observed
        counts["responders_due"] += bool(due and o.response_end)
        counts["responders_observed"] += bool(observed and o.response_end)
        counts["sustained"] += bool(o.sustained[follow_up])
    return counts


def durability_from(c: dict[str, int]) -> Durability:
    return Durability(
        all_itt=wilson(c["sustained"], c["due"]),
        all_oc=wilson(c["sustained"], c["observed"]),
        responders_itt=wilson(c["sustained"], c["responders_due"]),
        responders_oc=wilson(c["sustained"], c["responders_observed"]),
    )


def _moments(values) -> tuple[int, int, int]:
    n = total = squares = 0
    for v in values:
        n, total, squares = n + 1, total + v, squares + v * v
    return n, total, squares


def outcome_counts(outcomes: list[Outcome]) -> dict:
    """Everything an instrument's summary is made of, counted over its outcomes: plain integers
    (and score moments), so that PostgreSQL can count the same things (reports/outcomes_sql.py)
    and one function (summary_from_counts) turns either into the figures."""
    with_baseline = sum(1 for o in outcomes if o.baseline is not None)
    eligible = [o for o in outcomes if o.eligible]
    end_observed = [o for o in eligible if o.end is not None]
    counts = {
        "with_baseline": with_baseline,
        "eligible": len(eligible),
        "end_due": sum(1 for o in eligible if o.end_due),
        "end_observed": len(end_observed),
        # A response, partial response, remission or PCL-5 change needs an end-of-course score,
        # which makes the course both due and observed: one numerator serves ITT and OC.
        "response": sum(1 for o in eligible if o.response_end),
        "partial": sum(1 for o in eligible if o.partial_end),
        "remission": sum(1 for o in eligible if o.remission_end),
        "meaningful_change": sum(1 for o in eligible if o.meaningful_change_end),
        "moments": {
            "baseline": _moments(o.baseline.total for o in eligible),
            "end": _moments(o.end.total for o in end_observed),
        },
    }
    for name in FOLLOW_UPS:
        counts[f"{name}_due"] = sum(1 for o in eligible if o.follow_up_due[name])
        counts[f"{name}_scored"] = sum(1 for o in eligible if o.follow_ups[name] is not None)
        counts["moments"][name] = _moments(o.follow_ups[name].total for o in eligible if o.follow_ups[name] is not None)
        counts[f"{name}_durability"] = {
            "all": durability_counts(eligible, name),
            "with": durability_counts([o for o in eligible if o.maintenance_before[name]], name),
            "without": durability_counts([o for o in eligible if not o.maintenance_before[name]], name),
        }
    return counts


def summarise(
    instrument: str, outcomes: list[Outcome], end_days: list, maintenance_days: list | None = None
) -> InstrumentSummary:
    """One instrument's figures over the cohort. `end_days[i]` is outcome i's end of course and
    `maintenance_days[i]` its maintenance dose days (the Kaplan–Meier curve is censored at the first)."""
    return summary_from_counts(
        instrument, outcome_counts(outcomes), km_observations(outcomes, end_days, maintenance_days)
    )


def km_observations(outcomes: list[Outcome], end_days: list, maintenance_days: list | None = None) -> list:
    """The (days, event) of each eligible end-of-course responder, for the Kaplan–Meier curve."""
    maintenance_days = maintenance_days or [()] * len(outcomes)
    times = []
    for outcome, end_day, maintenance in zip(outcomes, end_days, maintenance_days, strict=True):
        if outcome.eligible and outcome.end is not None and end_day is not None:
            point = loss_of_response_time(outcome, end_day, maintenance)
            if point is not None:
                times.append(point)
    return times


def summary_from_counts(instrument: str, counts: dict, times: list) -> InstrumentSummary:
    """The figures from outcome_counts (or the database's same counts) and the Kaplan–Meier
    observations (time, event) of the end-of-course responders."""
    end_due, end_observed = counts["end_due"], counts["end_observed"]
    completion = {"end": wilson(end_observed, end_due)}
    for name in FOLLOW_UPS:
        completion[name] = wilson(counts[f"{name}_scored"], counts[f"{name}_due"])
    durability = {name: durability_from(counts[f"{name}_durability"]["all"]) for name in FOLLOW_UPS}
    by_maintenance = {
        name: {
            "with": durability_from(counts[f"{name}_durability"]["with"]),
            "without": durability_from(counts[f"{name}_durability"]["without"]),
        }
        for name in FOLLOW_UPS
    }
    # "Still responding" is sustained response: at 6 months, a responder lost at 3 months is not.
    still = {name: durability[name].responders_oc for name in FOLLOW_UPS}
    still_itt = {name: durability[name].responders_itt for name in FOLLOW_UPS}

    scale = (0, INSTRUMENTS[instrument].max_total)
    means = {timepoint: mean_from_moments(*moments, bounds=scale) for timepoint, moments in counts["moments"].items()}
    pcl5 = instrument == "pcl5"
    return InstrumentSummary(
        instrument=instrument,
        n_with_baseline=counts["with_baseline"],
        n_eligible=counts["eligible"],
        baseline=means["baseline"],
        end=means["end"],
        response_itt=wilson(counts["response"], end_due),
        response_oc=wilson(counts["response"], end_observed),
        partial_oc=wilson(counts["partial"], end_observed),
        partial_itt=wilson(counts["partial"], end_due),
        remission_itt=wilson(counts["remission"], end_due),
        remission_oc=wilson(counts["remission"], end_observed),
        meaningful_change_oc=wilson(counts["meaningful_change"], end_observed) if pcl5 else None,
        meaningful_change_itt=wilson(counts["meaningful_change"], end_due) if pcl5 else None,
        completion=completion,
        durability=durability,
        durability_by_maintenance=by_maintenance,
        still_responding=still,
        still_responding_itt=still_itt,
        means={name: means[name] for name in TIMEPOINTS},
        km=kaplan_meier(times) if times else [],
    )


class HiddenRate(Rate):
    """A rate a file to share outside the clinic does not show, though its own counts are large:
    shown, it would give away a small cell beside it (see shareable_summary)."""


HIDDEN = HiddenRate(0, 0, None, None)


def count_hidden(count: int, threshold: int) -> bool:
    """A count of patients (or courses, or events) from 1 to threshold-1 is a small cell.
    Threshold 0 is the clinic's own view: nothing is hidden."""
    return 0 < count < threshold


def suppressed(rate: Rate, threshold: int) -> bool:
    """The CMS small-cell rule for a rate: no count from 1 to threshold-1 may be shown or worked
    out, so a rate is hidden when its denominator, its numerator, or the rest of its denominator
    (denominator - numerator: 38/40 tells that 2 did not respond) is such a count."""
    return (
        isinstance(rate, HiddenRate)
        or count_hidden(rate.denominator, threshold)
        or count_hidden(rate.numerator, threshold)
        or count_hidden(rate.denominator - rate.numerator, threshold)
    )


def groups_to_hide(counts: list, threshold: int) -> set[int]:
    """Which groups of one split to hide whole in an export (indices into `counts`).

    Each group is a count, or a tuple of counts (its courses, its eligible courses, each rate's
    parts). A group with any of them from 1 to threshold-1 is hidden; and while the hidden groups
    together still make such a small count in any position, the smallest other group is hidden
    too (complementary suppression): the total less the shown groups is the hidden ones' sum, so
    that sum must not be a small cell either (one hidden group alone always is)."""
    groups = [c if isinstance(c, tuple) else (c,) for c in counts]
    hidden = {i for i, g in enumerate(groups) if any(count_hidden(n, threshold) for n in g)}

    def small_sum() -> bool:
        return any(count_hidden(sum(groups[i][k] for i in hidden), threshold) for k in range(len(groups[0])))

    while hidden and small_sum():
        others = [(g, i) for i, g in enumerate(groups) if i not in hidden and g[0] > 0]
        if not others:
            break
        hidden.add(min(others)[1])
    return hidden


def _twins(oc: Rate, itt: Rate, threshold: int) -> tuple[Rate, Rate]:
    """An observed-cases rate beside its ITT twin: the two denominators differ by the courses due
    but not scored, so when that difference is a small cell the OC rate is not shown."""
    if count_hidden(itt.denominator - oc.denominator, threshold):
        oc = HIDDEN
    return oc, itt


def _shareable_durability(d: Durability, threshold: int) -> Durability:
    all_oc, all_itt = _twins(d.all_oc, d.all_itt, threshold)
    responders_oc, responders_itt = _twins(d.responders_oc, d.responders_itt, threshold)
    return Durability(all_itt, all_oc, responders_itt, responders_oc)


def shareable_summary(summary: InstrumentSummary, threshold: int) -> InstrumentSummary:
    """The summary a file to share outside the clinic prints (threshold > 0): beyond each rate's
    own small cells (suppressed), the rates whose neighbours in the same table would give a small
    cell away by subtraction are replaced by HIDDEN:

    - an OC rate whose ITT twin's denominator differs from its own by a small count (the courses
      due but not scored);
    - both parts of the maintenance split (with / without) when either is hidden, since the
      whole is printed above them.

    Threshold 0 (inside the clinic) returns the summary unchanged."""
    if threshold <= 0:
        return summary
    end = {}
    for name in ("response", "partial", "remission", "meaningful_change"):
        oc, itt = getattr(summary, f"{name}_oc"), getattr(summary, f"{name}_itt")
        if oc is not None and itt is not None:
            end[f"{name}_oc"], end[f"{name}_itt"] = _twins(oc, itt, threshold)
    durability = {name: _shareable_durability(d, threshold) for name, d in summary.durability.items()}
    by_maintenance = {}
    for name, parts in summary.durability_by_maintenance.items():
        with_ = _shareable_durability(parts["with"], threshold)
        without = _shareable_durability(parts["without"], threshold)
        pair = {}
        for view in ("all_itt", "all_oc", "responders_itt", "responders_oc"):
            a, b = getattr(with_, view), getattr(without, view)
            if suppressed(a, threshold) or suppressed(b, threshold):
                a = b = HIDDEN
            pair[view] = (a, b)
        by_maintenance[name] = {
            "with": Durability(**{view: a for view, (a, _b) in pair.items()}),
            "without": Durability(**{view: b for view, (_a, b) in pair.items()}),
        }
    return replace(
        summary,
        **end,
        durability=durability,
        durability_by_maintenance=by_maintenance,
        still_responding={name: d.responders_oc for name, d in durability.items()},
        still_responding_itt={name: d.responders_itt for name, d in durability.items()},
    )


def _rate_cells(rate: Rate | None) -> list[int]:
    return [] if rate is None else [rate.denominator, rate.numerator, rate.denominator - rate.numerator]


def section_cells(summary: InstrumentSummary, *, dosed: int, waived: int) -> list[int]:
    """Every count an instrument's section prints or lets a reader work out by subtracting two of
    its figures (or a figure from the courses dosed, on the title page): the groups of courses it
    speaks of, each rate's parts, and the differences between the denominators of its tables."""
    s, eligible = summary, summary.n_eligible
    end_due, end_observed = s.response_itt.denominator, s.response_oc.denominator
    end_scored = s.completion["end"].numerator
    cells = [s.n_with_baseline, waived, eligible, s.n_with_baseline - eligible, dosed - s.n_with_baseline - waived]
    cells += [end_due, eligible - end_due, end_observed, end_scored, end_due - end_scored, end_observed - end_scored]
    # Response, partial response and no response split the courses due (and those scored): the
    # third part is a cell too.
    cells += [end_due - s.response_itt.numerator - s.partial_itt.numerator]
    cells += [end_observed - s.response_oc.numerator - s.partial_oc.numerator]
    previous_due, previous_responders = end_due, s.response_itt.numerator
    for name in ("response", "partial", "remission", "meaningful_change"):
        cells += _rate_cells(getattr(s, f"{name}_itt")) + _rate_cells(getattr(s, f"{name}_oc"))
    for name in FOLLOW_UPS:
        d = s.durability[name]
        for rate in (d.all_itt, d.all_oc, d.responders_itt, d.responders_oc):
            cells += _rate_cells(rate)
        cells += [
            eligible - d.all_itt.denominator,
            d.all_itt.denominator - d.all_oc.denominator,
            d.all_itt.denominator - d.responders_itt.denominator,
            d.all_oc.denominator - d.responders_oc.denominator,
            d.responders_itt.denominator - d.responders_oc.denominator,
        ]
        # From one timepoint to the next: the courses due, and the responders among them.
        cells += [previous_due - d.all_itt.denominator, previous_responders - d.responders_itt.denominator]
        previous_due, previous_responders = d.all_itt.denominator, d.responders_itt.denominator
        completion = s.completion[name]
        cells += _rate_cells(completion) + [completion.numerator - d.all_oc.denominator]
        for part in s.durability_by_maintenance[name].values():
            for rate in (part.all_itt, part.all_oc, part.responders_itt, part.responders_oc):
                cells += _rate_cells(rate)
            cells += [
                part.all_itt.denominator - part.responders_itt.denominator,
                part.all_oc.denominator - part.responders_oc.denominator,
                part.all_itt.denominator - part.all_oc.denominator,
                part.responders_itt.denominator - part.responders_oc.denominator,
            ]
    for mean in s.means.values():
        cells += [mean.n, eligible - mean.n]
    if s.km:
        cells.append(s.km[0].at_risk)
    return [abs(c) for c in cells]


def section_shareable(summary: InstrumentSummary, *, dosed: int, waived: int, threshold: int) -> bool:
    """Whether an instrument's figures may go in a file to share outside the clinic: none of its
    cells (section_cells) is a small count. Hiding cell by cell across a section's linked tables
    left counts to be had by subtraction; a section is shown whole or not at all."""
    return not any(count_hidden(c, threshold) for c in section_cells(summary, dosed=dosed, waived=waived))


def safety_cells(safety: dict) -> list[int]:
    """Every count the safety section prints, and the differences a reader can take between its
    totals (events in and outside sessions, serious and not, overrides and the doses after one)."""
    events, serious = safety["events_total"], len(safety["serious"])
    alerts = safety["in_session_alerts"]
    cells = [safety["dosing_sessions"], events, safety["events_outside_sessions"], serious]
    cells += [events - safety["events_outside_sessions"], events - serious]
    cells += [n for _label, n, _per in safety["by_term"]] + [n for _grade, n, _per in safety["by_grade"]]
    cells += [safety["holds"], safety["overrides"], safety["overridden_doses"]]
    cells += [abs(safety["holds"] - safety["overrides"]), abs(safety["overrides"] - safety["overridden_doses"])]
    cells += [safety["discharge_exceptions"], safety["left_before_discharge"], *safety["alerts"].values()]
    cells += [alerts["opened"], alerts["open"], *alerts["by_action"].values()]
    return cells


def safety_shareable(safety: dict, threshold: int) -> bool:
    """Whether the safety section may go in a file to share outside the clinic: no count it
    prints, nor a difference between two of its totals, is a small count. Adverse events are
    often few, so in a small practice this is the honest answer: not shareable."""
    return not any(count_hidden(c, threshold) for c in safety_cells(safety))
