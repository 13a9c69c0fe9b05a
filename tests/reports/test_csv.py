"""The analysts' CSV: one de-identified row per course × instrument that agrees with the report."""

import csv
import io
import re

import pytest

from reports import services
from reports.cohort import ReportFilters
from reports.csv_export import COLUMNS, DESCRIBING, INSIDE_ONLY, neutralise, render_practice_csv, values_to_hide
from reports.models import Audience
from reports.outcomes import FOLLOW_UPS
from reports.report import build_practice_report
from tests.reports.api_support import build_cohort


@pytest.fixture
def cohort(therapist, provider, clock):
    return build_cohort(therapist=therapist, provider=provider)


def parse(content: bytes) -> list[dict]:
    """The rows under the file's first line (which names its audience) and its header."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    return list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))


def flag(value) -> str:
    return "" if value is None else ("TRUE" if value else "FALSE")


def test_it_is_utf8_with_a_bom_and_one_row_per_course_and_instrument(cohort):
    report = build_practice_report(ReportFilters())
    content = render_practice_csv(report)
    assert content.startswith(b"\xef\xbb\xbf")
    first_line = content.decode("utf-8-sig").splitlines()[0]
    assert first_line.startswith("To share outside the clinic: de-identified")
    rows = parse(content)
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 6 * 3
    # Outside, a course's key is drawn afresh for each file, so two shared files cannot be joined.
    outside_keys = {r["course_key"] for r in rows}
    assert len(outside_keys) == 6 and not outside_keys & {row.key for row, _o in report.rows}
    assert not outside_keys & {r["course_key"] for r in parse(render_practice_csv(report))}
    inside = render_practice_csv(report, Audience.INSIDE).decode("utf-8-sig")
    assert inside.splitlines()[0].startswith("Inside the clinic: exact figures and dates. Not to leave the clinic.")
    assert list(parse(inside)[0]) == [*COLUMNS, *INSIDE_ONLY]
    assert {(r["course_key"], r["instrument"]) for r in parse(inside)} == {
        (row.key, i) for row, _o in report.rows for i in ("phq9", "gad7", "pcl5")
    }


def test_it_holds_no_identifiers(cohort, lead):
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    text = render_practice_csv(build_practice_report(ReportFilters())).decode("utf-8-sig")
    for course in cohort:
        patient = course.patient
        for secret in (patient.mrn, patient.given_name, patient.family_name, str(patient.pk), str(course.pk)):
            assert secret not in text
        assert patient.date_of_birth.isoformat() not in text
    # Safe Harbor: no element of a date but the year; a score carries the days since the first dose.
    assert not re.search(r"\d{4}-\d{2}", text)
    assert {r["course_start_year"] for r in parse(text)} == {"2025"}
    assert all(r["baseline_day"] for r in parse(text) if r["baseline_score"])


def test_a_row_is_what_the_outcome_functions_say(cohort, lead):
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    report = build_practice_report(ReportFilters())
    by_key = {(r["course_key"], r["instrument"]): r for r in parse(render_practice_csv(report, Audience.INSIDE))}
    for row, outcomes in report.rows:
        for instrument, o in outcomes.items():
            got = by_key[(row.key, instrument)]
            assert got["indication"] == row.indication
            assert got["route"] == row.route == "iv"
            assert got["sex"] == row.sex
            assert got["race_ethnicity"] == row.race_ethnicity
            assert got["age_band"] == row.age_band
            assert got["course_start_date"] == row.start_day.isoformat()
            assert got["course_start_year"] == str(row.start_day.year)
            assert got["first_dose_date"] == row.first_dose_day.isoformat()
            assert got["status"] == row.status
            assert got["maintenance_doses"] == str(len(row.maintenance_days))
            assert got["eligible"] == flag(o.eligible)
            assert got["baseline_score"] == (str(o.baseline.total) if o.baseline else "")
            assert got["end_score"] == (str(o.end.total) if o.end else "")
            points = {"baseline": o.baseline, "end": o.end, **o.follow_ups}
            for name, point in points.items():
                assert got[f"{name}_date"] == (point.day.isoformat() if point else "")
                assert got[f"{name}_day"] == (str((point.day - row.first_dose_day).days) if point else "")
            for name in FOLLOW_UPS:
                point = o.follow_ups[name]
                assert got[f"{name}_score"] == (str(point.total) if point else "")
                assert got[f"response_{name}"] == flag(o.response_at[name])
                assert got[f"maintenance_before_{name}"] == flag(o.maintenance_before[name])
            expected_pct = "" if o.reduction_pct_end is None else str(round(o.reduction_pct_end, 1))
            assert got["reduction_pct_end"] == expected_pct
            assert got["response_end"] == flag(o.response_end)
            assert got["partial_response_end"] == flag(o.partial_end)
            assert got["remission_end"] == flag(o.remission_end)
            assert got["pcl5_meaningful_change_end"] == flag(o.meaningful_change_end)
            assert got["sustained_month_3"] == flag(o.sustained["month_3"])
            assert got["sustained_month_6"] == flag(o.sustained["month_6"])


def test_the_hand_built_responder_reads_as_expected(cohort, lead):
    # Course 0: PTSD, PHQ-9 20 → 8 (60%), 9 and 9 at +1/+3 months, 14 at +6 (lost), a booster at day 60.
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    report = build_practice_report(ReportFilters(indication="ptsd"))
    rows = [r for r in parse(render_practice_csv(report)) if r["instrument"] == "phq9" and r["baseline_score"] == "20"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["end_score"], row["reduction_pct_end"], row["response_end"], row["remission_end"]) == (
        "8",
        "60.0",
        "TRUE",
        "FALSE",
    )
    assert (row["month_1_score"], row["month_3_score"], row["month_6_score"]) == ("9", "9", "14")
    assert (row["sustained_month_3"], row["sustained_month_6"]) == ("TRUE", "FALSE")
    assert (row["maintenance_doses"], row["maintenance_before_month_1"], row["maintenance_before_month_3"]) == (
        "1",
        "FALSE",
        "TRUE",
    )
    assert row["pcl5_meaningful_change_end"] == ""
    pcl5 = next(
        r for r in parse(render_practice_csv(report)) if r["instrument"] == "pcl5" and r["baseline_score"] == "50"
    )
    assert (pcl5["end_score"], pcl5["pcl5_meaningful_change_end"], pcl5["remission_end"]) == ("30", "TRUE", "TRUE")


def test_counting_the_rows_gives_the_reports_figures(cohort):
    report = build_practice_report(ReportFilters())
    rows = parse(render_practice_csv(report))
    for instrument, summary in report.summaries.items():
        mine = [r for r in rows if r["instrument"] == instrument]
        eligible = [r for r in mine if r["eligible"] == "TRUE"]
        observed = [r for r in eligible if r["end_score"]]
        assert len(eligible) == summary.n_eligible
        assert len(observed) == summary.response_oc.denominator
        assert sum(r["response_end"] == "TRUE" for r in observed) == summary.response_oc.numerator
        assert sum(r["remission_end"] == "TRUE" for r in observed) == summary.remission_oc.numerator
        assert sum(r["partial_response_end"] == "TRUE" for r in observed) == summary.partial_oc.numerator
        for name in FOLLOW_UPS:
            both = [r for r in observed if r[f"{name}_score"]]
            assert len(both) == summary.durability[name].all_oc.denominator
            responders = [r for r in both if r["response_end"] == "TRUE"]
            still = sum(r[f"response_{name}"] == "TRUE" for r in responders)
            assert (still, len(responders)) == (
                summary.still_responding[name].numerator,
                summary.still_responding[name].denominator,
            )
        for name in ("month_3", "month_6"):
            both = [r for r in observed if r[f"{name}_score"]]
            assert sum(r[f"sustained_{name}"] == "TRUE" for r in both) == summary.durability[name].all_oc.numerator
        baseline = [int(r["baseline_score"]) for r in eligible]
        assert sum(baseline) / len(baseline) == pytest.approx(summary.baseline.mean)
    # Counted by hand: of the three eligible PHQ-9 courses with an end score, courses 0 and 1 responded.
    assert (report.summaries["phq9"].response_oc.numerator, report.summaries["phq9"].response_oc.denominator) == (2, 3)


def test_a_rare_race_is_suppressed_and_common_values_are_kept(cohort, lead):
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 2})
    report = build_practice_report(ReportFilters())
    rows = parse(render_practice_csv(report))
    races = {r["race_ethnicity"] for r in rows}
    # Four White courses, one Black and one Asian: the two single ones are hidden.
    assert races == {"white", "suppressed (<2)"}
    assert {r["sex"] for r in rows} == {"female", "male"}
    assert "asian" not in render_practice_csv(report).decode("utf-8-sig")


def test_at_the_default_threshold_every_describing_value_of_a_small_cohort_is_suppressed(cohort):
    report = build_practice_report(ReportFilters())
    rows = parse(render_practice_csv(report))
    for column in ("sex", "race_ethnicity", "age_band", "indication", "route", "format", "course_start_year"):
        assert {r[column] for r in rows} == {"suppressed (<11)"}, column
    # Inside the clinic nothing is hidden.
    inside = parse(render_practice_csv(report, Audience.INSIDE))
    assert {r["indication"] for r in inside} == {"ptsd", "mdd_trd", "anxiety"}


@pytest.mark.parametrize(
    "values, threshold, hidden",
    [
        (["a"] * 12 + ["b"] * 12, 11, set()),
        (["a"] * 12 + ["b"] * 3, 11, {"a", "b"}),  # b alone would be the total less a: a goes too
        (["a"] * 12 + ["b"] * 13 + ["c"] * 2, 11, {"a", "c"}),  # the smaller of the others
        (["a"] * 12 + ["b"] * 2 + ["c"] * 3, 11, {"a", "b", "c"}),  # 2 + 3 is still a small cell
        (["a"] * 12 + ["b"] * 5 + ["c"] * 6, 11, {"b", "c"}),  # two hidden, 11 together: enough
        (["a"] * 5, 11, {"a"}),
        (["a"] * 5 + ["b"], 1, set()),
        (["a"] * 5 + ["b"], 0, set()),
    ],
)
def test_which_describing_values_are_hidden(values, threshold, hidden):
    described = [dict.fromkeys(DESCRIBING, "same") | {"sex": v} for v in values]
    hide = values_to_hide(described, threshold)
    assert hide["sex"] == hidden


@pytest.mark.parametrize(
    "value, written",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("mdd_trd", "mdd_trd"),
        ("a=b", "a=b"),
        ("", ""),
        (-12.5, -12.5),
        (-3, -3),
        (0, 0),
    ],
)
def test_neutralise(value, written):
    assert neutralise(value) == written


def test_a_formula_in_a_text_field_reaches_the_file_defused_and_numbers_stay_numbers(cohort, lead):
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    report = build_practice_report(ReportFilters())
    # Course fields are coded today; a free-text one arriving later must not carry a formula through.
    report.rows[0][0].indication = "=cmd|' /C calc'!A0"
    rows = parse(render_practice_csv(report, Audience.INSIDE))
    assert {r["indication"] for r in rows if r["course_key"] == report.rows[0][0].key} == {"'=cmd|' /C calc'!A0"}


def test_a_worse_score_is_a_negative_number_not_a_quoted_text(therapist, provider, lead, clock):
    from tests.reports.api_support import Spec

    build_cohort(
        therapist=therapist,
        provider=provider,
        specs=[Spec(scores={"phq9": {"baseline": 16, "end": 20}, "gad7": {"baseline": 12}, "pcl5": {"baseline": 3}})],
    )
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    rows = parse(render_practice_csv(build_practice_report(ReportFilters())))
    phq9 = next(r for r in rows if r["instrument"] == "phq9")
    assert (phq9["reduction_pct_end"], phq9["response_end"]) == ("-25.0", "FALSE")


def test_each_row_names_the_loinc_code_of_its_scores(cohort):
    # DOMAIN §5: PHQ-9 total 44261-6, GAD-7 total 70274-6, PCL-5 total 101698-9.
    rows = parse(render_practice_csv(build_practice_report(ReportFilters())))
    assert {r["instrument"]: r["loinc_total"] for r in rows} == {
        "phq9": "44261-6",
        "gad7": "70274-6",
        "pcl5": "101698-9",
    }


def test_the_practices_hidden_values_are_hidden_in_every_shared_file(cohort, lead):
    # A value the whole practice's files hide stays hidden in a narrower file where it is common,
    # so joining two shared files never names it. Inside the clinic nothing is hidden.
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    report = build_practice_report(ReportFilters())
    assert "female" in {r["sex"] for r in parse(render_practice_csv(report))}
    practice_hide = {"sex": {"female"}}
    shared = parse(render_practice_csv(report, practice_hide=practice_hide))
    assert "female" not in {r["sex"] for r in shared} and "suppressed (<1)" in {r["sex"] for r in shared}
    inside = parse(render_practice_csv(report, Audience.INSIDE, practice_hide=practice_hide))
    assert "female" in {r["sex"] for r in inside}


# --- the lists the PDF summarises, complete -----------------------------------------------------


def _add_serious_events(courses, count: int) -> None:
    import datetime as dt

    from courses import services as course_services
    from courses.models import Dose

    doses = Dose.objects.filter(course__in=courses, dosed_at__isnull=False).select_related("session__medical_provider")
    for i, dose in enumerate(doses.order_by("dosed_at")[:count]):
        course_services.adverse_event_add(
            dose=dose,
            by=dose.session.medical_provider,
            term=("nausea", "headache")[i % 2],
            grade=3,
            serious=True,
            serious_criteria=["hospitalisation", "life_threatening"][: 1 + i % 2],
            relatedness="possible",
            expectedness="expected",
            onset_at=dose.dosed_at + dt.timedelta(minutes=15),
            now=dose.dosed_at + dt.timedelta(minutes=30),
        )


def test_the_lists_csv_holds_every_serious_event_and_every_kaplan_meier_step(cohort):
    from reports.csv_export import LISTS_COLUMNS, render_practice_lists_csv
    from reports.presentation import SERIOUS_LISTED

    _add_serious_events(cohort, SERIOUS_LISTED + 4)
    report = build_practice_report(ReportFilters())
    content = render_practice_lists_csv(report)
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8-sig").splitlines()[0].startswith("Inside the clinic: the serious adverse events")
    rows = parse(content)
    assert list(rows[0]) == list(LISTS_COLUMNS)

    serious = [r for r in rows if r["list"] == "serious_event"]
    assert len(serious) == len(report.safety["serious"]) == SERIOUS_LISTED + 4  # more than the PDF lists
    for got, event in zip(serious, report.safety["serious"], strict=True):  # the oldest first, as the report
        assert got["onset_month"] == event["onset"].strftime("%Y-%m")
        assert got["event"] == event["term"] and got["grade"] == "3"
        assert got["acknowledged_by_lead"] == flag(event["acknowledged"])
        assert got["day"] == got["at_risk"] == ""  # the Kaplan–Meier columns are blank on an event's row
    assert {r["seriousness_criteria"] for r in serious} == {
        "Hospitalisation or its prolongation",
        "Hospitalisation or its prolongation; Life-threatening",
    }
    assert {r["event"] for r in serious} == {"Nausea", "Headache"}

    steps = [r for r in rows if r["list"] == "km_step"]
    assert steps, "the cohort has end-of-course responders, so a curve"
    for instrument, summary in report.summaries.items():
        got = [r for r in steps if r["instrument"] == instrument]
        assert [
            (
                int(r["day"]),
                int(r["at_risk"]),
                int(r["lost_response"]),
                int(r["censored"]),
                float(r["still_responding_pct"]),
            )
            for r in got
        ] == [(s.time, s.at_risk, s.events, s.censored, round(100 * s.survival, 3)) for s in summary.km]
        assert all(r["event"] == r["onset_month"] == "" for r in got)
