"""The practice outcome report as one plain structure, built once and rendered three ways
(the page, the PDF, the CSV) so that the figures in all three are the same numbers.

Queries: the cohort's four (reports/cohort.py), three for the safety section, two for the
settings (outcome and schedule) and one for therapist names, whatever the number of courses.
The published figures printed beside the practice's own are reports/literature.py.
"""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.utils import timezone

from accounts.models import Role, User
from courses.choices import (
    AdverseEventTerm,
    Indication,
    RaceEthnicity,
    Route,
    SessionFormat,
    Sex,
    VitalAlert,
    VitalPhase,
)
from courses.models import AdverseEvent, ClinicSettings, Dose, HoldOverride, InSessionAlert, VitalReading
from kernel import clock
from measures.models import MeasureSettings
from measures.schedule import EndReason
from reports import outcomes_sql
from reports.aggregate import (
    durability_counts,
    groups_to_hide,
    km_observations,
    outcome_counts,
    summary_from_counts,
)
from reports.cohort import AGE_BANDS, NOT_RECORDED, CourseRow, ReportFilters, filtered_courses, load_cohort
from reports.cohort import INSTRUMENTS as REPORT_INSTRUMENTS
from reports.literature import LITERATURE
from reports.models import OutcomeSettings
from reports.outcomes import Definitions, course_outcome
from reports.stats import Rate, wilson

EQUITY_DIMENSIONS = (
    ("race_ethnicity", "Race/ethnicity (self-reported)"),
    ("sex", "Sex"),
    ("age_band", "Age band at course start"),
    ("indication", "Indication"),
    ("route", "Route"),
    ("format", "Format"),
)


def _labels() -> dict:
    return {
        "race_ethnicity": {**dict(RaceEthnicity.choices), NOT_RECORDED: "Not recorded"},
        "sex": dict(Sex.choices),
        "age_band": {label: label for *_r, label in AGE_BANDS} | {"under 18": "Under 18"},
        "indication": dict(Indication.choices),
        "route": {**dict(Route.choices), "": "No dose given"},
        "format": dict(SessionFormat.choices),
    }


@dataclass(frozen=True)
class EquityRow:
    dimension: str
    group: str
    label: str
    n_courses: int
    n_eligible: int
    response: Rate
    remission: Rate
    sustained_6: Rate  # intention-to-treat, share of all eligible courses
    sustained_6_oc: Rate  # its observed-cases twin
    hidden_in_export: bool = False


@dataclass
class PracticeReport:
    clinic: str
    generated_at: datetime
    as_of: date
    filters: ReportFilters
    filter_labels: list
    definitions: Definitions
    settings: OutcomeSettings
    n_courses: int
    n_patients_dosed: int
    summaries: dict  # instrument -> InstrumentSummary
    equity: dict  # instrument -> list[EquityRow]
    safety: dict
    waived_baselines: dict = field(default_factory=dict)  # instrument -> courses whose baseline was waived
    course_flow: "CourseFlow | None" = None  # how the selected courses ended, as of the report day
    literature: tuple = LITERATURE
    rows: list = field(default_factory=list)  # (CourseRow, {instrument: Outcome}) for the CSV
    # The small-cell threshold an export was asked with (its request keeps it, so a change of the
    # setting while the file waits for a worker does not change what the file hides).
    threshold: int | None = None

    @property
    def suppression_threshold(self) -> int:
        return self.threshold if self.threshold is not None else self.settings.suppression_threshold


@dataclass(frozen=True)
class StalledCourse:
    key: str
    course_id: object  # for the on-screen link only; never exported
    last_dose: date
    days_without_dose: int
    doses_given: int
    planned: int


@dataclass(frozen=True)
class CourseFlow:
    """Where every selected course stands, so that none leaves a denominator unseen: the courses
    that ended (series complete, discontinued part-way, stalled) are in the intention-to-treat
    figures; the running ones and those never dosed are not, and are counted here."""

    never_dosed: int
    running: int
    series_complete: int
    discontinued: int
    stalled: int
    discontinued_with_follow_up: int  # discontinued part-way, with any score after its last dose
    discontinued_follow_up_stopped: int  # staff stopped their questionnaires
    stall_after_days: int
    stalled_courses: tuple[StalledCourse, ...] = ()

    @property
    def ended(self) -> int:
        return self.series_complete + self.discontinued + self.stalled


