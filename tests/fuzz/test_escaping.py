"""Markup typed into any free-text field is shown as text everywhere: on every staff page, on
the patient's page, in both PDFs (with nothing fetched), verbatim in the API's JSON, and
defused in the CSV. Every field carries its own tag, so a field shown raw anywhere is named."""

import csv
import datetime as dt
import io
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import Role
from courses import services
from courses.choices import VitalPhase
from courses.models import AdverseEvent
from devtools.builders import SIGNABLE_EVALUATION, normal_vitals
from measures import services as measure_services
from measures.models import Administration, AdministrationStatus, SafetyAlert
from reports import services as report_services
from reports.cohort import ReportFilters
from reports.csv_export import render_practice_csv
from reports.pdf import _write_pdf, render_patient_pdf, render_practice_pdf
from reports.report import build_practice_report
from tests.fuzz.support import fill_routes, route_patterns
from tests.measures.support import ad_hoc
from tests.reports.web_support import pdf_text


def hostile(tag: str, limit: int = 1000) -> str:
    """Script, an attribute break-out and plain markup, each carrying the field's tag."""
    full = f"<script>alert('{tag}')</script>\"><img src=x onerror=alert('{tag}')><b>{tag}</b>"
    return full if len(full) <= limit else f"<b>{tag}</b>"


def raw_markers(tag: str) -> list[str]:
    return [f"<b>{tag}</b>", f"<script>alert('{tag}')", f"<img src=x onerror=alert('{tag}')>"]


def escaped_marker(tag: str) -> str:
    return escape(f"<b>{tag}</b>")


