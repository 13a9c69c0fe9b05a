"""Build a synthetic demo clinic through the services, so the demo data obeys every rule.

Staff of each role with printed demo passwords, 30 plainly fictional patients (MRN DEMO-0001…,
emails @example.invalid) with courses in every stage, an individual and a group dosing
practice with vitals, holds, alerts and adverse events, amendments and a voided record, and
the measures: PHQ-9, GAD-7 and PCL-5 answered on the schedule with scores falling for most
patients, some follow-ups missed, one acknowledged item-9 safety alert, and baselines of new
courses left open so that the first tick of `make run` sends their invitations.
History is placed in the past by passing each service the time the action happened (`now=`).

Idempotent: when the demo is already there it prints the logins and changes nothing.
"""

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from courses import rules, services
from courses.choices import (
    AdverseEventAction,
    AdverseEventOutcome,
    CourseStatus,
    Drug,
    Expectedness,
    Indication,
    IntegrationTechnique,
    PreparationTopic,
    RaceEthnicity,
    Relatedness,
    Route,
    SessionFormat,
    Sex,
    SuicideRisk,
    VitalPhase,
)
from courses.models import ClinicSettings, Course, Patient

MRN_PREFIX = "DEMO-"


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str
    first_name: str
    last_name: str
    credentials: str = ""


ADMIN = Login("admin", "demo-admin-2026", "superuser", "Ada", "Administrator")
STAFF = [
    Login("lead", "demo-lead-2026", Role.PRACTICE_LEAD, "Lane", "Leadwell", "MD"),
    Login("therapist1", "demo-therapist-2026", Role.THERAPIST, "Tamsin", "Talkwell", "LCSW"),
    Login("therapist2", "demo-therapist-2026", Role.THERAPIST, "Rowan", "Listenby", "PsyD"),
    Login("provider1", "demo-provider-2026", Role.MEDICAL_PROVIDER, "Marlo", "Medica", "MD"),
    Login("provider2", "demo-provider-2026", Role.MEDICAL_PROVIDER, "Nico", "Nursewell", "NP"),
]

# Courses per stage once the demo is built (one patient has a completed course and a new one).
EXPECTED_STAGES = {
    CourseStatus.EVALUATION: 5,
    CourseStatus.PREPARATION: 4,
    CourseStatus.DOSING: 10,
    CourseStatus.INTEGRATION: 3,
    CourseStatus.FOLLOW_UP: 4,
    CourseStatus.COMPLETED: 3,
    CourseStatus.DISCONTINUED: 3,
}
PATIENT_COUNT = 31
GROUP_SIZE = 5

GIVEN_NAMES = [
    "Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indigo", "Jules",
    "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Tatum",
    "Umber", "Val", "Wren", "Xen", "Yael", "Zion", "Ari", "Bellamy", "Cove", "Dell", "Ellis",
]  # fmt: skip


@dataclass
class Clinic:
    """The staff and the fixed 'now' the whole demo is placed against."""

    now: dt.datetime
    admin: User
    lead: User
    therapists: list[User]
    providers: list[User]
    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    lot: int = 0
    plans: dict = field(default_factory=dict)

    def plan(self, course: Course) -> "Trajectory":
        """How this course's scores move, decided once (baseline answered before the first dose)."""
        if course.pk not in self.plans:
            self.plans[course.pk] = trajectory(self, course)
        return self.plans[course.pk]

    def at(self, days_ago: int, hour: int = 9, minute: int = 0) -> dt.datetime:
        """A time in the clinic's zone, `days_ago` days before today."""
        day = timezone.localdate(self.now) - dt.timedelta(days=days_ago)
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))

    def next_lot(self) -> str:
        self.lot += 1
        return f"DEMO-LOT-{self.lot:04d}"

    def vitals(self, rise: int = 0) -> dict:
        r = self.rng
        return {
            "systolic_bp": r.randint(112, 132) + rise,
            "diastolic_bp": r.randint(68, 82) + rise // 2,
            "heart_rate": r.randint(62, 86),
            "spo2": r.randint(96, 99),
            "respiratory_rate": r.randint(12, 16),
        }


# The demo creates staff accounts whose passwords are printed in the README: with DEBUG off the
# database may be a real clinic's, so the operator has to say in so many words that it is not.
NOT_PRODUCTION_FLAG = "--i-know-this-is-not-production"


class Command(BaseCommand):
    help = "Load a synthetic demo practice (staff, 30 fictional patients, courses in every stage). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            NOT_PRODUCTION_FLAG,
            action="store_true",
            dest="not_production",
            help="Load the demo even with DEBUG off (a test or fuzz database, never a clinic's).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["not_production"]:
            raise CommandError(
                "demo_practice refused: DEBUG is off, so this may be a production database, and the demo "
                "creates staff accounts (admin, lead, ...) whose passwords are published in the README. "
                f"Run it with DEBUG=1, or add {NOT_PRODUCTION_FLAG} if this database is a test or demo one."
            )
        if Patient.objects.filter(mrn__startswith=MRN_PREFIX).exists():
            self.stdout.write("The demo practice is already loaded; nothing changed.")
            self.print_logins()
            return
        taken = User.objects.filter(username__in=[ADMIN.username, *(s.username for s in STAFF)])
        if taken.exists():
            names = ", ".join(taken.values_list("username", flat=True))
            raise CommandError(f"Staff accounts with the demo usernames already exist ({names}); not loading the demo.")
        with transaction.atomic():
            clinic = build_staff(timezone.now())
            build_practice(clinic)
            build_measures(clinic)
        counts = {s: Course.objects.active().filter(status=s).count() for s in CourseStatus.values}
        self.stdout.write(
            self.style.SUCCESS(f"Demo practice loaded: {Patient.objects.count()} patients, courses {counts}.")
        )
        self.print_logins()

    def print_logins(self) -> None:
        self.stdout.write("Demo logins (synthetic data only; change or remove before real use):")
        for login in [ADMIN, *STAFF]:
            role = "superuser" if login is ADMIN else Role(login.role).label.lower()
            self.stdout.write(f"  {login.username:<11} {login.password:<20} {role}")


