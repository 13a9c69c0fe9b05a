"""A group dosing session of five, watched from one page; refused inputs stay on the form."""

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from courses.choices import Indication, SessionFormat
from courses.models import Dose, DosingSession, VitalReading
from devtools import builders


def _group_course(i, therapist, provider):
    patient = builders.patient(
        by=therapist,
        mrn=f"GRP-{i}",
        given_name=f"Member{i}",
        family_name="Groupwatch-Demo",
        date_of_birth=dt.date(1985, 1, 1),
        email=f"g{i}@example.invalid",
        weight_kg=Decimal("60"),
    )
    course = builders.course(
        patient, by=therapist, medical_provider=provider, indication=Indication.PTSD, format=SessionFormat.GROUP
    )
    builders.clear_course(course, provider, therapist, diagnosis="PTSD")
    return builders.prepare_course(course, therapist)


def _local(minutes=0):
    return timezone.localtime(timezone.now() + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def test_group_session_of_five(client, clock, therapist, provider):
    courses = [_group_course(i, therapist, provider) for i in range(5)]
    client.force_login(provider)
    response = client.post(
        reverse("dosing-session-schedule"),
        {
            "format": "group",
            "starts_at": _local(-10),
            "ends_at": _local(170),
            "medical_provider": provider.pk,
            "facilitators": [therapist.pk],
            "location": "Group room",
            "others_present": "",
        },
    )
    assert response.status_code == 302
    session_url = response["Location"]
    session_id = session_url.rstrip("/").split("/")[-1]
    for course in courses:
        response = client.post(
            reverse("dose-add", args=[session_id]),
            {
                "course": course.pk,
                "drug": "ketamine",
                "route": "im",
                "dose_mg": "30",
                "weight_kg": "60",
                "over_maximum_reason": "",
                "lot_number": "G-1",
                "fasting_confirmed": "on",
                "pregnancy_test": "negative",
                "concomitant_medications": "",
                "maintenance": "",
            },
        )
        assert response.status_code == 302
    doses = list(Dose.objects.filter(session_id=session_id))
    assert len(doses) == 5
    for i, p in enumerate(doses):
        sbp = 190 if i == 2 else 120
        assert (
            client.post(
                reverse("dose-vitals", args=[p.pk]),
                {
                    "phase": "pre_dose",
                    "taken_at": _local(-5),
                    "systolic_bp": sbp,
                    "diastolic_bp": 80,
                    "heart_rate": 70,
                    "spo2": 98,
                    "respiratory_rate": 14,
                },
            ).status_code
            == 302
        )

    grid = client.get(session_url).content.decode()
    assert grid.count("Groupwatch-Demo") == 5
    assert "Participants (5 of 4–12)" in grid
    assert "⚠ Pre-dose hold" in grid and "Blood pressure above alert threshold" in grid
    assert grid.count("No alerts") == 4

    for p in doses:
        if p.pk != doses[2].pk:
            assert client.post(reverse("dose-give", args=[p.pk]), {}).status_code == 302
    assert Dose.objects.filter(dosed_at__isnull=False).count() == 4

    # The facilitating therapist writes the one shared note and signs it.
    client.force_login(therapist)
    refused = client.post(
        reverse("dosing-session-note", args=[session_id]), {"facilitation_note": "x" * 10, "others_present": "y" * 400}
    )
    assert refused.status_code == 400 and "at most 300 characters" in refused.content.decode()
    assert (
        client.post(
            reverse("dosing-session-note", args=[session_id]),
            {"facilitation_note": "Calm group; music set B.", "others_present": "", "version": _version(session_id)},
        ).status_code
        == 302
    )
    response = client.post(
        reverse("record-sign", args=["dosing-session", session_id]), {"version": _version(session_id)}, follow=True
    )
    assert "signed and locked" in response.content.decode()


def test_over_maximum_dose_needs_a_reason_next_to_the_field(
    client, therapist, provider, cleared_course, dosing_session
):
    client.force_login(provider)
    data = {
        "course": cleared_course.pk,
        "drug": "ketamine",
        "route": "iv",
        "dose_mg": "140",
        "weight_kg": "70",
        "over_maximum_reason": "",
        "lot_number": "L",
        "fasting_confirmed": "on",
        "pregnancy_test": "negative",
        "concomitant_medications": "",
        "maintenance": "",
    }
    response = client.post(reverse("dose-add", args=[dosing_session.pk]), data)
    text = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_over_maximum_reason_error"' in text and "above the clinic" in text
    assert 'value="140"' in text
    assert not Dose.objects.exists()


def test_wrong_types_are_refused_by_the_form_not_a_500(client, provider, dose):
    client.force_login(provider)
    response = client.post(
        reverse("dose-vitals", args=[dose.pk]),
        {
            "phase": "pre_dose",
            "taken_at": "yesterday-ish",
            "systolic_bp": "high",
            "diastolic_bp": "99999999999",
        },
    )
    assert response.status_code == 400
    assert not VitalReading.objects.exists()
    response = client.post(reverse("dose-adverse-event", args=[dose.pk]), {"term": "nausea", "grade": "9"})
    assert response.status_code == 400


def test_unknown_service_error_keys_are_shown_above_the_form(client, provider, dose):
    client.force_login(provider)
    # No pre-dose vitals: the service refuses with a non-field error.
    response = client.post(reverse("dose-give", args=[dose.pk]), {})
    assert response.status_code == 400
    assert "Record a full pre-dose set of vital signs" in response.content.decode()


def _version(session_id) -> int:
    """The version the session's page would carry in its forms."""
    return DosingSession.objects.get(pk=session_id).version
