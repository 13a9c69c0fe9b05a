"""The report's cohort and outcomes with PostgreSQL doing the heavy part, in a fixed number of
statements whatever the number of courses.

reports/cohort.py (`load_cohort`) reads every dose and every score of the cohort into Python and
reports/outcomes.py picks, for each course and instrument, the scores the definitions name (the
baseline, the end-of-course score, each follow-up). At 10,000 courses that is 100,000 timestamps
through the ORM and 30,000 series walked in Python, several seconds. Here:

- `cohort_rows`: the courses, each with its doses folded into one row (the first induction dose,
  the days of induction and maintenance doses given, the route); `measures.schedule.course_end`
  (the one definition of the end of the acute course) gives each its end day in Python.
- `practice_figures` (the page, the JSON API, the PDF): one statement picks each course's scores
  with the same windows, order and tie-breaks as reports/outcomes.py, works out the flags an
  Outcome holds and counts what reports.aggregate.outcome_counts counts, the equity split with
  GROUPING SETS, the Kaplan–Meier observations and the course flow.
- `scored_cohort` (the CSV, which lists every course): the database picks the scores and
  `reports.outcomes.outcome_of` does the arithmetic over them, so the CSV's per-course outcomes
  come from the Python definitions themselves.

The pure path is the reference: tests/reports/test_outcomes_sql.py builds random practices and
checks that every row, every outcome field and every count agree. SQLite (the embedded default)
uses the pure path.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from courses.models import Course, Dose, DosingSession, Patient
from measures.models import Response
from reports import cohort
from reports.cohort import INSTRUMENTS, CourseRow, ReportFilters, filtered_courses
from reports.outcomes import FOLLOW_UPS, CourseSeries, Definitions, Picks, ScorePoint, outcome_of

# Window numbers in the picks statement: the baseline, the end of course, the follow-ups in the
# order of Definitions.follow_ups (FOLLOW_UP_SLOT + i); AFTER_END_SLOT marks the scored_cohort row
# that says a discontinued course has a score after its end.
BASELINE_SLOT, END_SLOT, AFTER_END_SLOT, FOLLOW_UP_SLOT = 0, 1, 2, 3
# Sort memory for the report's statements: the picks sort about 15 window rows per course (1.5
# million at 100,000 courses), which spilled to disk with PostgreSQL's default 4 MB.
WORK_MEM = "256MB"


def supported() -> bool:
    return connection.vendor == "postgresql"


# Moments travel as microseconds since the epoch: Django's timestamptz loader is a Python subclass
# of psycopg's (it sets the zone), so 100,000 timestamps parsed as text took longer than the
# statement that found them. An integer is loaded in C, and the datetime made from it is the same
# instant (UTC), equal to what the ORM returns.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else EPOCH + timedelta(microseconds=micros)


def _array(params: dict, name: str, values, sql_type: str) -> str:
    """An array parameter sent as one comma-separated text ("~" for NULL) that PostgreSQL splits:
    psycopg quoting a 10,000-element list item by item was a tenth of the report. Every value
    here is a UUID, a date, a moment, a boolean or a coded choice: none holds a comma or a "~"."""
    params[name] = ",".join("~" if v is None else _as_text(v) for v in values)
    return f"string_to_array(%({name})s, ',', '~')::{sql_type}[]"


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):  # a datetime too: ISO 8601 with its offset, read exactly
        return value.isoformat()
    return str(value)


@contextmanager
def _cursor():
    """A cursor in a transaction with room to sort (WORK_MEM, for this transaction only)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        yield cursor


