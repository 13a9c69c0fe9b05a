"""Pure clinical rules of the course record (DOMAIN.md §2–4): no ORM, plain data in and out.

Services call these and turn their answers into stored rows or field errors, so each
rule has one home whichever interface (web, API, admin, task) asked.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from courses.choices import (
    CLEARED_DECISIONS,
    Drug,
    Route,
    ScreenDecision,
    VitalAlert,
    VitalPhase,
)

# Plausible input ranges (DOMAIN §3): outside these a reading is a typo, not a patient.
VITAL_RANGES: dict[str, tuple[int, int, str]] = {
    "systolic_bp": (50, 260, "mmHg"),
    "diastolic_bp": (30, 160, "mmHg"),
    "heart_rate": (25, 220, "/min"),
    "spo2": (50, 100, "%"),
    "respiratory_rate": (4, 60, "/min"),
}
VITAL_LABELS = {
    "systolic_bp": "Systolic BP",
    "diastolic_bp": "Diastolic BP",
    "heart_rate": "Heart rate",
    "spo2": "SpO2",
    "respiratory_rate": "Respiratory rate",
}
WEIGHT_RANGE_KG = (Decimal("20"), Decimal("400"))
# Any date the clinic records. A year like 562 is a typing slip, and before 1883 the clinic's zone
# has a local-mean-time offset in seconds (-04:56:02) that RFC 3339 output cannot express.
RECORD_YEARS = (1900, 2099)
RECORD_YEARS_MESSAGE = f"Enter a date between the years {RECORD_YEARS[0]} and {RECORD_YEARS[1]}."
DOSE_RANGE_MG = (Decimal("0.1"), Decimal("1000"))
# The most free text one field holds: about 3,000 words for a clinical note, a few paragraphs for
# a reason given for an act. A paste of a whole document is refused, naming the field and limit.
TEXT_MAX = 20_000
REASON_MAX = 2_000


@dataclass(frozen=True)
class ScreenItem:
    field: str
    label: str
    absolute: bool


# Contraindication screen (DOMAIN §2). Absolute items block clearance; cautions need a note.
SCREEN_ITEMS: tuple[ScreenItem, ...] = (
    ScreenItem("ci_psychosis_or_mania", "Primary psychotic disorder, current psychosis or mania", True),
    ScreenItem("ci_pregnancy", "Pregnancy", True),
    ScreenItem(
        "ci_aneurysmal_vascular_disease",
        "Aneurysmal vascular disease (thoracic, abdominal aortic, intracranial, peripheral) or AVM",
        True,
    ),
    ScreenItem("ci_intracerebral_haemorrhage", "History of intracerebral haemorrhage", True),
    ScreenItem("ci_ketamine_hypersensitivity", "Hypersensitivity to ketamine or esketamine", True),
    ScreenItem("caution_uncontrolled_hypertension", "Uncontrolled hypertension", False),
    ScreenItem("caution_raised_icp_or_iop", "Raised intracranial or intraocular pressure", False),
    ScreenItem("caution_cardio_cerebrovascular", "Cardiovascular or cerebrovascular disease", False),
    ScreenItem("caution_substance_use_history", "History of substance use disorder", False),
    ScreenItem("caution_breastfeeding", "Breastfeeding", False),
    ScreenItem(
        "caution_recent_suicidality",
        "Recent suicide attempt or active suicidal intent (needs the psychiatric risk plan)",
        False,
    ),
    ScreenItem("caution_interacting_medications", "Concomitant benzodiazepines, stimulants or MAOIs", False),
)
ABSOLUTE_ITEMS = tuple(i.field for i in SCREEN_ITEMS if i.absolute)
CAUTION_ITEMS = tuple(i.field for i in SCREEN_ITEMS if not i.absolute)


def record_year_errors(values: dict[str, date | None]) -> dict[str, str]:
    """Dates outside the years a clinical record can hold, by field."""
    low, high = RECORD_YEARS
    return {
        name: RECORD_YEARS_MESSAGE
        for name, value in values.items()
        if getattr(value, "year", None) is not None and not low <= value.year <= high
    }


def screen_decision_errors(answers: dict[str, bool], decision: str, caution_note: str) -> dict[str, str]:
    """Field errors for a screen decision that the answers do not allow; empty when allowed."""
    absolute = [i.label for i in SCREEN_ITEMS if i.absolute and answers.get(i.field)]
    cautions = [i.label for i in SCREEN_ITEMS if not i.absolute and answers.get(i.field)]
    errors: dict[str, str] = {}
    if absolute and decision in CLEARED_DECISIONS:
        errors["decision"] = (
            "A screen with an absolute contraindication cannot be cleared "
            f"({'; '.join(absolute)}). Record the decision as 'not cleared'."
        )
    elif cautions and decision == ScreenDecision.CLEARED:
        errors["decision"] = (
            f"The screen records cautions ({'; '.join(cautions)}): choose "
            "'cleared with cautions' and document them in the caution note."
        )
    if decision == ScreenDecision.CLEARED_WITH_CAUTIONS and not caution_note.strip():
        errors["caution_note"] = "'Cleared with cautions' needs a caution note saying how each caution is managed."
    return errors


@dataclass(frozen=True)
class RouteMaximum:
    value: Decimal
    unit: str  # "mg/kg" or "mg"


def mg_per_kg(dose_mg: Decimal, weight_kg: Decimal) -> Decimal:
    """Dose per kilogram, rounded to 3 places as stored."""
    return (Decimal(dose_mg) / Decimal(weight_kg)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def dose_exceeds_maximum(dose_mg: Decimal, weight_kg: Decimal, maximum: RouteMaximum | None) -> bool:
    if maximum is None:
        return False
    # Compared unrounded: 400.1 mg at 400 kg is above 1.0 mg/kg even though it stores as 1.000.
    amount = Decimal(dose_mg) / Decimal(weight_kg) if maximum.unit == "mg/kg" else Decimal(dose_mg)
    return amount > maximum.value


def drug_route_error(drug: str, route: str) -> str | None:
    # Esketamine is licensed only as a nasal spray; any other route is a data-entry error.
    if drug == Drug.ESKETAMINE and route != Route.INTRANASAL:
        return "Esketamine is given intranasally only; choose route 'Intranasal' or drug 'Racemic ketamine'."
    return None


def vital_range_errors(reading: dict[str, int | None]) -> dict[str, str]:
    """Field errors for values outside the plausible ranges, naming the range."""
    errors = {}
    for field, (low, high, unit) in VITAL_RANGES.items():
        value = reading.get(field)
        if value is not None and not low <= value <= high:
            errors[field] = (
                f"{VITAL_LABELS[field]} {value} {unit} is outside the plausible range "
                f"{low}–{high} {unit}. Check the reading and enter it again."
            )
    if (
        reading.get("systolic_bp") is not None
        and reading.get("diastolic_bp") is not None
        and reading["diastolic_bp"] >= reading["systolic_bp"]
    ):
        errors["diastolic_bp"] = "Diastolic BP must be lower than systolic BP."
    return errors


@dataclass(frozen=True)
class VitalThresholds:
    hold_systolic: int
    hold_diastolic: int
    alert_systolic: int
    alert_diastolic: int
    alert_heart_rate: int
    alert_spo2_below: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def vital_alerts(reading: dict[str, int | None], phase: str, t: VitalThresholds) -> list[str]:
    """Alert codes a reading raises: the pre-dose hold, and the intra-session alerts."""
    sbp, dbp = reading.get("systolic_bp"), reading.get("diastolic_bp")
    hr, spo2 = reading.get("heart_rate"), reading.get("spo2")
    alerts = []
    if phase == VitalPhase.PRE_DOSE and (
        (sbp is not None and sbp > t.hold_systolic) or (dbp is not None and dbp > t.hold_diastolic)
    ):
        alerts.append(VitalAlert.PRE_DOSE_HOLD.value)
    if (sbp is not None and sbp > t.alert_systolic) or (dbp is not None and dbp > t.alert_diastolic):
        alerts.append(VitalAlert.HIGH_BP.value)
    if hr is not None and hr > t.alert_heart_rate:
        alerts.append(VitalAlert.HIGH_HR.value)
    if spo2 is not None and spo2 < t.alert_spo2_below:
        alerts.append(VitalAlert.LOW_SPO2.value)
    return alerts


def minimum_monitoring_minutes(drug: str, route: str, esketamine_minutes: int, other_minutes: int) -> int:
    # SPRAVATO REMS: 2 h after intranasal esketamine; the clinic's default elsewhere.
    if drug == Drug.ESKETAMINE and route == Route.INTRANASAL:
        return esketamine_minutes
    return other_minutes


GROUP_SIZE = (4, 12)


def group_size_error(session_format: str, participants: int) -> str | None:
    """Why a session cannot start with this many participants; None when it can."""
    low, high = GROUP_SIZE
    if session_format == "group" and not low <= participants <= high:
        return f"A group dosing session needs {low}–{high} participants; it has {participants}."
    if session_format == "individual" and participants != 1:
        return f"An individual dosing session has exactly one participant; it has {participants}."
    return None


def intervals_overlap(a_start, a_end, b_start, b_end) -> bool:
    """Half-open intervals: a session ending at 11:00 does not overlap one starting at 11:00."""
    return a_start < b_end and b_start < a_end


def text_length_error(text: str, limit: int) -> str | None:
    """The message for free text longer than its field holds, or None."""
    if len(text) > limit:
        return f"Keep this to {limit:,} characters or fewer; it has {len(text):,}."
    return None
