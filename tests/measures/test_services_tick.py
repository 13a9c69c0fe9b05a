"""The tick and its parts: open what is due, invite once, remind, mark missed, escalate."""

import datetime as dt

import pytest
from django.db import connection

from measures import services
from measures.models import (
    Administration,
    AdministrationStatus,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Timepoint,
)
from measures.services.tick import _message_for
from tests.measures.support import rows
from tests.support import NOW, at_once

TODAY = dt.date(2026, 3, 10)


def invitations(course=None):
    qs = OutboundMessage.objects.filter(kind=MessageKind.INVITATION)
    return qs.filter(administration__course=course) if course else qs


def send_all(ids, now=None):
    return [services.message_send(message_id=i, now=now) for i in ids]


def test_tick_opens_due_administrations_with_one_invitation_each(course, clock, mailoutbox):
    done = services.tick()
    assert (done["opened"], done["invitations"], done["reminders"], done["missed"]) == (3, 3, 0, 0)
    assert {a.status for a in rows(course)} == {AdministrationStatus.OPEN}
    assert all(a.opened_at == NOW and len(a.link_nonce) == 32 and a.link_issued_at == NOW for a in rows(course))
    assert sorted(done["to_send"]) == sorted(invitations().values_list("pk", flat=True))
    assert send_all(done["to_send"]) == ["sent"] * 3
    assert len(mailoutbox) == 3
    assert {m.to[0] for m in mailoutbox} == {"alice.testpatient@example.invalid"}
    body = mailoutbox[0].body
    assert "Hello Alice," in body and "/r/" in body and "TEST-0001" not in body and "Testpatient" not in body


def test_a_second_tick_does_nothing_twice(course, clock, mailoutbox):
    first = services.tick()
    send_all(first["to_send"])
    second = services.tick()
    assert (second["opened"], second["invitations"], second["to_send"]) == (0, 0, [])
    assert invitations().count() == 3
    assert len(mailoutbox) == 3


def test_a_message_sent_twice_is_sent_once(course, clock, mailoutbox):
    ids = services.tick()["to_send"]
    assert send_all(ids) == ["sent"] * 3
    assert send_all(ids) == ["skipped"] * 3
    assert len(mailoutbox) == 3


def test_nothing_opens_before_its_window(course, clock):
    tomorrow = TODAY + dt.timedelta(days=1)
    Administration.objects.filter(course=course).update(open_from=tomorrow, target_date=tomorrow)
    assert services.tick()["opened"] == 0
    clock.move_to(NOW + dt.timedelta(days=1))
    assert services.tick()["opened"] == 3


def test_the_tasks_tick_queues_and_sends(course, clock, mailoutbox):
    from measures.tasks import tick

    done = tick.delay().get()
    assert (done["opened"], done["invitations"], done["queued"]) == (3, 3, 3)
    assert len(mailoutbox) == 3
    assert set(invitations().values_list("status", flat=True)) == {MessageStatus.SENT}


def test_reminder_after_the_set_days_and_only_once(course, clock, mailoutbox):
    send_all(services.tick()["to_send"])
    clock.move_to(NOW + dt.timedelta(days=3) - dt.timedelta(minutes=1))
    assert services.tick()["reminders"] == 0
    clock.move_to(NOW + dt.timedelta(days=3))
    done = services.tick()
    assert done["reminders"] == 3
    send_all(done["to_send"])
    assert services.tick()["reminders"] == 0
    assert OutboundMessage.objects.filter(kind=MessageKind.REMINDER).count() == 3
    assert "A reminder" in mailoutbox[-1].body


def test_no_reminder_when_the_invitation_was_never_sent(course, clock):
    services.tick()  # invitations made, never sent
    clock.move_to(NOW + dt.timedelta(days=5))
    assert services.tick()["reminders"] == 0


def test_no_reminder_for_an_answered_questionnaire(course, therapist, clock):
    send_all(services.tick()["to_send"])
    for a in rows(course):
        services.response_enter(administration=a, by=therapist, answers=_zeros(a.instrument))
    clock.move_to(NOW + dt.timedelta(days=4))
    assert services.tick()["reminders"] == 0


def _zeros(instrument):
    return dict.fromkeys(range(1, {"phq9": 10, "gad7": 8, "pcl5": 21}[instrument]), 0)


def test_missed_when_the_window_closes(course, clock):
    services.tick()
    clock.move_to(NOW + dt.timedelta(days=30))
    assert services.tick()["missed"] == 0  # the last day still counts
    clock.move_to(NOW + dt.timedelta(days=31))
    done = services.tick()
    assert (done["missed"], done["escalated"]) == (3, 0)  # baseline is no follow-up
    assert {(a.status, a.missed_at is not None, a.escalated_at) for a in rows(course)} == {
        (AdministrationStatus.MISSED, True, None)
    }


def test_a_scheduled_one_whose_window_passed_is_missed_not_opened(course, clock):
    clock.move_to(NOW + dt.timedelta(days=31))
    done = services.tick()
    assert (done["opened"], done["missed"], done["invitations"]) == (0, 3, 0)


