"""A therapist and a medical provider edit the same patient's details in two browsers (issue 6):
the second save is shown the conflict, keeps what that person typed, brings the other's field up
to date on the page, and a second press of Save writes both changes."""

import os

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from courses.models import Patient
from tests.e2e.support import expect_flash, login, open_course

SCREENSHOT = os.environ.get("KAPCLINIC_CONFLICT_SCREENSHOT")  # where to keep a picture of the page, if set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_staff_saving_the_same_patient_lose_neither_change(open_page, therapist, provider):
    course = open_course(therapist, provider, mrn="E2E-0601", given="Cora", family="Conflict-Demo")
    url = reverse("patient-edit", args=[course.patient_id])

    first, second = open_page(), open_page()
    login(first, therapist)
    login(second, provider)
    first.goto(url)
    second.goto(url)  # both pages now show the details as they were

    first.get_by_label("Phone").fill("+1 555 0142")
    first.get_by_role("button", name="Save").click()
    expect_flash(first, "Saved")

    second.get_by_label("Email").fill("cora.new-address@example.invalid")
    second.get_by_role("button", name="Save").click()
    alert = second.get_by_role("alert").filter(has_text="after you opened it")
    expect(alert).to_contain_text("changed by Tess Therapist-Demo")
    expect(alert).to_contain_text("Brought up to date on this page: Phone.")
    expect(second.get_by_label("Phone")).to_have_value("+1 555 0142")
    expect(second.get_by_label("Email")).to_have_value("cora.new-address@example.invalid")
    saved = Patient.objects.get(pk=course.patient_id)
    assert (saved.phone, saved.email) == ("+1 555 0142", "e2e-0601@example.invalid")
    if SCREENSHOT:
        second.screenshot(path=SCREENSHOT, full_page=False)

    second.get_by_role("button", name="Save").click()
    expect_flash(second, "Saved")
    saved = Patient.objects.get(pk=course.patient_id)
    assert (saved.phone, saved.email) == ("+1 555 0142", "cora.new-address@example.invalid")
