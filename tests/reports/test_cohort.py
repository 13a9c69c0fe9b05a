"""Loading a report's cohort from the database: three queries whatever its size, every filter,
and the same end of the acute series as the measure schedule."""

import datetime as dt

import pytest
from django.utils import timezone

from courses.choices import CourseStatus, Indication, RaceEthnicity, SessionFormat, Sex
from measures.schedule import acute_series_end
from measures.services import course_facts
from reports.cohort import ReportFilters, age_band, course_key, load_cohort
from tests.reports.db_builders import Cast, Plan, build_course


def cohort(filters: ReportFilters):
    """The report's own call: counted as of today, with the clinic's default stall limit."""
    return load_cohort(filters, as_of=timezone.localdate(), stall_after_days=28)


@pytest.mark.parametrize(
    "born, on, band",
    [
        (dt.date(2000, 3, 10), dt.date(2018, 3, 10), "18–29"),  # 18th birthday
        (dt.date(2000, 3, 11), dt.date(2018, 3, 10), "under 18"),  # the day before
        (dt.date(1996, 3, 10), dt.date(2026, 3, 9), "18–29"),  # 29, turning 30 tomorrow
        (dt.date(1996, 3, 10), dt.date(2026, 3, 10), "30–44"),
        (dt.date(1981, 6, 1), dt.date(2026, 5, 31), "30–44"),
        (dt.date(1981, 6, 1), dt.date(2026, 6, 1), "45–64"),
        (dt.date(1961, 1, 1), dt.date(2025, 12, 31), "45–64"),
        (dt.date(1961, 1, 1), dt.date(2026, 1, 1), "65+"),
        (dt.date(1925, 1, 1), dt.date(2026, 1, 1), "65+"),
    ],
)
def test_age_band_at_course_start(born, on, band):
    assert age_band(born, on) == band


def test_course_key_is_stable_and_does_not_show_the_id(settings):
    key = course_key(42)
    assert key == course_key(42)
    assert key.startswith("K-") and len(key) == 14
    assert key != course_key(43)
    settings.SECRET_KEY = "another-secret-for-the-key-test-0123456789"
    assert course_key(42) != key


def small(opened_on: dt.date, **kwargs) -> Plan:
    """One dose on day 7 (of one planned), a baseline on day 5 and an end-of-course score on day 10."""
    values = {"dose_days": (7,), "scores": {5: {"phq9": 18}, 10: {"phq9": 8}}}
    values.update(kwargs)
    return Plan(opened_on=opened_on, **values)


@pytest.fixture
def cast(therapist, provider, clock):
    return Cast(therapist=therapist, provider=provider)


@pytest.mark.parametrize("size", [2, 12])
def test_load_cohort_runs_three_queries_whatever_the_size(cast, django_assert_num_queries, size):
    for n in range(size):
        build_course(cast, small(dt.date(2025, 10, 1) + dt.timedelta(days=n), maintenance_days=(40,)))
    with django_assert_num_queries(3):
        rows = cohort(ReportFilters())
    assert len(rows) == size
    assert all(len(r.series["phq9"].scores) == 2 and r.maintenance_days for r in rows)


@pytest.fixture
def mixed(cast, other_therapist):
    """Four courses that differ in every dimension a report filters on."""
    courses = {
        "ptsd_iv": build_course(
            cast,
            small(
                dt.date(2025, 6, 2),
                indication=Indication.PTSD,
                sex=Sex.FEMALE,
                race_ethnicity=RaceEthnicity.WHITE,
                date_of_birth=dt.date(1990, 1, 1),
            ),
        ),
        "mdd_im": build_course(
            cast,
            small(
                dt.date(2025, 9, 1),
                indication=Indication.MDD_TRD,
                route="im",
                therapist=other_therapist,
                sex=Sex.MALE,
                race_ethnicity=RaceEthnicity.BLACK,
                date_of_birth=dt.date(1950, 1, 1),
            ),
        ),
        # No dose yet: group dosing waits for the group to fill.
        "anxiety_group": build_course(
            cast,
            small(
                dt.date(2025, 11, 20),
                indication=Indication.ANXIETY,
                format=SessionFormat.GROUP,
                dose_days=(),
                scores={},
                sex=Sex.INTERSEX,
                date_of_birth=dt.date(1970, 1, 1),
            ),
        ),
        "ptsd_sublingual": build_course(
            cast,
            small(
                dt.date(2026, 1, 10),
                indication=Indication.PTSD,
                route="sublingual",
                sex=Sex.FEMALE,
                race_ethnicity=RaceEthnicity.HISPANIC_LATINO,
                date_of_birth=dt.date(2000, 1, 1),
            ),
        ),
    }
    return courses


