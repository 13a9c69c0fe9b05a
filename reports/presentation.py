"""The practice report laid out for reading: labels, chart geometry and grouped tables, shared by
the page (reports/web) and the PDF (reports/pdf.py) so both print the same figures the same way.

No queries: everything comes from the PracticeReport that reports/report.py built.
"""

from dataclasses import dataclass

from courses.choices import AdverseEventAction, AdverseEventOutcome, InSessionAlertAction, SeriousCriterion
from measures.instruments import INSTRUMENTS
from reports.aggregate import InstrumentSummary
from reports.charts import KMChart, MeansChart, RateChart, km_chart, means_chart, rate_chart
from reports.outcomes import FOLLOW_UP_LABELS, FOLLOW_UPS
from reports.report import EQUITY_DIMENSIONS, PracticeReport

TIMEPOINT_LABELS = {"baseline": "Baseline", "end": "End of course", **FOLLOW_UP_LABELS}
ALERT_LABELS = {
    "high_bp": "Blood pressure above the alert threshold",
    "high_hr": "Heart rate above the alert threshold",
    "low_spo2": "Oxygen saturation below the alert threshold",
    "low_rr": "Respiratory rate below the alert threshold",
}


@dataclass
class EquityGroup:
    dimension: str
    title: str
    rows: list


@dataclass
class InstrumentSection:
    code: str
    name: str
    title: str
    y_max: int
    eligible_from: int
    remission_below: int
    summary: InstrumentSummary
    waived_baselines: int
    means_chart: MeansChart
    still_chart: RateChart
    km_chart: KMChart | None
    km_responders: int
    equity: list[EquityGroup]

    @property
    def has_still(self) -> bool:
        return any(r.denominator for r in self.summary.still_responding_itt.values())

    @property
    def follow_ups(self) -> list[tuple[str, str]]:
        return [(k, FOLLOW_UP_LABELS[k]) for k in FOLLOW_UPS]

    @property
    def means_rows(self) -> list[tuple[str, object]]:
        return [(TIMEPOINT_LABELS[k], self.summary.means[k]) for k in TIMEPOINT_LABELS]

    @property
    def completion_rows(self) -> list[tuple[str, object]]:
        return [(TIMEPOINT_LABELS[k], self.summary.completion[k]) for k in ("end", *FOLLOW_UPS)]

    @property
    def durability_rows(self) -> list[tuple[str, object]]:
        return [(FOLLOW_UP_LABELS[k], self.summary.durability[k]) for k in ("month_3", "month_6")]

    @property
    def maintenance_rows(self) -> list[tuple[str, object, object]]:
        return [
            (
                FOLLOW_UP_LABELS[k],
                self.summary.durability_by_maintenance[k]["with"],
                self.summary.durability_by_maintenance[k]["without"],
            )
            for k in ("month_3", "month_6")
        ]

    @property
    def still_rows(self) -> list[tuple[str, object, object]]:
        s = self.summary
        return [(FOLLOW_UP_LABELS[k], s.still_responding[k], s.still_responding_itt[k]) for k in FOLLOW_UPS]


# The chart of sustained response among responders: each follow-up's observed-cases bar beside its
# intention-to-treat twin, so no observed-only figure stands alone.
STILL_BAR_LABELS = {
    f"{k}_{view}": f"{FOLLOW_UP_LABELS[k].replace(' months', ' mo').replace(' month', ' mo')} {view.upper()}"
    for k in FOLLOW_UPS
    for view in ("oc", "itt")
}


def still_rates(summary: InstrumentSummary) -> dict:
    return {f"{k}_oc": summary.still_responding[k] for k in FOLLOW_UPS} | {
        f"{k}_itt": summary.still_responding_itt[k] for k in FOLLOW_UPS
    }


def _equity_groups(rows) -> list[EquityGroup]:
    groups = []
    for dimension, title in EQUITY_DIMENSIONS:
        mine = [r for r in rows if r.dimension == dimension]
        if mine:
            groups.append(EquityGroup(dimension, title, mine))
    return groups


def instrument_sections(report: PracticeReport) -> list[InstrumentSection]:
    sections = []
    for code, summary in report.summaries.items():
        definition = INSTRUMENTS[code]
        sections.append(
            InstrumentSection(
                code=code,
                name=definition.name,
                title=definition.title,
                y_max=definition.max_total,
                eligible_from=report.definitions.eligible_from[code],
                remission_below=report.definitions.remission_below[code],
                summary=summary,
                waived_baselines=report.waived_baselines.get(code, 0),
                means_chart=means_chart(summary.means, TIMEPOINT_LABELS, definition.max_total),
                still_chart=rate_chart(still_rates(summary), STILL_BAR_LABELS),
                km_chart=(
                    km_chart(
                        summary.km,
                        x_max=_km_days(report),
                        twins=tuple(
                            (report.definitions.window(k)[0], summary.still_responding_itt[k])
                            for k in ("month_3", "month_6")
                        ),
                    )
                    if summary.km
                    else None
                ),
                km_responders=summary.km[0].at_risk if summary.km else 0,
                equity=_equity_groups(report.equity[code]),
            )
        )
    return sections


