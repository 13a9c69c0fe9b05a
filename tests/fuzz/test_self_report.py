"""The patient's self-report page fed bad answers: never a 5xx, a message that names the
question, nothing stored, and the link still usable; after one good answer, the link is spent."""

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from measures.models import AdministrationStatus, Response
from tests.fuzz.support import parse_forms
from tests.measures.web_helpers import answers, link, open_administrations


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    # The limiter has its own tests; here every bad POST must reach the form.
    settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS = 0
    settings.SELF_REPORT_RATE_LIMIT_POSTS_PER_TOKEN = 0


@pytest.fixture
def phq9(course):
    return open_administrations(course)["phq9"]


def _client() -> Client:
    return Client(raise_request_exception=False)


def _assert_refused_and_link_still_works(client, url, response, administration, *, question=None):
    text = response.content.decode()
    assert response.status_code == 400, text[:300]
    assert 'role="alert"' in text
    if question is not None:
        assert f'href="#q-{question}"' in text and f'id="q-{question}-error"' in text
    assert not Response.objects.filter(administration=administration).exists()
    administration.refresh_from_db()
    assert administration.status == AdministrationStatus.OPEN
    assert client.get(url).status_code == 200


BAD_ANSWERS = [
    ("no answers at all", {}, 1),
    ("item 9 missing", answers(8, 1), 9),
    ("4 on a 0-3 item", answers(9, 1, item_3=4), 3),
    ("-1", answers(9, 1, item_2=-1), 2),
    ("letters", answers(9, 1, item_5="abc"), 5),
    ("10k chars", answers(9, 1, item_1="9" * 10_000), 1),
    ("NUL byte", answers(9, 1, item_4="1\x00"), 4),
    ("unicode digit", answers(9, 1, item_6="\u0663"), 6),  # ARABIC-INDIC DIGIT THREE: int() would take it
    ("fullwidth digit", answers(9, 1, item_7="\uff11"), 7),
    ("emoji", answers(9, 1, item_8="\U0001f600"), 8),
    ("1e309", answers(9, 1, item_1="1e309"), 1),
    ("float", answers(9, 1, item_1="1.0"), 1),
    ("spaces around", answers(9, 1, item_1=" 1 "), None),
]


@pytest.mark.parametrize(("case", "data", "question"), BAD_ANSWERS, ids=[c[0] for c in BAD_ANSWERS])
def test_a_bad_answer_is_refused_naming_the_question_and_the_link_stays_usable(phq9, case, data, question):
    client = _client()
    url = link(phq9)
    response = client.post(url, data)
    if case == "spaces around":
        # Django strips the spaces of a choice; " 1 " is a plain 1, not a bad answer.
        assert response.status_code in (200, 400)
        return
    _assert_refused_and_link_still_works(client, url, response, phq9, question=question)


def test_a_duplicated_key_keeps_the_last_value_and_a_bad_last_value_is_refused(phq9):
    client = _client()
    url = link(phq9)
    data = answers(9, 1)
    data["item_2"] = ["1", "7"]
    _assert_refused_and_link_still_works(client, url, client.post(url, data), phq9, question=2)
    data["item_2"] = ["7", "2"]
    assert client.post(url, data).status_code == 200
    assert Response.objects.get(administration=phq9).answers["2"] == 2


def test_unknown_items_are_ignored_not_stored(phq9):
    client = _client()
    data = {**answers(9, 0), "item_0": "3", "item_10": "3", "item_99": "3", "evil": "<script>alert(1)</script>"}
    response = client.post(link(phq9), data)
    assert response.status_code == 200
    assert set(Response.objects.get(administration=phq9).answers) == {str(n) for n in range(1, 10)}


def test_a_huge_body_is_a_400_not_a_500_and_saves_nothing(phq9):
    client = _client()
    url = link(phq9)
    # Past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) Django refuses to read the body at all.
    response = client.post(url, {**answers(9, 1), "padding": "p" * 3_000_000})
    assert response.status_code == 400
    assert not Response.objects.filter(administration=phq9).exists()
    assert client.get(url).status_code == 200


def test_too_many_fields_is_a_400_not_a_500(phq9):
    client = _client()
    url = link(phq9)
    response = client.post(url, {**answers(9, 1), **{f"x{n}": "1" for n in range(1500)}})
    assert response.status_code == 400
    assert not Response.objects.filter(administration=phq9).exists()


def test_a_good_answer_after_bad_ones_is_taken_once_and_then_the_link_is_spent(phq9):
    client = _client()
    url = link(phq9)
    for bad in (answers(9, 4), {}, answers(9, "x")):
        assert client.post(url, bad).status_code == 400
    assert client.post(url, answers(9, 1)).status_code == 200
    assert Response.objects.filter(administration=phq9).count() == 1
    again = client.post(url, answers(9, 3))
    assert again.status_code == 410 and "already" in again.content.decode().lower()
    assert Response.objects.get(administration=phq9).total == 9
    assert client.get(url).status_code == 410


def test_a_token_that_is_garbage_is_a_404_page(db):
    client = _client()
    for token in ("x", "a" * 5000, "%00", "..%2F..%2Fetc%2Fpasswd", "<script>alert(1)<\\script>", "\u202e"):
        response = client.post(f"/r/{token}/", answers(9, 1))
        assert response.status_code == 404, token
        assert "<script>alert(1)" not in response.content.decode()


ITEM_VALUE = st.one_of(
    st.sampled_from(["0", "1", "2", "3", "4", "-1", "", " ", "03", "1.5", "abc", "\x00", "\u0663", "3\n"]),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
ITEM_KEY = st.one_of(st.integers(min_value=-2, max_value=12).map(lambda n: f"item_{n}"), st.text(max_size=12))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(ITEM_KEY, ITEM_VALUE, max_size=14))
def test_any_body_is_answered_without_a_5xx_and_only_a_whole_valid_set_is_stored(phq9, body):
    client = _client()
    url = link(phq9)
    valid = all(body.get(f"item_{n}") in {"0", "1", "2", "3"} for n in range(1, 10))
    # Each example in a savepoint that is rolled back, so the next one meets the link unused.
    with transaction.atomic():
        response = client.post(url, body)
        assert response.status_code == (200 if valid else 400), (response.status_code, body)
        stored = list(Response.objects.filter(administration=phq9))
        if valid:
            assert [r.answers for r in stored] == [{str(n): int(body[f"item_{n}"]) for n in range(1, 10)}]
            assert client.get(url).status_code == 410
        else:
            assert stored == []
            assert client.get(url).status_code == 200
        transaction.set_rollback(True)


def test_a_refused_page_keeps_the_answers_already_ticked(phq9):
    response = _client().post(link(phq9), answers(9, 2, item_3=4))
    text = response.content.decode()
    assert response.status_code == 400 and "Your other answers are kept." in text
    (form,) = parse_forms(text, link(phq9), "patient")
    ticked = {name: f.values for name, f in form.fields.items()}
    assert ticked == {f"item_{n}": [] if n == 3 else ["2"] for n in range(1, 10)}
