"""The practice report laid out for reading: labels, chart geometry and grouped tables, shared by
the page (reports/web) and the PDF (reports/pdf.py) so both print the same figures the same way.

No queries: everything comes from the PracticeReport that reports/report.py built.
"""

from dataclasses import dataclass

from courses.choices import AdverseEventAction, AdverseEventOutcome, InSessionAlertAction, SeriousCriterion
from measures.instruments import INSTRUMENTS
from reports.aggregate import (
    InstrumentSummary,
    count_hidden,
    groups_to_hide,
    safety_shareable,
    section_shareable,
    shareable_summary,
    suppressed,
)
from reports.charts import (
    KMChart,
    KMMilestone,
    MeansChart,
    RateChart,
    km_chart,
    km_milestones,
    km_steps_shown,
    km_tick_days,
    means_chart,
    rate_chart,
)
from reports.models import Audience
from reports.outcomes import FOLLOW_UP_LABELS, FOLLOW_UPS
from reports.report import EQUITY_DIMENSIONS, PracticeReport
from reports.stats import Rate

# The PDF's body lists only the most recent serious adverse events: the list grows with the
# practice (hundreds at 10,000 courses), so the body gives counts by type, grade and outcome and
# says how many more there are and where the complete list is (the lists CSV).
SERIOUS_LISTED = 10
# What the body of the PDF calls the CSV that holds its lists complete (reports.models.ExportKind).
LISTS_CSV_LABEL = "Serious events and Kaplan–Meier steps"
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
    cell: int = 0  # the small-cell threshold this section is printed under (0: none)
    hidden_means: frozenset = frozenset()  # timepoints whose mean is a small cell in this file
    withheld: bool = False  # a file to share: some group of this section is a small count

    @property
    def with_baseline_shown(self) -> str:
        """Courses with a baseline: hidden too when it would give the ones below the cut-off
        (it less the eligible count, printed under it) as a small cell."""
        s = self.summary
        if count_hidden(s.n_with_baseline - s.n_eligible, self.cell):
            return "suppressed"
        return shown(s.n_with_baseline, self.cell)

    @property
    def km_rows(self) -> list:
        """The curve's data the file may show (all of it inside the clinic)."""
        return km_steps_shown(self.summary.km, self.cell)

    @property
    def km_table(self) -> list[KMMilestone]:
        """The curve read at the days under its x axis: a table of a few rows whatever the
        practice's size (the steps, one per distinct day, are in the lists CSV)."""
        if self.km_chart is None:
            return []
        return km_milestones(self.km_rows, km_tick_days(self.km_chart.x_max))

    @property
    def has_still(self) -> bool:
        return any(r.denominator for r in self.summary.still_responding_itt.values())

    @property
    def follow_ups(self) -> list[tuple[str, str]]:
        return [(k, FOLLOW_UP_LABELS[k]) for k in FOLLOW_UPS]

    @property
    def means_rows(self) -> list[tuple[str, object, bool]]:
        return [(TIMEPOINT_LABELS[k], self.summary.means[k], k in self.hidden_means) for k in TIMEPOINT_LABELS]

    @property
    def baseline_hidden(self) -> bool:
        return "baseline" in self.hidden_means

    @property
    def end_hidden(self) -> bool:
        return "end" in self.hidden_means

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


