"""Adverse events: grading, the serious-event mail to the practice leads, acknowledgement."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from courses import selectors, services
from courses.models import AdverseEvent
from devtools.builders import SERIOUS_EVENT

pytestmark = pytest.mark.django_db


def _record_serious(dose, provider, capture):
    with capture(execute=True):
        return services.adverse_event_add(dose=dose, by=provider, **SERIOUS_EVENT)


def test_a_serious_event_mails_the_leads_once_naming_no_patient(
    given_dose, provider, lead, mailoutbox, django_capture_on_commit_callbacks
):
    event = _record_serious(given_dose, provider, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [lead.email]
    patient = given_dose.course.patient
    text = mail.subject + mail.body
    for identifier in (patient.given_name, patient.family_name, patient.mrn, str(patient.pk)):
        assert identifier not in text
    event.refresh_from_db()
    assert event.lead_notified_at is not None

    assert services.adverse_event_notify_leads(event_id=event.pk) is False
    assert len(mailoutbox) == 1


def test_the_mail_is_sent_after_commit_not_before(
    given_dose, provider, lead, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.adverse_event_add(dose=given_dose, by=provider, **SERIOUS_EVENT)
    assert mailoutbox == []
    assert len(callbacks) == 1


def test_a_non_serious_event_sends_no_mail(given_dose, provider, lead, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.adverse_event_add(
            dose=given_dose,
            by=provider,
            term="nausea",
            grade=1,
            relatedness="probable",
            expectedness="expected",
        )
    assert mailoutbox == []


@pytest.mark.parametrize("grade", [4, 5])
def test_grade_four_or_five_must_be_serious(given_dose, provider, grade):
    with pytest.raises(ValidationError) as exc:
        services.adverse_event_add(
            dose=given_dose,
            by=provider,
            term="loss_of_consciousness",
            grade=grade,
            relatedness="possible",
            expectedness="expected",
        )
    assert "tick 'serious'" in exc.value.message_dict["serious"][0]
    assert not AdverseEvent.objects.exists()


def test_serious_needs_a_criterion(given_dose, provider):
    with pytest.raises(ValidationError) as exc:
        services.adverse_event_add(
            dose=given_dose,
            by=provider,
            term="sedation",
            grade=3,
            serious=True,
            relatedness="possible",
            expectedness="expected",
        )
    assert "serious_criteria" in exc.value.message_dict


def test_only_a_lead_acknowledges(given_dose, provider, lead, django_capture_on_commit_callbacks):
    event = _record_serious(given_dose, provider, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        services.adverse_event_acknowledge(event=event, by=provider)
    done = services.adverse_event_acknowledge(event=event, by=lead, note="Called the ED; stable.")
    assert done.acknowledged_by == lead
    assert not AdverseEvent.objects.serious_unacknowledged().exists()


def test_an_event_is_acknowledged_once(given_dose, provider, lead, django_capture_on_commit_callbacks):
    event = _record_serious(given_dose, provider, django_capture_on_commit_callbacks)
    services.adverse_event_acknowledge(event=event, by=lead, note="Spoke with the provider; patient admitted.")
    with pytest.raises(ValidationError) as exc:
        services.adverse_event_acknowledge(event=event, by=lead, note="Again.")
    assert "already been acknowledged" in exc.value.messages[0]


def test_a_non_serious_event_is_not_acknowledged(given_dose, provider, lead):
    event = services.adverse_event_add(
        dose=given_dose,
        by=provider,
        term="nausea",
        grade=1,
        relatedness="possible",
        expectedness="expected",
    )
    with pytest.raises(ValidationError):
        services.adverse_event_acknowledge(event=event, by=lead)


def test_the_sweep_sends_a_mail_whose_queueing_was_lost(
    given_dose, provider, lead, mailoutbox, django_capture_on_commit_callbacks
):
    from courses.tasks import notify_pending_serious_events

    # The commit hook never ran (the broker was down when the event was saved).
    with django_capture_on_commit_callbacks(execute=False):
        event = services.adverse_event_add(dose=given_dose, by=provider, **SERIOUS_EVENT)
    assert list(selectors.serious_events_awaiting_notification()) == [event.pk]

    assert notify_pending_serious_events() == 1
    assert len(mailoutbox) == 1
    assert list(selectors.serious_events_awaiting_notification()) == []
    assert notify_pending_serious_events() == 0
    assert len(mailoutbox) == 1


def test_a_voided_serious_event_is_not_swept(given_dose, provider, lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        event = services.adverse_event_add(dose=given_dose, by=provider, **SERIOUS_EVENT)
    with pytest.raises(PermissionDenied):  # it has gone to the leads: theirs to take back
        services.record_void(record=event, by=provider, reason="Entered on the wrong patient.")
    services.record_void(record=event, by=lead, reason="Entered on the wrong patient.")
    assert list(selectors.serious_events_awaiting_notification()) == []