def test_a_missed_follow_up_is_escalated_once(course, clock):
    follow_up = Administration.objects.create(
        course=course,
        instrument="phq9",
        timepoint=Timepoint.MONTH_1,
        target_date=TODAY,
        open_from=TODAY - dt.timedelta(days=7),
        due_by=TODAY,
        missed_after=TODAY + dt.timedelta(days=7),
        created_at=NOW,
    )
    services.tick()
    clock.move_to(NOW + dt.timedelta(days=8))
    done = services.tick()
    follow_up.refresh_from_db()
    assert done["escalated"] == 1
    assert follow_up.status == AdministrationStatus.MISSED and follow_up.escalated_at is not None
    assert services.tick()["escalated"] == 0


def test_cancelled_and_discontinued_are_left_alone(course, therapist, clock):
    from courses import services as course_services
    from courses.choices import CourseStatus

    course_services.course_change_status(
        course=course, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Withdrew."
    )
    done = services.tick()
    assert (done["opened"], done["invitations"]) == (0, 0)


def test_an_sms_patient_gets_a_text(course, therapist, clock, settings, tmp_path):
    from courses import services as course_services

    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    course_services.patient_update(
        patient=course.patient, by=therapist, changes={"phone": "+1-202-555-0199", "preferred_channel": "sms"}
    )
    ids = services.tick()["to_send"]
    assert set(OutboundMessage.objects.values_list("channel", "to_address")) == {("sms", "+1-202-555-0199")}
    assert send_all(ids) == ["sent"] * 3
    texts = list((tmp_path / "sms").iterdir())
    assert len(texts) == 3 and "Hello Alice," in texts[0].read_text()


def test_a_message_with_no_address_is_failed_at_creation(course, clock):
    services.tick()
    administration = rows(course)[0]
    # The patient table insists on an address for the preferred channel; a row read before a
    # change, or a channel without one, must still not be dropped silently.
    administration.course.patient.email = ""
    message = _message_for(administration, MessageKind.REMINDER, NOW)
    assert (message.status, message.last_error, message.failed_at) == (
        MessageStatus.FAILED,
        "No email address on file.",
        NOW,
    )


def test_a_stale_sending_claim_is_picked_up_again(course, clock, mailoutbox):
    ids = services.tick()["to_send"]
    OutboundMessage.objects.filter(pk=ids[0]).update(status=MessageStatus.SENDING, claimed_at=NOW, attempts=1)
    assert ids[0] not in services.messages_to_send()
    assert services.message_send(message_id=ids[0]) == "skipped"  # another worker holds it
    clock.move_to(NOW + services.STALE_CLAIM + dt.timedelta(seconds=1))
    assert ids[0] in services.messages_to_send()
    assert services.message_send(message_id=ids[0]) == "sent"
    assert OutboundMessage.objects.get(pk=ids[0]).attempts == 2


# --- two ticks at once, on PostgreSQL ---------------------------------------------------------


def _on_postgresql():
    return connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_open_and_invite_each_administration_once(patient, therapist, provider, clock):
    if not _on_postgresql():
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so two ticks cannot race (set DATABASE_URL)")
    from courses import services as course_services
    from courses.choices import Indication

    for n in range(12):
        p = (
            patient
            if n == 0
            else course_services.patient_register(
                by=therapist,
                mrn=f"RACE-{n:04d}",
                given_name="Race",
                family_name=f"Test-{n}",
                date_of_birth=dt.date(1980, 1, 1),
                sex="female",
                email=f"race{n}@example.invalid",
            )
        )
        course_services.course_open(
            patient=p, by=therapist, indication=Indication.PTSD, therapists=[therapist], medical_provider=provider
        )
    due = Administration.objects.count()
    assert due == 36
    results = at_once(lambda: services.tick(now=NOW), lambda: services.tick(now=NOW))
    assert sum(r["opened"] for r in results) == due  # each opened by exactly one tick
    assert Administration.objects.filter(status=AdministrationStatus.OPEN).count() == due
    assert invitations().count() == due
    assert invitations().values("administration").distinct().count() == due


def test_an_open_one_whose_window_closed_is_missed_not_invited(course, clock):
    Administration.objects.filter(course=course).update(status=AdministrationStatus.OPEN, link_nonce="x" * 32)
    clock.move_to(NOW + dt.timedelta(days=31))
    done = services.tick()
    assert (done["invitations"], done["missed"]) == (0, 3)
    assert not invitations().exists()


def test_a_missed_follow_up_and_its_escalation_are_one_step(course, clock):
    Administration.objects.create(
        course=course,
        instrument="gad7",
        timepoint=Timepoint.MONTH_6,
        target_date=TODAY,
        open_from=TODAY,
        due_by=TODAY,
        missed_after=TODAY,
        created_at=NOW,
    )
    clock.move_to(NOW + dt.timedelta(days=31))
    done = services.administrations_mark_missed()
    assert done == {"missed": 4, "escalated": 1}
    missed = Administration.objects.filter(status=AdministrationStatus.MISSED)
    assert missed.filter(escalated_at__isnull=False).get().timepoint == Timepoint.MONTH_6