def instrument_sections(report: PracticeReport, cell: int = 0) -> list[InstrumentSection]:
    """Each instrument laid out; `cell` is the small-cell threshold of a file to share outside the
    clinic (0 on screen and inside), which the charts apply as they are drawn."""
    sections = []
    dosed = report.n_courses - report.course_flow.never_dosed if report.course_flow else report.n_courses
    for code, summary in report.summaries.items():
        waived = report.waived_baselines.get(code, 0)
        withheld = bool(cell) and not section_shareable(summary, dosed=dosed, waived=waived, threshold=cell)
        summary = shareable_summary(summary, cell)
        km_responders = summary.km[0].at_risk if summary.km else 0
        # A mean is over the eligible courses scored at its timepoint: it is a small cell when those
        # scored, or those eligible but not scored (the headline's count less its n), are few.
        hidden_means = frozenset(
            k
            for k, m in summary.means.items()
            if count_hidden(m.n, cell) or count_hidden(summary.n_eligible - m.n, cell)
        )
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
                means_chart=means_chart(summary.means, TIMEPOINT_LABELS, definition.max_total, hidden=hidden_means),
                still_chart=rate_chart(still_rates(summary), STILL_BAR_LABELS, threshold=cell),
                km_chart=(
                    km_chart(
                        summary.km,
                        x_max=_km_days(report),
                        twins=tuple(
                            (report.definitions.window(k)[0], summary.still_responding_itt[k])
                            for k in ("month_3", "month_6")
                        ),
                        threshold=cell,
                    )
                    # Not drawn in a file to share: its path is exact, so beside the number at risk
                    # each step gives its count of lost responses (often 1). The still-responding
                    # chart and the four views carry durability there.
                    if summary.km and not cell
                    else None
                ),
                km_responders=km_responders,
                equity=_equity_groups(report.equity[code]),
                cell=cell,
                hidden_means=hidden_means,
                withheld=withheld,
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


@dataclass(frozen=True)
class Tally:
    label: str
    n: int
    total: int

    @property
    def pct(self) -> float:
        return 100.0 * self.n / self.total if self.total else 0.0


def serious_tallies(events: list[dict]) -> list[tuple[str, list[Tally]]]:
    """The serious events counted by type, grade, outcome and acknowledgement: the body's summary
    of a list that grows with the practice. Each tally has the total it is a part of."""
    total = len(events)

    def tally(key) -> list[Tally]:
        counts: dict = {}
        for event in events:
            counts[key(event)] = counts.get(key(event), 0) + 1
        return [Tally(str(label), n, total) for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    return [
        ("Type", tally(lambda e: e["term"])),
        ("Grade", tally(lambda e: f"Grade {e['grade']}")),
        ("Outcome", tally(lambda e: e["outcome_word"])),
        ("Acknowledged by the lead", tally(lambda e: "Yes" if e["acknowledged"] else "No")),
    ]


def definition_rows(report: PracticeReport) -> list[tuple[str, str]]:
    """The definitions in force, in words, with the values the report used."""
    d = report.definitions
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
            f"in a file to share outside the clinic, no count of 1 to {report.suppression_threshold - 1} "
            "patients, courses or events is shown, nor one a total would give away (the rest of a "
            "rate's denominator, a second part of a split); dates are days since the first dose",
        ),
    ]
    return rows


def shown(count: int, cell: int) -> str:
    """A count as a file for `cell` prints it: "< 11" for a small cell."""
    return f"< {cell}" if count_hidden(count, cell) else str(count)


def parts_shown(counts: list[int], cell: int) -> list[str]:
    """The parts of a whole whose total is printed (courses by where they stand, events by type):
    small parts hidden, and a complementary part with them when one alone is hidden, so that
    no hidden part is the total less the others."""
    hide = groups_to_hide(counts, cell)
    return [
        (f"< {cell}" if count_hidden(n, cell) else "suppressed") if i in hide else str(n) for i, n in enumerate(counts)
    ]


def course_flow_rows(report: PracticeReport, cell: int) -> list[tuple[str, str]]:
    flow = report.course_flow
    labels = (
        ("Series complete", flow.series_complete),
        ("Discontinued (ends on its last dose given)", flow.discontinued),
        (f"Stalled: no dose for more than {flow.stall_after_days} days, not closed", flow.stalled),
        ("Still in the dosing series", flow.running),
        ("No dose given yet (no baseline by definition, in no figure)", flow.never_dosed),
    )
    return list(zip([label for label, _n in labels], parts_shown([n for _l, n in labels], cell), strict=True))