def _courses_sql(cohort_sql: str) -> str:
    dose, session = Dose._meta.db_table, DosingSession._meta.db_table
    course, patient = Course._meta.db_table, Patient._meta.db_table
    given = "p.dosed_at IS NOT NULL"
    # The doses of the cohort, in session order (the same order as cohort.load_cohort), folded to
    # one row per course. Days are the clinic's calendar days, as TruncDate gives them there.
    # Only table names and the cohort's compiled SQL are formatted in; every value is a parameter.
    return f"""
    WITH cohort AS ({cohort_sql}),
    d AS (
        SELECT p.course_id,
            count(*) FILTER (WHERE {given}) AS given,
            (array_agg(p.dosed_at ORDER BY s.starts_at, p.id)
                FILTER (WHERE {given} AND NOT p.is_maintenance))[1] AS first_at,
            -- In no order: course_end sorts them (one sort fewer per course).
            array_agg((p.dosed_at AT TIME ZONE %(tz)s)::date)
                FILTER (WHERE {given} AND NOT p.is_maintenance) AS induction_days,
            array_agg((p.dosed_at AT TIME ZONE %(tz)s)::date ORDER BY s.starts_at, p.id)
                FILTER (WHERE {given} AND p.is_maintenance) AS maintenance_days,
            (array_agg(p.route ORDER BY s.starts_at, p.id)
                FILTER (WHERE {given} AND NOT p.is_maintenance))[1] AS induction_route,
            (array_agg(p.route ORDER BY s.starts_at, p.id))[1] AS first_route
        FROM {dose} p JOIN {session} s ON s.id = p.session_id
        WHERE p.voided_at IS NULL AND s.voided_at IS NULL AND p.course_id IN (SELECT id FROM cohort)
        GROUP BY p.course_id
    )
    SELECT c.id, c.patient_id, c.started_on, c.indication, c.format, c.status,
        (c.status_changed_at AT TIME ZONE %(tz)s)::date, c.planned_dosing_sessions,
        pt.date_of_birth, pt.sex, pt.race_ethnicity, c.follow_up_stopped_at IS NOT NULL,
        coalesce(d.given, 0), {_micros("d.first_at")}, d.induction_days, d.maintenance_days,
        d.induction_route, d.first_route
    FROM {course} c JOIN {patient} pt ON pt.id = c.patient_id LEFT JOIN d ON d.course_id = c.id
    WHERE c.id IN (SELECT id FROM cohort)
    ORDER BY c.created_at DESC, c.id
    """  # noqa: S608


def _picked_scores(defs: Definitions, params: dict) -> str:
    """The CTEs `s` and `p` over a CTE `c(course_id, first_at, first_day, end_day, …)` the caller
    names first: every complete score of those courses in every window it falls in (`s` joined to
    the windows), then per course, instrument and window the one the definitions pick (`p`,
    DISTINCT ON with their order):
    - baseline: the latest in the N days up to the first dose day, and not after the first dose;
    - end of course: the first 1 to 14 days after the end;
    - a follow-up: the nearest its target day, on a tie the earlier day, then the earlier time.
    Equal times are broken by id, as the pure path's scores are ordered by time then id."""
    params |= {
        "baseline_days": defs.baseline_days,
        "end_first": defs.end_first_day,
        "end_last": defs.end_last_day,
        "instruments": list(INSTRUMENTS),
    }
    windows = [
        f"({BASELINE_SLOT}, NULL::date, s.first_at IS NOT NULL AND s.day BETWEEN s.first_day - %(baseline_days)s "
        "AND s.first_day AND s.at <= s.first_at)",
        f"({END_SLOT}, NULL::date, s.day BETWEEN s.end_day + %(end_first)s AND s.end_day + %(end_last)s)",
    ]
    for i, (_name, day, tolerance) in enumerate(defs.follow_ups):
        params[f"fu{i}_day"], params[f"fu{i}_tol"] = day, tolerance
        windows.append(
            f"({FOLLOW_UP_SLOT + i}, s.end_day + %(fu{i}_day)s, s.day BETWEEN s.end_day + %(fu{i}_day)s - "
            f"%(fu{i}_tol)s AND s.end_day + %(fu{i}_day)s + %(fu{i}_tol)s)"
        )
    response = Response._meta.db_table
    # Only the table name and the windows written above are formatted in; every value is a parameter.
    return f"""
    s AS (
        SELECT r.id, r.course_id, r.instrument, r.answered_at AS at,
            (r.answered_at AT TIME ZONE %(tz)s)::date AS day, r.total, c.first_at, c.first_day, c.end_day
        FROM {response} r JOIN c ON c.course_id = r.course_id
        WHERE r.complete AND r.instrument = ANY(%(instruments)s)
    ),
    p AS (
        SELECT DISTINCT ON (s.course_id, s.instrument, w.slot)
            s.course_id, s.instrument, w.slot, s.at, s.day, s.total
        FROM s CROSS JOIN LATERAL (VALUES {", ".join(windows)}) AS w(slot, target, inside)
        WHERE w.inside
        ORDER BY s.course_id, s.instrument, w.slot,
            abs(s.day - w.target),
            CASE WHEN w.target IS NOT NULL THEN s.day END,
            CASE WHEN w.slot = {BASELINE_SLOT} THEN s.at END DESC,
            s.at, s.id
    )"""  # noqa: S608


