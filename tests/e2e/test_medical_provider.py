"""Flow 1: the medical provider clears the screen with a caution, then runs a dose at the bedside
from the pre-dose hold to the signed record, and corrects it by amendment."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from courses.models import Dose, HoldOverride
from courses.rules import CHILDBEARING_LABEL, SCREEN_ITEMS
from tests.e2e.support import expect_flash, local_input, login, minutes_ago, open_course, schedule_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def save_reading(page: Page, phase: str, systolic: int, diastolic: int = 80, taken_at=None) -> None:
    page.get_by_label("Phase").select_option(label=phase)
    if taken_at is not None:
        page.get_by_label("Time taken").fill(local_input(taken_at))
    page.get_by_label("Systolic (mmHg)").fill(str(systolic))
    page.get_by_label("Diastolic (mmHg)").fill(str(diastolic))
    page.get_by_label("Heart rate (/min)").fill("78")
    page.get_by_label("SpO2 (%)").fill("98")
    page.get_by_label("Resp. rate (/min)").fill("14")
    page.get_by_role("button", name="Save reading").click()


SCREEN_GROUPS = [item.label for item in SCREEN_ITEMS] + [CHILDBEARING_LABEL]


def answer_screen(page: Page, *, yes=()) -> None:
    """Answer every screen item on purpose: "Yes" for those named, "No" for the rest."""
    for label in SCREEN_GROUPS:
        page.get_by_role("group", name=label, exact=True).get_by_label(
            "Yes" if label in yes else "No", exact=True
        ).check()


def test_provider_clears_the_screen_doses_through_a_hold_signs_and_amends(page: Page, therapist, provider):
    # The therapist's part is done: the course is open and the psychiatric evaluation signed.
    course = open_course(
        therapist, provider, mrn="E2E-0101", given="Bea", family="Bedside-Demo", screen=False, prepared=True
    )
    session = schedule_session(therapist, provider, started_minutes_ago=90)

    login(page, provider)
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Medical evaluation with one caution, cleared with cautions, signed.
    page.goto(f"/courses/{course.pk}/")
    page.get_by_role("link", name="Medical evaluation", exact=True).click()
    page.get_by_label("Evaluated on").fill(timezone.localdate().isoformat())
    page.get_by_label("Baseline systolic BP (mmHg)").fill("128")
    page.get_by_label("Baseline diastolic BP (mmHg)").fill("82")
    page.get_by_label("Baseline heart rate (/min)").fill("72")
    page.get_by_label("Baseline SpO2 (%)").fill("98")
    page.get_by_label("Baseline respiratory rate (/min)").fill("14")
    page.get_by_label("Baseline weight (kg)").fill("70.0")
    page.get_by_label("Decision").select_option(label="Cleared with cautions")
    page.get_by_label("Caution note").fill("Alcohol use disorder in remission for five years; no ketamine at home.")
    # Nothing is preselected: a decision with the items unanswered is refused, item by item.
    page.get_by_role("button", name="Save").click()
    unanswered = page.get_by_role("group", name="History of substance use disorder")
    expect(unanswered).to_contain_text("Answer this item on purpose")
    answer_screen(page, yes=("History of substance use disorder",))
    page.get_by_role("button", name="Save").click()
    evaluation = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile("Medical evaluation"))
    )
    expect(evaluation.get_by_role("heading")).to_contain_text("Cleared with cautions")
    evaluation.get_by_role("button", name="Sign and lock").click()
    expect_flash(page, "Medical evaluation signed and locked.")
    expect(evaluation.get_by_text(re.compile(r"Signed by .* — locked"))).to_be_visible()

    # The dose is added to today's session through the page.
    page.goto(f"/dosing-sessions/{session.pk}/")
    page.get_by_role("link", name="Add participant").click()
    patients = page.get_by_label("Patient / course")
    patients.select_option(label=patients.locator("option", has_text="Bedside-Demo").inner_text())
    page.get_by_label("Route").select_option(label="Intramuscular")
    page.get_by_label("Dose (mg)").fill("30")
    page.get_by_label("Weight used (kg)").fill("70.0")
    page.get_by_label("Lot number").fill("LOT-0420")
    page.get_by_label("Fasting confirmed (2 h solids, 30 min liquids)").check()
    page.get_by_label("Pregnancy test").select_option(label="Negative")
    page.get_by_role("button", name="Add participant").click()
    expect_flash(page, "Participant added.")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Bedside-Demo"))
    dose = Dose.objects.get(course=course)

    # A raised pre-dose pressure holds the dose: giving it is refused until the override.
    save_reading(page, "Pre-dose", 150, 92, taken_at=minutes_ago(80))
    hold = page.get_by_role("alert").filter(has_text="PRE-DOSE HOLD")
    expect(hold).to_be_visible()
    dose_time = local_input(minutes_ago(70))
    page.get_by_label("Dose given at").fill(dose_time)
    page.get_by_role("button", name="Give dose now").click()
    expect(
        page.get_by_text(re.compile(r"Pre-dose hold: blood pressure 150/92 at \d\d:\d\d is above")).first
    ).to_be_visible()
    dose.refresh_from_db()
    assert dose.dosed_at is None

    hold.get_by_label("Clinical reason for dosing despite the raised blood pressure").fill(
        "Anxious on arrival; repeat 138/86 after rest. Proceeding."
    )
    hold.get_by_role("button", name="Override the hold").click()
    expect_flash(page, "Pre-dose hold overridden; the reason is on the record.")
    expect(page.get_by_role("alert").filter(has_text="PRE-DOSE HOLD")).to_have_count(0)
    # The page is worked through in minutes; the session it replays took over an hour. The override
    # is moved back to when it was decided (75 minutes ago), since a dose during a hold follows its override.
    HoldOverride.objects.filter(dose=dose).update(overridden_at=minutes_ago(75))

    page.get_by_label("Dose given at").fill(dose_time)
    page.get_by_role("button", name="Give dose now").click()
    expect_flash(page, "Dose recorded as given.")
    expect(page.get_by_text(re.compile(r"Dose given \d\d:\d\d"))).to_be_visible()

    # During the session: one reading trips the alert, one is out of any plausible range.
    save_reading(page, "During session", 185, 100)
    expect_flash(page, "Vital signs recorded.")
    readings = page.get_by_role("region", name="Readings, latest first")
    expect(readings.get_by_text("Blood pressure above alert threshold")).to_be_visible()
    alert = page.get_by_role("alert").filter(has_text="Vital-sign alert at")
    expect(alert).to_contain_text("Open until a medical provider records what was done")

    save_reading(page, "During session", 300, 100)
    systolic = page.get_by_label("Systolic (mmHg)")
    expect(systolic).to_have_value("300")
    expect(systolic).to_have_accessible_description(re.compile("plausible range 50–260 mmHg"))

    # An adverse event, recorded from its form on the dose page.
    page.get_by_text("Record an adverse event").click()
    page.get_by_label("Term").select_option(label="Nausea")
    page.get_by_label("Grade").select_option(label="1 – Mild")
    page.get_by_label("Relatedness").select_option(label="Probable")
    page.get_by_label("Expectedness").select_option(label="Expected (listed in the label)")
    page.get_by_label("Action taken").select_option(label="None")
    page.get_by_label("Outcome").select_option(label="Ongoing")
    page.get_by_label("Description").fill("Mild nausea at 20 minutes; settled without treatment.")
    page.get_by_role("button", name="Save adverse event").click()
    expect_flash(page, "Adverse event recorded.")
    events = page.get_by_role("region", name="Adverse events")
    expect(events.get_by_text("Mild nausea at 20 minutes")).to_be_visible()

    # The alert is closed by saying what was done: a recheck, once the recheck is recorded.
    save_reading(page, "During session", 150, 90)
    expect_flash(page, "Vital signs recorded.")
    alert = page.get_by_role("alert").filter(has_text="Vital-sign alert at")
    alert.get_by_label("Rechecked: a new reading was taken").check()
    alert.get_by_label("Note", exact=True).fill("Quiet room and reassurance; settled on recheck.")
    alert.get_by_role("button", name="Record what was done").click()
    expect_flash(page, "Alert closed; what was done is on the record.")
    expect(page.get_by_role("region", name="Vital-sign alerts and what was done")).to_contain_text("Rechecked")

    # Discharge after the minimum monitoring (the dose was given 70 minutes ago), then sign.
    save_reading(page, "Before discharge", 128, 80)
    expect_flash(page, "Vital signs recorded.")
    page.get_by_label("Alert and oriented").check()
    page.get_by_label("Escort home present").check()
    page.get_by_label("Advised not to drive until the next day").check()
    page.get_by_role("button", name="Discharge").click()
    expect_flash(page, "Discharged.")
    page.get_by_role("button", name="Sign and lock").click()
    expect_flash(page, "signed and locked")
    expect(page.get_by_text(re.compile(r"Signed by .* — locked")).first).to_be_visible()

    # Signed: no edit is offered, the edit page refuses, the amendment is the way.
    expect(page.get_by_role("link", name="Edit the dose record")).to_have_count(0)
    expect(page.get_by_role("button", name="Save reading")).to_have_count(0)
    bedside_url = page.url
    page.goto(f"/records/dose/{dose.pk}/edit/")
    page.get_by_label("Lot number").fill("LOT-9999")
    page.get_by_role("button", name="Save changes").click()
    expect(
        page.get_by_text(re.compile("was signed on .* and is locked. Add an amendment to correct it."))
    ).to_be_visible()
    dose.refresh_from_db()
    assert dose.lot_number == "LOT-0420"

    page.goto(bedside_url)
    page.get_by_role("link", name="Amend the dose record").click()
    page.get_by_label("Lot number").fill("LOT-0402")
    page.get_by_role("button", name="Record amendment").click()
    reason = page.get_by_label("Reason for the amendment")
    expect(reason).to_have_accessible_description(re.compile("Say why"))
    reason.fill("Lot number misread from the vial.")
    page.get_by_role("button", name="Record amendment").click()
    expect_flash(page, "Amendment recorded beside the original.")
    # Beside the original: who, why, and the old value struck through next to the new one.
    expect(page.get_by_text(re.compile(r"Amended by .* — why: Lot number misread from the vial\."))).to_be_visible()
    expect(page.get_by_role("deletion")).to_have_text("LOT-0420")
    expect(page.get_by_role("insertion")).to_have_text("LOT-0402")
