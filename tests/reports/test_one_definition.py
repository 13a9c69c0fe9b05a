"""Issue 12, item 6: one definition per setting. The windows, the baseline days and the PCL-5
cut-off are stored once (the measure schedule) and read by both the questionnaires and the report;
changing one says what it moves and re-plans the questionnaires not yet answered."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from courses import services as course_services
from courses.choices import CourseStatus
from courses.models import AuditEvent
from measures.models import AdministrationStatus, MeasureSettings
from reports import data_version
from reports.cohort import ReportFilters
from reports.models import OutcomeSettings
from reports.report import build_practice_report
from tests.measures.support import rows
from tests.measures.test_services_schedule import booking_course  # noqa: F401 (fixture)
from tests.measures.test_stalled_and_discontinued import dosed_once, last_dose_day  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
LIVE = (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def month_3_target(course) -> dt.date:
    (row,) = {a.target_date for a in rows(course) if a.timepoint == "month_3" and a.status in LIVE}
    return row


def test_the_report_reads_the_schedules_values(db):
    schedule = MeasureSettings.load()
    defs = OutcomeSettings.load().definitions(schedule)
    assert defs.baseline_days == schedule.baseline_days_before_first_dose
    assert (defs.end_first_day, defs.end_last_day) == (
        schedule.end_of_course_first_day,
        schedule.end_of_course_last_day,
    )
    for name in ("month_1", "month_3", "month_6"):
        assert defs.window(name) == (getattr(schedule, f"{name}_day"), getattr(schedule, f"{name}_tolerance"))
    assert defs.eligible_from["pcl5"] == schedule.pcl5_cutoff
    assert not {"month_3_day", "end_first_day", "baseline_days", "pcl5_eligible_from"} & {
        f.name for f in OutcomeSettings._meta.get_fields()
    }


def test_moving_a_window_moves_the_questionnaires_and_the_figures_and_says_so(
    dosed_once,  # noqa: F811
    therapist,
    lead,
    clock,
    django_capture_on_commit_callbacks,
):
    course_services.course_change_status(
        course=dosed_once, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Moved away."
    )
    assert month_3_target(dosed_once) == last_dose_day(dosed_once) + dt.timedelta(days=90)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(lead).patch("/api/measure-settings/", {"month_3_day": 100}, format="json")
    assert response.status_code == 200, response.json()
    (move,) = response.json()["moves"]
    assert move["setting"] == "month_3_day" and move["timepoints"] == ["month_3"]
    # The discontinued course's +3-month questionnaires (PHQ-9, GAD-7), not yet answered.
    assert move["questionnaires"] == sum(1 for a in rows(dosed_once) if a.timepoint == "month_3" and a.status in LIVE)
    assert move["questionnaires"] == 2
    assert "sustained response at +3 months" in move["figures"]

    # The worker re-planned it after the commit; the report counts the same window.
    assert month_3_target(dosed_once) == last_dose_day(dosed_once) + dt.timedelta(days=100)
    assert build_practice_report(ReportFilters()).definitions.window("month_3")[0] == 100
    assert AuditEvent.objects.filter(record_type="measure settings", detail="month_3_day").exists()


def test_a_setting_that_moves_no_questionnaire_says_so(lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api(lead).patch("/api/measure-settings/", {"reminder_after_days": 2}, format="json")
    (move,) = response.json()["moves"]
    assert (move["questionnaires"], move["timepoints"]) == (0, [])
    assert move["figures"].startswith("none")
    # Nothing to re-plan: the one callback a saved setting may leave is the data version's move
    # (reports/data_version.py), registered once per transaction by its first write.
    assert [c for c in callbacks if c is not data_version.bump] == []


def test_the_pcl5_cut_off_is_one_value_for_the_band_and_the_eligibility(lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(lead).patch("/api/measure-settings/", {"pcl5_cutoff": 31}, format="json")
    (move,) = response.json()["moves"]
    assert "eligible for PCL-5 response" in move["figures"]
    assert build_practice_report(ReportFilters()).definitions.eligible_from["pcl5"] == 31


def test_the_schedule_page_says_what_a_change_moved(client, lead, clock):
    client.force_login(lead)
    form = client.get("/measure-schedule/").context["form"]
    data = {name: field.initial for name, field in form.fields.items() if field.initial not in (None, False)}
    data["month_6_day"] = 200
    page = client.post("/measure-schedule/", data, follow=True).content.decode()
    assert "In the outcome report it moves which score is the +6 months one" in page
    assert MeasureSettings.load().month_6_day == 200


def test_an_administrator_without_the_leads_role_changes_no_definition(django_user_model):
    # The schedule already refused a role-less superuser; the outcome definitions refuse it too.
    root = django_user_model.objects.create_superuser("root", "root@kapclinic.invalid", "x-long-enough-pass-1")
    for url, body in (
        ("/api/reports/outcome-settings/", {"suppression_threshold": 2}),
        ("/api/measure-settings/", {"month_3_day": 100}),
    ):
        assert api(root).patch(url, body, format="json").status_code == 403, url
    assert OutcomeSettings.load().suppression_threshold == 11


def test_the_clinic_settings_refuse_a_key_that_is_no_setting_too(lead):
    response = api(lead).patch("/api/settings/", {"bogus": 1}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["bogus"]


def test_a_row_saved_before_the_window_rule_does_not_block_a_harmless_save(lead):
    MeasureSettings.objects.filter(pk=MeasureSettings.load().pk).update(month_1_tolerance=20)  # overlaps
    response = api(lead).patch("/api/measure-settings/", {"reminder_after_days": 2}, format="json")
    assert response.status_code == 200, response.json()
    refused = api(lead).patch("/api/measure-settings/", {"month_1_day": 31}, format="json")
    assert refused.status_code == 400 and "month_1_day" in refused.json()["errors"]


def test_the_schedule_page_names_the_field_that_was_changed(client, lead, clock):
    client.force_login(lead)
    form = client.get("/measure-schedule/").context["form"]
    data = {name: field.initial for name, field in form.fields.items() if field.initial not in (None, False)}
    data["end_of_course_last_day"] = 23  # runs into the +1-month window (23 to 37)
    form = client.post("/measure-schedule/", data).context["form"]
    assert list(form.errors) == ["end_of_course_last_day"]