def _picks_sql(defs: Definitions, asked: list[CourseRow]) -> tuple[str, dict]:
    params: dict = {}
    picked = _picked_scores(defs, params)
    columns = ", ".join(_course_arrays(params, asked))
    sql = f"""
    WITH c AS (
        SELECT * FROM unnest({columns}) AS c(course_id, first_at, first_day, end_day, discontinued)
    ), {picked}
    SELECT course_id, instrument, slot, {_micros("at")}, day, total FROM p
    UNION ALL
    SELECT course_id, NULL, {AFTER_END_SLOT}, NULL, NULL, NULL FROM c WHERE discontinued AND {_scored_after_end("c")}
    """  # noqa: S608
    return sql, params


def _course_arrays(params: dict, rows: list[CourseRow]) -> list[str]:
    """The courses' ids, first doses, end days and whether discontinued, as the CTE `c` of
    _picked_scores reads them."""
    return [
        _array(params, "ids", [r.course_id for r in rows], "uuid"),
        _array(params, "first_at", [r.first_dose_at for r in rows], "timestamptz"),
        _array(params, "first_day", [r.first_dose_day for r in rows], "date"),
        _array(params, "end_day", [r.end_day for r in rows], "date"),
        _array(params, "discontinued", [r.discontinued for r in rows], "bool"),
    ]


def _scored_after_end(course: str) -> str:
    """Whether the course (a row of CTE `c`) has any complete score after its end: an index probe
    per discontinued course rather than one more window for every score."""
    response = Response._meta.db_table
    # The table name and the caller's CTE name are formatted in; the values are parameters.
    where = f"r.course_id = {course}.course_id AND (r.answered_at AT TIME ZONE %(tz)s)::date > {course}.end_day"
    return f"EXISTS (SELECT 1 FROM {response} r WHERE {where} AND r.complete AND r.instrument = ANY(%(instruments)s))"  # noqa: S608


@dataclass
class _Course:
    row: CourseRow
    picks: dict  # instrument -> {slot: ScorePoint}


def cohort_rows(filters: ReportFilters, *, as_of: date, stall_after_days: int) -> list[CourseRow]:
    """The cohort's courses as cohort.load_cohort gives them, in one statement, without their
    scores (`series` empty, `scored_after_end` unknown): the doses folded into each row, and the
    end of the acute course from measures.schedule.course_end."""
    tz = timezone.get_current_timezone()
    tz_name = timezone.get_current_timezone_name()
    cohort_sql, cohort_params = filtered_courses(filters).values("id").query.sql_with_params()
    # The cohort's own placeholders are positional; the rest are named: name them all.
    named = {f"cohort{i}": value for i, value in enumerate(cohort_params)}
    cohort_sql = cohort_sql % tuple(f"%(cohort{i})s" for i in range(len(cohort_params)))

    rows = []
    with _cursor() as cursor:
        cursor.execute(_courses_sql(cohort_sql), {"tz": tz_name, **named})
        fetched = cursor.fetchall()
    for *columns, given, first_at, induction_days, maintenance_days, induction_route, first_route in fetched:
        row = cohort.course_row(*columns, _moment(first_at))
        row.route = induction_route or first_route or ""
        row.doses_given = given
        row.maintenance_days = tuple(maintenance_days or ())
        cohort.set_end(row, induction_days or (), as_of=as_of, stall_after_days=stall_after_days)
        if filters.route and row.route != filters.route:
            continue
        if filters.age_band and row.age_band != filters.age_band:
            continue
        row.first_dose_day = row.first_dose_at.astimezone(tz).date() if first_at is not None else None
        rows.append(row)
    return rows


