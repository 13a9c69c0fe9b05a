"""Issue 12, item 5, end to end: a practice built through the API alone (a course start brought in
from the paper chart, a discontinuation recorded days after it happened), exported for both
audiences through the API, and the files read as a recipient would.

Outside the clinic: no date, and no count under the threshold, anywhere in the CSV or the PDF.
Inside: exact. And wherever the outside file shows a figure, it is the inside one.
"""

import csv
import datetime as dt
import io
import os
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.utils import timezone

from devtools.builders import answers_summing_to, normal_vitals
from measures.instruments import INSTRUMENTS
from tests.courses.test_api_flows import EVALUATION, api, ok
from tests.reports.web_support import pdf_text

pytestmark = pytest.mark.django_db

THRESHOLD = 3
HIDDEN = f"suppressed (<{THRESHOLD})"
PLANNED = 2
# Per course: indication, sex, PHQ-9 scores (baseline, end, +1, +3, +6 months; None: not answered).
COURSES = [
    ("mdd_trd", "female", (20, 8, 9, 9, 14)),
    ("mdd_trd", "female", (20, 9, 8, 10, 9)),
    ("mdd_trd", "male", (20, 6, 5, 6, 7)),
    ("mdd_trd", "female", (20, 12, 12, None, 15)),
    ("ptsd", "male", (20, 15, 14, 13, None)),
    ("ptsd", "female", (20, None, None, 18, None)),
    ("anxiety", "female", (20, 7, 8, 16, 18)),
    ("anxiety", "male", (20, 18, None, 17, None)),  # discontinued after one dose, recorded late
]
DISCONTINUED = 7
FOLLOW_UP_DAYS = {"month_1": 30, "month_3": 90, "month_6": 180}
DATE = re.compile(r"\d{4}-\d{2}")  # an ISO date or a month: a date element other than the year


def _now(minutes: int = 0) -> str:
    return (timezone.now() + dt.timedelta(minutes=minutes)).isoformat()


def _enter(client, course_id: str, timepoint: str, instrument: str, total: int) -> None:
    rows = ok(client.get(f"/api/courses/{course_id}/administrations/"))
    rows = rows["results"] if isinstance(rows, dict) else rows
    (row,) = [r for r in rows if r["timepoint"] == timepoint and r["instrument"] == instrument]
    body = {"answers": answers_summing_to(instrument, total), "answered_at": _now(-5)}
    ok(client.post(f"/api/administrations/{row['id']}/responses/", body, format="json"), 201)


def _open_course(t, p, n: int, indication: str, sex: str, therapist, provider) -> str:
    patient = ok(
        t.post(
            "/api/patients/",
            {
                "mrn": f"AUD-{n:04d}",
                "given_name": f"Audience{n}",
                "family_name": "Synthetic-Demo",
                "date_of_birth": "1981-02-03",
                "sex": sex,
                "race_ethnicity": "white",
                "email": f"audience{n}@example.invalid",
                "weight_kg": "70",
            },
            format="json",
        ),
        201,
    )
    started_on = (timezone.localdate() - dt.timedelta(days=20)).isoformat()
    course = ok(
        t.post(
            "/api/courses/",
            {
                "patient": patient["id"],
                "indication": indication,
                "format": "individual",
                "therapists": [therapist.pk],
                "medical_provider": provider.pk,
                "planned_dosing_sessions": PLANNED,
                "started_on": started_on,
                "start_backdated_reason": "Brought in from the paper chart.",
            },
            format="json",
        ),
        201,
    )
    assert course["started_on"] == started_on
    course_id = course["id"]
    evaluation = ok(p.post(f"/api/courses/{course_id}/medical-evaluation/", EVALUATION, format="json"), 201)
    ok(p.post(f"/api/records/medical-evaluation/{evaluation['id']}/sign/"))
    psych = {"evaluated_on": "2026-03-02", "diagnosis": "Synthetic diagnosis", "suicide_risk": "low"}
    psych = ok(t.post(f"/api/courses/{course_id}/psychiatric-evaluation/", psych, format="json"), 201)
    ok(t.post(f"/api/records/psychiatric-evaluation/{psych['id']}/sign/"))
    ok(t.post(f"/api/courses/{course_id}/status/", {"to_status": "preparation"}))
    prep = {"held_at": _now(-120), "note": "Set and setting.", "topics": ["set_setting"]}
    prep = ok(t.post(f"/api/courses/{course_id}/preparatory-sessions/", prep, format="json"), 201)
    ok(t.post(f"/api/records/preparatory-session/{prep['id']}/sign/"))
    return course_id


