"""What the browser flows share: signing in through the real login page, form time values, and
course set-ups made with the services (on the real clock, since the live server reads it)."""

import datetime as dt
import re
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import Page, expect

from courses import services
from courses.choices import Indication, SessionFormat, VitalPhase
from devtools import builders
from devtools.builders import PASSWORD, normal_vitals, prepare_course

# A phone's browser context (`open_page(**PHONE)`); the default is a tablet (conftest.py).
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


def login(page: Page, user, password: str = PASSWORD) -> None:
    """Sign in on the login page, as a person would, and wait for the start page. A user who
    owes a second factor (a lead, a superuser) types the code of an authenticator enrolled here."""
    from accounts import mfa
    from tests.otp import enrolled, next_code

    device = enrolled(user) if mfa.second_factor_required(user) else None
    page.goto("/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    if device is not None:
        expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
        page.get_by_label("Code").fill(next_code(device))
        page.get_by_role("button", name="Continue").click()
        expect(page).not_to_have_url(re.compile(r"/account/second-factor/"))
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)


def expect_flash(page: Page, text: str) -> None:
    """The confirmation the page shows after a form was accepted."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def local_input(moment: dt.datetime) -> str:
    """A datetime-local input's value: the moment in the clinic's time zone, to the minute."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def minutes_ago(minutes: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def open_course(
    therapist,
    provider,
    *,
    mrn: str,
    given: str,
    family: str,
    format: str = SessionFormat.INDIVIDUAL,
    indication: str = Indication.MDD_TRD,
    screen: bool = True,
    prepared: bool = False,
):
    """A registered patient with an open course; a signed psychiatric evaluation; with `screen`,
    a signed, cleared medical evaluation too (every item answered "no"); with `prepared`, what the
    first dose waits for besides: a signed preparatory session and the baseline waived."""
    patient = builders.patient(
        by=therapist, mrn=mrn, given_name=given, family_name=family, email=f"{mrn.lower()}@example.invalid"
    )
    course = builders.course(patient, by=therapist, medical_provider=provider, indication=indication, format=format)
    today = timezone.localdate()
    if screen:
        builders.medical_evaluation(course, provider, evaluated_on=today, **normal_vitals())
    builders.psychiatric_evaluation(course, therapist, evaluated_on=today, diagnosis="Synthetic diagnosis")
    course.refresh_from_db()
    return prepare_course(course, therapist) if prepared else course


def schedule_session(therapist, provider, *, started_minutes_ago: int, format: str = SessionFormat.INDIVIDUAL):
    start = minutes_ago(started_minutes_ago)
    return services.dosing_session_schedule(
        by=provider,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
        medical_provider=provider,
        facilitators=[therapist],
        format=format,
        location="Room 2",
    )


def add_dose(session, course, provider):
    return services.dose_add(
        session=session,
        course=course,
        by=provider,
        route="im",
        dose_mg=Decimal("30"),
        weight_kg=Decimal("70"),
        lot_number="LOT-E2E",
        fasting_confirmed=True,
    )


def give_dose(dose, provider, *, minutes_ago_: int):
    """Normal pre-dose vitals, then the dose, `minutes_ago_` minutes ago (the course prepared)."""
    dosed = minutes_ago(minutes_ago_)
    services.vital_reading_add(
        dose=dose,
        by=provider,
        phase=VitalPhase.PRE_DOSE,
        taken_at=dosed - dt.timedelta(minutes=5),
        **normal_vitals(),
    )
    return services.dose_administer(dose=dose, by=provider, dosed_at=dosed)