def scored_cohort(
    filters: ReportFilters, *, as_of: date, stall_after_days: int, defs: Definitions
) -> list[tuple[CourseRow, dict]]:
    """The same (CourseRow, {instrument: Outcome}) pairs as reports.report.outcomes_for over
    cohort.load_cohort, in two statements on PostgreSQL. The rows' series hold no scores (the
    outcomes are already there); `scored_after_end` says what the course flow needs of them."""
    rows = cohort_rows(filters, as_of=as_of, stall_after_days=stall_after_days)
    courses = {row.course_id: _Course(row, {}) for row in rows}
    tz_name = timezone.get_current_timezone_name()
    # Only a course with a first dose can have a baseline, and only one with an end the rest.
    asked = [c.row for c in courses.values() if c.row.first_dose_at is not None or c.row.end_day is not None]
    if asked:
        sql, params = _picks_sql(defs, asked)
        params["tz"] = tz_name
        with _cursor() as cursor:
            cursor.execute(sql, params)
            for course_id, instrument, slot, at, day, total in cursor.fetchall():
                course = courses[course_id]
                if slot == AFTER_END_SLOT:
                    course.row.scored_after_end = True
                else:
                    course.picks.setdefault(instrument, {})[slot] = ScorePoint(_moment(at), day, total)

    follow_up_names = [name for name, _day, _tolerance in defs.follow_ups]
    scored = []
    for course in courses.values():
        row, outcomes = course.row, {}
        for instrument in INSTRUMENTS:
            series = CourseSeries(
                instrument=instrument,
                scores=(),
                first_dose_at=row.first_dose_at,
                first_dose_day=row.first_dose_day,
                end_day=row.end_day,
                maintenance_days=row.maintenance_days,
                discontinued=row.discontinued,
            )
            row.series[instrument] = series
            slots = course.picks.get(instrument, {})
            picks = Picks(
                baseline=slots.get(BASELINE_SLOT),
                end=slots.get(END_SLOT),
                follow_ups={name: slots.get(FOLLOW_UP_SLOT + i) for i, name in enumerate(follow_up_names)},
            )
            outcomes[instrument] = outcome_of(series, picks, defs, as_of)
        scored.append((row, outcomes))
    return scored


# ---------------------------------------------------------------------------------------------
# The figures of the practice report counted by the database (the page, the JSON API, the PDF).
# The per-course path above serves the CSV, which lists every course; a report without that list
# needs only counts, and counting 30,000 course × instrument outcomes is what PostgreSQL is for.
# Each flag below is the SQL twin of a field of reports.outcomes.Outcome, and each count the twin
# of one in reports.aggregate.outcome_counts; tests/reports/test_outcomes_sql.py holds them equal.
# ---------------------------------------------------------------------------------------------

EQUITY_DIMENSIONS = ("race_ethnicity", "sex", "age_band", "indication", "route", "format")
EQUITY_COUNTS = ("n_courses", "n_eligible", "end_due", "response", "remission", "due", "observed", "sustained")


@dataclass
class Figures:
    counts: dict  # instrument -> the shape of reports.aggregate.outcome_counts
    km: dict  # instrument -> [(time, event)], the Kaplan–Meier observations
    equity: dict  # instrument -> {dimension: {group: {EQUITY_COUNTS name: n}}}
    # None where the rows carry the answer (reports.report.course_flow counts it from them).
    discontinued_with_follow_up: int | None


