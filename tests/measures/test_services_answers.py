"""Answers: self-report links (valid, tampered, expired, used, closed), clinician entry, item 9."""

import datetime as dt

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError

from courses.models import AuditAction, AuditEvent
from measures import services
from measures.models import (
    AdministrationStatus,
    MessageKind,
    OutboundMessage,
    Response,
    ResponseSource,
    SafetyAlert,
)
from tests.measures.support import GAD7_ZERO, PHQ9_ZERO, rows
from tests.support import NOW


@pytest.fixture
def opened(course, clock):
    services.tick()
    return {a.instrument: a for a in rows(course)}


def token_for(administration, now=None):
    administration.refresh_from_db()
    return services.self_report_token(administration, now=now)


# --- the link ---------------------------------------------------------------------------------


def test_a_valid_link_resolves_to_its_administration(opened):
    phq9 = opened["phq9"]
    assert services.self_report_resolve(token=token_for(phq9)) == phq9


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: "x" + t,
        lambda t: "not-a-token",
        lambda t: "",
        lambda t: signing.dumps({"a": "not-a-uuid", "n": "x", "t": 1}, salt=services.LINK_SALT),
        lambda t: signing.dumps(["a", "list"], salt=services.LINK_SALT),
        lambda t: signing.dumps({"a": "1", "n": "x", "t": 1}, salt="another.salt"),
    ],
)
def test_a_tampered_or_foreign_link_is_invalid(opened, spoil):
    with pytest.raises(services.LinkProblem) as caught:
        services.self_report_resolve(token=spoil(token_for(opened["phq9"])))
    assert caught.value.kind == "invalid"


def test_a_link_for_another_nonce_is_invalid(opened):
    phq9 = opened["phq9"]
    token = signing.dumps({"a": str(phq9.pk), "n": "0" * 32, "t": int(NOW.timestamp())}, salt=services.LINK_SALT)
    with pytest.raises(services.LinkProblem) as caught:
        services.self_report_resolve(token=token)
    assert caught.value.kind == "invalid"


def test_a_link_expires_after_7_days(opened, clock):
    token = token_for(opened["phq9"])
    clock.move_to(NOW + dt.timedelta(days=7))
    assert services.self_report_resolve(token=token) == opened["phq9"]
    clock.move_to(NOW + dt.timedelta(days=8))
    with pytest.raises(services.LinkProblem) as caught:
        services.self_report_resolve(token=token)
    assert caught.value.kind == "expired"
    # The same, with the time passed in rather than read from the clock.
    clock.move_to(NOW)
    with pytest.raises(services.LinkProblem):
        services.self_report_resolve(token=token, now=NOW + dt.timedelta(days=8))


def test_a_reminder_carries_a_fresh_link(opened, clock):
    later = NOW + dt.timedelta(days=5)
    token = token_for(opened["phq9"], now=later)
    assert services.self_report_resolve(token=token, now=later + dt.timedelta(days=7)) == opened["phq9"]


def test_a_link_to_a_closed_window_is_closed(opened, therapist, clock):
    token = token_for(opened["gad7"])
    services.administration_waive(administration=opened["gad7"], by=therapist, reason="Not needed.")
    with pytest.raises(services.LinkProblem) as caught:
        services.self_report_resolve(token=token)
    assert caught.value.kind == "closed"


def test_a_link_past_the_last_day_is_closed(opened, clock):
    token = token_for(opened["phq9"], now=NOW + dt.timedelta(days=28))
    with pytest.raises(services.LinkProblem) as caught:
        services.self_report_resolve(token=token, now=NOW + dt.timedelta(days=31))
    assert caught.value.kind == "closed"


# --- self-report ------------------------------------------------------------------------------


def test_self_report_stores_every_answer_with_score_and_version(opened):
    answers = {str(n): 2 for n in range(1, 8)}
    response = services.response_submit_self_report(token=token_for(opened["gad7"]), answers=answers)
    assert response.source == ResponseSource.SELF_REPORT and response.entered_by is None
    assert (response.complete, response.total, response.band) == (True, 14, "Moderate")
    assert response.answers == {str(n): 2 for n in range(1, 8)}
    assert response.scoring_version == "1.0" and response.answered_at == NOW
    opened["gad7"].refresh_from_db()
    assert (opened["gad7"].status, opened["gad7"].completed_at) == (AdministrationStatus.COMPLETED, NOW)
    assert AuditEvent.objects.filter(record_id=str(response.pk), action=AuditAction.CREATE).exists()