def build_staff(now: dt.datetime) -> Clinic:
    from django.contrib.auth.password_validation import validate_password

    # The one account no service can create: the first administrator, who then creates the rest.
    admin = User(
        username=ADMIN.username,
        first_name=ADMIN.first_name,
        last_name=ADMIN.last_name,
        email="admin@kapclinic.invalid",
        is_staff=True,
        is_superuser=True,
    )
    validate_password(ADMIN.password, admin)
    admin.set_password(ADMIN.password)
    admin.save()
    users = {}
    for login in STAFF:
        by = users.get("lead", admin)
        users[login.username] = services.staff_create(
            by=by,
            username=login.username,
            password=login.password,
            role=login.role,
            first_name=login.first_name,
            last_name=login.last_name,
            email=f"{login.username}@kapclinic.invalid",
            credentials=login.credentials,
            now=now - dt.timedelta(days=400),
        )
    clinic = Clinic(
        now=now,
        admin=admin,
        lead=users["lead"],
        therapists=[users["therapist1"], users["therapist2"]],
        providers=[users["provider1"], users["provider2"]],
    )
    services.clinic_settings_update(
        by=clinic.lead, clinic_name="Demo KAP Practice (synthetic data)", now=now - dt.timedelta(days=400)
    )
    return clinic


# --- the story of one course ------------------------------------------------------------------


def register(clinic: Clinic, number: int, opened: dt.datetime) -> Patient:
    r = clinic.rng
    sms = number % 7 == 0
    return services.patient_register(
        by=clinic.lead,
        now=opened,
        mrn=f"{MRN_PREFIX}{number:04d}",
        given_name=GIVEN_NAMES[number - 1],
        family_name=f"Demo-{number:02d}",
        date_of_birth=dt.date(1950 + r.randint(0, 50), r.randint(1, 12), r.randint(1, 28)),
        sex=Sex.INTERSEX if number == 11 else Sex.UNKNOWN if number == 23 else [Sex.MALE, Sex.FEMALE][number % 2],
        race_ethnicity=list(RaceEthnicity.values)[number % len(RaceEthnicity.values)] if number % 9 else "",
        email=f"demo.patient{number:02d}@example.invalid",
        phone=f"+1-202-555-01{number:02d}",
        preferred_channel="sms" if sms else "email",
        weight_kg=Decimal(55 + r.randint(0, 45)),
    )


def open_course(
    clinic: Clinic, patient: Patient, number: int, opened: dt.datetime, *, group=False, indication=None
) -> Course:
    therapists = clinic.therapists if group or number % 5 == 0 else [clinic.therapists[number % 2]]
    indications = [
        Indication.MDD_TRD,
        Indication.PTSD,
        Indication.ANXIETY,
        Indication.MDD_TRD,
        Indication.CHRONIC_PAIN_DEPRESSION,
        Indication.SUD,
        Indication.OCD,
    ]
    return services.course_open(
        patient=patient,
        by=therapists[0],
        now=opened,
        indication=indication or indications[number % len(indications)],
        therapists=therapists,
        medical_provider=clinic.providers[0] if group else clinic.providers[number % 2],
        format=SessionFormat.GROUP if group else SessionFormat.INDIVIDUAL,
        planned_dosing_sessions=4 if group else 6,
    )


def weight_of(patient: Patient) -> Decimal:
    return patient.weights.active().first().weight_kg


def childbearing(patient: Patient, on: dt.date) -> str:
    # The demo's answer: women under 50 have childbearing potential (a negative test before each dose).
    age = on.year - patient.date_of_birth.year
    return rules.YES if patient.sex == Sex.FEMALE and age < 50 else rules.NO


def medical_evaluation(clinic: Clinic, course: Course, at: dt.datetime, *, decision="cleared", sign=True, **screen):
    """Every screen item answered on purpose: "no" unless the story says otherwise (`screen`)."""
    provider = course.medical_provider
    answers = {**rules.SCREEN_NOTHING_FOUND, rules.CHILDBEARING_FIELD: childbearing(course.patient, at.date())}
    if decision == "pending":
        # Not decided yet: the provider has gone through the absolute items only so far.
        answers.update(dict.fromkeys(rules.CAUTION_ITEMS, ""))
    answers.update({k: v if isinstance(v, str) else (rules.YES if v else rules.NO) for k, v in screen.items()})
    evaluation = services.medical_evaluation_record(
        course=course,
        by=provider,
        now=at,
        evaluated_on=timezone.localdate(at),
        history="Synthetic demo history.",
        medications="None reported.",
        weight_kg=weight_of(course.patient),
        decision=decision,
        **clinic.vitals(),
        **answers,
    )
    if sign:
        services.record_sign(record=evaluation, by=provider, now=at + dt.timedelta(minutes=40))
    return evaluation


