"""The second factor in a browser: a practice lead enrols an authenticator at first sign-in,
signs in again with its code, uses a recovery code once, and is refused the same code twice."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from devtools.builders import PASSWORD
from tests.otp import code_from_secret, next_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def password_step(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def enter_code(page: Page, code: str) -> None:
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Continue").click()


def test_lead_enrols_signs_in_with_a_code_and_a_recovery_code_once(open_page, lead):
    page = open_page()

    # First sign-in: the password alone opens nothing; the lead is sent to enrol.
    password_step(page, "lead")
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    page.goto("/patients/")
    expect(page).to_have_url(re.compile(r"/account/second-factor/"))
    secret = page.locator("code.otp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7 ]{32,}", secret)
    page.get_by_label("Code from the app").fill(code_from_secret(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them: continue").click()
    # On to the page asked for before the second factor.
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    sign_out(page)

    # Second sign-in: the code the app shows now.
    device = TOTPDevice.objects.get(user=lead, confirmed=True)
    password_step(page, "lead")
    enter_code(page, "000000")
    expect(page.get_by_text("Not a valid code")).to_be_visible()
    page.wait_for_timeout(1100)  # django-otp's back-off after a wrong code: 1 second
    enter_code(page, next_code(device))
    expect(page.get_by_role("heading", name="Practice dashboard")).to_be_visible()
    sign_out(page)

    # No phone: a recovery code, once.
    password_step(page, "lead")
    enter_code(page, codes[0])
    expect(page.get_by_role("heading", name="Practice dashboard")).to_be_visible()
    sign_out(page)
    password_step(page, "lead")
    enter_code(page, codes[0])
    expect(page.get_by_text("Not a valid code")).to_be_visible()
    page.goto("/lead/")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
