"""A practice lead invites a colleague by mail; the colleague chooses a password from the mailed
link and signs in; later resets it from the sign-in page. A used or expired link is refused."""

import re
import time

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.e2e.support import expect_flash, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST = "first-chosen-passphrase-71"
SECOND = "second-chosen-passphrase-72"


def _mailed_path(to: str) -> str:
    """The path of the link in the newest mail to `to` (the mail carries CLINIC_BASE_URL)."""
    message = [m for m in mail.outbox if to in m.to][-1]
    (url,) = re.findall(r"https?://\S+", message.body)
    return "/" + url.split("/", 3)[3]


def _choose_password(page: Page, password: str) -> None:
    # By id: "New password" is also the start of the second field's label.
    page.locator("#id_new_password1").fill(password)
    page.get_by_label("New password confirmation").fill(password)
    page.get_by_role("button", name="Save the password").click()


def test_a_lead_invites_a_colleague_who_sets_a_password_signs_in_and_resets_it(open_page, lead, settings):
    lead_page = open_page()
    login(lead_page, lead)
    lead_page.goto("/staff/")
    lead_page.get_by_label("First name").fill("Nadia")
    lead_page.get_by_label("Last name").fill("Newhire-Demo")
    lead_page.get_by_label("Email").fill("nadia@kapclinic.invalid")
    lead_page.get_by_label("Username").fill("nadia")
    lead_page.get_by_label("Role").select_option(label="Therapist")
    lead_page.get_by_role("button", name="Send the invitation").click()
    expect_flash(lead_page, "the invitation is mailed to nadia@kapclinic.invalid")
    expect(lead_page.get_by_role("row").filter(has_text="Nadia Newhire-Demo").get_by_text("Invited")).to_be_visible()
    nadia = User.objects.get(username="nadia")

    # The colleague opens the link from the mail and chooses a password; the validators apply.
    page = open_page()
    invitation = _mailed_path("nadia@kapclinic.invalid")
    page.goto(invitation)
    expect(page.get_by_role("heading", name=re.compile("Welcome to"))).to_be_visible()
    # The token is out of the address bar before anything is typed.
    expect(page).to_have_url(re.compile(r"/invitation/[^/]+/set-password/$"))
    _choose_password(page, "short")
    expect(page.get_by_text(re.compile("too short"))).to_be_visible()
    _choose_password(page, FIRST)
    expect_flash(page, "Your password is set")
    login(page, nadia, FIRST)

    # The invitation works once.
    other = open_page()
    other.goto(invitation)
    expect(other.get_by_text("This link no longer works")).to_be_visible()

    # She forgets it: the sign-in page sends a reset link.
    reset = open_page()
    reset.goto("/login/")
    reset.get_by_role("link", name="Forgot your password?").click()
    reset.get_by_label("Email").fill("NADIA@kapclinic.invalid")
    reset.get_by_role("button", name="Send the link").click()
    expect(reset.get_by_role("heading", name="Check your mail")).to_be_visible()
    link = _mailed_path("nadia@kapclinic.invalid")
    assert link.startswith("/password-reset/")
    reset.goto(link)
    _choose_password(reset, SECOND)
    expect(reset.get_by_role("heading", name="Password changed")).to_be_visible()
    login(open_page(), nadia, SECOND)

    # Used twice: refused.
    again = open_page()
    again.goto(link)
    expect(again.get_by_text("This link no longer works")).to_be_visible()
    expect(again.locator("#id_new_password1")).to_have_count(0)

    # After its time: refused, though never used.
    late = open_page()
    late.goto("/password-reset/")
    late.get_by_label("Email").fill("nadia@kapclinic.invalid")
    late.get_by_role("button", name="Send the link").click()
    expect(late.get_by_role("heading", name="Check your mail")).to_be_visible()
    stale = _mailed_path("nadia@kapclinic.invalid")
    assert stale != link
    settings.PASSWORD_RESET_TIMEOUT = 1
    time.sleep(2.1)
    late.goto(stale)
    expect(late.get_by_text("This link no longer works")).to_be_visible()
    nadia.refresh_from_db()
    assert nadia.check_password(SECOND)