def psychiatric_evaluation(clinic: Clinic, course: Course, at: dt.datetime, *, risk=SuicideRisk.LOW):
    therapist = course.therapists.first()
    evaluation = services.psychiatric_evaluation_record(
        course=course,
        by=therapist,
        now=at,
        evaluated_on=timezone.localdate(at),
        diagnosis=f"{course.get_indication_display()} (synthetic)",
        suicide_risk=risk,
        risk_plan="" if risk == SuicideRisk.LOW else "Safety plan agreed; crisis line and a named support person.",
    )
    services.record_sign(record=evaluation, by=therapist, now=at + dt.timedelta(minutes=50))
    return evaluation


def evaluate(clinic: Clinic, course: Course, opened: dt.datetime, **screen) -> None:
    medical_evaluation(clinic, course, opened + dt.timedelta(days=1, hours=1), **screen)
    psychiatric_evaluation(clinic, course, opened + dt.timedelta(days=2, hours=3))


def prepare(
    clinic: Clinic, course: Course, opened: dt.datetime, *, sessions: int = 1, sign=True, waive: str = ""
) -> None:
    """Preparation: the stage, 1–2 preparatory sessions, and the baseline questionnaires answered
    (the first dose waits for them), or, with `waive`, that instrument's baseline waived."""
    therapist = course.therapists.first()
    answer_baseline(clinic, course, opened + dt.timedelta(days=3, hours=8), waive=waive)
    services.course_change_status(
        course=course, by=therapist, to_status=CourseStatus.PREPARATION, now=opened + dt.timedelta(days=2, hours=5)
    )
    for n in range(sessions):
        held = opened + dt.timedelta(days=4 + 2 * n, hours=1)
        note = services.preparatory_session_record(
            course=course,
            by=therapist,
            now=held + dt.timedelta(hours=1),
            held_at=held,
            topics=[PreparationTopic.EFFECTS_AND_RISKS, PreparationTopic.SET_AND_SETTING, PreparationTopic.INTENTIONS]
            if n == 0
            else [PreparationTopic.CHALLENGING_MOMENTS, PreparationTopic.LOGISTICS],
            intentions="Synthetic intention: reconnect with what matters.",
            note="Synthetic preparatory note for the demo practice.",
        )
        if sign:
            services.record_sign(record=note, by=therapist, now=held + dt.timedelta(hours=1, minutes=10))


def answer_baseline(c: Clinic, course: Course, at: dt.datetime, *, waive: str = "") -> None:
    """The patient answers the baseline questionnaires in the clinic, before the first dose."""
    from measures import services as measures
    from measures.models import Administration, AdministrationStatus, Timepoint

    therapist = course.therapists.first()
    baseline = Administration.objects.filter(
        course=course,
        timepoint=Timepoint.BASELINE,
        status__in=[AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN],
    ).order_by("instrument")
    for administration in baseline:
        if administration.instrument == waive:
            measures.administration_waive(
                administration=administration,
                by=therapist,
                now=at,
                reason="Ran out of time at intake; PHQ-9 and GAD-7 answered. The medical director decided not to "
                "delay the first dose for the PTSD checklist.",
            )
            continue
        total = round(c.plan(course).baseline[administration.instrument] + c.rng.randint(-1, 1))
        measures.response_enter(
            administration=administration,
            by=therapist,
            answers=answers_for(c, administration.instrument, max(0, total)),
            answered_at=at,
            now=at,
        )


DOSES = {
    "iv": {"drug": Drug.RACEMIC_KETAMINE, "route": Route.IV, "mg_per_kg": Decimal("0.5")},
    "im": {"drug": Drug.RACEMIC_KETAMINE, "route": Route.IM, "mg_per_kg": Decimal("0.75")},
    "sublingual": {"drug": Drug.RACEMIC_KETAMINE, "route": Route.SUBLINGUAL, "mg": Decimal("300")},
    "esketamine": {"drug": Drug.ESKETAMINE, "route": Route.INTRANASAL, "mg": Decimal("56")},
}


def dose_fields(clinic: Clinic, course: Course, kind: str, at: dt.datetime, over_maximum: bool = False) -> dict:
    """A dose calculated on the patient's recorded weight; weighed again when the last weight is
    older than the clinic accepts; a negative pregnancy test where the screen asks for one."""
    spec = DOSES[kind]
    latest = course.patient.weights.active().order_by("-measured_on").first()
    weight = latest.weight_kg
    stale = (timezone.localdate(at) - latest.measured_on).days > ClinicSettings.load().weight_max_age_days
    mg = spec.get("mg") or (weight * spec["mg_per_kg"]).quantize(Decimal("0.1"))
    screen = services.active_medical_evaluation(course)
    fields = {
        "drug": spec["drug"],
        "route": spec["route"],
        "dose_mg": mg,
        "weight_kg": weight,
        "weighed_now": stale,
        "lot_number": clinic.next_lot(),
        "fasting_confirmed": True,
        "pregnancy_test": "negative" if screen.childbearing_potential == rules.YES else "not_applicable",
    }
    if over_maximum:
        fields["dose_mg"] = (weight * Decimal("1.1")).quantize(Decimal("0.1"))
        fields["over_maximum_reason"] = "Partial response at 1.0 mg/kg; medical director approved 1.1 mg/kg."
    return fields


