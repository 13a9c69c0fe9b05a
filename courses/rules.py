"""Pure clinical rules of the course record (DOMAIN.md §2–4): no ORM, plain data in and out.

Services call these and turn their answers into stored rows or field errors, so each
rule has one home whichever interface (web, API, admin, task) asked.
"""

import unicodedata
from dataclasses import dataclass
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
# A full set (DOMAIN §3; the SPRAVATO REMS form): what a pre-dose or pre-discharge reading must hold.
# Respiratory rate is asked for but not required.
FULL_SET = ("systolic_bp", "diastolic_bp", "heart_rate", "spo2")
WEIGHT_RANGE_KG = (Decimal("20"), Decimal("400"))
DOSE_RANGE_MG = (Decimal("0.1"), Decimal("1000"))


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


# What a screen item holds (choices.ScreenAnswer); blank is "not answered yet".
YES, NO, UNKNOWN = "yes", "no", "unknown"
UNANSWERED_MESSAGE = "Answer this item on purpose: yes, no or unknown."
CHILDBEARING_FIELD = "childbearing_potential"
CHILDBEARING_LABEL = "Childbearing potential (a pregnancy test is recorded before each dose)"
# Every item answered "no" and no childbearing potential: the screen of a patient with nothing found,
# as the demo practice and the test builders record it (each still answered, never defaulted).
SCREEN_NOTHING_FOUND = {**dict.fromkeys(ABSOLUTE_ITEMS + CAUTION_ITEMS, NO), CHILDBEARING_FIELD: NO}


@dataclass(frozen=True)
class HoldThresholds:
    systolic: int
    diastolic: int

    def exceeded_by(self, systolic: int | None, diastolic: int | None) -> bool:
        return (systolic is not None and systolic > self.systolic) or (
            diastolic is not None and diastolic > self.diastolic
        )


def screen_decision_errors(
    answers: dict[str, str],
    decision: str,
    caution_note: str,
    *,
    childbearing_potential: str = "",
    baseline_bp: tuple[int | None, int | None] = (None, None),
    hold: HoldThresholds | None = None,
) -> dict[str, str]:
    """Field errors for a screen decision that the answers do not allow; empty when allowed.

    A decision other than "pending" needs every item answered; nothing "unknown" can be cleared;
    an absolute contraindication cannot be cleared; a caution needs "cleared with cautions" and a
    note; a baseline blood pressure above the pre-dose hold needs the hypertension caution.
    """
    errors: dict[str, str] = {}
    if decision and decision != ScreenDecision.PENDING:
        for item in SCREEN_ITEMS:
            if answers.get(item.field) not in (YES, NO, UNKNOWN):
                errors[item.field] = UNANSWERED_MESSAGE
        if childbearing_potential not in (YES, NO, UNKNOWN):
            errors[CHILDBEARING_FIELD] = UNANSWERED_MESSAGE
    if answers.get("ci_pregnancy") == YES and childbearing_potential == NO:
        errors[CHILDBEARING_FIELD] = "Pregnancy is answered yes: childbearing potential cannot be 'no'."
    absolute = [i.label for i in SCREEN_ITEMS if i.absolute and answers.get(i.field) == YES]
    cautions = [i.label for i in SCREEN_ITEMS if not i.absolute and answers.get(i.field) == YES]
    if decision in CLEARED_DECISIONS:
        for item in SCREEN_ITEMS:
            if answers.get(item.field) == UNKNOWN:
                errors[item.field] = (
                    "'Unknown' cannot be cleared: find out and answer yes or no, or record the decision "
                    "as 'not cleared' for now."
                )
        sbp, dbp = baseline_bp
        if hold is not None and hold.exceeded_by(sbp, dbp) and answers.get("caution_uncontrolled_hypertension") != YES:
            errors["caution_uncontrolled_hypertension"] = (
                f"The baseline blood pressure {sbp or '–'}/{dbp or '–'} is above the clinic's pre-dose hold "
                f"({hold.systolic}/{hold.diastolic}): answer 'Uncontrolled hypertension' yes and say in the caution "
                "note how it is managed, or do not clear the screen."
            )
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
    """Above a limit in its unit (the route maximum, or the absolute ceiling)."""
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
    # Readings stored before this threshold existed carry no value for it: the default applies.
    alert_respiratory_rate_below: int = 10

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    @property
    def hold(self) -> HoldThresholds:
        return HoldThresholds(self.hold_systolic, self.hold_diastolic)


def vital_alerts(reading: dict[str, int | None], phase: str, t: VitalThresholds) -> list[str]:
    """Alert codes a reading raises: the pre-dose hold, and the intra-session alerts."""
    sbp, dbp = reading.get("systolic_bp"), reading.get("diastolic_bp")
    hr, spo2 = reading.get("heart_rate"), reading.get("spo2")
    alerts = []
    if phase == VitalPhase.PRE_DOSE and t.hold.exceeded_by(sbp, dbp):
        alerts.append(VitalAlert.PRE_DOSE_HOLD.value)
    if (sbp is not None and sbp > t.alert_systolic) or (dbp is not None and dbp > t.alert_diastolic):
        alerts.append(VitalAlert.HIGH_BP.value)
    if hr is not None and hr > t.alert_heart_rate:
        alerts.append(VitalAlert.HIGH_HR.value)
    if spo2 is not None and spo2 < t.alert_spo2_below:
        alerts.append(VitalAlert.LOW_SPO2.value)
    rr = reading.get("respiratory_rate")
    if rr is not None and rr < t.alert_respiratory_rate_below:
        alerts.append(VitalAlert.LOW_RR.value)
    return alerts


