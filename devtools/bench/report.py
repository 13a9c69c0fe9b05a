"""Issue 15 goal 1: the practice outcome report against what PostgreSQL alone needs for it.

The product is `build_practice_report(ReportFilters(), with_rows=False)`, the count a worker makes
for the report page and GET /api/reports/outcomes/ (the PDF makes the same call): every figure of
the report, safety section included. The page and the API answer from the kept count
(reports.services.report_counted); the first line times that answer, the second the count.

The floor is one hand-written SQL statement on the same data that computes what the figures rest
on, for every course and instrument (30,000 rows at 10,000 courses): each course's first dose and
end of the acute course (the same rule as measures.schedule.course_end), the baseline, end-of-course
and three follow-up scores the definitions pick, eligibility, response, remission and sustained
response, and then the headline counts per instrument and the equity split (GROUPING SETS). It is
written here, apart from the product's SQL (reports/outcomes_sql.py), so that a slow statement in
the product shows as a ratio; it leaves out what the product does besides (the safety section,
means, Kaplan–Meier, durability by maintenance), so it is a floor, not a twin. Both run with the
same sort memory (reports.outcomes_sql.WORK_MEM) and are timed interleaved.

    DATABASE_URL=postgres://…/kapclinic_h4_10k .venv/bin/python manage.py bench --only report
"""

from django.db import connection, transaction
from django.utils import timezone

from devtools.bench import Figure, count_as_a_worker, interleaved, timed
from reports.outcomes_sql import WORK_MEM

GOAL_RATIO = 2.0
GOAL_SECONDS_10K = 1.0

FLOOR_SQL = """
WITH course AS (
    SELECT c.id, c.status, c.planned_dosing_sessions AS planned, c.format, c.indication,
        p.sex, coalesce(nullif(p.race_ethnicity, ''), 'not_recorded') AS race
    FROM courses_course c JOIN courses_patient p ON p.id = c.patient_id
    WHERE c.voided_at IS NULL AND p.voided_at IS NULL
),
dose AS (
    SELECT d.course_id,
        (array_agg(d.dosed_at ORDER BY s.starts_at, d.id) FILTER (WHERE NOT d.is_maintenance))[1] AS first_at,
        max((d.dosed_at AT TIME ZONE %(tz)s)::date) FILTER (WHERE NOT d.is_maintenance) AS last_day,
        count(*) FILTER (WHERE NOT d.is_maintenance) AS n
    FROM courses_dosingparticipant d JOIN courses_dosingsession s ON s.id = d.session_id
    WHERE d.voided_at IS NULL AND s.voided_at IS NULL AND d.dosed_at IS NOT NULL
    GROUP BY d.course_id
),
c AS (
    SELECT course.*, dose.first_at, (dose.first_at AT TIME ZONE %(tz)s)::date AS first_day,
        CASE
            WHEN dose.n IS NULL THEN NULL
            WHEN course.status IN ('integration', 'follow_up', 'completed') OR dose.n >= course.planned
                THEN dose.last_day
            WHEN course.status = 'discontinued' THEN dose.last_day
            WHEN course.status IN ('evaluation', 'preparation', 'dosing')
                AND %(as_of)s::date - dose.last_day > %(stall)s THEN dose.last_day
        END AS end_day
    FROM course LEFT JOIN dose ON dose.course_id = course.id
),
s AS (
    SELECT r.id, r.course_id, r.instrument, r.answered_at AS at, (r.answered_at AT TIME ZONE %(tz)s)::date AS day,
        r.total, c.first_at, c.first_day, c.end_day
    FROM measures_response r JOIN c ON c.id = r.course_id
    WHERE r.complete AND r.instrument IN ('phq9', 'gad7', 'pcl5')
),
p AS (
    SELECT DISTINCT ON (s.course_id, s.instrument, w.slot) s.course_id, s.instrument, w.slot, s.day, s.total
    FROM s CROSS JOIN LATERAL (VALUES
        (0, NULL::date, s.day BETWEEN s.first_day - %(baseline)s AND s.first_day AND s.at <= s.first_at),
        (1, NULL::date, s.day BETWEEN s.end_day + %(end_first)s AND s.end_day + %(end_last)s),
        (3, s.end_day + 30, s.day BETWEEN s.end_day + 30 - %(tol1)s AND s.end_day + 30 + %(tol1)s),
        (4, s.end_day + 90, s.day BETWEEN s.end_day + 90 - %(tol3)s AND s.end_day + 90 + %(tol3)s),
        (5, s.end_day + 180, s.day BETWEEN s.end_day + 180 - %(tol6)s AND s.end_day + 180 + %(tol6)s)
    ) AS w(slot, target, inside)
    WHERE w.inside
    ORDER BY s.course_id, s.instrument, w.slot, abs(s.day - w.target),
        CASE WHEN w.target IS NOT NULL THEN s.day END, CASE WHEN w.slot = 0 THEN s.at END DESC, s.at, s.id
),
o AS (
    SELECT course_id, instrument,
        max(total) FILTER (WHERE slot = 0) AS b, max(total) FILTER (WHERE slot = 1) AS e,
        max(total) FILTER (WHERE slot = 3) AS f1, max(total) FILTER (WHERE slot = 4) AS f3,
        max(total) FILTER (WHERE slot = 5) AS f6
    FROM p GROUP BY course_id, instrument
),
x AS (
    SELECT c.*, i.instrument, o.b, o.e, o.f1, o.f3, o.f6,
        (o.b > 0 AND o.b >= CASE i.instrument WHEN 'pcl5' THEN 33 ELSE 10 END) AS eligible
    FROM c CROSS JOIN (VALUES ('phq9'), ('gad7'), ('pcl5')) AS i(instrument)
    LEFT JOIN o ON o.course_id = c.id AND o.instrument = i.instrument
),
f AS MATERIALIZED (
    SELECT x.*,
        coalesce(eligible AND e IS NOT NULL AND 100 * (b - e) >= %(pct)s * b, false) AS responds,
        coalesce(eligible AND e < CASE instrument WHEN 'pcl5' THEN 33 ELSE 5 END, false) AS remits,
        (e IS NOT NULL OR end_day + %(end_last)s < %(as_of)s::date) AS end_due,
        (f6 IS NOT NULL OR end_day + 180 + %(tol6)s < %(as_of)s::date) AS due6,
        coalesce(eligible AND e IS NOT NULL AND f6 IS NOT NULL AND 100 * (b - e) >= %(pct)s * b
            AND 100 * (b - f6) >= %(pct)s * b AND NOT coalesce(100 * (b - f3) < %(pct)s * b, false), false) AS sust6
    FROM x
)
SELECT instrument, NULL, count(*), count(*) FILTER (WHERE eligible), count(*) FILTER (WHERE eligible AND end_due),
    count(*) FILTER (WHERE responds), count(*) FILTER (WHERE remits),
    count(*) FILTER (WHERE eligible AND f1 IS NOT NULL), count(*) FILTER (WHERE eligible AND f3 IS NOT NULL),
    count(*) FILTER (WHERE eligible AND due6), count(*) FILTER (WHERE sust6)
FROM f GROUP BY instrument
UNION ALL
SELECT instrument, concat_ws('', race, sex, indication, format), count(*), count(*) FILTER (WHERE eligible),
    count(*) FILTER (WHERE eligible AND end_due), count(*) FILTER (WHERE responds), count(*) FILTER (WHERE remits),
    0, 0, count(*) FILTER (WHERE eligible AND due6), count(*) FILTER (WHERE sust6)
FROM f GROUP BY instrument, GROUPING SETS ((race), (sex), (indication), (format))
"""