def schedule(clinic: Clinic, provider: User, facilitators, start: dt.datetime, fmt=SessionFormat.INDIVIDUAL):
    return services.dosing_session_schedule(
        by=provider,
        now=start - dt.timedelta(days=3),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=3),
        medical_provider=provider,
        facilitators=facilitators,
        format=fmt,
        location="Room 2 (demo)",
    )


def run_participant(
    clinic: Clinic,
    participant,
    start: dt.datetime,
    *,
    hold=False,
    alert=False,
    discharge=True,
    events=(),
    close_alert=True,
    discharge_exception=False,
) -> None:
    """Pre-dose vitals, the dose, vitals during and before discharge, adverse events, discharge.

    `hold`: a raised pre-dose pressure, overridden with a reason. `alert`: a reading above the
    alert threshold at 40 minutes, rechecked and closed with what was done (unless `close_alert`
    is off: still open, as in a session under way). `discharge_exception`: the reading before
    discharge still alerts, and the provider documents why discharge is safe."""
    provider = participant.session.medical_provider
    pre = clinic.vitals(rise=30) if hold else clinic.vitals()
    services.vital_reading_record(
        participant=participant,
        by=provider,
        phase=VitalPhase.PRE_DOSE,
        taken_at=start,
        now=start + dt.timedelta(minutes=2),
        **pre,
    )
    if hold:
        services.dosing_hold_override(
            participant=participant,
            by=provider,
            now=start + dt.timedelta(minutes=8),
            reason="Repeat BP after 10 minutes of rest still mildly raised; no symptoms, usual for this patient "
            "(white-coat pattern documented at evaluation). Dosing with closer monitoring.",
        )
    dosed = start + dt.timedelta(minutes=15)
    participant = services.dose_administer(participant=participant, by=provider, dosed_at=dosed, now=dosed)
    during_at = dosed + dt.timedelta(minutes=40)
    during = dict(clinic.vitals(rise=18), systolic_bp=184, diastolic_bp=112) if alert else clinic.vitals(rise=14)
    reading = services.vital_reading_record(
        participant=participant, by=provider, phase=VitalPhase.DURING, taken_at=during_at, now=during_at, **during
    )
    if alert and close_alert:
        recheck_at = during_at + dt.timedelta(minutes=10)
        services.vital_reading_record(
            participant=participant,
            by=provider,
            phase=VitalPhase.DURING,
            taken_at=recheck_at,
            now=recheck_at,
            **clinic.vitals(rise=22),
        )
        services.in_session_alert_close(
            alert=reading.in_session_alerts.get(),
            by=provider,
            action="recheck",
            note="Quiet room, eyeshades off, reassurance; BP down on the 10-minute recheck. No treatment needed.",
            now=recheck_at + dt.timedelta(minutes=1),
        )
    for offset, event in events:
        services.adverse_event_record(
            participant=participant,
            by=provider,
            now=dosed + offset,
            onset_at=dosed + offset - dt.timedelta(minutes=5),
            **event,
        )
    if not discharge:
        return
    minutes = services.minimum_monitoring(participant)
    ready = dosed + minutes + dt.timedelta(minutes=5)
    final = dict(clinic.vitals(rise=4), systolic_bp=183, diastolic_bp=98) if discharge_exception else clinic.vitals(4)
    reading = services.vital_reading_record(
        participant=participant,
        by=provider,
        phase=VitalPhase.PRE_DISCHARGE,
        taken_at=ready - dt.timedelta(minutes=5),
        now=ready,
        **final,
    )
    if discharge_exception:
        services.in_session_alert_close(
            alert=reading.in_session_alerts.get(),
            by=provider,
            action="other",
            note="Asymptomatic; BP 183/98 against 176/96 at evaluation (treated hypertension); home BP cuff; "
            "escort briefed to call if headache or chest pain.",
            now=ready,
        )
    services.participant_discharge(
        participant=participant,
        by=provider,
        now=ready,
        discharged_at=ready,
        alert_oriented=True,
        escort_present=True,
        no_driving_advised=True,
        exception_reason="Systolic 183 is the patient's usual treated level (176 at evaluation); alert, no headache "
        "or chest pain, escort present; GP letter sent."
        if discharge_exception
        else "",
    )


def close_session(session, participants, therapist: User, at: dt.datetime, note: str) -> None:
    services.dosing_session_note(session=session, by=therapist, now=at, facilitation_note=note)
    for participant in participants:
        services.record_sign(record=participant, by=session.medical_provider, now=at + dt.timedelta(minutes=5))
    services.record_sign(record=session, by=therapist, now=at + dt.timedelta(minutes=10))