def test_submitting_twice_is_refused_and_keeps_the_first_answers(opened):
    token = token_for(opened["phq9"])
    first = services.response_submit_self_report(token=token, answers={**PHQ9_ZERO, 1: 3})
    with pytest.raises(services.LinkProblem) as caught:
        services.response_submit_self_report(token=token, answers=dict.fromkeys(range(1, 10), 2))
    assert caught.value.kind == "used"
    assert Response.objects.get() == first
    assert Response.objects.get().total == 3


def test_an_incomplete_self_report_is_stored_unscored(opened):
    response = services.response_submit_self_report(token=token_for(opened["gad7"]), answers={1: 1, 2: 2})
    assert (response.complete, response.total, response.band) == (False, None, "")
    assert response.answers == {"1": 1, "2": 2, "3": None, "4": None, "5": None, "6": None, "7": None}


def test_bad_answers_are_refused_and_the_link_still_works(opened):
    token = token_for(opened["gad7"])
    with pytest.raises(ValidationError) as caught:
        services.response_submit_self_report(token=token, answers={**GAD7_ZERO, 3: 4})
    assert "item_3" in caught.value.message_dict
    opened["gad7"].refresh_from_db()
    assert opened["gad7"].status == AdministrationStatus.OPEN
    assert services.response_submit_self_report(token=token, answers=GAD7_ZERO).total == 0


# --- clinician entry --------------------------------------------------------------------------


def test_clinician_entry_is_recorded_as_such(course, therapist, clock):
    phq9 = rows(course, instrument="phq9")[0]  # still scheduled: entered in session before any link
    when = NOW - dt.timedelta(hours=1)
    response = services.response_enter(administration=phq9, by=therapist, answers=PHQ9_ZERO, answered_at=when)
    assert (response.source, response.entered_by, response.answered_at) == (ResponseSource.CLINICIAN, therapist, when)
    with pytest.raises(ValidationError):
        services.response_enter(administration=phq9, by=therapist, answers=PHQ9_ZERO)
    assert Response.objects.count() == 1


def test_clinician_entry_refusals(course, therapist, other_therapist, lead, outsider, clock):
    gad7 = rows(course, instrument="gad7")[0]
    for who in (other_therapist, lead, outsider):
        with pytest.raises(PermissionDenied):
            services.response_enter(administration=gad7, by=who, answers=GAD7_ZERO)
    with pytest.raises(ValidationError) as caught:
        services.response_enter(
            administration=gad7, by=therapist, answers=GAD7_ZERO, answered_at=NOW + dt.timedelta(hours=1)
        )
    assert "answered_at" in caught.value.message_dict
    services.administration_waive(administration=gad7, by=therapist, reason="Not needed.")
    with pytest.raises(ValidationError):
        services.response_enter(administration=gad7, by=therapist, answers=GAD7_ZERO)


def test_a_self_report_link_is_used_once_the_clinician_entered_answers(opened, provider):
    token = token_for(opened["phq9"])
    services.response_enter(administration=opened["phq9"], by=provider, answers=PHQ9_ZERO)
    with pytest.raises(services.LinkProblem) as caught:
        services.response_submit_self_report(token=token, answers=PHQ9_ZERO)
    assert caught.value.kind == "used"


# --- PHQ-9 item 9 -----------------------------------------------------------------------------


def alert_mail(outbox):
    return [m for m in outbox if m.subject.startswith("Safety alert")]


