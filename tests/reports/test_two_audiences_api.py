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

from tests.conftest import normal_vitals
from tests.courses.test_api_flows import EVALUATION, api, ok
from tests.reports.api_support import answers_for
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
    ("mdd_trd", "female", (20, None, None, 18, None)),
    ("anxiety", "female", (20, 7, 8, 16, 18)),
    ("mdd_trd", "male", (20, 18, None, 17, None)),  # discontinued after one dose, recorded late
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
    body = {"answers": answers_for(instrument, total), "answered_at": _now(-5)}
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
    dose = ok(p.post(f"/api/dosing-sessions/{session['id']}/participants/", body | {"fasting_confirmed": True}), 201)
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

    # Every describing value the outside file shows is shared by at least THRESHOLD courses; a
    # hidden value never hides alone (it could be had from the others and the total).
    by_course_inside = {r["course_key"]: r for r in inside}
    by_course_outside = {r["course_key"]: r for r in outside}
    for column in ("indication", "sex", "race_ethnicity", "age_band", "course_start_year", "status", "route"):
        shown = Counter(r[column] for r in by_course_outside.values() if r[column] != HIDDEN)
        assert all(n >= THRESHOLD for n in shown.values()), (column, shown)
        hidden_values = {by_course_inside[key][column] for key, r in by_course_outside.items() if r[column] == HIDDEN}
        assert len(hidden_values) != 1, (column, hidden_values)
    assert by_course_outside and {r["indication"] for r in by_course_outside.values()} >= {HIDDEN, "mdd_trd"}

    # Wherever the outside file shows a value it is the inside one; days count from the first dose.
    inside_rows = {(r["course_key"], r["instrument"]): r for r in inside}
    for row in outside:
        twin = inside_rows[(row["course_key"], row["instrument"])]
        for column, value in row.items():
            if value != HIDDEN:
                assert value == twin[column], (column, value, twin[column])
        first_dose = dt.date.fromisoformat(twin["first_dose_date"])
        for timepoint in ("baseline", "end", *FOLLOW_UP_DAYS):
            if twin[f"{timepoint}_date"]:
                days = (dt.date.fromisoformat(twin[f"{timepoint}_date"]) - first_dose).days
                assert row[f"{timepoint}_day"] == str(days)
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
    # The one adverse event is a small cell in the text and in both of its tables (the total is
    # hidden too, so the zeros beside it give nothing away).
    safety = outside_text.split("Adverse events by type")[0].split("\nSafety")[-1]
    assert "< 3 adverse events recorded" in " ".join(safety.split())
    inside_safety = inside_text.split("Adverse events by type")[0].split("\nSafety")[-1]
    assert "1 adverse event recorded" in " ".join(inside_safety.split())
    grades = outside_text.split("Adverse events by grade")[-1].split("Serious adverse events")[0]
    assert re.search(r"Grade 1\s+<\s?3\s+—", grades)
    types = outside_text.split("Adverse events by type")[-1].split("Adverse events by grade")[0]
    assert re.search(r"Nausea\s+<\s?3\s+—", types), types
    # No serious-event list, and no month of any event, leaves the clinic.
    assert "Onset (month)" not in outside_text
    months = defaultdict(int)
    for month in re.findall(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b", outside_text):
        months[month] += 1
    assert not months
