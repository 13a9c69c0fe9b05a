"""The form fuzz's finds, each pinned by its own plain case."""

import pytest
from django.urls import reverse

from measures.models import SafetyAlert
from tests.measures.web_helpers import answers, link, open_administrations


@pytest.fixture
def alert(course, client):
    phq9 = open_administrations(course)["phq9"]
    client.post(link(phq9), answers(9, 1, item_9=2))
    return SafetyAlert.objects.get()


@pytest.mark.parametrize(
    "target", ["//evil.example/", "/\\evil.example/", "/\\/evil.example/", "https://evil.example/"]
)
def test_acknowledging_a_safety_alert_never_redirects_off_the_site(client, therapist, alert, target):
    client.force_login(therapist)
    url = reverse("safety-alert-acknowledge", args=[alert.pk])
    response = client.post(url, {f"alert-{alert.pk}-action_note": "Called; safety plan reviewed.", "next": target})
    assert response.status_code == 302 and response["Location"] == reverse("worklist")


def test_acknowledging_a_safety_alert_returns_to_a_page_of_this_site(client, therapist, alert, course):
    client.force_login(therapist)
    back = reverse("course-timeline", args=[course.pk])
    url = reverse("safety-alert-acknowledge", args=[alert.pk])
    response = client.post(url, {f"alert-{alert.pk}-action_note": "Called.", "next": back})
    assert response.status_code == 302 and response["Location"] == back


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("start_to", "9999-12-31", "on or before 2100-12-31"),
        ("start_from", "9999-12-31", "on or before 2100-12-31"),
        ("start_from", "0001-01-01", "on or after 1900-01-01"),
    ],
)
def test_an_outcome_report_date_out_of_range_is_a_message_naming_the_range(client, lead, field, value, message):
    client.force_login(lead)
    response = client.get(reverse("outcome-report"), {field: value})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_export_of_an_unknown_kind_says_it_was_not_exported(client, lead):
    client.force_login(lead)
    response = client.post(reverse("outcome-report-export"), {"kind": "xlsx"})
    assert response.status_code == 400
    assert "Not exported: choose the PDF, the CSV or the lists CSV." in response.content.decode()


@pytest.mark.parametrize("term", ["x" * 81, "Alice\x00"])
def test_a_refused_patient_search_is_a_400_with_the_reason_beside_the_field(client, therapist, patient, term):
    client.force_login(therapist)
    response = client.post(reverse("patient-list"), {"q": term})
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()


def test_a_name_in_any_script_is_kept_exactly_through_the_form_and_shown_as_typed(client, therapist, clock):
    from courses.models import Patient
    from tests.fuzz.support import UNICODE

    client.force_login(therapist)
    form = {
        "mrn": "ZZ-UNI-1",
        "family_name": "Zz-Test",
        "date_of_birth": "1980-01-01",
        "sex": "female",
        "preferred_channel": "email",
        "email": "zz-uni@example.invalid",
    }
    # The right-to-left override in UNICODE would print the rest of a header reversed: a name refuses it.
    refused = client.post(reverse("patient-register"), {**form, "given_name": UNICODE})
    assert refused.status_code == 400 and "U+202E" in refused.content.decode()
    # So does a zero-width space, which prints nothing inside a name.
    refused = client.post(reverse("patient-register"), {**form, "given_name": "Zo\u200bë"})
    assert refused.status_code == 400 and "U+200B" in refused.content.decode()
    # Every script, combining marks, emoji and joiners: kept exactly.
    name = UNICODE.replace("\u202e", "").replace("\u202c", "").replace("\u200b", "")
    response = client.post(reverse("patient-register"), {**form, "given_name": name})
    assert response.status_code == 302, response.content.decode()[:500]
    patient = Patient.objects.get(mrn="ZZ-UNI-1")
    assert patient.given_name == name
    assert name in client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
