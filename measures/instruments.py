"""The three instruments as data (DOMAIN.md §5): verbatim items, answer options, LOINC codes.

PHQ-9, GAD-7 and PCL-5 are in the public domain. Item text is shipped verbatim; PCL-5 item
LOINC codes were not verified here (DOMAIN §5), so PCL-5 items carry their number only.
"""

from dataclasses import dataclass

from django.db import models


class Instrument(models.TextChoices):
    PHQ9 = "phq9", "PHQ-9"
    GAD7 = "gad7", "GAD-7"
    PCL5 = "pcl5", "PCL-5"


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    loinc: str = ""


@dataclass(frozen=True)
class Item:
    number: int
    text: str
    loinc: str = ""


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    label: str


@dataclass(frozen=True)
class InstrumentDefinition:
    code: str
    name: str
    title: str
    stem: str
    recall: str
    items: tuple[Item, ...]
    options: tuple[Option, ...]
    loinc_panel: str
    loinc_total: str
    bands: tuple[Band, ...]

    @property
    def loinc_codes(self) -> dict:
        """The LOINC codes DOMAIN §5 gives (panel, total score, items by number where known), for exports."""
        return {
            "panel": self.loinc_panel,
            "total": self.loinc_total,
            "items": {str(i.number): i.loinc for i in self.items if i.loinc},
        }

    @property
    def max_total(self) -> int:
        return len(self.items) * max(o.value for o in self.options)

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(o.value for o in self.options)


FREQUENCY_OPTIONS = (
    Option(0, "Not at all", "LA6568-5"),
    Option(1, "Several days", "LA6569-3"),
    Option(2, "More than half the days", "LA6570-1"),
    Option(3, "Nearly every day", "LA6571-9"),
)