def floor(defs, *, as_of, stall_after_days: int) -> list:
    tolerance = {name: t for name, _day, t in defs.follow_ups}
    params = {
        "tz": timezone.get_current_timezone_name(),
        "as_of": as_of,
        "stall": stall_after_days,
        "baseline": defs.baseline_days,
        "end_first": defs.end_first_day,
        "end_last": defs.end_last_day,
        "tol1": tolerance["month_1"],
        "tol3": tolerance["month_3"],
        "tol6": tolerance["month_6"],
        "pct": defs.response_reduction_pct,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cursor.execute(FLOOR_SQL, params)
        return cursor.fetchall()


def _answer_from_count(*, rounds: int) -> tuple[float, bool]:
    """Seconds the page and the API take to answer from a kept count, and whether it was current.
    The count is made here, as a worker would make it (the task runs in this process)."""
    from reports import services
    from reports.cohort import ReportFilters

    first = count_as_a_worker()
    seconds = timed(lambda: services.report_counted(ReportFilters(), wait=0), rounds=rounds)
    return seconds, first.current and services.report_counted(ReportFilters(), wait=0).current


def run(*, rounds: int = 5) -> list[Figure]:
    from courses.models import Course
    from measures.models import MeasureSettings
    from reports.cohort import ReportFilters
    from reports.models import OutcomeSettings
    from reports.report import build_practice_report

    schedule = MeasureSettings.load()
    defs = OutcomeSettings.load().definitions(schedule)
    as_of = timezone.localdate()
    n = Course.objects.count()
    report = build_practice_report(ReportFilters(), with_rows=False)  # warm both, and check the floor agrees
    rows = floor(defs, as_of=as_of, stall_after_days=schedule.stall_after_days)
    headline = {r[0]: r[2:] for r in rows if r[1] is None}
    phq9 = report.summaries["phq9"]
    agrees = headline["phq9"][1] == phq9.n_eligible and headline["phq9"][3] == phq9.response_itt.numerator
    product, base = interleaved(
        lambda: build_practice_report(ReportFilters(), with_rows=False),
        lambda: floor(defs, as_of=as_of, stall_after_days=schedule.stall_after_days),
        rounds=rounds,
    )
    ratio = product / base
    goal = f"≤ {GOAL_RATIO:g}× floor" + (f" and < {GOAL_SECONDS_10K:g} s" if n <= 10_000 else "")
    met = ratio <= GOAL_RATIO and (n > 10_000 or product < GOAL_SECONDS_10K)
    answer, current = _answer_from_count(rounds=rounds)
    return [
        Figure(
            goal=f"outcome report page and API: the answer from the kept count, {n:,} courses",
            product=answer,
            floor=base,
            unit="s",
            target=f"< {GOAL_SECONDS_10K:g} s",
            met=current and answer < GOAL_SECONDS_10K,
            floor_label="the count's floor (one SQL statement, the line below)",
            note="reports.services.report_counted while the record is unchanged (the count a worker "
            "keeps; the count itself is the line below)" + ("" if current else "; NOT CURRENT: check"),
        ),
        Figure(
            goal=f"outcome report count (worker; PDF, CSV), {n:,} courses",
            product=product,
            floor=base,
            unit="s",
            target=goal,
            met=met,
            floor_label="one SQL statement: the same course × instrument outcomes and counts",
            note="" if agrees else "the floor's PHQ-9 counts differ from the report's: check the data",
        ),
    ]