def individual_dose(
    clinic: Clinic, course: Course, start: dt.datetime, kind: str = "iv", *, sign=True, over_maximum=False, **run
):
    provider = course.medical_provider
    therapist = course.therapists.first()
    if course.status == CourseStatus.PREPARATION:
        services.course_change_status(
            course=course, by=provider, to_status=CourseStatus.DOSING, now=start - dt.timedelta(minutes=30)
        )
        course.refresh_from_db()
    session = schedule(clinic, provider, [therapist], start)
    participant = services.dosing_participant_add(
        session=session,
        course=course,
        by=provider,
        now=start - dt.timedelta(minutes=20),
        **dose_fields(clinic, course, kind, start, over_maximum),
    )
    run_participant(clinic, participant, start, **run)
    if sign:
        close_session(
            session,
            [participant],
            therapist,
            start + dt.timedelta(hours=2, minutes=30),
            "Synthetic facilitation note: settled quickly, music-guided, gentle debrief.",
        )
    course.refresh_from_db()
    return participant


def integrate(clinic: Clinic, course: Course, at: dt.datetime) -> None:
    therapist = course.therapists.first()
    if course.status == CourseStatus.DOSING:
        services.course_change_status(
            course=course, by=therapist, to_status=CourseStatus.INTEGRATION, now=at - dt.timedelta(hours=1)
        )
    note = services.integration_session_record(
        courses=[course],
        by=therapist,
        held_at=at,
        now=at + dt.timedelta(hours=1),
        techniques=[IntegrationTechnique.TALK, IntegrationTechnique.JOURNALING],
        note="Synthetic integration note: themes of self-compassion; journaling between sessions.",
    )
    services.record_sign(record=note, by=therapist, now=at + dt.timedelta(hours=1, minutes=5))
    course.refresh_from_db()


def advance(course: Course, by: User, to_status: str, at: dt.datetime) -> None:
    services.course_change_status(course=course, by=by, to_status=to_status, now=at)
    course.refresh_from_db()


def through_integration(clinic: Clinic, course: Course, opened: dt.datetime, dose_days: list[int], kind: str) -> int:
    """Evaluation, preparation, the doses on the given days ago, two integration sessions."""
    evaluate(clinic, course, opened)
    prepare(clinic, course, opened)
    for days_ago in dose_days:
        individual_dose(clinic, course, clinic.at(days_ago, 9 + len(dose_days) % 3 * 2), kind)
    last = dose_days[-1]
    integrate(clinic, course, clinic.at(last - 1, 15))
    integrate(clinic, course, clinic.at(last - 7, 15))
    return last


NAUSEA = {
    "term": "nausea",
    "grade": 1,
    "relatedness": Relatedness.PROBABLE,
    "expectedness": Expectedness.EXPECTED,
    "action_taken": AdverseEventAction.NONE,
    "outcome": AdverseEventOutcome.RESOLVED,
    "description": "Mild nausea, settled without treatment.",
}
DISSOCIATION = {
    "term": "dissociation",
    "grade": 2,
    "relatedness": Relatedness.DEFINITE,
    "expectedness": Expectedness.EXPECTED,
    "action_taken": AdverseEventAction.NONE,
    "outcome": AdverseEventOutcome.RESOLVED,
    "description": "Distressing dissociation, eased with reassurance.",
}
HYPERTENSIVE_CRISIS = {
    "term": "hypertensive_crisis",
    "grade": 3,
    "serious": True,
    "serious_criteria": ["other_important"],
    "relatedness": Relatedness.PROBABLE,
    "expectedness": Expectedness.EXPECTED,
    "action_taken": AdverseEventAction.MEDICATION_GIVEN,
    "outcome": AdverseEventOutcome.RESOLVED,
    "description": "BP 196/118 at 35 min; labetalol given; settled by 90 min.",
}
SUICIDALITY = {
    "term": "emergent_suicidality",
    "grade": 3,
    "serious": True,
    "serious_criteria": ["hospitalisation"],
    "relatedness": Relatedness.UNLIKELY,
    "expectedness": Expectedness.EXPECTED,
    "action_taken": AdverseEventAction.TRANSFERRED,
    "outcome": AdverseEventOutcome.RESOLVED,
    "description": "Voiced intent after the session; admitted overnight.",
}


# --- the practice -----------------------------------------------------------------------------