def course_flow(
    rows: list[CourseRow], as_of: date, stall_after_days: int, discontinued_with_follow_up: int | None = None
) -> CourseFlow:
    """`discontinued_with_follow_up` is counted by the database where the rows carry no scores."""
    dosed = [r for r in rows if r.doses_given]
    # A course discontinued after its last planned dose ended with its series; it is still counted
    # with the discontinued ones here, the status the clinic gave it.
    discontinued = [r for r in dosed if r.discontinued]
    ended = Counter(r.end_reason for r in dosed if not r.discontinued)
    stalled = sorted((r for r in rows if r.end_reason == EndReason.STALLED), key=lambda r: (r.end_day, r.key))
    return CourseFlow(
        never_dosed=sum(1 for r in rows if not r.doses_given),
        running=ended.get("", 0),
        series_complete=ended.get(EndReason.SERIES, 0),
        discontinued=len(discontinued),
        stalled=len(stalled),
        discontinued_with_follow_up=(
            sum(1 for r in discontinued if r.scored_after_end)
            if discontinued_with_follow_up is None
            else discontinued_with_follow_up
        ),
        discontinued_follow_up_stopped=sum(1 for r in discontinued if r.follow_up_stopped),
        stall_after_days=stall_after_days,
        stalled_courses=tuple(
            StalledCourse(
                r.key, r.course_id, r.end_day, (as_of - r.end_day).days, r.doses_given, r.planned_dosing_sessions
            )
            for r in stalled
        ),
    )


def outcomes_for(rows: list[CourseRow], defs: Definitions, as_of: date) -> list[tuple[CourseRow, dict]]:
    return [(row, {i: course_outcome(row.series[i], defs, as_of) for i in REPORT_INSTRUMENTS}) for row in rows]


def equity_counts(instrument: str, scored: list[tuple[CourseRow, dict]]) -> dict:
    """{dimension: {group: counts}} of one instrument's outcomes, the counts an equity row prints
    (reports.outcomes_sql.EQUITY_COUNTS; the database counts the same on PostgreSQL)."""
    result = {}
    for dimension, _title in EQUITY_DIMENSIONS:
        groups: dict = {}
        for row, outcomes in scored:
            groups.setdefault(getattr(row, dimension), []).append(outcomes[instrument])
        result[dimension] = {}
        for group, outcomes in groups.items():
            eligible = [o for o in outcomes if o.eligible]
            month_6 = durability_counts(eligible, "month_6")
            result[dimension][group] = {
                "n_courses": len(outcomes),
                "n_eligible": len(eligible),
                "end_due": sum(1 for o in eligible if o.end_due),
                "response": sum(1 for o in eligible if o.response_end),
                "remission": sum(1 for o in eligible if o.remission_end),
                "due": month_6["due"],
                "observed": month_6["observed"],
                "sustained": month_6["sustained"],
            }
    return result


def _equity(counts: dict, labels: dict, threshold: int) -> list[EquityRow]:
    result = []
    for dimension, _title in EQUITY_DIMENSIONS:
        groups = counts[dimension]
        split = [
            EquityRow(
                dimension=dimension,
                group=group,
                label=labels[dimension].get(group, group or "—"),
                n_courses=c["n_courses"],
                n_eligible=c["n_eligible"],
                response=wilson(c["response"], c["end_due"]),
                remission=wilson(c["remission"], c["end_due"]),
                sustained_6=wilson(c["sustained"], c["due"]),
                sustained_6_oc=wilson(c["sustained"], c["observed"]),
            )
            for group, c in sorted(groups.items(), key=lambda item: labels[dimension].get(item[0], item[0]))
        ]
        # Whole groups hidden by any count they print; the hidden ones together never a small count,
        # since the section's headline figures are their total.
        hide = groups_to_hide([_equity_cells(r) for r in split], threshold)
        result += [replace(r, hidden_in_export=i in hide) for i, r in enumerate(split)]
    return result


