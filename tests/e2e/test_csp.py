"""The Content-Security-Policy breaks nothing: the main pages of each role, and Swagger UI, load in a
real Chromium without one violation report, and the scripts that were inline still run."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from devtools.builders import PASSWORD
from tests.e2e.support import add_dose, give_dose, login, open_course, schedule_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium's console line for a blocked script, style, image, font or fetch.
CSP_CONSOLE = re.compile(r"Content Security Policy|Content-Security-Policy", re.I)
# The page's own reports: every violation fires this DOM event, logged or not.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def watch(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(f"console {m.type}: {m.text}") if CSP_CONSOLE.search(m.text) else None)
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    page.add_init_script(RECORD_VIOLATIONS)
    return seen


def visit(page: Page, url: str, seen: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert "script-src 'self'" in response.headers.get("content-security-policy", ""), url
    page.wait_for_load_state("networkidle")
    seen += [f"{url}: {v}" for v in page.evaluate("window.__csp || []")]


def test_the_main_pages_load_without_a_csp_violation(open_page, therapist, provider, lead, django_user_model):
    course = open_course(therapist, provider, mrn="E2E-CSP1", given="Cora", family="Policy-Demo", prepared=True)
    session = schedule_session(therapist, provider, started_minutes_ago=60)
    dose = add_dose(session, course, provider)
    give_dose(dose, provider, minutes_ago_=30)
    patient = course.patient

    page = open_page()
    seen = watch(page)
    visit(page, "/login/", seen)
    login(page, therapist)
    for url in (
        reverse("caseload"),
        reverse("patient-list"),
        reverse("patient-detail", args=[patient.pk]),
        reverse("course-timeline", args=[course.pk]),
        reverse("course-charts", args=[course.pk]),
        reverse("worklist"),
        reverse("dosing-session", args=[session.pk]),
        reverse("patient-register"),
        reverse("api-docs"),
    ):
        visit(page, url, seen)
    # Swagger UI, from the app's own files, draws the API from the schema.
    visit(page, reverse("api-docs"), seen)
    expect(page.get_by_text("kapclinic API").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()

    provider_page = open_page()
    provider_seen = watch(provider_page)
    login(provider_page, provider)
    for url in (reverse("provider-today"), reverse("dose", args=[dose.pk])):
        visit(provider_page, url, provider_seen)

    lead_page = open_page()
    lead_seen = watch(lead_page)
    login(lead_page, lead)
    for url in (reverse("lead-dashboard"), reverse("outcome-report"), reverse("staff"), reverse("clinic-settings")):
        visit(lead_page, url, lead_seen)

    # The Django admin (its own templates and scripts), as a superuser.
    root = django_user_model.objects.create_superuser("root", "root@example.invalid", PASSWORD)
    admin_page = open_page()
    admin_seen = watch(admin_page)
    login(admin_page, root)
    for url in (reverse("admin:index"), reverse("admin:courses_patient_change", args=[patient.pk])):
        visit(admin_page, url, admin_seen)

    assert seen + provider_seen + lead_seen + admin_seen == []


def test_the_dose_form_still_fills_the_weight_from_a_static_script(open_page, therapist, provider):
    """The one script that was inline (the weight from the chosen course) runs from a file now."""
    course = open_course(therapist, provider, mrn="E2E-CSP2", given="Wes", family="Weight-Demo", prepared=True)
    session = schedule_session(therapist, provider, started_minutes_ago=10)
    page = open_page()
    seen = watch(page)
    login(page, provider)
    visit(page, reverse("dose-add", args=[session.pk]), seen)
    weight = page.get_by_label(re.compile("Weight"))
    page.locator("#id_course").select_option(str(course.pk))
    expect(weight).to_have_value(re.compile(r"^70(\.0)?$"))
    assert seen == []