def build_practice(c: Clinic) -> None:
    numbers = iter(range(1, PATIENT_COUNT + 1))

    def new_course(opened_days_ago: int, **kwargs):
        number = next(numbers)
        opened = c.at(opened_days_ago, 10)
        patient = register(c, number, opened)
        return open_course(c, patient, number, opened, **kwargs), opened

    # Completed: the whole course, follow-up to six months. The first patient came back.
    completed = []
    for days_ago in (300, 280, 260):
        course, opened = new_course(days_ago)
        last = through_integration(c, course, opened, [days_ago - d for d in (7, 10, 14, 17, 21, 24)], "iv")
        advance(course, course.therapists.first(), CourseStatus.FOLLOW_UP, c.at(last - 14, 12))
        advance(course, course.therapists.first(), CourseStatus.COMPLETED, c.at(last - 190, 12))
        completed.append(course)

    # Follow-up: one with a maintenance dose, one whose signed records were corrected.
    follow_up = []
    for days_ago, kind in ((110, "im"), (95, "sublingual"), (80, "iv"), (70, "esketamine")):
        course, opened = new_course(days_ago)
        last = through_integration(c, course, opened, [days_ago - d for d in (7, 10, 14, 17)], kind)
        advance(course, course.therapists.first(), CourseStatus.FOLLOW_UP, c.at(last - 14, 12))
        follow_up.append(course)
    individual_dose(c, follow_up[0], c.at(12, 10), "im")  # in follow-up, so recorded as maintenance
    acknowledged = individual_dose(
        c, follow_up[1], c.at(20, 10), "sublingual", events=[(dt.timedelta(minutes=90), SUICIDALITY)], discharge=False
    )
    services.adverse_event_acknowledge(
        event=acknowledged.adverse_events.get(),
        by=c.lead,
        now=c.at(20, 16),
        note="Spoke with the provider; admission confirmed; safety plan reviewed.",
    )
    amend_signed_records(c, follow_up[2])

    # Integration.
    for days_ago in (34, 31, 29):
        course, opened = new_course(days_ago)
        through_integration(c, course, opened, [days_ago - d for d in (7, 10, 14, 17)], "iv")

    # Dosing, individual: an over-maximum dose, an alert, a serious event not yet acknowledged,
    # and one session booked for later today.
    course, opened = new_course(22)
    evaluate(c, course, opened)
    prepare(c, course, opened, sessions=2)
    individual_dose(c, course, c.at(15, 9), "iv")
    individual_dose(
        c, course, c.at(11, 9), "iv", over_maximum=True, alert=True, events=[(dt.timedelta(minutes=30), NAUSEA)]
    )
    course, opened = new_course(20)
    evaluate(c, course, opened)
    prepare(c, course, opened, waive="pcl5")
    individual_dose(c, course, c.at(13, 11), "esketamine", events=[(dt.timedelta(minutes=20), DISSOCIATION)])
    individual_dose(c, course, c.at(9, 11), "esketamine", hold=True)
    individual_dose(c, course, c.at(2, 11), "esketamine", events=[(dt.timedelta(minutes=35), HYPERTENSIVE_CRISIS)])
    course, opened = new_course(18)
    evaluate(c, course, opened)
    prepare(c, course, opened)
    individual_dose(c, course, c.at(9, 14), "sublingual", discharge_exception=True)
    booked_today(c, course)
    course, opened = new_course(16, indication=Indication.PTSD)
    evaluate(
        c,
        course,
        opened,
        decision="cleared_with_cautions",
        caution_substance_use_history=True,
        caution_note="Alcohol use disorder in sustained remission (4 years); no take-home doses.",
    )
    prepare(c, course, opened)
    individual_dose(c, course, c.at(6, 9), "im")

    # Stalled: two of six doses, the last seven weeks ago, never closed. The worklist asks staff to
    # resume or close it; the report counts it as ended on its last dose (DOMAIN §6), and its
    # follow-up questionnaires are planned, as the daily beat task would have done.
    course, opened = new_course(60)
    evaluate(c, course, opened)
    prepare(c, course, opened)
    individual_dose(c, course, c.at(52, 10), "iv")
    individual_dose(c, course, c.at(49, 10), "iv")
    from measures.services import schedule_sync_stalled  # measures builds on the course record

    schedule_sync_stalled(now=c.now)

    # Dosing, group: five group-format courses, a signed session last week and one under way now.
    build_group(c, [new_course(26, group=True) for _ in range(GROUP_SIZE)])

    # Preparation: one note entered on the wrong course and voided.
    prepared = []
    for days_ago, sessions in ((12, 2), (11, 1), (10, 1), (9, 1)):
        course, opened = new_course(days_ago)
        evaluate(c, course, opened)
        prepare(c, course, opened, sessions=sessions, sign=days_ago != 9)
        prepared.append(course)
    void_wrong_note(c, prepared[-1])

    # Evaluation: nothing yet; a screen not decided; cautions, cleared and signed; a returning patient.
    new_course(3)
    course, opened = new_course(5)
    medical_evaluation(c, course, opened + dt.timedelta(days=1), decision="pending", sign=False)
    course, opened = new_course(6)
    medical_evaluation(c, course, opened + dt.timedelta(days=1))
    psychiatric_evaluation(c, course, opened + dt.timedelta(days=2), risk=SuicideRisk.MODERATE)
    course, opened = new_course(7, indication=Indication.ANXIETY)
    evaluate(
        c,
        course,
        opened,
        decision="cleared_with_cautions",
        caution_uncontrolled_hypertension=True,
        caution_note="Hypertension treated; BP controlled on review; pre-dose hold applies as usual.",
    )
    returning = completed[0].patient
    services.course_open(
        patient=returning,
        by=completed[0].therapists.first(),
        now=c.at(4, 10),
        indication=Indication.MDD_TRD,
        therapists=list(completed[0].therapists.all()),
        medical_provider=completed[0].medical_provider,
        indication_detail="Relapse after 8 months",
    )

    # Discontinued: not cleared (absolute contraindication), moved away, withdrew during dosing.
    course, opened = new_course(40)
    medical_evaluation(
        c, course, opened + dt.timedelta(days=1), decision="not_cleared", ci_aneurysmal_vascular_disease=True
    )
    advance_discontinued(
        course,
        c,
        opened + dt.timedelta(days=2),
        "Not cleared: abdominal aortic aneurysm "
        "(absolute contraindication). Referred back to the treating psychiatrist.",
    )
    course, opened = new_course(45)
    evaluate(c, course, opened)
    prepare(c, course, opened)
    advance_discontinued(course, c, opened + dt.timedelta(days=8), "Patient moved out of state before dosing.")
    course, opened = new_course(50)
    evaluate(c, course, opened)
    prepare(c, course, opened)
    individual_dose(c, course, c.at(43, 9), "iv", events=[(dt.timedelta(minutes=25), DISSOCIATION)])
    individual_dose(c, course, c.at(40, 9), "iv")
    advance_discontinued(course, c, c.at(37, 12), "Patient withdrew: found the dissociation too distressing.")
    assert next(numbers, None) is None, "every demo patient has a course"


