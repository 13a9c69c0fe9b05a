"""A PHQ-9 item 9 alert nobody acknowledges goes to the practice leads, once (issue 11, rule 8),
and an acknowledgement shows who, when and what was done where the care team looks."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import Role, User
from devtools.builders import PASSWORD
from measures import services
from measures.models import MeasureSettings, MessageKind, OutboundMessage, SafetyAlert
from tests.support import NOW

pytestmark = pytest.mark.django_db
ITEM_9 = {**dict.fromkeys(range(1, 9), 1), 9: 2}


@pytest.fixture
def alert(course, therapist, lead, clock):
    services.tick()
    baseline = course.administrations.get(instrument="phq9", timepoint="baseline")
    response = services.response_enter(administration=baseline, by=therapist, answers=ITEM_9)
    return SafetyAlert.objects.get(response=response)


def escalations():
    return OutboundMessage.objects.filter(kind=MessageKind.SAFETY_ESCALATION)


def test_an_alert_open_past_the_clinics_time_goes_to_every_lead_once(alert, lead, clock, mailoutbox):
    second_lead = User.objects.create_user(
        "lead2", password=PASSWORD, role=Role.PRACTICE_LEAD, email="lead2@kapclinic.invalid"
    )
    clock.move_to(NOW + dt.timedelta(hours=23, minutes=59))
    assert services.tick()["alerts_escalated"] == 0
    clock.move_to(NOW + dt.timedelta(hours=24))
    done = services.tick()
    assert done["alerts_escalated"] == 1
    alert.refresh_from_db()
    assert alert.escalated_at == NOW + dt.timedelta(hours=24)
    assert {m.recipient for m in escalations()} == {lead, second_lead}
    mailoutbox.clear()
    for message_id in done["to_send"]:
        services.message_send(message_id=message_id)
    sent = [m for m in mailoutbox if "Unacknowledged safety alert" in m.subject]
    assert {m.to[0] for m in sent} == {lead.email, second_lead.email}
    assert "not been acknowledged by any clinician of the course for 24 hours" in sent[0].body
    assert "Testpatient" not in sent[0].body and "TEST-0001" not in sent[0].body
    # A later tick sends nothing more.
    clock.move_to(NOW + dt.timedelta(hours=30))
    assert services.tick()["alerts_escalated"] == 0 and escalations().count() == 2


def test_an_acknowledged_alert_is_not_escalated(alert, therapist, clock):
    services.safety_alert_acknowledge(alert=alert, by=therapist, action_note="Called; passive thoughts; plan reviewed.")
    clock.move_to(NOW + dt.timedelta(days=2))
    assert services.tick()["alerts_escalated"] == 0 and not escalations().exists()


def test_the_clinic_sets_the_time(alert, lead, clock):
    services.measure_settings_update(by=lead, changes={"safety_alert_escalation_hours": 4})
    assert MeasureSettings.load().safety_alert_escalation_hours == 4
    clock.move_to(NOW + dt.timedelta(hours=4))
    assert services.tick()["alerts_escalated"] == 1


def test_the_dashboard_and_the_worklist_say_it_was_escalated(alert, client, lead, therapist, clock):
    clock.move_to(NOW + dt.timedelta(hours=25))
    services.tick()
    client.force_login(lead)
    dashboard = client.get(reverse("lead-dashboard")).content.decode()
    assert "Safety alerts no clinician has acknowledged (1)" in dashboard and "Testpatient, Alice" in dashboard
    client.force_login(therapist)
    worklist = client.get(reverse("worklist")).content.decode()
    assert "sent to the practice lead" in worklist


def test_who_acknowledged_when_and_what_was_done_shows_where_the_team_looks(
    alert, client, therapist, given_dose, clock
):
    services.safety_alert_acknowledge(alert=alert, by=therapist, action_note="Called the patient; plan reviewed.")
    client.force_login(therapist)
    pages = {
        "timeline": reverse("course-timeline", args=[alert.course_id]),
        "worklist": reverse("worklist"),
        "bedside": reverse("dose", args=[given_dose.pk]),
    }
    for name, url in pages.items():
        text = client.get(url).content.decode()
        assert "Called the patient; plan reviewed." in text, name
        assert "Tess Therapist-Demo" in text, name
