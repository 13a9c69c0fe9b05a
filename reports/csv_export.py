"""The practice report as a CSV for analysts: one row per course × instrument, de-identified.

Rows come from the same `PracticeReport` the page and the PDF print (reports/report.py), so
the flags in a row are the outcome functions' own answers and counting them gives the report's
figures. No names, MRNs, dates of birth or record ids: a course is its HMAC key, a patient's
age is a band and the course start is a month. Two protections apply to every file:

- Small cells: a race/ethnicity, sex or age-band value shared by fewer than the clinic's
  suppression threshold of courses in the file is written "suppressed (<N)" (DOMAIN §6).
- Spreadsheet formulas: a text cell starting with =, +, -, @, tab or carriage return gets a
  leading single quote (OWASP "CSV injection"); numbers are written as numbers.
"""

import csv
import io
from collections import Counter

from measures.instruments import INSTRUMENTS
from reports.outcomes import FOLLOW_UPS, Outcome

INSTRUMENT_ORDER = ("phq9", "gad7", "pcl5")
DEMOGRAPHICS = ("sex", "race_ethnicity", "age_band")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = (
    "course_key",
    "indication",
    "route",
    "format",
    "sex",
    "race_ethnicity",
    "age_band",
    "course_start_month",
    "status",
    "maintenance_doses",
    "instrument",
    "loinc_total",
    "eligible",
    "baseline_score",
    "baseline_date",
    "end_score",
    "end_date",
    *(f"{name}_{part}" for name in FOLLOW_UPS for part in ("score", "date")),
    "reduction_pct_end",
    "response_end",
    "partial_response_end",
    "remission_end",
    "pcl5_meaningful_change_end",
    *(f"response_{name}" for name in FOLLOW_UPS),
    "sustained_month_3",
    "sustained_month_6",
    *(f"maintenance_before_{name}" for name in FOLLOW_UPS),
)


def neutralise(value):
    """A cell that a spreadsheet will not run as a formula. Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _flag(value: bool | None) -> str:
    # Blank means "not measurable" (no score, or baseline below the cut-off), not "no".
    return "" if value is None else ("TRUE" if value else "FALSE")


def _point(point) -> tuple:
    return ("", "") if point is None else (point.total, point.day.isoformat())


def suppressed_values(rows: list, threshold: int) -> dict[str, set]:
    """Per demographic field, the values shared by fewer than `threshold` courses."""
    rare = {}
    for name in DEMOGRAPHICS:
        counts = Counter(getattr(row, name) for row, _outcomes in rows)
        rare[name] = {value for value, n in counts.items() if n < threshold}
    return rare


def course_instrument_row(row, outcome: Outcome, demographics: dict) -> list:
    """One CSV row, before neutralising: the course's fields and one instrument's outcome."""
    values = [
        row.key,
        row.indication,
        row.route,
        row.format,
        demographics["sex"],
        demographics["race_ethnicity"],
        demographics["age_band"],
        row.start_day.strftime("%Y-%m"),
        row.status,
        len(row.maintenance_days),
        outcome.instrument,
        INSTRUMENTS[outcome.instrument].loinc_total,  # the code of the scores in this row
        _flag(outcome.eligible),
        *_point(outcome.baseline),
        *_point(outcome.end),
    ]
    for name in FOLLOW_UPS:
        values += _point(outcome.follow_ups.get(name))
    values += [
        "" if outcome.reduction_pct_end is None else round(outcome.reduction_pct_end, 1),
        _flag(outcome.response_end),
        _flag(outcome.partial_end),
        _flag(outcome.remission_end),
        _flag(outcome.meaningful_change_end),
        *(_flag(outcome.response_at.get(name)) for name in FOLLOW_UPS),
        _flag(outcome.sustained.get("month_3")),
        _flag(outcome.sustained.get("month_6")),
        *(_flag(outcome.maintenance_before.get(name)) for name in FOLLOW_UPS),
    ]
    return values


def render_practice_csv(report) -> bytes:
    """The report's courses as CSV bytes, UTF-8 with a byte-order mark so Excel reads the dashes."""
    threshold = report.suppression_threshold
    rare = suppressed_values(report.rows, threshold)
    hidden = f"suppressed (<{threshold})"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    # Sorted by the key, not by start date or record order, so row order reveals nothing.
    for row, outcomes in sorted(report.rows, key=lambda item: item[0].key):
        demographics = {}
        for name in DEMOGRAPHICS:
            value = getattr(row, name)
            demographics[name] = hidden if value in rare[name] else value
        for instrument in INSTRUMENT_ORDER:
            if instrument in outcomes:
                values = course_instrument_row(row, outcomes[instrument], demographics)
                writer.writerow([neutralise(v) for v in values])
    return out.getvalue().encode("utf-8-sig")