def advance_discontinued(course: Course, c: Clinic, at: dt.datetime, reason: str) -> None:
    services.course_change_status(
        course=course, by=course.therapists.first(), to_status=CourseStatus.DISCONTINUED, reason=reason, now=at
    )


def booked_today(c: Clinic, course: Course) -> None:
    """A session later today with its dose planned: the provider's day view shows it."""
    start = (c.now + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    session = services.dosing_session_schedule(
        by=course.medical_provider,
        now=c.now,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=3),
        medical_provider=course.medical_provider,
        facilitators=[course.therapists.first()],
        location="Room 1 (demo)",
    )
    services.dosing_participant_add(
        session=session,
        course=course,
        by=course.medical_provider,
        now=c.now,
        **dose_fields(c, course, "sublingual", start),
    )


def build_group(c: Clinic, courses_opened) -> None:
    provider = c.providers[0]
    courses = [course for course, _ in courses_opened]
    for course, opened in courses_opened:
        evaluate(c, course, opened)
        prepare(c, course, opened)
    for course in courses:
        services.course_change_status(course=course, by=provider, to_status=CourseStatus.DOSING, now=c.at(7, 9))

    last_week = c.at(7, 10)
    session = schedule(c, provider, c.therapists, last_week, SessionFormat.GROUP)
    participants = [
        services.dosing_participant_add(
            session=session,
            course=course,
            by=provider,
            now=last_week - dt.timedelta(minutes=20),
            **dose_fields(c, course, "im", last_week),
        )
        for course in courses
    ]
    for i, participant in enumerate(participants):
        run_participant(c, participant, last_week, events=[(dt.timedelta(minutes=25), NAUSEA)] if i == 2 else ())
    close_session(
        session,
        participants,
        c.therapists[0],
        last_week + dt.timedelta(hours=2, minutes=40),
        "Synthetic group facilitation note: shared intention circle, eyeshades and music, group sharing.",
    )

    # Under way now: one pre-dose hold overridden, one reading above the alert threshold,
    # three discharged, two still being monitored; the note not written yet.
    start = (c.now - dt.timedelta(minutes=100)).replace(second=0, microsecond=0)
    session = services.dosing_session_schedule(
        by=provider,
        now=c.at(7, 14),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=3),
        medical_provider=provider,
        facilitators=c.therapists,
        format=SessionFormat.GROUP,
        location="Group room (demo)",
    )
    participants = [
        services.dosing_participant_add(
            session=session,
            course=course,
            by=provider,
            now=start - dt.timedelta(minutes=20),
            **dose_fields(c, course, "im", start),
        )
        for course in courses
    ]
    for i, participant in enumerate(participants):
        run_participant(
            c,
            participant,
            start,
            hold=i == 0,
            alert=i == 1,
            close_alert=False,
            discharge=i >= 2,
            events=[(dt.timedelta(minutes=20), DISSOCIATION)] if i == 3 else (),
        )


def amend_signed_records(c: Clinic, course: Course) -> None:
    provider = course.medical_provider
    evaluation = course.medical_evaluations.get()
    services.record_amend(
        record=evaluation,
        by=provider,
        now=evaluation.signed_at + dt.timedelta(days=2),
        changes={"weight_kg": evaluation.weight_kg + Decimal("2.5")},
        reason="Weight transcribed from an old scale reading; corrected from the clinic scale.",
    )
    participant = course.doses.order_by("session__starts_at").first()
    reading = participant.vitals.filter(phase=VitalPhase.DURING).get()
    services.record_amend(
        record=reading,
        by=provider,
        now=participant.signed_at + dt.timedelta(hours=3),
        changes={"heart_rate": reading.heart_rate + 10},
        reason="Heart rate typed from the wrong monitor line; corrected from the monitor log.",
    )


def void_wrong_note(c: Clinic, course: Course) -> None:
    note = course.preparatory_sessions.get()
    services.record_void(
        record=note,
        by=note.therapist,
        now=note.held_at + dt.timedelta(hours=3),
        reason="Entered on the wrong patient's course.",
    )
    held = note.held_at + dt.timedelta(days=1)
    right = services.preparatory_session_record(
        course=course,
        by=note.therapist,
        now=held + dt.timedelta(hours=1),
        held_at=held,
        topics=[PreparationTopic.EFFECTS_AND_RISKS, PreparationTopic.SET_AND_SETTING],
        note="Synthetic preparatory note, entered on the right course.",
    )
    services.record_sign(record=right, by=note.therapist, now=held + dt.timedelta(hours=1, minutes=5))