def course_flow_note(report: PracticeReport, cell: int) -> dict[str, str]:
    """The sentence under the course-flow table: discontinued courses with follow-up scores, and
    those whose follow-up staff stopped, each a part of the discontinued courses. Outside the
    clinic each is shown only when the table shows the discontinued count and neither the part
    nor the rest of it is a small cell."""
    flow = report.course_flow
    table_hides = course_flow_rows(report, cell)[1][1] != str(flow.discontinued)

    def part(n: int) -> str:
        if table_hides or suppressed(Rate(n, flow.discontinued, None, None), cell):
            return "suppressed"
        return str(n)

    return {
        "discontinued": "suppressed" if table_hides else str(flow.discontinued),
        "with_follow_up": part(flow.discontinued_with_follow_up),
        "stopped": part(flow.discontinued_follow_up_stopped),
    }


def dosed_shown(report: PracticeReport, cell: int) -> str:
    """The title page's count with a dose given. Inside, the patients; outside, the courses (the
    patients less the courses would give the repeat courses), and not shown when the courses
    with no dose yet are hidden in the course-flow table."""
    if not cell:
        return f"{report.n_patients_dosed} patient{'s' if report.n_patients_dosed != 1 else ''}"
    never_dosed_hidden = course_flow_rows(report, cell)[4][1] != str(report.course_flow.never_dosed)
    dosed = report.n_courses - report.course_flow.never_dosed
    return "suppressed" if never_dosed_hidden else f"{shown(dosed, cell)} courses"


def in_session_alert_rows(report: PracticeReport, cell: int = 0) -> list[tuple[str, str]]:
    """The in-session alerts: how many opened, and how each was closed (or is still open)."""
    alerts = report.safety["in_session_alerts"]
    actions = dict(InSessionAlertAction.choices)
    parts = [(f"… closed: {actions.get(k, k).lower()}", n) for k, n in sorted(alerts["by_action"].items())]
    parts.append(("… still open", alerts["open"]))
    counts = parts_shown([n for _label, n in parts], cell)
    return [("In-session vital-sign alerts opened", shown(alerts["opened"], cell))] + [
        (label, text) for (label, _n), text in zip(parts, counts, strict=True)
    ]


def event_rows(rows: list[tuple], cell: int) -> list[tuple[str, str, str]]:
    """Adverse events by type or grade, (label, count, per 100 sessions), small parts hidden."""
    counts = parts_shown([n for _label, n, _per in rows], cell)
    return [
        (label, text, f"{per:.1f}" if text == str(n) and per is not None else "—")
        for (label, n, per), text in zip(rows, counts, strict=True)
    ]


def report_context(report: PracticeReport, *, export: bool, audience: str = Audience.INSIDE) -> dict:
    # The small-cell threshold counts are printed under: none on the clinic's own screen or in a
    # file for inside the clinic; the clinic's threshold in a file to share outside it.
    cell = report.suppression_threshold if audience == Audience.OUTSIDE else 0
    safety = report.safety
    return {
        "in_session_rows": in_session_alert_rows(report, cell),
        "report": report,
        "export": export,
        "audience": Audience(audience),
        "threshold": report.suppression_threshold,
        "cell": cell,
        "flow_rows": course_flow_rows(report, cell),
        "flow_note": course_flow_note(report, cell),
        "dosed_shown": dosed_shown(report, cell),
        "safety_withheld": bool(cell) and not safety_shareable(safety, cell),
        "sections": instrument_sections(report, cell),
        **_serious_context(report, listed=SERIOUS_LISTED if export else None),
        "lists_csv_label": LISTS_CSV_LABEL,
        "events_by_term": event_rows(safety["by_term"], cell),
        "events_by_grade": event_rows([(f"Grade {g}", n, per) for g, n, per in safety["by_grade"]], cell),
        "alert_rows": [(ALERT_LABELS.get(k, k), shown(v, cell)) for k, v in safety["alerts"].items()],
        "definition_rows": definition_rows(report),
        "timepoint_labels": TIMEPOINT_LABELS,
    }


def _serious_context(report: PracticeReport, *, listed: int | None) -> dict:
    """The serious events for the safety section: all of them counted, and listed the most recent
    first: `listed` of them in a file (the PDF's body), every one on screen (listed None)."""
    events = serious_events(report)
    recent = events[::-1][:listed]  # the report lists them by onset, the oldest first
    return {
        "serious_events": events,
        "serious_tallies": serious_tallies(events),
        "serious_listed": recent,
        "serious_not_listed": len(events) - len(recent),
    }