def _equity_cells(row: EquityRow) -> tuple[int, ...]:
    """The counts an equity row prints: its courses, its eligible courses, each rate's parts."""
    cells = [row.n_courses, row.n_eligible]
    for rate in (row.response, row.remission, row.sustained_6, row.sustained_6_oc):
        cells += [rate.denominator, rate.numerator, rate.denominator - rate.numerator]
    # And the gaps between its columns: not eligible, not yet due, due but not scored.
    cells += [
        row.n_courses - row.n_eligible,
        row.n_eligible - row.response.denominator,
        abs(row.response.denominator - row.sustained_6.denominator),
        abs(row.sustained_6.denominator - row.sustained_6_oc.denominator),
    ]
    return tuple(cells)


def _in_cohort(rows: list[CourseRow], filters: ReportFilters) -> Q:
    """The report's courses as a filter on any row with a `course`."""
    if filters.route or filters.age_band:
        # These two filters are applied in Python (cohort.load_cohort): name the courses.
        return Q(course_id__in=[r.course_id for r in rows])
    # Otherwise the cohort is a query, and a subquery keeps clear of SQLite's parameter limit.
    return Q(course__in=filtered_courses(filters))


def _waived_baselines(rows: list[CourseRow], filters: ReportFilters) -> dict[str, int]:
    """Courses of the cohort that went ahead without an instrument's baseline, by a clinician's
    waiver (they have no baseline, so no response figures on it: said, not hidden)."""
    from measures.models import Administration, AdministrationStatus, Timepoint

    counts = dict(
        Administration.objects.filter(
            _in_cohort(rows, filters), timepoint=Timepoint.BASELINE, status=AdministrationStatus.WAIVED
        )
        .values_list("instrument")
        .annotate(n=Count("course", distinct=True))
        .order_by()
    )
    return {instrument: counts.get(instrument, 0) for instrument in REPORT_INSTRUMENTS}


