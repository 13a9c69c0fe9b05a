"""The practice outcome report page: for the practice lead only, filtered, every % with its n."""

import pytest
from django.urls import reverse

from tests.reports.db_builders import Cast
from tests.reports.web_support import small_cohort, text_of

URL = reverse("outcome-report")


@pytest.fixture
def cast(therapist, provider, clock):
    return Cast(therapist=therapist, provider=provider)


@pytest.fixture
def cohort(cast):
    return small_cohort(cast)


def test_the_lead_reads_the_report_with_the_n_behind_every_percentage(client, lead, cohort):
    client.force_login(lead)
    response = client.get(URL)
    assert response.status_code == 200
    text = text_of(response.content)
    assert "3 courses selected, 3 with a dose given" in text
    # PHQ-9 response at the end of the course: 2 of 3 eligible courses.
    assert "Response (≥ 50% reduction) 2/3, 66.7% (95% CI 20.8–93.9) 2/3, 66.7% (95% CI 20.8–93.9)" in text
    assert "Eligible (baseline ≥ 10) 3" in text
    assert "Baseline, mean ± SD 18.0 ± 2.0 (n = 3)" in text
    for heading in ("Equity: the headline figures by group", "Safety", "Published figures for comparison"):
        assert heading in text
    assert "Definitions differ." in text and "Feder 2025" in text
    page = response.content.decode()
    assert page.count('role="img"') >= 3 and "<title" in page and "<desc" in page
    assert "Cohort-Demo" not in page and "RPT-0001" not in page  # no patient is named


def test_on_screen_every_equity_cell_is_shown_with_a_mark_where_exports_hide_it(client, lead, cohort):
    client.force_login(lead)
    text = text_of(client.get(URL).content)
    assert "On screen every cell is shown." in text
    assert "suppressed" not in text.split("Equity: the headline figures by group")[1].split("Safety")[0].replace(
        "Hidden in exports", ""
    )
    assert "†" in text


@pytest.mark.parametrize("who", ["therapist", "provider"])
def test_clinicians_are_refused_with_a_reason(client, who, request):
    client.force_login(request.getfixturevalue(who))
    response = client.get(URL)
    assert response.status_code == 403
    assert "This page is for the practice lead." in response.content.decode()


def test_a_filter_narrows_the_cohort(client, lead, cohort):
    client.force_login(lead)
    text = text_of(client.get(URL, {"indication": "ptsd"}).content)
    assert "2 courses selected" in text
    assert "Response (≥ 50% reduction) 1/2, 50.0% (95% CI 9.5–90.5)" in text
    assert "Indication PTSD" in text


def test_the_therapist_filter_lists_therapists(client, lead, therapist, other_therapist, cohort):
    client.force_login(lead)
    text = text_of(client.get(URL, {"therapist": other_therapist.pk}).content)
    assert "0 courses selected" in text
    assert str(therapist) in text and str(other_therapist) in text


def test_dates_out_of_order_are_refused_next_to_the_field(client, lead, cohort):
    client.force_login(lead)
    response = client.get(URL, {"start_from": "2025-07-01", "start_to": "2025-06-01"})
    assert response.status_code == 400
    page = response.content.decode()
    field = page.split('for="id_start_to"')[1].split("</div>")[0]
    assert "before the “on or after” date" in field
    assert "courses selected" not in page


def test_a_malformed_date_is_a_400_not_a_500(client, lead):
    client.force_login(lead)
    response = client.get(URL, {"start_from": "2025-13-45"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_the_report_stays_at_a_bounded_number_of_queries(client, lead, cast, cohort, django_assert_max_num_queries):
    client.force_login(lead)
    with django_assert_max_num_queries(40) as few:
        client.get(URL)
    count = len(few.captured_queries)
    small_cohort(cast)
    with django_assert_max_num_queries(count):
        client.get(URL)
