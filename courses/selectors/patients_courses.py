"""Patients and courses: one patient or course (audited); the caseload and today pages' courses with
their progress counts; patients with their open courses, a search, a patient's courses and weights;
a course's summary counts and timeline; a patient's audit trail; the stalled courses; the course
lists and choices the API and forms take."""

import functools
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, signals
from django.db.models.base import ModelState
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses.audit import audit_view
from courses.choices import STILL_IN_SERIES
from courses.models import (
    AdverseEvent,
    AuditEvent,
    Course,
    Dose,
    HoldOverride,
    InSessionAlert,
    IntegrationSession,
    Patient,
    VitalReading,
)
from courses.selectors.caseload import (
    _get_or_404,
    _sees_everything,
    courses_for,
    patients_for,
    patients_for_list,
    registered_without_course,
)
from courses.selectors.records import amendments_for

_STAFF = Course.therapists.field.related_model


def patient_get(*, user, patient_id, audit: bool = True) -> Patient:
    patient = _get_or_404(patients_for(user), patient_id)
    if audit:
        audit_view(actor=user, patient=patient, record=patient)
    return patient


def course_get(*, user, course_id, audit: bool = True) -> Course:
    course = _get_or_404(
        courses_for(user).select_related("patient", "medical_provider").prefetch_related("therapists"), course_id
    )
    if audit:
        audit_view(actor=user, patient=course.patient, record=course)
    return course


def _count(queryset, key: str = "course"):
    """A per-course count as a correlated subquery, so list pages stay at a fixed query count."""
    counted = queryset.order_by().values(key).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def courses_with_progress(courses: QuerySet[Course]) -> QuerySet[Course]:
    """Annotate courses with the counts `courses.progress.next_steps` needs, in the same single query."""
    doses = Dose.objects.filter(course=OuterRef("pk"), voided_at__isnull=True)
    integration = IntegrationSession.courses.through.objects.filter(
        course_id=OuterRef("pk"), integrationsession__voided_at__isnull=True
    )
    return courses.select_related("patient", "medical_provider").annotate(
        doses_given=_count(doses.filter(dosed_at__isnull=False, is_maintenance=False)),
        doses_unsigned=_count(doses.filter(dosed_at__isnull=False, signed_at__isnull=True)),
        integration_count=_count(integration, "course_id"),
        open_serious=_count(AdverseEvent.objects.serious_unacknowledged().filter(course=OuterRef("pk"))),
    )


def caseload_courses(user, *, show_closed: bool = False) -> QuerySet[Course]:
    """The caseload page: the caller's courses (not voided; open ones only unless `show_closed`),
    with their progress counts, by patient."""
    courses = courses_for(user).active()
    courses = courses if show_closed else courses.open()
    return (
        courses_with_progress(courses)
        .prefetch_related("therapists")
        .order_by("patient__family_name", "patient__given_name")
    )


def open_courses_with_progress(user) -> QuerySet[Course]:
    """The caller's open courses with their progress counts, by patient (the provider's today page)."""
    courses = courses_with_progress(courses_for(user).open()).prefetch_related("therapists")
    return courses.order_by("patient__family_name", "patient__given_name")


def patients_with_open_courses(user) -> QuerySet[Patient]:
    """The caseload's patients (not voided), each with its number of open courses."""
    open_courses = Course.objects.open().filter(patient=OuterRef("pk"))
    return patients_for(user).active().annotate(open_courses=_count(open_courses, "patient"))


def course_summary_counts(course: Course) -> dict:
    """The counts of a course's summary (the API's `summary`), one query each, in this order."""
    doses = course.doses.active()
    return {
        "psychiatric_evaluation_signed": course.psychiatric_evaluations.active()
        .filter(signed_at__isnull=False)
        .exists(),
        "preparatory_sessions": course.preparatory_sessions.active().count(),
        "doses_given": doses.filter(dosed_at__isnull=False, is_maintenance=False).count(),
        "maintenance_doses": doses.filter(dosed_at__isnull=False, is_maintenance=True).count(),
        "integration_sessions": course.integration_sessions.active().count(),
        "serious_adverse_events": AdverseEvent.objects.active()
        .filter(course=course, serious=True)
        .exclude(dose__voided_at__isnull=False)
        .count(),
    }


