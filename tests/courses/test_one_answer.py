"""One answer per clinical question: what the service refuses with, the dose page and the group
card list, and the API returns are the same, for each state a dose can be in (issue 11, rule 1).

Each question is asked three or four ways at the same frozen instant, and the answers compared
message for message: the pure functions of courses/safety/ are the only place they come from."""

import datetime as dt
import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from courses import services
from devtools import builders
from devtools.builders import DISCHARGE_CHECKLIST, normal_vitals, prepare_course

pytestmark = pytest.mark.django_db


def service_refusal(call, **kwargs) -> list[str]:
    """The service's messages for the act (empty if it would go ahead); nothing is kept."""
    try:
        with transaction.atomic():
            call(**kwargs)
            raise _RolledBack
    except _RolledBack:
        return []
    except ValidationError as exc:
        return sorted(exc.messages)


class _RolledBack(Exception):
    pass


def _items(section: str) -> list[str]:
    return sorted(
        html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in re.findall(r"<li>(.*?)</li>", section)
    )


def page_blockers(client, dose) -> list[str]:
    page = client.get(reverse("dose", args=[dose.pk])).content.decode()
    match = re.search(r'<ul class="blockers">(.*?)</ul>', page, re.S)
    return [m.removesuffix(" exception possible, with a reason") for m in _items(match.group(1))] if match else []


def card_blockers(client, dose) -> list[str]:
    page = client.get(reverse("dosing-session", args=[dose.session_id])).content.decode()
    card = page.split(f'href="/doses/{dose.pk}/"')[1].split("</a>")[0]
    return sorted(
        html.unescape(line).strip() for line in re.findall(r'<span class="blocker-line">• (.*?)</span>', card)
    )


def api_dose(provider, dose) -> dict:
    client = APIClient()
    client.force_authenticate(provider)
    return client.get(f"/api/doses/{dose.pk}/").json()


def _no_vitals(p, provider, therapist):
    pass


def _hold(p, provider, therapist):
    services.vital_reading_add(dose=p, by=provider, phase="pre_dose", **normal_vitals(systolic_bp=162))


def _hold_overridden(p, provider, therapist):
    _hold(p, provider, therapist)
    services.dosing_hold_override(dose=p, by=provider, reason="White-coat pattern; home BP normal.")


def _open_alert(p, provider, therapist):
    services.vital_reading_add(dose=p, by=provider, phase="pre_dose", **normal_vitals(spo2=89))


def _not_fasting_not_prepared(p, provider, therapist):
    services.record_update(record=p, by=provider, changes={"fasting_confirmed": False})
    services.vital_reading_add(dose=p, by=provider, phase="pre_dose", **normal_vitals())


def _ready(p, provider, therapist):
    services.vital_reading_add(dose=p, by=provider, phase="pre_dose", **normal_vitals())


STATES = {
    "no vitals": (_no_vitals, True),
    "a hold": (_hold, True),
    "a hold overridden": (_hold_overridden, True),
    "an open alert": (_open_alert, True),
    "not fasting, not prepared": (_not_fasting_not_prepared, False),
    "ready": (_ready, True),
}


@pytest.mark.parametrize("state", STATES)
def test_what_the_dose_still_needs_is_one_answer(
    state, client, clock, cleared_course, dosing_session, provider, therapist
):
    make, prepared = STATES[state]
    if prepared:
        prepare_course(cleared_course, therapist)
    dose = builders.dose_planned(session=dosing_session, course=cleared_course, provider=provider)
    make(dose, provider, therapist)

    refusal = service_refusal(services.dose_administer, dose=dose, by=provider)
    client.force_login(provider)
    api = api_dose(provider, dose)
    assert page_blockers(client, dose) == refusal
    assert card_blockers(client, dose) == refusal
    assert sorted(b["message"] for b in api["blockers"]) == refusal
    assert api["ready_to_dose"] is (refusal == [])
    if state == "ready":
        assert "✓ Ready to dose" in client.get(reverse("dose", args=[dose.pk])).content.decode()


@pytest.mark.parametrize("state", ["no vitals", "a hold", "a hold overridden"])
def test_is_there_a_hold_is_one_answer(state, client, clock, ready_course, dosing_session, provider, therapist):
    dose = builders.dose_planned(session=dosing_session, course=ready_course, provider=provider)
    STATES[state][0](dose, provider, therapist)
    held = services.pre_dose_hold(dose).active
    client.force_login(provider)
    bedside = client.get(reverse("dose", args=[dose.pk])).content.decode()
    card = client.get(reverse("dosing-session", args=[dosing_session.pk])).content.decode()
    assert ("PRE-DOSE HOLD" in bedside) is held
    assert ("⚠ Pre-dose hold" in card) is held
    assert api_dose(provider, dose)["hold"]["active"] is held
    assert any("Pre-dose hold" in m for m in service_refusal(services.dose_administer, dose=dose, by=provider)) is held


def _screen_unsigned(course, provider, therapist):
    builders.medical_evaluation(course, provider, sign=False)