# --- the measures -----------------------------------------------------------------------------


@dataclass
class Trajectory:
    """How one patient's scores move: a baseline per instrument and the share kept at the end."""

    baseline: dict[str, int]
    kept_at_end: float
    answers_follow_ups: float


def trajectory(c: Clinic, course: Course) -> Trajectory:
    r = c.rng
    ptsd = course.indication == Indication.PTSD
    return Trajectory(
        baseline={
            "phq9": r.randint(12, 22),
            "gad7": r.randint(9, 18),
            "pcl5": r.randint(36, 58) if ptsd else r.randint(8, 28),
        },
        # Most respond (down to 25-50 %); about one in five barely moves.
        kept_at_end=r.uniform(0.25, 0.5) if r.random() < 0.8 else r.uniform(0.8, 1.0),
        answers_follow_ups=r.uniform(0.5, 0.95),
    )


def answers_for(c: Clinic, instrument: str, total: int, *, item_9: int = 0) -> dict[int, int]:
    """Item answers that add up to `total`, spread at random; PHQ-9 item 9 is set explicitly."""
    from measures.instruments import INSTRUMENTS, PHQ9_SAFETY_ITEM

    definition = INSTRUMENTS[instrument]
    top = max(definition.values)
    numbers = [i.number for i in definition.items if not (instrument == "phq9" and i.number == PHQ9_SAFETY_ITEM)]
    answers = dict.fromkeys(numbers, 0)
    left = max(0, min(total - item_9, top * len(numbers)))
    while left:
        n = c.rng.choice(numbers)
        if answers[n] < top:
            answers[n] += 1
            left -= 1
    if instrument == "phq9":
        answers[PHQ9_SAFETY_ITEM] = item_9
    return answers


def answered_at(c: Clinic, administration) -> dt.datetime:
    """When the demo patient answered: before the dose for a pre-dose one, otherwise a day or
    two into the window, in the evening."""
    from measures.models import Timepoint

    if administration.timepoint == Timepoint.PRE_DOSE:
        day, at = administration.missed_after, dt.time(7, 30)
    else:
        day = min(administration.open_from + dt.timedelta(days=c.rng.randint(1, 3)), administration.missed_after)
        at = dt.time(18, c.rng.choice((0, 15, 30, 45)))
    return timezone.make_aware(dt.datetime.combine(day, at))


def build_measures(c: Clinic) -> None:
    """Answer the schedule the course events made, in the past, through the services."""
    from django.test.utils import override_settings

    from measures import services as measures
    from measures.models import FOLLOW_UP_TIMEPOINTS, Administration, AdministrationStatus, Timepoint

    today = timezone.localdate(c.now)
    courses = Course.objects.active().exclude(status=CourseStatus.EVALUATION).order_by("created_at")
    alert_course = None
    for course in courses:
        plan = c.plan(course)
        therapist = course.therapists.first()
        for administration in Administration.objects.filter(course=course).order_by("target_date", "instrument"):
            administration.refresh_from_db()  # a baseline PCL-5 can re-plan the rest
            if administration.status not in (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN):
                continue
            when = answered_at(c, administration)
            if when > c.now - dt.timedelta(hours=1) or administration.open_from > today:
                continue  # still ahead: the tick will invite the patient
            follow_up = administration.timepoint in FOLLOW_UP_TIMEPOINTS
            if c.rng.random() > (plan.answers_follow_ups if follow_up else 0.9):
                continue  # not answered: missed once its window closes
            if administration.timepoint == Timepoint.BASELINE:
                share = 1.0
            elif administration.timepoint == Timepoint.PRE_DOSE:
                given = course.doses.active().filter(session__starts_at__lt=when).count()
                share = 1 - (1 - plan.kept_at_end) * min(1.0, given / max(1, course.planned_dosing_sessions))
            else:
                # Durability: some drift back up over the months after the series.
                drift = {"end_of_course": 0, "month_1": 0.05, "month_3": 0.1, "month_6": 0.15}[administration.timepoint]
                share = min(1.0, plan.kept_at_end + drift * c.rng.random())
            total = round(plan.baseline[administration.instrument] * share + c.rng.randint(-1, 1))
            item_9 = 0
            if (
                alert_course is None
                and course.status == CourseStatus.FOLLOW_UP
                and (administration.instrument, administration.timepoint) == ("phq9", Timepoint.PRE_DOSE)
            ):
                alert_course, item_9 = course, 1
            answers = answers_for(c, administration.instrument, max(0, total), item_9=item_9)
            # The demo's past messages were sent back then: keep them out of today's mail output.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                response = measures.response_enter(
                    administration=administration, by=therapist, answers=answers, answered_at=when, now=when
                )
                if item_9:
                    for message in response.safety_alert.messages.all():
                        measures.message_send(message_id=message.pk, now=when + dt.timedelta(minutes=1))
                    measures.safety_alert_acknowledge(
                        alert=response.safety_alert,
                        by=therapist,
                        now=when + dt.timedelta(hours=2),
                        action_note="Called the patient the same morning: passive thoughts, no plan or intent; "
                        "safety plan reviewed with the patient and the support person; dosing went ahead.",
                    )
    # Close the windows that have passed, as the tick would have done day by day.
    measures.administrations_mark_missed(now=c.now)