def course_timeline_data(course: Course) -> dict:
    """Everything on a course's timeline, in a fixed number of queries whatever its length.

    Only the staff members an answer shows are joined (who signed, acknowledged, gave, closed or
    overrode; the session's provider): who created or voided a record is answered by id alone,
    read from the row itself, so joining the user for it only made every query wider. A dose's
    course is COURSE itself (Django hands each row of course.doses the instance it came from),
    with the patient it was read with."""
    vitals = Prefetch("vitals", queryset=VitalReading.objects.all())
    events = Prefetch("adverse_events", queryset=AdverseEvent.objects.select_related("acknowledged_by"))
    doses = list(
        course.doses.select_related(
            "session",
            "signed_by",
            "session__medical_provider",
            "weight_measurement",
        )
        .prefetch_related(
            vitals,
            events,
            "session__facilitators",
            Prefetch("hold_overrides", queryset=HoldOverride.objects.select_related("overridden_by", "reading")),
            # With its reading, as bedside.dose_states(loaded=True) hands the open ones on.
            Prefetch("in_session_alerts", queryset=InSessionAlert.objects.select_related("closed_by", "reading")),
        )
        .order_by("session__starts_at")
    )
    data = {
        "medical_evaluations": list(course.medical_evaluations.select_related("signed_by")),
        "psychiatric_evaluations": list(course.psychiatric_evaluations.select_related("signed_by")),
        "preparatory_sessions": list(course.preparatory_sessions.select_related("therapist", "signed_by")),
        "integration_sessions": list(
            course.integration_sessions.select_related("therapist", "signed_by").prefetch_related("courses")
        ),
        "doses": doses,
        "status_changes": list(course.status_changes.select_related("changed_by")),
        # Reported outside a dosing session (at integration, by phone): on the course itself.
        "course_adverse_events": list(
            course.adverse_events.filter(dose__isnull=True).select_related("acknowledged_by")
        ),
    }
    records = [r for key in data if key != "status_changes" for r in data[key]]
    records += [v for d in doses for v in d.vitals.all()] + [e for d in doses for e in d.adverse_events.all()]
    data["adverse_events"] = [e for d in doses for e in d.adverse_events.all()] + data["course_adverse_events"]
    records += list({d.session.pk: d.session for d in doses}.values())
    data["amendments"] = amendments_for(records)
    return data


def audit_trail_for_patient(patient: Patient) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(patient=patient).select_related("actor")


def stalled_courses(courses: QuerySet[Course], *, today: date, stall_after_days: int) -> QuerySet[Course]:
    """Courses still in their induction series with no dose for more than `stall_after_days`
    days (DOMAIN §6), annotated with `last_dose_at` and `doses_given`, oldest stall first.

    The SQL form of measures.schedule.course_end's "stalled" (a test holds the two together):
    the worklist and the nightly schedule sync read it, the report applies the function."""
    induction = Q(
        doses__dosed_at__isnull=False,
        doses__voided_at__isnull=True,
        doses__session__voided_at__isnull=True,
        doses__is_maintenance=False,
    )
    # Stalled when (today - last dose day) > limit, i.e. the last dose was before this local midnight.
    before = datetime.combine(
        today - timedelta(days=stall_after_days), time.min, tzinfo=timezone.get_current_timezone()
    )
    return (
        courses.filter(voided_at__isnull=True, status__in=STILL_IN_SERIES)
        .annotate(last_dose_at=Max("doses__dosed_at", filter=induction), doses_given=Count("doses", filter=induction))
        .filter(last_dose_at__lt=before, doses_given__lt=F("planned_dosing_sessions"))
        .order_by("last_dose_at")
    )


def patients_matching(patients: QuerySet[Patient], term: str) -> QuerySet[Patient]:
    """A search over a list of patients: family or given name containing the term, or the MRN."""
    return patients.filter(Q(family_name__icontains=term) | Q(given_name__icontains=term) | Q(mrn__iexact=term))


def patient_courses(*, user, patient: Patient) -> QuerySet[Course]:
    """The patient's courses on the caller's caseload, newest first."""
    return (
        courses_for(user)
        .filter(patient=patient)
        .select_related("medical_provider")
        .prefetch_related("therapists")
        .order_by("-created_at")
    )


def patient_weights(patient: Patient):
    """The patient's recorded weights (not voided), with who recorded them."""
    return patient.weights.active().select_related("created_by")


def courses_open_choices(user) -> QuerySet[Course]:
    """The open courses of the caller's caseload, by patient: a form's choice of courses."""
    return courses_for(user).open().select_related("patient").order_by("patient__family_name")


