"""The measures' settings, and what a change of them moves on the schedule."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Role, User
from courses.audit import audit
from courses.models import AuditAction
from kernel import clock
from kernel.models import settings_update
from kernel.validation import fail
from measures.instruments import INSTRUMENTS
from measures.models import Administration, AdministrationStatus, MeasureSettings, Timepoint
from measures.services.schedule import _courses_in_care

MEASURE_SETTINGS_FIELDS = (
    "instruments_by_timepoint",
    "baseline_days_before_first_dose",
    "pre_dose_min_interval_days",
    "pre_dose_open_days_before",
    "end_of_course_first_day",
    "end_of_course_last_day",
    "month_1_day",
    "month_1_tolerance",
    "month_3_day",
    "month_3_tolerance",
    "month_6_day",
    "month_6_tolerance",
    "pcl5_cutoff",
    "stall_after_days",
    "link_expiry_days",
    "reminder_after_days",
    "send_max_attempts",
    "safety_alert_escalation_hours",
)


MEASURE_SETTINGS_RANGES = {
    "link_expiry_days": (1, 60),
    "send_max_attempts": (1, 20),
    "pcl5_cutoff": (0, 80),
    "stall_after_days": (7, 365),
    "safety_alert_escalation_hours": (1, 168),
}


_FOLLOW_UPS = (Timepoint.MONTH_1, Timepoint.MONTH_3, Timepoint.MONTH_6)


_AFTER_THE_COURSE = (Timepoint.END_OF_COURSE, *_FOLLOW_UPS)


_SENDING_ONLY = "none: it changes how invitations are sent, not what is counted"


# What a change of each setting moves: the questionnaires not yet answered (by timepoint) and the
# report's figures, since the report reads the same value (reports.models.OutcomeSettings.definitions).
SETTING_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "instruments_by_timepoint": (
        tuple(t.value for t in Timepoint if t != Timepoint.AD_HOC),
        "which scores there will be to count (no definition moves)",
    ),
    "baseline_days_before_first_dose": (
        (Timepoint.BASELINE,),
        "which score is each course's baseline, and so every response, remission and mean figure",
    ),
    "pre_dose_min_interval_days": ((Timepoint.PRE_DOSE,), "none: pre-dose scores are not in the report"),
    "pre_dose_open_days_before": ((Timepoint.PRE_DOSE,), "none: pre-dose scores are not in the report"),
    **dict.fromkeys(
        ("end_of_course_first_day", "end_of_course_last_day"),
        (
            (Timepoint.END_OF_COURSE,),
            "which score is the end-of-course one: end-of-course response, partial response and remission "
            "(observed and ITT), end-of-course completion and mean, and every sustained-response figure",
        ),
    ),
    **{
        f"{t.value}_{part}": (
            (t,),
            f"which score is the {t.label} one: sustained response at {t.label}, its completion and mean, "
            "and the Kaplan–Meier curve",
        )
        for t in _FOLLOW_UPS
        for part in ("day", "tolerance")
    },
    "pcl5_cutoff": (
        _AFTER_THE_COURSE,
        "which courses are eligible for PCL-5 response, remission and meaningful change, and the "
        "provisional-PTSD band of PCL-5 scores from now on",
    ),
    "stall_after_days": (
        _AFTER_THE_COURSE,
        "which courses count as stalled: the course flow, and from when a stalled course is in the ITT figures",
    ),
    "link_expiry_days": ((), _SENDING_ONLY),
    "reminder_after_days": ((), _SENDING_ONLY),
    "send_max_attempts": ((), _SENDING_ONLY),
    "safety_alert_escalation_hours": ((), "none: it changes when an unanswered safety alert is escalated"),
}


@dataclass(frozen=True)
class SettingMove:
    """What one changed setting moves: questionnaires not yet answered, and report figures."""

    setting: str
    questionnaires: int  # scheduled or open, in courses in care, not adjusted by hand
    timepoints: tuple[str, ...]
    figures: str


def settings_change_moves(changed: list[str]) -> list[SettingMove]:
    """One query per changed setting that moves questionnaires (a handful at most)."""
    moves = []
    for name in changed:
        timepoints, figures = SETTING_MOVES[name]
        count = 0
        if timepoints:
            count = Administration.objects.filter(
                course__in=_courses_in_care(),
                status__in=(AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN),
                timepoint__in=timepoints,
                manually_adjusted=False,
            ).count()
        moves.append(SettingMove(name, count, tuple(str(t) for t in timepoints), figures))
    return moves


def _check_instruments_by_timepoint(value) -> dict:
    if not isinstance(value, dict):
        fail("instruments_by_timepoint", "Give a mapping of timepoint to a list of instruments.")
    allowed = {t.value for t in Timepoint if t != Timepoint.AD_HOC}
    clean = {}
    for timepoint, instruments in value.items():
        if timepoint not in allowed:
            fail("instruments_by_timepoint", f"Unknown timepoint {timepoint!r}; use {', '.join(sorted(allowed))}.")
        if not isinstance(instruments, list) or any(i not in INSTRUMENTS for i in instruments):
            fail("instruments_by_timepoint", f"{timepoint}: choose instruments from {', '.join(INSTRUMENTS)}.")
        clean[timepoint] = list(dict.fromkeys(instruments))
    return clean


_WINDOW_FIELDS = (
    "baseline_days_before_first_dose",
    "end_of_course_first_day",
    "end_of_course_last_day",
    *(f"{t.value}_{part}" for t in _FOLLOW_UPS for part in ("day", "tolerance")),
)


def _check_windows(values: dict, *, changed: set) -> None:
    """The windows after a course must follow each other without overlapping, or one score could
    count for two timepoints (and the report would read the same score twice): the end of course
    opens after the last dose, each follow-up opens after the one before it closes."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
        return  # the types are the serializer's and full_clean's to refuse, by field
    if values["baseline_days_before_first_dose"] < 1:
        fail("baseline_days_before_first_dose", "Give at least 1 day before the first dose.")
    if values["end_of_course_first_day"] < 1:
        fail("end_of_course_first_day", "The end-of-course window opens 1 day or more after the last dose.")
    before, before_name = values["end_of_course_last_day"], "the end-of-course window"
    before_fields: tuple[str, ...] = ("end_of_course_last_day",)
    for t in _FOLLOW_UPS:
        day, tolerance = values[f"{t.value}_day"], values[f"{t.value}_tolerance"]
        mine = (f"{t.value}_tolerance", f"{t.value}_day")
        if day - tolerance <= before:
            # Name what the person changed, so the message sits on the field they typed into.
            name = next((n for n in (*mine, *before_fields) if n in changed), mine[0])
            fail(
                name,
                f"The {t.label} window (day {day - tolerance} to {day + tolerance}) must open after "
                f"{before_name} closes (day {before}): shorten its tolerance or move its day.",
            )
        before, before_name, before_fields = day + tolerance, f"the {t.label} window", mine


