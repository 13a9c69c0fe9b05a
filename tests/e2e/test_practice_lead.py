"""Flow 5: a serious adverse event recorded at the bedside reaches the practice lead, who
acknowledges it, filters the outcome report, downloads its PDF and CSV, and reads the patient's
audit trail."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from reports.csv_export import COLUMNS, INSIDE_ONLY
from tests.e2e.support import add_dose, expect_flash, give_dose, login, open_course, schedule_session
from tests.reports.db_builders import Cast
from tests.reports.web_support import small_cohort

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def download(page: Page, button: str) -> bytes:
    """Ask for an export from the report page, wait on its progress page, download the file."""
    page.get_by_role("button", name=button).click()
    expect(page.get_by_text(re.compile("✓ Ready: "))).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download", exact=True).click()
    return Path(info.value.path()).read_bytes()


def test_lead_acknowledges_a_serious_event_reports_outcomes_and_reads_the_audit_trail(
    open_page, therapist, provider, lead
):
    cohort = small_cohort(Cast(therapist=therapist, provider=provider))
    course = open_course(therapist, provider, mrn="E2E-0501", given="Sara", family="Serious-Demo", prepared=True)
    session = schedule_session(therapist, provider, started_minutes_ago=60)
    dose = add_dose(session, course, provider)
    give_dose(dose, provider, minutes_ago_=30)

    # The medical provider records a serious adverse event at the bedside.
    bedside = open_page()
    login(bedside, provider)
    bedside.goto(f"/doses/{dose.pk}/")
    bedside.get_by_text("Record an adverse event", exact=True).click()
    bedside.get_by_label("Term").select_option(label="Hypertensive crisis")
    bedside.get_by_label("Grade").select_option(label="3 – Severe")
    bedside.get_by_label("Serious", exact=True).check()
    bedside.get_by_label("Other important medical event").check()
    bedside.get_by_label("Relatedness").select_option(label="Probable")
    bedside.get_by_label("Expectedness").select_option(label="Expected (listed in the label)")
    bedside.get_by_label("Action taken").select_option(label="Medication given")
    bedside.get_by_label("Outcome").select_option(label="Ongoing")
    bedside.get_by_label("Description").fill("BP 200/120 at 25 minutes; labetalol given.")
    bedside.get_by_role("button", name="Save adverse event").click()
    expect_flash(bedside, "Adverse event recorded.")
    expect(bedside.get_by_text("The practice lead has been notified; awaiting acknowledgement.")).to_be_visible()
    assert [m for m in mail.outbox if lead.email in m.to], "the serious-event notice did not reach the lead"

    # The practice lead acknowledges it on the dashboard.
    page = open_page()
    login(page, lead)
    expect(page.get_by_role("heading", name="Practice dashboard")).to_be_visible()
    events = page.get_by_role("region", name=re.compile("Serious adverse events awaiting acknowledgement"))
    event = events.get_by_role("article").filter(has_text="Serious-Demo")
    expect(event).to_contain_text("Hypertensive crisis")
    event.get_by_role("button", name="Acknowledge").click()  # without saying what was done: refused
    event = page.get_by_role("article").filter(has_text="Serious-Demo")
    note = event.get_by_label("What was done")
    expect(note).to_have_accessible_description(re.compile("Say what was done"))
    note.fill("Reviewed with Dr Medic; BP settled; follow-up booked.")
    event.get_by_role("button", name="Acknowledge").click()
    expect_flash(page, "Serious adverse event acknowledged.")
    expect(page.get_by_text("✓ None: every serious adverse event has been acknowledged.")).to_be_visible()

    # The outcome report, filtered to PTSD courses.
    page.get_by_role("link", name="Outcome report").click()
    expect(page.get_by_role("heading", name="Practice outcome report")).to_be_visible()
    page.get_by_label("Indication").select_option(label="PTSD")
    page.get_by_role("button", name="Show report").click()
    expect(page).to_have_url(re.compile(r"indication=ptsd"))
    expect(page.get_by_role("heading", name=re.compile(r"^2 courses selected"))).to_be_visible()
    report_url = page.url

    # Two courses are too few to share: the default audience (outside) is refused, saying what to do.
    page.get_by_role("button", name="Download PDF").click()
    expect(page.get_by_role("alert")).to_contain_text("Too few courses to share outside the clinic")
    expect(page.get_by_role("alert")).to_contain_text("export the file for inside the clinic")

    page.goto(report_url)
    page.get_by_label("Inside the clinic").check()
    pdf = download(page, "Download PDF")
    assert pdf.startswith(b"%PDF")

    page.goto(report_url)
    page.get_by_label("Inside the clinic").check()
    rows = list(csv.reader(io.StringIO(download(page, "Download CSV").decode("utf-8-sig"))))
    assert rows[0][0].startswith("Inside the clinic")
    assert tuple(rows[1]) == COLUMNS + INSIDE_ONLY
    assert len(rows) > 2 and {row[COLUMNS.index("indication")] for row in rows[2:]} == {"ptsd"}
    text = "\n".join(",".join(row) for row in rows)
    for c in [*cohort.values(), course]:
        for identifier in (c.patient.family_name, c.patient.given_name, c.patient.mrn, str(c.patient.pk)):
            assert identifier not in text

    # The audit trail of the patient: the provider's and the lead's reads and writes.
    page.goto(f"/courses/{course.pk}/")
    page.get_by_role("link", name="Audit trail of this patient").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    trail = page.get_by_role("table")
    viewed_by_provider = trail.get_by_role("row").filter(has_text=str(provider)).filter(has_text="Viewed")
    expect(viewed_by_provider.first).to_be_visible()
    created_by_provider = trail.get_by_role("row").filter(has_text=str(provider)).filter(has_text="Created")
    expect(created_by_provider.first).to_be_visible()
    expect(trail.get_by_role("row").filter(has_text=str(lead)).filter(has_text="Acknowledged").first).to_be_visible()
    expect(trail.get_by_role("row").filter(has_text=str(lead)).filter(has_text="Viewed").first).to_be_visible()