def course_of_caseload(*, user, course_id) -> Course | None:
    """A course named in a request body, with its patient, if it is on the caller's caseload; else None."""
    return courses_for(user).filter(pk=course_id).select_related("patient").first()


# The columns a list's answer shows (CourseListSerializer, PatientListSerializer, StaffBriefSerializer
# with the user's name), read alone: a page of 50 courses otherwise loaded and parsed every column of
# 200 rows (a password hash, a dozen timestamps) to show none of them. A field an answer adds and
# these leave out is read again row by row, which tests/courses/test_api_list_queries.py refuses.
_PATIENT_SHOWN = ("id", "mrn", "given_name", "family_name", "date_of_birth", "sex", "voided_at")
_STAFF_SHOWN = ("id", "username", "first_name", "last_name", "role", "credentials")
_COURSE_SHOWN = (
    "id",
    "patient",
    "indication",
    "indication_detail",
    "format",
    "medical_provider",
    "planned_dosing_sessions",
    "status",
    "started_on",
    "start_backdated_reason",
    "status_changed_at",
    "discontinued_reason",
    "follow_up_stopped_at",
    "follow_up_stopped_reason",
    "created_at",
    "voided_at",
    "void_reason",
)


@functools.cache
def _attnames(model, names: tuple[str, ...]) -> tuple[str, ...]:
    """The attribute names of those columns on MODEL (an FK's is its id: "patient_id")."""
    return tuple(model._meta.get_field(name).attname for name in names)


_COURSE_ROW = (
    *_COURSE_SHOWN,
    *(f"patient__{name}" for name in _PATIENT_SHOWN),
    *(f"medical_provider__{name}" for name in _STAFF_SHOWN),
)


def _reader(model, names: tuple[str, ...], db: str) -> Callable:
    """What makes a row of values (of MODEL's attributes NAMES) the instance Django would read with
    .only(*NAMES): the same attributes, the others deferred, without Model.__init__'s per-field
    work, for an answer's read-only rows. (Model.from_db itself while anything listens to the
    model's init signals, which this skips.)"""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        # from_db takes the values in the order of the model's fields.
        order = [names.index(f.attname) for f in model._meta.concrete_fields if f.attname in names]
        ordered = [names[i] for i in order]
        return lambda values: model.from_db(db, ordered, [values[i] for i in order])

    def read(values):
        row = model.__new__(model)
        row.__dict__.update(zip(names, values, strict=True))
        state = row._state = ModelState()
        state.adding = False
        state.db = db
        return row

    return read


def _courses_listed(user, status, patient_id) -> QuerySet[Course]:
    qs = courses_for(user)
    if status is not None:
        qs = qs.filter(status=status)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    return qs.order_by("-created_at", "id")


def courses_list(*, user, status: str | None = None, patient_id=None) -> QuerySet[Course]:
    """The caseload's courses for the API's list (newest first), optionally of one status or patient,
    with the columns the list shows, their patient, medical provider and therapists. The API reads
    its page as `courses_list_rows` and `courses_from_rows`: the same rows, for less."""
    staff = _STAFF._default_manager.only(*_STAFF_SHOWN)
    qs = _courses_listed(user, status, patient_id).select_related("patient", "medical_provider")
    qs = qs.only(
        *_COURSE_SHOWN,
        *(f"patient__{name}" for name in _PATIENT_SHOWN),
        *(f"medical_provider__{name}" for name in _STAFF_SHOWN),
    )
    return qs.prefetch_related(Prefetch("therapists", queryset=staff))


def courses_list_rows(*, user, status: str | None = None, patient_id=None) -> QuerySet:
    """`courses_list`'s rows as tuples of the columns it reads (the same single query): a page of them
    becomes its courses through `courses_from_rows`."""
    return _courses_listed(user, status, patient_id).values_list(*_COURSE_ROW)


