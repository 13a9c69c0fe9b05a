"""Two staff saving the same record: neither change is silently lost (issue 6).

Every clinical row carries a version; a write names the version it read, and a write over a
newer one is refused with a conflict that says who changed it, keeps the user's entries and
lets them save again on top of the other change."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from courses import services
from courses.models import AuditAction, AuditEvent
from devtools.builders import SERIOUS_EVENT
from tests.fuzz.support import parse_forms

pytestmark = pytest.mark.django_db


def _prep(course, therapist, note="First account of the session."):
    return services.preparatory_session_add(
        course=course, by=therapist, held_at=timezone.now(), duration_minutes=60, note=note
    )


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_every_save_moves_the_version_on(course, therapist):
    prep = _prep(course, therapist)
    assert prep.version == 1
    services.record_update(record=prep, by=therapist, version=1, changes={"note": "Second draft."})
    services.record_sign(record=prep, by=therapist, version=2)
    prep.refresh_from_db()
    assert prep.version == 3 and prep.is_signed


def test_a_write_over_a_newer_version_is_refused_and_says_who_and_when(course, therapist):
    prep = _prep(course, therapist)
    services.record_update(record=prep, by=therapist, version=1, changes={"note": "Saved first."})
    with pytest.raises(services.RecordChanged) as refused:
        services.record_update(
            record=prep, by=therapist, version=1, changes={"note": "Saved second, from an old page."}
        )
    message = str(refused.value)
    assert "changed by Tess Therapist-Demo" in message and "after you opened it" in message
    assert "version" not in message  # a clinician is told who and when, not the row's counter
    prep.refresh_from_db()
    assert prep.note == "Saved first." and prep.version == 2
    updates = AuditEvent.objects.filter(action=AuditAction.UPDATE, record_id=str(prep.pk))
    assert updates.count() == 1


@pytest.mark.parametrize("write", ["sign", "void", "amend"])
def test_sign_void_and_amend_also_refuse_an_old_read(course, therapist, write):
    prep = _prep(course, therapist)
    services.record_update(record=prep, by=therapist, version=1, changes={"note": "Changed after the page was opened."})
    if write == "amend":
        services.record_sign(record=prep, by=therapist, version=2)
    stale = {"sign": 1, "void": 1, "amend": 2}[write]
    with pytest.raises(services.RecordChanged):
        if write == "sign":
            # A signature attests to what the signer saw, not to a change made since.
            services.record_sign(record=prep, by=therapist, version=stale)
        elif write == "void":
            services.record_void(record=prep, by=therapist, reason="Wrong patient", version=stale)
        else:
            services.record_amend(record=prep, by=therapist, changes={"note": "x"}, reason="Typo", version=stale)
    prep.refresh_from_db()
    assert prep.voided_at is None and prep.note == "Changed after the page was opened."


def test_the_api_answers_409_to_the_second_writer_who_can_then_retry(course, therapist):
    prep = _prep(course, therapist)
    url = f"/api/records/preparatory-session/{prep.pk}/"
    first, second = _api(therapist), _api(therapist)
    read_by_first = first.get(url).json()["version"]
    read_by_second = second.get(url).json()["version"]

    saved = first.patch(url, {"duration_minutes": 75, "version": read_by_first}, format="json")
    assert saved.status_code == 200 and saved.json()["version"] == read_by_first + 1
    conflict = second.patch(url, {"note": "Second writer's note.", "version": read_by_second}, format="json")
    assert conflict.status_code == 409
    body = conflict.json()
    assert set(body) == {"detail", "errors"}
    assert "after you opened it" in body["detail"]
    assert body["errors"]["version"] == [f"You sent version {read_by_second}; the record is now version 2."]
    prep.refresh_from_db()
    assert prep.note == "First account of the session." and prep.duration_minutes == 75

    fresh = second.get(url).json()
    retried = second.patch(url, {"note": "Second writer's note.", "version": fresh["version"]}, format="json")
    assert retried.status_code == 200
    prep.refresh_from_db()
    assert prep.duration_minutes == 75 and prep.note == "Second writer's note."


def test_the_api_refuses_a_patch_without_a_version(course, therapist):
    prep = _prep(course, therapist)
    response = _api(therapist).patch(
        f"/api/records/preparatory-session/{prep.pk}/", {"note": "No version"}, format="json"
    )
    assert response.status_code == 400
    assert "version" in response.json()["errors"]
    prep.refresh_from_db()
    assert prep.note == "First account of the session."


def _browser_form(page, url) -> dict[str, list[str]]:
    """What a browser submits from the page's record form (the POST form carrying a version):
    every field as the page rendered it, hidden ones included."""
    [form] = [f for f in parse_forms(page.content.decode(), url, "test") if "version" in f.fields]
    return {f.name: list(f.values) for f in form.fields.values() if f.values}


def _submit(client, url, page, **typed):
    """Post the form as the browser shows it, with what the user typed over it."""
    data = _browser_form(page, url)
    data.update({name: [value] for name, value in typed.items()})
    return client.post(url, data)


def test_the_second_web_save_is_shown_the_conflict_and_saving_again_keeps_both_changes(client, course, therapist):
    prep = _prep(course, therapist)
    url = reverse("record-edit", args=["preparatory-session", prep.pk])
    client.force_login(therapist)
    first, second = client.get(url), client.get(url)  # two pages opened at version 1
    assert 'name="version" value="1"' in second.content.decode()

    assert _submit(client, url, first, duration_minutes="90").status_code == 302
    page = _submit(client, url, second, note="My longer account, typed at the same time.")
    assert page.status_code == 400
    html = page.content.decode()
    assert "after you opened it" in html and "Nothing of yours was saved" in html
    assert "Brought up to date on this page: Duration minutes." in html
    assert "You both changed" not in html
    fields = _browser_form(page, url)
    assert fields["duration_minutes"] == ["90"]  # the field this user left alone shows the other's change
    assert fields["note"] == ["My longer account, typed at the same time."]  # the user's entry is kept
    assert fields["version"] == ["2"]  # saving again is now a deliberate choice
    prep.refresh_from_db()
    assert prep.duration_minutes == 90 and prep.note == "First account of the session."

    # Saving the conflict page as it stands writes only what this user changed.
    again = _submit(client, url, page)
    assert again.status_code == 302
    prep.refresh_from_db()
    assert prep.duration_minutes == 90 and prep.note == "My longer account, typed at the same time."


def test_when_both_change_the_same_field_the_page_says_so_and_saving_again_is_a_choice(client, course, therapist):
    prep = _prep(course, therapist)
    url = reverse("record-edit", args=["preparatory-session", prep.pk])
    client.force_login(therapist)
    first, second = client.get(url), client.get(url)
    assert _submit(client, url, first, note="Their account.").status_code == 302
    page = _submit(client, url, second, note="My account.")
    assert page.status_code == 400
    html = page.content.decode()
    assert "You both changed — now on the record: Note: Their account." in html
    assert "Saving again replaces these with what you typed." in html
    assert "Brought up to date" not in html
    assert _browser_form(page, url)["note"] == ["My account."]
    prep.refresh_from_db()
    assert prep.note == "Their account."
    assert _submit(client, url, page).status_code == 302
    prep.refresh_from_db()
    assert prep.note == "My account."


def test_a_conflict_on_a_patient_brings_dates_and_choices_up_to_date(client, patient, therapist):
    """Date, select and text fields each come back as the browser would post them, so the
    page shows the other person's values and saving it again writes only this user's."""
    url = reverse("patient-edit", args=[patient.pk])
    client.force_login(therapist)
    page = client.get(url)
    services.patient_update(
        patient=patient,
        by=therapist,
        version=1,
        changes={"date_of_birth": dt.date(1981, 6, 2), "sex": "unknown", "race_ethnicity": "asian"},
    )
    conflict = _submit(client, url, page, phone="+1 555 0100")
    assert conflict.status_code == 400
    assert (
        "Brought up to date on this page: Date of birth, Sex, Race/ethnicity (self-reported)."
        in conflict.content.decode()
    )
    shown = _browser_form(conflict, url)
    assert (shown["date_of_birth"], shown["sex"], shown["race_ethnicity"]) == (["1981-06-02"], ["unknown"], ["asian"])
    assert shown["phone"] == ["+1 555 0100"]
    assert _submit(client, url, conflict).status_code == 302
    patient.refresh_from_db()
    assert (patient.date_of_birth, patient.sex, patient.race_ethnicity, patient.phone) == (
        dt.date(1981, 6, 2),
        "unknown",
        "asian",
        "+1 555 0100",
    )


def test_the_systems_own_bookkeeping_does_not_refuse_an_open_edit(given_dose, provider, lead, mailoutbox):
    """The practice leads' serious-event mail marks the event; the provider completing it
    from a page opened before that must not be told someone changed it."""
    event = services.adverse_event_add(
        dose=given_dose,
        by=provider,
        **SERIOUS_EVENT,
    )
    assert event.version == 1
    assert services.adverse_event_notify_leads(event_id=event.pk) is True and len(mailoutbox) == 1
    event.refresh_from_db()
    assert event.lead_notified_at is not None and event.version == 1
    services.record_update(record=event, by=provider, version=1, changes={"description": "Resolved with reassurance."})
    event.refresh_from_db()
    assert event.version == 2 and event.lead_notified_at is not None


def test_a_web_save_without_the_version_is_a_conflict_not_an_overwrite(client, course, therapist):
    prep = _prep(course, therapist)
    url = reverse("record-edit", args=["preparatory-session", prep.pk])
    client.force_login(therapist)
    page = client.get(url)
    services.record_update(record=prep, by=therapist, version=1, changes={"duration_minutes": 90})
    data = _browser_form(page, url)
    for name in [n for n in data if n == "version" or n.startswith("initial-")]:
        del data[name]  # an old tab, or a script
    data["note"] = ["Overwrite attempt."]
    response = client.post(url, data)
    assert response.status_code == 400 and "after you opened it" in response.content.decode()
    prep.refresh_from_db()
    assert prep.duration_minutes == 90 and prep.note == "First account of the session."


@pytest.mark.parametrize("version", ["", "²", "1" * 40, "-1", "abc"])
def test_a_malformed_version_on_sign_or_edit_is_a_conflict_never_a_500(client, course, therapist, version):
    prep = _prep(course, therapist)
    client.force_login(therapist)
    signed = client.post(reverse("record-sign", args=["preparatory-session", prep.pk]), {"version": version})
    assert signed.status_code == 302
    edit = reverse("record-edit", args=["preparatory-session", prep.pk])
    data = _browser_form(client.get(edit), edit)
    data.update(version=[version], note=["Changed"])
    assert client.post(edit, data).status_code == 400
    prep.refresh_from_db()
    assert not prep.is_signed and prep.note == "First account of the session."


def test_signing_a_record_changed_since_the_page_was_shown_is_refused(client, course, therapist):
    prep = _prep(course, therapist)
    services.record_update(record=prep, by=therapist, version=1, changes={"note": "Edited in another tab."})
    client.force_login(therapist)
    response = client.post(reverse("record-sign", args=["preparatory-session", prep.pk]), {"version": "1"}, follow=True)
    assert "Not signed: This preparatory session was changed" in response.content.decode()
    prep.refresh_from_db()
    assert not prep.is_signed


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_the_same_moment_one_wins_the_other_is_told(course, therapist):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks between two real connections: run with DATABASE_URL=postgres://... (CI does)")
    prep = _prep(course, therapist)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def save(name: str, note: str) -> None:
        try:
            barrier.wait(timeout=10)
            services.record_update(record=prep, by=therapist, version=1, changes={"note": note})
            outcomes[name] = "saved"
        except services.RecordChanged:
            outcomes[name] = "conflict"
        finally:
            close_old_connections()

    threads = [threading.Thread(target=save, args=(n, f"Note from {n}.")) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(n for n, outcome in outcomes.items() if outcome == "saved")
    prep.refresh_from_db()
    assert prep.note == f"Note from {winner}." and prep.version == 2


def test_a_date_outside_the_years_a_record_holds_is_refused_by_every_entry_point(course, therapist):
    prep = _prep(course, therapist)
    with pytest.raises(ValidationError) as refused:
        services.record_update(
            record=prep, by=therapist, version=1, changes={"held_at": timezone.now().replace(year=562)}
        )
    assert refused.value.message_dict == {"held_at": ["Enter a date between the years 1900 and 2099."]}
    prep.refresh_from_db()
    assert prep.version == 1
