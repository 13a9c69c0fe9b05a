"""The worklist and the safety banners: who sees which alert, acknowledging it, bounded queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from courses import services as course_services
from courses.choices import Indication, Sex
from courses.models import AuditEvent
from measures import services
from measures.models import Administration, AdministrationStatus, MessageStatus, OutboundMessage, SafetyAlert
from tests.measures.web_helpers import answers, link, open_administrations

BANNER = "Safety alert — PHQ-9 item 9 answered"


@pytest.fixture
def alert(client, course):
    phq9 = open_administrations(course)["phq9"]
    client.post(link(phq9), answers(9, 1, item_9=2))
    return SafetyAlert.objects.get(course=course)


def test_item_9_reaches_the_therapist_worklist_course_banner_and_landing_page(client, therapist, course, alert):
    client.force_login(therapist)
    worklist = client.get(reverse("worklist")).content.decode()
    assert "Open safety alerts (1)" in worklist and "PHQ-9 item 9 = 2" in worklist
    assert "Testpatient, Alice" in worklist and 'name="alert-' in worklist
    timeline = client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    assert BANNER in timeline and 'class="safety-icon"' in timeline
    caseload = client.get(reverse("caseload")).content.decode()
    assert BANNER in caseload and reverse("course-timeline", args=[course.pk]) in caseload


def test_the_provider_and_the_lead_see_the_banner_on_their_landing_pages(client, provider, lead, alert):
    client.force_login(provider)
    assert BANNER in client.get(reverse("provider-today")).content.decode()
    client.force_login(lead)
    assert BANNER in client.get(reverse("lead-dashboard")).content.decode()
    worklist = client.get(reverse("worklist")).content.decode()
    assert "PHQ-9 item 9 = 2" in worklist and "acknowledges this alert" in worklist  # no form for the lead


def test_showing_the_alert_is_audited_per_viewer(client, therapist, provider, alert):
    client.force_login(therapist)
    client.get(reverse("caseload"))
    client.force_login(provider)
    client.get(reverse("worklist"))
    seen = AuditEvent.objects.filter(record_id=str(alert.pk), detail="safety alert shown", action="view")
    assert {e.actor for e in seen} == {therapist, provider}


def test_acknowledging_needs_a_note_and_then_clears_every_banner(client, therapist, course, alert):
    client.force_login(therapist)
    url = reverse("safety-alert-acknowledge", args=[alert.pk])
    refused = client.post(url, {f"alert-{alert.pk}-action_note": ""})
    assert refused.status_code == 400 and "Record what was done" in refused.content.decode()
    done = client.post(url, {f"alert-{alert.pk}-action_note": "Called; safety plan reviewed; seen tomorrow."})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == therapist and alert.action_note.startswith("Called")
    assert BANNER not in client.get(reverse("caseload")).content.decode()
    assert BANNER not in client.get(reverse("course-timeline", args=[course.pk])).content.decode()
    assert "No open safety alerts" in client.get(reverse("worklist")).content.decode()
    assert AuditEvent.objects.filter(record_id=str(alert.pk), action="acknowledge", actor=therapist).exists()


def test_another_caseload_sees_nothing_and_gets_404(client, other_therapist, course, alert):
    client.force_login(other_therapist)
    worklist = client.get(reverse("worklist")).content.decode()
    assert "Testpatient" not in worklist and "Open safety alerts (0)" in worklist
    assert BANNER not in client.get(reverse("caseload")).content.decode()
    url = reverse("safety-alert-acknowledge", args=[alert.pk])
    assert client.post(url, {f"alert-{alert.pk}-action_note": "x"}).status_code == 404
    assert client.get(reverse("course-timeline", args=[course.pk])).status_code == 404


def test_due_today_overdue_and_missed_follow_ups(client, therapist, course, clock):
    opened = open_administrations(course)
    services.administration_adjust(
        administration=opened["gad7"],
        by=therapist,
        reason="Seen in clinic next week",
        target_date=dt.date(2026, 3, 10),
        open_from=dt.date(2026, 3, 10),
        due_by=dt.date(2026, 3, 10),
        missed_after=dt.date(2026, 3, 20),
    )
    client.force_login(therapist)
    text = client.get(reverse("worklist")).content.decode()
    due = text.split('id="due-h"')[1].split("</section>")[0]
    assert "Due today (1)" in text and "GAD-7" in due
    clock.shift(dt.timedelta(days=2))
    client.force_login(therapist)
    text = client.get(reverse("worklist")).content.decode()
    overdue = text.split('id="overdue-h"')[1].split("</section>")[0]
    assert "Overdue, window still open (1)" in text and "GAD-7" in overdue and "overdue" in overdue
    Administration.objects.filter(pk=opened["phq9"].pk).update(
        timepoint="month_1", status=AdministrationStatus.MISSED, escalated_at=dt.datetime(2026, 3, 11, tzinfo=dt.UTC)
    )
    text = client.get(reverse("worklist")).content.decode()
    assert "Missed follow-ups (+1, +3, +6 months) (1)" in text and "⚑ missed" in text


def test_failed_and_waiting_messages_with_resend(client, therapist, course):
    open_administrations(course)  # the tick makes the three invitations, waiting to send
    client.force_login(therapist)
    text = client.get(reverse("worklist")).content.decode()
    assert "Messages waiting to send (3)" in text
    message = OutboundMessage.objects.filter(administration__course=course).first()
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, attempts=6, last_error="SMTPServerDisconnected: gone"
    )
    text = client.get(reverse("worklist")).content.decode()
    assert "Messages that failed after every retry (1)" in text and "SMTPServerDisconnected" in text
    response = client.post(reverse("message-resend", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status != MessageStatus.FAILED  # back in the queue (sent at once by the eager worker)
    again = client.post(reverse("message-resend", args=[message.pk]), follow=True)
    assert "Only a failed message, or one waiting for its next retry, can be resent." in again.content.decode()


def _courses_with_alerts(n, start, therapist, provider):
    for i in range(start, start + n):
        patient = course_services.patient_register(
            by=therapist,
            mrn=f"WL-{i:04d}",
            given_name=f"Wl{i}",
            family_name="Worklist-Demo",
            date_of_birth=dt.date(1985, 1, 1),
            sex=Sex.MALE,
            email=f"wl{i}@example.invalid",
            weight_kg=Decimal("80"),
        )
        course = course_services.course_open(
            patient=patient,
            by=therapist,
            indication=Indication.MDD_TRD,
            therapists=[therapist],
            medical_provider=provider,
        )
        phq9 = open_administrations(course)["phq9"]
        services.response_submit_self_report(
            token=services.self_report_token(phq9), answers=dict.fromkeys(range(1, 10), 1)
        )


@pytest.mark.parametrize("url_name", ["worklist", "caseload"])
def test_queries_do_not_grow_with_the_caseload(
    client, therapist, provider, clock, url_name, django_assert_max_num_queries
):
    _courses_with_alerts(2, 0, therapist, provider)
    client.force_login(therapist)
    client.get(reverse(url_name))
    with django_assert_max_num_queries(60) as small:
        client.get(reverse(url_name))
    _courses_with_alerts(8, 2, therapist, provider)
    # Ten alerts now instead of two: the reads and the one audit insert for all alerts shown stay fixed.
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse(url_name))
    assert response.content.decode().count(BANNER if url_name == "caseload" else "PHQ-9 item 9 = 1") == 10


def test_worklist_queries_are_the_same_for_2_and_12_courses_without_alerts(
    client, therapist, provider, clock, django_assert_max_num_queries
):
    def make(n, start):
        for i in range(start, start + n):
            patient = course_services.patient_register(
                by=therapist,
                mrn=f"WQ-{i:04d}",
                given_name=f"Wq{i}",
                family_name="Worklist-Demo",
                date_of_birth=dt.date(1985, 1, 1),
                sex=Sex.MALE,
                email=f"wq{i}@example.invalid",
                weight_kg=Decimal("80"),
            )
            course_services.course_open(
                patient=patient,
                by=therapist,
                indication=Indication.PTSD,
                therapists=[therapist],
                medical_provider=provider,
            )
        services.tick()

    make(2, 0)
    client.force_login(therapist)
    with django_assert_max_num_queries(30) as small:
        client.get(reverse("worklist"))
    make(10, 2)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("worklist"))
    assert "Messages waiting to send (36)" in response.content.decode()