def loaded(**filters) -> set:
    return {row.course_id for row in cohort(ReportFilters(**filters))}


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, {"ptsd_iv", "mdd_im", "anxiety_group", "ptsd_sublingual"}),
        ({"indication": Indication.PTSD}, {"ptsd_iv", "ptsd_sublingual"}),
        ({"format": SessionFormat.GROUP}, {"anxiety_group"}),
        ({"format": SessionFormat.INDIVIDUAL}, {"ptsd_iv", "mdd_im", "ptsd_sublingual"}),
        ({"route": "im"}, {"mdd_im"}),
        ({"route": "iv"}, {"ptsd_iv"}),
        ({"sex": Sex.MALE}, {"mdd_im"}),
        ({"sex": Sex.FEMALE}, {"ptsd_iv", "ptsd_sublingual"}),
        ({"race_ethnicity": RaceEthnicity.HISPANIC_LATINO}, {"ptsd_sublingual"}),
        ({"race_ethnicity": "not_recorded"}, {"anxiety_group"}),
        ({"age_band": "65+"}, {"mdd_im"}),
        ({"age_band": "18–29"}, {"ptsd_sublingual"}),
        ({"age_band": "30–44"}, {"ptsd_iv"}),
        ({"age_band": "45–64"}, {"anxiety_group"}),
        ({"start_from": dt.date(2025, 9, 1)}, {"mdd_im", "anxiety_group", "ptsd_sublingual"}),
        ({"start_to": dt.date(2025, 9, 1)}, {"ptsd_iv", "mdd_im"}),
        ({"start_from": dt.date(2025, 9, 2), "start_to": dt.date(2026, 1, 9)}, {"anxiety_group"}),
        ({"indication": Indication.PTSD, "age_band": "30–44", "route": "iv"}, {"ptsd_iv"}),
        ({"indication": Indication.OCD}, set()),
    ],
)
def test_each_filter_narrows_the_cohort(mixed, filters, expected):
    assert loaded(**filters) == {mixed[name].pk for name in expected}


def test_therapist_filter(mixed, therapist, other_therapist):
    assert loaded(therapist_id=other_therapist.pk) == {mixed["mdd_im"].pk}
    assert loaded(therapist_id=therapist.pk) == {mixed[k].pk for k in ("ptsd_iv", "anxiety_group", "ptsd_sublingual")}


def test_not_recorded_race_and_no_dose_route(mixed):
    rows = {row.course_id: row for row in cohort(ReportFilters())}
    group = rows[mixed["anxiety_group"].pk]
    assert group.race_ethnicity == "not_recorded"
    assert (group.route, group.first_dose_at, group.end_day, group.doses_given) == ("", None, None, 0)


def test_the_start_date_range_is_in_the_clinics_days(cast):
    # 23:30 in New York on 1 September is 03:30 UTC on 2 September.
    late = build_course(cast, small(dt.date(2025, 9, 1), opened_hour=23))
    early = build_course(cast, small(dt.date(2025, 9, 2), opened_hour=0))
    assert loaded(start_to=dt.date(2025, 9, 1)) == {late.pk}
    assert loaded(start_from=dt.date(2025, 9, 2)) == {early.pk}
    assert loaded(start_from=dt.date(2025, 9, 1), start_to=dt.date(2025, 9, 1)) == {late.pk}


def test_ordered_rows_carry_doses_scores_and_the_end_of_the_acute_series(cast):
    plans = {
        "complete": Plan(
            opened_on=dt.date(2025, 6, 2),
            dose_days=(7, 10, 14),
            maintenance_days=(60, 120),
            scores={5: {"phq9": 20, "gad7": 14}, 17: {"phq9": 9}, 44: {"phq9": 10}},
        ),
        "still_dosing": Plan(
            opened_on=dt.date(2026, 2, 20), dose_days=(5, 8), planned=4, scores={3: {"phq9": 15}}, move_on=False
        ),
        "stopped_early": Plan(opened_on=dt.date(2025, 8, 1), dose_days=(7, 9), planned=6, discontinue_on=12),
        "moved_on_early": Plan(opened_on=dt.date(2025, 7, 1), dose_days=(7, 9, 11), planned=6),
    }
    courses = {name: build_course(cast, plan) for name, plan in plans.items()}
    rows = {row.course_id: row for row in cohort(ReportFilters())}
    for name, course in courses.items():
        row = rows[course.pk]
        course.refresh_from_db()
        assert row.end_day == acute_series_end(course_facts(course)), name
        assert row.series["phq9"].end_day == row.end_day
    opened = plans["complete"].day
    complete = rows[courses["complete"].pk]
    assert complete.end_day == opened(14)
    assert complete.maintenance_days == (opened(60), opened(120))
    assert complete.doses_given == 5
    assert complete.series["phq9"].first_dose_day == opened(7)
    assert [p.total for p in complete.series["phq9"].scores] == [20, 9, 10]
    assert [p.day for p in complete.series["phq9"].scores] == [opened(5), opened(17), opened(44)]
    assert [p.total for p in complete.series["gad7"].scores] == [14]
    assert complete.series["pcl5"].scores == ()
    assert rows[courses["still_dosing"].pk].end_day is None
    stopped = rows[courses["stopped_early"].pk]
    assert stopped.discontinued and stopped.series["phq9"].discontinued
    assert stopped.status == CourseStatus.DISCONTINUED
    assert rows[courses["moved_on_early"].pk].end_day == plans["moved_on_early"].day(11)