@pytest.mark.parametrize("via", ["self_report", "clinician"])
def test_item_9_raises_one_alert_and_one_message_per_clinician(
    opened, via, therapist, provider, mailoutbox, django_capture_on_commit_callbacks
):
    answers = {**PHQ9_ZERO, 9: 1}
    with django_capture_on_commit_callbacks(execute=True):
        if via == "self_report":
            response = services.response_submit_self_report(token=token_for(opened["phq9"]), answers=answers)
        else:
            response = services.response_enter(administration=opened["phq9"], by=therapist, answers=answers)
    alert = SafetyAlert.objects.get()
    assert (alert.response, alert.item_value, alert.acknowledged_at) == (response, 1, None)
    messages = OutboundMessage.objects.filter(kind=MessageKind.SAFETY_ALERT)
    assert sorted(messages.values_list("recipient__username", "status")) == [
        ("provider", "sent"),
        ("therapist", "sent"),
    ]
    sent = alert_mail(mailoutbox)
    assert sorted(m.to[0] for m in sent) == ["provider@kapclinic.invalid", "therapist@kapclinic.invalid"]
    for m in sent:
        for identifying in ("Alice", "Testpatient", "TEST-0001", "alice.testpatient"):
            assert identifying not in m.subject + m.body
    assert AuditEvent.objects.filter(record_id=str(alert.pk), action=AuditAction.CREATE).count() == 1


def test_item_9_on_an_incomplete_phq9_still_alerts(opened):
    services.response_submit_self_report(token=token_for(opened["phq9"]), answers={9: 2})
    assert SafetyAlert.objects.get().item_value == 2
    assert Response.objects.get().complete is False


def test_item_9_at_0_raises_nothing(opened):
    services.response_submit_self_report(token=token_for(opened["phq9"]), answers=PHQ9_ZERO)
    assert not SafetyAlert.objects.exists()


def test_raising_twice_for_one_response_is_one_alert(opened):
    response = services.response_submit_self_report(token=token_for(opened["phq9"]), answers={**PHQ9_ZERO, 9: 3})
    again = services.safety_alert_raise(response=response)
    assert SafetyAlert.objects.get() == again
    assert OutboundMessage.objects.filter(kind=MessageKind.SAFETY_ALERT).count() == 2


def test_a_clinician_on_both_roles_gets_one_message(patient, therapist, provider, clock):
    from courses import services as course_services
    from courses.choices import Indication

    course = course_services.course_open(
        patient=patient,
        by=therapist,
        indication=Indication.MDD_TRD,
        therapists=[therapist],
        medical_provider=provider,
    )
    course.therapists.add(provider)
    assert sorted(u.username for u in services.safety_alert_recipients(course)) == ["provider", "therapist"]


def test_a_clinician_without_email_gets_a_visible_failed_message(opened, provider):
    provider.email = ""
    provider.save(update_fields=["email"])
    services.response_submit_self_report(token=token_for(opened["phq9"]), answers={**PHQ9_ZERO, 9: 1})
    failed = OutboundMessage.objects.get(recipient=provider)
    assert (failed.status, failed.last_error) == ("failed", "No email address on file for this clinician.")


# --- acknowledging ----------------------------------------------------------------------------


@pytest.fixture
def alert(opened):
    services.response_submit_self_report(token=token_for(opened["phq9"]), answers={**PHQ9_ZERO, 9: 1})
    return SafetyAlert.objects.get()


def test_acknowledge_needs_a_note(alert, therapist):
    with pytest.raises(ValidationError) as caught:
        services.safety_alert_acknowledge(alert=alert, by=therapist, action_note="  ")
    assert "action_note" in caught.value.message_dict
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_acknowledge_needs_a_clinician_on_the_course(alert, other_therapist, other_provider, lead, outsider):
    for who in (other_therapist, other_provider, lead, outsider):
        with pytest.raises(PermissionDenied):
            services.safety_alert_acknowledge(alert=alert, by=who, action_note="Called the patient.")


def test_acknowledge_once_with_the_note_and_audited(alert, provider, therapist):
    services.safety_alert_acknowledge(alert=alert, by=provider, action_note=" Called; safety plan reviewed. ")
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.action_note, alert.acknowledged_at) == (
        provider,
        "Called; safety plan reviewed.",
        NOW,
    )
    assert AuditEvent.objects.filter(record_id=str(alert.pk), action=AuditAction.ACKNOWLEDGE).count() == 1
    with pytest.raises(ValidationError):
        services.safety_alert_acknowledge(alert=alert, by=therapist, action_note="Again.")
