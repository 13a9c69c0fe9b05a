"""The practice report as a CSV for analysts: one row per course × instrument, for one audience.

Rows come from the same `PracticeReport` the page and the PDF print (reports/report.py), so
the flags in a row are the outcome functions' own answers and counting them gives the report's
figures. No file carries names, MRNs, dates of birth, free text or record ids: a course is its
HMAC key and a patient's age a band. The two audiences (reports.models.Audience) differ:

- Inside the clinic: exact figures, the course start date and every score's date beside its day.
- To share outside the clinic: de-identified to HIPAA Safe Harbor (45 CFR 164.514(b)(2)): no
  element of a date but the year, so a score carries the days since the course's first dose and a
  course its start year; and small cells (DOMAIN §6): in every describing column (sex, race,
  age band, indication, route, format, start year, status, maintenance doses) a value shared by
  fewer courses than the clinic's threshold is written "suppressed (<N)", and when that would
  hide a single value of a column the next rarest is hidden too (complementary suppression),
  so the hidden one cannot be had from the column's other values and the total.

The first line of the file names its audience. Every text cell starting with =, +, -, @, tab or
carriage return gets a leading single quote (OWASP "CSV injection"); numbers are written as numbers.
"""

import csv
import hashlib
import hmac
import io
import secrets
from collections import Counter
from datetime import date

from measures.instruments import INSTRUMENTS
from reports.aggregate import groups_to_hide
from reports.models import Audience
from reports.outcomes import FOLLOW_UPS, Outcome
from reports.presentation import serious_events

