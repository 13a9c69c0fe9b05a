"""GET /api/reports/outcomes/ and /api/reports/outcome-settings/: who may, filters, and the figures."""

import pytest
from rest_framework.test import APIClient

from courses.models import AuditEvent
from reports.cohort import ReportFilters
from reports.models import OutcomeSettings
from reports.outcomes import FOLLOW_UPS
from reports.report import build_practice_report
from tests.reports.api_support import build_cohort

URL = "/api/reports/outcomes/"
SETTINGS_URL = "/api/reports/outcome-settings/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def cohort(therapist, provider, clock):
    return build_cohort(therapist=therapist, provider=provider)


def rate(r) -> dict:
    return {"numerator": r.numerator, "denominator": r.denominator, "pct": r.pct, "ci_low": r.low, "ci_high": r.high}


def test_it_needs_a_sign_in(db):
    assert api().get(URL).status_code == 401


@pytest.mark.parametrize("who", ["therapist", "provider", "outsider"])
def test_only_a_practice_lead_reads_the_practice_report(request, who):
    response = api(request.getfixturevalue(who)).get(URL)
    assert response.status_code == 403
    assert set(response.json()) == {"detail", "errors"}


def test_the_figures_are_the_reports(cohort, lead):
    body = api(lead).get(URL).json()
    report = build_practice_report(ReportFilters())
    assert (body["n_courses"], body["n_patients_dosed"]) == (6, 6)
    for instrument, summary in report.summaries.items():
        got = body["instruments"][instrument]
        assert (got["n_eligible"], got["n_with_baseline"]) == (summary.n_eligible, summary.n_with_baseline)
        for name in ("response_itt", "response_oc", "partial_oc", "remission_itt", "remission_oc"):
            assert {k: v for k, v in got[name].items() if k != "suppressed"} == rate(getattr(summary, name))
            assert got[name]["suppressed"] is True  # six courses, threshold 11
        assert got["baseline"] == {
            "n": summary.baseline.n,
            "mean": summary.baseline.mean,
            "sd": summary.baseline.sd,
            "ci_low": summary.baseline.low,
            "ci_high": summary.baseline.high,
        }
        for name in FOLLOW_UPS:
            for view in ("all_itt", "all_oc", "responders_itt", "responders_oc"):
                assert got["durability"][name][view]["numerator"] == getattr(summary.durability[name], view).numerator
                split = summary.durability_by_maintenance[name]
                assert got["durability_by_maintenance"][name]["with_maintenance"][view]["denominator"] == (
                    getattr(split["with"], view).denominator
                )
            assert got["completion"][name]["denominator"] == summary.completion[name].denominator
            assert got["still_responding"][name]["numerator"] == summary.still_responding[name].numerator
        assert [s["at_risk"] for s in got["km"]] == [s.at_risk for s in summary.km]
    assert body["instruments"]["pcl5"]["meaningful_change_oc"]["denominator"] == 2
    assert body["instruments"]["phq9"]["meaningful_change_oc"] is None
    # Counted by hand (tests/reports/api_support.py): PHQ-9 responders 2 of the 3 eligible with an end score.
    assert body["instruments"]["phq9"]["response_oc"]["numerator"] == 2
    assert body["instruments"]["phq9"]["response_oc"]["denominator"] == 3


