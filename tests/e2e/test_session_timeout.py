"""The idle time-out in a real browser: the page warns before it and offers to stay signed in;
after it, what was typed is kept, Save sends nothing while signed out, and once the person has
signed in again in another tab the same Save goes through (static/js/session.js)."""

import os

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from playwright.sync_api import expect

from courses.models import Patient
from tests.e2e.support import expect_flash, login, open_course

SCREENSHOT = os.environ.get("KAPCLINIC_SESSION_SCREENSHOT")  # where to keep a picture of the warning, if set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _session_expiry(page):
    [key] = [c["value"] for c in page.context.cookies() if c["name"] == django_settings.SESSION_COOKIE_NAME]
    return Session.objects.get(session_key=key).expire_date


def _banner(page):
    return page.get_by_role("alertdialog")


def test_the_page_warns_before_the_time_out_and_staying_signed_in_resets_it(page, settings, therapist, provider):
    settings.SESSION_COOKIE_AGE = 8  # warned 4 s before the end: half the idle time when it is short
    course = open_course(therapist, provider, mrn="E2E-0701", given="Tim", family="Timeout-Demo")
    login(page, therapist)
    page.goto(reverse("patient-edit", args=[course.patient_id]))
    expect(_banner(page)).to_be_hidden()
    expires = _session_expiry(page)
    expect(_banner(page)).to_contain_text("You will be signed out in 0:0", timeout=8_000)
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT)
    page.get_by_role("button", name="Stay signed in").click()
    expect(_banner(page)).to_be_hidden()
    assert _session_expiry(page) > expires  # the server pushed the end forward
    page.get_by_label("Phone").fill("+1 555 0171")
    page.get_by_role("button", name="Save").click()
    expect_flash(page, "Saved")
    assert Patient.objects.get(pk=course.patient_id).phone == "+1 555 0171"


def test_after_the_time_out_what_was_typed_is_kept_and_saved_once_signed_in_again(
    open_page, settings, therapist, provider
):
    settings.SESSION_COOKIE_AGE = 10
    course = open_course(therapist, provider, mrn="E2E-0702", given="Tia", family="Timeout-Demo")
    page = open_page()
    login(page, therapist)
    url = reverse("patient-edit", args=[course.patient_id])
    page.goto(url)
    page.get_by_label("Phone").fill("+1 555 0172")
    expect(_banner(page)).to_contain_text("You were signed out", timeout=15_000)
    expect(page.get_by_label("Phone")).to_be_focused()  # the time-out does not pull focus out of a field

    page.get_by_role("button", name="Save").click()
    expect(_banner(page)).to_contain_text("Not sent.")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-ended.png"))
    expect(page).to_have_url(f"{page.url.split(url)[0]}{url}")  # still on the form, not the login page
    expect(page.get_by_label("Phone")).to_have_value("+1 555 0172")
    assert Patient.objects.get(pk=course.patient_id).phone == ""

    # Signing in again in another tab of the same browser, then pressing Save on the first.
    login(page.context.new_page(), therapist)
    page.get_by_role("button", name="Save").click()
    expect_flash(page, "Saved")
    assert Patient.objects.get(pk=course.patient_id).phone == "+1 555 0172"