class Fetches(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        Fetches.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    """A local web server that counts what is asked of it: a PDF must ask nothing."""
    Fetches.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Fetches)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def hostile_clinic(therapist, provider, lead, clock, listener):
    """A clinic whose every free-text field holds markup with its own tag ("F01"…)."""
    tags = {}

    def put(name, limit=1000):
        tag = f"F{len(tags) + 1:02d}"
        tags[tag] = name
        return hostile(tag, limit)

    services.clinic_settings_update(by=lead, changes={"clinic_name": put("clinic name", 120)})
    colleague = services.staff_create(
        by=lead,
        username="hostile-therapist",
        password="a-long-enough-password-2026",
        role=Role.THERAPIST,
        first_name=put("staff first name", 150),
        last_name=put("staff last name", 150),
        credentials=put("staff credentials", 60),
    )
    patient = services.patient_register(
        by=therapist,
        mrn=put("MRN", 32),
        given_name="Zz-Test " + put("given name", 70),
        family_name=put("family name", 80),
        date_of_birth=dt.date(1980, 1, 1),
        sex="female",
        email="zz-test@example.invalid",
        phone=put("phone", 32),
        weight_kg=Decimal("70"),
    )
    course = services.course_open(
        patient=patient,
        by=therapist,
        indication="other",
        indication_detail=put("indication detail", 200),
        therapists=[therapist, colleague],
        medical_provider=provider,
    )
    evaluation = services.medical_evaluation_add(
        course=course,
        by=provider,
        decision="cleared_with_cautions",
        history=put("medical history"),
        medications=put("medications"),
        caution_note=put("caution note"),
        **{**SIGNABLE_EVALUATION, "caution_substance_use_history": "yes"},
    )
    services.record_sign(record=evaluation, by=provider)
    services.record_amend(
        record=evaluation, by=provider, changes={"medications": put("amended medications")}, reason=put("amend reason")
    )
    psych = services.psychiatric_evaluation_add(
        course=course,
        by=therapist,
        evaluated_on=dt.date(2026, 3, 2),
        diagnosis=put("diagnosis", 200),
        icd10_code=put("ICD-10 code", 10),
        suicide_risk="low",
        risk_plan=put("risk plan"),
        note=put("psychiatric note"),
    )
    services.record_sign(record=psych, by=therapist)
    services.course_change_status(course=course, by=therapist, to_status="preparation", reason=put("stage reason"))
    prep = services.preparatory_session_add(
        course=course,
        by=therapist,
        held_at=timezone.now() - dt.timedelta(days=3),
        intentions=put("intentions"),
        note=put("preparatory note"),
    )
    services.record_sign(record=prep, by=therapist)
    # The baseline before the first dose: PHQ-9 answered by the patient (item 9 raises an alert),
    # GAD-7 and PCL-5 waived with a reason.
    measure_services.tick()
    baseline = Administration.objects.filter(course=course, status=AdministrationStatus.OPEN)
    measure_services.response_submit_self_report(
        token=measure_services.self_report_token(baseline.get(instrument="phq9")),
        answers={**dict.fromkeys(range(1, 9), 1), 9: 1},
    )
    measure_services.safety_alert_acknowledge(
        alert=SafetyAlert.objects.get(), by=therapist, action_note=put("safety alert note")
    )
    for instrument in ("gad7", "pcl5"):
        measure_services.administration_waive(
            administration=baseline.get(instrument=instrument), by=therapist, reason=put("waive reason", 500)
        )
    voided = services.preparatory_session_add(
        course=course, by=therapist, held_at=timezone.now() - dt.timedelta(days=2), note="Entered in error."
    )
    services.record_void(record=voided, by=therapist, reason=put("void reason"))
    services.integration_session_add(
        courses=[course], by=therapist, held_at=timezone.now() - dt.timedelta(days=1), note=put("integration note")
    )
    session = services.dosing_session_schedule(
        by=provider,
        starts_at=timezone.now() - dt.timedelta(hours=2),
        ends_at=timezone.now() + dt.timedelta(hours=1),
        medical_provider=provider,
        facilitators=[therapist],
        location=put("location", 120),
        others_present=put("others present", 300),
    )
    services.dosing_session_note(session=session, by=therapist, facilitation_note=put("facilitation note"))
    course.refresh_from_db()
    dose = services.dose_add(
        session=session,
        course=course,
        by=provider,
        route="iv",
        dose_mg=Decimal("80"),
        weight_kg=Decimal("70"),
        over_maximum_reason=put("over-maximum reason"),
        lot_number=put("lot number", 40),
        concomitant_medications=put("concomitant medications"),
        fasting_confirmed=True,
    )
    high = services.vital_reading_add(
        dose=dose,
        by=provider,
        phase=VitalPhase.PRE_DOSE,
        taken_at=timezone.now() - dt.timedelta(minutes=70),
        **normal_vitals(systolic_bp=182),
    )
    services.in_session_alert_close(
        alert=high.in_session_alerts.get(), by=provider, action="other", note=put("in-session alert note")
    )
    services.dosing_hold_override(dose=dose, by=provider, reason=put("hold override reason"))
    # The override is made now, so the dose follows it (a dose during a hold follows its override).
    services.dose_administer(dose=dose, by=provider, dosed_at=timezone.now())
    # An image the PDF would fetch if the description ever reached WeasyPrint as markup.
    description = put("AE description") + f"<img src={listener}/fetched-from-the-pdf.png>"
    event = services.adverse_event_add(
        dose=dose,
        by=provider,
        term="other",
        term_other=put("AE other term", 200),
        grade=3,
        relatedness="possible",
        expectedness="expected",
        onset_at=timezone.now(),
        serious=True,
        serious_criteria=["hospitalisation"],
        description=description,
    )
    second = services.adverse_event_add(
        dose=dose,
        by=provider,
        term="nausea",
        grade=1,
        relatedness="possible",
        expectedness="expected",
        onset_at=timezone.now(),
        serious=True,
        serious_criteria=["other_important"],
        description="Second event.",
    )
    services.adverse_event_acknowledge(event=second, by=lead, note=put("AE acknowledgement note"))

    gad7 = ad_hoc(course, therapist, "gad7")
    measure_services.administration_cancel(administration=gad7, by=therapist, reason=put("cancel reason", 500))
    pcl5 = ad_hoc(course, therapist, "pcl5")
    return {
        "tags": tags,
        "course": course,
        "patient": patient,
        "dose": dose,
        "event": event,
        "session": session,
        "colleague": colleague,
        "pcl5": pcl5,
        "listener": listener,
    }


# An acknowledged safety alert leaves the worklist; its note is read in the API and the admin.
# Every field is on some staff page: the item 9 acknowledgement note too, on the course, the
# worklist and the dose page (it closes the loop where the care team looks).
NOT_ON_A_STAFF_PAGE: set[str] = set()