def test_it_echoes_the_filters_and_prints_the_definitions_in_force(cohort, lead, therapist):
    OutcomeSettings.objects.filter(pk=OutcomeSettings.load().pk).update(response_reduction_pct=40)
    body = api(lead).get(URL, {"indication": "ptsd", "start_from": "2025-01-01", "therapist": therapist.pk}).json()
    assert body["filters"] == {"indication": "ptsd", "start_from": "2025-01-01", "therapist": therapist.pk}
    assert ["Indication", "PTSD"] in [[f["name"], f["value"]] for f in body["filter_labels"]]
    assert body["n_courses"] == 2
    defs = body["definitions"]
    assert defs["response_reduction_pct"] == 40
    assert defs["suppression_threshold"] == 11
    assert defs["follow_ups"][2] == {"name": "month_6", "label": "+6 months", "day": 180, "tolerance": 30}
    assert defs["remission_below"] == {"phq9": 5, "gad7": 5, "pcl5": 33}
    assert len(body["literature"]) == 7
    # Every figure traceable: study, journal and where it was read; DOIs only where DOMAIN gives them.
    assert all(s["study"] and s["journal"] and s["source"] for s in body["literature"])
    assert {s["study"]: s["doi"] for s in body["literature"] if s["doi"]} == {
        "Yermus 2023": "10.1089/psymed.2023.0021",
        "Dore 2019": "10.1080/02791072.2019.1587556",
    }
    assert any("fewer than 25%" in s["result"] for s in body["literature"])


def test_equity_and_safety_are_there(cohort, lead):
    body = api(lead).get(URL).json()
    race = [r for r in body["equity"] if r["instrument"] == "phq9" and r["dimension"] == "race_ethnicity"]
    assert {r["group"]: r["n_courses"] for r in race} == {"white": 4, "black": 1, "asian": 1}
    assert all(r["response"]["suppressed"] for r in race)
    # Sustained at 6 months: intention-to-treat beside its observed-cases twin, counted the same way
    # as the whole-practice durability table.
    whole = body["instruments"]["phq9"]["durability"]["month_6"]
    everyone = [r for r in body["equity"] if r["instrument"] == "phq9" and r["dimension"] == "sex"]
    assert sum(r["sustained_6"]["denominator"] for r in everyone) == whole["all_itt"]["denominator"]
    assert sum(r["sustained_6_oc"]["denominator"] for r in everyone) == whole["all_oc"]["denominator"]
    assert sum(r["sustained_6_oc"]["numerator"] for r in everyone) == whole["all_oc"]["numerator"]
    # 6 doses × 5 courses + 2 for the discontinued one + 1 booster, each with its pre-dose vitals.
    assert body["safety"]["dosing_sessions"] == 33
    assert body["safety"]["events_total"] == 0
    assert [g["name"] for g in body["safety"]["by_grade"]] == ["1", "2", "3", "4", "5"]


def test_an_age_band_may_be_written_with_a_hyphen(cohort, lead):
    body = api(lead).get(URL, {"age_band": "45-64"}).json()
    assert body["filters"]["age_band"] == "45–64"
    assert body["n_courses"] == 1  # born 1960; those born 1980 and 1995 were 30–44 in April 2025