def courses_from_rows(rows, *, db: str = "default") -> list[Course]:
    """The courses of a page of `courses_list_rows` as `courses_list` reads them: each with the same
    columns, its patient and medical provider, and its therapists in `therapists.all()`, read by the
    same one query as prefetch_related("therapists") (in its order), with no queryset per course.

    Django's own reading spent two thirds of a page's time building 200 model instances (a course,
    its patient and provider, its therapists) and a prefetch queryset for each course; here each
    is an instance holding its columns (`_reader`), and a staff member or patient met twice on a
    page is the same instance. For an answer only: `therapists.all()` is a list, not a queryset."""
    n_course, n_patient = len(_COURSE_SHOWN), len(_PATIENT_SHOWN)
    course_of = _reader(Course, _attnames(Course, _COURSE_SHOWN), db)
    patient_of = _reader(Patient, _attnames(Patient, _PATIENT_SHOWN), db)
    staff_of = _reader(_STAFF, _attnames(_STAFF, _STAFF_SHOWN), db)
    patients, staff, courses = {}, {}, {}
    for row in rows:
        course = course_of(row[:n_course])
        values = row[n_course : n_course + n_patient]
        patient = patients.get(values[0])
        if patient is None:
            patient = patients[values[0]] = patient_of(values)
        values = row[n_course + n_patient :]
        provider = staff.get(values[0])
        if provider is None and values[0] is not None:
            provider = staff[values[0]] = staff_of(values)
        course._state.fields_cache.update(patient=patient, medical_provider=provider)
        course._prefetched_objects_cache = {"therapists": []}
        courses[course.pk] = course
    if courses:
        # prefetch_related("therapists")'s own query (the same joins and filter, so the same order).
        assigned = Course.therapists.field.related_query_name()
        read = (
            _STAFF._default_manager.using(db)
            .filter(**{f"{assigned}__in": list(courses)})
            .values_list(assigned, *_STAFF_SHOWN)
        )
        for course_id, *values in read:
            member = staff.get(values[0])
            if member is None:
                member = staff[values[0]] = staff_of(values)
            courses[course_id]._prefetched_objects_cache["therapists"].append(member)
    return list(courses.values())


def courses_list_count(*, user, status: str | None = None, patient_id=None) -> QuerySet:
    """Rows as many as `courses_list`'s, in the form the database counts fastest: for a therapist's
    whole caseload, their assignments (one per course: the pair is unique, a course is never
    deleted), an index count instead of matching every course of the practice against them."""
    if status is None and patient_id is None and user.is_therapist and not user.is_practice_lead:
        return Course.therapists.through.objects.filter(user_id=user.pk)
    return _courses_listed(user, status, patient_id).order_by()


def patients_list(*, user) -> QuerySet[Patient]:
    """The caseload's patients for the API's list, by name (the id breaks ties: index patient_name_order)."""
    return patients_for_list(user).only(*_PATIENT_SHOWN).order_by("family_name", "given_name", "id")


def patients_list_paged(*, user) -> tuple[QuerySet, Callable[[], int] | None]:
    """`patients_list`'s rows in the form a page of them reads fastest, as tuples of its columns
    (a page of them becomes its patients through `patients_from_rows`), and a count of them (None:
    count the rows themselves), for the API's list.

    A clinician's list is the patients of their courses, plus any they registered that have no
    course yet. While there are none of the latter (most of the time), a page is the patients
    walked in name order, each checked against the caseload's courses by index, which stops
    after a page (about 2 ms for a therapist with 5,000 of 10,000 courses) where the list's own
    form matches the whole caseload first (7-11 ms), and did so twice, to count and for the page.
    (With the second kind of patient in an OR, PostgreSQL matches the whole caseload again.) The
    count is then the caseload's courses' distinct patients plus the others, which cannot overlap
    (they have no course): the same number, without the list's match of every patient. With such
    a patient, or for a practice lead (every patient), the list's own form and count."""
    if _sees_everything(user) or not user.is_clinician:
        return patients_list(user=user).values_list(*_PATIENT_SHOWN), None
    registered = registered_without_course(user).count()
    if registered:
        return patients_list(user=user).values_list(*_PATIENT_SHOWN), None
    caseload = courses_for(user)
    rows = (
        Patient.objects.filter(Exists(caseload.filter(patient=OuterRef("pk"))))
        .order_by("family_name", "given_name", "id")
        .values_list(*_PATIENT_SHOWN)
    )

    def count() -> int:
        return caseload.order_by().aggregate(n=Count("patient", distinct=True))["n"] + registered

    return rows, count


def patients_from_rows(rows, *, db: str = "default") -> list[Patient]:
    """The patients of a page of `patients_list_paged`'s rows, as `patients_list` reads them (the
    same columns, the others deferred), for an answer (`_reader`)."""
    patient_of = _reader(Patient, _attnames(Patient, _PATIENT_SHOWN), db)
    return [patient_of(row) for row in rows]


def courses_of_caseload(*, user, course_ids) -> list[Course]:
    """Those of these courses that are on the caller's caseload (a short list means some are not)."""
    return list(courses_for(user).filter(pk__in=course_ids))