def _pages(clinic) -> list[str]:
    course, dose = clinic["course"], clinic["dose"]
    records = [
        ("patient", clinic["patient"].pk),
        ("course", course.pk),
        ("medical-evaluation", course.medical_evaluations.get().pk),
        ("psychiatric-evaluation", course.psychiatric_evaluations.get().pk),
        ("dosing-session", clinic["session"].pk),
        ("dose", dose.pk),
        ("adverse-event", clinic["event"].pk),
        *(("preparatory-session", s.pk) for s in course.preparatory_sessions.all()),
        *(("integration-session", s.pk) for s in course.integration_sessions.all()),
    ]
    values = {
        "patient_id": [clinic["patient"].pk],
        "course_id": [course.pk],
        "session_id": [clinic["session"].pk],
        "dose_id": [dose.pk],
        "event_id": [clinic["event"].pk],
        "user_id": [clinic["colleague"].pk],
        "administration_id": [clinic["pcl5"].pk],
        ("record_type", "record_id"): records,
    }
    paths, _skipped = fill_routes(route_patterns("courses.web.urls", "measures.web.urls", "reports.web.urls"), values)
    return paths


def test_markup_in_every_free_text_field_is_shown_as_text_on_every_page(hostile_clinic, therapist, provider, lead):
    tags = hostile_clinic["tags"]
    shown, raw = set(), []
    pages = 0
    for user in (therapist, provider, lead):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for path in _pages(hostile_clinic):
            response = client.get(path)
            assert response.status_code < 500, f"GET {path} as {user.role}: {response.status_code}"
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            pages += 1
            text = response.content.decode()
            for tag, name in tags.items():
                raw += [f"{name} raw on {path} as {user.role}" for m in raw_markers(tag) if m in text]
                if escaped_marker(tag) in text:
                    shown.add(tag)
    assert not raw, "\n".join(raw)
    assert pages > 40
    # Every field is shown somewhere (escaped), so the absence of raw markup above means something.
    assert {tags[t] for t in tags.keys() - shown} == NOT_ON_A_STAFF_PAGE


def test_the_patients_page_shows_their_first_name_and_the_clinic_as_text(hostile_clinic):
    pcl5 = hostile_clinic["pcl5"]
    response = Client().get(reverse("self-report", args=[measure_services.self_report_token(pcl5)]))
    text = response.content.decode()
    assert response.status_code == 200
    tags = {name: tag for tag, name in hostile_clinic["tags"].items()}
    for name in ("given name", "clinic name"):
        assert escaped_marker(tags[name]) in text and not any(m in text for m in raw_markers(tags[name]))


def test_the_mail_to_the_patient_is_plain_text_with_the_name_as_typed(
    hostile_clinic, therapist, django_capture_on_commit_callbacks
):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        measure_services.administration_send_new_link(administration=hostile_clinic["pcl5"], by=therapist)
    invitation = next(m for m in mail.outbox if "PCL-5" in m.subject)
    tags = {name: tag for tag, name in hostile_clinic["tags"].items()}
    # Plain text: markup is not markup there, and an HTML escape would show "&lt;" to the patient.
    assert f"<b>{tags['given name']}</b>" in invitation.body and "&lt;" not in invitation.body
    assert not getattr(invitation, "alternatives", None)


def _printed(text: str) -> str:
    return " ".join(text.split())


def test_the_progress_report_pdf_prints_markup_as_text_and_fetches_nothing(hostile_clinic, tmp_path):
    text = _printed(pdf_text(render_patient_pdf(hostile_clinic["course"]), tmp_path))
    tags = {name: tag for tag, name in hostile_clinic["tags"].items()}
    printed = [
        "given name",
        "family name",
        "MRN",
        "indication detail",
        "clinic name",
        "staff first name",
        "AE other term",
        "AE description",
    ]
    for name in printed:
        assert f"<b>{tags[name]}</b>" in text, name
    assert f"<script>alert('{tags['AE description']}')</script>" in text
    assert "fetched-from-the-pdf.png" in text.replace(" ", "")  # the <img> is printed as characters…
    assert Fetches.hits == []  # …and never requested


def test_the_practice_pdf_prints_the_clinic_and_therapist_names_as_text(hostile_clinic, lead, tmp_path):
    filters = ReportFilters(therapist_id=hostile_clinic["colleague"].pk)
    text = _printed(pdf_text(render_practice_pdf(build_practice_report(filters)), tmp_path))
    tags = {name: tag for tag, name in hostile_clinic["tags"].items()}
    assert f"<b>{tags['clinic name']}</b>" in text
    assert f"<b>{tags['staff first name']}</b>" in text  # the filter line names the therapist


