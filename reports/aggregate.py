"""Counting outcomes into the figures of a report, pure: outcomes in, rates and means out.

Every rate carries its numerator and denominator (reports print the n behind every %).
Durability is counted the four ways DOMAIN §6 asks: as a share of all eligible courses and
of end-of-course responders, under observed cases (OC) and intention-to-treat (ITT).
"""

from dataclasses import dataclass, field

from measures.instruments import INSTRUMENTS
from reports.outcomes import FOLLOW_UPS, Outcome, loss_of_response_time
from reports.stats import KMStep, Mean, Rate, kaplan_meier, mean_sd, wilson

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


def durability_of(outcomes: list[Outcome], follow_up: str) -> Durability:
    """Sustained response at `follow_up` four ways (all eligible / responders × ITT / OC)."""
    due = [o for o in outcomes if o.follow_up_due[follow_up]]
    observed = [o for o in outcomes if o.end is not None and o.follow_ups[follow_up] is not None]
    responders_due = [o for o in due if o.response_end]
    responders_observed = [o for o in observed if o.response_end]

    def sustained(group):
        return sum(1 for o in group if o.sustained[follow_up])

    return Durability(
        all_itt=wilson(sustained(due), len(due)),
        all_oc=wilson(sustained(observed), len(observed)),
        responders_itt=wilson(sustained(responders_due), len(responders_due)),
        responders_oc=wilson(sustained(responders_observed), len(responders_observed)),
    )


def summarise(
    instrument: str, outcomes: list[Outcome], end_days: list, maintenance_days: list | None = None
) -> InstrumentSummary:
    """One instrument's figures over the cohort. `end_days[i]` is outcome i's end of course and
    `maintenance_days[i]` its maintenance dose days (the Kaplan–Meier curve is censored at the first)."""
    maintenance_days = maintenance_days or [()] * len(outcomes)
    with_baseline = [o for o in outcomes if o.baseline is not None]
    eligible = [o for o in outcomes if o.eligible]
    end_due = [o for o in eligible if o.end_due]
    end_observed = [o for o in eligible if o.end is not None]

    completion = {"end": wilson(len(end_observed), len(end_due))}
    for name in FOLLOW_UPS:
        due = [o for o in eligible if o.follow_up_due[name]]
        completion[name] = wilson(sum(1 for o in due if o.follow_ups[name] is not None), len(due))

    durability = {name: durability_of(eligible, name) for name in FOLLOW_UPS}
    by_maintenance = {
        name: {
            "with": durability_of([o for o in eligible if o.maintenance_before[name]], name),
            "without": durability_of([o for o in eligible if not o.maintenance_before[name]], name),
        }
        for name in FOLLOW_UPS
    }
    # "Still responding" is sustained response: at 6 months, a responder lost at 3 months is not.
    still = {name: durability[name].responders_oc for name in FOLLOW_UPS}
    still_itt = {name: durability[name].responders_itt for name in FOLLOW_UPS}

    scale = (0, INSTRUMENTS[instrument].max_total)
    means = {
        "baseline": mean_sd((o.baseline.total for o in eligible), bounds=scale),
        "end": mean_sd((o.end.total for o in end_observed), bounds=scale),
    }
    for name in FOLLOW_UPS:
        means[name] = mean_sd(
            (o.follow_ups[name].total for o in eligible if o.follow_ups[name] is not None), bounds=scale
        )

    times = []
    for outcome, end_day, maintenance in zip(outcomes, end_days, maintenance_days, strict=True):
        if outcome.eligible and outcome.end is not None and end_day is not None:
            point = loss_of_response_time(outcome, end_day, maintenance)
            if point is not None:
                times.append(point)

    return InstrumentSummary(
        instrument=instrument,
        n_with_baseline=len(with_baseline),
        n_eligible=len(eligible),
        baseline=means["baseline"],
        end=means["end"],
        response_itt=wilson(sum(1 for o in end_due if o.response_end), len(end_due)),
        response_oc=wilson(sum(1 for o in end_observed if o.response_end), len(end_observed)),
        partial_oc=wilson(sum(1 for o in end_observed if o.partial_end), len(end_observed)),
        partial_itt=wilson(sum(1 for o in end_due if o.partial_end), len(end_due)),
        remission_itt=wilson(sum(1 for o in end_due if o.remission_end), len(end_due)),
        remission_oc=wilson(sum(1 for o in end_observed if o.remission_end), len(end_observed)),
        meaningful_change_oc=(
            wilson(sum(1 for o in end_observed if o.meaningful_change_end), len(end_observed))
            if instrument == "pcl5"
            else None
        ),
        meaningful_change_itt=(
            wilson(sum(1 for o in end_due if o.meaningful_change_end), len(end_due)) if instrument == "pcl5" else None
        ),
        completion=completion,
        durability=durability,
        durability_by_maintenance=by_maintenance,
        still_responding=still,
        still_responding_itt=still_itt,
        means=means,
        km=kaplan_meier(times) if times else [],
    )


def count_hidden(count: int, threshold: int) -> bool:
    """A count of patients (or courses, or events) from 1 to threshold-1 is a small cell.
    Threshold 0 is the clinic's own view: nothing is hidden."""
    return 0 < count < threshold


def suppressed(rate: Rate, threshold: int) -> bool:
    """The CMS small-cell rule for a rate: no count from 1 to threshold-1 may be shown or worked
    out, so a rate is hidden when its denominator, its numerator, or the rest of its denominator
    (denominator - numerator: 38/40 tells that 2 did not respond) is such a count."""
    return (
        count_hidden(rate.denominator, threshold)
        or count_hidden(rate.numerator, threshold)
        or count_hidden(rate.denominator - rate.numerator, threshold)
    )


def groups_to_hide(counts: list[int], threshold: int) -> set[int]:
    """Which groups of one split to hide whole in an export (indices into `counts`).

    A group counting 1 to threshold-1 patients is hidden; and when that leaves exactly one group
    hidden, the smallest other group is hidden too (complementary suppression), since the
    hidden one could otherwise be had by subtracting the shown groups from the total."""
    hidden = {i for i, n in enumerate(counts) if 0 < n < threshold}
    if len(hidden) == 1:
        others = [(n, i) for i, n in enumerate(counts) if i not in hidden and n > 0]
        if others:
            hidden.add(min(others)[1])
    return hidden