@transaction.atomic
def measure_settings_update(
    *, by: User, changes: Mapping[str, object], now: datetime | None = None
) -> tuple[MeasureSettings, list[SettingMove]]:
    """The clinic's schedule, and with it the timing of the report's outcomes (one value each).
    `changes`: setting → new value, of MEASURE_SETTINGS_FIELDS (another name is refused, naming it).

    Returns the row and what the change moves. When a setting that places questionnaires changed,
    every course in care is re-planned by a worker after the commit (dates adjusted by hand kept)."""
    now = clock.now(now)
    if by.role != Role.PRACTICE_LEAD:
        # The schedule and the safety-alert escalation are clinical decisions, not an administrator's.
        raise PermissionDenied("Only a practice lead can change the measure schedule.")
    unknown = sorted(set(changes) - set(MEASURE_SETTINGS_FIELDS))
    if unknown:
        fail(NON_FIELD_ERRORS, f"Unknown setting(s): {', '.join(unknown)}.")
    fields = dict(changes)
    row = MeasureSettings.load_for_update()
    if "instruments_by_timepoint" in fields:
        # A partial mapping changes the timepoints it names and keeps the others: dropping a
        # timepoint by omission would cancel its open administrations at the next sync.
        fields["instruments_by_timepoint"] = {
            **row.instruments_by_timepoint,
            **_check_instruments_by_timepoint(fields["instruments_by_timepoint"]),
        }
    changed = sorted(
        settings_update(
            row,
            fields,
            by=by,
            now=now,
            check=_check_measure_settings,
            save=_save_measure_settings,
            audit=lambda changes: audit(
                actor=by,
                action=AuditAction.UPDATE,
                record_type="measure settings",
                detail=", ".join(sorted(changes)),
                at=now,
            ),
        )
    )
    moves = settings_change_moves(changed)
    if any(m.timepoints for m in moves):
        from measures.tasks import replan_courses_in_care

        transaction.on_commit(replan_courses_in_care.delay, robust=True)
    return row, moves


def _check_measure_settings(row: MeasureSettings, changes) -> None:
    """The table's check constraints, said per field (full_clean would name no field for them),
    and the windows' order when one of them moved."""
    for name, (low, high) in MEASURE_SETTINGS_RANGES.items():
        value = getattr(row, name)
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            fail(name, f"Choose a value from {low} to {high}.")
    first, last = row.end_of_course_first_day, row.end_of_course_last_day
    if isinstance(first, int) and isinstance(last, int) and first > last:
        fail("end_of_course_last_day", "The end-of-course window must end on or after the day it opens.")
    if set(changes) & set(_WINDOW_FIELDS):
        # Checked when a window moves (the web form posts every field, so "changed" is what differs):
        # a row saved before this rule does not block a save of the reminder days.
        _check_windows({name: getattr(row, name) for name in _WINDOW_FIELDS}, changed=set(changes))


def _save_measure_settings(row: MeasureSettings) -> None:
    try:
        row.full_clean()
    except ValidationError as exc:
        raise ValidationError(
            {k if k != NON_FIELD_ERRORS else "end_of_course_last_day": v for k, v in exc.message_dict.items()}
        ) from None
    row.save()