def test_the_outcome_report_page_filtered_by_a_therapist_shows_the_name_as_text(hostile_clinic, client, lead):
    client.force_login(lead)
    response = client.get(reverse("outcome-report"), {"therapist": hostile_clinic["colleague"].pk})
    text = response.content.decode()
    assert response.status_code == 200
    for name in ("staff first name", "staff last name", "staff credentials"):
        tag = next(t for t, n in hostile_clinic["tags"].items() if n == name)
        assert escaped_marker(tag) in text and not any(m in text for m in raw_markers(tag))


def test_the_pdf_writer_fetches_nothing_even_from_raw_markup(listener, tmp_path):
    html = (
        f'<p>before</p><img src="{listener}/img.png"><link rel="stylesheet" href="{listener}/style.css">'
        f'<p style="background: url({listener}/bg.png)">after</p><img src="file:///etc/passwd">'
    )
    text = pdf_text(_write_pdf(html), tmp_path)
    assert "before" in text and "after" in text
    assert Fetches.hits == []


def test_the_api_returns_free_text_verbatim_as_json(hostile_clinic, provider):
    client = Client()
    client.force_login(provider)
    event = hostile_clinic["event"]
    tags = {name: tag for tag, name in hostile_clinic["tags"].items()}
    response = client.get(reverse("api-record", args=["adverse-event", event.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert f"<b>{tags['AE description']}</b>" in response.json()["description"]


CSV_FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def test_the_csv_export_defuses_formulas_in_every_text_cell(therapist, provider, lead, clock):
    from tests.reports.api_support import build_cohort

    build_cohort(therapist=therapist, provider=provider)
    report_services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    report = build_practice_report(ReportFilters())
    # Today's text cells are coded values; put a formula into each, as a future free-text column would carry.
    text_fields = ("key", "indication", "route", "format", "sex", "race_ethnicity", "age_band", "status")
    for i, (row, _outcomes) in enumerate(report.rows):
        for name in text_fields:
            setattr(row, name, CSV_FORMULAS[i % len(CSV_FORMULAS)])
    content = render_practice_csv(report).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content, newline="")))
    cells = [cell for row in rows[2:] for cell in row]  # under the audience line and the header
    assert cells, "the export has rows"
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), repr(cell)
        # A minus sign leads only a number (a worse score), never text.
        if cell.startswith("-"):
            float(cell)
    written = {cell for cell in cells if cell.startswith("'")}
    assert {f"'{f}" for f in CSV_FORMULAS} <= written


def test_markup_is_stored_as_typed_not_cleaned_on_the_way_in(hostile_clinic):
    event = AdverseEvent.objects.get(pk=hostile_clinic["event"].pk)
    assert event.description.startswith("<script>")


def test_formulas_typed_into_a_patients_record_never_reach_the_real_csv_export(
    client, therapist, provider, lead, clock, django_capture_on_commit_callbacks
):
    from courses.models import Course
    from reports.models import ReportExport
    from tests.reports.api_support import build_cohort

    build_cohort(therapist=therapist, provider=provider)
    report_services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    # Every free text a clinician types about these patients starts with a formula.
    for i, course in enumerate(Course.objects.select_related("patient")):
        formula = CSV_FORMULAS[i % len(CSV_FORMULAS)]
        # A name or phone refuses control characters (the tab and CR formulas): the rest go in there.
        printable = formula.lstrip("\t\r")
        services.patient_update(
            patient=course.patient, by=therapist, changes={"given_name": printable[:80], "phone": printable[:32]}
        )
        if course.status not in ("completed", "discontinued"):
            services.preparatory_session_add(
                course=course,
                by=therapist,
                held_at=timezone.now() - dt.timedelta(days=1),
                note=formula,
                intentions=formula,
            )
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("outcome-report-export"), {"kind": "practice_csv"}).status_code == 302
    export = ReportExport.objects.get()
    download = client.get(reverse("report-export-download", args=[export.pk]))
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows[2:] for cell in row]
    assert len(rows) > 2
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), repr(cell)
        if cell.startswith("-"):
            float(cell)  # only a number (a worse score) starts with a minus
    # The file is de-identified: no typed text reaches it at all, formula or not.
    assert not any(f.strip() in cell for f in CSV_FORMULAS for cell in cells if len(f.strip()) > 3)