# The values a recheck must measure again to answer an alert of each kind.
ALERT_FIELDS = {
    VitalAlert.HIGH_BP: ("systolic_bp", "diastolic_bp"),
    VitalAlert.HIGH_HR: ("heart_rate",),
    VitalAlert.LOW_SPO2: ("spo2",),
    VitalAlert.LOW_RR: ("respiratory_rate",),
}


def recheck_fields(alerts) -> list[str]:
    """The fields a reading must hold to count as a recheck of these alerts."""
    return [f for a in alerts for f in ALERT_FIELDS.get(a, ())]


def in_session_alerts(alerts) -> list[str]:
    """The alert codes that open an in-session alert: every one but the pre-dose hold, which has
    its own way out (an override or a normal recheck)."""
    return [a for a in alerts if a != VitalAlert.PRE_DOSE_HOLD]


# The label's minimum after intranasal esketamine (SPRAVATO REMS: 2 hours); the clinic cannot set less.
ESKETAMINE_MONITORING_FLOOR_MINUTES = 120
# Other routes: the monitoring must at least cover the ~40-minute blood-pressure peak reading.
OTHER_MONITORING_FLOOR_MINUTES = 40


def minimum_monitoring_minutes(drug: str, route: str, esketamine_minutes: int, other_minutes: int) -> int:
    # SPRAVATO REMS: 2 h after intranasal esketamine; the clinic's default elsewhere.
    if drug == Drug.ESKETAMINE and route == Route.INTRANASAL:
        return esketamine_minutes
    return other_minutes


GROUP_SIZE = (4, 12)


def group_size_error(session_format: str, doses: int) -> str | None:
    """Why a session cannot start with this many doses; None when it can."""
    low, high = GROUP_SIZE
    if session_format == "group" and not low <= doses <= high:
        return f"A group dosing session needs {low}–{high} participants; it has {doses}."
    if session_format == "individual" and doses != 1:
        return f"An individual dosing session has exactly one participant; it has {doses}."
    return None


def intervals_overlap(a_start, a_end, b_start, b_end) -> bool:
    """Half-open intervals: a session ending at 11:00 does not overlap one starting at 11:00."""
    return a_start < b_end and b_start < a_end


MRN_TAKEN = "Another patient already has this MRN (MRNs are compared regardless of case)."


def mrn_character_error(mrn: str) -> str | None:
    """An MRN is typed as it is printed on the chart: a look-alike (fullwidth ＤＥＭＯ, a
    non-breaking hyphen) would make a second chart that reads the same as the first."""
    plain = unicodedata.normalize("NFKC", mrn)
    if plain != mrn:
        return f"Type the MRN in plain characters, as {plain!r}: it holds look-alike characters that print the same."
    return None


# The highest route maximum and ceiling a clinic may set. Generous beyond any KAP protocol (DOMAIN
# §2: IV 0.5 mg/kg, IM 0.5–0.75 mg/kg, sublingual up to 450 mg, esketamine 84 mg; the IV ceiling
# stays below anaesthetic induction at 4.5 mg/kg), so they stop a typing slip, not a protocol.
SETTINGS_DOSE_BOUNDS = {
    "max_iv_mg_per_kg": Decimal("2.00"),
    "max_im_mg_per_kg": Decimal("2.00"),
    "max_intranasal_mg": Decimal("200"),
    "max_sublingual_mg": Decimal("1000"),
    "ceiling_iv_mg_per_kg": Decimal("4.00"),
    "ceiling_im_mg_per_kg": Decimal("4.00"),
    "ceiling_intranasal_mg": Decimal("400"),
    "ceiling_sublingual_mg": Decimal("2000"),
}


# A weight more than this far from one recorded within WEIGHT_JUMP_DAYS is taken for a typing
# slip and refused (the earlier one is voided first if it was the wrong one).
WEIGHT_JUMP_FRACTION = Decimal("0.10")
WEIGHT_JUMP_DAYS = 14


# The clinic settings' ranges (DOMAIN §3 defaults inside each): wide enough for any protocol,
# narrow enough that a threshold cannot switch its own rule off.
SETTING_RANGES = {
    "hold_systolic": (120, 180),
    "hold_diastolic": (70, 110),
    "alert_systolic": (140, 220),
    "alert_diastolic": (90, 130),
    "alert_heart_rate": (100, 180),
    "alert_spo2_below": (85, 95),
    "alert_respiratory_rate_below": (6, 12),
    "min_dose_interval_hours": (12, 168),
}