def _outcome_flags(defs: Definitions, params: dict) -> tuple[str, str]:
    """Two layers of per course × instrument flags over the picked scores (columns b, e, e_day,
    f<i>, f<i>_day): the first what a score says, the second what needs the first."""
    params |= {
        "response_pct": defs.response_reduction_pct,
        "partial_pct": defs.partial_reduction_pct,
        "pcl5_drop": defs.pcl5_meaningful_drop,
    }
    cut_offs = []
    for instrument in INSTRUMENTS:
        params[f"eligible_{instrument}"] = defs.eligible_from[instrument]
        params[f"remits_{instrument}"] = defs.remission_below[instrument]
        cut_offs.append(instrument)
    eligible_from = " ".join(f"WHEN '{i}' THEN %(eligible_{i})s" for i in cut_offs)
    remits_below = " ".join(f"WHEN '{i}' THEN %(remits_{i})s" for i in cut_offs)

    def responds(score: str) -> str:
        # reduction_pct(b, s) >= pct, in integers: 100·(b − s) ≥ pct·b (b > 0 when eligible).
        return f"(eligible AND {score} IS NOT NULL AND 100 * (b - {score}) >= %(response_pct)s * b)"

    def remits(score: str) -> str:
        return f"(eligible AND {score} IS NOT NULL AND {score} < CASE instrument {remits_below} END)"

    first = [
        f"(b IS NOT NULL AND b > 0 AND b >= CASE instrument {eligible_from} END) AS eligible",
        "(e IS NOT NULL OR (end_day IS NOT NULL AND end_day + %(end_last)s < %(as_of)s)) AS end_due",
    ]
    second = [
        responds("e") + " AS response_end",
        "(eligible AND e IS NOT NULL AND %(partial_pct)s * b <= 100 * (b - e)"
        " AND 100 * (b - e) < %(response_pct)s * b) AS partial_end",
        remits("e") + " AS remission_end",
        "(instrument = 'pcl5' AND eligible AND e IS NOT NULL AND b - e >= %(pcl5_drop)s) AS meaningful_end",
    ]
    names = [name for name, _day, _tolerance in defs.follow_ups]
    for i, name in enumerate(names):
        close = f"end_day + (%(fu{i}_day)s + %(fu{i}_tol)s)"
        first.append(f"(f{i} IS NOT NULL OR (end_day IS NOT NULL AND {close} < %(as_of)s)) AS due{i}")
        first.append(
            f"(end_day IS NOT NULL AND first_maintenance IS NOT NULL"
            f" AND first_maintenance <= coalesce(f{i}_day, {close})) AS maintenance{i}"
        )
        second.append(responds(f"f{i}") + f" AS response{i}")
        # At 6 months: a responder at the end, at 3 months (if measured) and at 6 months.
        lost = ""
        if name == "month_6" and "month_3" in names:
            j = names.index("month_3")
            lost = f" AND NOT (eligible AND f{j} IS NOT NULL AND NOT {responds(f'f{j}')})"
        second.append(
            f"(eligible AND e IS NOT NULL AND f{i} IS NOT NULL AND {responds('e')}"
            f" AND {responds(f'f{i}')}{lost}) AS sustained{i}"
        )
    return ", ".join(first), ", ".join(second)


def _count_spec(defs: Definitions) -> list[tuple[tuple, str]]:
    """(where the count goes in outcome_counts' shape, the SQL that counts it), in array order."""
    spec = [
        (("with_baseline",), "count(*) FILTER (WHERE b IS NOT NULL)"),
        (("eligible",), "count(*) FILTER (WHERE eligible)"),
        (("end_due",), "count(*) FILTER (WHERE eligible AND end_due)"),
        (("end_observed",), "count(*) FILTER (WHERE eligible AND e IS NOT NULL)"),
        (("response",), "count(*) FILTER (WHERE response_end)"),
        (("partial",), "count(*) FILTER (WHERE partial_end)"),
        (("remission",), "count(*) FILTER (WHERE remission_end)"),
        (("meaningful_change",), "count(*) FILTER (WHERE meaningful_end)"),
    ]

    def moments(timepoint: str, score: str) -> None:
        where = f"eligible AND {score} IS NOT NULL"
        spec.extend(
            [
                (("moments", timepoint, 0), f"count(*) FILTER (WHERE {where})"),
                (("moments", timepoint, 1), f"coalesce(sum({score}) FILTER (WHERE {where}), 0)"),
                (("moments", timepoint, 2), f"coalesce(sum({score} * {score}) FILTER (WHERE {where}), 0)"),
            ]
        )

    moments("baseline", "b")
    moments("end", "e")
    for i, (name, _day, _tolerance) in enumerate(defs.follow_ups):
        spec.append(((f"{name}_due",), f"count(*) FILTER (WHERE eligible AND due{i})"))
        spec.append(((f"{name}_scored",), f"count(*) FILTER (WHERE eligible AND f{i} IS NOT NULL)"))
        moments(name, f"f{i}")
        for group, where in (
            ("all", "eligible"),
            ("with", f"eligible AND maintenance{i}"),
            ("without", f"eligible AND NOT maintenance{i}"),
        ):
            observed = f"e IS NOT NULL AND f{i} IS NOT NULL"
            for key, condition in (
                ("due", f"due{i}"),
                ("observed", observed),
                ("responders_due", f"due{i} AND response_end"),
                ("responders_observed", f"{observed} AND response_end"),
                ("sustained", f"sustained{i}"),
            ):
                spec.append(((f"{name}_durability", group, key), f"count(*) FILTER (WHERE {where} AND {condition})"))
    return spec