def _safety(rows: list[CourseRow], filters: ReportFilters) -> dict:
    in_cohort = _in_cohort(rows, filters)
    given = Dose.objects.active().filter(in_cohort, dosed_at__isnull=False, session__voided_at__isnull=True)
    doses = given.aggregate(
        sessions=Count("pk", distinct=True),
        overridden=Count("pk", filter=Q(hold_overrides__isnull=False), distinct=True),
        discharge_exceptions=Count(
            "pk", filter=~Q(discharge_exception_reason="") & Q(left_before_discharge=False), distinct=True
        ),
        left_before_discharge=Count("pk", filter=Q(left_before_discharge=True), distinct=True),
    )
    sessions = doses["sessions"]
    # Every event of the cohort's courses: during a dose given, or reported outside a dosing session.
    # Counted by the database (term × grade × in or outside a session); only the serious ones are
    # read one by one, for their list (at 10,000 courses, reading every event was a fifth of the report).
    # The dose's conditions are joined, not `dose__in=given`: inside an OR that subquery cannot be
    # a semi-join, and at 100,000 courses PostgreSQL ran it once per event (minutes, not a second).
    events = (
        AdverseEvent.objects.active()
        .filter(in_cohort)
        .filter(
            Q(dose__isnull=True)
            | Q(dose__dosed_at__isnull=False, dose__voided_at__isnull=True, dose__session__voided_at__isnull=True)
        )
    )
    by_term, by_grade = Counter(), Counter()
    events_total = events_outside = 0
    for term, grade, outside, n in (
        events.values_list("term", "grade", ExpressionWrapper(Q(dose__isnull=True), output_field=BooleanField()))
        .annotate(n=Count("pk"))
        .order_by()
    ):
        by_term[term] += n
        by_grade[grade] += n
        events_total += n
        events_outside += n if outside else 0
    serious = list(
        events.filter(serious=True)
        .values("term", "grade", "serious_criteria", "onset_at", "outcome", "action_taken", "acknowledged_at")
        .order_by("onset_at", "pk")
    )
    term_labels = dict(AdverseEventTerm.choices)
    readings = VitalReading.objects.active().filter(dose__in=given)
    alert_counts = (
        readings.aggregate(
            holds=Count("id", filter=Q(phase=VitalPhase.PRE_DOSE, alerts__contains=[VitalAlert.PRE_DOSE_HOLD.value])),
            high_bp=Count("id", filter=Q(alerts__contains=[VitalAlert.HIGH_BP.value])),
            high_hr=Count("id", filter=Q(alerts__contains=[VitalAlert.HIGH_HR.value])),
            low_spo2=Count("id", filter=Q(alerts__contains=[VitalAlert.LOW_SPO2.value])),
            low_rr=Count("id", filter=Q(alerts__contains=[VitalAlert.LOW_RR.value])),
        )
        if _json_contains_supported()
        else _alert_counts_in_python(readings)
    )
    overrides = HoldOverride.objects.filter(dose__in=given).count()
    # One row per way an alert ended ("" while open): opened, still open and closed-by-action at once.
    by_action = dict(
        InSessionAlert.objects.filter(dose__in=given).values_list("action").annotate(n=Count("pk")).order_by()
    )
    in_session = {
        "opened": sum(by_action.values()),
        "open": by_action.pop("", 0),
        "by_action": by_action,
    }

    def per_100(count: int) -> float | None:
        return None if sessions == 0 else 100.0 * count / sessions

    return {
        "dosing_sessions": sessions,
        "events_total": events_total,
        "events_per_100": per_100(events_total),
        # Most frequent first; terms as frequent as each other in the order of their names.
        "by_term": [
            (term_labels.get(t, t), n, per_100(n))
            for t, n in sorted(by_term.items(), key=lambda item: (-item[1], term_labels.get(item[0], item[0])))
        ],
        "by_grade": [(g, by_grade.get(g, 0), per_100(by_grade.get(g, 0))) for g in (1, 2, 3, 4, 5)],
        "serious": [
            {
                "onset": timezone.localtime(e["onset_at"]),
                "term": term_labels.get(e["term"], e["term"]),
                "grade": e["grade"],
                "criteria": e["serious_criteria"],
                "outcome": e["outcome"],
                "action": e["action_taken"],
                "acknowledged": e["acknowledged_at"] is not None,
            }
            for e in serious
        ],
        "events_outside_sessions": events_outside,
        "holds": alert_counts["holds"],
        "overrides": overrides,
        "overridden_doses": doses["overridden"],
        "discharge_exceptions": doses["discharge_exceptions"],
        "left_before_discharge": doses["left_before_discharge"],
        "in_session_alerts": in_session,
        "alerts": {k: v for k, v in alert_counts.items() if k != "holds"},
    }


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


def _alert_counts_in_python(readings) -> dict:
    # SQLite has no JSON containment lookup: one query for the alert lists, counted here.
    counts = Counter()
    for phase, alerts in readings.exclude(alerts=[]).values_list("phase", "alerts"):
        if VitalAlert.PRE_DOSE_HOLD.value in alerts and phase == VitalPhase.PRE_DOSE:
            counts["holds"] += 1
        for code, key in (
            (VitalAlert.HIGH_BP, "high_bp"),
            (VitalAlert.HIGH_HR, "high_hr"),
            (VitalAlert.LOW_SPO2, "low_spo2"),
            (VitalAlert.LOW_RR, "low_rr"),
        ):
            if code.value in alerts:
                counts[key] += 1
    return {k: counts.get(k, 0) for k in ("holds", "high_bp", "high_hr", "low_spo2", "low_rr")}


def filter_labels(filters: ReportFilters) -> list[tuple[str, str]]:
    labels = _labels()
    shown = []
    if filters.start_from or filters.start_to:
        shown.append(("Course start", f"{filters.start_from or '…'} to {filters.start_to or '…'}"))
    for key, title in (
        ("indication", "Indication"),
        ("route", "Route"),
        ("format", "Format"),
        ("sex", "Sex"),
        ("race_ethnicity", "Race/ethnicity"),
        ("age_band", "Age band"),
    ):
        value = getattr(filters, key)
        if value:
            shown.append((title, labels[key].get(value, value)))
    if filters.therapist_id:
        therapist = User.objects.filter(pk=filters.therapist_id, role=Role.THERAPIST).first()
        shown.append(("Therapist", str(therapist) if therapist else "unknown"))
    return shown or [("Filters", "none: every course")]


