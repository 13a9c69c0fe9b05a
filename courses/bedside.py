"""The facts behind courses.safety's answers, read from the database for one dose or a page of
them in a fixed number of queries.

The services call these under their row locks before they act; the dose page, the group card,
the today page and the API call the same to show what is still needed. So the service's refusal
and the page's list are one computation (tests/courses/test_one_answer.py holds them to it).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from courses import hooks, rules, safety
from courses.choices import CLOSED_STATUSES, AdverseEventAction
from courses.models import (
    AdverseEvent,
    ClinicSettings,
    Course,
    Dose,
    HoldOverride,
    InSessionAlert,
    MedicalEvaluation,
    PreparatorySession,
    PsychiatricEvaluation,
    VitalReading,
)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def local(moment: datetime | None) -> datetime | None:
    """A moment in the clinic's zone: the rules compare it like any other, and their messages
    print it as the clinic reads its clocks."""
    return timezone.localtime(moment) if moment is not None else None


def reading_fact(reading: VitalReading) -> safety.Reading:
    return safety.Reading(
        id=reading.pk,
        phase=reading.phase,
        taken_at=local(reading.taken_at),
        values={name: getattr(reading, name) for name in rules.VITAL_RANGES},
        alerts=tuple(reading.alerts or ()),
    )


def screen_fact(evaluation: MedicalEvaluation | None) -> safety.Screen | None:
    if evaluation is None:
        return None
    return safety.Screen(
        decision=evaluation.decision,
        signed=evaluation.is_signed,
        evaluated_on=evaluation.evaluated_on,
        recent_suicidality=evaluation.caution_recent_suicidality,
        childbearing_potential=evaluation.childbearing_potential,
    )


def psych_fact(evaluation: PsychiatricEvaluation | None) -> safety.Psych | None:
    if evaluation is None:
        return None
    return safety.Psych(
        signed=evaluation.is_signed,
        suicide_risk=evaluation.suicide_risk,
        has_risk_plan=bool(evaluation.risk_plan.strip()),
    )


def current_screens(course_ids) -> dict:
    """The current medical evaluation (not voided, not superseded) of each course."""
    rows = MedicalEvaluation.objects.active().filter(course_id__in=course_ids, superseded_at__isnull=True)
    return {e.course_id: e for e in rows}


def current_psychs(course_ids) -> dict:
    return {e.course_id: e for e in PsychiatricEvaluation.objects.active().filter(course_id__in=course_ids)}


def _baseline_open(course_ids) -> dict:
    # The one read of the measures the course record needs: the first-dose rule waits for the
    # baseline questionnaires. measures answers through courses.hooks (courses never imports it).
    return hooks.open_baseline(course_ids)


def _given_counts(course_ids) -> dict:
    rows = (
        Dose.objects.active()
        .filter(course_id__in=course_ids, dosed_at__isnull=False, session__voided_at__isnull=True)
        .values("course_id")
        .annotate(n=Count("pk"))
    )
    return {r["course_id"]: r["n"] for r in rows}


def _signed_preparation(course_ids) -> dict:
    rows = (
        PreparatorySession.objects.active()
        .filter(course_id__in=course_ids, signed_at__isnull=False)
        .values("course_id")
        .annotate(n=Count("pk"))
    )
    return {r["course_id"]: r["n"] for r in rows}


@dataclass
class CourseState:
    course: Course
    screen: MedicalEvaluation | None
    psych: PsychiatricEvaluation | None
    blockers: list[safety.Blocker]
    screen_expires_on: date | None = None

    @property
    def cleared(self) -> bool:
        """Cleared for dosing: the screen and the psychiatric evaluation (clearance_blockers)."""
        clearance = {"screen_missing", "screen_unsigned", "screen_not_cleared", "screen_expired"}
        clearance |= {"psych_missing", "psych_unsigned", "suicidality_unaddressed"}
        return not any(b.code in clearance for b in self.blockers)

    @property
    def ready(self) -> bool:
        return not self.blockers


@dataclass(frozen=True)
class CourseRecords:
    """A course's own rows, already read by the caller (the timeline reads them all), so that
    course_states takes its facts from them instead of reading them again: every medical and
    psychiatric evaluation and preparatory session of the course, and every dose with its session,
    voided ones included. The filters below are the querysets' of current_screens, current_psychs,
    _signed_preparation and _given_counts, and a test holds the two ways to one answer."""

    medical_evaluations: list[MedicalEvaluation]
    psychiatric_evaluations: list[PsychiatricEvaluation]
    preparatory_sessions: list[PreparatorySession]
    doses: list[Dose]

    def screen(self) -> MedicalEvaluation | None:
        current = [e for e in self.medical_evaluations if not e.is_voided and e.superseded_at is None]
        return current[-1] if current else None

    def psych(self) -> PsychiatricEvaluation | None:
        current = [e for e in self.psychiatric_evaluations if not e.is_voided]
        return current[-1] if current else None

    def given(self) -> int:
        return sum(1 for d in self.doses if not d.is_voided and d.dosed_at is not None and d.session.voided_at is None)

    def signed_preparation(self) -> int:
        return sum(1 for s in self.preparatory_sessions if not s.is_voided and s.signed_at is not None)


def course_states(
    courses: Iterable[Course], *, on: date, settings=None, records: dict[object, CourseRecords] | None = None
) -> dict:
    """course_blockers() of each course on a day, in at most six queries whatever the number of courses.
    "First dose" counts the course's doses given so far (a dose not yet given does not count).

    `records`: for the courses in it (by id), their rows already read (CourseRecords); only the
    baseline questionnaires (and the other courses' rows) are read then."""
    courses = list(courses)
    settings = settings or ClinicSettings.load()
    records = records or {}
    ids = [c.pk for c in courses]
    unread = [pk for pk in ids if pk not in records]
    screens, psychs = current_screens(unread) if unread else {}, current_psychs(unread) if unread else {}
    given = _given_counts(unread) if unread else {}
    prepared = _signed_preparation(unread) if unread else {}
    for pk, rows in records.items():
        screens[pk], psychs[pk] = rows.screen(), rows.psych()
        given[pk], prepared[pk] = rows.given(), rows.signed_preparation()
    # The baseline questionnaires hold only a first dose (safety.course_blockers looks at them
    # then and only then), so they are read for the courses with no dose given yet.
    first = [pk for pk in ids if given.get(pk, 0) == 0]
    baseline = _baseline_open(first) if first else {}
    out = {}
    for course in courses:
        screen = screen_fact(screens.get(course.pk))
        readiness = safety.CourseReadiness(
            on=on,
            closed=course.is_voided or course.status in CLOSED_STATUSES,
            status="voided" if course.is_voided else course.get_status_display().lower(),
            screen=screen,
            psych=psych_fact(psychs.get(course.pk)),
            screen_valid_months=settings.screen_valid_months,
            first_dose=given.get(course.pk, 0) == 0,
            signed_preparatory_sessions=prepared.get(course.pk, 0),
            baseline_open=tuple(baseline.get(course.pk, ())),
            patient_age=age_on(course.patient.date_of_birth, on),
            minimum_age=settings.minimum_age_years,
            age_exception=course.age_exception_at is not None,
        )
        out[course.pk] = CourseState(
            course=course,
            screen=screens.get(course.pk),
            psych=psychs.get(course.pk),
            blockers=safety.course_blockers(readiness),
            screen_expires_on=safety.screen_expires_on(screen, settings.screen_valid_months) if screen else None,
        )
    return out


def course_state(course: Course, *, on: date | None = None) -> CourseState:
    return course_states([course], on=on or timezone.localdate())[course.pk]


@dataclass
class DoseState:
    """Everything the bedside shows about one dose, from the rules the services enforce."""

    dose: Dose
    readings: list[safety.Reading]
    hold: safety.Hold
    blockers: list[safety.Blocker]  # before the dose is given (empty once given)
    discharge: list[safety.Blocker]  # before discharge (empty before the dose and after discharge)
    monitoring: safety.Monitoring
    open_alerts: list[InSessionAlert] = field(default_factory=list)
    overrides: list[HoldOverride] = field(default_factory=list)
    open_serious: int = 0
    course: CourseState | None = None

    @property
    def ready_to_dose(self) -> bool:
        return self.dose.dosed_at is None and not self.blockers

    @property
    def discharge_needs_exception(self) -> bool:
        return any(b.exceptionable for b in self.discharge)


def _other_doses(doses: list[Dose]) -> dict:
    """Other given doses of each dose's patient, any course, with whether each has ended."""
    patient_ids = {p.course.patient_id for p in doses}
    transferred = AdverseEvent.objects.active().filter(dose=OuterRef("pk"), action_taken=AdverseEventAction.TRANSFERRED)
    rows = (
        Dose.objects.active()
        .filter(course__patient_id__in=patient_ids, dosed_at__isnull=False, session__voided_at__isnull=True)
        .annotate(transferred=Exists(transferred))
        .values_list("pk", "course__patient_id", "dosed_at", "discharged_at", "transferred")
    )
    by_patient: dict = defaultdict(list)
    for pk, patient_id, dosed_at, discharged_at, transferred_out in rows:
        ended = discharged_at is not None or transferred_out
        by_patient[patient_id].append((pk, safety.OtherDose(local(dosed_at), ended)))
    return {p.pk: tuple(d for pk, d in by_patient[p.course.patient_id] if pk != p.pk) for p in doses}


def override_fact(override: HoldOverride) -> safety.Override:
    return safety.Override(local(override.reading.taken_at), local(override.overridden_at))


def override_facts(dose: Dose) -> list:
    """The dose's overrides still in force, as the rules see them."""
    return [override_fact(o) for o in dose.hold_overrides.filter(lapsed_at__isnull=True).select_related("reading")]


def other_doses(dose: Dose) -> tuple:
    """The patient's other given doses (any course), for the spacing rule."""
    return _other_doses([dose])[dose.pk]


def _dose_rows_read(ids) -> tuple[dict, dict, dict, dict]:
    """Each dose's readings (as facts, in time order), overrides in force, open in-session alerts
    and count of open serious adverse events, read in four queries."""
    readings: dict = defaultdict(list)
    for reading in VitalReading.objects.active().filter(dose_id__in=ids).order_by("taken_at", "created_at"):
        readings[reading.dose_id].append(reading_fact(reading))
    overrides: dict = defaultdict(list)
    # A lapsed override (its reading since corrected or voided) no longer lifts anything.
    for override in HoldOverride.objects.filter(dose_id__in=ids, lapsed_at__isnull=True).select_related(
        "reading", "overridden_by"
    ):
        overrides[override.dose_id].append(override)
    alerts: dict = defaultdict(list)
    for alert in InSessionAlert.objects.open().filter(dose_id__in=ids).select_related("reading"):
        alerts[alert.dose_id].append(alert)
    serious = dict(
        AdverseEvent.objects.serious_unacknowledged()
        .filter(dose_id__in=ids)
        .values("dose_id")
        .annotate(n=Count("pk"))
        .values_list("dose_id", "n")
    )
    return readings, overrides, alerts, serious


def _dose_rows_loaded(doses: list[Dose]) -> tuple[dict, dict, dict, dict]:
    """What _dose_rows_read reads, taken from each dose's prefetched relations with the same
    filters and order (the models' orderings are the ones _dose_rows_read asks for)."""
    readings: dict = defaultdict(list)
    overrides: dict = defaultdict(list)
    alerts: dict = defaultdict(list)
    serious: dict = {}
    for p in doses:
        active = [v for v in p.vitals.all() if not v.is_voided]
        readings[p.pk] = [reading_fact(v) for v in sorted(active, key=lambda v: (v.taken_at, v.created_at))]
        overrides[p.pk] = [o for o in p.hold_overrides.all() if o.lapsed_at is None]
        alerts[p.pk] = [a for a in p.in_session_alerts.all() if a.closed_at is None]
        n = sum(1 for e in p.adverse_events.all() if not e.is_voided and e.serious and e.acknowledged_at is None)
        if n:
            serious[p.pk] = n
    return readings, overrides, alerts, serious


def dose_states(
    doses: Iterable[Dose],
    *,
    now: datetime,
    at: datetime | None = None,
    discharge_at: datetime | None = None,
    checklist: dict | None = None,
    loaded: bool = False,
    records: dict[object, CourseRecords] | None = None,
) -> dict:
    """The state of each dose, in a fixed number of queries (about a dozen) whatever their number.

    `at`: the dose time asked about (default now); `discharge_at` and `checklist`: a discharge
    being asked for (default now, and no checklist: the page lists the rest).

    `loaded`: each dose comes with its vitals, hold_overrides (with their reading and
    overridden_by), in_session_alerts and adverse_events already prefetched (the timeline reads
    them all to show them), so they are taken from there, not read again. `records`: the courses'
    own rows, for course_states."""
    doses = list(doses)
    if not doses:
        return {}
    settings = ClinicSettings.load()
    if loaded:
        readings, overrides, alerts, serious = _dose_rows_loaded(doses)
    else:
        readings, overrides, alerts, serious = _dose_rows_read([p.pk for p in doses])
    session_sizes, session_booked = {}, {}
    for session_id, active, booked in (
        Dose.objects.filter(session_id__in={p.session_id for p in doses})
        .values("session_id")
        .annotate(active=Count("pk", filter=Q(voided_at__isnull=True)), booked=Count("pk"))
        .values_list("session_id", "active", "booked")
    ):
        session_sizes[session_id], session_booked[session_id] = active, booked
    others = _other_doses(doses)
    now, at, discharge_at = local(now), local(at or now), local(discharge_at)
    today = at.date()
    courses = course_states(
        {p.course_id: p.course for p in doses}.values(), on=today, settings=settings, records=records
    )
    recheck = timedelta(minutes=settings.hold_recheck_minutes)
    interval = timedelta(minutes=settings.vitals_interval_minutes)
    out = {}
    for p in doses:
        course = courses[p.course_id]
        own = readings[p.pk]
        own_overrides = [override_fact(o) for o in overrides[p.pk]]
        hold = safety.hold_status(own, own_overrides, recheck, now=now)
        # A given dose is judged too: "already given" is its blocker, so a second "give" is refused.
        weight = p.weight_measurement
        blockers = safety.dose_blockers(
            safety.DoseFacts(
                at=at,
                today=today,
                now=now,
                course=tuple(course.blockers),
                given=p.dosed_at is not None,
                voided=p.is_voided,
                fasting_confirmed=p.fasting_confirmed,
                pregnancy_test=p.pregnancy_test,
                childbearing_potential=course.screen.childbearing_potential if course.screen else "",
                weight_measured_on=weight.measured_on if weight else None,
                weight_is_recorded=weight is not None and not weight.is_voided,
                session_format=p.session.format,
                session_doses=session_sizes.get(p.session_id, 0),
                session_booked=session_booked.get(p.session_id, 0),
                session_voided=p.session.is_voided,
                readings=tuple(own),
                overrides=tuple(own_overrides),
                hold_recheck=recheck,
                open_alerts=len(alerts[p.pk]),
                other_doses=others[p.pk],
                min_interval=timedelta(hours=settings.min_dose_interval_hours),
                weight_max_age_days=settings.weight_max_age_days,
            )
        )
        discharge = []
        if p.dosed_at is not None and p.discharged_at is None and not p.is_voided:
            discharge = safety.discharge_blockers(
                safety.DischargeFacts(
                    at=discharge_at or now,
                    dosed_at=local(p.dosed_at),
                    monitoring=monitoring_time(p, settings),
                    readings=tuple(own),
                    open_alerts=len(alerts[p.pk]),
                    fresh_within=interval,
                    checklist=checklist,
                )
            )
        ended = p.discharged_at is not None or p.is_voided or p.is_signed
        out[p.pk] = DoseState(
            dose=p,
            readings=own,
            hold=hold,
            blockers=blockers,
            discharge=discharge,
            monitoring=safety.monitoring_status(
                dosed_at=local(p.dosed_at), ended=ended, readings=own, now=now, interval=interval
            ),
            open_alerts=alerts[p.pk],
            overrides=overrides[p.pk],
            open_serious=serious.get(p.pk, 0),
            course=course,
        )
    return out


def dose_state(dose: Dose, *, now: datetime, **kwargs) -> DoseState:
    return dose_states([dose], now=now, **kwargs)[dose.pk]


def monitoring_time(dose: Dose, settings: ClinicSettings | None = None) -> timedelta:
    settings = settings or ClinicSettings.load()
    return timedelta(
        minutes=rules.minimum_monitoring_minutes(
            dose.drug,
            dose.route,
            settings.monitoring_minutes_esketamine,
            settings.monitoring_minutes_other,
        )
    )


# What dose_states reads from each dose row, to be loaded with the row.
STATE_RELATIONS = ("session", "course__patient", "weight_measurement")


def doses_for_states(queryset) -> list[Dose]:
    """Doses with what dose_states reads from each row, loaded with the row."""
    return list(queryset.select_related(*STATE_RELATIONS))


def serious_open_for_courses(course_ids) -> dict:
    """Open serious events per course (any of its doses, or reported against the course)."""
    return dict(
        AdverseEvent.objects.serious_unacknowledged()
        .filter(course_id__in=course_ids)
        .values("course_id")
        .annotate(n=Count("pk"))
        .values_list("course_id", "n")
    )
