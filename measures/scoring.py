"""Questionnaire scoring as pure functions: answers in, a score out. No ORM.

A questionnaire with any item unanswered is incomplete and not scored (DOMAIN §5: no
authoritative proration rule); an answer outside the instrument's options is an error.
"""

from dataclasses import dataclass, field

from measures.instruments import (
    INSTRUMENTS,
    PCL5_CLUSTERS,
    PCL5_PROVISIONAL_CUTOFF,
    PCL5_SYMPTOM_THRESHOLD,
    PHQ9_SAFETY_ITEM,
    Instrument,
    InstrumentDefinition,
)

# Bump when any rule below changes; every stored score records the version that made it.
SCORING_VERSION = "1.0"


class AnswerError(ValueError):
    """Answers that are not a valid questionnaire: item numbers or values out of range."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class Score:
    instrument: str
    complete: bool
    missing_items: tuple[int, ...]
    total: int | None = None
    band: str = ""
    safety_item_positive: bool = False
    safety_item_value: int | None = None
    clusters: dict[str, int] = field(default_factory=dict)
    provisional_ptsd_cutoff: bool | None = None
    provisional_ptsd_symptom_rule: bool | None = None
    version: str = SCORING_VERSION


def normalise_answers(instrument: str, answers: dict) -> dict[int, int | None]:
    """Item number → value (or None), checked against the instrument; keys may be '1' or 1."""
    definition = INSTRUMENTS[instrument]
    numbers = {item.number for item in definition.items}
    allowed = definition.values
    errors: dict[str, str] = {}
    clean: dict[int, int | None] = dict.fromkeys(sorted(numbers))
    for key, value in answers.items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            errors[str(key)] = "is not an item number"
            continue
        if number not in numbers:
            errors[str(key)] = f"{definition.name} has items 1–{len(numbers)}"
            continue
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            errors[f"item_{number}"] = f"answer must be one of {', '.join(map(str, allowed))}"
            continue
        try:
            value = int(value)
        except ValueError:
            errors[f"item_{number}"] = f"answer must be one of {', '.join(map(str, allowed))}"
            continue
        if value not in allowed:
            errors[f"item_{number}"] = (
                f"answer {value} is outside {min(allowed)}–{max(allowed)} for {definition.name} item {number}"
            )
            continue
        clean[number] = value
    if errors:
        raise AnswerError(errors)
    return clean


def band_for(definition: InstrumentDefinition, total: int) -> str:
    for band in definition.bands:
        if band.low <= total <= band.high:
            return band.label
    return ""


def pcl5_clusters(answers: dict[int, int]) -> dict[str, int]:
    return {name: sum(answers[i] for i in items) for name, (items, _needed) in PCL5_CLUSTERS.items()}


def pcl5_symptom_rule(answers: dict[int, int]) -> bool:
    """DSM-5 provisional diagnosis: an item counts at >= 2; B >= 1, C >= 1, D >= 2, E >= 2."""
    return all(
        sum(1 for i in items if answers[i] >= PCL5_SYMPTOM_THRESHOLD) >= needed
        for items, needed in PCL5_CLUSTERS.values()
    )


def score(instrument: str, answers: dict, *, pcl5_cutoff: int = PCL5_PROVISIONAL_CUTOFF) -> Score:
    """Score one questionnaire. Raises AnswerError for invalid answers."""
    definition = INSTRUMENTS[instrument]
    clean = normalise_answers(instrument, answers)
    missing = tuple(n for n, v in clean.items() if v is None)
    safety_value = clean.get(PHQ9_SAFETY_ITEM) if instrument == Instrument.PHQ9 else None
    # Item 9 is a safety signal whether or not the questionnaire is complete.
    safety_positive = bool(safety_value)
    if missing:
        return Score(instrument, False, missing, safety_item_positive=safety_positive, safety_item_value=safety_value)
    total = sum(clean.values())
    result = Score(
        instrument,
        True,
        (),
        total=total,
        band=band_for(definition, total),
        safety_item_positive=safety_positive,
        safety_item_value=safety_value,
    )
    if instrument == Instrument.PCL5:
        result = Score(
            instrument,
            True,
            (),
            total=total,
            band="Above provisional PTSD cut-off" if total >= pcl5_cutoff else "Below provisional PTSD cut-off",
            clusters=pcl5_clusters(clean),
            provisional_ptsd_cutoff=total >= pcl5_cutoff,
            provisional_ptsd_symptom_rule=pcl5_symptom_rule(clean),
        )
    return result
