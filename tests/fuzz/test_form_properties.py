"""Random input on the bedside forms, where numbers and free text arrive in a hurry: whatever is
typed, the answer is a saved record (302) or a refusal (400) that stores nothing."""

from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courses.models import AdverseEvent, VitalReading
from courses.web.forms.dosing import VITAL_FIELDS

NUMBERISH = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
    st.sampled_from(["", " 120 ", "１２０", "120.0", "0x78", "1_20", "+120", "120\x00"]),
)
WHEN = st.one_of(
    st.dates().map(lambda d: f"{d.isoformat()}T10:00"),
    st.text(max_size=20),
    st.sampled_from(["2026-03-10T14:45", "2026-03-10 14:45", "2026-03-10T14:45:00+14:00", ""]),
)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _post_rolled_back(client, url, data):
    with transaction.atomic():
        response = client.post(url, data)
        counts = (VitalReading.objects.count(), AdverseEvent.objects.count())
        transaction.set_rollback(True)
    return response, counts


@PROPERTY
@given(values=st.fixed_dictionaries(dict.fromkeys(VITAL_FIELDS, NUMBERISH)), taken_at=WHEN)
def test_any_vitals_typed_at_the_bedside_are_saved_or_refused_never_a_500(dose, provider, values, taken_at):
    client = Client(raise_request_exception=False)
    client.force_login(provider)
    before = (VitalReading.objects.count(), AdverseEvent.objects.count())
    data = {"phase": "pre_dose", "taken_at": taken_at, **values}
    response, after = _post_rolled_back(client, reverse("dose-vitals", args=[dose.pk]), data)
    assert response.status_code in (302, 400), (response.status_code, data)
    if response.status_code == 400:
        assert after == before
        assert 'class="errorlist' in response.content.decode() or "alert-error" in response.content.decode()


@PROPERTY
@given(
    description=st.text(max_size=300),
    term_other=st.text(max_size=250),
    grade=NUMBERISH,
    onset_at=WHEN,
    resolved_at=WHEN,
)
def test_any_adverse_event_typed_at_the_bedside_is_saved_or_refused_never_a_500(
    given_dose, provider, description, term_other, grade, onset_at, resolved_at
):
    client = Client(raise_request_exception=False)
    client.force_login(provider)
    before = (VitalReading.objects.count(), AdverseEvent.objects.count())
    data = {
        "term": "other",
        "term_other": term_other,
        "grade": grade,
        "relatedness": "possible",
        "expectedness": "expected",
        "action_taken": "none",
        "outcome": "ongoing",
        "onset_at": onset_at,
        "resolved_at": resolved_at,
        "description": description,
    }
    response, after = _post_rolled_back(client, reverse("dose-adverse-event", args=[given_dose.pk]), data)
    assert response.status_code in (302, 400), (response.status_code, data)
    if response.status_code == 400:
        assert after == before