def _dose(p, course_id: str, therapist, provider, clock, event: bool = False) -> None:
    session = {
        "starts_at": _now(-15),
        "ends_at": _now(165),
        "medical_provider": provider.pk,
        "facilitators": [therapist.pk],
        "location": "Room 1",
    }
    session = ok(p.post("/api/dosing-sessions/", session, format="json"), 201)
    body = {"course": course_id, "route": "im", "dose_mg": "42", "weight_kg": "70", "lot_number": "LOT-1"}
    dose = ok(p.post(f"/api/dosing-sessions/{session['id']}/doses/", body | {"fasting_confirmed": True}), 201)
    ok(p.post(f"/api/doses/{dose['id']}/vitals/", {"phase": "pre_dose", **normal_vitals()}, format="json"), 201)
    ok(p.post(f"/api/doses/{dose['id']}/administer/", {}))
    clock.shift(dt.timedelta(minutes=40))
    ok(p.post(f"/api/doses/{dose['id']}/vitals/", {"phase": "during", **normal_vitals()}), 201)
    if event:
        body = {
            "term": "nausea",
            "grade": 1,
            "relatedness": "probable",
            "expectedness": "expected",
            "outcome": "resolved",
        }
        ok(p.post(f"/api/doses/{dose['id']}/adverse-events/", body, format="json"), 201)
    clock.shift(dt.timedelta(minutes=25))
    ok(p.post(f"/api/doses/{dose['id']}/vitals/", {"phase": "pre_discharge", **normal_vitals()}), 201)
    discharge = {"alert_oriented": True, "escort_present": True, "no_driving_advised": True}
    ok(p.post(f"/api/doses/{dose['id']}/discharge/", discharge))
    clock.shift(dt.timedelta(minutes=5))


def _build_practice(therapist, provider, clock) -> list[str]:
    t, p = api(therapist), api(provider)
    ids = []
    for n, (indication, sex, scores) in enumerate(COURSES):
        course_id = _open_course(t, p, n, indication, sex, therapist, provider)
        _enter(t, course_id, "baseline", "phq9", scores[0])
        _enter(t, course_id, "baseline", "gad7", 12)
        _enter(t, course_id, "baseline", "pcl5", 40)
        ok(t.post(f"/api/courses/{course_id}/status/", {"to_status": "dosing"}))
        _dose(p, course_id, therapist, provider, clock, event=n == 0)  # one adverse event: a small cell
        ids.append(course_id)
    clock.shift(dt.timedelta(days=7))
    for n, course_id in enumerate(ids):
        if n != DISCONTINUED:
            _dose(p, course_id, therapist, provider, clock)
            ok(t.post(f"/api/courses/{course_id}/status/", {"to_status": "integration"}))
    # Two days later the therapist records that course 7 stopped after its first dose, on the day
    # the patient said so (a week ago): a late entry, with its reason.
    clock.shift(dt.timedelta(days=2))
    stopped = {
        "to_status": "discontinued",
        "reason": "Patient moved away.",
        "effective_on": (timezone.localdate() - dt.timedelta(days=7)).isoformat(),
        "late_entry_reason": "Learned of it by phone today.",
    }
    assert ok(t.post(f"/api/courses/{ids[DISCONTINUED]}/status/", stopped))["status"] == "discontinued"
    # Day 12 or so since the first doses (the doses took the evenings): every end window is open.
    clock.shift(dt.timedelta(days=2))
    for (_i, _s, scores), course_id in zip(COURSES, ids, strict=True):
        if scores[1] is not None:
            _enter(t, course_id, "end_of_course", "phq9", scores[1])
    elapsed = 0
    for k, (name, day) in enumerate(FOLLOW_UP_DAYS.items(), start=2):
        clock.shift(dt.timedelta(days=day - elapsed))
        elapsed = day
        for (_i, _s, scores), course_id in zip(COURSES, ids, strict=True):
            if scores[k] is not None:
                _enter(t, course_id, name, "phq9", scores[k])
    clock.shift(dt.timedelta(days=40))  # every +6-month window has closed
    return ids


