"""Staff pages of the measures: the questionnaires on the timeline, clinician entry, window
changes, charts and the lead's measure schedule."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from courses import services as course_services
from measures import services
from measures.models import Administration, AdministrationStatus, MeasureSettings, Response, ResponseSource, Timepoint
from tests.measures.support import ad_hoc
from tests.measures.web_helpers import answers, link, open_administrations


@pytest.fixture
def opened(course):
    return open_administrations(course)


def test_the_timeline_lists_every_questionnaire_with_status_and_actions(client, therapist, course, opened):
    client.force_login(therapist)
    client.post(link(opened["gad7"]), answers(7, 2))
    text = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    section = text.split('id="questionnaires"')[1].split("</section>")[0]
    assert section.count("<tr class=") == 3  # PHQ-9, GAD-7, PCL-5 at baseline
    assert "Open" in section and "Completed" in section
    assert "<strong>14</strong>" in section and "Moderate" in section and "self-report" in section
    assert "Mar 10 – Mar 17 – Apr 9, 2026" in section  # open from – due by – last day
    assert section.count("Enter answers") == 2  # not on the completed one
    assert reverse("answers-enter", args=[opened["phq9"].pk]) in section
    assert reverse("course-charts", args=[course.pk]) in section


def test_the_timeline_stays_at_a_fixed_query_count(client, therapist, course, opened, django_assert_max_num_queries):
    client.force_login(therapist)
    client.get(reverse("course-timeline", args=[course.pk]))
    for n in range(6):
        services.administration_add(
            course=course,
            by=therapist,
            instrument="phq9",
            open_from=dt.date(2026, 3, 10) + dt.timedelta(days=n),
            missed_after=dt.date(2026, 4, 30),
        )
    with django_assert_max_num_queries(40) as many:
        client.get(reverse("course-timeline", args=[course.pk]))
    few = len(many.captured_queries)
    for _ in range(6):
        services.administration_add(
            course=course,
            by=therapist,
            instrument="gad7",
            open_from=dt.date(2026, 3, 20),
            missed_after=dt.date(2026, 5, 1),
        )
    with django_assert_max_num_queries(few):
        client.get(reverse("course-timeline", args=[course.pk]))


def test_a_clinician_enters_answers_recorded_as_clinician_entry(client, therapist, course, opened):
    client.force_login(therapist)
    url = reverse("answers-enter", args=[opened["phq9"].pk])
    page = client.get(url).content.decode()
    assert page.count("<fieldset") == 9 and "entered by you on the patient" in page
    data = answers(9, 2, item_9=0) | {"answered_at": "2026-03-10T09:30"}
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"].endswith("#questionnaires")
    stored = Response.objects.get(administration=opened["phq9"])
    assert stored.source == ResponseSource.CLINICIAN and stored.entered_by == therapist
    assert stored.total == 16 and stored.band == "Moderately severe"
    assert stored.answered_at == dt.datetime(2026, 3, 10, 13, 30, tzinfo=dt.UTC)  # 09:30 New York
    timeline = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    assert "entered by Tess Therapist-Demo" in timeline


def test_a_clinician_may_leave_a_declined_item_which_stores_it_incomplete(client, provider, course, opened):
    client.force_login(provider)
    data = answers(7, 1)
    del data["item_3"]
    assert client.post(reverse("answers-enter", args=[opened["gad7"].pk]), data).status_code == 302
    stored = Response.objects.get(administration=opened["gad7"])
    assert stored.complete is False and stored.total is None and stored.entered_by == provider
    timeline = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    assert "incomplete" in timeline


def test_entering_twice_is_refused_and_the_first_answers_kept(client, therapist, opened):
    client.force_login(therapist)
    url = reverse("answers-enter", args=[opened["phq9"].pk])
    client.post(url, answers(9, 1, item_9=0))
    again = client.post(url, answers(9, 3, item_9=0))
    assert again.status_code == 400 and "already been answered" in again.content.decode()
    assert Response.objects.get(administration=opened["phq9"]).total == 8


def test_entry_dated_in_the_future_is_refused_next_to_the_field(client, therapist, opened):
    client.force_login(therapist)
    data = answers(9, 1) | {"answered_at": "2026-03-12T09:00"}
    response = client.post(reverse("answers-enter", args=[opened["phq9"].pk]), data)
    assert response.status_code == 400
    assert 'id="id_answered_at_error"' in response.content.decode()
    assert 'value="2026-03-12T09:00"' in response.content.decode()


def test_the_lead_cannot_enter_answers_and_another_caseload_gets_404(client, lead, other_therapist, opened):
    client.force_login(lead)
    assert client.get(reverse("answers-enter", args=[opened["phq9"].pk])).status_code == 403
    client.force_login(other_therapist)
    assert client.get(reverse("answers-enter", args=[opened["phq9"].pk])).status_code == 404
    assert client.get(reverse("administration-adjust", args=[opened["phq9"].pk])).status_code == 404
    assert client.get(reverse("course-charts", args=[opened["phq9"].course_id])).status_code == 404


def test_adjusting_a_window_needs_a_reason_and_keeps_what_was_typed(client, therapist, opened):
    client.force_login(therapist)
    url = reverse("administration-adjust", args=[opened["gad7"].pk])
    assert 'value="2026-03-10"' in client.get(url).content.decode()
    data = {
        "open_from": "2026-03-10",
        "target_date": "2026-03-12",
        "due_by": "2026-03-14",
        "missed_after": "2026-03-20",
    }
    refused = client.post(url, data | {"reason": ""})
    assert refused.status_code == 400 and 'id="id_reason_error"' in refused.content.decode()
    assert 'value="2026-03-20"' in refused.content.decode()
    disordered = client.post(url, data | {"due_by": "2026-03-25", "reason": "Travelling"})
    assert disordered.status_code == 400 and "open-from ≤ due-by ≤ last day" in disordered.content.decode()
    assert client.post(url, data | {"reason": "Travelling next week"}).status_code == 302
    moved = Administration.objects.get(pk=opened["gad7"].pk)
    assert moved.missed_after == dt.date(2026, 3, 20) and moved.manually_adjusted
    assert moved.adjustment_reason == "Travelling next week"


def test_cancelling_needs_a_reason(client, therapist, course, opened):
    client.force_login(therapist)
    extra = ad_hoc(course, therapist)
    url = reverse("administration-cancel", args=[extra.pk])
    assert client.post(url, {"reason": " "}).status_code == 400
    assert client.post(url, {"reason": "Not indicated for this patient"}).status_code == 302
    cancelled = Administration.objects.get(pk=extra.pk)
    assert cancelled.status == AdministrationStatus.CANCELLED
    text = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    assert "Not indicated for this patient" in text and "Cancelled" in text


def test_a_baseline_is_waived_not_cancelled(client, therapist, course, opened):
    client.force_login(therapist)
    refused = client.post(reverse("administration-cancel", args=[opened["pcl5"].pk]), {"reason": "Not indicated"})
    assert refused.status_code == 400 and "waive it" in refused.content.decode()
    section = client.get(reverse("course-timeline", args=[course.pk])).content.decode().split('id="questionnaires"')[1]
    assert "Waive…" in section and ">Cancel<" not in section.split("</section>")[0]
    url = reverse("administration-waive", args=[opened["pcl5"].pk])
    assert client.post(url, {"reason": " "}).status_code == 400
    assert client.post(url, {"reason": "Not indicated for this patient"}).status_code == 302
    waived = Administration.objects.get(pk=opened["pcl5"].pk)
    assert (waived.status, waived.waived_by, waived.waived_reason) == (
        "waived",
        therapist,
        "Not indicated for this patient",
    )
    text = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    assert "Not indicated for this patient" in text and "Waived" in text


def test_adding_a_questionnaire_for_one_course(client, provider, course, opened):
    client.force_login(provider)
    url = reverse("administration-add", args=[course.pk])
    past = client.post(url, {"instrument": "gad7", "open_from": "2026-03-01", "missed_after": "2026-03-05"})
    assert past.status_code == 400 and "cannot be in the past" in past.content.decode()
    assert (
        client.post(url, {"instrument": "gad7", "open_from": "2026-03-17", "missed_after": "2026-03-24"}).status_code
        == 302
    )
    added = Administration.objects.get(course=course, timepoint=Timepoint.AD_HOC)
    assert added.instrument == "gad7" and added.status == AdministrationStatus.SCHEDULED
    assert "Additional" in client.get(reverse("course-timeline", args=[course.pk])).content.decode()


def test_the_chart_page_draws_each_instrument_with_bands_doses_and_a_table(
    client, therapist, provider, cleared_course, given_dose, clock
):
    client.force_login(therapist)
    # The baseline was waived before the dose (fixture): a score on the day is an additional questionnaire.
    phq9 = services.administration_add(
        course=cleared_course,
        by=therapist,
        instrument="phq9",
        open_from=dt.date(2026, 3, 10),
        missed_after=dt.date(2026, 3, 12),
    )
    services.response_enter(administration=phq9, by=therapist, answers=dict.fromkeys(range(1, 10), 2) | {9: 0})
    clock.shift(dt.timedelta(days=7))
    extra = services.administration_add(
        course=cleared_course,
        by=therapist,
        instrument="phq9",
        open_from=dt.date(2026, 3, 17),
        missed_after=dt.date(2026, 3, 20),
    )
    services.response_enter(administration=extra, by=therapist, answers=dict.fromkeys(range(1, 10), 1) | {9: 0})
    client.force_login(therapist)  # the session timed out over the week
    response = client.get(reverse("course-charts", args=[cleared_course.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert text.count("<svg") == 1  # only PHQ-9 has answers
    assert 'role="img"' in text and "<title id=" in text and "<desc id=" in text and "aria-label=" in text
    for band in ("Minimal", "Mild", "Moderate", "Moderately severe", "Severe"):
        assert f">{band}</text>" in text
    assert text.count('class="dose"') == 1 and ">1</text>" in text  # one dosing session, numbered
    assert "Mar 10, 2026" in text  # x ticks in clinic time, with the year on the first
    table = text.split("<tbody>")[1]
    assert (
        "2026-03-10" in table
        and "<strong>16</strong>" in table
        and "2026-03-17" in table
        and "<strong>8</strong>" in table
    )
    assert re.search(r'<path class="score-line" d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+"', text)


def test_the_pcl5_chart_shades_the_clinics_cut_off(client, lead, therapist, course, opened):
    MeasureSettings.objects.filter(pk=MeasureSettings.load().pk).update(pcl5_cutoff=31)
    services.response_enter(administration=opened["pcl5"], by=therapist, answers=dict.fromkeys(range(1, 21), 2))
    client.force_login(lead)
    text = client.get(reverse("course-charts", args=[course.pk])).content.decode()
    assert "Provisional PTSD (≥ 31)" in text and "band-pcl5-0" in text


def test_the_lead_edits_the_measure_schedule_and_replans(client, lead, therapist, course, opened):
    client.force_login(lead)
    url = reverse("measure-settings")
    page = client.get(url).content.decode()
    assert page.count('type="checkbox"') == 18 and len(re.findall(r'type="checkbox"[^>]* checked', page)) == 17
    form = {
        f"grid__{t}__{i}": "on"
        for t in ("baseline", "end_of_course", "month_1", "month_3", "month_6")
        for i in ("phq9", "gad7")
    }
    numbers = {
        f: getattr(MeasureSettings.load(), f)
        for f in (
            "baseline_days_before_first_dose",
            "pre_dose_min_interval_days",
            "pre_dose_open_days_before",
            "end_of_course_first_day",
            "end_of_course_last_day",
            "month_1_day",
            "month_1_tolerance",
            "month_3_day",
            "month_3_tolerance",
            "month_6_day",
            "month_6_tolerance",
            "pcl5_cutoff",
            "stall_after_days",
            "link_expiry_days",
            "reminder_after_days",
            "send_max_attempts",
            "safety_alert_escalation_hours",
        )
    }
    refused = client.post(url, form | numbers | {"link_expiry_days": "90"})
    assert refused.status_code == 400 and 'id="id_link_expiry_days_error"' in refused.content.decode()
    assert 'value="90"' in refused.content.decode()
    assert client.post(url, form | numbers | {"link_expiry_days": "10"}).status_code == 302
    saved = MeasureSettings.load()
    assert saved.link_expiry_days == 10 and saved.instruments_by_timepoint["baseline"] == ["phq9", "gad7"]
    assert saved.instruments_by_timepoint["pre_dose"] == []
    response = client.post(reverse("measure-settings-replan"), follow=True)
    assert "Re-planned the questionnaires of 1 course" in response.content.decode()
    assert Administration.objects.get(pk=opened["pcl5"].pk).status == AdministrationStatus.CANCELLED


def test_only_the_lead_reaches_the_measure_schedule(client, therapist):
    client.force_login(therapist)
    assert client.get(reverse("measure-settings")).status_code == 403
    assert client.post(reverse("measure-settings-replan")).status_code == 403


def test_a_closed_course_offers_no_new_questionnaire(client, therapist, course, opened):
    course_services.course_change_status(course=course, by=therapist, to_status="discontinued", reason="Moved away")
    client.force_login(therapist)
    text = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    assert reverse("administration-add", args=[course.pk]) not in text
