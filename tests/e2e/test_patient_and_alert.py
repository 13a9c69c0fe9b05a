"""Flow 3: the patient answers a PHQ-9 from the link on a phone, item 9 above 0, and a second visit
finds the link used. Flow 4: the therapist sees the safety alert and acknowledges it with a note."""

import re

import pytest
from playwright.sync_api import Page, expect

from measures import services as measures
from measures.models import Administration, AdministrationStatus, SafetyAlert
from tests.e2e.support import PHONE, expect_flash, login, open_course

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def baseline_phq9(course) -> Administration:
    measures.tick()
    return Administration.objects.get(course=course, instrument="phq9", status=AdministrationStatus.OPEN)


def test_patient_answers_on_a_phone_and_the_link_works_once(open_page, therapist, provider):
    course = open_course(therapist, provider, mrn="E2E-0301", given="Paula", family="Phone-Demo")
    link = f"/r/{measures.self_report_token(baseline_phq9(course))}/"

    page = open_page(**PHONE)
    page.goto(link)
    expect(page.get_by_role("heading", name="Hello Paula,")).to_be_visible()
    expect(page.get_by_text("Phone-Demo")).to_have_count(0)
    questions = page.get_by_role("group")
    expect(questions).to_have_count(9)
    for number in range(1, 10):
        question = page.get_by_role("group", name=re.compile(rf"^{number}\. "))
        question.get_by_label("Several days" if number == 9 else "Not at all", exact=True).check()
    # Nothing on the page is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Send my answers").click()

    expect(page.get_by_role("heading", name="Thank you, Paula.")).to_be_visible()
    crisis = page.get_by_role("region", name="Support is here if you need it")
    expect(crisis).to_be_visible()
    expect(crisis.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(crisis.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    expect(crisis.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")
    assert SafetyAlert.objects.get(course=course).item_value == 1

    page.goto(link)
    expect(page.get_by_role("heading", name="Thank you — we already have your answers")).to_be_visible()
    expect(page.get_by_role("button", name="Send my answers")).to_have_count(0)


def test_therapist_acknowledges_the_safety_alert(page: Page, therapist, provider):
    course = open_course(therapist, provider, mrn="E2E-0401", given="Sam", family="Alert-Demo")
    token = measures.self_report_token(baseline_phq9(course))
    measures.response_submit_self_report(token=token, answers={**dict.fromkeys(range(1, 9), 1), 9: 2})

    login(page, therapist)
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    banner = page.get_by_role("alert").filter(has_text="Safety alert — PHQ-9 item 9 answered 2")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("link", name=re.compile("Alert-Demo"))).to_be_visible()
    banner.get_by_role("link", name="Acknowledge on the worklist").click()

    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    alerts = page.get_by_role("region", name=re.compile("Open safety alerts"))
    expect(alerts).to_contain_text("PHQ-9 item 9 = 2")
    alerts.get_by_label("What was done").fill(
        "Called Sam the same hour; safety plan reviewed, no intent. Seen tomorrow."
    )
    alerts.get_by_role("button", name="Acknowledge").click()
    expect_flash(page, "Safety alert acknowledged; your note is on the record.")
    expect(page.get_by_text("✓ No open safety alerts.")).to_be_visible()

    page.get_by_role("navigation").get_by_role("link", name="Caseload", exact=True).click()
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    expect(page.get_by_text(re.compile("Safety alert — PHQ-9"))).to_have_count(0)
    alert = SafetyAlert.objects.get(course=course)
    assert alert.acknowledged_by == therapist and "safety plan reviewed" in alert.action_note
