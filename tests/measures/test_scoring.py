"""Scoring as tables of cases: every band edge, item 9, the PCL-5 rules, bad and missing answers."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from measures import scoring
from measures.instruments import (
    GAD7,
    INSTRUMENTS,
    PCL5,
    PCL5_CLUSTERS,
    PHQ9,
    Instrument,
    definition,
)
from measures.scoring import AnswerError, score


def answers_summing_to(n_items: int, maximum: int, total: int, **fixed) -> dict[int, int]:
    """Answers whose sum is `total`, filling items from the first with the highest value."""
    answers = {}
    left = total - sum(fixed.values())
    for number in range(1, n_items + 1):
        if f"i{number}" in fixed:
            answers[number] = fixed[f"i{number}"]
            continue
        answers[number] = min(maximum, left)
        left -= answers[number]
    assert left == 0 and sum(answers.values()) == total
    return answers


def phq9(total, **fixed):
    # Keep item 9 at 0 unless a case sets it: a safety flag is not what a band test is about.
    return answers_summing_to(9, 3, total, **{"i9": 0, **fixed})


def gad7(total):
    return answers_summing_to(7, 3, total)


# --- the instruments as data ------------------------------------------------------------------


def test_item_counts_and_totals():
    assert [len(d.items) for d in (PHQ9, GAD7, PCL5)] == [9, 7, 20]
    assert [d.max_total for d in (PHQ9, GAD7, PCL5)] == [27, 21, 80]
    for d in INSTRUMENTS.values():
        assert [i.number for i in d.items] == list(range(1, len(d.items) + 1))
        assert all(i.text.strip() for i in d.items)


def test_loinc_codes_are_those_of_domain_section_5():
    assert (PHQ9.loinc_panel, PHQ9.loinc_total) == ("44249-1", "44261-6")
    assert (GAD7.loinc_panel, GAD7.loinc_total) == ("69737-5", "70274-6")
    assert (PCL5.loinc_panel, PCL5.loinc_total) == ("101697-1", "101698-9")
    assert [i.loinc for i in PHQ9.items] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    assert [i.loinc for i in GAD7.items] == [
        "69725-0",
        "68509-9",
        "69733-4",
        "69734-2",
        "69735-9",
        "69689-8",
        "69736-7",
    ]
    # Not verified here (DOMAIN §5): PCL-5 items carry their number only.
    assert all(i.loinc == "" for i in PCL5.items)


def test_answer_options():
    assert PHQ9.values == GAD7.values == (0, 1, 2, 3)
    assert [o.loinc for o in PHQ9.options] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
    assert [o.label for o in PHQ9.options] == labels
    assert PCL5.values == (0, 1, 2, 3, 4)
    assert [o.label for o in PCL5.options] == ["Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"]


def test_recall_windows_and_item_9_text():
    assert PHQ9.recall == GAD7.recall == "the last 2 weeks"
    assert PCL5.recall == "the past month"
    assert "better off dead" in PHQ9.items[8].text


def test_bands_cover_every_total_once():
    for d in (PHQ9, GAD7):
        covered = [t for b in d.bands for t in range(b.low, b.high + 1)]
        assert covered == list(range(d.max_total + 1))


def test_pcl5_clusters_partition_the_items():
    numbers = sorted(n for items, _ in PCL5_CLUSTERS.values() for n in items)
    assert numbers == list(range(1, 21))
    assert {k: (list(r), need) for k, (r, need) in PCL5_CLUSTERS.items()} == {
        "B": ([1, 2, 3, 4, 5], 1),
        "C": ([6, 7], 1),
        "D": ([8, 9, 10, 11, 12, 13, 14], 2),
        "E": ([15, 16, 17, 18, 19, 20], 2),
    }


def test_definition_looks_up_by_code():
    assert definition("phq9") is PHQ9
    with pytest.raises(KeyError):
        definition("bdi")


# --- band edges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total, band",
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Moderately severe"),
        (19, "Moderately severe"),
        (20, "Severe"),
        (24, "Severe"),
    ],
)
def test_phq9_band_edges(total, band):
    result = score(Instrument.PHQ9, phq9(total))
    assert (result.complete, result.total, result.band, result.missing_items) == (True, total, band, ())
    assert result.safety_item_positive is False and result.safety_item_value == 0


def test_phq9_maximum_is_severe_and_flags_item_9():
    result = score(Instrument.PHQ9, dict.fromkeys(range(1, 10), 3))
    assert (result.total, result.band, result.safety_item_positive, result.safety_item_value) == (27, "Severe", True, 3)


@pytest.mark.parametrize(
    "total, band",
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Severe"),
        (21, "Severe"),
    ],
)
def test_gad7_band_edges(total, band):
    result = score(Instrument.GAD7, gad7(total))
    assert (result.complete, result.total, result.band) == (True, total, band)
    assert result.safety_item_positive is False and result.safety_item_value is None


# --- PHQ-9 item 9 -----------------------------------------------------------------------------


@pytest.mark.parametrize("value, positive", [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item_9(value, positive):
    result = score(Instrument.PHQ9, {**dict.fromkeys(range(1, 9), 0), 9: value})
    assert (result.safety_item_positive, result.safety_item_value, result.total) == (positive, value, value)


def test_item_9_is_positive_even_when_another_item_is_missing():
    answers = {**dict.fromkeys(range(1, 9), 1), 9: 1}
    del answers[4]
    result = score(Instrument.PHQ9, answers)
    assert result.complete is False and result.total is None and result.band == ""
    assert result.missing_items == (4,)
    assert result.safety_item_positive is True and result.safety_item_value == 1


def test_item_9_missing_is_incomplete_and_not_positive():
    result = score(Instrument.PHQ9, dict.fromkeys(range(1, 9), 2))
    assert (result.complete, result.missing_items, result.safety_item_positive, result.safety_item_value) == (
        False,
        (9,),
        False,
        None,
    )


def test_item_9_of_gad7_is_no_safety_item():
    with pytest.raises(AnswerError) as caught:
        score(Instrument.GAD7, {9: 3})
    assert "9" in caught.value.errors


# --- PCL-5: cut-off and the DSM-5 symptom rule ------------------------------------------------


def pcl5(**items) -> dict[int, int]:
    answers = dict.fromkeys(range(1, 21), 0)
    for key, value in items.items():
        answers[int(key.removeprefix("i"))] = value
    return answers


# Exactly each cluster's minimum at 2: B one, C one, D two, E two (6 items × 2 = total 12).
RULE_MINIMUM = {"i1": 2, "i6": 2, "i8": 2, "i9": 2, "i15": 2, "i16": 2}


@pytest.mark.parametrize(
    "answers, total, cutoff, rule, clusters",
    [
        # 32/33 around the cut-off, with the symptom rule met.
        (pcl5(**RULE_MINIMUM, i2=4, i3=4, i4=4, i5=4, i10=4), 32, False, True, {"B": 18, "C": 2, "D": 8, "E": 4}),
        (pcl5(**RULE_MINIMUM, i2=4, i3=4, i4=4, i5=4, i10=4, i11=1), 33, True, True, {"B": 18, "C": 2, "D": 9, "E": 4}),
        # Each cluster's minimum exactly: the rule is met at a total far under the cut-off.
        (pcl5(**RULE_MINIMUM), 12, False, True, {"B": 2, "C": 2, "D": 4, "E": 4}),
        # Total >= 33 but C has no item at >= 2: the cut-off is met, the rule fails.
        (pcl5(**{f"i{n}": 4 for n in range(1, 6)}, **{f"i{n}": 4 for n in range(8, 11)}, i15=2, i16=2, i6=1, i7=1),
         38, True, False, {"B": 20, "C": 2, "D": 12, "E": 4}),
        # Total 80 with only ones in E: the rule fails on E alone.
        (pcl5(**{f"i{n}": 4 for n in range(1, 15)}, **{f"i{n}": 1 for n in range(15, 21)}),
         62, True, False, {"B": 20, "C": 8, "D": 28, "E": 6}),
        (pcl5(**{f"i{n}": 4 for n in range(1, 21)}), 80, True, True, {"B": 20, "C": 8, "D": 28, "E": 24}),
        (pcl5(), 0, False, False, {"B": 0, "C": 0, "D": 0, "E": 0}),
    ],
)  # fmt: skip
def test_pcl5_cutoff_and_symptom_rule(answers, total, cutoff, rule, clusters):
    result = score(Instrument.PCL5, answers)
    assert result.total == total
    assert result.provisional_ptsd_cutoff is cutoff
    assert result.provisional_ptsd_symptom_rule is rule
    assert result.clusters == clusters
    assert result.band == ("Above provisional PTSD cut-off" if cutoff else "Below provisional PTSD cut-off")
    assert result.safety_item_positive is False


@pytest.mark.parametrize(
    "cluster, drop",
    [
        ("B", {"i1": 1}),  # B needs one item at >= 2
        ("C", {"i6": 1}),  # C needs one
        ("D", {"i9": 1}),  # D needs two: one left
        ("E", {"i16": 1}),  # E needs two: one left
    ],
)
def test_pcl5_rule_fails_one_below_each_cluster_minimum(cluster, drop):
    answers = pcl5(**{**RULE_MINIMUM, **drop})
    # Raise the total over the cut-off with items at 1 everywhere else, which never count.
    for n in range(1, 21):
        if answers[n] == 0:
            answers[n] = 1
    result = score(Instrument.PCL5, answers)
    assert result.provisional_ptsd_symptom_rule is False, cluster
    assert scoring.pcl5_symptom_rule(pcl5(**RULE_MINIMUM)) is True


def test_pcl5_cutoff_is_a_parameter():
    answers = pcl5(**{f"i{n}": 2 for n in range(1, 17)})  # total 32
    assert score(Instrument.PCL5, answers).provisional_ptsd_cutoff is False
    assert score(Instrument.PCL5, answers, pcl5_cutoff=31).provisional_ptsd_cutoff is True


def test_pcl5_incomplete_has_no_cluster_results():
    answers = pcl5(**RULE_MINIMUM)
    del answers[20]
    result = score(Instrument.PCL5, answers)
    assert (result.complete, result.total, result.clusters, result.provisional_ptsd_symptom_rule) == (
        False,
        None,
        {},
        None,
    )


# --- bad and missing answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "instrument, item, value",
    [
        (Instrument.PHQ9, 3, 4),
        (Instrument.GAD7, 7, 4),
        (Instrument.PCL5, 12, 5),
        (Instrument.PHQ9, 1, -1),
        (Instrument.PHQ9, 2, "x"),
        (Instrument.PHQ9, 5, True),
        (Instrument.PHQ9, 9, False),
        (Instrument.GAD7, 1, 1.5),
        (Instrument.GAD7, 1, 2.0),
        (Instrument.PCL5, 1, [2]),
        (Instrument.PCL5, 1, "-1"),
    ],
)
def test_out_of_range_answers_name_the_item(instrument, item, value):
    answers = dict.fromkeys(range(1, len(INSTRUMENTS[instrument].items) + 1), 0)
    answers[item] = value
    with pytest.raises(AnswerError) as caught:
        score(instrument, answers)
    assert list(caught.value.errors) == [f"item_{item}"]
    assert str(item) in str(caught.value)


@pytest.mark.parametrize("key", [0, 10, "10", -1, "item_1", "x", None])
def test_unknown_item_numbers_are_refused(key):
    answers = {**dict.fromkeys(range(1, 10), 0), key: 1}
    with pytest.raises(AnswerError) as caught:
        score(Instrument.PHQ9, answers)
    assert list(caught.value.errors) == [str(key)]


def test_several_errors_are_reported_together():
    with pytest.raises(AnswerError) as caught:
        score(Instrument.GAD7, {1: 4, 2: "no", 8: 0})
    assert set(caught.value.errors) == {"item_1", "item_2", "8"}


def test_string_keys_and_values_are_accepted():
    result = score(Instrument.GAD7, {str(n): str(2) for n in range(1, 8)})
    assert (result.complete, result.total) == (True, 14)


@pytest.mark.parametrize(
    "answers, missing",
    [
        ({}, tuple(range(1, 8))),
        ({1: 1, 2: 1, 3: 1}, (4, 5, 6, 7)),
        ({**dict.fromkeys(range(1, 7), 2), 7: None}, (7,)),
        ({**dict.fromkeys(range(1, 7), 2), 7: ""}, (7,)),
    ],
)
def test_missing_answers_are_incomplete_and_not_scored(answers, missing):
    result = score(Instrument.GAD7, answers)
    assert result.complete is False
    assert result.total is None and result.band == ""
    assert result.missing_items == missing


def test_every_score_carries_the_scoring_version():
    assert score(Instrument.GAD7, gad7(3)).version == scoring.SCORING_VERSION
    assert score(Instrument.PCL5, pcl5()).version == scoring.SCORING_VERSION


# --- properties -------------------------------------------------------------------------------


def answers_for(code: str, *, allow_missing: bool):
    d = INSTRUMENTS[code]
    value = st.sampled_from(d.values)
    if allow_missing:
        value = st.one_of(value, st.none())
    return st.fixed_dictionaries({i.number: value for i in d.items})


@given(st.sampled_from(list(INSTRUMENTS)).flatmap(lambda c: st.tuples(st.just(c), answers_for(c, allow_missing=False))))
def test_total_is_the_sum_of_the_answers(case):
    code, answers = case
    result = score(code, answers)
    assert result.complete and result.total == sum(answers.values())
    if code == Instrument.PCL5:
        assert sum(result.clusters.values()) == result.total


@given(st.sampled_from(list(INSTRUMENTS)).flatmap(lambda c: st.tuples(st.just(c), answers_for(c, allow_missing=True))))
def test_complete_exactly_when_nothing_is_missing(case):
    code, answers = case
    result = score(code, answers)
    assert result.complete == all(v is not None for v in answers.values())
    assert result.missing_items == tuple(sorted(n for n, v in answers.items() if v is None))
    assert (result.total is None) == (not result.complete)


@given(st.sampled_from([Instrument.PHQ9, Instrument.GAD7]), st.data())
def test_band_is_monotone_in_the_total(code, data):
    d = INSTRUMENTS[code]
    order = [b.label for b in d.bands]
    low = data.draw(st.integers(0, d.max_total))
    high = data.draw(st.integers(low, d.max_total))
    band_low = score(code, answers_summing_to(len(d.items), 3, low)).band
    band_high = score(code, answers_summing_to(len(d.items), 3, high)).band
    assert order.index(band_low) <= order.index(band_high)


@given(answers_for(Instrument.PCL5, allow_missing=False), st.integers(0, 80))
def test_pcl5_cutoff_flag_follows_the_total(answers, cutoff):
    result = score(Instrument.PCL5, answers, pcl5_cutoff=cutoff)
    assert result.provisional_ptsd_cutoff == (result.total >= cutoff)


@given(answers_for(Instrument.PHQ9, allow_missing=True))
def test_item_9_flag_is_item_9_above_zero(answers):
    result = score(Instrument.PHQ9, answers)
    assert result.safety_item_positive == bool(answers[9])
