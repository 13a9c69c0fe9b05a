"""The demo practice's pages: no link names a patient. Every link of ours resolves to a route whose
parameters are UUIDs, numbers, record kinds or the opaque self-report token (tests/test_access_hardening.py
checks the URL patterns and one course's every page; this checks a full clinic's lists and records)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from courses.models import Course, Dose, DosingSession, Patient
from tests.test_access_hardening import LINK, _check_link


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo clinic, built once for this module inside a transaction rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("demo_practice", "--i-know-this-is-not-production", stdout=StringIO())
        yield
        transaction.set_rollback(True)


def _needles() -> tuple[list[str], list[str]]:
    """(case-sensitive, case-insensitive) spellings of every demo patient. Given names such as 'Sage'
    are also English words ('message'), so they are matched as written; the rest in any case."""
    exact, anycase = [], []
    for p in Patient.objects.all():
        exact.append(p.given_name)
        anycase += [p.family_name, p.mrn, p.email, p.date_of_birth.isoformat(), p.date_of_birth.strftime("%m/%d/%Y")]
        if p.phone:
            anycase.append(p.phone)
    return exact, anycase


def _links(html: str) -> list[str]:
    return [
        link.replace("&amp;", "&") for link in LINK.findall(html) if not link.startswith(("tel:", "mailto:", "sms:"))
    ]


@pytest.mark.django_db
def test_no_link_on_the_demo_practices_pages_names_a_patient(demo):
    exact, anycase = _needles()
    lists = [
        "caseload",
        "provider-today",
        "patient-list",
        "dosing-session-list",
        "worklist",
        "report-exports",
        "lead-dashboard",
        "staff",
        "outcome-report",
    ]
    records = [reverse("patient-detail", args=[p.pk]) for p in Patient.objects.all()]
    records += [reverse("course-timeline", args=[c.pk]) for c in Course.objects.all()]
    records += [reverse("course-charts", args=[c.pk]) for c in Course.objects.all()[:10]]
    records += [reverse("dosing-session", args=[s.pk]) for s in DosingSession.objects.order_by("-starts_at")[:10]]
    records += [reverse("dose", args=[d.pk]) for d in Dose.objects.order_by("-created_at")[:10]]
    pages = 0
    for username, urls in (
        ("lead", [reverse(name) for name in lists] + records),
        ("therapist1", [reverse(name) for name in ("caseload", "patient-list", "worklist", "dosing-session-list")]),
        ("provider1", [reverse(name) for name in ("provider-today", "patient-list", "worklist")]),
    ):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (username, url, response.status_code)
            pages += 1
            for link in _links(response.content.decode()):
                named = [n for n in exact if n in link]
                assert not named, f"{username} {url}: a patient's name in a link: {link}"
                _check_link(link, anycase, f"{username} {url}")
    assert pages > 70