def _km_sql(defs: Definitions) -> tuple[str, str]:
    """reports.outcomes.loss_of_response_time as two CASE expressions (days, event), over the
    follow-ups in FOLLOW_UPS order: censored at the first maintenance dose, an event at the first
    follow-up that is not a response, else censored at the last follow-up scored."""
    index = {name: i for i, (name, _d, _t) in enumerate(defs.follow_ups)}
    order = [index[name] for name in FOLLOW_UPS if name in index]

    def step(k: int, last: str, pick: int) -> str:
        if k == len(order):
            return (f"{last} - end_day", "false")[pick]
        i = order[k]
        score, day = f"f{i}", f"f{i}_day"
        return (
            f"CASE WHEN {score} IS NULL THEN {step(k + 1, last, pick)}"
            f" WHEN first_maintenance IS NOT NULL AND {day} >= first_maintenance"
            f" THEN {('first_maintenance - end_day', 'false')[pick]}"
            f" WHEN NOT response{i} THEN {(f'{day} - end_day', 'true')[pick]}"
            f" ELSE {step(k + 1, day, pick)} END"
        )

    return step(0, "e_day", 0), step(0, "e_day", 1)


def practice_figures(rows: list[CourseRow], defs: Definitions, *, as_of: date) -> Figures:
    """The report's counts for these courses (cohort rows with their end days), in one statement."""
    params: dict = {"tz": timezone.get_current_timezone_name(), "as_of": as_of}
    picked = _picked_scores(defs, params)
    first, second = _outcome_flags(defs, params)
    km_days, km_event = _km_sql(defs)
    names = [name for name, _day, _tolerance in defs.follow_ups]
    month_6 = names.index("month_6")
    spec = _count_spec(defs)
    pivot = ", ".join(
        [
            f"max(total) FILTER (WHERE slot = {BASELINE_SLOT}) AS b",
            f"max(total) FILTER (WHERE slot = {END_SLOT}) AS e",
            f"max(day) FILTER (WHERE slot = {END_SLOT}) AS e_day",
        ]
        + [f"max(total) FILTER (WHERE slot = {FOLLOW_UP_SLOT + i}) AS f{i}" for i in range(len(names))]
        + [f"max(day) FILTER (WHERE slot = {FOLLOW_UP_SLOT + i}) AS f{i}_day" for i in range(len(names))]
    )
    equity = ", ".join(
        [
            "count(*)",
            "count(*) FILTER (WHERE eligible)",
            "count(*) FILTER (WHERE eligible AND end_due)",
            "count(*) FILTER (WHERE response_end)",
            "count(*) FILTER (WHERE remission_end)",
            f"count(*) FILTER (WHERE eligible AND due{month_6})",
            f"count(*) FILTER (WHERE eligible AND e IS NOT NULL AND f{month_6} IS NOT NULL)",
            f"count(*) FILTER (WHERE sustained{month_6})",
        ]
    )
    dims = ", ".join(EQUITY_DIMENSIONS)
    first_maintenance = [
        min((d for d in r.maintenance_days if d > r.end_day), default=None) if r.end_day else None for r in rows
    ]
    columns = ", ".join(
        _course_arrays(params, rows)
        + [
            _array(params, "first_maintenance", first_maintenance, "date"),
        ]
        + [_array(params, d, [getattr(r, d) for r in rows], "text") for d in EQUITY_DIMENSIONS]
    )
    # The dimension of an equity row: GROUPING() has a 0 bit for the one column grouped on.
    all_bits = (1 << len(EQUITY_DIMENSIONS)) - 1
    sql = f"""
    WITH c AS (
        SELECT * FROM unnest({columns})
            AS c(course_id, first_at, first_day, end_day, discontinued, first_maintenance, {dims})
    ), {picked},
    o AS (SELECT course_id, instrument, {pivot} FROM p GROUP BY course_id, instrument),
    x AS (
        SELECT c.*, i.instrument, o.b, o.e, o.e_day,
            {", ".join(f"o.f{i}, o.f{i}_day" for i in range(len(names)))}
        FROM c CROSS JOIN unnest(%(instruments)s::text[]) AS i(instrument)
        LEFT JOIN o ON o.course_id = c.course_id AND o.instrument = i.instrument
    ),
    f1 AS (SELECT x.*, {first} FROM x),
    f AS MATERIALIZED (SELECT f1.*, {second} FROM f1)
    SELECT 'summary', instrument, NULL::int, NULL::text, ARRAY[{", ".join(sql for _path, sql in spec)}]::bigint[]
    FROM f GROUP BY instrument
    UNION ALL
    SELECT 'equity', instrument, GROUPING({dims}), concat_ws('', {dims}), ARRAY[{equity}]::bigint[]
    FROM f GROUP BY instrument, GROUPING SETS ({", ".join(f"({d})" for d in EQUITY_DIMENSIONS)})
    UNION ALL
    SELECT 'km', instrument, NULL, NULL, ARRAY[days, event::int, count(*)]::bigint[]
    FROM (
        SELECT instrument, {km_days} AS days, {km_event} AS event FROM f
        WHERE eligible AND e IS NOT NULL AND end_day IS NOT NULL AND response_end
    ) km GROUP BY instrument, days, event
    UNION ALL
    SELECT 'flow', NULL, NULL, NULL,
        ARRAY[count(*) FILTER (WHERE discontinued AND {_scored_after_end("c")})]::bigint[]
    FROM c
    """  # noqa: S608
    counts = {instrument: _empty_counts(defs) for instrument in INSTRUMENTS}
    km: dict = {instrument: [] for instrument in INSTRUMENTS}
    equity: dict = {instrument: {d: {} for d in EQUITY_DIMENSIONS} for instrument in INSTRUMENTS}
    flow = 0
    with _cursor() as cursor:
        cursor.execute(sql, params)
        for kind, instrument, grouping, group, values in cursor.fetchall():
            if kind == "summary":
                for (path, _sql), value in zip(spec, values, strict=True):
                    _put(counts[instrument], path, value)
            elif kind == "equity":
                dimension = EQUITY_DIMENSIONS[_grouped_on(grouping, all_bits)]
                equity[instrument][dimension][group] = dict(zip(EQUITY_COUNTS, values, strict=True))
            elif kind == "km":
                days, event, n = values
                km[instrument] += [(days, bool(event))] * n
            else:
                flow = values[0]
    return Figures(counts=counts, km=km, equity=equity, discontinued_with_follow_up=flow)


def _grouped_on(grouping: int, all_bits: int) -> int:
    """GROUPING(a, b, …) sets a bit, leftmost column highest, for each column not grouped on."""
    missing = all_bits ^ grouping
    return len(EQUITY_DIMENSIONS) - missing.bit_length()


def _empty_counts(defs: Definitions) -> dict:
    counts: dict = {}
    for path, _sql in _count_spec(defs):
        _put(counts, path, 0)
    return counts


def _put(counts: dict, path: tuple, value: int) -> None:
    """Set a count at its place in outcome_counts' shape; moments are (n, sum, sum of squares)."""
    if path[0] == "moments":
        moments = counts.setdefault("moments", {})
        current = list(moments.get(path[1], (0, 0, 0)))
        current[path[2]] = value
        moments[path[1]] = tuple(current)
    elif len(path) == 3:
        counts.setdefault(path[0], {}).setdefault(path[1], {})[path[2]] = value
    else:
        counts[path[0]] = value
