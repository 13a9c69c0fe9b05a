"""A whole individual course recorded through the web UI, the way a clinic would do it."""

import datetime as dt

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from courses.choices import CourseStatus
from courses.models import AdverseEvent, Amendment, Course, Dose, DosingSession, Patient, VitalReading
from courses.rules import SCREEN_ITEMS
from measures.models import Administration
from tests.support import NOW


def local(delta_minutes=0):
    """A datetime-local form value in the clinic's time zone, relative to the frozen NOW."""
    return timezone.localtime(NOW + dt.timedelta(minutes=delta_minutes)).strftime("%Y-%m-%dT%H:%M")


def post(client, url, data, status=302):
    response = client.post(url, data)
    assert response.status_code == status, response.content.decode()[:3000]
    return response


def vitals(phase, taken_at, sbp=128, dbp=80, hr=76, spo2=98, rr=14):
    return {
        "phase": phase,
        "taken_at": taken_at,
        "systolic_bp": sbp,
        "diastolic_bp": dbp,
        "heart_rate": hr,
        "spo2": spo2,
        "respiratory_rate": rr,
    }


NO_SCREEN = {**dict.fromkeys([item.field for item in SCREEN_ITEMS], "no"), "childbearing_potential": "no"}


def test_full_individual_course(client, clock, therapist, provider, lead, django_capture_on_commit_callbacks):
    # Register the patient, with a first weight.
    client.force_login(therapist)
    response = post(
        client,
        reverse("patient-register"),
        {
            "mrn": "WEB-0001",
            "given_name": "Wendy",
            "family_name": "Webflow-Demo",
            "date_of_birth": "1975-04-02",
            "sex": "female",
            "race_ethnicity": "prefer_not_to_say",
            "email": "w@example.invalid",
            "phone": "",
            "preferred_channel": "email",
            "weight_kg": "72.5",
        },
    )
    patient = Patient.objects.get(mrn="WEB-0001")
    assert "WEB-0001" not in response["Location"] and "Webflow" not in response["Location"]
    assert patient.weights.get().weight_kg == 72.5

    # Open the course.
    post(
        client,
        reverse("course-open", args=[patient.pk]),
        {
            "indication": "mdd_trd",
            "indication_detail": "",
            "format": "individual",
            "therapists": [therapist.pk],
            "medical_provider": provider.pk,
            "planned_dosing_sessions": 4,
        },
    )
    course = Course.objects.get(patient=patient)
    page = client.get(reverse("course-timeline", args=[course.pk]))
    assert "No medical evaluation" in page.content.decode()

    # Medical evaluation with a caution, first refused as plain "cleared", then cleared with cautions.
    client.force_login(provider)
    evaluation = {
        "evaluated_on": "2026-03-09",
        "history": "",
        "medications": "sertraline",
        "systolic_bp": 126,
        "diastolic_bp": 80,
        "heart_rate": 70,
        "spo2": 98,
        "respiratory_rate": 14,
        "weight_kg": "72.5",
        **NO_SCREEN,
        "caution_substance_use_history": "yes",
        "decision": "cleared",
        "caution_note": "",
    }
    refused = post(client, reverse("medical-evaluation-new", args=[course.pk]), evaluation, status=400)
    assert "cleared with cautions" in refused.content.decode()
    assert not course.medical_evaluations.exists()
    evaluation.update(decision="cleared_with_cautions", caution_note="Alcohol use disorder in remission 5 years.")
    post(client, reverse("medical-evaluation-new", args=[course.pk]), evaluation)
    med = course.medical_evaluations.get()
    post(client, reverse("record-sign", args=["medical-evaluation", med.pk]), {"version": med.version})
    med.refresh_from_db()
    assert med.is_signed and med.decision == "cleared_with_cautions"

    # Psychiatric evaluation, by the therapist, signed.
    client.force_login(therapist)
    post(
        client,
        reverse("psychiatric-evaluation-new", args=[course.pk]),
        {
            "evaluated_on": "2026-03-09",
            "diagnosis": "Recurrent MDD",
            "icd10_code": "F33.1",
            "indication": "mdd_trd",
            "suicide_risk": "low",
            "risk_plan": "",
            "note": "",
        },
    )
    psych = course.psychiatric_evaluations.get()
    post(client, reverse("record-sign", args=["psychiatric-evaluation", psych.pk]), {"version": psych.version})

    # Preparatory session.
    post(
        client,
        reverse("preparatory-session-new", args=[course.pk]),
        {
            "held_at": local(-60),
            "duration_minutes": 60,
            "topics": ["effects_risks", "set_setting"],
            "intentions": "Reconnect",
            "note": "Education and intentions.",
        },
    )
    prep = course.preparatory_sessions.get()
    post(client, reverse("record-sign", args=["preparatory-session", prep.pk]), {"version": prep.version})

    # The baseline questionnaires: the patient ran out of time, so the therapist waives them, saying why.
    for baseline in course.administrations.filter(timepoint="baseline"):
        waive = reverse("administration-waive", args=[baseline.pk])
        refused = post(client, waive, {"reason": ""}, status=400)
        assert "Say why" in refused.content.decode()
        post(client, waive, {"reason": "Ran out of time at intake; answered at the first session instead."})
    assert set(course.administrations.filter(timepoint="baseline").values_list("status", flat=True)) == {"waived"}

    # The provider schedules the dosing session and adds the dose.
    client.force_login(provider)
    post(
        client,
        reverse("dosing-session-schedule"),
        {
            "format": "individual",
            "starts_at": local(-10),
            "ends_at": local(170),
            "medical_provider": provider.pk,
            "facilitators": [therapist.pk],
            "location": "Room 2",
            "others_present": "",
        },
    )
    session = DosingSession.objects.get()
    form = client.get(reverse("dose-add", args=[session.pk]))
    assert "72.5" in form.content.decode()  # the latest weight is offered
    post(
        client,
        reverse("dose-add", args=[session.pk]),
        {
            "course": course.pk,
            "drug": "ketamine",
            "route": "iv",
            "dose_mg": "36",
            "weight_kg": "72.5",
            "over_maximum_reason": "",
            "lot_number": "LOT-9",
            "fasting_confirmed": "on",
            "pregnancy_test": "negative",
            "concomitant_medications": "",
            "maintenance": "",
        },
    )
    dose = Dose.objects.get()
    bedside = reverse("dose", args=[dose.pk])
    assert "selected>Pre-dose" in client.get(bedside).content.decode()

    # Pre-dose reading above the hold threshold: dosing is blocked until the override.
    post(client, reverse("dose-vitals", args=[dose.pk]), vitals("pre_dose", local(-5), sbp=152, dbp=94))
    page = client.get(bedside).content.decode()
    assert "PRE-DOSE HOLD" in page
    blocked = post(client, reverse("dose-give", args=[dose.pk]), {}, status=400)
    assert "Pre-dose hold" in blocked.content.decode()
    refused = post(client, reverse("dose-override", args=[dose.pk]), {"reason": ""}, status=400)
    assert "clinical reasoning" in refused.content.decode()
    post(client, reverse("dose-override", args=[dose.pk]), {"reason": "Anxious; repeat 138/88 in 5 min."})
    post(client, reverse("dose-give", args=[dose.pk]), {})
    dose.refresh_from_db()
    assert dose.dosed_at is not None
    assert "selected>During session" in client.get(bedside).content.decode()

    # An alert reading, and an implausible one refused with the range named.
    post(client, reverse("dose-vitals", args=[dose.pk]), vitals("during", local(0), sbp=186, dbp=112, hr=124))
    assert "Blood pressure above alert threshold" in client.get(bedside).content.decode()
    refused = post(client, reverse("dose-vitals", args=[dose.pk]), vitals("during", local(0), sbp=300), status=400)
    text = refused.content.decode()
    assert "plausible range 50–260 mmHg" in text and 'value="300"' in text
    assert VitalReading.objects.count() == 2

    # A serious adverse event reaches the practice lead.
    with django_capture_on_commit_callbacks(execute=True):
        post(
            client,
            reverse("dose-adverse-event", args=[dose.pk]),
            {
                "term": "hypertensive_crisis",
                "term_other": "",
                "grade": 3,
                "serious": "on",
                "serious_criteria": ["other_important"],
                "onset_at": local(0),
                "resolved_at": "",
                "relatedness": "probable",
                "expectedness": "expected",
                "action_taken": "medication_given",
                "outcome": "ongoing",
                "description": "Labetalol given.",
            },
        )
    event = AdverseEvent.objects.get()
    assert len(mail.outbox) == 1 and "Webflow" not in mail.outbox[0].body

    client.force_login(lead)
    dashboard = client.get(reverse("lead-dashboard")).content.decode()
    assert "Hypertensive crisis" in dashboard and "Webflow-Demo, Wendy" in dashboard
    post(client, reverse("adverse-event-acknowledge", args=[event.pk]), {f"ae-{event.pk}-note": "Reviewed with MD."})
    event.refresh_from_db()
    assert event.acknowledged_by == lead

    # Discharge: too early is refused, then done after the minimum monitoring, the reading at
    # about 40 minutes, the alert closed with what was done, and a full set before discharge.
    client.force_login(provider)
    checklist = {"alert_oriented": "on", "escort_present": "on", "no_driving_advised": "on"}
    post(client, reverse("dose-vitals", args=[dose.pk]), vitals("pre_discharge", local(0)))
    early = post(client, reverse("dose-discharge", args=[dose.pk]), checklist, status=400)
    text = early.content.decode()
    assert "Minimum monitoring is 60 minutes" in text and "about 40 minutes" in text and "still open" in text
    clock.shift(dt.timedelta(minutes=65))
    client.force_login(provider)  # the idle session expired meanwhile
    post(client, reverse("dose-vitals", args=[dose.pk]), vitals("during", local(40), sbp=150, dbp=92))
    alert = dose.in_session_alerts.get()
    close = reverse("dose-alert-close", args=[dose.pk, alert.pk])
    post(client, close, {f"alert-{alert.pk}-action": "recheck", f"alert-{alert.pk}-note": "Rested; BP down."})
    post(client, reverse("dose-vitals", args=[dose.pk]), vitals("pre_discharge", local(64)))
    post(client, reverse("dose-discharge", args=[dose.pk]), checklist)
    dose.refresh_from_db()
    signed = client.post(
        reverse("record-sign", args=["dose", dose.pk]),
        {"version": dose.version},
        follow=True,
    )
    assert "signed and locked" in signed.content.decode(), signed.content.decode()[:3000]
    dose.refresh_from_db()
    assert dose.is_signed

    # Amend the signed dose record: the lot number was mistyped.
    amend_url = reverse("record-amend", args=["dose", dose.pk])
    form = client.get(amend_url).content.decode()
    assert 'value="LOT-9"' in form
    data = {
        "drug": "ketamine",
        "route": "iv",
        "dose_mg": "36.0",
        "weight_kg": "72.5",
        "over_maximum_reason": "",
        "lot_number": "LOT-6",
        "fasting_confirmed": "on",
        "pregnancy_test": "negative",
        "concomitant_medications": "",
        "dosed_at": local(0),
        "reason": "",
        "version": dose.version,
    }
    no_reason = post(client, amend_url, data, status=400)
    assert "Say why" in no_reason.content.decode()
    post(client, amend_url, {**data, "reason": "Lot number misread from vial."})
    amendment = Amendment.objects.get()
    assert amendment.changes == {"lot_number": {"from": "LOT-9", "to": "LOT-6"}}

    timeline = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    assert "Lot number misread from vial." in timeline and "LOT-9" in timeline
    course.refresh_from_db()
    assert course.status == CourseStatus.DOSING

    # Newest first: the dose (the last thing done) above the medical evaluation and the opening.
    entries = timeline.split('<ol class="timeline">', 1)[1]
    assert entries.index("Open the bedside record") < entries.index("Course opened")
    # The questionnaire table is folded under a summary that counts it by status.
    fold = timeline.split('<details class="q-fold">', 1)[1].split("</details>", 1)[0]
    summary = fold.split("</summary>", 1)[0]
    shown = Administration.objects.filter(course=course).count()
    assert f"{shown} questionnaires: " in summary and "Show the table" in summary
    assert 'class="table compact q-table"' in fold