def build_practice_report(
    filters: ReportFilters,
    *,
    now: datetime | None = None,
    progress=None,
    threshold: int | None = None,
    with_rows: bool = True,
) -> PracticeReport:
    """Everything the practice report shows. `progress(pct, note)` is told how far it got.

    `with_rows=False` leaves out the per-course list (`rows`, which only the CSV prints): on
    PostgreSQL the figures are then counted by the database (reports/outcomes_sql.py)."""
    now = clock.now(now)
    as_of = timezone.localdate(now)
    settings_row = OutcomeSettings.load()
    schedule = MeasureSettings.load()  # the timing both the questionnaires and the figures use
    defs = settings_row.definitions(schedule)
    stall_after_days = schedule.stall_after_days
    if progress:
        progress(10, "Loading courses")
    cohort = cohort_figures(filters, defs, as_of=as_of, stall_after_days=stall_after_days, with_rows=with_rows)
    rows, figures = cohort.rows, cohort.counted
    if progress:
        progress(60, "Equity and safety")
    labels = _labels()
    return PracticeReport(
        clinic=ClinicSettings.load().clinic_name,
        generated_at=now,
        as_of=as_of,
        filters=filters,
        filter_labels=filter_labels(filters),
        definitions=defs,
        settings=settings_row,
        n_courses=len(rows),
        n_patients_dosed=len({r.patient_id for r in rows if r.doses_given}),
        summaries={
            instrument: summary_from_counts(instrument, figures.counts[instrument], figures.km[instrument])
            for instrument in REPORT_INSTRUMENTS
        },
        equity={
            instrument: _equity(
                figures.equity[instrument],
                labels,
                threshold if threshold is not None else settings_row.suppression_threshold,
            )
            for instrument in REPORT_INSTRUMENTS
        },
        safety=_safety(rows, filters),
        waived_baselines=_waived_baselines(rows, filters),
        course_flow=course_flow(rows, as_of, stall_after_days, figures.discontinued_with_follow_up),
        rows=cohort.scored,
        threshold=threshold,
    )


@dataclass
class CohortFigures:
    rows: list  # CourseRow, every course of the cohort
    scored: list  # (CourseRow, {instrument: Outcome}), empty unless asked for
    counted: outcomes_sql.Figures  # what the report counts, by whichever path


def cohort_figures(
    filters: ReportFilters, defs: Definitions, *, as_of: date, stall_after_days: int, with_rows: bool = True
) -> CohortFigures:
    """The cohort and what the report counts over it, by one of three paths that give the same
    numbers (tests/reports/test_outcomes_sql.py):
    - PostgreSQL, no per-course list: the database counts (two statements);
    - PostgreSQL with the list: the database picks each course's scores, Python counts;
    - SQLite: the pure definitions over every score (reports/cohort.py, reports/outcomes.py)."""
    if outcomes_sql.supported() and not with_rows:
        rows = outcomes_sql.cohort_rows(filters, as_of=as_of, stall_after_days=stall_after_days)
        counted = outcomes_sql.practice_figures(rows, defs, as_of=as_of)
        return CohortFigures(rows, [], counted)
    if outcomes_sql.supported():
        scored = outcomes_sql.scored_cohort(filters, as_of=as_of, stall_after_days=stall_after_days, defs=defs)
    else:
        scored = outcomes_for(load_cohort(filters, as_of=as_of, stall_after_days=stall_after_days), defs, as_of)
    rows = [row for row, _outcomes in scored]
    counts, km = {}, {}
    for instrument in REPORT_INSTRUMENTS:
        outcomes = [o[instrument] for _r, o in scored]
        counts[instrument] = outcome_counts(outcomes)
        km[instrument] = km_observations(outcomes, [r.end_day for r in rows], [r.maintenance_days for r in rows])
    equity = {instrument: equity_counts(instrument, scored) for instrument in REPORT_INSTRUMENTS}
    return CohortFigures(rows, scored if with_rows else [], outcomes_sql.Figures(counts, km, equity, None))