@pytest.mark.parametrize(
    "query, field",
    [
        ({"indication": "flu"}, "indication"),
        ({"route": "oral"}, "route"),
        ({"format": "pairs"}, "format"),
        ({"sex": "x"}, "sex"),
        ({"race_ethnicity": "martian"}, "race_ethnicity"),
        ({"age_band": "12-17"}, "age_band"),
        ({"start_from": "2025-13-01"}, "start_from"),
        ({"start_to": "yesterday"}, "start_to"),
        ({"start_from": "2025-06-01", "start_to": "2025-05-01"}, "start_to"),
        ({"start_from": "1850-01-01"}, "start_from"),
        ({"start_to": "9999-12-31"}, "start_to"),
        ({"therapist": "999999"}, "therapist"),
        ({"therapist": "abc"}, "therapist"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(lead, query, field):
    response = api(lead).get(URL, query)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_race_not_recorded_is_a_filter(therapist, provider, lead, clock):
    from tests.reports.api_support import Spec

    specs = [Spec(race_ethnicity="", scores={"phq9": {"baseline": 12}}), Spec(scores={"phq9": {"baseline": 12}})]
    build_cohort(therapist=therapist, provider=provider, specs=specs)
    assert api(lead).get(URL, {"race_ethnicity": "not_recorded"}).json()["n_courses"] == 1


def test_format_filters_the_courses_rather_than_choosing_a_renderer(cohort, lead):
    assert api(lead).get(URL, {"format": "individual"}).json()["n_courses"] == 6
    assert api(lead).get(URL, {"format": "group"}).json()["n_courses"] == 0


def test_a_therapist_filter_must_name_a_therapist(lead, provider):
    response = api(lead).get(URL, {"therapist": provider.pk})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["therapist"]


# --- outcome settings -------------------------------------------------------------------------


def test_any_staff_member_reads_the_definitions(therapist):
    body = api(therapist).get(SETTINGS_URL).json()
    assert body["response_reduction_pct"] == 50
    assert body["suppression_threshold"] == 11
    assert body["updated_by"] is None


def test_an_outsider_does_not(outsider):
    assert api(outsider).get(SETTINGS_URL).status_code == 403


@pytest.mark.parametrize("who", ["therapist", "provider"])
def test_only_a_lead_changes_the_definitions(request, who):
    response = api(request.getfixturevalue(who)).patch(SETTINGS_URL, {"suppression_threshold": 5}, format="json")
    assert response.status_code == 403
    assert OutcomeSettings.load().suppression_threshold == 11


def test_a_lead_changes_them_through_the_service_and_it_is_audited(lead, clock):
    response = api(lead).patch(SETTINGS_URL, {"suppression_threshold": 5, "phq9_eligible_from": 12}, format="json")
    assert response.status_code == 200
    assert (response.json()["suppression_threshold"], response.json()["updated_by"]) == (5, lead.pk)
    row = OutcomeSettings.load()
    assert (row.suppression_threshold, row.phq9_eligible_from, row.updated_by) == (5, 12, lead)
    event = AuditEvent.objects.get(record_type="outcome definitions")
    assert "suppression_threshold: 11 → 5" in event.detail


@pytest.mark.parametrize(
    "body, field",
    [
        ({"partial_reduction_pct": 60}, "partial_reduction_pct"),
        # Timing is the measure schedule's now: the old names are told where to go, not ignored.
        ({"end_first_day": 20}, "end_first_day"),
        ({"month_3_day": 200}, "month_3_day"),
        ({"pcl5_eligible_from": 31}, "pcl5_eligible_from"),
        ({"suppression_threshold": 0}, "suppression_threshold"),
        ({"suppression_threshold": "many"}, "suppression_threshold"),
    ],
)
def test_a_broken_rule_names_the_field(lead, body, field):
    response = api(lead).patch(SETTINGS_URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert OutcomeSettings.load().partial_reduction_pct == 25


def test_a_timing_definition_sent_here_says_where_it_lives(lead):
    response = api(lead).patch(SETTINGS_URL, {"month_3_day": 100}, format="json")
    assert response.status_code == 400
    assert "change `month_3_day` in the measure schedule" in response.json()["errors"]["month_3_day"][0]


@pytest.mark.parametrize("body", [{"pcl5_cutoff": 30}, {"month_1_Day": 45}, {"colour": "red"}])
def test_a_key_that_is_no_setting_here_is_a_400_not_ignored(lead, body):
    response = api(lead).patch(SETTINGS_URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(body)


def test_read_only_fields_are_ignored(lead, therapist):
    response = api(lead).patch(SETTINGS_URL, {"updated_by": therapist.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["updated_by"] == lead.pk


def test_the_json_carries_the_loinc_codes_of_each_instrument(cohort, lead):
    instruments = api(lead).get(URL).json()["instruments"]
    assert instruments["phq9"]["loinc"]["panel"] == "44249-1" and instruments["phq9"]["loinc"]["total"] == "44261-6"
    assert instruments["phq9"]["loinc"]["items"]["9"] == "44260-8"  # item 9, the safety item
    assert len(instruments["gad7"]["loinc"]["items"]) == 7
    # PCL-5 item codes are not verified (DOMAIN §5): none invented.
    assert instruments["pcl5"]["loinc"] == {"panel": "101697-1", "total": "101698-9", "items": {}}