INSTRUMENT_ORDER = ("phq9", "gad7", "pcl5")
TIMEPOINTS = ("baseline", "end", *FOLLOW_UPS)
# The columns that describe a course rather than measure it: together they could single a patient
# out, so outside the clinic each value must be shared by enough courses.
DESCRIBING = (
    "indication",
    "route",
    "format",
    "sex",
    "race_ethnicity",
    "age_band",
    "course_start_year",
    "status",
    "maintenance_doses",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# The outside file's columns; the inside file adds the exact dates (INSIDE_ONLY) after them, so
# an analyst can check that every figure the outside file shows is the inside one.
COLUMNS = (
    "course_key",
    *DESCRIBING,
    "instrument",
    "loinc_total",
    "eligible",
    *(f"{name}_{part}" for name in TIMEPOINTS for part in ("score", "day")),
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
INSIDE_ONLY = ("course_start_date", "first_dose_date", *(f"{name}_date" for name in TIMEPOINTS))
AUDIENCE_LINES = {
    # No comma in either, so the first line is one bare cell that any reader shows as it is.
    Audience.INSIDE: "Inside the clinic: exact figures and dates. Not to leave the clinic.",
    Audience.OUTSIDE: (
        "To share outside the clinic: de-identified to HIPAA Safe Harbor (days since the first dose; "
        "no dates but the year; no free text). Any describing value shared by fewer than {threshold} "
        "courses is suppressed."
    ),
}


def columns(audience: str) -> tuple[str, ...]:
    return COLUMNS + (INSIDE_ONLY if audience == Audience.INSIDE else ())


def neutralise(value):
    """A cell that a spreadsheet will not run as a formula. Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _flag(value: bool | None) -> str:
    # Blank means "not measurable" (no score, or baseline below the cut-off), not "no".
    return "" if value is None else ("TRUE" if value else "FALSE")


def _score(point, first_dose: date | None) -> tuple:
    if point is None:
        return ("", "")
    return (point.total, "" if first_dose is None else (point.day - first_dose).days)


def describing_values(row) -> dict:
    """The describing columns of a course, as the file writes them before any suppression."""
    return {
        "indication": row.indication,
        "route": row.route,
        "format": row.format,
        "sex": row.sex,
        "race_ethnicity": row.race_ethnicity,
        "age_band": row.age_band,
        "course_start_year": row.start_day.year,
        "status": row.status,
        "maintenance_doses": len(row.maintenance_days),
    }


def values_to_hide(described: list[dict], threshold: int) -> dict[str, set]:
    """Per describing column, the values to suppress: those shared by fewer than `threshold`
    courses, plus a complementary one when a column would otherwise hide just one value."""
    hide = {}
    for name in DESCRIBING:
        counts = Counter(d[name] for d in described)
        values = sorted(counts, key=str)
        hidden = groups_to_hide([counts[v] for v in values], threshold)
        hide[name] = {values[i] for i in hidden}
    return hide


def course_instrument_row(key: str, outcome: Outcome, described: dict, first_dose: date | None) -> list:
    """One row of the outside file's columns, before neutralising."""
    values = [key, *(described[name] for name in DESCRIBING)]
    values += [
        outcome.instrument,
        INSTRUMENTS[outcome.instrument].loinc_total,  # the code of the scores in this row
        _flag(outcome.eligible),
        *_score(outcome.baseline, first_dose),
        *_score(outcome.end, first_dose),
    ]
    for name in FOLLOW_UPS:
        values += _score(outcome.follow_ups.get(name), first_dose)
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


def _dates(row, outcome: Outcome, first_dose: date | None) -> list:
    points = [outcome.baseline, outcome.end, *(outcome.follow_ups.get(name) for name in FOLLOW_UPS)]
    return [
        row.start_day.isoformat(),
        "" if first_dose is None else first_dose.isoformat(),
        *("" if p is None else p.day.isoformat() for p in points),
    ]


def file_keys(rows, audience: str) -> dict[str, str]:
    """Each course's key in this file. Inside, the stable key, to follow a course from file to file.
    Outside, a key drawn afresh for each file: two shared files cannot be joined row by row, which
    would let a narrow file name a value a wide one suppressed."""
    if audience == Audience.INSIDE:
        return {row.key: row.key for row, _outcomes in rows}
    salt = secrets.token_bytes(16)
    return {
        row.key: "K-" + hmac.new(salt, row.key.encode(), hashlib.sha256).hexdigest()[:12] for row, _outcomes in rows
    }


def practice_values_to_hide(report) -> dict[str, set]:
    """The describing values to hide in every outside file of the practice: those rare in the
    whole practice, with their complementary values, chosen once from every course (`report` is
    the unfiltered report). A file hides these whatever its own selection, so no two files differ
    in them: a narrow file cannot name a value a wide one hid by complement."""
    return values_to_hide([describing_values(row) for row, _outcomes in report.rows], report.suppression_threshold)


def render_practice_csv(report, audience: str = Audience.OUTSIDE, *, practice_hide: dict | None = None) -> bytes:
    """The report's courses as CSV bytes, UTF-8 with a byte-order mark so Excel reads the dashes.
    Outside, `practice_hide` (practice_values_to_hide) is hidden too, beside the file's own rare values."""
    threshold = report.suppression_threshold
    inside = audience == Audience.INSIDE
    keys = file_keys(report.rows, audience)
    # Sorted by the file's key, not by start date or record order, so row order reveals nothing.
    courses = [
        (row, outcomes, describing_values(row)) for row, outcomes in sorted(report.rows, key=lambda i: keys[i[0].key])
    ]
    hide = {} if inside else values_to_hide([described for _r, _o, described in courses], threshold)
    for name, values in (practice_hide or {}).items():
        if not inside:
            hide[name] = hide.get(name, set()) | values
    hidden = f"suppressed (<{threshold})"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([AUDIENCE_LINES[audience].format(threshold=threshold)])
    writer.writerow(columns(audience))
    for row, outcomes, described in courses:
        shown = {name: hidden if value in hide.get(name, ()) else value for name, value in described.items()}
        for instrument in INSTRUMENT_ORDER:
            if instrument in outcomes:
                values = course_instrument_row(keys[row.key], outcomes[instrument], shown, row.first_dose_day)
                if inside:
                    values += _dates(row, outcomes[instrument], row.first_dose_day)
                writer.writerow([neutralise(v) for v in values])
    return out.getvalue().encode("utf-8-sig")


# The lists the practice PDF's body summarises (reports.presentation.SERIOUS_LISTED, the
# Kaplan–Meier table read at a few days), complete: one long table, so a spreadsheet or
# `read_csv` takes it whole. `list` says which list a row is from; a column that does not apply
# to it is blank.
LISTS_COLUMNS = (
    "list",
    "instrument",
    "day",
    "at_risk",
    "lost_response",
    "censored",
    "still_responding_pct",
    "onset_month",
    "event",
    "grade",
    "seriousness_criteria",
    "action_taken",
    "outcome",
    "acknowledged_by_lead",
)
LISTS_AUDIENCE_LINE = (
    "Inside the clinic: the serious adverse events and the Kaplan–Meier steps of the outcome report in full. "
    "Not to leave the clinic."
)


def lists_rows(report) -> list[dict]:
    """Every Kaplan–Meier step of each instrument (as the PDF's curve draws them), then every
    serious adverse event, the oldest first (as the report lists them)."""
    rows = []
    for instrument in INSTRUMENT_ORDER:
        summary = report.summaries.get(instrument)
        for step in summary.km if summary else ():
            rows.append(
                {
                    "list": "km_step",
                    "instrument": instrument,
                    "day": step.time,
                    "at_risk": step.at_risk,
                    "lost_response": step.events,
                    "censored": step.censored,
                    "still_responding_pct": round(100 * step.survival, 3),
                }
            )
    for event in serious_events(report):
        rows.append(
            {
                "list": "serious_event",
                "onset_month": event["onset"].strftime("%Y-%m"),
                "event": event["term"],
                "grade": event["grade"],
                "seriousness_criteria": "; ".join(event["criteria_words"]),
                "action_taken": event["action_word"],
                "outcome": event["outcome_word"],
                "acknowledged_by_lead": _flag(event["acknowledged"]),
            }
        )
    return rows


def render_practice_lists_csv(report) -> bytes:
    """The complete lists behind the PDF's bounded summaries, for inside the clinic only (each
    serious event is one patient's story; each Kaplan–Meier step beside its number at risk gives
    small counts). UTF-8 with a byte-order mark, its first line naming its audience."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([LISTS_AUDIENCE_LINE])
    writer.writerow(LISTS_COLUMNS)
    for row in lists_rows(report):
        writer.writerow([neutralise(row.get(name, "")) for name in LISTS_COLUMNS])
    return out.getvalue().encode("utf-8-sig")