def _screen_signed_psych_missing(course, provider, therapist):
    builders.medical_evaluation(course, provider)


def _cleared(course, provider, therapist):
    builders.clear_course(course, provider, therapist, diagnosis="MDD")


@pytest.mark.parametrize("make", [_screen_unsigned, _screen_signed_psych_missing, _cleared])
def test_cleared_for_dosing_is_one_answer(make, client, clock, course, dosing_session, provider, therapist):
    make(course, provider, therapist)
    refused = service_refusal(builders.dose_planned, session=dosing_session, course=course, provider=provider)
    api = APIClient()
    api.force_authenticate(therapist)
    summary = api.get(f"/api/courses/{course.pk}/").json()["summary"]
    client.force_login(therapist)
    page = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    cleared = not refused
    assert summary["cleared_for_dosing"] is cleared
    assert ('<dt>Cleared for dosing</dt><dd><span class="badge badge-ok">Yes</span>' in page) is cleared
    # What the course still needs: the same sentences on the page, in the API and in the refusal.
    clearance = {b["message"] for b in summary["dosing_blockers"]} - {
        b["message"] for b in summary["dosing_blockers"] if b["code"] in ("preparation_missing", "baseline_open")
    }
    assert clearance == set(refused)
    assert all(html.escape(m, quote=False).replace("'", "&#x27;") in page for m in clearance)


@pytest.mark.parametrize("alerting", [False, True])
def test_what_discharge_still_needs_is_one_answer(alerting, client, clock, given_dose, provider):
    clock.shift(dt.timedelta(minutes=70))
    services.vital_reading_add(
        dose=given_dose,
        by=provider,
        phase="during",
        taken_at=given_dose.dosed_at + dt.timedelta(minutes=40),
        **normal_vitals(),
    )
    final = normal_vitals(systolic_bp=183) if alerting else normal_vitals()
    reading = services.vital_reading_add(dose=given_dose, by=provider, phase="pre_discharge", **final)
    if alerting:
        services.in_session_alert_close(
            alert=reading.in_session_alerts.get(), by=provider, action="other", note="Seen."
        )
    refusal = service_refusal(services.dose_discharge, dose=given_dose, by=provider, **DISCHARGE_CHECKLIST)
    client.force_login(provider)
    assert page_blockers(client, given_dose) == refusal
    assert sorted(b["message"] for b in api_dose(provider, given_dose)["discharge_blockers"]) == refusal
    assert bool(refusal) is alerting


def test_what_is_due_next_on_the_caseload_and_the_timeline_is_one_answer(client, clock, cleared_course, therapist):
    services.course_change_status(course=cleared_course, by=therapist, to_status="preparation")
    client.force_login(therapist)
    caseload = client.get(reverse("caseload")).content.decode()
    timeline = client.get(reverse("course-timeline", args=[cleared_course.pk])).content.decode()
    due = re.search(r'id="due-next">What is due next</h2>\s*<ol>(.*?)</ol>', timeline, re.S).group(1)
    steps = [html.unescape(s) for s in re.findall(r"<li>(.*?)</li>", due)]
    assert steps and "Baseline questionnaires not answered" in " ".join(steps)
    for step in steps:
        assert html.escape(step, quote=False).replace("'", "&#x27;") in caseload


def test_the_answers_for_a_whole_group_cost_a_fixed_number_of_queries(
    client, clock, therapist, provider, django_assert_max_num_queries
):
    """The group card, the today page and the API work out every dose's blockers, hold and
    monitoring in a fixed number of queries (courses/bedside.py loads the facts in bulk): a group
    of 8 costs no more than a group of 4."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group, doses = builders.group_session_with(4, therapist=therapist, provider=provider)
    for i, p in enumerate(doses):
        builders.pre_dose_vitals(p, provider, systolic_bp=165 if i % 2 else 120)
    api = APIClient()
    api.force_authenticate(provider)
    client.force_login(provider)
    pages = [reverse("dosing-session", args=[group.pk]), reverse("provider-today")]
    small = {}
    for url in pages:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        small[url] = len(captured.captured_queries)
    with CaptureQueriesContext(connection) as captured:
        assert api.get(f"/api/dosing-sessions/{group.pk}/").status_code == 200
    small["api"] = len(captured.captured_queries)

    for i in range(4):
        course = builders.cleared_course_for(n=200 + i, therapist=therapist, provider=provider, format="group")
        p = builders.dose_planned(session=group, course=course, provider=provider)
        builders.pre_dose_vitals(p, provider, systolic_bp=165 if i % 2 else 120)
    for url in pages:
        with django_assert_max_num_queries(small[url]):
            page = client.get(url).content.decode()
        assert page.count("Pre-dose hold: blood pressure 165/") >= 4
    with django_assert_max_num_queries(small["api"]):
        body = api.get(f"/api/dosing-sessions/{group.pk}/").json()
    assert len(body["doses"]) == 8
    assert sum(bool(d["hold"]["active"]) for d in body["doses"]) == 4