def _export(lead, kind: str, audience: str, django_capture_on_commit_callbacks) -> tuple[str, bytes]:
    client = api(lead)
    with django_capture_on_commit_callbacks(execute=True):
        body = ok(client.post("/api/reports/exports/", {"kind": kind, "audience": audience}, format="json"), 202)
    assert body["audience"] == audience
    status = ok(client.get(body["links"]["self"]))
    assert status["status"] == "done", status
    download = client.get(status["links"]["download"])
    assert download.status_code == 200
    return status["filename"], download.content


def _csv(content: bytes) -> tuple[str, list[dict]]:
    first, rest = content.decode("utf-8-sig").split("\n", 1)
    return first.strip(), list(csv.DictReader(io.StringIO(rest)))


def _small(n: int) -> bool:
    return 0 < n < THRESHOLD


def test_both_audiences_from_a_practice_built_through_the_api(
    therapist, provider, lead, clock, django_capture_on_commit_callbacks, tmp_path
):
    settings = ok(api(lead).patch("/api/reports/outcome-settings/", {"suppression_threshold": THRESHOLD}))
    assert settings["suppression_threshold"] == THRESHOLD
    _build_practice(therapist, provider, clock)

    # --- the CSV ---------------------------------------------------------------------------
    name, outside_bytes = _export(lead, "practice_csv", "outside", django_capture_on_commit_callbacks)
    assert "outside" in name
    _name, inside_bytes = _export(lead, "practice_csv", "inside", django_capture_on_commit_callbacks)
    first, outside = _csv(outside_bytes)
    assert first.startswith("To share outside the clinic")
    inside_first, inside = _csv(inside_bytes)
    assert inside_first.startswith("Inside the clinic")
    assert len(outside) == len(inside) == len(COURSES) * 3

    # No date element but the year: not in a cell, not in the header, not anywhere.
    assert not DATE.search(outside_bytes.decode("utf-8-sig"))
    assert DATE.search(inside_bytes.decode("utf-8-sig"))  # the inside file does carry them

    # Outside, course keys are drawn for the file: no key of the inside file, nor of another
    # outside file, so files cannot be joined row by row.
    outside_keys = {r["course_key"] for r in outside}
    assert len(outside_keys) == len(COURSES) and not outside_keys & {r["course_key"] for r in inside}
    _name, again = _export(lead, "practice_csv", "outside", django_capture_on_commit_callbacks)
    assert not outside_keys & {r["course_key"] for r in _csv(again)[1]}

    # Pair each outside course with its inside twin: the one whose rows agree on every value the
    # outside file shows (days since the first dose against the inside dates). A bijection must
    # exist, which is "the inside figures equal the outside ones wherever the outside shows one".
    def shown_agrees(out_row: dict, in_row: dict) -> bool:
        for column, value in out_row.items():
            if column == "course_key" or value == HIDDEN:
                continue
            if value != in_row[column]:
                return False
        first_dose = dt.date.fromisoformat(in_row["first_dose_date"])
        for timepoint in ("baseline", "end", *FOLLOW_UP_DAYS):
            when = in_row[f"{timepoint}_date"]
            if when and out_row[f"{timepoint}_day"] != str((dt.date.fromisoformat(when) - first_dose).days):
                return False
        return True

    def rows_of(rows: list[dict]) -> dict[str, dict]:
        grouped = defaultdict(dict)
        for row in rows:
            grouped[row["course_key"]][row["instrument"]] = row
        return grouped

    outside_courses, inside_courses = rows_of(outside), rows_of(inside)
    twins: dict[str, str] = {}
    for out_key, out_rows in outside_courses.items():
        matches = [
            in_key
            for in_key, in_rows in inside_courses.items()
            if in_key not in twins.values()
            and in_rows.keys() == out_rows.keys()
            and all(shown_agrees(out_rows[i], in_rows[i]) for i in out_rows)
        ]
        assert matches, out_rows
        twins[out_key] = matches[0]
    assert len(set(twins.values())) == len(COURSES)

    # Every describing value the outside file shows is shared by at least THRESHOLD courses; hidden
    # values never hide a small number of courses between them (they could be had from the others).
    for column in ("indication", "sex", "race_ethnicity", "age_band", "course_start_year", "status", "route"):
        per_course = {key: rows["phq9"][column] for key, rows in outside_courses.items()}
        shown = Counter(v for v in per_course.values() if v != HIDDEN)
        assert all(n >= THRESHOLD for n in shown.values()), (column, shown)
        hidden = [key for key, v in per_course.items() if v == HIDDEN]
        assert not _small(len(hidden)), (column, hidden)
        hidden_values = {inside_courses[twins[key]]["phq9"][column] for key in hidden}
        assert len(hidden_values) != 1 or not hidden, (column, hidden_values)
    # PTSD 2 and anxiety 2 are hidden together (4 courses), depression (4) is shown.
    assert {rows["phq9"]["indication"] for rows in outside_courses.values()} == {HIDDEN, "mdd_trd"}

    # The back-dated start is the one the inside file names; the discontinued course counts its end
    # from its only dose (its end-of-course score, 12 days later, is in).
    starts = {r["course_start_date"] for r in inside}
    assert len(starts) == 1 and dt.date.fromisoformat(starts.pop()) < dt.date.fromisoformat(
        inside[0]["first_dose_date"]
    )
    discontinued = [r for r in inside if r["status"] == "discontinued" and r["instrument"] == "phq9"]
    assert [r["end_score"] for r in discontinued] == ["18"]

    # --- the PDF ---------------------------------------------------------------------------
    _name, outside_pdf = _export(lead, "practice_pdf", "outside", django_capture_on_commit_callbacks)
    _name, inside_pdf = _export(lead, "practice_pdf", "inside", django_capture_on_commit_callbacks)
    if (keep := os.environ.get("KAPCLINIC_KEEP_PDF")) is not None:  # to look at them: pdftoppm
        Path(keep, "outside.pdf").write_bytes(outside_pdf)
        Path(keep, "inside.pdf").write_bytes(inside_pdf)
    outside_text = pdf_text(outside_pdf, tmp_path)
    inside_text = pdf_text(inside_pdf, tmp_path)
    # Each page says its audience (the footer), the title page first.
    pages = [page for page in outside_text.split("\f") if page.strip()]
    assert all("To share outside the clinic" in page for page in pages)
    assert all("Inside the clinic" in page for page in inside_text.split("\f") if page.strip())

    rates = re.compile(r"(\d+)/(\d+), (\d+\.\d)%")
    outside_rates = rates.findall(outside_text)
    inside_rates = rates.findall(inside_text)
    assert outside_rates, "the outside file still shows the figures that are large enough"
    for numerator, denominator, _pct in outside_rates:
        n, d = int(numerator), int(denominator)
        assert not (_small(n) or _small(d) or _small(d - n)), (n, d)
    # The inside file shows the small ones; every rate the outside file shows is an inside one.
    assert any(_small(int(n)) or _small(int(d) - int(n)) for n, d, _p in inside_rates)
    assert Counter(outside_rates) <= Counter(inside_rates)

    # Bare counts: "n = 2" and a table cell of 1 or 2 under "n" columns never appear outside.
    for n in re.findall(r"n = (\d+)", outside_text):
        assert not _small(int(n)), n
    flow = outside_text.split("Where the courses stand")[-1].split("Discontinued courses with a score")[0]
    assert "Discontinued (ends on its last dose given)" in flow
    discontinued_line = next(line for line in flow.splitlines() if "Discontinued (ends" in line)
    assert re.search(r"<\s?3$", discontinued_line.strip())  # one course: a small cell
    inside_flow = inside_text.split("Where the courses stand")[-1].split("Discontinued courses with a score")[0]
    assert next(line for line in inside_flow.splitlines() if "Discontinued (ends" in line).split()[-1] == "1"
    # The one adverse event is a small count: the safety section is withheld whole from the shared
    # file, saying why; the inside file shows it.
    safety = " ".join(outside_text.split("\nSafety")[-1].split())
    assert safety.startswith("Not in a file to share outside the clinic.")
    assert "Nausea" not in outside_text and "adverse event recorded" not in outside_text
    inside_safety = inside_text.split("Adverse events by type")[0].split("\nSafety")[-1]
    assert "1 adverse event recorded" in " ".join(inside_safety.split())
    # Every instrument section is either shared whole or withheld with its reason.
    lines = outside_text.splitlines()
    titles = {INSTRUMENTS[code].title for code in ("phq9", "gad7", "pcl5")}
    headings = [i for i, line in enumerate(lines) if line.strip() in titles]
    assert len(headings) == 3
    for i in headings:
        part = "\n".join(lines[i : i + 8])
        assert "Courses with a baseline score" in part or "Not in a file to share" in part, part
    # No serious-event list, and no month of any event, leaves the clinic.
    assert "Onset (month)" not in outside_text
    months = defaultdict(int)
    for month in re.findall(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b", outside_text):
        months[month] += 1
    assert not months
