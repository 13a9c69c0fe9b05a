"""Flow 2: the therapist writes a preparatory and an integration note, writes and signs the
facilitation note of a group dosing session of five, and sees only their own caseload."""

import re

import pytest
from playwright.sync_api import Page, expect

from courses.choices import Indication, SessionFormat
from tests.e2e.support import (
    add_dose,
    expect_flash,
    give_dose,
    local_input,
    login,
    minutes_ago,
    open_course,
    schedule_session,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def write_session_note(page: Page, link: str, held_minutes_ago: int, choice_group: str, choice: str, note: str):
    page.get_by_role("link", name=link, exact=True).click()
    page.get_by_label("Held at").fill(local_input(minutes_ago(held_minutes_ago)))
    page.get_by_label("Duration (minutes)").fill("60")
    page.get_by_role("group", name=choice_group).get_by_label(choice).check()
    page.get_by_label("Note").fill(note)
    page.get_by_role("button", name="Save").click()


def test_therapist_writes_session_notes_on_their_course(page: Page, therapist, provider):
    course = open_course(therapist, provider, mrn="E2E-0201", given="Nora", family="Notes-Demo")

    login(page, therapist)
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    page.get_by_role("link", name=re.compile("Notes-Demo")).click()
    expect(page).to_have_url(re.compile(f"/courses/{course.pk}/$"))

    write_session_note(
        page,
        "Preparatory session",
        24 * 60,
        "Topics covered",
        "Set and setting",
        "Went through set and setting; intentions written down together.",
    )
    preparatory = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile("Preparatory session"))
    )
    expect(preparatory).to_contain_text("Went through set and setting")
    expect(preparatory).to_contain_text("Not signed yet")
    preparatory.get_by_role("button", name="Sign and lock").click()
    expect_flash(page, "signed and locked")
    expect(preparatory.get_by_text(re.compile(r"Signed by .*Therapist-Demo.* — locked"))).to_be_visible()

    write_session_note(
        page,
        "Integration session",
        60,
        "Techniques used",
        "Journaling",
        "Reviewed the journal from the dosing day; one theme carried into the week.",
    )
    integration = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile("Integration session"))
    )
    expect(integration).to_contain_text("one theme carried into the week")
    integration.get_by_role("button", name="Sign and lock").click()
    expect_flash(page, "signed and locked")
    expect(integration.get_by_text(re.compile(r"Signed by .* — locked"))).to_be_visible()


def test_therapist_signs_the_facilitation_note_of_a_group_of_five(page: Page, therapist, provider):
    courses = [
        open_course(
            therapist,
            provider,
            mrn=f"E2E-022{i}",
            given=f"Member{i}",
            family="Groupnote-Demo",
            format=SessionFormat.GROUP,
            indication=Indication.PTSD,
            prepared=True,
        )
        for i in range(5)
    ]
    session = schedule_session(therapist, provider, started_minutes_ago=60, format=SessionFormat.GROUP)
    doses = [add_dose(session, course, provider) for course in courses]
    for dose in doses:
        give_dose(dose, provider, minutes_ago_=30)

    login(page, therapist)
    page.goto(f"/dosing-sessions/{session.pk}/")
    expect(page.get_by_role("heading", name="Participants (5 of 4–12)")).to_be_visible()
    members = page.get_by_role("link").filter(has_text="Groupnote-Demo")
    expect(members).to_have_count(5)
    for member in members.all():
        expect(member).to_contain_text(re.compile(r"Dosed \d\d:\d\d"))
    # Doses are the medical provider's: the therapist is not offered to add one.
    expect(page.get_by_role("link", name="Add participant")).to_have_count(0)

    page.get_by_label("Facilitation note").fill(
        "Group of five; music set 2. One participant needed grounding at 40 minutes; all settled."
    )
    page.get_by_role("button", name="Save note").click()
    expect_flash(page, "Facilitation note saved.")
    page.get_by_role("button", name="Sign and lock the note").click()
    expect_flash(page, "signed and locked")
    expect(page.get_by_text("One participant needed grounding at 40 minutes")).to_be_visible()
    expect(page.get_by_label("Facilitation note")).to_have_count(0)
    expect(page.get_by_role("link", name="Amend")).to_be_visible()


def test_therapist_sees_only_their_own_caseload(page: Page, therapist, other_therapist, provider):
    open_course(therapist, provider, mrn="E2E-0231", given="Olga", family="Mine-Demo")
    theirs = open_course(other_therapist, provider, mrn="E2E-0232", given="Otto", family="Theirs-Demo")

    login(page, therapist)
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    expect(page.get_by_text(re.compile("Mine-Demo")).first).to_be_visible()
    expect(page.get_by_text(re.compile("Theirs-Demo"))).to_have_count(0)

    response = page.goto(f"/courses/{theirs.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found (404)")).to_be_visible()
    expect(page.get_by_text("Theirs-Demo")).to_have_count(0)