def _km_days(report: PracticeReport) -> int:
    # The axis reaches the end of the last follow-up window, so every instrument's curve is on one scale.
    day, tolerance = report.definitions.window(FOLLOW_UPS[-1])
    return day + tolerance


def serious_events(report: PracticeReport) -> list[dict]:
    criteria = dict(SeriousCriterion.choices)
    outcomes = dict(AdverseEventOutcome.choices)
    actions = dict(AdverseEventAction.choices)
    return [
        {
            **event,
            "criteria_words": [criteria.get(c, c) for c in event["criteria"]],
            "outcome_word": outcomes.get(event["outcome"], event["outcome"]),
            "action_word": actions.get(event["action"], event["action"]),
        }
        for event in report.safety["serious"]
    ]


def definition_rows(report: PracticeReport) -> list[tuple[str, str]]:
    """The definitions in force, in words, with the values the report used."""
    d, s = report.definitions, report.settings
    rows = [
        (
            "Baseline",
            f"latest score in the {d.baseline_days} days before the first dosing session "
            "(on the day of the first dose, only if taken before the dose)",
        ),
        (
            "End of acute course",
            "the day of the last induction dosing session (maintenance doses do not move it); "
            f"the end-of-course score is the first taken {d.end_first_day} to {d.end_last_day} "
            "days after it. A course discontinued part-way ends on its last dose given",
        ),
        (
            "Stalled course",
            f"still in its dosing series with no dose for more than {report.course_flow.stall_after_days} "
            "days: in effect ended on its last dose (it enters ITT from then on, and the worklist asks "
            "staff to resume or close it)",
        ),
    ]
    for name, day, tolerance in d.follow_ups:
        rows.append(
            (
                f"Follow-up {FOLLOW_UP_LABELS[name]}",
                f"day {day} ± {tolerance} after the end of the acute course, both ends included; "
                f"the score nearest day {day}, the earlier on a tie",
            )
        )
    rows += [
        ("Response", f"≥ {d.response_reduction_pct}% reduction from baseline"),
        ("Partial response", f"{d.partial_reduction_pct}–{d.response_reduction_pct - 1}% reduction from baseline"),
        (
            "PCL-5 meaningful change",
            f"a drop of ≥ {d.pcl5_meaningful_drop} points, for courses eligible for response (as response)",
        ),
        ("Remission", "; ".join(f"{INSTRUMENTS[k].name} < {v}" for k, v in d.remission_below.items())),
        (
            "Eligible for response and remission figures",
            "baseline at or above the cut-off: "
            + "; ".join(f"{INSTRUMENTS[k].name} ≥ {v}" for k, v in d.eligible_from.items()),
        ),
        (
            "Sustained response",
            "responder at the end of the course and at the follow-up (at 6 months also at 3 months, if measured)",
        ),
        ("Observed cases (OC)", "a course counts if it has the scores the figure needs"),
        (
            "Intention-to-treat (ITT)",
            "every eligible course whose window has closed counts; a missing score counts as not "
            "responding. A course discontinued part-way, or stalled (no dose for more than "
            f"{report.course_flow.stall_after_days} days while in its series), "
            "ends on its last dose given and is due like any other course; the follow-up of a "
            "discontinued course continues unless staff stopped it at the patient's wish",
        ),
        (
            "Small-cell suppression",
            f"in exports, a cell with fewer than {s.suppression_threshold} patients "
            "(denominator, or a non-zero numerator) is not shown",
        ),
    ]
    return rows


def in_session_alert_rows(report: PracticeReport) -> list[tuple[str, int]]:
    """The in-session alerts: how many opened, and how each was closed (or is still open)."""
    alerts = report.safety["in_session_alerts"]
    actions = dict(InSessionAlertAction.choices)
    rows = [("In-session vital-sign alerts opened", alerts["opened"])]
    rows += [(f"… closed: {actions.get(k, k).lower()}", n) for k, n in sorted(alerts["by_action"].items())]
    rows.append(("… still open", alerts["open"]))
    return rows


def report_context(report: PracticeReport, *, export: bool) -> dict:
    return {
        "in_session_rows": in_session_alert_rows(report),
        "report": report,
        "export": export,
        "threshold": report.suppression_threshold,
        # The small-cell threshold bare counts are printed under: none on the clinic's own screen.
        "cell": report.suppression_threshold if export else 0,
        "sections": instrument_sections(report),
        "serious_events": serious_events(report),
        "alert_rows": [(ALERT_LABELS.get(k, k), v) for k, v in report.safety["alerts"].items()],
        "definition_rows": definition_rows(report),
        "timepoint_labels": TIMEPOINT_LABELS,
    }