PHQ9 = InstrumentDefinition(
    code=Instrument.PHQ9,
    name="PHQ-9",
    title="Patient Health Questionnaire (PHQ-9)",
    stem="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    recall="the last 2 weeks",
    items=(
        Item(1, "Little interest or pleasure in doing things", "44250-9"),
        Item(2, "Feeling down, depressed, or hopeless", "44255-8"),
        Item(3, "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
        Item(4, "Feeling tired or having little energy", "44254-1"),
        Item(5, "Poor appetite or overeating", "44251-7"),
        Item(
            6,
            "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or your family down",
            "44258-2",
        ),
        Item(7, "Trouble concentrating on things, such as reading the newspaper or watching television", "44252-5"),
        Item(
            8,
            "Moving or speaking so slowly that other people could have noticed? Or the opposite \u2014 being so "
            "fidgety or restless that you have been moving around a lot more than usual",
            "44253-3",
        ),
        Item(9, "Thoughts that you would be better off dead or of hurting yourself in some way", "44260-8"),
    ),
    options=FREQUENCY_OPTIONS,
    loinc_panel="44249-1",
    loinc_total="44261-6",
    bands=(
        Band(0, 4, "Minimal"),
        Band(5, 9, "Mild"),
        Band(10, 14, "Moderate"),
        Band(15, 19, "Moderately severe"),
        Band(20, 27, "Severe"),
    ),
)

GAD7 = InstrumentDefinition(
    code=Instrument.GAD7,
    name="GAD-7",
    title="Generalized Anxiety Disorder scale (GAD-7)",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    recall="the last 2 weeks",
    items=(
        Item(1, "Feeling nervous, anxious, or on edge", "69725-0"),
        Item(2, "Not being able to stop or control worrying", "68509-9"),
        Item(3, "Worrying too much about different things", "69733-4"),
        Item(4, "Trouble relaxing", "69734-2"),
        Item(5, "Being so restless that it is hard to sit still", "69735-9"),
        Item(6, "Becoming easily annoyed or irritable", "69689-8"),
        Item(7, "Feeling afraid, as if something awful might happen", "69736-7"),
    ),
    options=FREQUENCY_OPTIONS,
    loinc_panel="69737-5",
    loinc_total="70274-6",
    bands=(
        Band(0, 4, "Minimal"),
        Band(5, 9, "Mild"),
        Band(10, 14, "Moderate"),
        Band(15, 21, "Severe"),
    ),
)

PCL5 = InstrumentDefinition(
    code=Instrument.PCL5,
    name="PCL-5",
    title="PTSD Checklist for DSM-5 (PCL-5)",
    stem=(
        "Below is a list of problems that people sometimes have in response to a very stressful experience. "
        "Please read each problem carefully and then select one of the numbers to the right to indicate how "
        "much you have been bothered by that problem in the past month. In the past month, how much were you "
        "bothered by:"
    ),
    recall="the past month",
    items=(
        Item(1, "Repeated, disturbing, and unwanted memories of the stressful experience?"),
        Item(2, "Repeated, disturbing dreams of the stressful experience?"),
        Item(
            3,
            "Suddenly feeling or acting as if the stressful experience were actually happening again (as if you "
            "were actually back there reliving it)?",
        ),
        Item(4, "Feeling very upset when something reminded you of the stressful experience?"),
        Item(
            5,
            "Having strong physical reactions when something reminded you of the stressful experience (for "
            "example, heart pounding, trouble breathing, sweating)?",
        ),
        Item(6, "Avoiding memories, thoughts, or feelings related to the stressful experience?"),
        Item(
            7,
            "Avoiding external reminders of the stressful experience (for example, people, places, conversations, "
            "activities, objects, or situations)?",
        ),
        Item(8, "Trouble remembering important parts of the stressful experience?"),
        Item(
            9,
            "Having strong negative beliefs about yourself, other people, or the world (for example, having "
            "thoughts such as: I am bad, there is something seriously wrong with me, no one can be trusted, the "
            "world is completely dangerous)?",
        ),
        Item(10, "Blaming yourself or someone else for the stressful experience or what happened after it?"),
        Item(11, "Having strong negative feelings such as fear, horror, anger, guilt, or shame?"),
        Item(12, "Loss of interest in activities that you used to enjoy?"),
        Item(13, "Feeling distant or cut off from other people?"),
        Item(
            14,
            "Trouble experiencing positive feelings (for example, being unable to feel happiness or have loving "
            "feelings for people close to you)?",
        ),
        Item(15, "Irritable behavior, angry outbursts, or acting aggressively?"),
        Item(16, "Taking too many risks or doing things that could cause you harm?"),
        Item(17, 'Being "superalert" or watchful or on guard?'),
        Item(18, "Feeling jumpy or easily startled?"),
        Item(19, "Having difficulty concentrating?"),
        Item(20, "Trouble falling or staying asleep?"),
    ),
    options=(
        Option(0, "Not at all"),
        Option(1, "A little bit"),
        Option(2, "Moderately"),
        Option(3, "Quite a bit"),
        Option(4, "Extremely"),
    ),
    loinc_panel="101697-1",
    loinc_total="101698-9",
    # No official severity bands (DOMAIN §5): only the provisional-PTSD cut-off, a clinic setting.
    bands=(),
)

INSTRUMENTS: dict[str, InstrumentDefinition] = {d.code: d for d in (PHQ9, GAD7, PCL5)}

# DSM-5 symptom clusters of the PCL-5 (item numbers) and the items each needs at >= 2.
PCL5_CLUSTERS: dict[str, tuple[range, int]] = {
    "B": (range(1, 6), 1),
    "C": (range(6, 8), 1),
    "D": (range(8, 15), 2),
    "E": (range(15, 21), 2),
}
PCL5_SYMPTOM_THRESHOLD = 2
PCL5_PROVISIONAL_CUTOFF = 33  # default; a clinic setting (31-33 in the literature)
PHQ9_SAFETY_ITEM = 9


def definition(code: str) -> InstrumentDefinition:
    return INSTRUMENTS[code]
