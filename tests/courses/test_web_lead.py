"""The practice lead's pages: staff accounts and clinic settings."""

import pytest
from django.template import engines
from django.urls import reverse

from accounts.models import User
from courses import services
from courses.models import ClinicSettings


def test_staff_pages_are_for_the_lead_only(client, therapist, lead):
    client.force_login(therapist)
    for name in ("staff", "clinic-settings", "lead-dashboard"):
        assert client.get(reverse(name)).status_code == 403
    client.force_login(lead)
    for name in ("staff", "clinic-settings", "lead-dashboard"):
        assert client.get(reverse(name)).status_code == 200


def test_lead_invites_staff_and_a_missing_email_is_refused_next_to_the_field(client, lead, mailoutbox):
    client.force_login(lead)
    data = {
        "username": "newdoc",
        "role": "medical_provider",
        "first_name": "New",
        "last_name": "Doc",
        "email": "",
        "credentials": "MD",
    }
    response = client.post(reverse("staff"), data)
    assert response.status_code == 400 and 'id="id_email_error"' in response.content.decode()
    assert not User.objects.filter(username="newdoc").exists()
    response = client.post(reverse("staff"), {**data, "email": "newdoc@kapclinic.invalid"})
    assert response.status_code == 302
    member = User.objects.get(username="newdoc")
    assert member.role == "medical_provider" and not member.has_usable_password()
    assert [m.to for m in mailoutbox] == [["newdoc@kapclinic.invalid"]]


def test_lead_deactivates_and_reactivates_staff(client, lead, therapist):
    client.force_login(lead)
    client.post(reverse("staff-active", args=[therapist.pk]), {"active": "0"})
    therapist.refresh_from_db()
    assert not therapist.is_active
    client.post(reverse("staff-active", args=[therapist.pk]), {"active": "1"})
    therapist.refresh_from_db()
    assert therapist.is_active


def test_clinic_settings_refusal_and_save(client, lead):
    client.force_login(lead)
    form = {f: getattr(ClinicSettings.load(), f) for f in services.SETTINGS_FIELDS}
    page = client.get(reverse("clinic-settings")).content.decode()
    assert "Default: 140" in page
    response = client.post(reverse("clinic-settings"), {**form, "hold_systolic": 200})
    assert response.status_code == 400 and 'id="id_hold_systolic_error"' in response.content.decode()
    assert ClinicSettings.load().hold_systolic == 140
    response = client.post(reverse("clinic-settings"), {**form, "hold_systolic": 150})
    assert response.status_code == 302
    assert ClinicSettings.load().hold_systolic == 150


def test_course_stage_refusal_is_shown_next_to_the_field(client, therapist, course):
    client.force_login(therapist)
    response = client.post(reverse("course-status", args=[course.pk]), {"to_status": "discontinued", "reason": ""})
    assert response.status_code == 400 and 'id="id_reason_error"' in response.content.decode()
    response = client.post(reverse("course-status", args=[course.pk]), {"to_status": "dosing", "reason": ""})
    assert response.status_code == 400 and 'id="id_to_status_error"' in response.content.decode()
    response = client.post(
        reverse("course-status", args=[course.pk]), {"to_status": "discontinued", "reason": "Moved away"}
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == "discontinued"


def test_void_keeps_the_record_struck_through(client, therapist, course):
    client.force_login(therapist)
    assert (
        client.post(
            reverse("record-void", args=["course", course.pk]), {"reason": "Opened twice", "version": course.version}
        ).status_code
        == 302
    )
    course.refresh_from_db()
    assert course.is_voided
    assert "Opened twice" in client.get(reverse("course-timeline", args=[course.pk])).content.decode()


def test_the_stage_form_starts_on_the_next_stage(client, course, therapist):
    client.force_login(therapist)
    page = client.get(reverse("course-status", args=[course.pk])).content.decode()
    assert '<option value="preparation" selected>' in page


def test_the_staff_form_asks_for_no_password(client, lead):
    # The colleague chooses it through the invitation: the lead never types nor sees it.
    client.force_login(lead)
    page = client.get(reverse("staff")).content.decode()
    assert 'type="password"' not in page and "Send the invitation" in page


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("therapist1@kapclinic.invalid", "therapist1<wbr>@kapclinic.invalid"),
        ("<b>@x.invalid", "&lt;b&gt;<wbr>@x.invalid"),
        ("no-at-sign", "no-at-sign"),
        ("", ""),
    ],
)
def test_an_address_wraps_before_its_at_sign_and_stays_escaped(address, shown):
    template = engines["django"].from_string("{% load text %}{{ address|email_breaks }}")
    assert template.render({"address": address}) == shown
